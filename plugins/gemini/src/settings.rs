//! The plugin's settings, read from the `config` import.
//!
//! The host fills them in from the variables Gemini and LiteLLM users already set; see
//! `plugin.toml` for the mapping and the defaults. The API key itself never arrives here: the
//! host only says under which secret name it holds one (`api-key-secret`) and which variable
//! it came from (`api-key-env`, for messages). Which header the key goes in is a setting of
//! its own, because the Gemini API reads `x-goog-api-key`, not the `Authorization` header the
//! SDK's `bearer` fills.

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::config;
use dmx_plugin_sdk::http::KeyAuth;

/// The header the Gemini API reads the API key from.
pub const DEFAULT_KEY_HEADER: &str = "x-goog-api-key";

/// The values `thinking-level` may take (Gemini 3 models).
const THINKING_LEVELS: &[&str] = &["minimal", "low", "medium", "high"];

/// How the answer's JSON Schema is passed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructuredOutput {
    /// `responseMimeType: application/json` and the schema, translated, as `responseSchema`.
    Schema,
    /// `responseMimeType: application/json` only: JSON, but not a particular shape.
    Json,
    /// Nothing: the prompt alone asks for JSON.
    None,
}

/// `generationConfig.thinkingConfig`, when set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thinking {
    /// `thinkingBudget` in tokens (Gemini 2.5): 0 turns thinking off where the model allows
    /// it, -1 lets the model decide.
    Budget(i32),
    /// `thinkingLevel` (Gemini 3).
    Level(String),
}

/// Settings of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// API root without the version and without a trailing slash:
    /// `https://generativelanguage.googleapis.com`.
    pub base_url: String,
    /// Model used when a request names none.
    pub default_model: String,
    /// Name of the host secret holding the API key; `None` sends no key.
    pub api_key_secret: Option<String>,
    /// Where the key comes from, for messages (`GEMINI_API_KEY`).
    pub api_key_env: Option<String>,
    /// How the key is sent.
    pub key_auth: KeyAuth,
    /// Time limit of one HTTP request.
    pub timeout_ms: Option<u32>,
    /// `maxOutputTokens` when a request sets none; `None` leaves the model's own limit.
    pub max_tokens: Option<u32>,
    /// How the answer schema is sent.
    pub structured_output: StructuredOutput,
    /// How much the model may think.
    pub thinking: Option<Thinking>,
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
                "configuration `default-model` is not set (DMM_GEMINI_MODEL)".into(),
            )
        })?;
        let structured_output = match non_empty("structured-output").as_deref() {
            None | Some("schema") => StructuredOutput::Schema,
            Some("json") => StructuredOutput::Json,
            Some("none") => StructuredOutput::None,
            Some(other) => {
                return Err(PluginError::InvalidInput(format!(
                    "configuration `structured-output` = {other:?} is not one of schema, json, \
                     none"
                )));
            }
        };
        let budget = config::parse::<i32>("thinking-budget", get("thinking-budget"))?;
        let level = non_empty("thinking-level").map(|l| l.to_ascii_lowercase());
        let thinking = match (budget, level) {
            (Some(_), Some(_)) => {
                return Err(PluginError::InvalidInput(
                    "configuration sets both `thinking-budget` (DMM_GEMINI_THINKING_BUDGET) and \
                     `thinking-level` (DMM_GEMINI_THINKING_LEVEL); the Gemini API accepts one \
                     of them"
                        .into(),
                ));
            }
            (Some(budget), None) if budget < -1 => {
                return Err(PluginError::InvalidInput(format!(
                    "configuration `thinking-budget` = {budget} is out of range; allowed: -1 \
                     (the model decides), 0 (off, where the model allows it) or a number of \
                     tokens"
                )));
            }
            (Some(budget), None) => Some(Thinking::Budget(budget)),
            (None, Some(level)) if THINKING_LEVELS.contains(&level.as_str()) => {
                Some(Thinking::Level(level))
            }
            (None, Some(level)) => {
                return Err(PluginError::InvalidInput(format!(
                    "configuration `thinking-level` = {level:?} is not one of {}",
                    THINKING_LEVELS.join(", ")
                )));
            }
            (None, None) => None,
        };
        let max_tokens = match config::parse::<u32>("max-tokens", get("max-tokens"))? {
            Some(0) => {
                return Err(PluginError::InvalidInput(
                    "configuration `max-tokens` = 0 is too small; allowed: at least 1".into(),
                ));
            }
            other => other,
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
            thinking,
        })
    }

    /// `base_url` followed by `path` (which starts with `/v1beta/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// The API root: LiteLLM takes `GEMINI_API_BASE` without the version, but an address copied
