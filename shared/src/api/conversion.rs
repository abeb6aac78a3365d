//! v1 <-> v2 conversion of LocustTest objects, and the conversion webhook's answer to a whole
//! `ConversionReview`. Everything here is a pure function: no client, no clock, no randomness.
//!
//! # The plain mapping
//!
//! [`lift_spec`] (v1 -> v2) maps a v1 spec the way the Go operator does: the command seeds and
//! replicas move under `master`/`worker`, `master.autostart` becomes `true` and `master.autoquit`
//! `{enabled: true, timeout: 60}`, per-role label and annotation maps move to their role,
//! `configMap`/`libConfigMap` become `testFiles` (created only when one of them is set, with the
//! default mount paths), the node-affinity map becomes ONE `NodeSelectorTerm` with an
//! `{key, In, [value]}` expression per label in key order, tolerations become Kubernetes
//! tolerations, pull-secret names become `{name}` references, and an unset pull policy becomes
//! `IfNotPresent`. Unlike the Go operator, empty lists are kept as empty lists: v2 can hold them.
//!
//! [`project_spec`] (v2 -> v1) is the reverse. v1 shows only what it can express: `In` node-affinity
//! expressions with at least one value (their first value, from every required term; a later
//! expression for the same key wins), tolerations with a known operator and effect (an unset
//! operator shows as `Equal`, its Kubernetes default; `tolerationSeconds` is not shown), and
//! `IfNotPresent` as an unset pull policy.
//!
//! # Exact round trips
//!
//! The Go operator's conversion is lossy. Here each direction keeps what the other version cannot
//! hold in an annotation on the converted object, so v2 -> v1 -> v2 and v1 -> v2 -> v1 both return
//! exactly the original object:
//!
//! * v2 -> v1: the v1 spec is `project(X)`. When `lift(project(X)) != X`, the whole v2 spec `X`
//!   is stored as compact JSON in [`ANNOTATION_V2_SPEC`]. When the v2 object carries a v1 spec `V`
//!   in [`ANNOTATION_V1_SPEC`] that still shows the same thing as `X`
//!   (`project(lift(V)) == project(X)`), `V` is the v1 spec instead, so v1 details that v2 cannot
//!   tell apart (an explicit `IfNotPresent`, an empty `labels: {}`, an empty affinity map) come back.
//! * v1 -> v2: without [`ANNOTATION_V2_SPEC`] the v2 spec is `lift(v1.spec)`. With it, the stored
//!   v2 spec `S` is the base and only the v1 fields whose value the v1 client changed are written
//!   over it. An unchanged v1 view therefore gives back `S` exactly, and an edit through v1 (say,
//!   `workerReplicas`) keeps every v2-only field (resources, env, volumes, ...). A changed
//!   toleration list or affinity map reuses the original entries that still show the same way,
//!   and keeps the ones v1 never showed. When `project(result) != v1.spec`, the v1 spec is stored in
//!   [`ANNOTATION_V1_SPEC`].
//! * Both reserved annotations are removed from the source. The converted object carries exactly
//!   the one its conversion needs (or none). A reserved annotation that is stale or is not valid
//!   JSON for its spec is ignored, and the plain mapping applies. Other annotations are never
//!   touched. An annotation map is dropped only when removing a reserved annotation left it empty.
//!   The API server drops empty maps anyway, so an object never arrives with `annotations: {}`.
//!
//! Output order is deterministic: maps are ordered, and list order follows the input.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, LocalObjectReference, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::Status;
use kube::core::conversion::{ConversionRequest, ConversionResponse, ConversionReview};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::status::LocustTestStatus;
use super::{ImagePullPolicy, v1, v2};
use crate::constants::{ANNOTATION_V1_SPEC, ANNOTATION_V2_SPEC, KIND};

/// `apiVersion` of the deprecated v1 objects.
pub const API_VERSION_V1: &str = "locust.io/v1";
/// `apiVersion` of the v2 (storage) objects.
pub const API_VERSION_V2: &str = "locust.io/v2";

