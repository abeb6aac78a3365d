//! The list of tests (`kubectl locust status`), as kubectl get prints it.

use k8s_openapi::jiff::Timestamp;
use shared::api::v2::LocustTest;

use crate::output::Palette;
use crate::render::progress::short_duration;

/// Which columns to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Columns {
    pub namespace: bool,
    pub wide: bool,
}

/// `3d`, `5h`, `12m`, `40s`: kubectl's age.
pub fn age(created: Option<Timestamp>, now: Timestamp) -> String {
    let Some(created) = created else {
        return "-".to_string();
    };
    let seconds = now.duration_since(created).as_secs().max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// The reason of the first condition that is not as it should be, for the wide view.
pub fn problem(test: &LocustTest) -> Option<String> {
    test.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| match c.type_.as_str() {
            "SpecDrifted" => c.status == "True",
            "TestCompleted" => c.reason == "TestFailed",
            _ => {
                c.status == "False"
                    && c.reason != "WaitingForWorkers"
                    && c.reason != "PodsStarting"
                    && c.reason != "TestInProgress"
            }
        })
        .map(|c| c.reason.clone())
}

/// One row's cells (without colour).
pub fn row(test: &LocustTest, columns: Columns, now: Timestamp) -> Vec<String> {
    let status = test.status.clone().unwrap_or_default();
    let stats = status.stats.clone();
    let dash = || "-".to_string();
    let mut cells = Vec::new();
    if columns.namespace {
        cells.push(test.metadata.namespace.clone().unwrap_or_default());
    }
    cells.extend([
        test.metadata.name.clone().unwrap_or_default(),
        status.phase.map_or_else(dash, |p| p.to_string()),
        status
            .expected_workers
            .map_or_else(|| test.spec.worker.replicas.to_string(), |e| e.to_string()),
        status.connected_workers.map_or_else(dash, |c| c.to_string()),
        stats.as_ref().map_or_else(dash, |s| format!("{:.1}", s.current_rps)),
        stats.as_ref().map_or_else(dash, |s| format!("{:.2}", s.fail_percent)),
        age(test.metadata.creation_timestamp.as_ref().map(|t| t.0), now),
    ]);
    if columns.wide {
        let duration = status.start_time.as_ref().map(|start| {
            let end = status.completion_time.as_ref().map_or(now, |t| t.0);
            short_duration(end.duration_since(start.0).as_secs())
        });
        cells.extend([
            stats.as_ref().map_or_else(dash, |s| s.users.to_string()),
            stats.as_ref().map_or_else(dash, |s| s.total_requests.to_string()),
            stats
                .as_ref()
                .and_then(|s| s.p95_response_time)
                .map_or_else(dash, |p| format!("{p:.0}")),
            duration.unwrap_or_else(dash),
            test.spec.image.clone(),
            problem(test).unwrap_or_else(dash),
        ]);
    }
    cells
}

/// The table, header first, columns padded like `kubectl get`; the phase coloured when on.
pub fn table(tests: &[LocustTest], columns: Columns, palette: Palette, now: Timestamp) -> String {
    let mut header: Vec<&str> = Vec::new();
    if columns.namespace {
        header.push("NAMESPACE");
    }
    header.extend(["NAME", "PHASE", "WORKERS", "CONNECTED", "RPS", "FAIL%", "AGE"]);
    if columns.wide {
        header.extend(["USERS", "REQUESTS", "P95(MS)", "DURATION", "IMAGE", "PROBLEM"]);
    }
    let rows: Vec<Vec<String>> = tests.iter().map(|t| row(t, columns, now)).collect();
    let phase_column = usize::from(columns.namespace) + 1;
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>, colour: bool| {
        let last = cells.len() - 1;
        cells
            .into_iter()
            .enumerate()
            .map(|(i, cell)| {
                let pad = if i == last { 0 } else { widths[i] - cell.len() + 3 };
                let shown = if colour && i == phase_column {
                    palette.phase(cell.parse_phase())
                } else {
                    cell
                };
                format!("{shown}{}", " ".repeat(pad))
            })
            .collect::<String>()
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(header.iter().map(|h| h.to_string()).collect(), false)];
    out.extend(rows.into_iter().map(|r| line(r, true)));
    out.join("\n")
}

trait ParsePhase {
    fn parse_phase(&self) -> Option<shared::api::v2::Phase>;
}

impl ParsePhase for String {
    fn parse_phase(&self) -> Option<shared::api::v2::Phase> {
        serde_json::from_value(serde_json::Value::String(self.clone())).ok()
    }
}
