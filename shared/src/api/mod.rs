//! The LocustTest API: v2 (storage), v1 (deprecated) and conversion between them.

pub mod conversion;
mod forms;
pub mod status;
pub mod v1;
pub mod v2;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Image pull policy of the Locust containers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ImagePullPolicy {
    /// Always pull.
    Always,
    /// Pull only when the image is not on the node.
    #[default]
    IfNotPresent,
    /// Never pull.
    Never,
}

impl ImagePullPolicy {
    /// The policy as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "Always",
            Self::IfNotPresent => "IfNotPresent",
            Self::Never => "Never",
        }
    }
}
