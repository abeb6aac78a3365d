//! `kubectl locust logs`.

use crate::cli::{GlobalArgs, LogsArgs};
use crate::error::PluginError;

pub async fn execute(_global: &GlobalArgs, _args: LogsArgs) -> Result<u8, PluginError> {
    Err(PluginError::Other("not implemented yet".into()))
}
