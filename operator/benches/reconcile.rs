//! The operator's in-process cost, as figures: time and heap allocations to reconcile 1,000
//! LocustTests through the real `reconcile` against the in-memory API server of the integration
//! tests, and the pure status derivation and builders for one large test.
//!
//! Run with `cargo bench -p operator --bench reconcile`. Nothing here fails on timing: it prints a
//! table to read. Without `--bench` (for example under `cargo test --benches`) it runs a short
//! smoke pass with few iterations, so a test run never pays for the full loops.
//!
//! Allocations are counted by a counting wrapper around the system allocator, for the one thread
//! everything runs on (a current-thread runtime), so every figure is the cost of that work alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// The integration tests' in-memory API server. Its re-exports and the imports of its own unit
// tests go unused here: a harness-less target drops `#[test]` functions even under `cfg(test)`.
#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::alloc::System;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::{Job, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::reflector::ObjectRef;
use operator::cache::TestObject;
use operator::reconcile::reconcile;
use serde_json::{Value, json};
use shared::api::status::{LocustTestStatus, Phase};
use shared::api::v2::LocustTest;
use shared::config::OperatorConfig;
use shared::health::{self, DEFAULT_GRACE_PERIOD, Health};
use shared::naming::{self, Role};
use shared::status::{self, Child, DeriveSettings, Observation};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use support::{FakeApi, Operator};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Namespace of the large test of the pure benchmarks.
const NAMESPACE: &str = "load";
/// Worker replicas of each of the many small tests.
const SMALL_TEST_WORKERS: i32 = 5;
/// Worker pods of the one large test.
const LARGE_TEST_WORKERS: usize = 500;
/// Workers of the large test that crash-loop in the failing scenario.
const CRASH_LOOPING_WORKERS: usize = 20;

/// How much work one run does: the full figures, or a smoke pass that only proves the code runs.
struct Scale {
    tests: usize,
    iterations: usize,
}

impl Scale {
    fn from_args() -> Self {
        // `cargo bench` passes `--bench` to a harness-less target; `cargo test` does not.
        if std::env::args().any(|arg| arg == "--bench") {
            Self {
                tests: 1_000,
                iterations: 2_000,
            }
        } else {
            Self {
                tests: 20,
                iterations: 20,
            }
        }
    }
}

/// One measured operation.
#[derive(Clone, Copy)]
struct Sample {
    elapsed: Duration,
    allocations: usize,
    reallocations: usize,
    bytes_allocated: usize,
}

/// Runs `operation` once, measuring its time and the allocations it made.
fn measure<T>(operation: impl FnOnce() -> T) -> (T, Sample) {
    let region = Region::new(GLOBAL);
    let started = Instant::now();
    let output = operation();
    let elapsed = started.elapsed();
    let change = region.change();
    (
        output,
        Sample {
            elapsed,
            allocations: change.allocations,
            reallocations: change.reallocations,
            bytes_allocated: change.bytes_allocated,
        },
    )
}

/// The same for a future, polled on the current thread.
async fn measure_async<T>(operation: impl Future<Output = T>) -> (T, Sample) {
    let region = Region::new(GLOBAL);
    let started = Instant::now();
    let output = operation.await;
    let elapsed = started.elapsed();
    let change = region.change();
    (
        output,
        Sample {
            elapsed,
            allocations: change.allocations,
            reallocations: change.reallocations,
            bytes_allocated: change.bytes_allocated,
        },
    )
}

