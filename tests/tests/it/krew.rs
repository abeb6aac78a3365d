//! The krew manifest of `kubectl locust`.
//!
//! `krew/locust.yaml` is committed as a template: final in everything but each platform's sha256,
//! which is the placeholder `{{sha256 <archive>}}` because the archives of a version do not exist
//! before its release. `scripts/release.sh` packs the archives and writes
//! `target/dist/krew/locust.yaml` with their real checksums. These tests hold both files to krew's
//! own rules (krew's `ValidatePlugin` and its `validate-krew-manifest` tool, which krew-index runs
//! on every submission), to the workspace version, and to the archive layout the release script
//! produces — running the script's packaging steps on a stand-in binary, not a release build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use integration_tests::helm::workspace_root;
use integration_tests::release::{assert_success, release_script};
use serde::Deserialize;

const API_VERSION: &str = "krew.googlecontainertools.github.com/v1alpha2";
const REPOSITORY: &str = "https://github.com/locust-rs/locust-operator";
/// The platforms a release builds (scripts/release.sh's default).
const RELEASE_PLATFORMS: [(&str, &str); 4] = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];
/// What the plugin's archive holds, each file copied to the install directory.
const ARCHIVE_FILES: [&str; 3] = ["kubectl-locust", "kubectl_complete-locust", "LICENSE"];