/// Why an object or a request could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    /// The request asks for a version this webhook does not serve.
    #[error("desiredAPIVersion {0:?} is not served by this webhook (expected locust.io/v1 or locust.io/v2)")]
    UnsupportedDesiredVersion(String),
    /// One object could not be read as a LocustTest, or could not be converted.
    #[error("object {object}: {problem}")]
    InvalidObject {
        /// `namespace/name` of the object, as far as it could be read.
        object: String,
        /// What is wrong, starting with the field when one is to blame.
        problem: String,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

impl Version {
    fn parse(api_version: &str) -> Option<Self> {
        match api_version {
            API_VERSION_V1 => Some(Self::V1),
            API_VERSION_V2 => Some(Self::V2),
            _ => None,
        }
    }
}

/// Converts a v1 object to v2, restoring or recording what v1 cannot hold (see the module doc).
pub fn v1_to_v2(object: &v1::LocustTest) -> v2::LocustTest {
    let mut annotations = ReservedAnnotations::take(&object.metadata);
    let spec = match annotations.recorded::<v2::LocustTestSpec>(ANNOTATION_V2_SPEC) {
        Some(original) => apply_v1_edits(&original, &object.spec),
        None => lift_spec(&object.spec),
    };
    if project_spec(&spec) != object.spec {
        annotations.record(ANNOTATION_V1_SPEC, &object.spec);
    }
    v2::LocustTest {
        metadata: annotations.into_metadata(),
        spec,
        status: object.status.clone(),
    }
}

/// Converts a v2 object to v1, recording the v2 fields v1 cannot hold (see the module doc).
pub fn v2_to_v1(object: &v2::LocustTest) -> v1::LocustTest {
    let mut annotations = ReservedAnnotations::take(&object.metadata);
    let projected = project_spec(&object.spec);
    // A recorded v1 spec is used only while it still shows what the v2 spec holds; a v2 client may
    // have edited the spec since it was recorded.
    let spec = annotations
        .recorded::<v1::LocustTestSpec>(ANNOTATION_V1_SPEC)
        .filter(|recorded| project_spec(&lift_spec(recorded)) == projected)
        .unwrap_or(projected);
    if lift_spec(&spec) != object.spec {
        annotations.record(ANNOTATION_V2_SPEC, &object.spec);
    }
    v1::LocustTest {
        metadata: annotations.into_metadata(),
        spec,
        status: object.status.clone(),
    }
}

/// The plain v1 -> v2 mapping of a spec, as the Go operator maps it but in a deterministic order.
pub fn lift_spec(spec: &v1::LocustTestSpec) -> v2::LocustTestSpec {
    let master_map = |maps: &Option<v1::PodMetadataMaps>| maps.as_ref().and_then(|m| m.master.clone());
    let worker_map = |maps: &Option<v1::PodMetadataMaps>| maps.as_ref().and_then(|m| m.worker.clone());
    let test_files = (spec.config_map.is_some() || spec.lib_config_map.is_some()).then(|| v2::TestFilesConfig {
        config_map_ref: spec.config_map.clone(),
        lib_config_map_ref: spec.lib_config_map.clone(),
        ..v2::TestFilesConfig::default()
    });
    let affinity = lift_affinity(spec.affinity.as_ref());
    let tolerations = spec
        .tolerations
        .as_ref()
        .map(|list| list.iter().map(lift_toleration).collect());
    let scheduling = (affinity.is_some() || tolerations.is_some()).then(|| v2::SchedulingConfig {
        affinity,
        tolerations,
        ..empty_scheduling()
    });
    v2::LocustTestSpec {
        image: spec.image.clone(),
        image_pull_policy: spec.image_pull_policy.unwrap_or_default(),
        image_pull_secrets: spec.image_pull_secrets.as_ref().map(|names| {
            names
                .iter()
                .map(|name| LocalObjectReference { name: name.clone() })
                .collect()
        }),
        master: v2::MasterSpec {
            command: spec.master_command_seed.clone(),
            resources: None,
            labels: master_map(&spec.labels),
            annotations: master_map(&spec.annotations),
            autostart: true,
            autoquit: Some(v2::AutoquitConfig::default()),
            extra_args: None,
        },
        worker: v2::WorkerSpec {
            command: spec.worker_command_seed.clone(),
            replicas: spec.worker_replicas,
            resources: None,
            labels: worker_map(&spec.labels),
            annotations: worker_map(&spec.annotations),
            extra_args: None,
        },
        test_files,
        scheduling,
        env: None,
        volumes: None,
        volume_mounts: None,
        security: None,
        observability: None,
        thresholds: None,
    }
}

/// The plain v2 -> v1 mapping of a spec: what v1 can show of it.
pub fn project_spec(spec: &v2::LocustTestSpec) -> v1::LocustTestSpec {
    let per_role = |master: &Option<BTreeMap<String, String>>, worker: &Option<BTreeMap<String, String>>| {
        (master.is_some() || worker.is_some()).then(|| v1::PodMetadataMaps {
            master: master.clone(),
            worker: worker.clone(),
        })
    };
    let test_files = spec.test_files.as_ref();
    let scheduling = spec.scheduling.as_ref();
    v1::LocustTestSpec {
        master_command_seed: spec.master.command.clone(),
        worker_command_seed: spec.worker.command.clone(),
        worker_replicas: spec.worker.replicas,
        image: spec.image.clone(),
        image_pull_policy: match spec.image_pull_policy {
            ImagePullPolicy::IfNotPresent => None,
            policy => Some(policy),
        },
        image_pull_secrets: spec
            .image_pull_secrets
            .as_ref()
            .map(|refs| refs.iter().map(|reference| reference.name.clone()).collect()),
        config_map: test_files.and_then(|files| files.config_map_ref.clone()),
        lib_config_map: test_files.and_then(|files| files.lib_config_map_ref.clone()),
        labels: per_role(&spec.master.labels, &spec.worker.labels),
        annotations: per_role(&spec.master.annotations, &spec.worker.annotations),
        affinity: project_affinity(scheduling.and_then(|s| s.affinity.as_ref())),
        tolerations: project_tolerations(scheduling.and_then(|s| s.tolerations.as_deref())),
    }
}

/// Converts one object (JSON as the API server sends it) to `desired_api_version`. An object
/// already in that version is returned unchanged.
pub fn convert_object(object: Value, desired_api_version: &str) -> Result<Value, ConversionError> {
    let target = Version::parse(desired_api_version)
        .ok_or_else(|| ConversionError::UnsupportedDesiredVersion(desired_api_version.to_string()))?;
    let Value::Object(fields) = &object else {
        return Err(invalid_object(
            "<unnamed>",
            format!("expected a JSON object, got {}", json_type(&object)),
        ));
    };
    let name = object_name(fields);
    match fields.get("kind") {
        Some(Value::String(kind)) if kind == KIND => {}
        Some(Value::String(kind)) => {
            return Err(invalid_object(&name, format!("kind {kind:?} is not {KIND}")));
        }
        _ => {
            return Err(invalid_object(&name, "kind is missing or not a string".to_string()));
        }
    }
    let source = match fields.get("apiVersion") {
        Some(Value::String(api_version)) => Version::parse(api_version).ok_or_else(|| {
            invalid_object(
                &name,
                format!("apiVersion {api_version:?} is not {API_VERSION_V1} or {API_VERSION_V2}"),
            )
        })?,
        _ => {
            return Err(invalid_object(
                &name,
                "apiVersion is missing or not a string".to_string(),
            ));
        }
    };
    if source == target {
        return Ok(object);
    }
    let converted = match source {
        Version::V1 => {
            let (metadata, spec, status) =
                decode_object(fields, &v1_spec_baseline()).map_err(|problem| invalid_object(&name, problem))?;
            serde_json::to_value(v1_to_v2(&v1::LocustTest { metadata, spec, status }))
        }
        Version::V2 => {
            let (metadata, spec, status) =
                decode_object(fields, &v2_spec_baseline()).map_err(|problem| invalid_object(&name, problem))?;
            serde_json::to_value(v2_to_v1(&v2::LocustTest { metadata, spec, status }))
        }
    };
    converted.map_err(|error| invalid_object(&name, format!("cannot encode the converted object: {error}")))
}

/// Answers a whole `ConversionReview` request body. Every object must convert, or the response is
/// a Failure naming each object that did not; a body that is not a ConversionReview gets a Failure
/// with an empty uid. Never panics.
pub fn review(body: &[u8]) -> ConversionReview {
    let mut request = match serde_json::from_slice::<ConversionReview>(body) {
        Ok(review) => match ConversionRequest::from_review(review) {
            Ok(request) => request,
            Err(_) => return unanswerable("the ConversionReview has no request".to_string()),
        },
        Err(error) => {
            return unanswerable(format!("the request body is not a ConversionReview: {error}"));
        }
    };
    let desired = request.desired_api_version.clone();
    let objects = std::mem::take(&mut request.objects);
    let response = ConversionResponse::for_request(request);
    if Version::parse(&desired).is_none() {
        let problem = ConversionError::UnsupportedDesiredVersion(desired).to_string();
        return response.failure(Status::failure(&problem, "BadRequest")).into_review();
    }
    let mut converted = Vec::with_capacity(objects.len());
    let mut problems = Vec::new();
    for object in objects {
        match convert_object(object, &desired) {
            Ok(object) => converted.push(object),
            Err(error) => problems.push(error.to_string()),
        }
    }
    if problems.is_empty() {
        response.success(converted).into_review()
    } else {
        response
            .failure(Status::failure(&problems.join("; "), "Invalid"))
            .into_review()
    }
}

fn unanswerable(message: String) -> ConversionReview {
    ConversionResponse::invalid(Status::failure(&message, "BadRequest")).into_review()
}

fn invalid_object(object: &str, problem: String) -> ConversionError {
    ConversionError::InvalidObject {
        object: object.to_string(),
        problem,
    }
}

/// `namespace/name` as far as the raw object tells it, for error messages.
fn object_name(fields: &Map<String, Value>) -> String {
    let metadata = fields.get("metadata");
    let field = |key: &str| metadata.and_then(|m| m.get(key)).and_then(Value::as_str);
    let name = field("name").or(field("generateName")).unwrap_or("<unnamed>");
    match field("namespace") {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_string(),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------------------------
// Reserved annotations

/// An object's metadata with both reserved annotations taken out, ready to receive the one the
/// converted object needs.
struct ReservedAnnotations {
    metadata: ObjectMeta,
    taken: BTreeMap<&'static str, String>,
}

impl ReservedAnnotations {
    fn take(metadata: &ObjectMeta) -> Self {
        let mut metadata = metadata.clone();
        let mut taken = BTreeMap::new();
        if let Some(annotations) = metadata.annotations.as_mut() {
            for key in [ANNOTATION_V1_SPEC, ANNOTATION_V2_SPEC] {
                if let Some(value) = annotations.remove(key) {
                    taken.insert(key, value);
                }
            }
        }
        Self { metadata, taken }
    }

    /// The spec recorded under `key`; `None` when absent or not valid JSON for the spec.
    fn recorded<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        serde_json::from_str(self.taken.get(key)?).ok()
    }

    fn record<T: Serialize>(&mut self, key: &str, spec: &T) {
        // The spec types serialize infallibly (string-keyed maps only); were it ever to fail, the
        // conversion would just be as lossy as the Go operator's rather than fail the request.
        if let Ok(json) = serde_json::to_string(spec) {
            self.metadata
                .annotations
                .get_or_insert_with(BTreeMap::new)
                .insert(key.to_string(), json);
        }
    }

    fn into_metadata(mut self) -> ObjectMeta {
        // A map that only held reserved annotations goes away with them, so an object without
        // annotations comes back without a map.
        if !self.taken.is_empty() && self.metadata.annotations.as_ref().is_some_and(BTreeMap::is_empty) {
            self.metadata.annotations = None;
        }
        self.metadata
    }
}

// ---------------------------------------------------------------------------------------------
// Applying a v1 edit to a recorded v2 spec

/// `original` with the v1 fields that changed between `project(original)` and `edited` written
/// over it; everything v1 cannot see, or did not change, stays as it was.
fn apply_v1_edits(original: &v2::LocustTestSpec, edited: &v1::LocustTestSpec) -> v2::LocustTestSpec {
    let before = project_spec(original);
    let lifted = lift_spec(edited);
    // Compared in the form v2 can hold, so a mere v1 spelling change (an explicit IfNotPresent)
    // is not an edit.
    let after = project_spec(&lifted);
    let mut merged = original.clone();

    if after.image != before.image {
        merged.image = lifted.image.clone();
    }
    if after.image_pull_policy != before.image_pull_policy {
        merged.image_pull_policy = lifted.image_pull_policy;
    }
    if after.image_pull_secrets != before.image_pull_secrets {
        merged.image_pull_secrets = lifted.image_pull_secrets.clone();
    }
    if after.master_command_seed != before.master_command_seed {
        merged.master.command = lifted.master.command.clone();
    }
    if after.worker_command_seed != before.worker_command_seed {
        merged.worker.command = lifted.worker.command.clone();
    }
    if after.worker_replicas != before.worker_replicas {
        merged.worker.replicas = lifted.worker.replicas;
    }

    let master_of = |maps: &Option<v1::PodMetadataMaps>| maps.as_ref().and_then(|m| m.master.clone());
    let worker_of = |maps: &Option<v1::PodMetadataMaps>| maps.as_ref().and_then(|m| m.worker.clone());
    if master_of(&after.labels) != master_of(&before.labels) {
        merged.master.labels = lifted.master.labels.clone();
    }
    if worker_of(&after.labels) != worker_of(&before.labels) {
        merged.worker.labels = lifted.worker.labels.clone();
    }
    if master_of(&after.annotations) != master_of(&before.annotations) {
        merged.master.annotations = lifted.master.annotations.clone();
    }
    if worker_of(&after.annotations) != worker_of(&before.annotations) {
        merged.worker.annotations = lifted.worker.annotations.clone();
    }

    let config_map_changed = after.config_map != before.config_map;
    let lib_config_map_changed = after.lib_config_map != before.lib_config_map;
    if config_map_changed || lib_config_map_changed {
        let mut files = merged.test_files.take().unwrap_or_default();
        if config_map_changed {
            files.config_map_ref = after.config_map.clone();
        }
        if lib_config_map_changed {
            files.lib_config_map_ref = after.lib_config_map.clone();
        }
        // Custom mount paths stay even without a ConfigMap, ready for when one is set again.
        merged.test_files = (files != v2::TestFilesConfig::default()).then_some(files);
    }

    let affinity_changed = after.affinity != before.affinity;
    let tolerations_changed = after.tolerations != before.tolerations;
    if affinity_changed || tolerations_changed {
        let mut scheduling = merged.scheduling.take().unwrap_or_else(empty_scheduling);
        if affinity_changed {
            let labels = after
                .affinity
                .as_ref()
                .and_then(|a| a.node_affinity.as_ref())
                .map(|n| &n.required_during_scheduling_ignored_during_execution);
            scheduling.affinity = merge_affinity(scheduling.affinity.take(), labels);
        }
        if tolerations_changed {
            scheduling.tolerations = merge_tolerations(scheduling.tolerations.take(), after.tolerations.as_deref());
        }
        merged.scheduling = (scheduling != empty_scheduling()).then_some(scheduling);
    }
    merged
}

/// The original affinity with its required node affinity rebuilt from the edited v1 label map.
/// Preferred node affinity and pod (anti-)affinity are kept. With a single required term, that
/// term's expressions v1 does not show are kept too; several terms (alternatives) cannot be
/// mapped to one v1 map, so they become the single term v1 describes.
fn merge_affinity(original: Option<Affinity>, labels: Option<&BTreeMap<String, String>>) -> Option<Affinity> {
    let mut affinity = original.unwrap_or_default();
    let mut node = affinity.node_affinity.take().unwrap_or_default();
    let mut terms = node
        .required_during_scheduling_ignored_during_execution
        .take()
        .map(|selector| selector.node_selector_terms)
        .unwrap_or_default();
    let shown: Vec<NodeSelectorRequirement> = terms
        .iter()
        .flat_map(|term| term.match_expressions.iter().flatten())
        .filter(|requirement| shown_label(requirement).is_some())
        .cloned()
        .collect();
    let mut term = match terms.len() {
        1 => terms.remove(0),
        _ => NodeSelectorTerm::default(),
    };
    let hidden = term
        .match_expressions
        .take()
        .unwrap_or_default()
        .into_iter()
        .filter(|requirement| shown_label(requirement).is_none());
    // An unchanged label keeps its original expression, with all of its values.
    let mut expressions: Vec<NodeSelectorRequirement> = labels
        .into_iter()
        .flatten()
        .map(|(key, value)| {
            shown
                .iter()
                .find(|requirement| shown_label(requirement) == Some((key, value)))
                .cloned()
                .unwrap_or_else(|| in_requirement(key, value))
        })
        .collect();
    expressions.extend(hidden);
    term.match_expressions = (!expressions.is_empty()).then_some(expressions);
    node.required_during_scheduling_ignored_during_execution =
        (term != NodeSelectorTerm::default()).then(|| NodeSelector {
            node_selector_terms: vec![term],
        });
    affinity.node_affinity = (node != NodeAffinity::default()).then_some(node);
    (affinity != Affinity::default()).then_some(affinity)
}

/// The edited v1 toleration list, each entry reusing an original toleration that shows the same
/// way (keeping e.g. its `tolerationSeconds`), followed by the originals v1 does not show (unless
/// the edit is an explicit empty list).
fn merge_tolerations(
    original: Option<Vec<Toleration>>,
    edited: Option<&[v1::LocustTestToleration]>,
) -> Option<Vec<Toleration>> {
    let (shown, hidden): (Vec<Toleration>, Vec<Toleration>) = original
        .unwrap_or_default()
        .into_iter()
        .partition(|t| project_toleration(t).is_some());
    let mut reused = vec![false; shown.len()];
    let mut merged: Vec<Toleration> = Vec::new();
    for wanted in edited.into_iter().flatten() {
        let reuse = shown
            .iter()
            .enumerate()
            .find(|(index, candidate)| !reused[*index] && project_toleration(candidate).as_ref() == Some(wanted));
        match reuse {
            Some((index, candidate)) => {
                reused[index] = true;
                merged.push(candidate.clone());
            }
            None => merged.push(lift_toleration(wanted)),
        }
    }
    match edited {
        // An explicit empty list clears every toleration, the ones v1 never showed too.
        Some([]) => Some(Vec::new()),
        None if hidden.is_empty() => None,
        _ => {
            merged.extend(hidden);
            Some(merged)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Field mappings

fn empty_scheduling() -> v2::SchedulingConfig {
    v2::SchedulingConfig {
        affinity: None,
        tolerations: None,
        node_selector: None,
        runtime_class_name: None,
    }
}

fn in_requirement(key: &str, value: &str) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: key.to_string(),
        operator: "In".to_string(),
        values: Some(vec![value.to_string()]),
    }
}

/// The `(label, value)` v1 shows for a node-selector expression: `In` with at least one value.
fn shown_label(requirement: &NodeSelectorRequirement) -> Option<(&String, &String)> {
    if requirement.operator != "In" {
        return None;
    }
    Some((&requirement.key, requirement.values.as_ref()?.first()?))
}

fn lift_affinity(affinity: Option<&v1::LocustTestAffinity>) -> Option<Affinity> {
    let labels = &affinity?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution;
    if labels.is_empty() {
        return None;
    }
    let term = NodeSelectorTerm {
        match_expressions: Some(labels.iter().map(|(key, value)| in_requirement(key, value)).collect()),
        match_fields: None,
    };
    Some(Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![term],
            }),
            preferred_during_scheduling_ignored_during_execution: None,
        }),
        ..Affinity::default()
    })
}

