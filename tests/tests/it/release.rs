//! What a release publishes, and what publishes it.
//!
//! - **One version.** Cargo.toml's `[workspace.package]` version is the version of every crate
//!   (as cargo resolves them, and as Cargo.lock records them), of the chart (`version`,
//!   `appVersion`), of the image the chart runs by default, of the krew manifest, and of the
//!   README's install commands; `scripts/release.sh check-version` refuses a release otherwise and
//!   `set-version` writes one version into all of them.
//! - **The image.** The Dockerfile's Rust is at least the workspace's `rust-version`; the image is
//!   a static binary on a distroless base, non-root 65532, with nothing to run a shell.
//! - **The workflows.** Every action pinned to a commit with its version beside it, permissions per
//!   job, and the release workflow uploading exactly what `scripts/release.sh` writes (run here on
//!   stand-in binaries, as `krew.rs` does). actionlint and zizmor lint the same files in
//!   `scripts/test.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use integration_tests::helm::{Render, workspace_root};
use integration_tests::release::{assert_success, release_script};
use serde_yaml::Value;

// ---------------------------------------------------------------------------------------------
// Helpers

fn read(relative: &str) -> String {
    let path = workspace_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn yaml(relative: &str) -> Value {
    serde_yaml::from_str(&read(relative)).unwrap_or_else(|error| panic!("{relative}: {error}"))
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |value, key| value.get(*key))
        .and_then(Value::as_str)
}

