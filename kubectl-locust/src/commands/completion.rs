//! `kubectl locust completion` and the hidden `__complete` used by `kubectl_complete-locust`.

use crate::cli::{CompleteArgs, CompletionArgs, GlobalArgs};
use crate::error::PluginError;

pub fn execute(_args: &CompletionArgs) -> Result<u8, PluginError> {
    Err(PluginError::Other("not implemented yet".into()))
}

pub async fn complete(_global: &GlobalArgs, _args: &CompleteArgs) -> Result<u8, PluginError> {
    Err(PluginError::Other("not implemented yet".into()))
}
