//! Client-side validation of a LocustTest, so the plugin and the operator can reject a bad test
//! with every problem listed before anything reaches the cluster.
//!
//! Nothing here restates a rule: the OpenAPI bounds and the CEL rules are read from the generated
//! CRD ([`crate::crd::locusttest_crd`]), the same schema the API server enforces. kube-cel
//! evaluates only the CEL rules, so the OpenAPI bounds (minimum, maximum, maxItems, maxLength,
//! pattern, enum, ...) are checked here by walking that schema.

use std::fmt;
use std::sync::OnceLock;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::api::{v1, v2};
use crate::constants::{KIND, MAX_TEST_NAME_LEN};
use crate::crd::QUANTITY_PATTERN;

/// One problem with a LocustTest: where it is and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the offending field, e.g. `spec.worker.replicas`; empty for the whole document.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl FieldError {
    /// A problem at `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// True when the message already names the field (the CRD's rule messages do, some without
    /// the `spec.` prefix), so printing the field again would only repeat it.
    fn message_names_field(&self) -> bool {
        let relative = self.field.strip_prefix("spec.").unwrap_or(&self.field);
        self.message.starts_with(&self.field) || (!relative.is_empty() && self.message.starts_with(relative))
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() || self.message_names_field() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for FieldError {}

/// The apiVersion this crate accepts for new tests.
const V2_API_VERSION: &str = "locust.io/v2";
/// The deprecated apiVersion.
const V1_API_VERSION: &str = "locust.io/v1";
/// The API server truncates `generateName` to this many characters before appending 5 random ones.
const GENERATE_NAME_KEPT: usize = 58;
/// Characters the API server appends to `generateName`.
const GENERATED_SUFFIX: &str = "xxxxx";

/// Reads one `locust.io/v2` LocustTest from YAML or JSON.
///
/// Every error names the field: wrong types (`spec.worker.replicas: invalid type: string "3",
/// expected i32`), unsupported enum values (with the allowed ones), missing required fields,
/// unknown fields (which `kubectl apply` rejects by default), and the wrong shapes some docs show
/// (with the right form). A `locust.io/v1` document is refused with directions to v2.
pub fn parse_locust_test(yaml_or_json: &str) -> Result<v2::LocustTest, Vec<FieldError>> {
    let mut document: serde_yaml::Value = serde_yaml::from_str(yaml_or_json).map_err(|error| {
        vec![FieldError::new(
            "",
            format!("cannot read the document as YAML or JSON: {error}; provide exactly one LocustTest document"),
        )]
    })?;
    // kubectl resolves `<<: *anchor` merge keys; serde_yaml leaves them as literal `<<` keys.
    document.apply_merge().map_err(|error| {
        vec![FieldError::new(
            "",
            format!("cannot resolve a YAML merge key (<<): {error}"),
        )]
    })?;
    let serde_yaml::Value::Mapping(root) = &document else {
        let what = if document.is_null() { "empty" } else { "not a mapping" };
        return Err(vec![FieldError::new(
            "",
            format!(
                "the document is {what}; write a LocustTest object with apiVersion: {V2_API_VERSION}, kind: {KIND}, metadata and spec"
            ),
        )]);
    };

    let mut errors = Vec::new();
    match root.get("kind").and_then(serde_yaml::Value::as_str) {
        Some(KIND) => {}
        Some(other) => errors.push(FieldError::new("kind", format!("must be {KIND}, got \"{other}\""))),
        None => errors.push(FieldError::new("kind", format!("required; set kind: {KIND}"))),
    }
    match root.get("apiVersion").and_then(serde_yaml::Value::as_str) {
        Some(V2_API_VERSION) => {}
        Some(V1_API_VERSION) => {
            errors.extend(v1_errors(&document));
            return Err(errors);
        }
        Some(other) => {
            errors.push(FieldError::new(
                "apiVersion",
                format!("unsupported \"{other}\"; set apiVersion: {V2_API_VERSION}"),
            ));
            return Err(errors);
        }
        None => {
            errors.push(FieldError::new(
                "apiVersion",
                format!("required; set apiVersion: {V2_API_VERSION}"),
            ));
            return Err(errors);
        }
    }

    match v2_schema() {
        Ok(schema) => unknown_fields(schema, &document, "", &mut errors),
        Err(error) => errors.push(error.clone()),
    }
    match serde_path_to_error::deserialize::<_, v2::LocustTest>(document) {
        Ok(test) if errors.is_empty() => Ok(test),
        Ok(_) => Err(errors),
        Err(error) => {
            errors.push(deserialize_error(error));
            Err(errors)
        }
    }
}

/// Checks a LocustTest the way the API server would and reports every problem at once: the
/// OpenAPI bounds of the CRD schema, then its CEL rules.
pub fn validate(test: &v2::LocustTest) -> Result<(), Vec<FieldError>> {
    let schema = v2_schema().map_err(|error| vec![error.clone()])?;
    let object = serde_json::to_value(test).map_err(|error| {
        vec![FieldError::new(
            "",
            format!("cannot serialize the LocustTest for validation: {error}"),
        )]
    })?;
    let mut errors = Vec::new();
    schema_bounds(schema, &object, "", &mut errors);
    errors.extend(cel_errors(schema, object, &test.metadata));
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// [`parse_locust_test`] then [`validate`]: what a client runs before it submits a test.
pub fn parse_and_validate(yaml_or_json: &str) -> Result<v2::LocustTest, Vec<FieldError>> {
    let test = parse_locust_test(yaml_or_json)?;
    validate(&test)?;
    Ok(test)
}

/// The v2 openAPIV3Schema of the CRD the API server gets, as JSON, generated once.
fn v2_schema() -> Result<&'static Value, &'static FieldError> {
    static SCHEMA: OnceLock<Result<Value, FieldError>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let crd = crate::crd::locusttest_crd();
            crd.spec
                .versions
                .iter()
                .find(|version| version.name == "v2")
                .and_then(|version| version.schema.as_ref())
                .and_then(|schema| schema.open_api_v3_schema.as_ref())
                .and_then(|schema| serde_json::to_value(schema).ok())
                .ok_or_else(|| {
                    FieldError::new(
                        "",
                        "the v2 CRD has no openAPIV3Schema; this is a bug in the LocustTest types",
                    )
                })
        })
        .as_ref()
}