/// One table row: the samples of one kind of operation.
struct Row {
    what: String,
    samples: Vec<Sample>,
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    // Nearest rank: the smallest sample with at least `fraction` of the samples at or below it.
    let rank = ((sorted.len() as f64) * fraction).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn print_header(title: &str) {
    println!("\n{title}");
    println!(
        "{:<52} {:>6} {:>10} {:>10} {:>10} {:>10} {:>9} {:>8} {:>10}",
        "operation", "n", "total ms", "mean µs", "p50 µs", "p99 µs", "allocs", "reallocs", "KiB alloc"
    );
    println!("{}", "-".repeat(52 + 6 + 10 * 4 + 9 + 8 + 10 + 8));
}

fn print_row(row: &Row) {
    let count = row.samples.len();
    let mut times: Vec<Duration> = row.samples.iter().map(|s| s.elapsed).collect();
    times.sort_unstable();
    let total: Duration = times.iter().sum();
    let per = |field: fn(&Sample) -> usize| row.samples.iter().map(field).sum::<usize>() as f64 / count as f64;
    println!(
        "{:<52} {:>6} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>9.0} {:>8.0} {:>10.1}",
        row.what,
        count,
        total.as_secs_f64() * 1e3,
        micros(total) / count as f64,
        micros(percentile(&times, 0.50)),
        micros(percentile(&times, 0.99)),
        per(|s| s.allocations),
        per(|s| s.reallocations),
        per(|s| s.bytes_allocated) / 1024.0,
    );
}

// ---------------------------------------------------------------------------------------------
// 1. Reconciling many tests against the in-memory API server

fn start_time() -> Timestamp {
    "2025-03-01T10:00:00.250Z".parse().unwrap()
}

/// Where one of the many tests lives. Each test has a namespace of its own: the in-memory API
/// server answers a LIST by scanning every stored object and copying a label of each pod in the
/// namespace, a cost a real API server (namespace and label indexes, a watch cache) does not have
/// and that would otherwise grow with the number of tests and swamp the operator's own figures.
struct TestRef {
    namespace: String,
    name: String,
}

fn test_ref(index: usize) -> TestRef {
    TestRef {
        namespace: format!("team-{index:04}"),
        name: format!("checkout-{index:04}"),
    }
}

/// A typical test: scripts from a ConfigMap, a variable, resources on both roles.
fn typical_test(test: &TestRef) -> Value {
    json!({
        "apiVersion": "locust.io/v2",
        "kind": "LocustTest",
        "metadata": { "name": test.name, "namespace": test.namespace },
        "spec": {
            "image": "locustio/locust:2.31.0",
            "master": {
                "command": "--locustfile /lotest/src/checkout.py --host https://shop.example.com --users 500 --spawn-rate 50 --run-time 10m",
                "resources": { "requests": { "cpu": "200m", "memory": "256Mi" }, "limits": { "memory": "512Mi" } },
            },
            "worker": {
                "command": "--locustfile /lotest/src/checkout.py",
                "replicas": SMALL_TEST_WORKERS,
                "resources": { "requests": { "cpu": "500m", "memory": "512Mi" }, "limits": { "cpu": "1", "memory": "1Gi" } },
            },
            "testFiles": { "configMapRef": "checkout-scripts" },
            "env": { "variables": [ { "name": "LOG_LEVEL", "value": "INFO" } ] },
        },
    })
}

/// Every test as the watch delivers it now, its children and pods in the cache (outside the
/// measurement: the watches decode each object once, whatever the reconcile does with it).
fn deliveries(operator: &Operator, tests: &[TestRef]) -> Vec<Arc<TestObject>> {
    operator.observe();
    tests
        .iter()
        .map(|test| {
            operator
                .ctx
                .cache
                .tests
                .get(&ObjectRef::new(&test.name).within(&test.namespace))
                .expect("the test exists")
        })
        .collect()
}

/// One kind of pass over all tests: every reconcile's sample and the API requests made.
#[derive(Default)]
struct Pass {
    samples: Vec<Sample>,
    reads: usize,
    writes: usize,
}

/// Reconciles every test once, in order, measuring each reconcile, and adds to `pass`.
async fn reconcile_pass(fake: &FakeApi, operator: &Operator, tests: &[TestRef], pass: &mut Pass) {
    let ctx = &operator.ctx;
    let delivered = deliveries(operator, tests);
    fake.clear_requests();
    for object in delivered {
        let (result, sample) = measure_async(reconcile(object, ctx.clone())).await;
        if let Err(error) = result {
            panic!("reconcile failed: {error}");
        }
        pass.samples.push(sample);
    }
    let requests = fake.requests();
    let writes = requests.iter().filter(|r| r.is_write()).count();
    pass.reads += requests.len() - writes;
    pass.writes += writes;
    fake.clear_requests();
}

fn phase_of(fake: &FakeApi, test: &TestRef) -> Option<Phase> {
    let stored = fake.get_dynamic::<LocustTest>(&test.namespace, &test.name)?;
    let status: LocustTestStatus = serde_json::from_value(stored.data.get("status")?.clone()).ok()?;
    status.phase
}

fn assert_every_phase(fake: &FakeApi, tests: &[TestRef], expected: Phase) {
    for test in tests {
        assert_eq!(phase_of(fake, test), Some(expected), "{}", test.name);
    }
}

fn running_pod_status(container: &str, started: &str) -> Value {
    json!({
        "phase": "Running",
        "startTime": started,
        "conditions": [
            { "type": "PodScheduled", "status": "True" },
            { "type": "Initialized", "status": "True" },
            { "type": "ContainersReady", "status": "True" },
            { "type": "Ready", "status": "True" },
        ],
        "containerStatuses": [{
            "name": container, "image": "locustio/locust:2.31.0", "imageID": "", "ready": true,
            "restartCount": 0, "started": true, "state": { "running": { "startedAt": started } },
        }],
    })
}

/// The Job controller and kubelet's side of starting a test: both Jobs active, every pod running.
fn start_pods(fake: &FakeApi, test: &TestRef) {
    let namespace = test.namespace.as_str();
    let master = naming::master_name(&test.name);
    let worker = naming::worker_name(&test.name);
    let started = fake.now().to_string();
    fake.set_status::<Job>(namespace, &master, json!({ "active": 1, "ready": 1 }));
    fake.set_status::<Job>(
        namespace,
        &worker,
        json!({ "active": SMALL_TEST_WORKERS, "ready": SMALL_TEST_WORKERS }),
    );
    fake.add_pod(
        namespace,
        &format!("{master}-x7k2p"),
        &naming::pod_labels(&test.name, Role::Master, None),
        running_pod_status(&master, &started),
    );
    for index in 0..SMALL_TEST_WORKERS {
        fake.add_pod(
            namespace,
            &format!("{worker}-{index:05}"),
            &naming::pod_labels(&test.name, Role::Worker, None),
            running_pod_status(&worker, &started),
        );
    }
}

/// The passes every test goes through, in order.
const PASSES: [&str; 4] = [
    "1st pass: create 3 children, status",
    "2nd pass: steady state, no pods",
    "3rd pass: master Job active -> Running",
    "4th pass: steady Running, 6 pods each",
];

/// Runs the passes of `PASSES` over `tests` on one fresh API server and one operator context.
async fn reconcile_fleet(tests: &[TestRef], passes: &mut [Pass; 4]) {
    let fake = FakeApi::new(start_time());
    for test in tests {
        fake.insert(typical_test(test));
    }
    let operator = Operator::default_for(&fake);

    reconcile_pass(&fake, &operator, tests, &mut passes[0]).await;
    for test in tests {
        assert_eq!(fake.names::<Job>(&test.namespace).len(), 2, "two Jobs per test");
    }
    assert_every_phase(&fake, tests, Phase::Pending);

    let writes_before = passes[1].writes;
    reconcile_pass(&fake, &operator, tests, &mut passes[1]).await;
    assert_eq!(passes[1].writes, writes_before, "a steady-state pass writes nothing");

    fake.advance(Duration::from_secs(5));
    for test in tests {
        start_pods(&fake, test);
    }
    reconcile_pass(&fake, &operator, tests, &mut passes[2]).await;
    assert_every_phase(&fake, tests, Phase::Running);

    let writes_before = passes[3].writes;
    reconcile_pass(&fake, &operator, tests, &mut passes[3]).await;
    assert_eq!(passes[3].writes, writes_before, "a steady-state pass writes nothing");
}

/// Reconciles `fleets * tests_per_fleet` tests, each fleet on an API server of its own.
fn bench_reconcile(fleets: usize, tests_per_fleet: usize) -> Vec<Row> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut passes: [Pass; 4] = Default::default();
    runtime.block_on(async {
        for fleet in 0..fleets {
            let tests: Vec<TestRef> = (0..tests_per_fleet)
                .map(|index| test_ref(fleet * tests_per_fleet + index))
                .collect();
            reconcile_fleet(&tests, &mut passes).await;
        }
    });
    PASSES
        .iter()
        .zip(passes)
        .map(|(what, pass)| Row {
            what: format!("{what} ({}r/{}w)", pass.reads, pass.writes),
            samples: pass.samples,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 2. Pure status derivation for one large test, and the pure builders

fn typed_pod(name: &str, test: &str, role: Role, created: Timestamp, status: Value) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "creationTimestamp": created.to_string(),
            "labels": naming::pod_labels(test, role, None),
        },
        "status": status,
    }))
    .expect("a pod")
}

