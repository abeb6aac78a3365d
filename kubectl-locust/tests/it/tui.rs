//! The live view rendered on ratatui's test backend at a wide and a narrow size, with a fixed
//! clock, for each phase and the failure reasons a user must see; and the pure `update`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::jiff::Timestamp;
use kubectl_locust::render::events::EventRow;
use kubectl_locust::tui::state::{self, Event, Key, State, Update};
use kubectl_locust::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use shared::api::v2::LocustTest;

const NOW: &str = "2026-11-22T12:01:30Z";

fn test(status: serde_json::Value) -> LocustTest {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "locust.io/v2", "kind": "LocustTest",
        "metadata": {"name": "checkout", "namespace": "load"},
        "spec": {"image": "locustio/locust:2.20.0", "master": {"command": "--locustfile /lotest/src/t.py"},
                 "worker": {"command": "--locustfile /lotest/src/t.py", "replicas": 4}},
        "status": status,
    }))
    .unwrap()
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"type": type_, "status": status, "reason": reason, "message": message,
                       "lastTransitionTime": "2026-11-22T12:00:00Z"})
}

fn stats(rps: f64, second: u32, failures: i64) -> serde_json::Value {
    serde_json::json!({"state": "running", "users": 200, "totalRequests": 48210, "totalFailures": failures,
        "failRatio": 0.0, "failPercent": if failures > 0 { 0.35 } else { 0.0 }, "currentRps": rps,
        "medianResponseTime": 41.0, "p95ResponseTime": 180.0, "workers": 4,
        "lastUpdateTime": format!("2026-11-22T12:00:{second:02}Z")})
}

fn state_with(test: LocustTest, events: Vec<EventRow>) -> State {
    let mut state = State::new("checkout", NOW.parse().unwrap());
    // A growing sparkline: one sample per new stats reading.
    for (second, rps) in [(10, 50.0), (20, 120.0), (30, 180.0), (40, 240.0), (50, 260.0)] {
        let mut sample = test.clone();
        if let Some(status) = sample.status.as_mut()
            && status.stats.is_some()
        {
            status.stats = Some(serde_json::from_value(stats(rps, second, 0)).unwrap());
        }
        state::update(&mut state, Event::Data(Update::Test(Box::new(sample))));
    }
    state::update(&mut state, Event::Data(Update::Test(Box::new(test))));
    state::update(&mut state, Event::Data(Update::Events(events)));
    state
}

fn render(state: &State, width: u16, height: u16) -> (String, ratatui::buffer::Buffer) {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::draw(frame, state)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let text = (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    (text, buffer)
}

fn event(type_: &str, reason: &str, object: &str, message: &str) -> EventRow {
    EventRow {
        type_: type_.into(),
        reason: reason.into(),
        object: object.into(),
        message: message.into(),
        time: Some("2026-11-22T12:00:05Z".parse().unwrap()),
        count: 1,
    }
}

fn running() -> State {
    state_with(
        test(serde_json::json!({
            "phase": "Running", "expectedWorkers": 4, "connectedWorkers": 3, "startTime": "2026-11-22T12:00:00Z",
            "conditions": [
                condition("Ready", "True", "ResourcesCreated", "all resources created"),
                condition("WorkersConnected", "False", "WaitingForWorkers", "3/4 workers connected"),
                condition("TestCompleted", "False", "TestInProgress", "the test is running"),
                condition("PodsHealthy", "True", "PodsHealthy", "all pods are healthy"),
            ],
            "stats": stats(251.3, 59, 168),
        })),
        vec![event(
            "Normal",
            "Created",
            "LocustTest/checkout",
            "created Service, master Job and worker Job",
        )],
    )
}

fn failed(reason: &str, message: &str) -> State {
    state_with(
        test(serde_json::json!({
            "phase": "Failed", "expectedWorkers": 4, "connectedWorkers": 0,
            "startTime": "2026-11-22T12:00:00Z", "completionTime": "2026-11-22T12:01:00Z",
            "conditions": [
                condition("Ready", "True", "ResourcesCreated", "all resources created"),
                condition("TestCompleted", "True", "TestFailed", "the test failed"),
                condition("PodsHealthy", "False", reason, message),
            ],
        })),
        vec![event("Warning", reason, "Pod/checkout-worker-x1", message)],
    )
}

#[test]
fn running_wide_and_narrow() {
    let state = running();
    insta::assert_snapshot!("running_120x40", render(&state, 120, 40).0);
    insta::assert_snapshot!("running_60x20", render(&state, 60, 20).0);
}

#[test]
fn pending_without_status_says_it_waits_for_the_operator() {
    let state = state_with(test(serde_json::Value::Null), vec![]);
    let (text, _) = render(&state, 120, 40);
    insta::assert_snapshot!("pending_120x40", text);
    assert!(text.contains("waiting for the operator"));
}

#[test]
fn succeeded_shows_the_duration_and_that_it_finished() {
    let mut state = running();
    let mut done = state.test.clone().unwrap();
    let status = done.status.as_mut().unwrap();
    status.phase = Some(shared::api::v2::Phase::Succeeded);
    status.completion_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        "2026-11-22T12:01:00Z".parse().unwrap(),
    ));
    state::update(&mut state, Event::Data(Update::Test(Box::new(done))));
    let (text, buffer) = render(&state, 120, 40);
    insta::assert_snapshot!("succeeded_120x40", text);
    assert!(text.contains("Succeeded  1m00s") && text.contains("finished"), "{text}");
    assert_eq!(phase_color(&buffer, &text, "Succeeded"), Color::Green);
    assert_eq!(state.exit_code(), 0);
}

