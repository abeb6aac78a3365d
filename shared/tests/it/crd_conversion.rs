//! The CRD's conversion block: the CA bundle every operator replica adds its CA to, and the merge
//! patch that routes conversions to the webhook Service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::jiff::Timestamp;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, date_time_ymd};
use serde_json::{Value, json};
use shared::crd::{
    CONVERSION_WEBHOOK_PATH, CaBundleError, MAX_BUNDLED_CAS, conversion_webhook_patch, locusttest_crd, merge_ca_bundle,
};

/// "Now" in these tests: 2026-06-01.
fn now() -> Timestamp {
    "2026-06-01T00:00:00Z".parse().unwrap()
}

/// A self-signed CA valid from `from_day` of 2026 (day of the year, 1-based) until `until`.
fn ca(name: &str, from_day: u64, until: (i32, u8, u8)) -> String {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = date_time_ymd(2026, 1, 1) + std::time::Duration::from_secs((from_day - 1) * 86_400);
    params.not_after = date_time_ymd(until.0, until.1, until.2);
    params.self_signed(&KeyPair::generate().unwrap()).unwrap().pem()
}

/// A CA valid from `from_day` of 2026 for a year.
fn live_ca(name: &str, from_day: u64) -> String {
    ca(name, from_day, (2027, 12, 31))
}

/// The DER bytes of every certificate in a PEM bundle, in order.
fn certificates(bundle: &[u8]) -> Vec<Vec<u8>> {
    let blocks = pem::parse_many(bundle).unwrap();
    assert!(
        blocks.iter().all(|block| block.tag() == "CERTIFICATE"),
        "only certificates in the bundle"
    );
    blocks.into_iter().map(pem::Pem::into_contents).collect()
}

fn der(ca_pem: &str) -> Vec<u8> {
    pem::parse(ca_pem).unwrap().into_contents()
}

fn bundle_of(cas: &[&str]) -> Vec<u8> {
    cas.concat().into_bytes()
}

#[test]
fn first_replica_writes_a_bundle_of_its_own_ca() {
    let ca = live_ca("replica-a", 10);
    let bundle = merge_ca_bundle(b"", &ca, now()).unwrap();
    assert_eq!(certificates(&bundle), vec![der(&ca)]);
    let text = String::from_utf8(bundle).unwrap();
    assert!(!text.contains('\r'), "PEM uses LF line endings");
}

#[test]
fn another_replica_adds_its_ca_instead_of_replacing() {
    let first = live_ca("replica-a", 10);
    let second = live_ca("replica-b", 11);
    let bundle = merge_ca_bundle(first.as_bytes(), &second, now()).unwrap();
    assert_eq!(certificates(&bundle), vec![der(&second), der(&first)]);
}

#[test]
fn adding_a_ca_already_in_the_bundle_keeps_one_copy() {
    let first = live_ca("replica-a", 10);
    let second = live_ca("replica-b", 11);
    let existing = bundle_of(&[&first, &second, &first]);
    let bundle = merge_ca_bundle(&existing, &second, now()).unwrap();
    assert_eq!(certificates(&bundle), vec![der(&second), der(&first)]);
}

#[test]
fn expired_cas_are_dropped() {
    let expired = ca("old-replica", 1, (2026, 5, 31));
    let live = live_ca("replica-a", 10);
    let new = live_ca("replica-b", 20);
    let bundle = merge_ca_bundle(&bundle_of(&[&expired, &live]), &new, now()).unwrap();
    assert_eq!(certificates(&bundle), vec![der(&new), der(&live)]);
}

#[test]
fn only_the_newest_cas_are_kept() {
    let existing: Vec<String> = (1..=6).map(|day| live_ca(&format!("replica-{day}"), day)).collect();
    let new = live_ca("replica-new", 30);
    let refs: Vec<&str> = existing.iter().map(String::as_str).collect();
    let bundle = merge_ca_bundle(&bundle_of(&refs), &new, now()).unwrap();

    let expected: Vec<Vec<u8>> = std::iter::once(der(&new))
        .chain([6, 5, 4, 3].map(|day| der(&existing[day - 1])))
        .collect();
    assert_eq!(expected.len(), MAX_BUNDLED_CAS);
    assert_eq!(certificates(&bundle), expected);
}

#[test]
fn the_new_ca_is_kept_even_when_older_than_the_others() {
    // A replica whose clock is behind still has its own CA trusted.
    let existing: Vec<String> = (10..=14).map(|day| live_ca(&format!("replica-{day}"), day)).collect();
    let new = live_ca("slow-clock", 2);
    let refs: Vec<&str> = existing.iter().map(String::as_str).collect();
    let bundle = merge_ca_bundle(&bundle_of(&refs), &new, now()).unwrap();
    let certs = certificates(&bundle);
    assert_eq!(certs.len(), MAX_BUNDLED_CAS);
    assert_eq!(certs[0], der(&new));
    assert!(!certs.contains(&der(&existing[0])), "the oldest other CA made room");
}

