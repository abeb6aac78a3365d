//! Snapshots of every object the operator creates for a test: the master Service, the master
//! Job and the worker Job, in creation order. A change to any built field shows up as a diff of
//! `tests/it/snapshots/*.snap` that a reviewer reads; with `CI=true` a differing snapshot fails the
//! test instead of being written.
//!
//! Regenerate after an intended change with
//! `INSTA_UPDATE=always cargo test -p locust-shared --test it snapshots::`, then read the diff.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{operator_config, validated};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Service;
use serde::Serialize;
use shared::build::children;
use shared::config::OperatorConfig;

/// The children as one document, in creation order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Built {
    service: Service,
    master_job: Job,
    worker_job: Job,
}

/// What a user writes at the least, as the operator reads it back from the API server (with a
/// namespace and a uid, so the owner references show).
const MINIMAL: &str = r#"
apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: minimal
  namespace: load
  uid: 0b6f1d9e-4a57-4a35-9d55-8f2a4c1e7b10
spec:
  image: locustio/locust:2.20.0
  master:
    command: "--locustfile /lotest/src/test.py --host https://example.com --users 100 --spawn-rate 10 --run-time 3m"
  worker:
    command: "--locustfile /lotest/src/test.py"
    replicas: 3
"#;

/// Every spec field set. A dotted name shows that child names use dashes and labels keep dots.
const COMPLETE: &str = r#"
apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: complete.v2
  namespace: load
  uid: 7c1e5a52-3f0d-4d4e-9a8b-2b5f6c7d8e90
spec:
  image: registry.example.com/perf/locust:2.20.0
  imagePullPolicy: Always
  imagePullSecrets:
    - name: registry-credentials
  master:
    command: "--locustfile /mnt/locust/tests/checkout.py --host https://shop.example.com --tags 'checkout flow'"
    resources:
      requests: {cpu: 200m, memory: 256Mi}
      limits: {memory: 512Mi}
    labels: {team: checkout, role: master}
    annotations: {example.com/owner: checkout-team}
    autostart: false
    autoquit: {enabled: true, timeout: 30}
    extraArgs: [--csv, /reports/run]
  worker:
    command: "--locustfile /mnt/locust/tests/checkout.py"
    replicas: 4
    resources:
      requests: {cpu: 500m, memory: 512Mi}
      limits: {cpu: "1", memory: 1Gi}
    labels: {team: checkout, role: worker}
    annotations: {example.com/owner: checkout-team}
    extraArgs: [--processes, "2"]
  testFiles:
    configMapRef: checkout-scripts
    libConfigMapRef: checkout-lib
    srcMountPath: /mnt/locust/tests
    libMountPath: /mnt/locust/lib
  scheduling:
    affinity:
      nodeAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
            - matchExpressions:
                - {key: node-pool, operator: In, values: [load-generators]}
    tolerations:
      - {key: dedicated, operator: Equal, value: load, effect: NoSchedule}
    nodeSelector: {kubernetes.io/arch: amd64}
    runtimeClassName: kata
  env:
    configMapRefs:
      - {name: shop-config, prefix: SHOP_}
    secretRefs:
      - {name: shop-credentials}
    variables:
      - {name: LOG_LEVEL, value: DEBUG}
      - name: API_TOKEN
        valueFrom: {secretKeyRef: {name: api-secret, key: token}}
      - name: POD_NAME
        valueFrom: {fieldRef: {fieldPath: metadata.name}}
    secretMounts:
      - {name: tls.certs, mountPath: /etc/locust/certs}
  volumes:
    - name: reports
      emptyDir: {}
    - name: test-data
      persistentVolumeClaim: {claimName: test-data-pvc}
    - name: host-cache
      hostPath: {path: /var/cache/locust, type: DirectoryOrCreate}
  volumeMounts:
    - {name: reports, mountPath: /reports, target: master}
    - {name: test-data, mountPath: /data, subPath: checkout, readOnly: true, recursiveReadOnly: IfPossible}
    - {name: host-cache, mountPath: /cache, subPathExpr: $(POD_NAME), mountPropagation: HostToContainer, target: worker}
  security:
    podSecurityContext:
      runAsNonRoot: true
      runAsUser: 1000
      fsGroup: 1000
    containerSecurityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
  observability:
    openTelemetry:
      enabled: true
      endpoint: otel-collector.monitoring:4318
      protocol: http/protobuf
      insecure: true
      extraEnvVars:
        OTEL_SERVICE_NAME: checkout-load
        OTEL_RESOURCE_ATTRIBUTES: team=checkout
"#;

/// An operator with every setting that reaches a pod: Kafka with a credentials Secret, a Job TTL,
/// a default runtime class, both injection flags on and a role-specific resource default.
fn full_operator_config() -> OperatorConfig {
    operator_config(&[
        ("KAFKA_BOOTSTRAP_SERVERS", "kafka.example.com:9096"),
        ("KAFKA_SECURITY_ENABLED", "true"),
        ("KAFKA_SECURITY_PROTOCOL_CONFIG", "SASL_SSL"),
        ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
        ("KAFKA_CREDENTIALS_SECRET", "kafka-load-user"),
        ("JOB_TTL_SECONDS_AFTER_FINISHED", "3600"),
        ("DEFAULT_RUNTIME_CLASS_NAME", "gvisor"),
        ("ENABLE_AFFINITY_CR_INJECTION", "true"),
        ("ENABLE_TAINT_TOLERATIONS_CR_INJECTION", "true"),
        ("WORKER_POD_MEM_LIMIT", "2Gi"),
    ])
}

fn build(yaml: &str, config: &OperatorConfig) -> Built {
    let built = children(&validated(yaml), config).expect("the test builds");
    Built {
        service: built.service,
        master_job: built.master_job,
        worker_job: built.worker_job,
    }
}

#[test]
fn minimal_test_with_default_operator_config() {
    insta::assert_yaml_snapshot!(build(MINIMAL, &OperatorConfig::default()));
}

/// The test's runtime class and resources win over the operator's default and role default.
#[test]
fn complete_test_with_full_operator_config() {
    insta::assert_yaml_snapshot!(build(COMPLETE, &full_operator_config()));
}

/// The same operator settings on a test that sets none of them: the runtime class default and the
/// role-specific memory limit show.
#[test]
fn minimal_test_with_full_operator_config() {
    insta::assert_yaml_snapshot!(build(MINIMAL, &full_operator_config()));
}
