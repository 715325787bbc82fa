//! The plugin's settings, read from the `config` import.
//!
//! The host fills them in from the variables OpenAI and LiteLLM users already set; see
//! `plugin.toml` for the mapping and the fallbacks. The API key itself never arrives here: the
//! host only says under which secret name it holds one (`api-key-secret`) and which variable
//! it came from (`api-key-env`, for messages).

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::backend::GenerateRequest;
use dmx_plugin_sdk::config;
use dmx_plugin_sdk::http::{KeyAuth, path_segment};

/// The Azure OpenAI API version when `api-version` is not set: the latest generally
/// available one with structured outputs.
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";

/// Where requests go under the base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiStyle {
    /// `{base}/chat/completions`, the model in the body; `{base}/models` lists the models.
    OpenAi,
    /// Azure OpenAI: `{base}/openai/deployments/{deployment}/chat/completions?api-version=`,
    /// the model name being the deployment's; `{base}/openai/models?api-version=` lists them.
    Azure {
        /// The `api-version` query value.
        api_version: String,
    },
}

/// How the answer's JSON Schema is passed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    /// `{"type":"json_schema","json_schema":{"name","schema","strict":true}}`: OpenAI, LiteLLM,
    /// vLLM and llama.cpp's server constrain decoding to the schema.
    JsonSchema,
    /// `{"type":"json_object"}`: JSON, but not a particular shape (older servers).
    JsonObject,
    /// Nothing: the prompt alone asks for JSON.
    None,
}

/// Settings of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// API root, without a trailing slash: `https://api.openai.com/v1`.
    pub base_url: String,
    /// Model used when a request names none. A route's provider (`litellm:groq`) has none:
    /// its requests always name the model.
    pub default_model: Option<String>,
    /// Name of the host secret holding the API key; `None` sends no key (local servers).
    pub api_key_secret: Option<String>,
    /// Where the key comes from, for messages (`LITELLM_API_KEY`).
    pub api_key_env: Option<String>,
    /// Time limit of one HTTP request.
    pub timeout_ms: Option<u32>,
    /// How the answer schema is sent.
    pub response_format: ResponseFormat,
    /// Where requests go under the base URL.
    pub api_style: ApiStyle,
    /// How the key is sent: `Authorization: Bearer` unless `api-key-header` names a header
    /// (`api-key` for Azure).
    pub key_auth: KeyAuth,
}

impl Settings {
    /// Reads the settings from the host.
    pub fn load() -> Result<Self, PluginError> {
        Self::from_lookup(config::get)
    }