fn project_affinity(affinity: Option<&Affinity>) -> Option<v1::LocustTestAffinity> {
    let terms = &affinity?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    // Collecting into a map lets a later expression for the same key win, as in the Go operator.
    let labels: BTreeMap<String, String> = terms
        .iter()
        .flat_map(|term| term.match_expressions.iter().flatten())
        .filter_map(shown_label)
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if labels.is_empty() {
        return None;
    }
    Some(v1::LocustTestAffinity {
        node_affinity: Some(v1::LocustTestNodeAffinity {
            required_during_scheduling_ignored_during_execution: labels,
        }),
    })
}

fn lift_toleration(toleration: &v1::LocustTestToleration) -> Toleration {
    Toleration {
        key: Some(toleration.key.clone()),
        operator: Some(toleration.operator.as_str().to_string()),
        value: toleration.value.clone(),
        effect: Some(toleration.effect.as_str().to_string()),
        toleration_seconds: None,
    }
}

/// The v1 form of a toleration, or `None` when v1 cannot express its operator or effect.
fn project_toleration(toleration: &Toleration) -> Option<v1::LocustTestToleration> {
    let operator = match toleration.operator.as_deref() {
        None | Some("Equal") => v1::TolerationOperator::Equal,
        Some("Exists") => v1::TolerationOperator::Exists,
        Some(_) => return None,
    };
    let effect = match toleration.effect.as_deref()? {
        "NoSchedule" => v1::TaintEffect::NoSchedule,
        "PreferNoSchedule" => v1::TaintEffect::PreferNoSchedule,
        "NoExecute" => v1::TaintEffect::NoExecute,
        _ => return None,
    };
    Some(v1::LocustTestToleration {
        key: toleration.key.clone().unwrap_or_default(),
        operator,
        value: toleration.value.clone(),
        effect,
    })
}