#[test]
fn each_failure_reason_is_shown_in_red_at_both_sizes() {
    for (reason, message) in [
        (
            "ImagePullError",
            "pod checkout-worker-x1: Back-off pulling image \"locustio/locust:nope\"",
        ),
        ("ConfigurationError", "ConfigMap checkout-files not found"),
        ("SchedulingError", "0/3 nodes are available: 3 Insufficient cpu"),
        ("CrashLoopBackOff", "container locust restarted 5 times"),
    ] {
        let state = failed(reason, message);
        let (wide, buffer) = render(&state, 120, 40);
        insta::assert_snapshot!(format!("failed_{reason}_120x40"), wide);
        assert_eq!(phase_color(&buffer, &wide, "Failed"), Color::Red, "{reason}");
        let (narrow, _) = render(&state, 60, 20);
        insta::assert_snapshot!(format!("failed_{reason}_60x20"), narrow);
        assert!(
            narrow.contains(reason),
            "{reason} missing in the narrow view:\n{narrow}"
        );
        assert_eq!(state.exit_code(), 3);
    }
}

#[test]
fn a_read_error_keeps_the_last_data_under_a_banner_and_help_overlays() {
    let mut state = running();
    state::update(&mut state, Event::Data(Update::Error("connection refused".into())));
    let (text, _) = render(&state, 120, 40);
    assert!(text.contains("cannot read the test: connection refused"), "{text}");
    assert!(text.contains("3/4"), "the last data stays: {text}");
    state::update(&mut state, Event::Key(Key::Help));
    let (text, _) = render(&state, 120, 40);
    insta::assert_snapshot!("help_120x40", text);
    assert!(text.contains("leave the view"));
}

#[test]
fn update_samples_rps_once_per_reading_quits_and_reports_the_outcome() {
    let state_before = running();
    // Five distinct readings plus the final one: six samples; repeating a reading adds none.
    assert_eq!(state_before.rps.len(), 6);
    let mut state = state_before.clone();
    let again = state.test.clone().unwrap();
    state::update(&mut state, Event::Data(Update::Test(Box::new(again))));
    assert_eq!(state.rps.len(), 6);
    assert_eq!(state.rps.back(), Some(&2513));
    assert_eq!(state.exit_code(), 130, "leaving a running test is an interruption");
    state::update(&mut state, Event::Data(Update::Gone));
    assert_eq!(state.exit_code(), 1);
    state::update(&mut state, Event::Key(Key::Quit));
    assert!(state.quit);
    for second in 0..200 {
        let mut sample = state.test.clone().unwrap();
        sample.status.as_mut().unwrap().stats = Some(
            serde_json::from_value(stats(1.0, 0, 0))
                .map(|mut s: shared::api::status::TestStats| {
                    s.last_update_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                        Timestamp::from_second(1_800_000_000 + second).unwrap(),
                    ));
                    s
                })
                .unwrap(),
        );
        state::update(&mut state, Event::Data(Update::Test(Box::new(sample))));
    }
    assert_eq!(state.rps.len(), state::RPS_HISTORY, "the history is bounded");
}