/// A v1 document is refused; its own shape errors come first so a user fixing it sees them all.
fn v1_errors(document: &serde_yaml::Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Err(error) = serde_path_to_error::deserialize::<_, v1::LocustTest>(document.clone()) {
        errors.push(deserialize_error(error));
    }
    errors.push(FieldError::new(
        "apiVersion",
        format!(
            "{V1_API_VERSION} LocustTest is deprecated; write the test as apiVersion: {V2_API_VERSION}: \
             masterCommandSeed -> spec.master.command, workerCommandSeed -> spec.worker.command, \
             workerReplicas -> spec.worker.replicas, configMap -> spec.testFiles.configMapRef, \
             libConfigMap -> spec.testFiles.libConfigMapRef, labels/annotations.master|worker -> \
             spec.master|worker.labels/annotations, affinity and tolerations -> spec.scheduling, \
             imagePullSecrets: [name] -> imagePullSecrets: [{{name: name}}]"
        ),
    ));
    errors
}

/// Turns a serde error into a field error: the path from serde_path_to_error, and for the common
/// cases a message that says what to do.
fn deserialize_error(error: serde_path_to_error::Error<serde_yaml::Error>) -> FieldError {
    let path = match error.path().to_string() {
        root if root == "." => String::new(),
        path => path,
    };
    let message = error.inner().to_string();
    if let Some(missing) = between(&message, "missing field `", "`") {
        return FieldError::new(join_field(&path, missing), "required; add it");
    }
    if let Some(value) = between(&message, "unknown variant `", "`") {
        let allowed: Vec<String> = message
            .split_once("expected")
            .map(|(_, expected)| backticked(expected).into_iter().map(|v| format!("\"{v}\"")).collect())
            .unwrap_or_default();
        return FieldError::new(
            path,
            format!("unsupported value \"{value}\"; use one of {}", allowed.join(", ")),
        );
    }
    FieldError::new(path, message)
}

/// The text between `start` and the next `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let (_, rest) = text.split_once(start)?;
    rest.split_once(end).map(|(inner, _)| inner)
}

/// Every `quoted` token in serde's "expected `a`, `b` or `c`".
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

fn join_field(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}.{child}")
    }
}

/// Reports keys the schema does not declare. serde drops them silently, the API server prunes
/// them, and `kubectl apply` (strict field validation) refuses them, so a typo must not pass.
/// Also reports fractional numbers in quantity fields: the typed parse accepts them, the API
/// server's int-or-string schema does not.
fn unknown_fields(schema: &Value, value: &serde_yaml::Value, path: &str, errors: &mut Vec<FieldError>) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    match value {
        serde_yaml::Value::Mapping(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, child) in map {
                let key = yaml_key(key);
                let field = join_field(path, &key);
                // Map entries are named like fields (`limits.cpu`), as the API server names them.
                if let Some(child_schema) = properties.and_then(|p| p.get(&key)).or(additional) {
                    unknown_fields(child_schema, child, &field, errors);
                } else if path.is_empty() && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    // The root schema leaves these to the API server; they are checked elsewhere.
                } else if let Some(properties) = properties {
                    errors.push(FieldError::new(field, unknown_field_message(&key, properties)));
                }
            }
        }
        serde_yaml::Value::Sequence(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    unknown_fields(item_schema, item, &format!("{path}[{index}]"), errors);
                }
            }
        }
        serde_yaml::Value::Tagged(tagged) => unknown_fields(schema, &tagged.value, path, errors),
        serde_yaml::Value::Number(number)
            if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
                && number.as_i64().is_none()
                && number.as_u64().is_none() =>
        {
            errors.push(FieldError::new(
                path,
                format!("must be an integer or a string, not the number {number}; quote it: \"{number}\""),
            ));
        }
        _ => {}
    }
}

