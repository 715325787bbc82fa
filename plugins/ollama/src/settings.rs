//! The plugin's settings, read from the `config` import.
//!
//! The host fills them in from the environment Ollama users already have (`OLLAMA_HOST`,
//! `DMM_OLLAMA_MODEL`, `DMM_OLLAMA_TIMEOUT_SECONDS`); `plugin.toml` holds the fallbacks.
//! Parsing takes a lookup function so it is tested without a host.

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::config;

/// Settings of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Server root, without a trailing slash: `http://localhost:11434`.
    pub base_url: String,
    /// Model used when a request names none.
    pub default_model: String,
    /// Context window asked for (`options.num_ctx`); `None` leaves the model's own.
    pub num_ctx: Option<u32>,
    /// Time limit of one HTTP request.
    pub timeout_ms: Option<u32>,
    /// How long Ollama keeps the model loaded after the call (`keep_alive`, e.g. `10m`).
    pub keep_alive: Option<String>,
}

impl Settings {
    /// Reads the settings from the host.
    pub fn load() -> Result<Self, PluginError> {
        Self::from_lookup(config::get)
    }

    /// Reads the settings through `get`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, PluginError> {
        let base_url = config::base_url("base-url", get("base-url"))?;
        let default_model = get("default-model")
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .ok_or_else(|| {
                PluginError::InvalidInput(
                    "configuration `default-model` is not set (DMM_OLLAMA_MODEL)".into(),
                )
            })?;
        Ok(Settings {
            base_url,
            default_model,
            num_ctx: config::parse("num-ctx", get("num-ctx"))?,
            timeout_ms: config::parse("timeout-ms", get("timeout-ms"))?,
            keep_alive: get("keep-alive").filter(|v| !v.trim().is_empty()),
        })
    }

    /// `base_url` followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_setting() {
        let settings = Settings::from_lookup(config::from_pairs(&[
            ("base-url", "http://127.0.0.1:11434/"),
            ("default-model", "qwen3:4b"),
            ("num-ctx", "8192"),
            ("timeout-ms", "90000"),
            ("keep-alive", "10m"),
        ]))
        .unwrap();
        assert_eq!(settings.base_url, "http://127.0.0.1:11434");
        assert_eq!(settings.url("/api/chat"), "http://127.0.0.1:11434/api/chat");
        assert_eq!(settings.default_model, "qwen3:4b");
        assert_eq!(settings.num_ctx, Some(8192));
        assert_eq!(settings.timeout_ms, Some(90000));
        assert_eq!(settings.keep_alive.as_deref(), Some("10m"));
    }

    #[test]
    fn missing_or_bad_values_name_the_key() {
        let err = Settings::from_lookup(config::from_pairs(&[("default-model", "m")])).unwrap_err();
        assert!(format!("{err:?}").contains("base-url"));
        let err = Settings::from_lookup(config::from_pairs(&[
            ("base-url", "localhost:11434"),
            ("default-model", "m"),
        ]))
        .unwrap_err();
        assert!(format!("{err:?}").contains("http://"));
        let err = Settings::from_lookup(config::from_pairs(&[
            ("base-url", "http://h"),
            ("default-model", "m"),
            ("num-ctx", "big"),
        ]))
        .unwrap_err();
        assert!(format!("{err:?}").contains("num-ctx"));
    }
}
