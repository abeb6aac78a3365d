//! `kubectl locust run`.

use crate::cli::{GlobalArgs, RunArgs};
use crate::error::PluginError;

pub async fn execute(_global: &GlobalArgs, _args: RunArgs) -> Result<u8, PluginError> {
    Err(PluginError::Other("not implemented yet".into()))
}
