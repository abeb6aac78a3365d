//! The merged CustomResourceDefinition (v1 + v2, v2 stored), generated from the types.
//! `cargo run -p locust-shared --bin crdgen` writes it to [`CRD_PATH`]; a test fails when the
//! committed file is stale.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::CustomResourceExt;
use kube::core::crd::merge_crds;
use schemars::JsonSchema;
use serde_json::Value;

use crate::api::{v1, v2};

/// Where the generated CRD is committed, relative to the workspace root. The Helm chart renders
/// this same file, so chart and types cannot drift apart.
pub const CRD_PATH: &str = "charts/locust-operator/files/locusttests.locust.io.yaml";

/// The pattern the API server's own OpenAPI gives every `Quantity` of the core types (and that
/// controller-gen emits for them): an optional sign, a decimal number, then a binary SI suffix
/// (`Ki`..`Ei`), a decimal SI one (`n u m k M G T P E`) or an exponent (`e3`, `E-2`).
pub const QUANTITY_PATTERN: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

/// The merged CRD: v1 (served, deprecated) and v2 (served, storage).
pub fn locusttest_crd() -> CustomResourceDefinition {
    let versions = vec![
        crd_with_quantity_patterns::<v1::LocustTest>(),
        crd_with_quantity_patterns::<v2::LocustTest>(),
    ];
    // Both inputs come from the same group/kind/scope, the only things merge_crds checks.
    match merge_crds(versions, "v2") {
        Ok(crd) => crd,
        Err(error) => unreachable!("v1 and v2 LocustTest CRDs share group, kind and scope: {error}"),
    }
}

/// `K::crd()` with every `Quantity` in its schema declared as the API server declares quantities
/// of the core types: the [`QUANTITY_PATTERN`] and `anyOf: [integer, string]` next to
/// `x-kubernetes-int-or-string`.
///
/// k8s-openapi renders `Quantity` as a bare int-or-string, so without this the API server accepts
/// `cpu: lots` in a LocustTest and only the Job built from it is refused. A pattern is no CEL: it
/// costs nothing against the CEL budget. Other int-or-string fields (ports, `maxUnavailable`)
/// render the same way but are not quantities, so quantities are found by type, not by shape:
/// in a schema of `K` generated without inlining, every `Quantity` is a `$ref` to its definition.
pub fn crd_with_quantity_patterns<K: CustomResourceExt + JsonSchema>() -> CustomResourceDefinition {
    let mut crd = K::crd();
    let locations = quantity_locations::<K>();
    for version in &mut crd.spec.versions {
        let Some(schema) = version.schema.as_mut().and_then(|s| s.open_api_v3_schema.as_mut()) else {
            continue;
        };
        for location in &locations {
            if let Some(node) = schema_node(schema, location)
                && node.x_kubernetes_int_or_string == Some(true)
            {
                node.pattern = Some(QUANTITY_PATTERN.to_string());
                node.any_of = Some(
                    ["integer", "string"]
                        .map(|type_| JSONSchemaProps {
                            type_: Some(type_.to_string()),
                            ..JSONSchemaProps::default()
                        })
                        .into(),
                );
            }
        }
    }
    crd
}

/// One step from a schema node to a child node.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Property(String),
    Items,
    AdditionalProperties,
}

/// Where `K`'s schema holds a `Quantity`, as steps from the root.
fn quantity_locations<K: JsonSchema>() -> Vec<Vec<Step>> {
    let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
    let quantity = generator.subschema_for::<Quantity>();
    let root = Value::from(generator.into_root_schema_for::<K>());
    let mut found = Vec::new();
    if let Some(quantity_ref) = quantity.get("$ref").and_then(Value::as_str) {
        let mut walk = RefWalk {
            root: &root,
            quantity_ref,
            following: Vec::new(),
            found: &mut found,
        };
        walk.visit(&root, &mut Vec::new());
    }
    found
}

