//! Operator-supplied settings: the `[config]` defaults of the plugin's `plugin.toml`, overlaid by
//! the operator's `[grants.<plugin id>] config`.
//!
//! Settings are plain strings and never secrets: a secret is only ever referenced by name in an
//! [`http`](crate::http) request's authentication, and the host fills in the value.
//!
//! These functions call the host; outside a plugin host (for example in a unit test on the
//! build machine) they panic.

use crate::PluginError;
use crate::bindings::backend_world::decision_matrix::plugin::config as wit;

/// The value of one setting, if set.
pub fn get(key: &str) -> Option<String> {
    wit::get(key)
}

/// Every setting as `(key, value)` pairs, sorted by key.
pub fn get_all() -> Vec<(String, String)> {
    wit::get_all()
}

/// The value of a setting the plugin cannot work without. Fails with
/// [`PluginError::InvalidInput`] naming the key when it is unset or empty.
pub fn require(key: &str) -> Result<String, PluginError> {
    match get(key) {
        Some(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(PluginError::InvalidInput(format!(
            "configuration `{key}` is not set: give it a default in plugin.toml [config] or \
             set it in the operator's grant for this plugin"
        ))),
    }
}

/// The value of a setting, or `default` when it is unset.
pub fn get_or(key: &str, default: &str) -> String {
    get(key).unwrap_or_else(|| default.to_owned())
}