/// The tolerations v1 can show; `None` when there are some but v1 can show none of them.
fn project_tolerations(tolerations: Option<&[Toleration]>) -> Option<Vec<v1::LocustTestToleration>> {
    let tolerations = tolerations?;
    let shown: Vec<_> = tolerations.iter().filter_map(project_toleration).collect();
    (!shown.is_empty() || tolerations.is_empty()).then_some(shown)
}

// ---------------------------------------------------------------------------------------------
// Decoding with field paths in errors

/// The smallest valid v1 spec; errors are located by grafting the input's fields onto it.
fn v1_spec_baseline() -> Value {
    json!({"masterCommandSeed": "", "workerCommandSeed": "", "workerReplicas": 1, "image": ""})
}

/// The smallest valid v2 spec; errors are located by grafting the input's fields onto it.
fn v2_spec_baseline() -> Value {
    json!({"image": "", "master": {"command": ""}, "worker": {"command": "", "replicas": 1}})
}

fn decode_object<S: DeserializeOwned>(
    fields: &Map<String, Value>,
    spec_baseline: &Value,
) -> Result<(ObjectMeta, S, Option<LocustTestStatus>), String> {
    let metadata = match fields.get("metadata") {
        Some(metadata) => decode_part::<ObjectMeta>("metadata", metadata, &json!({}))?,
        None => return Err("missing field `metadata`".to_string()),
    };
    let spec = match fields.get("spec") {
        Some(spec) => decode_part::<S>("spec", spec, spec_baseline)?,
        None => return Err("missing field `spec`".to_string()),
    };
    let status = match fields.get("status") {
        None | Some(Value::Null) => None,
        Some(status) => Some(decode_part::<LocustTestStatus>("status", status, &json!({}))?),
    };
    Ok((metadata, spec, status))
}

