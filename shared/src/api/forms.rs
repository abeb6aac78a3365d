//! Deserializers for the two fields where the advanced-topics examples use another shape than the
//! API reference. The API reference decides; these turn the other shape into an error that shows
//! the right form instead of serde's generic "invalid type".

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::LocalObjectReference;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

/// `imagePullSecrets: [{name: ...}]`; a plain string item is rejected with the right form.
pub(super) fn pull_secret_refs<'de, D>(deserializer: D) -> Result<Option<Vec<LocalObjectReference>>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Item {
        Ref(LocalObjectReference),
        Plain(String),
    }
    let Some(items) = Option::<Vec<Item>>::deserialize(deserializer)? else {
        return Ok(None);
    };
    items
        .into_iter()
        .map(|item| match item {
            Item::Ref(reference) => Ok(reference),
            Item::Plain(name) => Err(de::Error::custom(format!(
                "spec.imagePullSecrets: in locust.io/v2 each entry is an object, write `- name: {name}` instead of `- {name}`"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `extraEnvVars: {NAME: value}`; a list of `{name, value}` is rejected with the right form.
pub(super) fn string_map<'de, D>(deserializer: D) -> Result<Option<BTreeMap<String, String>>, D::Error>
where
    D: Deserializer<'de>,
{
    struct MapOnly;

    impl<'de> Visitor<'de> for MapOnly {
        type Value = Option<BTreeMap<String, String>>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of environment variable names to values")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_any(self)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut map = BTreeMap::new();
            while let Some((key, value)) = access.next_entry::<String, String>()? {
                map.insert(key, value);
            }
            Ok(Some(map))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut example = String::new();
            while let Some(entry) = access.next_element::<serde_json::Value>()? {
                if let (Some(name), Some(value)) = (
                    entry.get("name").and_then(|n| n.as_str()),
                    entry.get("value").and_then(|v| v.as_str()),
                ) {
                    example.push_str(&format!(" {name}: \"{value}\","));
                }
            }
            let example = if example.is_empty() {
                " OTEL_SERVICE_NAME: \"my-load-test\"".to_string()
            } else {
                example.trim_end_matches(',').to_string()
            };
            Err(de::Error::custom(format!(
                "spec.observability.openTelemetry.extraEnvVars must be a map of NAME: value, not a list of {{name, value}}; write `extraEnvVars: {{{example} }}`"
            )))
        }
    }

    deserializer.deserialize_option(MapOnly)
}
