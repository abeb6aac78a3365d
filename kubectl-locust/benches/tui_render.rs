//! Time to draw one frame of the live view (a running test with a full sparkline and events) on
//! ratatui's test backend, wide and narrow, and of one `update`. Prints figures; no pass/fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use kubectl_locust::render::events::EventRow;
use kubectl_locust::tui::state::{self, Event, State, Update};
use kubectl_locust::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use shared::api::v2::LocustTest;

fn test(second: u32) -> LocustTest {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "locust.io/v2", "kind": "LocustTest",
        "metadata": {"name": "checkout", "namespace": "load"},
        "spec": {"image": "locustio/locust:2.20.0", "master": {"command": "x"}, "worker": {"command": "x", "replicas": 50}},
        "status": {"phase": "Running", "expectedWorkers": 50, "connectedWorkers": 48, "startTime": "2026-11-22T12:00:00Z",
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "ResourcesCreated", "message": "ok", "lastTransitionTime": "2026-11-22T12:00:00Z"},
                {"type": "WorkersConnected", "status": "False", "reason": "WaitingForWorkers", "message": "48/50 workers connected", "lastTransitionTime": "2026-11-22T12:00:00Z"},
                {"type": "PodsHealthy", "status": "True", "reason": "PodsHealthy", "message": "ok", "lastTransitionTime": "2026-11-22T12:00:00Z"}],
            "stats": {"state": "running", "users": 5000, "totalRequests": 1_000_000, "totalFailures": 12,
                "failRatio": 0.0, "failPercent": 0.0, "currentRps": 2000.0 + f64::from(second % 37) * 10.0,
                "lastUpdateTime": format!("2026-11-22T12:{:02}:{:02}Z", second / 60, second % 60)}}
    }))
    .unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let mut state = State::new("checkout", "2026-11-22T12:05:00Z".parse().unwrap());
    for second in 0..120 {
        state::update(&mut state, Event::Data(Update::Test(Box::new(test(second)))));
    }
    let events: Vec<EventRow> = (0..10)
        .map(|i| EventRow {
            type_: if i % 3 == 0 { "Warning" } else { "Normal" }.into(),
            reason: "Reason".into(),
            object: format!("Pod/checkout-worker-{i}"),
            message: "something happened to this pod, in a sentence of ordinary length".into(),
            time: None,
            count: 1,
        })
        .collect();
    state::update(&mut state, Event::Data(Update::Events(events)));

    const FRAMES: usize = 2_000;
    for (width, height) in [(120u16, 40u16), (60, 20)] {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        let mut times = Vec::with_capacity(FRAMES);
        for _ in 0..FRAMES {
            let start = Instant::now();
            terminal.draw(|frame| view::draw(frame, &state)).unwrap();
            times.push(start.elapsed());
        }
        times.sort();
        println!(
            "frame {width}x{height}: median {:?}, p99 {:?} ({FRAMES} frames)",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }
    let sample = test(500);
    let start = Instant::now();
    for _ in 0..FRAMES {
        state::update(&mut state, Event::Data(Update::Test(Box::new(sample.clone()))));
    }
    println!(
        "update with a new test reading: {:?} each (clone included)",
        start.elapsed() / FRAMES as u32
    );
}
