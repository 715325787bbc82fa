//! OpenAI chat completions bodies, as LiteLLM, OpenAI, vLLM and llama.cpp's server speak them.
//!
//! Only the fields the adapter sends or reads are modelled. Model names are sent unchanged:
//! a LiteLLM proxy routes on its `model_name` aliases and on provider prefixes such as
//! `anthropic/...`, so rewriting them would break routing.

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::backend::{GenerateRequest, Generation, Usage};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::settings::{ResponseFormat, Settings};

/// Name given to the schema in `response_format.json_schema.name` (`[a-zA-Z0-9_-]{1,64}`).
const SCHEMA_NAME: &str = "answer";

/// `POST /chat/completions` request body.
#[derive(Debug, Serialize)]
pub struct ChatRequest<'a> {
    pub model: &'a str,
    pub messages: Vec<ChatMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormatBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a str>,
}

/// One chat message.
#[derive(Debug, Serialize)]
pub struct ChatMessage<'a> {
    pub role: &'static str,
    pub content: &'a str,
}

/// `response_format`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormatBody<'a> {
    /// The nested form every server reads; llama.cpp silently ignores a flat `schema`.
    JsonSchema {
        json_schema: JsonSchema<'a>,
    },
    JsonObject,
}

/// `response_format.json_schema`.
#[derive(Debug, Serialize)]
pub struct JsonSchema<'a> {
    pub name: &'static str,
    pub schema: &'a RawValue,
    pub strict: bool,
}

/// Builds the request body.
pub fn chat_request<'a>(
    request: &'a GenerateRequest,
    settings: &'a Settings,
    schema: Option<&'a RawValue>,
) -> Result<ChatRequest<'a>, PluginError> {
    if request.messages.is_empty() {
        return Err(PluginError::InvalidInput(
            "the request has no messages".into(),
        ));
    }
    let response_format = match (settings.response_format, schema) {
        (ResponseFormat::JsonSchema, Some(schema)) => Some(ResponseFormatBody::JsonSchema {
            json_schema: JsonSchema {
                name: SCHEMA_NAME,
                schema,
                strict: true,
            },
        }),
        (ResponseFormat::JsonObject, Some(_)) => Some(ResponseFormatBody::JsonObject),
        _ => None,
    };
    Ok(ChatRequest {
        model: settings.model_for(request)?,
        messages: request
            .messages
            .iter()
            .map(|m| ChatMessage {
                role: m.role.as_str(),
                content: &m.content,
            })
            .collect(),
        temperature: request.temperature,
        max_tokens: request.max_tokens,
        stop: request.stop.clone(),
        response_format,
        seed: request.extra_as("seed")?,
        top_p: request.extra_as("top-p")?,
        user: request.extra("user"),
    })
}

/// `POST /chat/completions` response body.
#[derive(Debug, Deserialize)]
pub struct ChatResponse {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub choices: Vec<Choice>,
    pub usage: Option<TokenUsage>,
}

/// One choice; the adapter asks for one.
#[derive(Debug, Deserialize)]
pub struct Choice {
    pub message: Option<AnswerMessage>,
    pub finish_reason: Option<String>,
}

/// The assistant's message. `content` is null when the model refused (structured outputs put
/// the reason in `refusal`) or only called tools.
#[derive(Debug, Deserialize)]
pub struct AnswerMessage {
    pub content: Option<String>,
    pub refusal: Option<String>,
}

/// `usage`.
#[derive(Debug, Deserialize)]
pub struct TokenUsage {
    #[serde(default)]
    pub prompt_tokens: u32,
    #[serde(default)]
    pub completion_tokens: u32,
}

impl ChatResponse {
    /// The generation, or why there is none.
    pub fn into_generation(self, requested_model: &str) -> Result<Generation, PluginError> {
        let Some(choice) = self.choices.into_iter().next() else {
            return Err(crate::errors::malformed("the answer has no choices"));
        };
        let Some(message) = choice.message else {
            return Err(crate::errors::malformed("the first choice has no message"));
        };
        let text = match (message.content, message.refusal) {
            (_, Some(refusal)) if !refusal.is_empty() => {
                return Err(crate::errors::refused(&refusal));
            }
            (Some(content), _) => content,
            (None, _) => return Err(crate::errors::malformed("the message has no content")),
        };
        Ok(Generation {
            text,
            model: if self.model.is_empty() {
                requested_model.to_owned()
            } else {
                self.model
            },
            usage: self.usage.map(|u| Usage {
                input_tokens: u.prompt_tokens,
                output_tokens: u.completion_tokens,
            }),
            stop_reason: choice.finish_reason,
        })
    }
}