/// from a client that includes it (`.../v1beta`) means the same server, so a trailing
/// version is dropped rather than doubled.
fn root_url(base: String) -> String {
    for version in ["/v1beta", "/v1"] {
        if let Some(root) = base.strip_suffix(version)
            && root
                .split_once("://")
                .is_some_and(|(_, host)| !host.is_empty())
        {
            return root.to_owned();
        }
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("base-url", "https://generativelanguage.googleapis.com/"),
            ("default-model", "gemini-2.5-flash"),
        ]
    }

    #[test]
    fn defaults() {
        let settings = Settings::from_lookup(config::from_pairs(&base())).unwrap();
        assert_eq!(
            settings.base_url,
            "https://generativelanguage.googleapis.com"
        );
        assert_eq!(settings.key_auth, KeyAuth::Header("x-goog-api-key".into()));
        assert_eq!(settings.structured_output, StructuredOutput::Schema);
        assert_eq!(settings.thinking, None);
        assert_eq!(settings.max_tokens, None);
    }

    #[test]
    fn reads_every_setting() {
        let settings = Settings::from_lookup(config::from_pairs(&[
            ("base-url", "http://127.0.0.1:9000/gemini/v1beta/"),
            ("default-model", "gemini-2.5-pro"),
            ("api-key-secret", "gemini-api-key"),
            ("api-key-env", "GOOGLE_API_KEY"),
            ("api-key-header", "X-Goog-Api-Key"),
            ("timeout-ms", "20000"),
            ("max-tokens", "2048"),
            ("structured-output", "json"),
            ("thinking-budget", "0"),
        ]))
        .unwrap();
        assert_eq!(
            settings.url("/v1beta/models"),
            "http://127.0.0.1:9000/gemini/v1beta/models"
        );
        assert_eq!(settings.api_key_env.as_deref(), Some("GOOGLE_API_KEY"));
        assert_eq!(settings.key_auth, KeyAuth::Header("x-goog-api-key".into()));
        assert_eq!(settings.timeout_ms, Some(20000));
        assert_eq!(settings.max_tokens, Some(2048));
        assert_eq!(settings.structured_output, StructuredOutput::Json);
        assert_eq!(settings.thinking, Some(Thinking::Budget(0)));
        let mut pairs = base();
        pairs.push(("thinking-level", "LOW"));
        pairs.push(("api-key-header", "authorization"));
        let settings = Settings::from_lookup(config::from_pairs(&pairs)).unwrap();
        assert_eq!(settings.thinking, Some(Thinking::Level("low".into())));
        assert_eq!(settings.key_auth, KeyAuth::Bearer);
    }

    #[test]
    fn bad_values_name_the_key_and_what_is_allowed() {
        for (extra, says) in [
            (vec![("structured-output", "strict")], "schema, json, none"),
            (vec![("thinking-budget", "-2")], "-1"),
            (vec![("thinking-budget", "lots")], "thinking-budget"),
            (
                vec![("thinking-level", "max")],
                "minimal, low, medium, high",
            ),
            (
                vec![("thinking-budget", "0"), ("thinking-level", "low")],
                "one of them",
            ),
            (vec![("max-tokens", "0")], "at least 1"),
            (vec![("api-key-header", "x:key")], "header name"),
        ] {
            let mut pairs = base();
            pairs.extend(extra);
            let err = Settings::from_lookup(config::from_pairs(&pairs)).unwrap_err();
            let text = format!("{err:?}");
            assert!(text.contains(says), "{text}");
        }
        let err =
            Settings::from_lookup(config::from_pairs(&[("base-url", "https://h")])).unwrap_err();
        assert!(format!("{err:?}").contains("DMM_GEMINI_MODEL"));
    }
}