/// The value of `key = "..."` in the `[section]` of a Cargo manifest.
fn manifest_value(manifest: &str, section: &str, key: &str) -> Option<String> {
    let mut current = "";
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            current = line;
        } else if current == section
            && let Some((name, value)) = line.split_once('=')
            && name.trim() == key
        {
            return Some(value.trim().trim_matches('"').to_string());
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// One version

/// The files that carry a version, as text (so a test can change one and see it caught).
#[derive(Clone)]
struct VersionedFiles {
    cargo_toml: String,
    /// Each workspace crate's version as cargo resolves it.
    crates: BTreeMap<String, String>,
    cargo_lock: String,
    chart_yaml: String,
    values_yaml: String,
    krew_manifest: String,
    readme: String,
}

impl VersionedFiles {
    fn of_workspace() -> Self {
        let output = Command::new(env!("CARGO"))
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
                "--manifest-path",
            ])
            .arg(workspace_root().join("Cargo.toml"))
            .output()
            .expect("cargo metadata runs");
        assert_success(&output, "cargo metadata");
        let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let crates = metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|package| {
                (
                    package["name"].as_str().unwrap().to_string(),
                    package["version"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        Self {
            cargo_toml: read("Cargo.toml"),
            crates,
            cargo_lock: read("Cargo.lock"),
            chart_yaml: read("charts/locust-operator/Chart.yaml"),
            values_yaml: read("charts/locust-operator/values.yaml"),
            krew_manifest: read("krew/locust.yaml"),
            readme: read("README.md"),
        }
    }

    /// The one version: Cargo.toml's `[workspace.package]`.
    fn version(&self) -> String {
        manifest_value(&self.cargo_toml, "[workspace.package]", "version").expect("[workspace.package] version")
    }

    /// Each place whose version is not the workspace's, naming the file.
    fn mismatches(&self) -> Vec<String> {
        let version = self.version();
        let mut problems = Vec::new();

        for (name, crate_version) in &self.crates {
            if *crate_version != version {
                problems.push(format!("crate {name} is version {crate_version}"));
            }
        }
        // Cargo.lock: every workspace crate's [[package]] entry.
        for block in self.cargo_lock.split("[[package]]") {
            let name = manifest_value(&format!("[p]\n{block}"), "[p]", "name");
            let locked = manifest_value(&format!("[p]\n{block}"), "[p]", "version");
            if let (Some(name), Some(locked)) = (name, locked)
                && self.crates.contains_key(&name)
                && locked != version
            {
                problems.push(format!("Cargo.lock: {name} {locked}"));
            }
        }

        let chart: Value = serde_yaml::from_str(&self.chart_yaml).unwrap();
        for key in ["version", "appVersion"] {
            let found = str_at(&chart, &[key]).unwrap_or_default();
            if found != version {
                problems.push(format!("charts/locust-operator/Chart.yaml: {key} {found:?}"));
            }
        }
        // The image the chart runs unless told otherwise: image.tag, "" meaning appVersion.
        let values: Value = serde_yaml::from_str(&self.values_yaml).unwrap();
        let tag = str_at(&values, &["image", "tag"]).unwrap_or_default();
        if !tag.is_empty() && tag != version {
            problems.push(format!("charts/locust-operator/values.yaml: image.tag {tag:?}"));
        }

        let krew: Value = serde_yaml::from_str(&self.krew_manifest).unwrap();
        let krew_version = str_at(&krew, &["spec", "version"]).unwrap_or_default();
        if krew_version != format!("v{version}") {
            problems.push(format!("krew/locust.yaml: spec.version {krew_version}"));
        }
        for platform in krew["spec"]["platforms"].as_sequence().into_iter().flatten() {
            let uri = str_at(platform, &["uri"]).unwrap_or_default();
            if !uri.contains(&format!("/releases/download/v{version}/")) {
                problems.push(format!("krew/locust.yaml: uri {uri}"));
            }
        }
        for (file, text) in [("krew/locust.yaml", &self.krew_manifest), ("README.md", &self.readme)] {
            for command in chart_install_commands(text) {
                if !command.contains(&format!("--version {version} "))
                    && !command.ends_with(&format!("--version {version}"))
                {
                    problems.push(format!("{file}: `{command}` does not install version {version}"));
                }
            }
        }
        for line in self.readme.lines().filter(|line| line.contains("/releases/download/v")) {
            if !line.contains(&format!("/releases/download/v{version}/")) {
                problems.push(format!("README.md: {line}"));
            }
        }
        problems
    }
}

/// The `helm install ... oci://...` commands in a text, continuation lines joined.
fn chart_install_commands(text: &str) -> Vec<String> {
    let joined = text.replace("\\\n", " ");
    joined
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| line.starts_with("helm install ") && line.contains("oci://"))
        .collect()
}

#[test]
fn one_version_in_every_file_that_carries_one() {
    let files = VersionedFiles::of_workspace();
    assert_eq!(files.version(), env!("CARGO_PKG_VERSION"));
    assert!(files.crates.len() >= 7, "every workspace crate: {:?}", files.crates);
    let problems = files.mismatches();
    assert!(
        problems.is_empty(),
        "Cargo.toml says {}, but:\n{}\n(run scripts/release.sh set-version X.Y.Z)",
        files.version(),
        problems.join("\n")
    );
    assert!(
        !chart_install_commands(&files.readme).is_empty() && !chart_install_commands(&files.krew_manifest).is_empty(),
        "the README and the krew caveats show `helm install ... oci://...`"
    );
}

/// A change that gives one file another version.
type Change = Box<dyn Fn(&mut VersionedFiles)>;

#[test]
fn a_file_with_another_version_is_named() {
    let good = VersionedFiles::of_workspace();
    let version = good.version();
    let cases: Vec<(&str, Change)> = vec![
        (
            "Chart.yaml: appVersion",
            Box::new(|f| f.chart_yaml = f.chart_yaml.replace("appVersion: \"", "appVersion: \"9")),
        ),
        (
            "Chart.yaml: version",
            Box::new(|f| f.chart_yaml = f.chart_yaml.replace("\nversion: ", "\nversion: 9")),
        ),
        (
            "values.yaml: image.tag",
            Box::new(|f| f.values_yaml = f.values_yaml.replace("  tag: \"\"", "  tag: \"0.0.1\"")),
        ),
        (
            "krew/locust.yaml: spec.version",
            Box::new(|f| f.krew_manifest = f.krew_manifest.replace("  version: v", "  version: v9")),
        ),
        (
            "crate operator is version",
            Box::new(|f| {
                f.crates.insert("operator".into(), "9.9.9".into());
            }),
        ),
        (
            "Cargo.lock: operator",
            Box::new(|f| {
                f.cargo_lock = f.cargo_lock.replace(
                    "name = \"operator\"\nversion = \"",
                    "name = \"operator\"\nversion = \"9",
                )
            }),
        ),
        (
            "README.md: `helm install",
            Box::new(move |f| {
                f.readme = f
                    .readme
                    .replace(&format!("--version {}", f.version()), "--version 9.9.9")
            }),
        ),
    ];
    for (expected, change) in &cases {
        let mut files = good.clone();
        change(&mut files);
        let problems = files.mismatches().join("\n");
        assert!(problems.contains(expected), "expected {expected:?} among:\n{problems}");
    }
    // A new version in Cargo.toml alone: everything else is named.
    let mut files = good.clone();
    files.cargo_toml = files
        .cargo_toml
        .replacen(&format!("version = \"{version}\""), "version = \"9.9.9\"", 1);
    let problems = files.mismatches().join("\n");
    for expected in [
        "Chart.yaml: version",
        "Chart.yaml: appVersion",
        "krew/locust.yaml",
        "README.md",
    ] {
        assert!(problems.contains(expected), "expected {expected:?} among:\n{problems}");
    }
}

#[test]
fn the_chart_runs_the_image_of_the_workspace_version_by_default() {
    let version = VersionedFiles::of_workspace().version();
    let values = yaml("charts/locust-operator/values.yaml");
    let repository = str_at(&values, &["image", "repository"]).unwrap();
    let objects = Render::new("locust-operator", "locust-system").objects().unwrap();
    let deployment = objects
        .iter()
        .find(|object| object["kind"] == "Deployment")
        .expect("a Deployment");
    let image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    assert_eq!(image, format!("{repository}:{version}"));
    // The release workflow pushes that repository.
    let release = yaml(".github/workflows/release.yml");
    assert_eq!(str_at(&release, &["env", "IMAGE"]), Some(repository));
}

#[test]
fn the_readmes_from_source_install_runs_the_image_loaded_into_kind() {
    let readme = read("README.md");
    let commands: Vec<&str> = readme.lines().collect();
    let build = commands
        .iter()
        .find(|line| line.starts_with("docker build -t "))
        .expect("the README builds the image");
    let image = build.split_whitespace().nth(3).unwrap();
    assert!(
        commands.contains(&format!("kind load docker-image {image}").as_str()),
        "the image {image} is loaded into kind"
    );
    let install = commands
        .iter()
        .find(|line| {
            line.starts_with("helm install locust-operator charts/locust-operator ")
                && line.contains("image.pullPolicy=Never")
        })
        .expect("helm install of the checkout's chart with the loaded image");
    // The same --set values, rendered by the real helm: the Deployment runs that image, never pulled.
    let mut render = Render::new("locust-operator", "locust-system");
    for assignment in install.split_whitespace().collect::<Vec<_>>().windows(2) {
        if assignment[0] == "--set" {
            render = render.set(assignment[1]);
        }
    }
    let objects = render.objects().unwrap();
    let deployment = objects.iter().find(|object| object["kind"] == "Deployment").unwrap();
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let (repository, tag) = image.split_once(':').unwrap();
    assert_eq!(container["image"], format!("{repository}:{tag}"));
    assert_eq!(container["imagePullPolicy"], "Never");
}

/// A copy of the files release.sh reads for its version checks.
fn copy_of_versioned_files() -> tempfile::TempDir {
    let root = workspace_root();
    let copy = tempfile::tempdir().unwrap();
    let cargo_toml = read("Cargo.toml");
    let members: Vec<String> = cargo_toml
        .lines()
        .find(|line| line.starts_with("members"))
        .unwrap()
        .split('"')
        .skip(1)
        .step_by(2)
        .map(|member| format!("{member}/Cargo.toml"))
        .collect();
    let mut parts = vec![
        "Cargo.toml".to_string(),
        "scripts/release.sh".into(),
        "charts/locust-operator/Chart.yaml".into(),
        "charts/locust-operator/values.yaml".into(),
        "krew/locust.yaml".into(),
        "README.md".into(),
    ];
    parts.extend(members);
    for part in parts {
        let target = copy.path().join(&part);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(root.join(&part), &target).unwrap_or_else(|error| panic!("{part}: {error}"));
    }
    copy
}

#[test]
fn the_release_script_refuses_differing_versions_and_sets_one_everywhere() {
    let version = VersionedFiles::of_workspace().version();
    let copy = copy_of_versioned_files();
    let root = copy.path();
    let output = release_script(root, &["check-version"]);
    assert_success(&output, "release.sh check-version");

    let chart = root.join("charts/locust-operator/Chart.yaml");
    let text = std::fs::read_to_string(&chart).unwrap();
    std::fs::write(
        &chart,
        text.replace(&format!("appVersion: \"{version}\""), "appVersion: \"0.0.9\""),
    )
    .unwrap();
    let krew = root.join("krew/locust.yaml");
    let text = std::fs::read_to_string(&krew).unwrap();
    std::fs::write(
        &krew,
        text.replace(&format!("  version: v{version}"), "  version: v0.0.9"),
    )
    .unwrap();
    let output = release_script(root, &["check-version"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("charts/locust-operator/Chart.yaml: appVersion 0.0.9")
            && stderr.contains("krew/locust.yaml: version v0.0.9")
            && stderr.contains("set-version"),
        "{stderr}"
    );
    // A release (any build or finish) stops at the same check, before building anything.
    let output = release_script(root, &["build", "linux/amd64"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("Chart.yaml: appVersion 0.0.9"));

    let output = release_script(root, &["set-version", "1.2.3"]);
    assert_success(&output, "release.sh set-version 1.2.3");
    assert_success(
        &release_script(root, &["check-version"]),
        "check-version after set-version",
    );
    let version_out = release_script(root, &["version"]);
    assert_eq!(String::from_utf8_lossy(&version_out.stdout).trim(), "1.2.3");
    let chart = std::fs::read_to_string(root.join("charts/locust-operator/Chart.yaml")).unwrap();
    assert!(
        chart.contains("\nversion: 1.2.3\n") && chart.contains("\nappVersion: \"1.2.3\"\n"),
        "{chart}"
    );
    let krew = std::fs::read_to_string(root.join("krew/locust.yaml")).unwrap();
    assert!(
        krew.contains("  version: v1.2.3")
            && krew.contains("/releases/download/v1.2.3/kubectl-locust_linux_amd64.tar.gz")
    );
    assert!(!krew.contains(&format!("v{version}/")));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for command in chart_install_commands(&readme) {
        assert!(command.contains("--version 1.2.3"), "{command}");
    }
    assert!(release_script(root, &["set-version", "1.2"]).status.code() != Some(0));
}

// ---------------------------------------------------------------------------------------------
// The image

/// `major.minor[.patch]` as numbers.
fn rust_version(text: &str) -> Option<Vec<u64>> {
    let numbers: Option<Vec<u64>> = text.split('.').map(|part| part.parse().ok()).collect();
    numbers.filter(|numbers| (2..=3).contains(&numbers.len()))
}

/// Problems with the Rust images of a Dockerfile (`FROM [--platform=...] rust:<version>[-variant]`)
/// given the workspace's rust-version: none used, a tag without a version, or a version older.
fn dockerfile_rust_problems(dockerfile: &str, required: &str) -> Vec<String> {
    let required_numbers = rust_version(required).expect("rust-version is X.Y or X.Y.Z");
    let mut problems = Vec::new();
    let mut seen = 0;
    for line in dockerfile.lines() {
        let mut words = line.split_whitespace();
        if !words.next().is_some_and(|word| word.eq_ignore_ascii_case("FROM")) {
            continue;
        }
        let Some(image) = words.find(|word| !word.starts_with("--")) else {
            continue;
        };
        let name = image.split(['@']).next().unwrap_or_default();
        let Some(tag) = name
            .strip_prefix("rust:")
            .or_else(|| name.strip_prefix("docker.io/library/rust:"))
        else {
            continue;
        };
        seen += 1;
        let version = tag.split('-').next().unwrap_or_default();
        match rust_version(version) {
            None => problems.push(format!(
                "`{}`: the Rust image has no version (rust:X.Y[-variant]), so its Rust can be anything",
                line.trim()
            )),
            Some(numbers) => {
                // rust:1.89 is the newest 1.89.x: compare what both name.
                let compared = numbers.len().min(required_numbers.len());
                if numbers[..compared] < required_numbers[..compared] {
                    problems.push(format!(
                        "`{}`: Rust {version} is older than the workspace's rust-version {required} (Cargo.toml)",
                        line.trim()
                    ));
                }
            }
        }
    }
    if seen == 0 {
        problems.push("no `FROM rust:<version>` stage builds the operator".into());
    }
    problems
}

#[test]
fn the_dockerfile_builds_with_at_least_the_workspace_rust_version() {
    let required = manifest_value(&read("Cargo.toml"), "[workspace.package]", "rust-version").unwrap();
    let problems = dockerfile_rust_problems(&read("Dockerfile"), &required);
    assert!(problems.is_empty(), "Dockerfile:\n{}", problems.join("\n"));

    // The check itself, on Dockerfiles that must fail.
    let older = dockerfile_rust_problems("FROM rust:1.85-alpine AS builder\n", "1.89");
    assert!(
        older
            .join("")
            .contains("Rust 1.85 is older than the workspace's rust-version 1.89"),
        "{older:?}"
    );
    let older = dockerfile_rust_problems("FROM --platform=$BUILDPLATFORM rust:1.88.0 AS builder\n", "1.88.1");
    assert!(older.join("").contains("older"), "{older:?}");
    let unversioned = dockerfile_rust_problems("FROM rust:alpine AS builder\n", "1.89");
    assert!(unversioned.join("").contains("has no version"), "{unversioned:?}");
    assert!(!dockerfile_rust_problems("FROM debian:12\n", "1.89").is_empty());
    assert!(dockerfile_rust_problems("from rust:1.90-slim-bookworm as b\n", "1.89").is_empty());
    assert!(dockerfile_rust_problems("FROM rust:1.89\n", "1.89.0").is_empty());
}

#[test]
fn the_image_is_a_static_binary_run_as_65532_with_no_shell() {
    let dockerfile = read("Dockerfile");
    let instructions: Vec<&str> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    let last_from = instructions.iter().rposition(|line| line.starts_with("FROM ")).unwrap();
    let final_stage = &instructions[last_from..];
    let base = final_stage[0];
    assert!(
        base.starts_with("FROM gcr.io/distroless/static"),
        "the final image is distroless static (no shell, no libc): {base}"
    );
    for line in final_stage {
        let keyword = line.split_whitespace().next().unwrap();
        assert!(
            !["RUN", "SHELL"].contains(&keyword),
            "the final stage runs nothing (its base has no shell): {line}"
        );
    }
    assert!(final_stage.contains(&"USER 65532:65532"), "{final_stage:#?}");
    assert!(
        final_stage.contains(&"ENTRYPOINT [\"/operator\"]"),
        "exec form, no shell: {final_stage:#?}"
    );
    // The builder targets musl and asks for static linking explicitly.
    let builder = &instructions[..last_from];
    assert!(
        builder
            .iter()
            .any(|line| line.starts_with("FROM rust:") && line.contains("-alpine"))
    );
    assert!(builder.contains(&"ENV RUSTFLAGS=\"-C target-feature=+crt-static\""));
    assert!(
        builder
            .iter()
            .any(|line| line.contains("cargo build --release --locked"))
    );
}

// ---------------------------------------------------------------------------------------------
// The workflows

fn workflows() -> BTreeMap<String, Value> {
    let dir = workspace_root().join(".github").join("workflows");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yml" || ext == "yaml"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let value = serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|error| panic!("{name}: {error}"));
            (name, value)
        })
        .collect()
}

fn jobs(workflow: &Value) -> Vec<(String, &Value)> {
    workflow["jobs"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(name, job)| (name.as_str().unwrap().to_string(), job))
        .collect()
}

fn steps(job: &Value) -> Vec<&Value> {
    job["steps"]
        .as_sequence()
        .map(|s| s.iter().collect())
        .unwrap_or_default()
}

/// Every `run:` script of a job, one after another.
fn job_scripts(job: &Value) -> String {
    steps(job)
        .into_iter()
        .filter_map(|step| str_at(step, &["run"]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `run:` script of a workflow, one after another.
fn scripts(workflow: &Value) -> String {
    jobs(workflow)
        .iter()
        .map(|(_, job)| job_scripts(job))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_three_workflows_exist() {
    let names: BTreeSet<String> = workflows().into_keys().collect();
    for name in ["ci.yml", "e2e.yml", "release.yml"] {
        assert!(names.contains(name), "{names:?}");
    }
}

#[test]
fn every_action_is_pinned_to_a_commit_with_its_version_beside_it() {
    let dir = workspace_root().join(".github").join("workflows");
    let mut pins: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for name in workflows().keys() {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        for (number, line) in text.lines().enumerate() {
            let Some(rest) = line.trim_start().trim_start_matches("- ").strip_prefix("uses: ") else {
                continue;
            };
            if rest.starts_with("./") {
                continue;
            }
            let (reference, comment) = rest.split_once(" # ").unwrap_or((rest, ""));
            let (action, sha) = reference.trim().split_once('@').unwrap_or((reference, ""));
            let at = format!("{name}:{}", number + 1);
            if sha.len() != 40 || !sha.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
                problems.push(format!("{at}: {action}@{sha} is not pinned to a full commit SHA"));
            }
            if !comment.trim().starts_with('v') {
                problems.push(format!(
                    "{at}: {action} has no `# vX.Y.Z` comment naming the pinned release"
                ));
            }
            pins.entry(action.to_string())
                .or_default()
                .insert(format!("{sha} # {}", comment.trim()));
        }
    }
    for (action, versions) in &pins {
        if versions.len() > 1 {
            problems.push(format!("{action} is pinned to different commits: {versions:?}"));
        }
    }
    assert!(pins.len() >= 8, "{pins:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn permissions_are_granted_per_job_and_nothing_by_default() {
    for (name, workflow) in workflows() {
        let top = &workflow["permissions"];
        assert!(
            top.as_mapping().is_some_and(|m| m.is_empty()),
            "{name}: `permissions: {{}}` at the top, so a job has only what it names"
        );
        for (job_name, job) in jobs(&workflow) {
            let permissions = job["permissions"]
                .as_mapping()
                .unwrap_or_else(|| panic!("{name}: job {job_name} names its permissions"));
            for (scope, level) in permissions {
                let scope = scope.as_str().unwrap();
                if level.as_str() == Some("write") {
                    let allowed = name == "release.yml" && ["contents", "packages"].contains(&scope);
                    assert!(allowed, "{name}: job {job_name} may not write {scope}");
                }
            }
            for step in steps(job) {
                if str_at(step, &["uses"]).is_some_and(|uses| uses.starts_with("actions/checkout@")) {
                    assert_eq!(
                        step["with"]["persist-credentials"].as_bool(),
                        Some(false),
                        "{name}: {job_name} leaves no token in .git/config"
                    );
                }
            }
        }
    }
}

#[test]
fn ci_runs_the_readmes_test_command() {
    let ci = &workflows()["ci.yml"];
    let on = &ci["on"];
    assert!(on.get("push").is_some() && on.get("pull_request").is_some());
    let run = scripts(ci);
    assert_eq!(run.trim_end().lines().last(), Some("bash .ci/run"));
    assert!(read(".ci/run").contains("scripts/test.sh"));
    assert!(read("README.md").contains("bash scripts/test.sh"));
    let text = read(".github/workflows/ci.yml");
    assert!(
        text.contains("Swatinem/rust-cache@"),
        "cargo's registry and build are cached"
    );
}

#[test]
fn e2e_runs_the_suite_in_both_modes_on_the_oldest_and_newest_supported_kubernetes() {
    let e2e = &workflows()["e2e.yml"];
    let (_, job) = jobs(e2e).into_iter().next().unwrap();
    let matrix = &job["strategy"]["matrix"];
    let minors: Vec<&str> = matrix["kubernetes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let modes: Vec<&str> = matrix["operator"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(modes, ["helm", "local"]);

    // The oldest minor is the chart's kubeVersion floor.
    let chart = yaml("charts/locust-operator/Chart.yaml");
    let floor = str_at(&chart, &["kubeVersion"]).unwrap();
    let floor_minor: Vec<&str> = floor.trim_start_matches(">=").split(['.', '-']).take(2).collect();
    assert_eq!(minors.first().copied(), Some(floor_minor.join(".").as_str()), "{floor}");
    assert!(minors.len() >= 2, "oldest and newest: {minors:?}");

    // Each minor has a kind release and a node image of that minor, pinned by digest.
    for minor in &minors {
        let include = matrix["include"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|entry| str_at(entry, &["kubernetes"]) == Some(minor))
            .unwrap_or_else(|| panic!("no kind image for {minor}"));
        let image = str_at(include, &["node-image"]).unwrap();
        assert!(image.starts_with(&format!("kindest/node:v{minor}.")), "{image}");
        assert!(image.contains("@sha256:"), "{image}");
        assert!(str_at(include, &["kind"]).unwrap().starts_with("v0."));
    }

    let run = scripts(e2e);
    assert!(
        run.contains("kind load docker-image locust-operator:e2e --name e2e"),
        "{run}"
    );
    assert!(
        run.contains(
            "cargo run --locked -p e2e -- --operator helm --image locust-operator:e2e --image-pull-policy Never"
        ) || run.contains(
            "cargo run --locked -p e2e --\n--operator helm --image locust-operator:e2e --image-pull-policy Never"
        ),
        "{run}"
    );
    assert!(
        run.contains("cargo run --locked -p e2e -- --timeout-scale"),
        "the local mode: {run}"
    );
    let text = read(".github/workflows/e2e.yml");
    assert!(
        text.contains("docker/build-push-action@") && text.contains("load: true"),
        "built with buildx"
    );
    let upload = steps(job)
        .into_iter()
        .find(|step| str_at(step, &["uses"]).is_some_and(|uses| uses.starts_with("actions/upload-artifact@")))
        .expect("artifacts uploaded");
    assert_eq!(str_at(upload, &["if"]), Some("failure()"));
}

#[test]
fn the_release_workflow_publishes_every_platform_with_the_release_script() {
    let release = &workflows()["release.yml"];
    assert_eq!(
        release["on"]["push"]["tags"].as_sequence().unwrap()[0].as_str(),
        Some("v*")
    );
    let all_jobs: BTreeMap<String, &Value> = jobs(release).into_iter().collect();

    // The image: both architectures, each on a runner of its own architecture.
    let image = all_jobs["image"];
    let platforms: Vec<(&str, &str)> = image["strategy"]["matrix"]["include"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                str_at(entry, &["platform"]).unwrap(),
                str_at(entry, &["runner"]).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        platforms,
        [("linux/amd64", "ubuntu-24.04"), ("linux/arm64", "ubuntu-24.04-arm")]
    );
    let build = steps(image)
        .into_iter()
        .find(|step| str_at(step, &["uses"]).is_some_and(|uses| uses.starts_with("docker/build-push-action@")))
        .unwrap();
    assert_eq!(build["with"]["sbom"].as_bool(), Some(true));
    assert_eq!(str_at(build, &["with", "provenance"]), Some("mode=max"));
    assert!(
        !read(".github/workflows/release.yml").contains("setup-qemu"),
        "no emulation"
    );

    // The binaries: release.sh builds each krew platform.
    let built: BTreeSet<&str> = all_jobs["binaries"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|entry| str_at(entry, &["platforms"]).unwrap().split_whitespace())
        .collect();
    assert_eq!(
        built,
        BTreeSet::from(["linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"])
    );
    assert!(job_scripts(all_jobs["binaries"]).contains("bash scripts/release.sh build $PLATFORMS"));
    let publish = job_scripts(all_jobs["publish"]);
    assert!(
        publish.contains("bash scripts/release.sh finish target/dist"),
        "{publish}"
    );
    assert!(
        publish.contains("bash scripts/release.sh push-chart target/dist"),
        "{publish}"
    );
    assert!(
        release["jobs"]["krew-index"]["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|step| str_at(step, &["uses"]).is_some_and(|uses| uses.starts_with("rajatjindal/krew-release-bot@")))
    );
}

/// The files `gh release create` uploads: the arguments after its options, as globs under target/dist.
fn uploaded_globs(publish: &str) -> Vec<String> {
    let joined = publish.replace("\\\n", " ");
    let command = joined
        .lines()
        .find(|line| line.trim_start().starts_with("gh release create"))
        .expect("gh release create");
    command
        .split_whitespace()
        .filter(|word| word.starts_with("target/dist/"))
        .filter(|word| !word.ends_with("RELEASE_NOTES.md"))
        .map(|word| word.trim_start_matches("target/dist/").to_string())
        .collect()
}

fn glob_matches(glob: &str, name: &str) -> bool {
    match glob.split_once('*') {
        Some((prefix, suffix)) => {
            name.starts_with(prefix) && name.ends_with(suffix) && name.len() >= prefix.len() + suffix.len()
        }
        None => glob == name,
    }
}

#[test]
fn the_release_uploads_what_the_release_script_writes_with_its_checksums() {
    let root = workspace_root();
    let scratch = tempfile::tempdir().unwrap();
    let dist = scratch.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    // What the binaries jobs hand over: each platform's archives, packed by release.sh from
    // stand-in binaries.
    let binary = scratch.path().join("kubectl-locust");
    std::fs::write(&binary, "#!/bin/sh\necho stand-in\n").unwrap();
    for (os, arch) in [
        ("linux", "amd64"),
        ("linux", "arm64"),
        ("darwin", "amd64"),
        ("darwin", "arm64"),
    ] {
        let archive = dist.join(format!("kubectl-locust_{os}_{arch}.tar.gz"));
        assert_success(
            &release_script(
                &root,
                &["pack-plugin", archive.to_str().unwrap(), binary.to_str().unwrap()],
            ),
            "pack-plugin",
        );
        if os == "linux" {
            // The operator's archive (release.sh packs it with `pack`, the same as the plugin's).
            let operator = dist.join(format!("locust-operator_linux_{arch}.tar.gz"));
            std::fs::copy(&archive, operator).unwrap();
        }
    }
    let output = release_script(&root, &["finish", dist.to_str().unwrap()]);
    assert_success(&output, "release.sh finish");

    let version = VersionedFiles::of_workspace().version();
    let chart_package = format!("locust-operator-{version}.tgz");
    // SHA256SUMS: every archive and the chart, each sum right (`sha256sum -c`).
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    let listed: BTreeSet<&str> = sums.lines().map(|line| line.split("  ").nth(1).unwrap()).collect();
    let archives: BTreeSet<String> = std::fs::read_dir(&dist)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().to_string())
        .filter(|name| name.ends_with(".tar.gz") || name.ends_with(".tgz"))
        .collect();
    assert_eq!(listed, archives.iter().map(String::as_str).collect::<BTreeSet<_>>());
    assert!(archives.contains(&chart_package), "{archives:?}");
    let check = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&dist)
        .output()
        .unwrap();
    assert_success(&check, "sha256sum -c SHA256SUMS");

    // The chart package is the chart at this version.
    let listing = Command::new("tar")
        .arg("-xzOf")
        .arg(dist.join(&chart_package))
        .arg("locust-operator/Chart.yaml")
        .output()
        .unwrap();
    assert_success(&listing, "tar the chart package");
    let packaged: Value = serde_yaml::from_slice(&listing.stdout).unwrap();
    assert_eq!(str_at(&packaged, &["version"]), Some(version.as_str()));

    // The notes install what was published, as the README does.
    let notes = std::fs::read_to_string(dist.join("RELEASE_NOTES.md")).unwrap();
    let readme = read("README.md");
    for command in chart_install_commands(&notes) {
        assert!(
            chart_install_commands(&readme).contains(&command),
            "README lacks `{command}`"
        );
    }
    assert!(notes.contains("kubectl krew install locust") && readme.contains("kubectl krew install locust"));

    // The workflow uploads exactly these files: every glob matches a file release.sh wrote, and
    // every file it wrote (but the notes, which become the release text) is matched.
    let release = &workflows()["release.yml"];
    let publish = job_scripts(&release["jobs"]["publish"]);
    let globs = uploaded_globs(&publish);
    assert!(publish.contains("cp target/dist/krew/locust.yaml target/dist/locust.yaml"));
    std::fs::copy(dist.join("krew").join("locust.yaml"), dist.join("locust.yaml")).unwrap();
    let written: Vec<String> = std::fs::read_dir(&dist)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_file())
        .map(|entry| entry.file_name().to_string_lossy().to_string())
        .filter(|name| name != "RELEASE_NOTES.md" && name != "kubectl-locust")
        .collect();
    for glob in &globs {
        assert!(
            written.iter().any(|name| glob_matches(glob, name)),
            "{glob} matches nothing in {written:?}"
        );
    }
    for name in &written {
        assert!(
            globs.iter().any(|glob| glob_matches(glob, name)),
            "{name} is not uploaded by {globs:?}"
        );
    }
    // The krew manifest names the archives the release uploads, on this version's release page.
    let krew: Value = serde_yaml::from_str(&std::fs::read_to_string(dist.join("locust.yaml")).unwrap()).unwrap();
    for platform in krew["spec"]["platforms"].as_sequence().unwrap() {
        let uri = str_at(platform, &["uri"]).unwrap();
        let archive = uri.rsplit('/').next().unwrap();
        assert!(written.iter().any(|name| name == archive), "{uri}");
        let sum = str_at(platform, &["sha256"]).unwrap();
        assert!(sums.contains(&format!("{sum}  {archive}")), "{archive}: {sum}");
    }
}