/// Decodes `value` as `T`; on failure the message starts with the deepest field to blame, e.g.
/// `spec.worker: missing field `replicas``. serde reports no paths, so the field is found by
/// trying the input's fields one at a time on a valid `baseline`.
fn decode_part<T: DeserializeOwned>(part: &str, value: &Value, baseline: &Value) -> Result<T, String> {
    let whole_error = match T::deserialize(value) {
        Ok(decoded) => return Ok(decoded),
        Err(error) => error.to_string(),
    };
    let (path, message) = match value {
        Value::Object(fields) if T::deserialize(baseline).is_ok() => {
            blame::<T>(baseline, &[], fields).unwrap_or_else(|| (Vec::new(), whole_error))
        }
        _ => (Vec::new(), whole_error),
    };
    let at = std::iter::once(part)
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(".");
    // Some deserializers already name their field; do not name it twice.
    if message.starts_with(&format!("{at}:")) {
        Err(message)
    } else {
        Err(format!("{at}: {message}"))
    }
}

/// The path (below the part) and error of the first input field that alone makes `root` fail.
/// `root` decodes as `T` and holds an object at `path`; descends into nested objects as long as
/// a valid base for them is known.
fn blame<T: DeserializeOwned>(
    root: &Value,
    path: &[String],
    fields: &Map<String, Value>,
) -> Option<(Vec<String>, String)> {
    let base_here = lookup(root, path)?.as_object()?;
    for (key, field) in fields {
        let mut trial_here = base_here.clone();
        trial_here.insert(key.clone(), field.clone());
        let Err(error) = T::deserialize(&graft(root, path, Value::Object(trial_here))) else {
            continue;
        };
        let mut field_path = path.to_vec();
        field_path.push(key.clone());
        if let Value::Object(inner) = field {
            let nested_base = match base_here.get(key) {
                Some(Value::Object(base)) => Value::Object(base.clone()),
                _ => Value::Object(Map::new()),
            };
            let nested_root = graft(root, &field_path, nested_base);
            if T::deserialize(&nested_root).is_ok()
                && let Some(deeper) = blame::<T>(&nested_root, &field_path, inner)
            {
                return Some(deeper);
            }
        }
        return Some((field_path, error.to_string()));
    }
    None
}