fn crash_looping_status(container: &str, started: &str) -> Value {
    json!({
        "phase": "Running",
        "startTime": started,
        "conditions": [{ "type": "Ready", "status": "False", "reason": "ContainersNotReady" }],
        "containerStatuses": [{
            "name": container, "image": "locustio/locust:2.31.0", "imageID": "", "ready": false,
            "restartCount": 5, "started": false,
            "state": { "waiting": { "reason": "CrashLoopBackOff", "message": "back-off 2m40s restarting failed container" } },
            "lastState": { "terminated": { "reason": "Error", "exitCode": 1 } },
        }],
    })
}

/// The master and `LARGE_TEST_WORKERS` worker pods of one test, created at `created`; the first
/// `crash_looping` workers are in CrashLoopBackOff, the rest run.
fn large_test_pods(test: &str, created: Timestamp, crash_looping: usize) -> Vec<Pod> {
    let started = created.to_string();
    let master = naming::master_name(test);
    let worker = naming::worker_name(test);
    let mut pods = vec![typed_pod(
        &format!("{master}-x7k2p"),
        test,
        Role::Master,
        created,
        running_pod_status(&master, &started),
    )];
    pods.extend((0..LARGE_TEST_WORKERS).map(|index| {
        let status = if index < crash_looping {
            crash_looping_status(&worker, &started)
        } else {
            running_pod_status(&worker, &started)
        };
        typed_pod(&format!("{worker}-{index:05}"), test, Role::Worker, created, status)
    }));
    pods
}

