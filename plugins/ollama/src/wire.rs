//! Ollama's `/api/chat` and `/api/tags` bodies.
//!
//! Only the fields the adapter sends or reads are modelled; Ollama ignores unknown request
//! fields and serde ignores unknown response fields, so both sides tolerate version drift.

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::backend::{GenerateRequest, Generation, Usage};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::settings::Settings;

/// `POST /api/chat` request body.
#[derive(Debug, Serialize)]
pub struct ChatRequest<'a> {
    pub model: &'a str,
    pub messages: Vec<ChatMessage<'a>>,
    /// Always false: one buffered JSON answer instead of NDJSON chunks.
    pub stream: bool,
    /// The JSON Schema the answer must follow, passed through verbatim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<&'a RawValue>,
    pub options: Options,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<&'a str>,
}

/// One chat message.
#[derive(Debug, Serialize)]
pub struct ChatMessage<'a> {
    pub role: &'static str,
    pub content: &'a str,
}

/// Modelfile parameters (`options`).
#[derive(Debug, Default, Serialize)]
pub struct Options {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_predict: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_ctx: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
}

/// Builds the request body. `schema` is `request.response_schema` parsed by the caller, so that
/// a schema that is not JSON is reported before anything is sent.
pub fn chat_request<'a>(
    request: &'a GenerateRequest,
    settings: &'a Settings,
    schema: Option<&'a RawValue>,
) -> Result<ChatRequest<'a>, PluginError> {
    if request.messages.is_empty() {
        return Err(PluginError::InvalidInput(
            "the request has no messages; Ollama needs at least one".into(),
        ));
    }
    let num_ctx = request.extra_as("num-ctx")?.or(settings.num_ctx);
    Ok(ChatRequest {
        model: request.model_or(&settings.default_model),
        messages: request
            .messages
            .iter()
            .map(|m| ChatMessage {
                role: m.role.as_str(),
                content: &m.content,
            })
            .collect(),
        stream: false,
        format: schema,
        options: Options {
            temperature: request.temperature,
            num_predict: request.max_tokens,
            num_ctx,
            stop: request.stop.clone(),
            seed: request.extra_as("seed")?,
            top_p: request.extra_as("top-p")?,
        },
        keep_alive: settings.keep_alive.as_deref(),
    })
}

/// `POST /api/chat` response body (non-streaming).
#[derive(Debug, Deserialize)]
pub struct ChatResponse {
    #[serde(default)]
    pub model: String,
    pub message: Option<AnswerMessage>,
    pub done_reason: Option<String>,
    pub prompt_eval_count: Option<u32>,
    pub eval_count: Option<u32>,
    /// Set instead of `message` when generation failed after the status line was sent.
    pub error: Option<String>,
}

/// The assistant's message.
#[derive(Debug, Deserialize)]
pub struct AnswerMessage {
    #[serde(default)]
    pub content: String,
}

impl ChatResponse {
    /// The generation, or the error Ollama reported inside a 200 answer.
    pub fn into_generation(self, requested_model: &str) -> Result<Generation, PluginError> {
        if let Some(error) = self.error {
            return Err(crate::errors::in_band(&error));
        }
        let Some(message) = self.message else {
            return Err(crate::errors::malformed("the answer has no `message`"));
        };
        let usage = match (self.prompt_eval_count, self.eval_count) {
            (None, None) => None,
            (input, output) => Some(Usage {
                input_tokens: input.unwrap_or(0),
                output_tokens: output.unwrap_or(0),
            }),
        };
        Ok(Generation {
            text: message.content,
            model: if self.model.is_empty() {
                requested_model.to_owned()
            } else {
                self.model
            },
            usage,
            stop_reason: self.done_reason,
        })
    }
}

/// `GET /api/tags` response body: the models pulled on the server.
#[derive(Debug, Deserialize)]
pub struct TagsResponse {
    #[serde(default)]
    pub models: Vec<TagModel>,
}

/// One pulled model.
#[derive(Debug, Deserialize)]
pub struct TagModel {
    pub name: String,
}

impl TagsResponse {
    /// Whether `model` is among the pulled models. A name without a tag means `:latest`, as in
    /// the Ollama CLI.
    pub fn has(&self, model: &str) -> bool {
        let wanted = with_tag(model);
        self.models.iter().any(|m| with_tag(&m.name) == wanted)
    }
}