/// A walk over a schema with `$ref`s, collecting the paths of references to `Quantity`.
struct RefWalk<'a> {
    root: &'a Value,
    quantity_ref: &'a str,
    /// References being followed, so a recursive type ends the walk instead of looping.
    following: Vec<&'a str>,
    found: &'a mut Vec<Vec<Step>>,
}

impl<'a> RefWalk<'a> {
    fn visit(&mut self, node: &'a Value, path: &mut Vec<Step>) {
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            if reference == self.quantity_ref {
                self.found.push(path.clone());
            } else if !self.following.contains(&reference)
                && let Some(target) = reference
                    .strip_prefix('#')
                    .and_then(|pointer| self.root.pointer(pointer))
            {
                self.following.push(reference);
                self.visit(target, path);
                self.following.pop();
            }
        }
        // `Option<T>` and a `$ref` with a description wrap the type in these; the path stays.
        for keyword in ["allOf", "anyOf", "oneOf"] {
            for branch in node.get(keyword).and_then(Value::as_array).into_iter().flatten() {
                self.visit(branch, path);
            }
        }
        for (name, child) in node.get("properties").and_then(Value::as_object).into_iter().flatten() {
            self.visit_child(child, path, Step::Property(name.clone()));
        }
        if let Some(items) = node.get("items") {
            self.visit_child(items, path, Step::Items);
        }
        if let Some(additional) = node.get("additionalProperties").filter(|a| a.is_object()) {
            self.visit_child(additional, path, Step::AdditionalProperties);
        }
    }

    fn visit_child(&mut self, child: &'a Value, path: &mut Vec<Step>, step: Step) {
        path.push(step);
        self.visit(child, path);
        path.pop();
    }
}

/// The node `path` leads to in a CRD schema.
fn schema_node<'a>(schema: &'a mut JSONSchemaProps, path: &[Step]) -> Option<&'a mut JSONSchemaProps> {
    let Some((step, rest)) = path.split_first() else {
        return Some(schema);
    };
    let child = match step {
        Step::Property(name) => schema.properties.as_mut()?.get_mut(name)?,
        Step::Items => match schema.items.as_mut()? {
            JSONSchemaPropsOrArray::Schema(items) => items.as_mut(),
            JSONSchemaPropsOrArray::Schemas(_) => return None,
        },
        Step::AdditionalProperties => match schema.additional_properties.as_mut()? {
            JSONSchemaPropsOrBool::Schema(additional) => additional.as_mut(),
            JSONSchemaPropsOrBool::Bool(_) => return None,
        },
    };
    schema_node(child, rest)
}

/// The merged CRD as the YAML file that is committed.
pub fn locusttest_crd_yaml() -> String {
    let body = serde_yaml::to_string(&locusttest_crd()).unwrap_or_default();
    format!("# Generated by `cargo run -p locust-shared --bin crdgen`; do not edit.\n{body}")
}

/// Path the API server posts `ConversionReview`s to; the webhook serves exactly this path.
pub const CONVERSION_WEBHOOK_PATH: &str = "/convert";

/// Most CA certificates [`merge_ca_bundle`] keeps. Each operator replica that makes its own
/// certificate adds its CA, so this bounds the replicas (plus rollout surge) that can serve the
/// webhook at the same time while keeping the CRD small.
pub const MAX_BUNDLED_CAS: usize = 5;

/// Why a CA certificate cannot be added to the CRD's `caBundle`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaBundleError {
    /// The new CA is not one PEM `CERTIFICATE` block.
    #[error("the new CA is not a PEM CERTIFICATE block: {0}")]
    NotPem(String),
    /// The PEM block does not hold an X.509 certificate.
    #[error("the new CA is not a valid X.509 certificate: {0}")]
    NotCertificate(String),
}

/// One CA of a bundle: its DER bytes and validity, in Unix seconds.
struct BundledCa {
    der: Vec<u8>,
    not_before: i64,
    not_after: i64,
}