struct LargeTest {
    name: String,
    master_job: JobStatus,
    worker_job: JobStatus,
    settings: DeriveSettings,
}

impl LargeTest {
    fn observation<'a>(&'a self, present: &'a [Child], health: Health) -> Observation<'a> {
        Observation {
            test_name: &self.name,
            generation: Some(1),
            expected_workers: LARGE_TEST_WORKERS as i32,
            present,
            created: &[],
            master_job: Some(&self.master_job),
            worker_job: Some(&self.worker_job),
            health,
            spec_drifted: false,
            connected_workers: None,
            build_error: None,
            stats: None,
            stats_unreachable: None,
            creation_retry: None,
            thresholds: None,
            last_stats: None,
            stop_requested: None,
        }
    }
}

/// classify + derive, as a reconcile runs them on what it listed.
fn derive_status(large: &LargeTest, pods: &[Pod], previous: &LocustTestStatus, now: Timestamp) -> status::StatusStep {
    let stuck = health::pods_stuck_creating(pods, now, DEFAULT_GRACE_PERIOD);
    assert!(stuck.is_empty(), "no pod waits for its volumes");
    let pod_health = health::classify(
        pods,
        &[],
        now,
        DEFAULT_GRACE_PERIOD,
        status::master_finished(Some(&large.master_job)),
    );
    status::derive(
        previous,
        &large.observation(&Child::ALL, pod_health),
        &large.settings,
        now,
    )
}

fn repeat(iterations: usize, mut operation: impl FnMut()) -> Vec<Sample> {
    (0..iterations).map(|_| measure(&mut operation).1).collect()
}