fn lookup<'a>(root: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(root, |value, key| value.get(key))
}

/// `root` with the value at `path` replaced (or inserted into its parent object).
fn graft(root: &Value, path: &[String], value: Value) -> Value {
    let mut grafted = root.clone();
    let Some((last, parents)) = path.split_last() else {
        return value;
    };
    let parent = parents.iter().try_fold(&mut grafted, |node, key| node.get_mut(key));
    if let Some(Value::Object(parent)) = parent {
        parent.insert(last.clone(), value);
    }
    grafted
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn baselines_are_valid_specs() {
        serde_json::from_value::<v1::LocustTestSpec>(v1_spec_baseline()).unwrap();
        serde_json::from_value::<v2::LocustTestSpec>(v2_spec_baseline()).unwrap();
    }

    #[test]
    fn errors_name_the_nested_field_to_blame() {
        let spec = json!({"image": "x", "master": {"command": "a"}, "worker": {"command": "b"}});
        let error = decode_part::<v2::LocustTestSpec>("spec", &spec, &v2_spec_baseline()).unwrap_err();
        assert_eq!(error, "spec.worker: missing field `replicas`");

        let spec = json!({"image": "x", "master": {"command": "a"}, "worker": {"command": "b", "replicas": 1},
            "scheduling": {"runtimeClassName": 7}});
        let error = decode_part::<v2::LocustTestSpec>("spec", &spec, &v2_spec_baseline()).unwrap_err();
        assert!(
            error.starts_with("spec.scheduling.runtimeClassName: invalid type: integer `7`"),
            "{error}"
        );

        let spec = json!({"image": "x", "worker": {"command": "b", "replicas": 1}});
        let error = decode_part::<v2::LocustTestSpec>("spec", &spec, &v2_spec_baseline()).unwrap_err();
        assert_eq!(error, "spec: missing field `master`");
    }

    #[test]
    fn a_self_describing_error_is_not_prefixed_twice() {
        let spec = json!({"image": "x", "imagePullSecrets": ["regcred"], "master": {"command": "a"},
            "worker": {"command": "b", "replicas": 1}});
        let error = decode_part::<v2::LocustTestSpec>("spec", &spec, &v2_spec_baseline()).unwrap_err();
        assert!(error.starts_with("spec.imagePullSecrets: in locust.io/v2"), "{error}");
        assert_eq!(error.matches("spec.imagePullSecrets").count(), 1, "{error}");
    }

    #[test]
    fn toleration_without_operator_shows_as_equal_its_kubernetes_default() {
        let toleration = Toleration {
            key: Some("dedicated".into()),
            value: Some("load".into()),
            effect: Some("NoSchedule".into()),
            toleration_seconds: Some(30),
            ..Toleration::default()
        };
        let shown = project_toleration(&toleration).unwrap();
        assert_eq!(shown.operator, v1::TolerationOperator::Equal);
        assert_eq!(
            (shown.key.as_str(), shown.value.as_deref()),
            ("dedicated", Some("load"))
        );
        assert_eq!(shown.effect, v1::TaintEffect::NoSchedule);
    }

    #[test]
    fn toleration_with_unknown_effect_or_operator_is_not_shown_in_v1() {
        let unknown_effect = Toleration {
            key: Some("k".into()),
            effect: Some("Sometimes".into()),
            ..Toleration::default()
        };
        let all_effects = Toleration {
            key: Some("k".into()),
            operator: Some("Exists".into()),
            ..Toleration::default()
        };
        let numeric = Toleration {
            operator: Some("Lt".into()),
            effect: Some("NoSchedule".into()),
            ..Toleration::default()
        };
        assert_eq!(project_toleration(&unknown_effect), None);
        assert_eq!(project_toleration(&all_effects), None);
        assert_eq!(project_toleration(&numeric), None);
        assert_eq!(project_tolerations(Some(&[unknown_effect, all_effects, numeric])), None);
        assert_eq!(project_tolerations(Some(&[])), Some(vec![]));
    }
}
