//! The one place that turns a test name into child names and labels. Upstream's dotted-name bugs
//! came from computing names in two places; everything here is derived from [`ChildNames`].

use std::collections::BTreeMap;

use crate::constants::{LABEL_APP, LABEL_MANAGED_BY, LABEL_POD_NAME, LABEL_TEST_NAME, MANAGED_BY};

/// The two kinds of Locust pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The single master pod.
    Master,
    /// The worker pods.
    Worker,
}

impl Role {
    /// `master` or `worker`, as used in generated names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Master => "master",
            Self::Worker => "worker",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Kubernetes object names may not contain dots where DNS labels are required: `.` becomes `-`.
pub fn sanitize(name: &str) -> String {
    name.replace('.', "-")
}

/// Name of the Service, Job, container and test-files volume of `role` for test `test_name`.
pub fn child_name(test_name: &str, role: Role) -> String {
    sanitize(&format!("{test_name}-{}", role.as_str()))
}

/// Name of the master Service (and master Job).
pub fn master_name(test_name: &str) -> String {
    child_name(test_name, Role::Master)
}

/// Name of the worker Job.
pub fn worker_name(test_name: &str) -> String {
    child_name(test_name, Role::Worker)
}

/// Name of the volume made for a secret mount. Secret names may contain dots; volume names may not.
pub fn secret_volume_name(secret_name: &str) -> String {
    format!("{}{}", crate::constants::SECRET_VOLUME_PREFIX, sanitize(secret_name))
}

/// Labels the operator selects on; users cannot override them.
pub fn selector_labels(test_name: &str, role: Role) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_APP.to_string(), test_name.to_string()),
        (LABEL_TEST_NAME.to_string(), test_name.to_string()),
        (LABEL_POD_NAME.to_string(), child_name(test_name, role)),
        (LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
    ])
}

/// Pod labels: the user's labels, then the operator's, which win on conflict.
pub fn pod_labels(test_name: &str, role: Role, user: Option<&BTreeMap<String, String>>) -> BTreeMap<String, String> {
    let mut labels = user.cloned().unwrap_or_default();
    labels.extend(selector_labels(test_name, role));
    labels
}

/// Label selector string listing every pod of a test (`performance-test-name=<name>`).
pub fn test_pods_selector(test_name: &str) -> String {
    format!("{LABEL_TEST_NAME}={test_name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_names_become_dashes_in_children_but_not_in_labels() {
        assert_eq!(master_name("demo.test"), "demo-test-master");
        assert_eq!(worker_name("demo.test"), "demo-test-worker");
        let labels = selector_labels("demo.test", Role::Worker);
        assert_eq!(labels[LABEL_TEST_NAME], "demo.test");
        assert_eq!(labels[LABEL_APP], "demo.test");
        assert_eq!(labels[LABEL_POD_NAME], "demo-test-worker");
        assert_eq!(labels[LABEL_MANAGED_BY], "locust-k8s-operator");
    }

    #[test]
    fn user_labels_cannot_override_the_ones_the_operator_selects_on() {
        let user = BTreeMap::from([
            (LABEL_TEST_NAME.to_string(), "hijack".to_string()),
            (LABEL_APP.to_string(), "hijack".to_string()),
            ("team".to_string(), "perf".to_string()),
        ]);
        let labels = pod_labels("demo", Role::Master, Some(&user));
        assert_eq!(labels[LABEL_TEST_NAME], "demo");
        assert_eq!(labels[LABEL_APP], "demo");
        assert_eq!(labels["team"], "perf");
    }

    #[test]
    fn secret_volume_names_are_valid_dns_labels() {
        assert_eq!(secret_volume_name("tls.certs"), "secret-tls-certs");
    }
}
