#!/usr/bin/env bash
# The main job on any machine, no cluster needed: builds `kubectl-locust` and runs the example
# load test with `kubectl locust run --local` — one Locust master and two workers on 127.0.0.1,
# started with exactly the command lines the operator gives its pods — against a small local shop
# API (examples/local/target.py) that this script starts and stops. Installs Locust with pip when
# it is missing. Extra arguments go to `kubectl locust run` (e.g. --tui, --workers 4).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh

main() {
    command -v cargo >/dev/null || fail "cargo not found: install Rust with rustup (https://rustup.rs)"
    ensure_locust

    step "Building kubectl-locust"
    cargo build --quiet -p kubectl-locust
    local plugin="${CARGO_TARGET_DIR:-target}/debug/kubectl-locust"

    step "Starting the demo target (examples/local/target.py)"
    # Globals, not locals: the EXIT trap runs after main has returned.
    port_file="$(mktemp)"
    local port=""
    python3 examples/local/target.py >"$port_file" &
    target_pid=$!
    trap 'kill "$target_pid" 2>/dev/null || true; rm -f "$port_file"' EXIT
    for _ in $(seq 50); do
        port="$(head -n 1 "$port_file")"
        [[ -n "$port" ]] && break
        sleep 0.1
    done
    [[ -n "$port" ]] || fail "the demo target did not start"
    echo "shop API on http://127.0.0.1:$port"

    step "kubectl locust run demo --local (master + 2 workers)"
    "$plugin" run demo --local \
        --locustfile examples/local/locustfile.py \
        --workers 2 --users 20 --spawn-rate 10 --run-time 20s --autoquit 2 \
        --host "http://127.0.0.1:$port" --timeout 3m "$@"
}

main "$@"
