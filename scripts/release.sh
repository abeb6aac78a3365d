#!/usr/bin/env bash
# Builds and packs what a release publishes, into target/dist/ (the release workflow,
# .github/workflows/release.yml, uploads exactly these files):
#
#   kubectl-locust_<os>_<arch>.tar.gz    the plugin, its completion helper kubectl_complete-locust
#                                        and LICENSE, as krew installs them
#   locust-operator_linux_<arch>.tar.gz  the operator + LICENSE (the image is built by the Dockerfile)
#   locust-operator-<version>.tgz        the Helm chart (`helm package`; pushed as an OCI artifact)
#   SHA256SUMS                           the sha256 of every archive above (`sha256sum -c SHA256SUMS`)
#   krew/locust.yaml                     the krew manifest: krew/locust.yaml with each archive's sha256
#   RELEASE_NOTES.md                     the install commands of this version, for the GitHub release
#
# Usage: scripts/release.sh [--profile PROFILE] [PLATFORM...]
#   Builds the platforms, then `finish`es target/dist. PLATFORM is linux/amd64, linux/arm64,
#   darwin/amd64 or darwin/arm64; the default is all four. --profile is cargo's (default release;
#   `--profile dev` makes a quick unoptimised dry run of the whole release). A platform is built
#   when its Rust target is installed (`rustup target add <triple>`) and a linker for it exists: the
#   Linux ones as static musl binaries where possible (on an x86-64 Linux host: `rustup target add
#   x86_64-unknown-linux-musl`, and Debian's musl-tools for ring's C code; arm64 natively on arm64,
#   or with `rustup target add aarch64-unknown-linux-gnu` and Debian's gcc-aarch64-linux-gnu), the
#   macOS ones on a Mac (either architecture builds both). The host's own platform is always built,
#   falling back to its default target (e.g. glibc) when the musl one is not installed. Platforms
#   that cannot be built here are listed as skipped, and the script fails only if none was built.
#   Windows is not a release platform: the plugin's `run --local` starts Locust in its own process
#   group (a Unix API), so kubectl-locust does not build for Windows yet.
#
# Steps on their own (the release workflow builds each platform on its own runner, then finishes
# once; tests run the packaging steps on stand-in binaries; paths absolute or relative to the
# repository root):
#   scripts/release.sh [--profile P] build PLATFORM...  builds and packs only (no checksums, chart, manifest)
#   scripts/release.sh finish DIST         checks the versions, then writes the chart package,
#                                          SHA256SUMS, krew/locust.yaml and RELEASE_NOTES.md for the
#                                          archives in DIST
#   scripts/release.sh version             prints the version (Cargo.toml's [workspace.package])
#   scripts/release.sh check-version       fails, naming each file, unless every versioned file
#                                          says the version of Cargo.toml
#   scripts/release.sh set-version X.Y.Z   writes X.Y.Z into all of them (and Cargo.lock)
#   scripts/release.sh push-chart DIST     `helm push`es DIST's chart package to the chart repository
#   scripts/release.sh pack-plugin ARCHIVE BINARY   packs BINARY as a release packs kubectl-locust
#   scripts/release.sh krew-manifest DIST  writes DIST/krew/locust.yaml for the
#                                          kubectl-locust_*.tar.gz archives in DIST
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly DIST="target/dist"
# Honoured like cargo does, so a release build can use its own directory.
readonly TARGET_DIR="${CARGO_TARGET_DIR:-target}"
# The krew manifest, complete but for each platform's sha256 (see its header).
readonly KREW_TEMPLATE="krew/locust.yaml"
readonly CHART_DIR="charts/locust-operator"
# Where the chart is pushed as an OCI artifact: `helm install ... oci://ghcr.io/locust-rs/charts/locust-operator`.
readonly CHART_REPOSITORY="oci://ghcr.io/locust-rs/charts"
readonly KREW_PLUGIN="locust"