/// The foreground colour of the first cell of `word` on screen.
fn phase_color(buffer: &ratatui::buffer::Buffer, text: &str, word: &str) -> Color {
    for (y, line) in text.lines().enumerate() {
        if let Some(x) = line.find(word) {
            let column = line[..x].chars().count() as u16;
            return buffer[(column, y as u16)].fg;
        }
    }
    panic!("{word} not on screen:\n{text}")
}

#[test]
fn without_a_terminal_the_live_view_refuses_before_starting_anything() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.py");
    std::fs::write(&file, "from locust import HttpUser\n").unwrap();
    for extra in [&["--local"][..], &[][..]] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-locust"))
            .args(["run", "demo", "--locustfile"])
            .arg(&file)
            .args(["--tui", "--kubeconfig", "/nonexistent/kubeconfig"])
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("needs a terminal") && stderr.contains("--wait"),
            "{stderr}"
        );
    }
}

#[test]
fn the_picker_lists_tests_moves_opens_and_goes_back() {
    let mut state = State::picking(NOW.parse().unwrap());
    let mut other = test(serde_json::json!({"phase": "Succeeded", "expectedWorkers": 4, "connectedWorkers": 0}));
    other.metadata.name = Some("login".into());
    other.metadata.namespace = Some("team-b".into());
    let tests = vec![
        test(serde_json::json!({"phase": "Running", "expectedWorkers": 4, "connectedWorkers": 4})),
        other,
    ];
    state::update(&mut state, Event::Data(Update::Tests(tests)));
    state::update(&mut state, Event::Key(Key::Down));
    state::update(&mut state, Event::Key(Key::Down));
    assert_eq!(
        state.picker.as_ref().unwrap().selected,
        1,
        "the selection stops at the last test"
    );
    let (text, buffer) = render(&state, 80, 12);
    insta::assert_snapshot!("picker_80x12", text);
    assert_eq!(phase_color(&buffer, &text, "Succeeded"), Color::Green);
    assert!(text.contains("team-b") && text.contains("enter open"), "{text}");

    let effect = state::update(&mut state, Event::Key(Key::Enter));
    assert_eq!(effect, state::Effect::Open("team-b".into(), "login".into()));
    assert!(!state.in_picker());
    let effect = state::update(&mut state, Event::Key(Key::Back));
    assert_eq!(effect, state::Effect::List);
    assert!(state.in_picker() && !state.quit);
    state::update(&mut state, Event::Key(Key::Back));
    assert!(state.quit, "Esc on the list leaves");
}

#[tokio::test]
async fn the_feed_sends_the_test_and_its_events_then_gone_after_deletion() {
    use fake_api::FakeApi;
    use kubectl_locust::client::Cluster;
    use kubectl_locust::tui::feed;
    let fake = FakeApi::new(NOW.parse().unwrap());
    fake.insert(serde_json::to_value(test(serde_json::json!({"phase": "Running"}))).unwrap());
    let cluster = Cluster::from_client(fake.client(), "load");
    let mut updates = feed::spawn(cluster, "checkout".into(), std::time::Duration::from_millis(20));
    assert!(matches!(next(&mut updates).await, Update::Test(t) if t.metadata.name.as_deref() == Some("checkout")));
    assert!(matches!(next(&mut updates).await, Update::Events(_)));
    assert!(fake.delete::<LocustTest>("load", "checkout"));
    let mut saw_gone = false;
    for _ in 0..10 {
        if matches!(next(&mut updates).await, Update::Gone) {
            saw_gone = true;
            break;
        }
    }
    assert!(saw_gone, "a deleted test becomes Gone");
}

async fn next(updates: &mut tokio::sync::mpsc::Receiver<Update>) -> Update {
    tokio::time::timeout(std::time::Duration::from_secs(5), updates.recv())
        .await
        .expect("an update within 5 s")
        .expect("the feed keeps running")
}

/// `running()` with limits in its spec: p95 past its limit so far, the rest within or for later.
fn running_with_thresholds() -> State {
    let mut state = running();
    let mut test = state.test.clone().unwrap();
    test.spec.thresholds = Some(
        serde_json::from_value(serde_json::json!({
            "maxFailRatio": 0.01, "maxP95ResponseTimeMs": 150, "minRps": 200,
            "endpoints": [{"name": "/checkout", "method": "POST", "maxP95ResponseTimeMs": 500}]}))
        .unwrap(),
    );
    state::update(&mut state, Event::Data(Update::Test(Box::new(test))));
    state
}

