//! `kubectl locust tui`.

use crate::cli::{GlobalArgs, TuiArgs};
use crate::error::PluginError;

pub async fn execute(_global: &GlobalArgs, _args: TuiArgs) -> Result<u8, PluginError> {
    Err(PluginError::Other("not implemented yet".into()))
}
