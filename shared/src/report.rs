//! Locust's final report of a run, kept after its pods are gone: the files read from the master's
//! web UI when Locust has stopped (its HTML report, the per-endpoint and failure CSVs, and the
//! final `/stats/requests` JSON), stored gzip-compressed in a ConfigMap `<test>-report` owned by
//! the test. Pure: the operator reads the files and creates the ConfigMap; `kubectl locust report`
//! reads it back with [`unpack`].

use std::collections::BTreeMap;
use std::io::{Read, Write};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Resource;

use crate::api::status::ReportStatus;
use crate::api::v2::LocustTest;
use crate::constants::{LABEL_MANAGED_BY, LABEL_TEST_NAME, MANAGED_BY};
use crate::naming;

/// Locust's HTML report (`/stats/report`), as its web UI's "Download report" gives it.
pub const HTML_FILE: &str = "report.html";
/// Per-endpoint statistics (`/stats/requests/csv`).
pub const REQUESTS_CSV_FILE: &str = "requests.csv";
/// Failures by endpoint and error (`/stats/failures/csv`).
pub const FAILURES_CSV_FILE: &str = "failures.csv";
/// The final `/stats/requests` JSON, which `report -o json` and `report --compare` read.
pub const STATS_JSON_FILE: &str = "stats.json";

/// The files read from the master, with the path each comes from (the JSON comes with every
/// statistics read).
pub const FILES_FROM_MASTER: [(&str, &str); 3] = [
    (HTML_FILE, "/stats/report"),
    (REQUESTS_CSV_FILE, "/stats/requests/csv"),
    (FAILURES_CSV_FILE, "/stats/failures/csv"),
];

/// Every file of a report and the master's web path it is read from: the final statistics JSON,
/// then [`FILES_FROM_MASTER`].
pub fn sources() -> impl Iterator<Item = (&'static str, &'static str)> {
    std::iter::once((STATS_JSON_FILE, crate::stats::REQUESTS_PATH)).chain(FILES_FROM_MASTER)
}

/// Locust's report files as read from a master (the operator's and a local run's alike).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportFiles {
    /// File name (`report.html`, ...) and content, uncompressed.
    pub files: Vec<(String, Vec<u8>)>,
    /// The files that could not be read, each with why.
    pub missing: Vec<String>,
}

/// What one ConfigMap may hold (its data and binaryData together, 1 MiB), less room for the
/// keys and metadata.
pub const MAX_STORED_BYTES: usize = 1_000_000;

/// Suffix of the stored keys: the files are gzip-compressed.
const GZIP_SUFFIX: &str = ".gz";

/// Annotation recording when the report was read from the master.
pub const ANNOTATION_READ_AT: &str = "locust.io/report-read-at";

/// Name of the ConfigMap that holds test `test_name`'s report.
pub fn config_map_name(test_name: &str) -> String {
    naming::sanitize(&format!("{test_name}-report"))
}

/// What to store for a run: the ConfigMap to create (`None` when nothing fits) and what
/// `status.report` says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The ConfigMap, owned by the test.
    pub config_map: Option<ConfigMap>,
    /// `status.report`.
    pub status: ReportStatus,
}

/// The ConfigMap holding `files` (name and uncompressed content) of `test`, read at `read_at`.
/// The files are stored gzip-compressed; when together they exceed [`MAX_STORED_BYTES`], the
/// HTML report (by far the largest) is left out and the status says so; when even the rest does
/// not fit, nothing is stored and the status says why. The test is never failed for it.
pub fn store(test: &LocustTest, files: &[(String, Vec<u8>)], read_at: Timestamp) -> Stored {
    let name = test.metadata.name.clone().unwrap_or_default();
    let mut compressed: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(file, content)| (file.clone(), gzip(content)))
        .collect();
    let total = |files: &[(String, Vec<u8>)]| files.iter().map(|(_, bytes)| bytes.len()).sum::<usize>();
    let mut left_out = Vec::new();
    if total(&compressed) > MAX_STORED_BYTES
        && let Some(html) = compressed.iter().position(|(file, _)| file == HTML_FILE)
    {
        let (_, bytes) = compressed.remove(html);
        left_out.push(format!(
            "{HTML_FILE} left out: {} compressed would not fit in a ConfigMap with the rest",
            human_bytes(bytes.len())
        ));
    }
    let read_time = Some(Time(read_at));
    if total(&compressed) > MAX_STORED_BYTES {
        return Stored {
            config_map: None,
            status: ReportStatus {
                config_map: None,
                files: None,
                saved_time: read_time,
                message: Some(format!(
                    "report not saved: {} compressed, more than the {} a ConfigMap holds",
                    human_bytes(total(&compressed)),
                    human_bytes(MAX_STORED_BYTES)
                )),
            },
        };
    }
    let config_map_name = config_map_name(&name);
    let binary_data: BTreeMap<String, ByteString> = compressed
        .iter()
        .map(|(file, bytes)| (format!("{file}{GZIP_SUFFIX}"), ByteString(bytes.clone())))
        .collect();
    let config_map = ConfigMap {
        metadata: ObjectMeta {
            name: Some(config_map_name.clone()),
            namespace: test.metadata.namespace.clone(),
            labels: Some(BTreeMap::from([
                (LABEL_TEST_NAME.to_string(), name.clone()),
                (LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
            ])),
            annotations: Some(BTreeMap::from([(ANNOTATION_READ_AT.to_string(), read_at.to_string())])),
            // Deleted with the test, but not a controller's child: nothing waits on it.
            owner_references: test.controller_owner_ref(&()).map(|owner| {
                vec![OwnerReference {
                    controller: None,
                    block_owner_deletion: None,
                    ..owner
                }]
            }),
            ..ObjectMeta::default()
        },
        binary_data: Some(binary_data),
        ..ConfigMap::default()
    };
    Stored {
        config_map: Some(config_map),
        status: ReportStatus {
            config_map: Some(config_map_name),
            files: Some(compressed.into_iter().map(|(file, _)| file).collect()),
            saved_time: read_time,
            message: (!left_out.is_empty()).then(|| left_out.join("; ")),
        },
    }
}

/// Adds to `status` (`status.report`) which files the master did not give.
pub fn note_unread(status: &mut ReportStatus, missing: &[String]) {
    if missing.is_empty() {
        return;
    }
    let unread = format!("not read from the master: {}", missing.join("; "));
    status.message = Some(match status.message.take() {
        Some(message) => format!("{message}; {unread}"),
        None => unread,
    });
}

/// The files a report ConfigMap holds, uncompressed, by name (`report.html`, ...).
pub fn unpack(config_map: &ConfigMap) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut files = BTreeMap::new();
    for (key, bytes) in config_map.binary_data.iter().flatten() {
        let Some(file) = key.strip_suffix(GZIP_SUFFIX) else {
            continue;
        };
        let content = gunzip(&bytes.0).map_err(|error| format!("{key} is not gzip data: {error}"))?;
        files.insert(file.to_string(), content);
    }
    Ok(files)
}

fn gzip(content: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(content);
    encoder.finish().unwrap_or_default()
}

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut content = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut content)?;
    Ok(content)
}

/// `312 KiB`, `1.2 MiB`.
pub fn human_bytes(bytes: usize) -> String {
    const KIB: f64 = 1024.0;
    let bytes = bytes as f64;
    if bytes >= KIB * KIB {
        format!("{:.1} MiB", bytes / KIB / KIB)
    } else if bytes >= KIB {
        format!("{:.0} KiB", bytes / KIB)
    } else {
        format!("{bytes} B")
    }
}
