#!/usr/bin/env bash
# The quickstart on a cluster (kind on a laptop is fine): installs the LocustTest CRD on the
# cluster your kubeconfig names, runs the operator from this checkout as a local process (out of
# cluster, stopped when the script ends), and runs a first distributed test — 1 master, 2 workers,
# 10 users for 1 minute against the master's own web UI — watched live with
# `kubectl locust run --wait`. The test stays in the cluster afterwards for `kubectl locust status`.
# Extra arguments go to `kubectl locust run` (e.g. --tui instead of the progress line).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh

readonly NO_CLUSTER_HINT="Create one (e.g. \`kind create cluster\`) and run again, or run the same test on this machine without a cluster: bash scripts/demo.sh"
readonly LOG_DIR="target/quickstart"

main() {
    command -v kubectl >/dev/null || fail "kubectl not found: install it (https://kubernetes.io/docs/tasks/tools/). $NO_CLUSTER_HINT"
    local context
    context="$(kubectl config current-context 2>/dev/null || true)"
    if ! kubectl version --request-timeout=10s >/dev/null 2>&1; then
        fail "no reachable cluster (kubeconfig context: ${context:-none}). $NO_CLUSTER_HINT"
    fi
    command -v cargo >/dev/null || fail "cargo not found: install Rust with rustup (https://rustup.rs)"

    step "Building the operator and kubectl-locust (cargo build --release)"
    cargo build --quiet --release -p operator -p kubectl-locust
    local bin="${CARGO_TARGET_DIR:-target}/release"

    step "Installing the LocustTest CRD on context ${context}"
    kubectl apply --server-side --force-conflicts -f charts/locust-operator/files/locusttests.locust.io.yaml
    # Not `kubectl wait --for=condition=Established`: it fails on a CRD without conditions yet.
    wait_for_crd_established locusttests.locust.io 60

    step "Starting the operator out of cluster (log: $LOG_DIR/operator.log)"
    mkdir -p "$LOG_DIR"
    # Out of the cluster the operator reads each master's statistics through the API server proxy.
    "$bin/operator" --health-probe-bind-address 127.0.0.1:0 --stats-access api-proxy \
        >"$LOG_DIR/operator.log" 2>&1 &
    operator_pid=$!
    trap 'kill "$operator_pid" 2>/dev/null || true' EXIT
    # Ready once its watch of LocustTests has listed: /readyz, on the port it logs, answers 200.
    wait_for_operator_ready "$operator_pid" "$LOG_DIR/operator.log" 60

    # A second run starts afresh (the plugin's ConfigMaps go with the test).
    kubectl delete locusttest quickstart --ignore-not-found --wait=true >/dev/null

    step "kubectl locust run quickstart --wait (1 master + 2 workers, 1 minute)"
    "$bin/kubectl-locust" run quickstart \
        --locustfile examples/quickstart/locustfile.py \
        --host http://quickstart-master:8089 \
        --workers 2 --users 10 --spawn-rate 5 --run-time 1m --autoquit 5 \
        --wait --timeout 10m "$@" || outcome=$?

    step "kubectl locust status quickstart"
    "$bin/kubectl-locust" status quickstart
    echo
    echo "The test stays in the cluster: kubectl get lotest, kubectl locust logs quickstart,"
    echo "kubectl delete lotest quickstart. The operator stops with this script; to keep one"
    echo "running in the cluster, install the Helm chart (README, \"Install with Helm\")."
    # The plugin's exit code: 0 Succeeded, 3 Failed, 4 timed out.
    return "${outcome:-0}"
}

main "$@"