fn with_tag(name: &str) -> String {
    let name = name.trim().to_ascii_lowercase();
    let last_segment = name.rsplit('/').next().unwrap_or(&name);
    if last_segment.contains(':') {
        name
    } else {
        format!("{name}:latest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmx_plugin_sdk::backend::{Message, Role};

    fn settings() -> Settings {
        Settings {
            base_url: "http://localhost:11434".into(),
            default_model: "llama3.1:8b".into(),
            num_ctx: Some(4096),
            timeout_ms: None,
            keep_alive: None,
        }
    }

    fn request() -> GenerateRequest {
        GenerateRequest {
            model: None,
            messages: vec![
                Message::new(Role::System, "judge"),
                Message::new(Role::User, "option A"),
            ],
            temperature: Some(0.0),
            max_tokens: Some(256),
            stop: vec![],
            response_schema: Some(r#"{"type":"object"}"#.into()),
            extra: vec![],
        }
    }

    #[test]
    fn body_has_the_documented_fields() {
        let request = request();
        let settings = settings();
        let schema = request.schema_json().unwrap();
        let body = chat_request(&request, &settings, schema.as_deref()).unwrap();
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "model": "llama3.1:8b",
                "messages": [
                    {"role": "system", "content": "judge"},
                    {"role": "user", "content": "option A"}
                ],
                "stream": false,
                "format": {"type": "object"},
                "options": {"temperature": 0.0, "num_predict": 256, "num_ctx": 4096}
            })
        );
    }

    #[test]
    fn extra_parameters_override_and_bad_ones_are_named() {
        let mut request = request();
        request.model = Some("qwen3:4b".into());
        request.extra = vec![
            ("num-ctx".into(), "16384".into()),
            ("seed".into(), "7".into()),
        ];
        let settings = settings();
        let body = chat_request(&request, &settings, None).unwrap();
        assert_eq!(body.model, "qwen3:4b");
        assert_eq!(body.options.num_ctx, Some(16384));
        assert_eq!(body.options.seed, Some(7));
        request.extra = vec![("top-p".into(), "high".into())];
        let err = chat_request(&request, &settings, None).unwrap_err();
        assert!(format!("{err:?}").contains("top-p"));
    }

    #[test]
    fn empty_conversation_and_bad_schema_are_invalid_input() {
        let mut request = request();
        request.messages.clear();
        let settings = settings();
        assert!(matches!(
            chat_request(&request, &settings, None),
            Err(PluginError::InvalidInput(_))
        ));
        request.response_schema = Some("{nope".into());
        assert!(matches!(
            request.schema_json(),
            Err(PluginError::InvalidInput(_))
        ));
    }

    #[test]
    fn response_becomes_a_generation_with_token_counts() {
        let response: ChatResponse = serde_json::from_str(
            r#"{"model":"llama3.1:8b","created_at":"2026-01-01T00:00:00Z",
                "message":{"role":"assistant","content":"{\"score\":7}"},
                "done":true,"done_reason":"stop","total_duration":5,"prompt_eval_count":31,
                "eval_count":12}"#,
        )
        .unwrap();
        let generation = response.into_generation("llama3.1:8b").unwrap();
        assert_eq!(generation.text, r#"{"score":7}"#);
        assert_eq!(generation.stop_reason.as_deref(), Some("stop"));
        let usage = generation.usage.unwrap();
        assert_eq!((usage.input_tokens, usage.output_tokens), (31, 12));
    }

    #[test]
    fn in_band_error_and_missing_message_are_errors() {
        let response: ChatResponse = serde_json::from_str(r#"{"error":"runner crashed"}"#).unwrap();
        assert!(
            matches!(response.into_generation("m"), Err(PluginError::Upstream(u)) if u.message.contains("runner crashed"))
        );
        let response: ChatResponse = serde_json::from_str(r#"{"done":true}"#).unwrap();
        assert!(response.into_generation("m").is_err());
    }

    #[test]
    fn tags_match_with_implicit_latest() {
        let tags: TagsResponse = serde_json::from_str(
            r#"{"models":[{"name":"llama3.1:8b","model":"llama3.1:8b"},{"name":"mistral:latest"}]}"#,
        )
        .unwrap();
        assert!(tags.has("llama3.1:8b"));
        assert!(tags.has("mistral"));
        assert!(tags.has("Mistral:latest"));
        assert!(!tags.has("llama3.1:70b"));
        assert!(!tags.has("llama3.1"));
    }
}
