#!/usr/bin/env bash
# Builds the release binaries of the operator and the kubectl-locust plugin and packs them:
#
#   target/dist/kubectl-locust_<os>_<arch>.tar.gz   the plugin, its completion helper
#                                                   kubectl_complete-locust and LICENSE, as krew installs them
#   target/dist/locust-operator_linux_<arch>.tar.gz the operator + LICENSE (the image is built by the Dockerfile)
#   target/dist/SHA256SUMS and target/dist/krew/locust.yaml (the krew manifest: krew/locust.yaml with
#                                                   each archive's sha256 filled in)
#
# Usage: scripts/release.sh [PLATFORM...]   PLATFORM is linux/amd64, linux/arm64, darwin/amd64 or
# darwin/arm64; the default is all four. A platform is built when its Rust target is installed
# (`rustup target add <triple>`) and a linker for it exists: the Linux ones as static musl
# binaries where possible (on an x86-64 Linux host: `rustup target add x86_64-unknown-linux-musl`;
# arm64 with `rustup target add aarch64-unknown-linux-gnu` and Debian's gcc-aarch64-linux-gnu, or
# natively on arm64), the macOS ones on a Mac. The host's own platform is always built, falling back
# to its default target (e.g. glibc) when the musl one is not installed. Platforms that cannot be
# built here are listed as skipped, and the script fails only if none was built.
#
# The packaging steps alone, without building (tests use them; paths absolute or relative to the
# repository root):
#   scripts/release.sh pack-plugin ARCHIVE BINARY   packs BINARY as a release packs kubectl-locust
#   scripts/release.sh krew-manifest DIST           writes DIST/krew/locust.yaml for the
#                                                   kubectl-locust_*.tar.gz archives in DIST
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly DIST="target/dist"
# Honoured like cargo does, so a release build can use its own directory.
readonly TARGET_DIR="${CARGO_TARGET_DIR:-target}"
# The krew manifest, complete but for each platform's sha256 (see its header).
readonly KREW_TEMPLATE="krew/locust.yaml"

fail() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
[[ -n "$version" ]] || fail "no version in Cargo.toml's [workspace.package]"

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

# Packs the executables FILE... and LICENSE into ARCHIVE, side by side at its top, with fixed
# owners, modes and times, so rebuilds compare equal.
pack() {
    local archive="$1" staging file name
    shift
    staging="$(mktemp -d)"
    local names=()
    for file in "$@"; do
        name="$(basename "$file")"
        cp "$file" "$staging/$name"
        chmod 0755 "$staging/$name"
        names+=("$name")
    done
    cp LICENSE "$staging/LICENSE"
    chmod 0644 "$staging/LICENSE"
    names+=(LICENSE)
    if tar --version 2>/dev/null | grep -q 'GNU tar'; then
        tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -czf "$archive" -C "$staging" "${names[@]}"
    else
        tar -czf "$archive" -C "$staging" "${names[@]}"
    fi
    rm -rf "$staging"
}

# The plugin's archive from its BINARY: what krew/locust.yaml's `files` copy out of it.
pack_plugin() {
    [[ "$(basename "$2")" == kubectl-locust ]] ||
        fail "the plugin binary must be named kubectl-locust (the manifest's bin), not $(basename "$2")"
    pack "$1" "$2" kubectl-locust/kubectl_complete-locust
}

# Writes DIST/krew/locust.yaml: the template krew/locust.yaml with the sha256 of each
# kubectl-locust_<os>_<arch>.tar.gz in DIST, keeping only the platforms whose archive is there.
write_krew_manifest() {
    local dist="$1" template_version sums="" archive
    template_version="$(sed -n 's/^  version: //p' "$KREW_TEMPLATE")"
    [[ "$template_version" == "v$version" ]] ||
        fail "$KREW_TEMPLATE is for version $template_version but Cargo.toml says $version: update its version and uris"
    for archive in "$dist"/kubectl-locust_*.tar.gz; do
        [[ -e "$archive" ]] || continue
        sums+="$(basename "$archive") $(sha256 "$archive")"$'\n'
    done
    [[ -n "$sums" ]] || fail "no kubectl-locust_*.tar.gz in $dist for the krew manifest"
    mkdir -p "$dist/krew"
    # Each platform is the block from its `- selector:` line to the next (platforms come last).
    SUMS="$sums" awk -v version="v$version" '
        function flush(i, line) {
            if (in_block && (archive in sum)) {
                for (i = 1; i <= size; i++) {
                    line = block[i]
                    if (line ~ /^ *sha256: /) sub(/sha256: .*/, "sha256: \"" sum[archive] "\"", line)
                    print line
                }
            }
            size = 0; archive = ""; in_block = 0
        }
        BEGIN {
            count = split(ENVIRON["SUMS"], lines, "\n")
            for (i = 1; i <= count; i++) if (split(lines[i], field, " ") == 2) sum[field[1]] = field[2]
            print "# Generated by scripts/release.sh from krew/locust.yaml for " version "."
        }
        /^#/ { next }
        /^    - selector:/ { flush(); in_block = 1 }
        in_block {
            block[++size] = $0
            if ($1 == "uri:") { archive = $2; sub(/.*\//, "", archive) }
            next
        }
        { print }
        END { flush() }
    ' "$KREW_TEMPLATE" >"$dist/krew/locust.yaml"
}

case "${1:-}" in
    pack-plugin)
        (($# == 3)) || fail "usage: scripts/release.sh pack-plugin ARCHIVE BINARY"
        pack_plugin "$2" "$3"
        exit 0
        ;;
    krew-manifest)
        (($# == 2)) || fail "usage: scripts/release.sh krew-manifest DIST"
        write_krew_manifest "$2"
        exit 0
        ;;
esac

host="$(rustc -vV | sed -n 's/^host: //p')"
installed_targets="$(rustup target list --installed 2>/dev/null || echo "$host")"

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
    pack_plugin "$DIST/kubectl-locust_${os}_${arch}.tar.gz" "$TARGET_DIR/$triple/release/kubectl-locust"
    [[ "$os" == linux ]] && pack "$DIST/locust-operator_${os}_${arch}.tar.gz" "$TARGET_DIR/$triple/release/operator"
    built+=("$platform")
done

((${#built[@]})) || fail "no platform could be built here: ${skipped[*]}"

(cd "$DIST" && for archive in *.tar.gz; do printf '%s  %s\n' "$(sha256 "$archive")" "$archive"; done) >"$DIST/SHA256SUMS"

# The krew manifest for the platforms built now; a full release needs all four.
write_krew_manifest "$DIST"

printf '\nBuilt %s into %s/:\n' "${built[*]}" "$DIST"
cat "$DIST/SHA256SUMS"
if ((${#skipped[@]})); then
    printf '\nSkipped:\n'
    printf '  %s\n' "${skipped[@]}"
fi