#[test]
fn the_result_does_not_depend_on_the_order_of_the_existing_bundle() {
    let a = live_ca("replica-a", 3);
    let b = live_ca("replica-b", 7);
    let c = live_ca("replica-c", 5);
    let new = live_ca("replica-new", 9);
    let forward = merge_ca_bundle(&bundle_of(&[&a, &b, &c]), &new, now()).unwrap();
    let backward = merge_ca_bundle(&bundle_of(&[&c, &b, &a]), &new, now()).unwrap();
    assert_eq!(forward, backward);
    assert_eq!(certificates(&forward), vec![der(&new), der(&b), der(&c), der(&a)]);
}

#[test]
fn blocks_that_are_not_certificates_are_dropped_and_the_rest_kept() {
    let live = live_ca("replica-a", 10);
    let new = live_ca("replica-b", 11);
    let key = KeyPair::generate().unwrap().serialize_pem();
    let not_x509 = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    let existing = format!("some text before\n{key}{not_x509}{live}trailing words\n");
    let bundle = merge_ca_bundle(existing.as_bytes(), &new, now()).unwrap();
    assert_eq!(certificates(&bundle), vec![der(&new), der(&live)]);
}

#[test]
fn a_new_ca_that_is_not_a_certificate_is_an_error() {
    assert!(matches!(
        merge_ca_bundle(b"", "not pem at all", now()),
        Err(CaBundleError::NotPem(_))
    ));
    let key = KeyPair::generate().unwrap().serialize_pem();
    let error = merge_ca_bundle(b"", &key, now()).unwrap_err();
    assert_eq!(error, CaBundleError::NotPem("found a PRIVATE KEY block".into()));
    let not_x509 = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        merge_ca_bundle(b"", not_x509, now()),
        Err(CaBundleError::NotCertificate(_))
    ));
}

/// RFC 7386 JSON merge patch, as the API server applies `application/merge-patch+json`.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let target = target.as_object_mut().unwrap();
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

fn patched_crd(mut crd: Value, patch: &Value) -> CustomResourceDefinition {
    merge_patch(&mut crd, patch);
    serde_json::from_value(crd).unwrap()
}

#[test]
fn the_patch_routes_conversions_to_the_webhook_service() {
    let bundle = bundle_of(&[&live_ca("replica-a", 10)]);
    let patch = conversion_webhook_patch(&bundle, "locust-system", "locust-operator-webhook", 443);
    let original = locusttest_crd();
    let crd = patched_crd(serde_json::to_value(&original).unwrap(), &patch);

    let conversion = crd.spec.conversion.as_ref().unwrap();
    assert_eq!(conversion.strategy, "Webhook");
    let webhook = conversion.webhook.as_ref().unwrap();
    assert_eq!(webhook.conversion_review_versions, vec!["v1".to_string()]);
    let client_config = webhook.client_config.as_ref().unwrap();
    assert_eq!(client_config.url, None);
    assert_eq!(client_config.ca_bundle.as_ref().unwrap().0, bundle);
    let service = client_config.service.as_ref().unwrap();
    assert_eq!(service.namespace, "locust-system");
    assert_eq!(service.name, "locust-operator-webhook");
    assert_eq!(service.path.as_deref(), Some(CONVERSION_WEBHOOK_PATH));
    assert_eq!(service.path.as_deref(), Some("/convert"));
    assert_eq!(service.port, Some(443));
    // Nothing but the conversion block changes.
    assert_eq!(crd.spec.versions, original.spec.versions);
    assert_eq!(crd.spec.names, original.spec.names);
    assert_eq!(crd.metadata, original.metadata);
}

#[test]
fn the_patch_replaces_a_url_client_config() {
    let mut crd = serde_json::to_value(locusttest_crd()).unwrap();
    crd["spec"]["conversion"] = json!({
        "strategy": "Webhook",
        "webhook": {
            "conversionReviewVersions": ["v1beta1", "v1"],
            "clientConfig": {"url": "https://old.example.com/convert", "caBundle": "b2xk"},
        },
    });
    let bundle = bundle_of(&[&live_ca("replica-a", 10)]);
    let crd = patched_crd(crd, &conversion_webhook_patch(&bundle, "ns", "svc", 9443));
    let webhook = crd.spec.conversion.unwrap().webhook.unwrap();
    assert_eq!(webhook.conversion_review_versions, vec!["v1".to_string()]);
    let client_config = webhook.client_config.unwrap();
    assert_eq!(client_config.url, None);
    assert_eq!(client_config.service.unwrap().port, Some(9443));
    assert_eq!(client_config.ca_bundle.unwrap().0, bundle);
}

#[test]
fn the_ca_bundle_travels_as_base64() {
    let patch = conversion_webhook_patch(b"PEM", "ns", "svc", 443);
    assert_eq!(
        patch["spec"]["conversion"]["webhook"]["clientConfig"]["caBundle"],
        json!("UEVN")
    );
}
