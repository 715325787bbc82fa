//! The plugin's settings, read from the `config` import.
//!
//! The host fills them in from the variables AWS users already set (see `plugin.toml`). The
//! credentials never arrive here: the plugin names the host secret that holds them, and the
//! host signs the request (SigV4) or adds the Bedrock API key.

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::config;

/// How requests are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// SigV4, signed on the host with the AWS credentials in this secret.
    SigV4 { credentials: String },
    /// `Authorization: Bearer` with the Bedrock API key in this secret.
    Bearer { secret: String },
}

/// Whether the answer's JSON Schema is sent as `outputConfig.textFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructuredOutput {
    /// For the model families Bedrock documents structured output for.
    Auto,
    /// For every model (for models newer than this list).
    Always,
    /// Never; the prompt alone asks for JSON.
    Never,
}

/// Settings of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// AWS region, also the SigV4 signing region.
    pub region: String,
    /// Bedrock Runtime endpoint, without a trailing slash.
    pub endpoint: String,
    /// How requests are authenticated.
    pub auth: Auth,
    /// Model id used when a request names none.
    pub default_model: String,
    /// Time limit of one HTTP request.
    pub timeout_ms: Option<u32>,
    /// When to ask for structured output.
    pub structured_output: StructuredOutput,
}

impl Settings {
    /// Reads the settings from the host.
    pub fn load() -> Result<Self, PluginError> {
        Self::from_lookup(config::get)
    }

    /// Reads the settings through `get`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, PluginError> {
        let non_empty = |key: &str| config::non_empty(get(key));
        let region = non_empty("region").ok_or_else(|| {
            PluginError::InvalidInput("configuration `region` is not set (AWS_REGION)".into())
        })?;
        let endpoint = config::base_url("endpoint", get("endpoint"))?;
        let auth = match non_empty("auth").as_deref() {
            None | Some("sigv4") => Auth::SigV4 {
                credentials: non_empty("credentials-secret").unwrap_or_else(|| "aws".into()),
            },
            Some("bearer") => Auth::Bearer {
                secret: non_empty("api-key-secret").ok_or_else(|| {
                    PluginError::InvalidInput(
                        "configuration `auth` = \"bearer\" needs `api-key-secret`".into(),
                    )
                })?,
            },
            Some(other) => {
                return Err(PluginError::InvalidInput(format!(
                    "configuration `auth` = {other:?} is not one of sigv4, bearer"
                )));
            }
        };
        let default_model = non_empty("default-model").ok_or_else(|| {
            PluginError::InvalidInput(
                "configuration `default-model` is not set (BEDROCK_MODEL_ID)".into(),
            )
        })?;
        let structured_output = match non_empty("structured-output").as_deref() {
            None | Some("auto") => StructuredOutput::Auto,
            Some("always") => StructuredOutput::Always,
            Some("never") => StructuredOutput::Never,
            Some(other) => {
                return Err(PluginError::InvalidInput(format!(
                    "configuration `structured-output` = {other:?} is not one of auto, always, never"
                )));
            }
        };
        Ok(Settings {
            region,
            endpoint,
            auth,
            default_model,
            timeout_ms: config::parse("timeout-ms", get("timeout-ms"))?,
            structured_output,
        })
    }

    /// Whether requests for `model` carry the answer schema as `outputConfig`.
    pub fn structured_output_for(&self, model: &str) -> bool {
        match self.structured_output {
            StructuredOutput::Always => true,
            StructuredOutput::Never => false,
            StructuredOutput::Auto => supports_structured_output(model),
        }
    }
}

/// Model families for which Bedrock documents structured output on Converse. Ids may carry a
/// cross-region inference profile prefix (`us.`, `eu.`, `global.`, ...), which is skipped.
const STRUCTURED_OUTPUT_FAMILIES: &[&str] = &[
    "anthropic.claude-haiku-4-5",
    "anthropic.claude-sonnet-4-5",
    "anthropic.claude-opus-4-5",
    "anthropic.claude-opus-4-6",
    "anthropic.claude-sonnet-4-6",
    "openai.gpt-oss",
    "moonshot.kimi",
];

fn supports_structured_output(model: &str) -> bool {
    let model = model.rsplit('/').next().unwrap_or(model);
    let unprefixed = |m: &'static str| {
        model.starts_with(m)
            || model
                .split_once('.')
                .is_some_and(|(_, rest)| rest.starts_with(m))
    };
    STRUCTURED_OUTPUT_FAMILIES.iter().any(|m| unprefixed(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("region", "eu-west-1"),
            (
                "endpoint",
                "https://bedrock-runtime.eu-west-1.amazonaws.com/",
            ),
            ("default-model", "anthropic.claude-3-sonnet-20240229-v1:0"),
        ]
    }

    #[test]
    fn sigv4_is_the_default_auth() {
        let settings = Settings::from_lookup(config::from_pairs(&base())).unwrap();
        assert_eq!(
            settings.auth,
            Auth::SigV4 {
                credentials: "aws".into()
            }
        );
        assert_eq!(
            settings.endpoint,
            "https://bedrock-runtime.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn bearer_needs_a_secret_name() {
        let mut pairs = base();
        pairs.push(("auth", "bearer"));
        assert!(Settings::from_lookup(config::from_pairs(&pairs)).is_err());
        pairs.push(("api-key-secret", "bedrock-api-key"));
        let settings = Settings::from_lookup(config::from_pairs(&pairs)).unwrap();
        assert_eq!(
            settings.auth,
            Auth::Bearer {
                secret: "bedrock-api-key".into()
            }
        );
    }

    #[test]
    fn structured_output_follows_the_model_family() {
        let settings = Settings::from_lookup(config::from_pairs(&base())).unwrap();
        assert!(settings.structured_output_for("anthropic.claude-sonnet-4-5-20250929-v1:0"));
        assert!(settings.structured_output_for("us.anthropic.claude-haiku-4-5-20251001-v1:0"));
        assert!(settings.structured_output_for("global.anthropic.claude-opus-4-5-20251101-v1:0"));
        assert!(!settings.structured_output_for("anthropic.claude-3-sonnet-20240229-v1:0"));
        assert!(!settings.structured_output_for("meta.llama3-70b-instruct-v1:0"));
        let mut pairs = base();
        pairs.push(("structured-output", "always"));
        let always = Settings::from_lookup(config::from_pairs(&pairs)).unwrap();
        assert!(always.structured_output_for("meta.llama3-70b-instruct-v1:0"));
        pairs.pop();
        pairs.push(("structured-output", "sometimes"));
        assert!(Settings::from_lookup(config::from_pairs(&pairs)).is_err());
    }
}
