//! Creating a submission in the cluster: ConfigMaps first (so pods never wait on a missing
//! volume), then the LocustTest, then the ConfigMaps are made the test's dependents so deleting
//! the test deletes them. A failure leaves nothing behind.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use shared::api::v2::LocustTest;

use crate::client::Cluster;
use crate::error::PluginError;
use crate::submission::Submission;

const CONFIG_MAPS: &str = "configmaps";
const LOCUST_TESTS: &str = "locusttests.locust.io";

/// What was created, as the API server returned it, and what went wrong without undoing it.
pub struct Created {
    pub config_maps: Vec<ConfigMap>,
    pub test: LocustTest,
    pub warnings: Vec<String>,
}

/// Creates `submission` in `cluster.namespace`.
pub async fn create(cluster: &Cluster, submission: &Submission) -> Result<Created, PluginError> {
    let name = submission.test.metadata.name.clone().unwrap_or_default();
    let namespace = cluster.namespace.as_str();
    // Asked first so that an existing test or a missing CRD stops the run before anything is
    // written. Not being allowed to read tests is no reason to stop someone allowed to create one.
    // (`get_opt` would read a missing CRD's 404 as "no such test".)
    match cluster.tests().get(&name).await {
        Ok(_) => return Err(test_exists(&name, namespace)),
        Err(kube::Error::Api(status))
            if status.code == 404 && !status.message.contains("could not find the requested resource") => {}
        Err(kube::Error::Api(status)) if status.code == 403 => {}
        Err(error) => return Err(cluster.translate(error, "get", LOCUST_TESTS, false)),
    }

    let config_maps: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), namespace);
    let mut created_maps: Vec<ConfigMap> = Vec::new();
    for config_map in &submission.config_maps {
        match config_maps.create(&PostParams::default(), config_map).await {
            Ok(created) => created_maps.push(created),
            Err(error) => {
                let map_name = config_map.metadata.name.clone().unwrap_or_default();
                let error = match error {
                    kube::Error::Api(status) if status.code == 409 => config_map_exists(&map_name, &name, namespace),
                    other => cluster.translate(other, "create", CONFIG_MAPS, false),
                };
                return Err(undo(&config_maps, &created_maps, error).await);
            }
        }
    }

    let test = match cluster.tests().create(&PostParams::default(), &submission.test).await {
        Ok(test) => test,
        Err(error) => {
            let error = match error {
                kube::Error::Api(status) if status.code == 409 => test_exists(&name, namespace),
                other => cluster.translate(other, "create", LOCUST_TESTS, false),
            };
            return Err(undo(&config_maps, &created_maps, error).await);
        }
    };

    let mut warnings = Vec::new();
    let mut owned_maps = Vec::new();
    for config_map in created_maps {
        let map_name = config_map.metadata.name.clone().unwrap_or_default();
        match config_maps
            .patch(&map_name, &PatchParams::default(), &Patch::Merge(owner_patch(&test)))
            .await
        {
            Ok(patched) => owned_maps.push(patched),
            Err(error) => {
                // The test runs fine without it; only the clean-up is the user's then.
                let error = cluster.translate(error, "patch", CONFIG_MAPS, false);
                warnings.push(format!(
                    "configmap/{map_name} was not made part of the test ({error}); it stays when the test is deleted: \
                     `kubectl delete configmap {map_name} -n {namespace}` removes it"
                ));
                owned_maps.push(config_map);
            }
        }
    }
    Ok(Created {
        config_maps: owned_maps,
        test,
        warnings,
    })
}

/// The merge patch that makes an object a dependent of `test` for garbage collection.
pub fn owner_patch(test: &LocustTest) -> serde_json::Value {
    json!({
        "metadata": {
            "ownerReferences": [{
                "apiVersion": "locust.io/v2",
                "kind": "LocustTest",
                "name": test.metadata.name,
                "uid": test.metadata.uid,
            }]
        }
    })
}

/// Deletes the ConfigMaps created before `error`; says so when one of them stays behind.
async fn undo(config_maps: &Api<ConfigMap>, created: &[ConfigMap], error: PluginError) -> PluginError {
    let mut left = Vec::new();
    for config_map in created {
        let name = config_map.metadata.name.clone().unwrap_or_default();
        if let Err(delete_error) = config_maps.delete(&name, &DeleteParams::default()).await {
            left.push(format!("configmap/{name} ({delete_error})"));
        }
    }
    if left.is_empty() {
        return error;
    }
    let namespace = created
        .first()
        .and_then(|c| c.metadata.namespace.clone())
        .unwrap_or_default();
    PluginError::Other(format!(
        "{error}\n  also: could not delete what this run created: {}; remove it with `kubectl delete configmap NAME -n {namespace}`",
        left.join(", ")
    ))
}

fn test_exists(name: &str, namespace: &str) -> PluginError {
    PluginError::Other(format!(
        "LocustTest \"{name}\" already exists in namespace \"{namespace}\"\n  next: pick another name, or delete it first \
         with `kubectl delete lotest {name} -n {namespace}` (the ConfigMaps `run` made for it go with it)"
    ))
}

fn config_map_exists(map_name: &str, test_name: &str, namespace: &str) -> PluginError {
    PluginError::Other(format!(
        "ConfigMap \"{map_name}\" already exists in namespace \"{namespace}\" (left from an earlier run of {test_name}?)\n  \
         next: remove it with `kubectl delete configmap {map_name} -n {namespace}`, or pick another test name"
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_owner_reference_names_the_created_test_by_uid() {
        let test: LocustTest = serde_json::from_value(json!({
            "apiVersion": "locust.io/v2", "kind": "LocustTest",
            "metadata": {"name": "demo", "uid": "0000-1"},
            "spec": {"image": "i", "master": {"command": "c"}, "worker": {"command": "c", "replicas": 1}},
        }))
        .unwrap();
        let reference = &owner_patch(&test)["metadata"]["ownerReferences"][0];
        assert_eq!(reference["uid"], "0000-1");
        assert_eq!(reference["name"], "demo");
        assert_eq!(reference["kind"], "LocustTest");
        assert_eq!(reference["apiVersion"], "locust.io/v2");
    }
}