impl BundledCa {
    fn from_der(der: Vec<u8>) -> Result<Self, String> {
        let (not_before, not_after) = match x509_parser::parse_x509_certificate(&der) {
            Ok((_, certificate)) => {
                let validity = certificate.validity();
                (validity.not_before.timestamp(), validity.not_after.timestamp())
            }
            Err(error) => return Err(error.to_string()),
        };
        Ok(Self {
            der,
            not_before,
            not_after,
        })
    }
}

/// The CRD's `caBundle` after one more operator replica adds its CA.
///
/// Several replicas serve the webhook behind one Service, each with its own CA, so the API server
/// must trust all of them: the new CA is added, never swapped in. The result holds the new CA
/// first, then the existing certificates that are still valid at `now` (expired ones are
/// dropped), newest `notBefore` first, without duplicates, at most [`MAX_BUNDLED_CAS`] in all.
/// Blocks of the existing bundle that are not X.509 certificates are dropped: the API server
/// could not use them either.
pub fn merge_ca_bundle(
    existing_pem_bundle: &[u8],
    new_ca_pem: &str,
    now: k8s_openapi::jiff::Timestamp,
) -> Result<Vec<u8>, CaBundleError> {
    let new_block = pem::parse(new_ca_pem).map_err(|error| CaBundleError::NotPem(error.to_string()))?;
    if new_block.tag() != "CERTIFICATE" {
        return Err(CaBundleError::NotPem(format!("found a {} block", new_block.tag())));
    }
    let new_ca = BundledCa::from_der(new_block.into_contents()).map_err(CaBundleError::NotCertificate)?;

    let now = now.as_second();
    // A block that does not decode is skipped, the rest of the bundle still counts.
    let mut kept: Vec<BundledCa> = x509_parser::pem::Pem::iter_from_buffer(existing_pem_bundle)
        .filter_map(Result::ok)
        .filter(|block| block.label == "CERTIFICATE")
        .filter_map(|block| BundledCa::from_der(block.contents).ok())
        .filter(|ca| ca.not_after > now && ca.der != new_ca.der)
        .collect();
    // Ties broken by the bytes so the output does not depend on the input order.
    kept.sort_by(|a, b| b.not_before.cmp(&a.not_before).then_with(|| a.der.cmp(&b.der)));
    kept.dedup_by(|a, b| a.der == b.der);
    kept.truncate(MAX_BUNDLED_CAS - 1);

    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    let bundle: String = std::iter::once(new_ca)
        .chain(kept)
        .map(|ca| pem::encode_config(&pem::Pem::new("CERTIFICATE", ca.der), config))
        .collect();
    Ok(bundle.into_bytes())
}

/// The JSON merge patch that routes the CRD's conversions to the operator's webhook: strategy
/// `Webhook`, ConversionReview `v1`, the Service `service_namespace/service_name:port` at
/// [`CONVERSION_WEBHOOK_PATH`], and `ca_bundle` (PEM) as the CA the API server trusts. It also
/// removes a `url` client config, which the API server does not accept together with `service`.
pub fn conversion_webhook_patch(
    ca_bundle: &[u8],
    service_namespace: &str,
    service_name: &str,
    port: i32,
) -> serde_json::Value {
    // ByteString serializes as the base64 string the API expects for caBundle.
    let ca_bundle = serde_json::to_value(k8s_openapi::ByteString(ca_bundle.to_vec())).unwrap_or_default();
    serde_json::json!({
        "spec": {
            "conversion": {
                "strategy": "Webhook",
                "webhook": {
                    "conversionReviewVersions": ["v1"],
                    "clientConfig": {
                        "url": null,
                        "service": {
                            "namespace": service_namespace,
                            "name": service_name,
                            "path": CONVERSION_WEBHOOK_PATH,
                            "port": port,
                        },
                        "caBundle": ca_bundle,
                    },
                },
            },
        },
    })
}