    /// Reads the settings through `get`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, PluginError> {
        let non_empty = |key: &str| config::non_empty(get(key));
        let base_url = config::base_url("base-url", get("base-url"))?;
        let default_model = non_empty("default-model");
        let response_format = match non_empty("response-format").as_deref() {
            None | Some("json_schema") => ResponseFormat::JsonSchema,
            Some("json_object") => ResponseFormat::JsonObject,
            Some("none") => ResponseFormat::None,
            Some(other) => {
                return Err(PluginError::InvalidInput(format!(
                    "configuration `response-format` = {other:?} is not one of json_schema, \
                     json_object, none"
                )));
            }
        };
        let api_style = match non_empty("api-style").as_deref() {
            None | Some("openai") => ApiStyle::OpenAi,
            Some("azure") => {
                let api_version = non_empty("api-version")
                    .unwrap_or_else(|| DEFAULT_AZURE_API_VERSION.to_owned());
                let valid = api_version
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
                if !valid || api_version.len() > 32 {
                    return Err(PluginError::InvalidInput(format!(
                        "configuration `api-version` = {api_version:?} is not an API version; \
                         allowed: one such as {DEFAULT_AZURE_API_VERSION} or \
                         2025-01-01-preview (AZURE_API_VERSION)"
                    )));
                }
                ApiStyle::Azure { api_version }
            }
            Some(other) => {
                return Err(PluginError::InvalidInput(format!(
                    "configuration `api-style` = {other:?} is not one of openai, azure"
                )));
            }
        };
        Ok(Settings {
            base_url,
            default_model,
            api_key_secret: non_empty("api-key-secret"),
            api_key_env: non_empty("api-key-env"),
            timeout_ms: config::parse("timeout-ms", get("timeout-ms"))?,
            response_format,
            api_style,
            key_auth: KeyAuth::from_setting(non_empty("api-key-header"), "authorization")?,
        })
    }

    /// The model `request` names, else the default model.
    pub fn model_for<'a>(&'a self, request: &'a GenerateRequest) -> Result<&'a str, PluginError> {
        let named = request
            .model
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty());
        named.or(self.default_model.as_deref()).ok_or_else(|| {
            PluginError::InvalidInput(
                "the request names no model and configuration `default-model` is not set \
                 (DMM_LITELLM_MODEL)"
                    .into(),
            )
        })
    }

    /// `base_url` followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Where a chat request for `model` goes.
    pub fn chat_url(&self, model: &str) -> String {
        match &self.api_style {
            ApiStyle::OpenAi => self.url("/chat/completions"),
            ApiStyle::Azure { api_version } => self.url(&format!(
                "/openai/deployments/{}/chat/completions?api-version={api_version}",
                path_segment(model)
            )),
        }
    }

    /// Where the model list is, for the health check.
    pub fn models_url(&self) -> String {
        match &self.api_style {
            ApiStyle::OpenAi => self.url("/models"),
            ApiStyle::Azure { api_version } => {
                self.url(&format!("/openai/models?api-version={api_version}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_setting() {
        let settings = Settings::from_lookup(config::from_pairs(&[
            ("base-url", "http://127.0.0.1:4000/"),
            ("default-model", "claude-sonnet"),
            ("api-key-secret", "litellm-api-key"),
            ("api-key-env", "LITELLM_API_KEY"),
            ("timeout-ms", "45000"),
            ("response-format", "json_object"),
        ]))
        .unwrap();
        assert_eq!(
            settings.url("/chat/completions"),
            "http://127.0.0.1:4000/chat/completions"
        );
        assert_eq!(settings.default_model.as_deref(), Some("claude-sonnet"));
        assert_eq!(settings.api_key_secret.as_deref(), Some("litellm-api-key"));
        assert_eq!(settings.timeout_ms, Some(45000));
        assert_eq!(settings.response_format, ResponseFormat::JsonObject);
    }

    #[test]
    fn azure_puts_the_deployment_in_the_path_and_the_key_in_api_key() {
        let settings = Settings::from_lookup(config::from_pairs(&[
            ("base-url", "https://acme.openai.azure.com"),
            ("api-style", "azure"),
            ("api-key-header", "api-key"),
            ("api-version", "2025-01-01-preview"),
        ]))
        .unwrap();
        assert_eq!(
            settings.chat_url("gpt 4o/prod"),
            "https://acme.openai.azure.com/openai/deployments/gpt%204o%2Fprod/chat/completions?api-version=2025-01-01-preview"
        );
        assert_eq!(
            settings.models_url(),
            "https://acme.openai.azure.com/openai/models?api-version=2025-01-01-preview"
        );
        assert_eq!(settings.key_auth, KeyAuth::Header("api-key".into()));

        let default = Settings::from_lookup(config::from_pairs(&[
            ("base-url", "https://acme.openai.azure.com"),
            ("api-style", "azure"),
        ]))
        .unwrap();
        assert!(default.chat_url("d").ends_with("?api-version=2024-10-21"));
        assert_eq!(default.key_auth, KeyAuth::Bearer);

        for (key, value) in [("api-version", "2024&x=1"), ("api-style", "vertex")] {
            let err = Settings::from_lookup(config::from_pairs(&[
                ("base-url", "https://acme.openai.azure.com"),
                (
                    "api-style",
                    if key == "api-style" { value } else { "azure" },
                ),
                (key, value),
            ]))
            .unwrap_err();
            assert!(format!("{err:?}").contains(key), "{err:?}");
        }
    }

    #[test]
    fn no_key_is_fine_and_a_bad_format_is_named() {
        let settings = Settings::from_lookup(config::from_pairs(&[
            ("base-url", "http://h/v1"),
            ("default-model", "m"),
        ]))
        .unwrap();
        assert_eq!(settings.api_key_secret, None);
        assert_eq!(settings.response_format, ResponseFormat::JsonSchema);
        let err = Settings::from_lookup(config::from_pairs(&[
            ("base-url", "http://h/v1"),
            ("default-model", "m"),
            ("response-format", "xml"),
        ]))
        .unwrap_err();
        assert!(format!("{err:?}").contains("xml"));
    }
}
