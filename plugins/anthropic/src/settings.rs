//! The plugin's settings, read from the `config` import.
//!
//! The host fills them in from the variables Anthropic and LiteLLM users already set; see
//! `plugin.toml` for the mapping and the defaults. The API key itself never arrives here: the
//! host only says under which secret name it holds one (`api-key-secret`) and which variable
//! it came from (`api-key-env`, for messages). Which header the key goes in is a setting of
//! its own, because Anthropic does not read the `Authorization` header the SDK's `bearer`
//! fills.

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::config;
use dmx_plugin_sdk::http::KeyAuth;

/// The header Anthropic reads the API key from.
pub const DEFAULT_KEY_HEADER: &str = "x-api-key";

/// `max_tokens` when a request sets none: the Messages API refuses a request without it.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// How the answer's JSON Schema is passed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructuredOutput {
    /// `output_config.format` for the models Anthropic documents it for, a forced tool
    /// otherwise (see [`crate::models`]).
    Auto,
    /// `output_config.format`: decoding constrained to the schema.
    OutputFormat,
    /// A tool whose `input_schema` is the schema, forced with `tool_choice`: every Claude
    /// model since Claude 3 supports it.
    Tool,
    /// Nothing: the prompt alone asks for JSON.
    None,
}

/// Whether `temperature` is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temperature {
    /// Unless the model is one of those that reject sampling parameters.
    Auto,
    /// Always, when the request has one.
    Always,
    /// Never.
    Never,
}

/// Settings of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// API root without `/v1` and without a trailing slash: `https://api.anthropic.com`.
    pub base_url: String,
    /// Model used when a request names none.
    pub default_model: String,
    /// Name of the host secret holding the API key; `None` sends no key.
    pub api_key_secret: Option<String>,
    /// Where the key comes from, for messages (`ANTHROPIC_API_KEY`).
    pub api_key_env: Option<String>,
    /// How the key is sent.
    pub key_auth: KeyAuth,
    /// Time limit of one HTTP request.
    pub timeout_ms: Option<u32>,
    /// `max_tokens` when a request sets none.
    pub max_tokens: u32,
    /// How the answer schema is sent.
    pub structured_output: StructuredOutput,
    /// Whether `temperature` is sent.
    pub temperature: Temperature,
}

impl Settings {
    /// Reads the settings from the host.
    pub fn load() -> Result<Self, PluginError> {
        Self::from_lookup(config::get)
    }

    /// Reads the settings through `get`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, PluginError> {
        let non_empty = |key: &str| config::non_empty(get(key));
        let base_url = root_url(config::base_url("base-url", get("base-url"))?);
        let default_model = non_empty("default-model").ok_or_else(|| {
            PluginError::InvalidInput(
                "configuration `default-model` is not set (DMM_ANTHROPIC_MODEL)".into(),
            )
        })?;
        let structured_output = match non_empty("structured-output").as_deref() {
            None | Some("auto") => StructuredOutput::Auto,
            Some("output-format") => StructuredOutput::OutputFormat,
            Some("tool") => StructuredOutput::Tool,
            Some("none") => StructuredOutput::None,
            Some(other) => {
                return Err(PluginError::InvalidInput(format!(
                    "configuration `structured-output` = {other:?} is not one of auto, \
                     output-format, tool, none"
                )));
            }
        };
        let temperature = match non_empty("temperature").as_deref() {
            None | Some("auto") => Temperature::Auto,
            Some("always") => Temperature::Always,
            Some("never") => Temperature::Never,
            Some(other) => {
                return Err(PluginError::InvalidInput(format!(
                    "configuration `temperature` = {other:?} is not one of auto, always, never"
                )));
            }
        };
        let max_tokens = match config::parse::<u32>("max-tokens", get("max-tokens"))? {
            None => DEFAULT_MAX_TOKENS,
            Some(0) => {
                return Err(PluginError::InvalidInput(
                    "configuration `max-tokens` = 0 is too small; allowed: at least 1".into(),
                ));
            }
            Some(n) => n,
        };
        Ok(Settings {
            base_url,
            default_model,
            api_key_secret: non_empty("api-key-secret"),
            api_key_env: non_empty("api-key-env"),
            key_auth: KeyAuth::from_setting(non_empty("api-key-header"), DEFAULT_KEY_HEADER)?,
            timeout_ms: config::parse("timeout-ms", get("timeout-ms"))?,
            max_tokens,
            structured_output,
            temperature,
        })
    }

    /// `base_url` followed by `path` (which starts with `/v1/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// The API root: LiteLLM and Anthropic's SDKs take the address without `/v1`, but one copied
