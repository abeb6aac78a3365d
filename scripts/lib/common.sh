# shellcheck shell=bash
# Shell functions shared by scripts/test.sh and scripts/demo.sh: messages, and finding or
# installing the Rust tools and Locust. Source it from the repository root.

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