#[test]
fn thresholds_show_live_values_while_running_and_the_verdict_once_ended() {
    let state = running_with_thresholds();
    let (wide, buffer) = render(&state, 120, 40);
    insta::assert_snapshot!("running_thresholds_120x40", wide);
    assert!(
        wide.contains("Thresholds: checked when the run ends; live values so far"),
        "{wide}"
    );
    assert!(wide.contains("180 ms"), "p95 now: {wide}");
    assert_eq!(phase_color(&buffer, &wide, "over so far"), Color::Red);
    assert!(wide.contains("checked at the end (run average)"), "{wide}");
    assert!(wide.contains("checked when the run ends"), "{wide}");
    let (narrow, _) = render(&state, 60, 20);
    insta::assert_snapshot!("running_thresholds_60x20", narrow);
    assert!(narrow.contains("Thresholds"), "{narrow}");

    let mut state = state;
    let mut ended = state.test.clone().unwrap();
    let status = ended.status.as_mut().unwrap();
    *status = serde_json::from_value(serde_json::json!({
        "phase": "Failed", "expectedWorkers": 4, "connectedWorkers": 4,
        "startTime": "2026-11-22T12:00:00Z", "completionTime": "2026-11-22T12:01:00Z",
        "conditions": [
            condition("Ready", "True", "ResourcesCreated", "all resources created"),
            condition("TestCompleted", "True", "ThresholdsBreached",
                      "thresholds breached: p95 response time of POST /checkout: 812 ms, allowed at most 500 ms"),
            condition("ThresholdsMet", "False", "ThresholdsBreached",
                      "thresholds breached: p95 response time of POST /checkout: 812 ms, allowed at most 500 ms"),
        ],
        "stats": stats(0.0, 59, 0),
        "thresholds": [
            {"subject": "all requests", "limit": "maxFailRatio", "allowed": 0.01, "measured": 0.0, "met": true},
            {"subject": "all requests", "limit": "maxP95ResponseTimeMs", "allowed": 150.0, "measured": 140.0, "met": true},
            {"subject": "all requests", "limit": "minRps", "allowed": 200.0, "measured": 241.2, "met": true},
            {"subject": "POST /checkout", "limit": "maxP95ResponseTimeMs", "allowed": 500.0, "measured": 812.0, "met": false}],
    }))
    .unwrap();
    state::update(&mut state, Event::Data(Update::Test(Box::new(ended))));
    let (text, buffer) = render(&state, 120, 40);
    insta::assert_snapshot!("thresholds_breached_120x40", text);
    assert!(text.contains("Thresholds: breached: 1 of 4 limits"), "{text}");
    assert_eq!(phase_color(&buffer, &text, "BREACHED"), Color::Red);
    assert_eq!(phase_color(&buffer, &text, "ThresholdsBreached"), Color::Red);
    assert_eq!(state.exit_code(), 3, "a breach ends the view with the test's exit code");
}

// ---- keys acting on the test: w (web UI), s then y (stop), l (master log) ----

use kubectl_locust::tui::state::Effect;

fn key(state: &mut State, key: Key) -> Effect {
    state::update(state, Event::Key(key))
}

fn bottom_line(state: &State) -> String {
    let (text, _) = render(state, 120, 40);
    text.lines().last().unwrap_or_default().to_string()
}

#[test]
fn s_asks_first_and_only_y_stops_a_running_test() {
    let mut state = running();
    assert_eq!(key(&mut state, Key::Stop), Effect::None);
    assert!(state.confirm_stop);
    assert_eq!(
        bottom_line(&state),
        " stop checkout? Locust stops its users and the test ends with its results — y yes, any other key no"
    );
    // Anything but y: no.
    assert_eq!(key(&mut state, Key::Other), Effect::None);
    assert!(!state.confirm_stop);
    assert_eq!(bottom_line(&state), " not stopped");
    assert!(!state.quit);

    key(&mut state, Key::Stop);
    assert_eq!(
        key(&mut state, Key::Yes),
        Effect::Stop("load".into(), "checkout".into())
    );
    assert_eq!(bottom_line(&state), " asking the master of checkout to stop…");
    // What the stop task reports replaces it.
    state::update(
        &mut state,
        Event::Data(Update::Notice("asked the master of checkout to stop (by alice)".into())),
    );
    assert_eq!(bottom_line(&state), " asked the master of checkout to stop (by alice)");
}