fn yaml_key(key: &serde_yaml::Value) -> String {
    match key {
        serde_yaml::Value::String(key) => key.clone(),
        other => serde_yaml::to_string(other)
            .map(|s| s.trim_end().to_string())
            .unwrap_or_default(),
    }
}

/// "unknown field; did you mean X?" for a near miss, otherwise the fields allowed there.
fn unknown_field_message(key: &str, properties: &serde_json::Map<String, Value>) -> String {
    let closest = properties
        .keys()
        .map(|known| (edit_distance(&key.to_lowercase(), &known.to_lowercase()), known))
        .min_by_key(|(distance, _)| *distance);
    match closest {
        Some((distance, known)) if distance <= 2 || known.eq_ignore_ascii_case(key) => {
            format!("unknown field \"{key}\"; did you mean \"{known}\"?")
        }
        _ => {
            let known: Vec<&str> = properties.keys().map(String::as_str).collect();
            format!(
                "unknown field \"{key}\"; remove it (fields allowed here: {})",
                known.join(", ")
            )
        }
    }
}

/// Levenshtein distance, for suggesting the field a typo meant.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, b_char) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != *b_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Checks the OpenAPI constraints of `schema` on `value`, recursing through properties, items and
/// additionalProperties. Messages follow the API server's wording but say what to do.
fn schema_bounds(schema: &Value, value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    if value.is_null() {
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        let allowed: Vec<&Value> = allowed.iter().filter(|v| !v.is_null()).collect();
        if !allowed.contains(&value) {
            let listed: Vec<String> = allowed.iter().map(|v| v.to_string()).collect();
            errors.push(FieldError::new(
                path,
                format!("unsupported value {value}; use one of {}", listed.join(", ")),
            ));
        }
    }
    match value {
        Value::Number(number) => number_bounds(schema, number, path, errors),
        Value::String(text) => string_bounds(schema, text, path, errors),
        Value::Array(items) => {
            let count = items.len();
            if let Some(max) = schema_count(schema, "maxItems").filter(|max| count > *max) {
                errors.push(FieldError::new(
                    path,
                    format!("must have at most {max} items, got {count}; remove {}", count - max),
                ));
            }
            if let Some(min) = schema_count(schema, "minItems").filter(|min| count < *min) {
                errors.push(FieldError::new(
                    path,
                    format!("must have at least {min} items, got {count}; add {}", min - count),
                ));
            }
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    schema_bounds(item_schema, item, &format!("{path}[{index}]"), errors);
                }
            }
        }
        Value::Object(map) => {
            let count = map.len();
            if let Some(max) = schema_count(schema, "maxProperties").filter(|max| count > *max) {
                errors.push(FieldError::new(
                    path,
                    format!("must have at most {max} entries, got {count}; remove {}", count - max),
                ));
            }
            if let Some(min) = schema_count(schema, "minProperties").filter(|min| count < *min) {
                errors.push(FieldError::new(
                    path,
                    format!("must have at least {min} entries, got {count}; add {}", min - count),
                ));
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, child) in map {
                // Map entries are named like fields (`limits.cpu`), as the API server names them.
                if let Some(child_schema) = properties.and_then(|p| p.get(key)).or(additional) {
                    schema_bounds(child_schema, child, &join_field(path, key), errors);
                }
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

fn schema_count(schema: &Value, keyword: &str) -> Option<usize> {
    schema
        .get(keyword)
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
}

fn number_bounds(schema: &Value, number: &serde_json::Number, path: &str, errors: &mut Vec<FieldError>) {
    let Some(value) = number.as_f64() else { return };
    let minimum = schema.get("minimum").and_then(Value::as_f64);
    let maximum = schema.get("maximum").and_then(Value::as_f64);
    let exclusive_min = schema.get("exclusiveMinimum") == Some(&Value::Bool(true));
    let exclusive_max = schema.get("exclusiveMaximum") == Some(&Value::Bool(true));
    let too_small = minimum.is_some_and(|min| if exclusive_min { value <= min } else { value < min });
    let too_large = maximum.is_some_and(|max| if exclusive_max { value >= max } else { value > max });
    if !too_small && !too_large {
        return;
    }
    let message = match (minimum, maximum) {
        (Some(min), Some(max)) if !exclusive_min && !exclusive_max => {
            format!("must be between {} and {}, got {number}", plain(min), plain(max))
        }
        _ if too_small => {
            let bound = minimum.map(plain).unwrap_or_default();
            let relation = if exclusive_min {
                "greater than"
            } else {
                "greater than or equal to"
            };
            format!("must be {relation} {bound}, got {number}")
        }
        _ => {
            let bound = maximum.map(plain).unwrap_or_default();
            let relation = if exclusive_max {
                "less than"
            } else {
                "less than or equal to"
            };
            format!("must be {relation} {bound}, got {number}")
        }
    };
    errors.push(FieldError::new(path, message));
}

/// `1.0` as `1`: schemars writes integer bounds as floats.
fn plain(bound: f64) -> String {
    if bound.fract() == 0.0 && bound.abs() < 1e15 {
        format!("{}", bound as i64)
    } else {
        bound.to_string()
    }
}

fn string_bounds(schema: &Value, text: &str, path: &str, errors: &mut Vec<FieldError>) {
    // The API server counts characters, not bytes.
    let length = text.chars().count();
    if let Some(max) = schema_count(schema, "maxLength").filter(|max| length > *max) {
        errors.push(FieldError::new(
            path,
            format!("must be at most {max} characters, got {length}; shorten it"),
        ));
    }
    if let Some(min) = schema_count(schema, "minLength").filter(|min| length < *min) {
        let message = if min == 1 {
            "must not be empty; set a value or leave the field out".to_string()
        } else {
            format!("must be at least {min} characters, got {length}; lengthen it")
        };
        errors.push(FieldError::new(path, message));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        // A pattern the regex crate cannot compile is not ours to judge; the API server checks it.
        if let Ok(regex) = regex::Regex::new(pattern)
            && !regex.is_match(text)
        {
            let message = if pattern == QUANTITY_PATTERN {
                format!(
                    "\"{text}\" is not a Kubernetes quantity; write a number with an optional unit, \
                     such as 500m, 2, 1.5, 1e3 or 1.5Gi (units: m, k, M, G, T, Ki, Mi, Gi, Ti; no space)"
                )
            } else {
                format!("\"{text}\" does not match the required pattern {pattern}; change it to a value that matches")
            };
            errors.push(FieldError::new(path, message));
        }
    }
}

/// Where the name the CEL rules see came from.
enum NameSource {
    Name,
    /// Stands in for the name the API server will generate.
    GenerateName,
    Missing,
}

/// Evaluates the CRD's CEL rules (with schema defaults applied, as the API server does).
fn cel_errors(schema: &Value, mut object: Value, metadata: &ObjectMeta) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let present = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
    let (name, source) = match (present(&metadata.name), present(&metadata.generate_name)) {
        (Some(name), _) => (name, NameSource::Name),
        // The root rules need a name; the server's will be generateName plus 5 random characters.
        (None, Some(prefix)) => {
            let kept: String = prefix.chars().take(GENERATE_NAME_KEPT).collect();
            (kept + GENERATED_SUFFIX, NameSource::GenerateName)
        }
        (None, None) => {
            errors.push(FieldError::new(
                "metadata.name",
                "required; set metadata.name or metadata.generateName",
            ));
            // An empty name satisfies the root rules, so only the other rules report.
            (String::new(), NameSource::Missing)
        }
    };
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("name".into(), Value::String(name));
    }
    let Err(failures) = kube::core::cel::Validator::new().validate(schema, &object, None) else {
        return errors;
    };
    for failure in failures.into_vec() {
        let reported = failure.field_path.trim_start_matches('.');
        let field = if !reported.is_empty() {
            reported.to_string()
        } else if failure.rule.contains("metadata.name") {
            match source {
                NameSource::GenerateName => "metadata.generateName".to_string(),
                NameSource::Name | NameSource::Missing => "metadata.name".to_string(),
            }
        } else {
            String::new()
        };
        let mut message = failure.message;
        if matches!(
            failure.kind,
            kube::core::cel::ErrorKind::EvaluationError | kube::core::cel::ErrorKind::UnsupportedReference
        ) {
            message = format!(
                "rule `{}` could not be evaluated ({message}); fix the fields it reads",
                failure.rule
            );
        }
        if field == "metadata.generateName" {
            message = format!(
                "{message}; the API server appends 5 random characters to metadata.generateName, so it may have at most {} characters",
                MAX_TEST_NAME_LEN - GENERATED_SUFFIX.len()
            );
        }
        errors.push(FieldError::new(field, message));
    }
    errors
}