/// `GET /models` response body, used by the health check.
#[derive(Debug, Deserialize)]
pub struct ModelList {
    #[serde(default)]
    pub data: Vec<ModelEntry>,
}

/// One listed model.
#[derive(Debug, Deserialize)]
pub struct ModelEntry {
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmx_plugin_sdk::backend::{Message, Role};
    use dmx_plugin_sdk::config;

    fn settings(format: &str) -> Settings {
        Settings::from_lookup(config::from_pairs(&[
            ("base-url", "http://127.0.0.1:4000"),
            ("default-model", "gpt-4o-mini"),
            ("response-format", format),
        ]))
        .unwrap()
    }

    fn request() -> GenerateRequest {
        GenerateRequest {
            model: Some("anthropic/claude-3-5-sonnet".into()),
            messages: vec![
                Message::new(Role::System, "judge"),
                Message::new(Role::User, "A"),
            ],
            temperature: Some(0.0),
            max_tokens: Some(300),
            stop: vec![],
            response_schema: Some(
                r#"{"type":"object","properties":{"score":{"type":"number"}}}"#.into(),
            ),
            extra: vec![("seed".into(), "42".into())],
        }
    }

    fn body_json(request: &GenerateRequest, format: &str) -> serde_json::Value {
        let settings = settings(format);
        let schema = request.schema_json().unwrap();
        serde_json::to_value(chat_request(request, &settings, schema.as_deref()).unwrap()).unwrap()
    }

    #[test]
    fn body_uses_the_nested_json_schema_form_and_keeps_the_model_prefix() {
        let json = body_json(&request(), "json_schema");
        assert_eq!(
            json,
            serde_json::json!({
                "model": "anthropic/claude-3-5-sonnet",
                "messages": [{"role": "system", "content": "judge"}, {"role": "user", "content": "A"}],
                "temperature": 0.0,
                "max_tokens": 300,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "answer",
                        "schema": {"type": "object", "properties": {"score": {"type": "number"}}},
                        "strict": true
                    }
                },
                "seed": 42
            })
        );
    }

    /// A route's provider has no default model: a request must name one.
    #[test]
    fn without_a_default_model_the_request_names_the_model() {
        let settings =
            Settings::from_lookup(config::from_pairs(&[("base-url", "http://127.0.0.1:4000")]))
                .unwrap();
        let request_with_model = request();
        let named = chat_request(&request_with_model, &settings, None).unwrap();
        assert_eq!(named.model, "anthropic/claude-3-5-sonnet");
        let mut unnamed = request();
        unnamed.model = None;
        match chat_request(&unnamed, &settings, None) {
            Err(PluginError::InvalidInput(message)) => {
                assert!(message.contains("names no model"), "{message}");
            }
            other => panic!("expected invalid input, got {:?}", other.map(|b| b.model)),
        }
    }

    #[test]
    fn other_formats() {
        let json = body_json(&request(), "json_object");
        assert_eq!(
            json["response_format"],
            serde_json::json!({"type": "json_object"})
        );
        let json = body_json(&request(), "none");
        assert!(json.get("response_format").is_none());
        let mut request = request();
        request.response_schema = None;
        assert!(
            body_json(&request, "json_schema")
                .get("response_format")
                .is_none()
        );
    }

    #[test]
    fn response_with_usage() {
        let response: ChatResponse = serde_json::from_str(
            r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18",
                "choices":[{"index":0,"message":{"role":"assistant","content":"{\"score\":8}"},
                "finish_reason":"stop","logprobs":null}],
                "usage":{"prompt_tokens":50,"completion_tokens":9,"total_tokens":59,
                "prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}"#,
        )
        .unwrap();
        let generation = response.into_generation("gpt-4o-mini").unwrap();
        assert_eq!(generation.text, r#"{"score":8}"#);
        assert_eq!(generation.model, "gpt-4o-mini-2024-07-18");
        assert_eq!(generation.stop_reason.as_deref(), Some("stop"));
        let usage = generation.usage.unwrap();
        assert_eq!((usage.input_tokens, usage.output_tokens), (50, 9));
    }

    #[test]
    fn refusal_and_empty_choices_are_errors_not_answers() {
        let refused: ChatResponse = serde_json::from_str(
            r#"{"choices":[{"message":{"role":"assistant","content":null,"refusal":"I can't help"},"finish_reason":"stop"}]}"#,
        )
        .unwrap();
        let err = refused.into_generation("m").unwrap_err();
        assert!(format!("{err:?}").contains("I can't help"));
        let empty: ChatResponse = serde_json::from_str(r#"{"choices":[]}"#).unwrap();
        assert!(empty.into_generation("m").is_err());
    }
}