#[test]
fn w_and_s_say_why_not_when_the_test_is_not_running() {
    let mut ended = failed("CrashLoopBackOff", "back-off restarting failed container");
    assert_eq!(key(&mut ended, Key::Stop), Effect::None);
    assert!(!ended.confirm_stop);
    assert_eq!(bottom_line(&ended), " the test has ended (Failed): nothing to stop");
    assert_eq!(key(&mut ended, Key::WebUi), Effect::None);
    assert_eq!(
        bottom_line(&ended),
        " the test has ended (Failed): Locust's web UI lives only while it runs"
    );

    let mut running = running();
    assert_eq!(
        key(&mut running, Key::WebUi),
        Effect::WebUi("load".into(), "checkout".into())
    );
    assert_eq!(bottom_line(&running), " forwarding Locust's web UI…");
    state::update(
        &mut running,
        Event::Data(Update::Notice(
            "Locust's web UI: http://127.0.0.1:8089, forwarded while this view is open".into(),
        )),
    );
    assert!(bottom_line(&running).contains("http://127.0.0.1:8089"));
    // In the list of tests, the keys act on nothing.
    let mut picking = State::picking(NOW.parse().unwrap());
    assert_eq!(key(&mut picking, Key::Stop), Effect::None);
    assert!(!picking.confirm_stop);
}

#[test]
fn l_shows_the_tail_of_the_master_log_over_the_view_until_l_or_esc() {
    let mut state = running();
    assert_eq!(
        key(&mut state, Key::Logs),
        Effect::Logs("load".into(), "checkout".into())
    );
    let lines: Vec<String> = (1..=50)
        .map(|i| {
            format!(
                "[2026-11-22 12:01:{:02}] checkout-master/INFO/locust.runners: line {i}",
                i % 60
            )
        })
        .collect();
    state::update(&mut state, Event::Data(Update::LogTail(lines)));
    let (text, _) = render(&state, 120, 40);
    assert!(text.contains("master log (l or Esc closes)"), "{text}");
    assert!(
        text.contains("line 50") && !text.contains("line 5 "),
        "the newest lines fit: {text}"
    );
    insta::assert_snapshot!("log_tail_120x40", text);
    assert_eq!(key(&mut state, Key::Logs), Effect::None);
    assert!(state.log_tail.is_none());
    key(&mut state, Key::Logs);
    assert_eq!(key(&mut state, Key::Back), Effect::None);
    assert!(
        state.log_tail.is_none() && !state.quit,
        "Esc closes the log, not the view"
    );
    // A tail arriving after the overlay was closed is dropped.
    state::update(&mut state, Event::Data(Update::LogTail(vec!["late".into()])));
    assert!(state.log_tail.is_none());
}

#[tokio::test]
async fn l_reads_the_tail_of_the_newest_master_pods_log_through_the_api() {
    let fake = fake_api::FakeApi::new(NOW.parse().unwrap());
    let pod = |name: &str, created: &str| {
        serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": name, "namespace": "load", "creationTimestamp": created,
                          "labels": { "performance-test-name": "checkout",
                                      "performance-test-pod-name": "checkout-master" } },
        })
    };
    fake.insert(pod("checkout-master-old", "2026-11-22T11:00:00Z"));
    fake.insert(pod("checkout-master-new", "2026-11-22T12:00:00Z"));
    fake.set_pod_log("load", "checkout-master-old", "old line\n");
    let log: String = (1..=40).map(|i| format!("line {i}\n")).collect();
    fake.set_pod_log("load", "checkout-master-new", &log);
    let cluster = kubectl_locust::client::Cluster::from_client(fake.client(), "load");
    let lines = kubectl_locust::commands::tui::master_log_tail(&cluster, "checkout")
        .await
        .unwrap();
    assert_eq!(lines.last().map(String::as_str), Some("line 40"));
    assert!(!lines.contains(&"old line".to_string()), "the newest master: {lines:?}");
    let request = fake
        .requests()
        .into_iter()
        .find(|request| request.path.ends_with("/log"))
        .expect("a log read");
    assert_eq!(request.query_param("tailLines"), Some("30"), "only the tail is read");

    let nothing = kubectl_locust::commands::tui::master_log_tail(&cluster, "other")
        .await
        .unwrap();
    assert_eq!(nothing, ["other has no master pod (yet, or any more)"]);
}
