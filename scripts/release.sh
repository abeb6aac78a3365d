#!/usr/bin/env bash
# Builds the release binaries of the operator and the kubectl-locust plugin and packs them:
#
#   target/dist/kubectl-locust_<os>_<arch>.tar.gz   the plugin + LICENSE, as krew installs it
#   target/dist/locust-operator_linux_<arch>.tar.gz the operator + LICENSE (the image is built by the Dockerfile)
#   target/dist/SHA256SUMS and target/dist/krew/locust.yaml (a krew manifest with each archive's sha256)
#
# Usage: scripts/release.sh [PLATFORM...]   PLATFORM is linux/amd64, linux/arm64, darwin/amd64 or
# darwin/arm64; the default is all four. A platform is built when its Rust target is installed
# (`rustup target add <triple>`) and a linker for it exists: the Linux ones as static musl
# binaries where possible (on an x86-64 Linux host: `rustup target add x86_64-unknown-linux-musl`;
# arm64 with `rustup target add aarch64-unknown-linux-gnu` and Debian's gcc-aarch64-linux-gnu, or
# natively on arm64), the macOS ones on a Mac. The host's own platform is always built, falling back
# to its default target (e.g. glibc) when the musl one is not installed. Platforms that cannot be
# built here are listed as skipped, and the script fails only if none was built.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly DIST="target/dist"
# Honoured like cargo does, so a release build can use its own directory.
readonly TARGET_DIR="${CARGO_TARGET_DIR:-target}"
readonly REPOSITORY="https://github.com/locust-rs/locust-operator"

fail() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
[[ -n "$version" ]] || fail "no version in Cargo.toml's [workspace.package]"
host="$(rustc -vV | sed -n 's/^host: //p')"
installed_targets="$(rustup target list --installed 2>/dev/null || echo "$host")"

# The Rust target for a krew platform, preferring static binaries.
triple_for() {
    case "$1" in
        linux/amd64) echo "x86_64-unknown-linux-musl x86_64-unknown-linux-gnu" ;;
        linux/arm64) echo "aarch64-unknown-linux-musl aarch64-unknown-linux-gnu" ;;
        darwin/amd64) echo "x86_64-apple-darwin" ;;
        darwin/arm64) echo "aarch64-apple-darwin" ;;
        *) fail "unknown platform $1 (use linux/amd64, linux/arm64, darwin/amd64 or darwin/arm64)" ;;
    esac
}

# A target is usable when it is installed and either is the host's or has a cross linker here.
usable() {
    local triple="$1"
    grep -qx "$triple" <<<"$installed_targets" || return 1
    [[ "$triple" == "$host" ]] && return 0
    case "$triple" in
        x86_64-unknown-linux-musl) [[ "$host" == x86_64-unknown-linux-* ]] ;;
        aarch64-unknown-linux-musl) [[ "$host" == aarch64-unknown-linux-* ]] ;;
        aarch64-unknown-linux-gnu) command -v aarch64-linux-gnu-gcc >/dev/null ;;
        *-apple-darwin) [[ "$host" == *-apple-darwin ]] ;;
        *) return 1 ;;
    esac
}

sha256() {
    if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# Packs FILE and LICENSE into ARCHIVE with fixed owners and times, so rebuilds compare equal.
pack() {
    local archive="$1" file="$2" staging
    staging="$(mktemp -d)"
    cp "$file" LICENSE "$staging/"
    local name
    name="$(basename "$file")"
    if tar --version 2>/dev/null | grep -q 'GNU tar'; then
        tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -czf "$archive" -C "$staging" "$name" LICENSE
    else
        tar -czf "$archive" -C "$staging" "$name" LICENSE
    fi
    rm -rf "$staging"
}

platforms=("$@")
((${#platforms[@]})) || platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64)

rm -rf "$DIST"
mkdir -p "$DIST/krew"
built=()
skipped=()
for platform in "${platforms[@]}"; do
    triple=""
    for candidate in $(triple_for "$platform"); do
        if usable "$candidate"; then
            triple="$candidate"
            break
        fi
    done
    if [[ -z "$triple" ]]; then
        skipped+=("$platform (needs: rustup target add $(triple_for "$platform" | cut -d' ' -f1), and its linker)")
        continue
    fi
    os="${platform%/*}"
    arch="${platform#*/}"
    packages=(--package kubectl-locust)
    [[ "$os" == linux ]] && packages+=(--package operator)
    printf '\n==> %s (%s)\n' "$platform" "$triple"
    cross=()
    if [[ "$triple" == aarch64-unknown-linux-gnu && "$host" != aarch64-* ]]; then
        # Debian's gcc-aarch64-linux-gnu, for linking and for ring's C code.
        cross=(CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc)
    fi
    env "${cross[@]}" cargo build --release --locked --target "$triple" "${packages[@]}"
    pack "$DIST/kubectl-locust_${os}_${arch}.tar.gz" "$TARGET_DIR/$triple/release/kubectl-locust"
    [[ "$os" == linux ]] && pack "$DIST/locust-operator_${os}_${arch}.tar.gz" "$TARGET_DIR/$triple/release/operator"
    built+=("$platform")
done

((${#built[@]})) || fail "no platform could be built here: ${skipped[*]}"

(cd "$DIST" && for archive in *.tar.gz; do printf '%s  %s\n' "$(sha256 "$archive")" "$archive"; done) >"$DIST/SHA256SUMS"

# The krew manifest for the platforms built now; a full release needs all four.
{
    cat <<YAML
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: locust
spec:
  version: v$version
  homepage: $REPOSITORY
  shortDescription: Run and watch distributed Locust load tests
  description: |
    Submits LocustTests to the locust-operator and shows their progress, live
    statistics and logs.
  platforms:
YAML
    for platform in "${built[@]}"; do
        os="${platform%/*}"
        arch="${platform#*/}"
        archive="kubectl-locust_${os}_${arch}.tar.gz"
        cat <<YAML
    - selector:
        matchLabels:
          os: $os
          arch: $arch
      uri: $REPOSITORY/releases/download/v$version/$archive
      sha256: $(sha256 "$DIST/$archive")
      bin: kubectl-locust
      files:
        - from: kubectl-locust
          to: .
        - from: LICENSE
          to: .
YAML
    done
} >"$DIST/krew/locust.yaml"

printf '\nBuilt %s into %s/:\n' "${built[*]}" "$DIST"
cat "$DIST/SHA256SUMS"
if ((${#skipped[@]})); then
    printf '\nSkipped:\n'
    printf '  %s\n' "${skipped[@]}"
fi