fail() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# The one version of a release: [workspace.package] in Cargo.toml. Every other versioned file
# must say the same (check_versions; tests/tests/it/release.rs holds the same rule).
workspace_version() {
    awk '/^\[/ { section = $0 } section == "[workspace.package]" && /^version *= *"/ {
        sub(/^version *= *"/, ""); sub(/".*/, ""); print; exit }' Cargo.toml
}
version="$(workspace_version)"
[[ -n "$version" ]] || fail "no version in Cargo.toml's [workspace.package]"

# The value of the top-level KEY: in a YAML file, without quotes.
yaml_top_level() {
    sed -n "s/^$1: *//p" "$2" | head -n 1 | tr -d '"'"'"
}

# Every place that carries the version, each compared with Cargo.toml's; fails naming each one
# that differs.
check_versions() {
    local problems=() manifest line tag
    # The crates: each takes the workspace's version or states the same one.
    while IFS= read -r manifest; do
        line="$(grep -E '^version(\.workspace)? *=' "$manifest" | head -n 1 || true)"
        case "$line" in
            "version.workspace = true" | "version = \"$version\"") ;;
            *) problems+=("$manifest: ${line:-no version} (use version.workspace = true)") ;;
        esac
    done < <(workspace_members)
    [[ "$(yaml_top_level version "$CHART_DIR/Chart.yaml")" == "$version" ]] ||
        problems+=("$CHART_DIR/Chart.yaml: version $(yaml_top_level version "$CHART_DIR/Chart.yaml")")
    [[ "$(yaml_top_level appVersion "$CHART_DIR/Chart.yaml")" == "$version" ]] ||
        problems+=("$CHART_DIR/Chart.yaml: appVersion $(yaml_top_level appVersion "$CHART_DIR/Chart.yaml") (the image tag the chart uses by default)")
    # image.tag "" means the chart's appVersion; any other default would pin another version.
    tag="$(awk '/^image:/ { in_image = 1; next } /^[^ #]/ { in_image = 0 }
        in_image && /^  tag:/ { sub(/^  tag: */, ""); gsub(/"/, ""); print; exit }' "$CHART_DIR/values.yaml")"
    [[ -z "$tag" || "$tag" == "$version" ]] ||
        problems+=("$CHART_DIR/values.yaml: image.tag $tag (leave it \"\" for the appVersion)")
    [[ "$(sed -n 's/^  version: //p' "$KREW_TEMPLATE")" == "v$version" ]] ||
        problems+=("$KREW_TEMPLATE: version $(sed -n 's/^  version: //p' "$KREW_TEMPLATE")")
    if grep -E '^ *uri: ' "$KREW_TEMPLATE" | grep -qv "/releases/download/v$version/"; then
        problems+=("$KREW_TEMPLATE: a uri not on the release v$version")
    fi
    # The install commands of the README and of the krew caveats install this version.
    local stale
    stale="$(grep -Ho -e 'charts/locust-operator --version [^ ]*' -e '/releases/download/v[^/]*/' README.md "$KREW_TEMPLATE" |
        grep -v -e "--version $version\$" -e "/download/v$version/\$" || true)"
    [[ -z "$stale" ]] || problems+=("another version in: $(tr '\n' ' ' <<<"$stale")")
    if ((${#problems[@]})); then
        printf 'error: Cargo.toml says version %s, but:\n' "$version" >&2
        printf '  %s\n' "${problems[@]}" >&2
        printf 'Run "scripts/release.sh set-version X.Y.Z" to set one version everywhere.\n' >&2
        exit 1
    fi
}

# The Cargo.toml of each workspace member (the `members` list of the root Cargo.toml).
workspace_members() {
    # members = ["a", "b/c", ...] on one line: each quoted path.
    sed -n '/^members *=/p' Cargo.toml | grep -o '"[^"]*"' | tr -d '"' | sed 's#$#/Cargo.toml#'
}

# Writes NEW as the version of every versioned file (and of the workspace crates in Cargo.lock).
set_version() {
    local new="$1" old="$version"
    [[ "$new" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || fail "$new is not a version X.Y.Z"
    awk -v new="$new" '/^\[/ { section = $0 }
        section == "[workspace.package]" && /^version *= *"/ && !done { $0 = "version = \"" new "\""; done = 1 }
        { print }' Cargo.toml >Cargo.toml.new && mv Cargo.toml.new Cargo.toml
    sed -e "s/^version: .*/version: $new/" -e "s/^appVersion: .*/appVersion: \"$new\"/" \
        "$CHART_DIR/Chart.yaml" >"$CHART_DIR/Chart.yaml.new" && mv "$CHART_DIR/Chart.yaml.new" "$CHART_DIR/Chart.yaml"
    sed -e "s/^  version: v.*/  version: v$new/" -e "s#/releases/download/v[^/]*/#/releases/download/v$new/#" \
        -e "s#--version $old #--version $new #" \
        "$KREW_TEMPLATE" >"$KREW_TEMPLATE.new" && mv "$KREW_TEMPLATE.new" "$KREW_TEMPLATE"
    # The README's install commands name the version they install.
    sed -e "s#\(locust-operator --version \)$old#\1$new#g" -e "s#/releases/download/v$old/#/releases/download/v$new/#g" \
        README.md >README.md.new && mv README.md.new README.md
    version="$new"
    if [[ -f Cargo.lock ]] && command -v cargo >/dev/null; then
        cargo update --workspace --offline --quiet || fail "cargo update --workspace failed: Cargo.lock still has $old"
    fi
    check_versions
    printf 'version %s -> %s in Cargo.toml, Cargo.lock, %s/Chart.yaml, %s and README.md\n' "$old" "$new" "$CHART_DIR" "$KREW_TEMPLATE"
}

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

# Writes DIST/SHA256SUMS: the sha256 of every archive in DIST, in `sha256sum` format, by name.
write_checksums() {
    local dist="$1" archive names=()
    for archive in "$dist"/*.tar.gz "$dist"/*.tgz "$dist"/*.zip; do
        [[ -e "$archive" ]] && names+=("$(basename "$archive")")
    done
    ((${#names[@]})) || fail "no archives in $dist to checksum"
    (cd "$dist" && for archive in "${names[@]}"; do printf '%s  %s\n' "$(sha256 "$archive")" "$archive"; done) |
        LC_ALL=C sort -k 2 >"$dist/SHA256SUMS"
}

# helm, from PATH or where scripts/test.sh unpacks it.
helm_command() {
    if command -v helm >/dev/null; then
        command -v helm
    elif [[ -x target/tools/bin/helm ]]; then
        echo target/tools/bin/helm
    else
        fail "helm not found: install helm 3.8 or newer (or run scripts/test.sh once, which unpacks it into target/tools/bin)"
    fi
}

# DIST/locust-operator-<version>.tgz, the chart as `helm install` and `helm push` take it.
package_chart() {
    local dist="$1" helm
    helm="$(helm_command)"
    "$helm" package "$CHART_DIR" --destination "$dist" >/dev/null
    [[ -f "$dist/locust-operator-$version.tgz" ]] || fail "helm package wrote no $dist/locust-operator-$version.tgz"
}

# DIST/RELEASE_NOTES.md: how to install this version, prepended to GitHub's generated notes.
write_release_notes() {
    local dist="$1" image
    image="$(awk '/^image:/ { in_image = 1; next } in_image && /^  repository:/ { print $2; exit }' "$CHART_DIR/values.yaml")"
    cat >"$dist/RELEASE_NOTES.md" <<EOF
## Install

The operator (image \`$image:$version\`, linux/amd64 and linux/arm64, with SBOM and provenance
attestations), its CRD and RBAC, from the chart published as an OCI artifact:

\`\`\`sh
helm install locust-operator $CHART_REPOSITORY/locust-operator --version $version --namespace locust-system --create-namespace
\`\`\`

The \`kubectl locust\` plugin, with [krew](https://krew.sigs.k8s.io) (once the krew-index update for
v$version is merged), or from the archives below (\`kubectl-locust_<os>_<arch>.tar.gz\`):

\`\`\`sh
kubectl krew install $KREW_PLUGIN
\`\`\`

Verify a download with \`sha256sum -c SHA256SUMS --ignore-missing\`.
EOF
}

# Everything of a release after the builds, for the archives in DIST.
finish() {
    local dist="$1"
    [[ -d "$dist" ]] || fail "$dist is not a directory"
    check_versions
    rm -f "$dist"/locust-operator-*.tgz
    package_chart "$dist"
    write_checksums "$dist"
    write_krew_manifest "$dist"
    write_release_notes "$dist"
    printf '\nRelease %s in %s/:\n' "$version" "$dist"
    cat "$dist/SHA256SUMS"
    printf '%s\n' "krew/locust.yaml" "RELEASE_NOTES.md"
}

profile=release
if [[ "${1:-}" == --profile ]]; then
    (($# >= 2)) || fail "usage: scripts/release.sh --profile PROFILE [PLATFORM...]"
    profile="$2"
    shift 2
fi
# cargo's output directory for the profile.
case "$profile" in
    dev) profile_dir=debug ;;
    *) profile_dir="$profile" ;;
esac

mode=all
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
    finish)
        (($# == 2)) || fail "usage: scripts/release.sh finish DIST"
        finish "$2"
        exit 0
        ;;
    version)
        printf '%s\n' "$version"
        exit 0
        ;;
    check-version)
        check_versions
        printf 'version %s everywhere\n' "$version"
        exit 0
        ;;
    set-version)
        (($# == 2)) || fail "usage: scripts/release.sh set-version X.Y.Z"
        set_version "$2"
        exit 0
        ;;
    push-chart)
        (($# == 2)) || fail "usage: scripts/release.sh push-chart DIST"
        [[ -f "$2/locust-operator-$version.tgz" ]] || fail "no $2/locust-operator-$version.tgz: run scripts/release.sh finish $2 first"
        "$(helm_command)" push "$2/locust-operator-$version.tgz" "$CHART_REPOSITORY"
        exit 0
        ;;
    build)
        mode=build
        shift
        ;;
    -*) fail "unknown option $1 (see the usage at the top of scripts/release.sh)" ;;
esac

check_versions

host="$(rustc -vV | sed -n 's/^host: //p')"
installed_targets="$(rustup target list --installed 2>/dev/null || echo "$host")"

platforms=("$@")
((${#platforms[@]})) || platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64)

rm -rf "$DIST"
mkdir -p "$DIST"
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
    printf '\n==> %s (%s, profile %s)\n' "$platform" "$triple" "$profile"
    cross=()
    if [[ "$triple" == aarch64-unknown-linux-gnu && "$host" != aarch64-* ]]; then
        # Debian's gcc-aarch64-linux-gnu, for linking and for ring's C code.
        cross=(CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc)
    elif [[ "$triple" == *-linux-musl ]] && command -v musl-gcc >/dev/null; then
        # ring's C code against musl's headers (Debian's musl-tools); cc would pick an
        # <arch>-linux-musl-gcc that Debian does not ship.
        cross=("CC_${triple//-/_}=musl-gcc")
    fi
    # ${cross[@]+...}: an empty array is "unbound" to the bash 3.2 of macOS.
    env ${cross[@]+"${cross[@]}"} cargo build --profile "$profile" --locked --target "$triple" "${packages[@]}"
    pack_plugin "$DIST/kubectl-locust_${os}_${arch}.tar.gz" "$TARGET_DIR/$triple/$profile_dir/kubectl-locust"
    if [[ "$os" == linux ]]; then
        pack "$DIST/locust-operator_${os}_${arch}.tar.gz" "$TARGET_DIR/$triple/$profile_dir/operator"
    fi
    built+=("$platform")
done

((${#built[@]})) || fail "no platform could be built here: ${skipped[*]}"

if [[ "$mode" == all ]]; then
    # The krew manifest lists the platforms built now; a full release has all four.
    finish "$DIST"
else
    printf '\nBuilt %s into %s/:\n' "${built[*]}" "$DIST"
    ls "$DIST"
fi
if ((${#skipped[@]})); then
    printf '\nSkipped:\n'
    printf '  %s\n' "${skipped[@]}"
fi