fn bench_derivation(scale: &Scale) -> Vec<Row> {
    let created = start_time();
    let after_grace = created
        .checked_add(DEFAULT_GRACE_PERIOD + Duration::from_secs(60))
        .expect("time in range");
    let large = LargeTest {
        name: "big".into(),
        master_job: serde_json::from_value(json!({ "active": 1, "ready": 1 })).expect("job status"),
        worker_job: serde_json::from_value(json!({ "active": LARGE_TEST_WORKERS, "ready": LARGE_TEST_WORKERS }))
            .expect("job status"),
        settings: DeriveSettings::default(),
    };
    let healthy_pods = large_test_pods(&large.name, created, 0);
    let failing_pods = large_test_pods(&large.name, created, CRASH_LOOPING_WORKERS);

    // The status a running test already has, so the measured derivations are the steady state a
    // periodic reconcile sees (nothing changes, nothing is written).
    let running = derive_status(&large, &healthy_pods, &LocustTestStatus::default(), after_grace).status;
    assert_eq!(running.phase, Some(Phase::Running));
    let steady = derive_status(&large, &healthy_pods, &running, after_grace);
    assert_eq!(steady.status, running, "the steady state derives the same status");
    let failed = derive_status(&large, &failing_pods, &running, after_grace);
    assert_eq!(
        failed.status.phase,
        Some(Phase::Failed),
        "crash-looping workers fail the test"
    );

    let mut rows = Vec::new();
    let pod_count = healthy_pods.len();
    let classify = |pods: &[Pod]| health::classify(black_box(pods), &[], after_grace, DEFAULT_GRACE_PERIOD, false);
    rows.push(Row {
        what: format!("health::classify, {pod_count} pods, all healthy"),
        samples: repeat(scale.iterations, || {
            black_box(classify(&healthy_pods));
        }),
    });
    rows.push(Row {
        what: format!("health::classify, {pod_count} pods, {CRASH_LOOPING_WORKERS} crash-looping"),
        samples: repeat(scale.iterations, || {
            black_box(classify(&failing_pods));
        }),
    });
    let healthy = classify(&healthy_pods);
    rows.push(Row {
        what: format!("status::derive, {LARGE_TEST_WORKERS} workers, steady Running"),
        samples: repeat(scale.iterations, || {
            let observation = large.observation(&Child::ALL, healthy.clone());
            black_box(status::derive(
                black_box(&running),
                &observation,
                &large.settings,
                after_grace,
            ));
        }),
    });
    rows.push(Row {
        what: format!("stuck + classify + derive, {pod_count} pods, steady"),
        samples: repeat(scale.iterations, || {
            black_box(derive_status(&large, black_box(&healthy_pods), &running, after_grace));
        }),
    });
    rows.push(Row {
        what: format!("stuck + classify + derive, {pod_count} pods, -> Failed"),
        samples: repeat(scale.iterations, || {
            black_box(derive_status(&large, black_box(&failing_pods), &running, after_grace));
        }),
    });
    rows
}