// ---------------------------------------------------------------------------------------------
// krew's manifest types (sigs.k8s.io/krew/pkg/index), strict: krew itself ignores unknown keys, so a
// misspelt key would silently be lost.

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Plugin {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
struct Metadata {
    name: String,
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    version: String,
    homepage: Option<String>,
    short_description: String,
    description: Option<String>,
    caveats: Option<String>,
    platforms: Vec<Platform>,
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
struct Platform {
    selector: Option<Selector>,
    uri: String,
    sha256: String,
    bin: String,
    files: Option<Vec<FileOperation>>,
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Selector {
    match_labels: Option<BTreeMap<String, String>>,
    match_expressions: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
struct FileOperation {
    from: String,
    to: String,
}

// ---------------------------------------------------------------------------------------------
// krew's rules

/// The os/arch pairs krew runs on (Go's GOOS/GOARCH values krew is released for).
const KREW_OSES: [&str; 3] = ["linux", "darwin", "windows"];
const KREW_ARCHES: [&str; 6] = ["386", "amd64", "arm", "arm64", "ppc64le", "s390x"];
/// Names Windows reserves, which krew refuses as plugin names.
const WINDOWS_RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2",
    "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// How a manifest's sha256 values are judged.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Checksums {
    /// The committed template: `{{sha256 <the uri's archive>}}`.
    Placeholders,
    /// A release's manifest: 64 lowercase hex digits.
    Real,
}

/// Everything krew (and krew-index's checks) would reject in `plugin`, read from the file
/// `file_name`; empty when it is acceptable.
fn krew_violations(file_name: &str, plugin: &Plugin, checksums: Checksums) -> Vec<String> {
    let mut violations = Vec::new();
    let mut fail = |message: String| violations.push(message);

    match file_name.strip_suffix(".yaml") {
        None => fail(format!("the manifest file {file_name} must end in .yaml")),
        Some(stem) if stem != plugin.metadata.name => fail(format!(
            "metadata.name {:?} must equal the file name {stem:?}",
            plugin.metadata.name
        )),
        Some(_) => {}
    }
    let name = &plugin.metadata.name;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        fail(format!("plugin name {name:?} must match ^[\\w-]+$"));
    }
    if WINDOWS_RESERVED
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(name))
    {
        fail(format!("plugin name {name:?} is reserved on Windows"));
    }
    if plugin.api_version != API_VERSION {
        fail(format!("apiVersion must be {API_VERSION}, not {}", plugin.api_version));
    }
    if plugin.kind != "Plugin" {
        fail(format!("kind must be Plugin, not {}", plugin.kind));
    }

    let spec = &plugin.spec;
    if spec.short_description.trim().is_empty() {
        fail("shortDescription must be set".into());
    }
    if spec.short_description.contains(['\r', '\n']) {
        fail("shortDescription must be one line".into());
    }
    for (field, text, limit) in [
        ("shortDescription", Some(&spec.short_description), 70),
        ("description", spec.description.as_ref(), 80),
        ("caveats", spec.caveats.as_ref(), 80),
    ] {
        // krew-index's limit; a line of one word (a long URL) may exceed it.
        for line in text.map(|text| text.lines()).into_iter().flatten() {
            if line.chars().count() > limit && line.trim().contains(' ') {
                fail(format!("{field} has a line over {limit} characters: {line:?}"));
            }
        }
    }
    if !is_semver_with_v(&spec.version) {
        fail(format!(
            "version {:?} must be a semantic version with a leading v",
            spec.version
        ));
    }
    if let Some(homepage) = &spec.homepage
        && !homepage.starts_with("https://")
    {
        fail(format!("homepage {homepage} should be https"));
    }
    if spec.platforms.is_empty() {
        fail("at least one platform is needed".into());
    }

    for (index, platform) in spec.platforms.iter().enumerate() {
        let at = format!("platforms[{index}]");
        match &platform.selector {
            None => fail(format!("{at}: a selector is required")),
            Some(selector) => {
                let labels = selector.match_labels.clone().unwrap_or_default();
                if selector.match_labels.is_some() && labels.is_empty() {
                    fail(format!("{at}: matchLabels is specified but empty"));
                }
                if selector.match_expressions.is_some() {
                    fail(format!("{at}: use matchLabels (these tests read no matchExpressions)"));
                }
                if labels.is_empty() {
                    fail(format!("{at}: an empty selector is not supported"));
                }
                for key in labels.keys().filter(|key| *key != "os" && *key != "arch") {
                    fail(format!("{at}: selector key {key:?} is not supported (only os, arch)"));
                }
                if matched_pairs(selector).is_empty() {
                    fail(format!("{at}: the selector matches no platform krew runs on"));
                }
            }
        }
        if platform.uri.is_empty() {
            fail(format!("{at}: uri must be set"));
        }
        if !platform.uri.starts_with("https://") {
            fail(format!("{at}: uri {} must be https", platform.uri));
        }
        if !(platform.uri.ends_with(".tar.gz") || platform.uri.ends_with(".zip")) {
            fail(format!("{at}: uri {} must be a .tar.gz or .zip archive", platform.uri));
        }
        match checksums {
            Checksums::Real if !is_sha256(&platform.sha256) => fail(format!(
                "{at}: sha256 {:?} must be 64 lowercase hex digits",
                platform.sha256
            )),
            Checksums::Placeholders if platform.sha256 != placeholder(&platform.uri) => fail(format!(
                "{at}: sha256 must be the placeholder {:?} that release.sh fills, not {:?}",
                placeholder(&platform.uri),
                platform.sha256
            )),
            _ => {}
        }
        if platform.bin.is_empty() {
            fail(format!("{at}: bin must be set"));
        }
        match &platform.files {
            None => fail(format!(
                "{at}: files must list what to copy (at least the binary and LICENSE)"
            )),
            Some(files) if files.is_empty() => fail(format!("{at}: files must be unset or non-empty")),
            Some(files) => {
                for file in files {
                    if file.from.is_empty() || file.to.is_empty() {
                        fail(format!("{at}: every file needs from and to: {file:?}"));
                    }
                }
                let installed = installed_paths(files);
                if !installed.contains(platform.bin.trim_start_matches("./")) {
                    fail(format!(
                        "{at}: bin {} is not among the installed files {installed:?}",
                        platform.bin
                    ));
                }
                if !installed.iter().any(|path| path.starts_with("LICENSE")) {
                    fail(format!(
                        "{at}: the license file must be installed (krew-index requires it)"
                    ));
                }
            }
        }
    }

    for os in KREW_OSES {
        for arch in KREW_ARCHES {
            let matching: Vec<usize> = spec
                .platforms
                .iter()
                .enumerate()
                .filter(|(_, platform)| platform.selector.as_ref().is_some_and(|s| selects(s, os, arch)))
                .map(|(index, _)| index)
                .collect();
            if matching.len() > 1 {
                fail(format!("platforms {matching:?} overlap: each selects {os}/{arch}"));
            }
        }
    }
    violations
}

/// `v` + MAJOR.MINOR.PATCH, optionally `-prerelease` and `+build`, numbers without leading zeros.
fn is_semver_with_v(version: &str) -> bool {
    let Some(version) = version.strip_prefix('v') else {
        return false;
    };
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() == 3
        && numbers.iter().all(|number| {
            !number.is_empty()
                && number.chars().all(|c| c.is_ascii_digit())
                && (number.len() == 1 || !number.starts_with('0'))
        })
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

/// The archive a uri downloads (its last path segment).
fn archive_of(uri: &str) -> &str {
    uri.rsplit('/').next().unwrap_or_default()
}

/// The template's sha256 for the archive of `uri`.
fn placeholder(uri: &str) -> String {
    format!("{{{{sha256 {}}}}}", archive_of(uri))
}

fn selects(selector: &Selector, os: &str, arch: &str) -> bool {
    let labels = selector.match_labels.clone().unwrap_or_default();
    !labels.is_empty()
        && labels.iter().all(|(key, value)| match key.as_str() {
            "os" => value == os,
            "arch" => value == arch,
            _ => false,
        })
}

fn matched_pairs(selector: &Selector) -> Vec<(&'static str, &'static str)> {
    let mut pairs = Vec::new();
    for os in KREW_OSES {
        for arch in KREW_ARCHES {
            if selects(selector, os, arch) {
                pairs.push((os, arch));
            }
        }
    }
    pairs
}

/// Where krew puts each file of `files`, relative to the install directory: `to` is a directory
/// (or `.`) receiving the file under its own name, unless it names a file.
fn installed_paths(files: &[FileOperation]) -> BTreeSet<String> {
    files
        .iter()
        .map(|file| {
            let name = file.from.rsplit('/').next().unwrap_or_default();
            match file.to.trim_end_matches('/') {
                "." | "" => name.to_string(),
                dir if file.to.ends_with('/') => format!("{dir}/{name}"),
                path => path.trim_start_matches("./").to_string(),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Files and the release script

fn committed_manifest_path() -> PathBuf {
    workspace_root().join("krew").join("locust.yaml")
}

fn read_manifest(path: &Path) -> Plugin {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|error| panic!("{} is not a krew Plugin: {error}", path.display()))
}

fn committed() -> Plugin {
    read_manifest(&committed_manifest_path())
}

fn workspace_version() -> &'static str {
    // The tests crate takes its version from [workspace.package], as the plugin does.
    env!("CARGO_PKG_VERSION")
}

/// A stand-in for the release binary: release.sh packs whatever file it is given.
fn fake_binary(dir: &Path) -> PathBuf {
    let path = dir.join("kubectl-locust");
    std::fs::write(&path, "#!/bin/sh\necho kubectl-locust stand-in\n").unwrap();
    path
}

/// Packs the plugin archive of each `(os, arch)` into `dist` with release.sh's own step.
fn pack(root: &Path, dist: &Path, binary: &Path, platforms: &[(&str, &str)]) {
    for (os, arch) in platforms {
        let archive = dist.join(format!("kubectl-locust_{os}_{arch}.tar.gz"));
        let output = release_script(
            root,
            &["pack-plugin", archive.to_str().unwrap(), binary.to_str().unwrap()],
        );
        assert_success(&output, &format!("release.sh pack-plugin for {os}/{arch}"));
    }
}

fn sha256_of(path: &Path) -> String {
    let output = Command::new("sha256sum").arg(path).output().expect("sha256sum runs");
    assert_success(&output, "sha256sum");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// `tar -tvzf`: each entry's mode and name.
fn archive_entries(archive: &Path) -> BTreeMap<String, String> {
    let output = Command::new("tar")
        .arg("-tvzf")
        .arg(archive)
        .output()
        .expect("tar runs");
    assert_success(&output, "tar -tvzf");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let name = fields.last().unwrap().trim_start_matches("./").to_string();
            (name, fields[0].to_string())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The committed template

#[test]
fn committed_manifest_follows_krews_rules() {
    let violations = krew_violations("locust.yaml", &committed(), Checksums::Placeholders);
    assert!(violations.is_empty(), "krew/locust.yaml:\n{}", violations.join("\n"));
}

#[test]
fn committed_manifest_is_for_the_workspace_version_and_its_release_archives() {
    let plugin = committed();
    let version = format!("v{}", workspace_version());
    assert_eq!(plugin.metadata.name, "locust", "`kubectl locust` is plugin locust");
    assert_eq!(
        plugin.spec.version, version,
        "bump krew/locust.yaml with the workspace version"
    );
    assert_eq!(plugin.spec.homepage.as_deref(), Some(REPOSITORY));

    let selected: Vec<(String, String)> = plugin
        .spec
        .platforms
        .iter()
        .map(|platform| {
            let labels = platform.selector.as_ref().unwrap().match_labels.clone().unwrap();
            (labels["os"].clone(), labels["arch"].clone())
        })
        .collect();
    let expected: Vec<(String, String)> = RELEASE_PLATFORMS
        .iter()
        .map(|(os, arch)| (os.to_string(), arch.to_string()))
        .collect();
    assert_eq!(selected, expected, "one platform per archive a release builds");

    for (platform, (os, arch)) in plugin.spec.platforms.iter().zip(RELEASE_PLATFORMS) {
        assert_eq!(
            platform.uri,
            format!("{REPOSITORY}/releases/download/{version}/kubectl-locust_{os}_{arch}.tar.gz"),
            "the archive release.sh names kubectl-locust_<os>_<arch>.tar.gz, on the release of this version"
        );
        assert_eq!(
            platform.sha256,
            format!("{{{{sha256 kubectl-locust_{os}_{arch}.tar.gz}}}}")
        );
        assert_eq!(platform.bin, "kubectl-locust");
        let copied: Vec<&str> = platform
            .files
            .as_ref()
            .unwrap()
            .iter()
            .map(|file| file.from.as_str())
            .collect();
        assert_eq!(copied, ARCHIVE_FILES, "{os}/{arch}");
        assert!(platform.files.as_ref().unwrap().iter().all(|file| file.to == "."));
    }
}

#[test]
fn caveats_say_how_to_install_the_operator_and_the_completion_helper() {
    let caveats = committed().spec.caveats.expect("caveats");
    // Shell line continuations joined, spaces collapsed: the command as a shell runs it.
    let command_line = caveats
        .replace("\\\n", " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let helm_install = readme
        .lines()
        .find(|line| line.starts_with("helm install "))
        .expect("README shows the helm install command");
    assert!(
        command_line.contains(helm_install),
        "the caveats should show the README's `{helm_install}`:\n{caveats}"
    );
    assert!(
        command_line.contains(
            r#"cp "${KREW_ROOT:-$HOME/.krew}"/store/locust/*/kubectl_complete-locust "${KREW_ROOT:-$HOME/.krew}/bin/""#
        ),
        "krew links only `bin`: the caveats should say how to put the completion helper on PATH:\n{caveats}"
    );
}

/// A change that makes a good manifest unacceptable to krew.
type Breakage = Box<dyn Fn(&mut Plugin)>;

#[test]
fn rules_catch_what_krew_refuses() {
    let good = committed();
    let broken = |change: &dyn Fn(&mut Plugin)| {
        let mut plugin = good.clone();
        change(&mut plugin);
        krew_violations("locust.yaml", &plugin, Checksums::Placeholders).join("\n")
    };
    let cases: Vec<(&str, Breakage)> = vec![
        (
            "must equal the file name",
            Box::new(|p| p.metadata.name = "locust-ctl".into()),
        ),
        (
            "apiVersion must be",
            Box::new(|p| p.api_version = "krew.googlecontainertools.github.com/v1alpha1".into()),
        ),
        (
            "shortDescription must be one line",
            Box::new(|p| p.spec.short_description = "Run\nwatch".into()),
        ),
        (
            "semantic version with a leading v",
            Box::new(|p| p.spec.version = "0.1.0".into()),
        ),
        (
            "semantic version with a leading v",
            Box::new(|p| p.spec.version = "v0.1".into()),
        ),
        (
            "overlap",
            Box::new(|p| p.spec.platforms[1] = p.spec.platforms[0].clone()),
        ),
        (
            "selector key \"libc\"",
            Box::new(|p| {
                let selector = p.spec.platforms[0].selector.as_mut().unwrap();
                selector
                    .match_labels
                    .as_mut()
                    .unwrap()
                    .insert("libc".into(), "musl".into());
            }),
        ),
        (
            "must be https",
            Box::new(|p| p.spec.platforms[0].uri = p.spec.platforms[0].uri.replace("https", "http")),
        ),
        ("placeholder", Box::new(|p| p.spec.platforms[0].sha256 = "0".repeat(64))),
        (
            "is not among the installed files",
            Box::new(|p| p.spec.platforms[0].bin = "kubectl-locust2".into()),
        ),
        (
            "license file must be installed",
            Box::new(|p| {
                p.spec.platforms[2]
                    .files
                    .as_mut()
                    .unwrap()
                    .retain(|file| file.from != "LICENSE");
            }),
        ),
    ];
    for (expected, change) in &cases {
        let violations = broken(change.as_ref());
        assert!(
            violations.contains(expected),
            "expected {expected:?} among:\n{violations}"
        );
    }
    let mut plugin = good.clone();
    plugin.spec.platforms[0].sha256 = "A".repeat(64);
    let violations = krew_violations("locust.yaml", &plugin, Checksums::Real).join("\n");
    assert!(violations.contains("64 lowercase hex digits"), "{violations}");
    assert!(
        krew_violations("locust.yml", &good, Checksums::Placeholders)
            .join("\n")
            .contains("must end in .yaml")
    );
}

// ---------------------------------------------------------------------------------------------
// What a release produces

#[test]
fn a_release_fills_in_the_checksums_of_the_archives_it_packs() {
    let root = workspace_root();
    let scratch = tempfile::tempdir().unwrap();
    let dist = scratch.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    let binary = fake_binary(scratch.path());
    pack(&root, &dist, &binary, &RELEASE_PLATFORMS);
    assert_success(
        &release_script(&root, &["krew-manifest", dist.to_str().unwrap()]),
        "release.sh krew-manifest",
    );

    let released_path = dist.join("krew").join("locust.yaml");
    let released = read_manifest(&released_path);
    let violations = krew_violations("locust.yaml", &released, Checksums::Real);
    assert!(
        violations.is_empty(),
        "{}:\n{}",
        released_path.display(),
        violations.join("\n")
    );

    // The release's manifest is the committed one with the checksums filled in, nothing else.
    let mut expected = committed();
    for platform in &mut expected.spec.platforms {
        platform.sha256 = sha256_of(&dist.join(archive_of(&platform.uri)));
    }
    assert_eq!(released, expected);

    let committed_helper = std::fs::read(root.join("kubectl-locust").join("kubectl_complete-locust")).unwrap();
    for platform in &released.spec.platforms {
        let archive = dist.join(archive_of(&platform.uri));
        let entries = archive_entries(&archive);
        let names: Vec<&str> = entries.keys().map(String::as_str).collect();
        let mut expected_names = ARCHIVE_FILES.to_vec();
        expected_names.sort();
        assert_eq!(names, expected_names, "{}", archive.display());
        for file in platform.files.as_ref().unwrap() {
            assert!(
                entries.contains_key(&file.from),
                "{} copies {} from {names:?}",
                platform.uri,
                file.from
            );
        }
        for executable in [&platform.bin, &"kubectl_complete-locust".to_string()] {
            assert!(
                entries[executable].starts_with("-rwx"),
                "{executable}: {}",
                entries[executable]
            );
        }

        let unpacked = scratch
            .path()
            .join(archive_of(&platform.uri).trim_end_matches(".tar.gz"));
        std::fs::create_dir(&unpacked).unwrap();
        let output = Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&unpacked)
            .output()
            .unwrap();
        assert_success(&output, "tar -xzf");
        assert_eq!(
            std::fs::read(unpacked.join("kubectl_complete-locust")).unwrap(),
            committed_helper
        );
        assert_eq!(
            std::fs::read(unpacked.join("kubectl-locust")).unwrap(),
            std::fs::read(&binary).unwrap()
        );
    }
}

#[test]
fn a_partial_release_lists_only_the_platforms_it_built() {
    let root = workspace_root();
    let scratch = tempfile::tempdir().unwrap();
    let binary = fake_binary(scratch.path());
    pack(&root, scratch.path(), &binary, &[("darwin", "arm64")]);
    assert_success(
        &release_script(&root, &["krew-manifest", scratch.path().to_str().unwrap()]),
        "release.sh krew-manifest",
    );
    let released = read_manifest(&scratch.path().join("krew").join("locust.yaml"));
    let uris: Vec<&str> = released.spec.platforms.iter().map(|p| archive_of(&p.uri)).collect();
    assert_eq!(uris, ["kubectl-locust_darwin_arm64.tar.gz"]);
    assert!(krew_violations("locust.yaml", &released, Checksums::Real).is_empty());
}

#[test]
fn the_release_refuses_a_manifest_of_another_version_and_an_empty_dist() {
    // A copy of the parts of the workspace release.sh reads, with the version bumped in Cargo.toml only.
    let root = workspace_root();
    let copy = tempfile::tempdir().unwrap();
    for part in [
        "scripts/release.sh",
        "krew/locust.yaml",
        "LICENSE",
        "kubectl-locust/kubectl_complete-locust",
    ] {
        let target = copy.path().join(part);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(root.join(part), &target).unwrap();
    }
    std::fs::write(
        copy.path().join("Cargo.toml"),
        "[workspace.package]\nversion = \"9.9.9\"\n",
    )
    .unwrap();
    let dist = copy.path().join("dist");
    std::fs::create_dir(&dist).unwrap();

    let output = release_script(copy.path(), &["krew-manifest", dist.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("version v{}", workspace_version())) && stderr.contains("9.9.9"),
        "{stderr}"
    );

    let bin_dir = copy.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    let binary = fake_binary(&bin_dir);
    pack(copy.path(), &dist, &binary, &[("linux", "amd64")]);
    let output = release_script(copy.path(), &["krew-manifest", dist.to_str().unwrap()]);
    assert!(!output.status.success(), "still the wrong version");
    assert!(
        !dist.join("krew").join("locust.yaml").exists(),
        "nothing written for a wrong version"
    );

    let empty = tempfile::tempdir().unwrap();
    let output = release_script(&root, &["krew-manifest", empty.path().to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no kubectl-locust_*.tar.gz"));

    let misnamed = copy.path().join("locust-plugin");
    std::fs::write(&misnamed, "#!/bin/sh\n").unwrap();
    let output = release_script(
        &root,
        &[
            "pack-plugin",
            dist.join("x.tar.gz").to_str().unwrap(),
            misnamed.to_str().unwrap(),
        ],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("must be named kubectl-locust"));
}
