//! `kubectl locust status`.

use crate::cli::{GlobalArgs, StatusArgs};
use crate::error::PluginError;

pub async fn execute(_global: &GlobalArgs, _args: StatusArgs) -> Result<u8, PluginError> {
    Err(PluginError::Other("not implemented yet".into()))
}