/// Every spec field set, under an operator with every setting that reaches a pod.
fn complete_test() -> LocustTest {
    serde_json::from_value(json!({
        "apiVersion": "locust.io/v2",
        "kind": "LocustTest",
        "metadata": { "name": "complete", "namespace": NAMESPACE, "uid": "7c1e5a52-3f0d-4d4e-9a8b-2b5f6c7d8e90" },
        "spec": {
            "image": "registry.example.com/perf/locust:2.31.0",
            "imagePullPolicy": "Always",
            "imagePullSecrets": [{ "name": "registry-credentials" }],
            "master": {
                "command": "--locustfile /mnt/locust/tests/checkout.py --host https://shop.example.com --tags 'checkout flow'",
                "resources": { "requests": { "cpu": "200m", "memory": "256Mi" }, "limits": { "memory": "512Mi" } },
                "labels": { "team": "checkout", "role": "master" },
                "annotations": { "example.com/owner": "checkout-team" },
                "autostart": true,
                "autoquit": { "enabled": true, "timeout": 30 },
                "extraArgs": ["--csv", "/reports/run"],
            },
            "worker": {
                "command": "--locustfile /mnt/locust/tests/checkout.py",
                "replicas": LARGE_TEST_WORKERS,
                "resources": { "requests": { "cpu": "500m", "memory": "512Mi" }, "limits": { "cpu": "1", "memory": "1Gi" } },
                "labels": { "team": "checkout", "role": "worker" },
                "annotations": { "example.com/owner": "checkout-team" },
                "extraArgs": ["--processes", "2"],
            },
            "testFiles": {
                "configMapRef": "checkout-scripts",
                "libConfigMapRef": "checkout-lib",
                "srcMountPath": "/mnt/locust/tests",
                "libMountPath": "/mnt/locust/lib",
            },
            "scheduling": {
                "affinity": { "nodeAffinity": { "requiredDuringSchedulingIgnoredDuringExecution": { "nodeSelectorTerms": [
                    { "matchExpressions": [{ "key": "node-pool", "operator": "In", "values": ["load-generators"] }] },
                ]}}},
                "tolerations": [{ "key": "dedicated", "operator": "Equal", "value": "load", "effect": "NoSchedule" }],
                "nodeSelector": { "kubernetes.io/arch": "amd64" },
            },
            "env": {
                "configMapRefs": [{ "name": "shop-config", "prefix": "SHOP_" }],
                "secretRefs": [{ "name": "shop-credentials" }],
                "variables": [
                    { "name": "LOG_LEVEL", "value": "DEBUG" },
                    { "name": "API_TOKEN", "valueFrom": { "secretKeyRef": { "name": "api-secret", "key": "token" } } },
                ],
                "secretMounts": [{ "name": "tls-certs", "mountPath": "/etc/locust/certs" }],
            },
            "volumes": [
                { "name": "reports", "emptyDir": {} },
                { "name": "test-data", "persistentVolumeClaim": { "claimName": "test-data-pvc" } },
            ],
            "volumeMounts": [
                { "name": "reports", "mountPath": "/reports", "target": "master" },
                { "name": "test-data", "mountPath": "/data", "readOnly": true },
            ],
            "security": {
                "podSecurityContext": { "runAsNonRoot": true, "runAsUser": 1000, "fsGroup": 1000 },
                "containerSecurityContext": { "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true },
            },
            "observability": { "openTelemetry": {
                "enabled": true, "endpoint": "otel-collector.monitoring:4318", "protocol": "http/protobuf",
                "extraEnvVars": { "OTEL_SERVICE_NAME": "checkout-load" },
            }},
        },
    }))
    .expect("a complete LocustTest")
}

fn full_operator_config() -> OperatorConfig {
    let variables: BTreeMap<&str, &str> = [
        ("KAFKA_BOOTSTRAP_SERVERS", "kafka.example.com:9096"),
        ("KAFKA_SECURITY_ENABLED", "true"),
        ("KAFKA_SECURITY_PROTOCOL_CONFIG", "SASL_SSL"),
        ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
        ("KAFKA_CREDENTIALS_SECRET", "kafka-load-user"),
        ("JOB_TTL_SECONDS_AFTER_FINISHED", "3600"),
        ("ENABLE_AFFINITY_CR_INJECTION", "true"),
        ("ENABLE_TAINT_TOLERATIONS_CR_INJECTION", "true"),
    ]
    .into_iter()
    .collect();
    OperatorConfig::from_lookup(|name| variables.get(name).map(|value| value.to_string()))
        .expect("a valid operator config")
}

fn bench_builders(scale: &Scale) -> Vec<Row> {
    let test = complete_test();
    let config = full_operator_config();
    shared::build::children(&test, &config).expect("the complete test builds");
    vec![
        Row {
            what: "build::children, every spec field set".into(),
            samples: repeat(scale.iterations, || {
                black_box(shared::build::children(black_box(&test), &config).expect("builds"));
            }),
        },
        Row {
            what: "build::spec_fingerprint, every spec field set".into(),
            samples: repeat(scale.iterations, || {
                black_box(shared::build::spec_fingerprint(black_box(&test.spec)));
            }),
        },
    ]
}

fn main() {
    let scale = Scale::from_args();
    if scale.tests < 1_000 {
        println!("smoke run (no --bench): few iterations, figures are not meaningful");
    }
    // The in-memory API server answers a LIST by scanning every object it stores, so on one
    // server its cost grows with the fleet; a real API server's does not. Fleets of 10 tests on
    // servers of their own show the operator's cost without that.
    let small_fleet = 10;
    for (fleets, per_fleet, how) in [
        (1, scale.tests, "on one API server".to_string()),
        (
            scale.tests / small_fleet,
            small_fleet,
            format!("in fleets of {small_fleet}, each on an API server of its own"),
        ),
    ] {
        let started = Instant::now();
        let rows = bench_reconcile(fleets, per_fleet);
        let wall = started.elapsed();
        print_header(&format!(
            "Reconciling {} LocustTests ({SMALL_TEST_WORKERS} workers, a namespace each) {how}: wall {:.2} s with setup",
            fleets * per_fleet,
            wall.as_secs_f64()
        ));
        for row in &rows {
            print_row(row);
        }
    }
    println!(
        "Per reconcile of operator::reconcile::reconcile; (Nr/Mw) = API reads/writes of the pass. Includes the \
         in-memory API server's work (JSON encoding and decoding, request recording, linear LIST scans); \
         real API latency is excluded."
    );

    print_header("Pure derivation and builders (per call)");
    for row in bench_derivation(&scale).iter().chain(&bench_builders(&scale)) {
        print_row(row);
    }
}