/// from a client that wants it (`https://api.anthropic.com/v1`) means the same server, so a
/// trailing `/v1` is dropped rather than doubled into `/v1/v1/messages`.
fn root_url(base: String) -> String {
    match base.strip_suffix("/v1") {
        Some(root)
            if root
                .split_once("://")
                .is_some_and(|(_, host)| !host.is_empty()) =>
        {
            root.to_owned()
        }
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("base-url", "https://api.anthropic.com/"),
            ("default-model", "claude-sonnet-4-6"),
        ]
    }

    #[test]
    fn defaults() {
        let settings = Settings::from_lookup(config::from_pairs(&base())).unwrap();
        assert_eq!(
            settings.url("/v1/messages"),
            "https://api.anthropic.com/v1/messages"
        );
        assert_eq!(settings.key_auth, KeyAuth::Header("x-api-key".into()));
        assert_eq!(settings.max_tokens, DEFAULT_MAX_TOKENS);
        assert_eq!(settings.structured_output, StructuredOutput::Auto);
        assert_eq!(settings.temperature, Temperature::Auto);
        assert_eq!(settings.api_key_secret, None);
    }

    #[test]
    fn reads_every_setting() {
        let settings = Settings::from_lookup(config::from_pairs(&[
            ("base-url", "http://127.0.0.1:4000/anthropic"),
            ("default-model", "claude-haiku-4-5"),
            ("api-key-secret", "anthropic-api-key"),
            ("api-key-env", "ANTHROPIC_API_KEY"),
            ("api-key-header", "Authorization"),
            ("timeout-ms", "30000"),
            ("max-tokens", "1000"),
            ("structured-output", "tool"),
            ("temperature", "never"),
        ]))
        .unwrap();
        assert_eq!(
            settings.url("/v1/models"),
            "http://127.0.0.1:4000/anthropic/v1/models"
        );
        assert_eq!(
            settings.api_key_secret.as_deref(),
            Some("anthropic-api-key")
        );
        assert_eq!(settings.key_auth, KeyAuth::Bearer);
        assert_eq!(settings.timeout_ms, Some(30000));
        assert_eq!(settings.max_tokens, 1000);
        assert_eq!(settings.structured_output, StructuredOutput::Tool);
        assert_eq!(settings.temperature, Temperature::Never);
    }

    #[test]
    fn a_trailing_v1_is_not_doubled() {
        for (given, root) in [
            ("https://api.anthropic.com/v1", "https://api.anthropic.com"),
            ("https://api.anthropic.com/v1/", "https://api.anthropic.com"),
            (
                "http://127.0.0.1:8080/proxy/v1",
                "http://127.0.0.1:8080/proxy",
            ),
            ("https://gw.example/v10", "https://gw.example/v10"),
        ] {
            let mut pairs = base();
            pairs[0] = ("base-url", given);
            let settings = Settings::from_lookup(config::from_pairs(&pairs)).unwrap();
            assert_eq!(settings.base_url, root, "{given}");
        }
    }

    #[test]
    fn bad_values_name_the_key_and_what_is_allowed() {
        for (key, value, says) in [
            ("structured-output", "json", "output-format"),
            ("temperature", "sometimes", "always"),
            ("max-tokens", "0", "at least 1"),
            ("max-tokens", "many", "max-tokens"),
            ("api-key-header", "x api key", "header name"),
        ] {
            let mut pairs = base();
            pairs.push((key, value));
            let err = Settings::from_lookup(config::from_pairs(&pairs)).unwrap_err();
            let text = format!("{err:?}");
            assert!(text.contains(key) && text.contains(says), "{text}");
        }
        let err =
            Settings::from_lookup(config::from_pairs(&[("base-url", "https://h")])).unwrap_err();
        assert!(format!("{err:?}").contains("DMM_ANTHROPIC_MODEL"));
    }
}
