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

/// `value` trimmed, or `None` when it is unset or blank: how a setting read through a lookup
/// (`config::get`, or [`from_pairs`] in tests) is usually taken.
pub fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The value of a setting, or `default` when it is unset.
pub fn get_or(key: &str, default: &str) -> String {
    get(key).unwrap_or_else(|| default.to_owned())
}

/// Parses an optional setting's `value` into `T`. `None` and blank values are `Ok(None)`; a
/// value that does not parse fails with [`PluginError::InvalidInput`] naming the key, the value
/// and the expected type, so an operator's typo is reported instead of silently replaced by a
/// default.
///
/// Pure, so a plugin can test its settings without a host; pair it with [`get`]:
/// `config::parse::<u32>("num-ctx", config::get("num-ctx"))`.
pub fn parse<T: std::str::FromStr>(
    key: &str,
    value: Option<String>,
) -> Result<Option<T>, PluginError> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    value.trim().parse().map(Some).map_err(|_| {
        PluginError::InvalidInput(format!(
            "configuration `{key}` = {value:?} is not a valid {}",
            std::any::type_name::<T>()
        ))
    })
}

/// Checks that a required setting is an `http://` or `https://` URL and returns it without
/// surrounding whitespace or trailing slashes, ready for `format!("{base}/path")`. Fails with
/// [`PluginError::InvalidInput`] naming the key when it is unset or not such a URL.
pub fn base_url(key: &str, value: Option<String>) -> Result<String, PluginError> {
    let value = value
        .map(|v| v.trim().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    if value.is_empty() {
        return Err(PluginError::InvalidInput(format!(
            "configuration `{key}` is not set"
        )));
    }
    if !(value.starts_with("http://") || value.starts_with("https://")) {
        return Err(PluginError::InvalidInput(format!(
            "configuration `{key}` = {value:?} must start with http:// or https://"
        )));
    }
    Ok(value)
}

/// A lookup over fixed `(key, value)` pairs, shaped like [`get`]. For unit tests of code that
/// reads its settings through a lookup function, which then runs without a host.
pub fn from_pairs<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |key| {
        pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| (*v).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_empty_trims_and_drops_blank_values() {
        assert_eq!(
            non_empty(Some("  gpt-4o \n".into())).as_deref(),
            Some("gpt-4o")
        );
        assert_eq!(non_empty(Some("   ".into())), None);
        assert_eq!(non_empty(None), None);
    }

    #[test]
    fn parse_accepts_absent_blank_and_valid_values() {
        assert_eq!(parse::<u32>("n", None).unwrap(), None);
        assert_eq!(parse::<u32>("n", Some("  ".into())).unwrap(), None);
        assert_eq!(parse::<u32>("n", Some(" 42 ".into())).unwrap(), Some(42));
    }

    #[test]
    fn base_url_is_trimmed_and_checked() {
        assert_eq!(
            base_url("u", Some(" http://h:1/v1/ ".into())).unwrap(),
            "http://h:1/v1"
        );
        for bad in [None, Some(String::new()), Some("h:1".into())] {
            let err = base_url("base-url", bad).unwrap_err();
            assert!(format!("{err:?}").contains("base-url"));
        }
    }

    #[test]
    fn parse_rejects_garbage_naming_key_and_value() {
        let err = parse::<u32>("num-ctx", Some("lots".into())).unwrap_err();
        let PluginError::InvalidInput(message) = err else {
            panic!("expected invalid input, got {err:?}");
        };
        assert!(message.contains("num-ctx") && message.contains("lots") && message.contains("u32"));
    }
}
