# shellcheck shell=bash
# Shell functions shared by scripts/test.sh, scripts/demo.sh and scripts/quickstart.sh: messages,
# finding or installing the Rust tools and Locust, and bounded waits for the CRD and the operator.
# Source it from the repository root.

# Where a Locust installed by this script lives when the system Python refuses pip installs.
readonly LOCUST_VENV="target/locust-venv"
readonly LOCUST_REQUIREMENT='locust>=2.20,<3'

step() {
    printf '\n==> %s\n' "$*"
}

fail() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

ensure_rust_tools() {
    command -v cargo >/dev/null || fail "cargo not found: install Rust with rustup (https://rustup.rs)"
    local missing=()
    cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
    if ((${#missing[@]})); then
        command -v rustup >/dev/null || fail "${missing[*]} missing and rustup not found to add them"
        step "Adding Rust components: ${missing[*]}"
        rustup component add "${missing[@]}"
    fi
}

# Puts every directory pip may install the `locust` script into on PATH, so an earlier install is found.
add_python_script_dirs_to_path() {
    local dir
    for dir in \
        "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)" \
        "$(python3 -m site --user-base 2>/dev/null || true)/bin" \
        "$PWD/$LOCUST_VENV/bin"; do
        if [[ -d "$dir" && ":$PATH:" != *":$dir:"* ]]; then
            PATH="$dir:$PATH"
        fi
    done
    export PATH
}

ensure_locust() {
    command -v python3 >/dev/null || fail "python3 not found: install Python 3 with pip, then run again"
    add_python_script_dirs_to_path
    if locust --version >/dev/null 2>&1; then
        return
    fi
    step "Installing Locust ($LOCUST_REQUIREMENT)"
    local pip_log
    pip_log="$(mktemp)"
    # A system Python that is "externally managed" (Debian 12+) refuses this; a venv then works.
    if ! python3 -m pip install --quiet "$LOCUST_REQUIREMENT" >"$pip_log" 2>&1; then
        if ! { python3 -m venv "$LOCUST_VENV" && "$LOCUST_VENV/bin/python" -m pip install --quiet "$LOCUST_REQUIREMENT"; } >>"$pip_log" 2>&1; then
            cat "$pip_log" >&2
            rm -f "$pip_log"
            fail "could not install Locust: run \`pip install '$LOCUST_REQUIREMENT'\` (or install python3-venv) and try again"
        fi
    fi
    rm -f "$pip_log"
    if command -v pyenv >/dev/null; then pyenv rehash; fi
    add_python_script_dirs_to_path
    locust --version >/dev/null 2>&1 || fail "Locust was installed but \`locust\` is not on PATH ($PATH)"
}

# Waits until the CustomResourceDefinition NAME is Established (its API is served), reading its
# Established condition every second for up to TIMEOUT_SECONDS; further arguments go to kubectl
# (e.g. --context NAME). `kubectl wait --for=condition=Established` cannot be used right after
# `kubectl apply`: kubectl 1.36 fails at once on a CRD that has no status.conditions yet. Here a
# CRD not found yet, or without status or conditions, just means "not yet". On timeout it fails
# saying what it saw last.
wait_for_crd_established() {
    local name="$1" timeout="$2"
    shift 2
    # SECONDS counts whole seconds and can tick right after the start: +1 waits at least TIMEOUT.
    local deadline=$((SECONDS + timeout + 1)) output errors seen="nothing yet"
    errors="$(mktemp)"
    while :; do
        if output="$(kubectl --request-timeout=5s "$@" get crd "$name" \
            -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>"$errors")"; then
            if [[ "$output" == "True" ]]; then
                rm -f "$errors"
                printf 'customresourcedefinition/%s is Established\n' "$name"
                return 0
            fi
            if [[ -z "$output" ]]; then
                seen="the CRD has no Established condition yet"
            else
                seen="Established=$output"
            fi
        elif grep -q -e NotFound -e 'not found' "$errors"; then
            seen="the CRD does not exist"
        else
            seen="kubectl failed: $(tr '\n' ' ' <"$errors")"
        fi
        if ((SECONDS >= deadline)); then
            rm -f "$errors"
            fail "customresourcedefinition/$name is not Established after ${timeout}s (last seen: $seen)"
        fi
        sleep 1
    done
}

# The address in the operator's "serving /healthz, /readyz and /metrics addr=HOST:PORT" log line
# (text format, coloured or not, or JSON) in file LOG; nothing while it has not logged it.
operator_probe_address() {
    local log="$1"
    [[ -f "$log" ]] || return 0
    # $'\e': the escape character itself, so BSD sed (macOS) strips the colour codes too.
    # `|| true`: no such line yet is no error, also under `set -o pipefail`.
    sed -e $'s/\e\\[[0-9;]*m//g' "$log" |
        grep -F 'serving /healthz, /readyz and /metrics' |
        sed -n -E -e 's/.* addr=([^ ]+).*/\1/p' -e 's/.*"addr":"([^"]+)".*/\1/p' |
        head -n 1 || true
}

# The HTTP status code of GET http://ADDRESS PATH (e.g. 127.0.0.1:8081 /readyz), "000" when
# nothing answers: with curl when there is one, else through bash's /dev/tcp.
http_status() {
    local address="$1" path="$2"
    if command -v curl >/dev/null 2>&1; then
        curl --silent --noproxy '*' --max-time 2 --output /dev/null --write-out '%{http_code}' \
            "http://$address$path" || true
        return 0
    fi
    local host="${address%:*}" port="${address##*:}"
    host="${host#[}"
    host="${host%]}"
    (
        exec 3<>"/dev/tcp/$host/$port" || exit 1
        printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$address" >&3
        local _protocol code
        read -r -t 2 _protocol code _ <&3 || exit 1
        printf '%s' "$code"
    ) 2>/dev/null || printf '000'
}

# Waits until the operator process PID, which logs to LOG, has logged where its probes listen
# and GET /readyz there answers 200 (it does once the operator's watch of LocustTests has
# listed), checking twice a second for up to TIMEOUT_SECONDS. Fails with the end of LOG when the
# process exits first or the time runs out.
wait_for_operator_ready() {
    local pid="$1" log="$2" timeout="$3"
    # SECONDS counts whole seconds and can tick right after the start: +1 waits at least TIMEOUT.
    local deadline=$((SECONDS + timeout + 1)) address="" status=""
    while :; do
        [[ -n "$address" ]] || address="$(operator_probe_address "$log")"
        if [[ -n "$address" ]]; then
            status="$(http_status "$address" /readyz)"
            if [[ "$status" == 200 ]]; then
                printf 'operator ready: GET http://%s/readyz answered 200\n' "$address"
                return 0
            fi
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            fail "the operator stopped before it was ready; the end of $log:"$'\n'"$(tail -n 20 "$log" 2>/dev/null)"
        fi
        if ((SECONDS >= deadline)); then
            local seen="it has not logged where /readyz listens"
            if [[ "$status" == 000 ]]; then
                seen="nothing answered on http://$address/readyz"
            elif [[ -n "$status" ]]; then
                seen="GET http://$address/readyz answered $status"
            fi
            fail "the operator is not ready after ${timeout}s ($seen); the end of $log:"$'\n'"$(tail -n 20 "$log" 2>/dev/null)"
        fi
        sleep 0.5
    done
}
