//! The Converse API's JSON (restJson1), written by hand.
//!
//! Bedrock's rules for the conversation are stricter than chat APIs': system text goes in a
//! separate `system` list, the conversation must start with a user message, and roles must
//! alternate. Consecutive messages of one role are therefore merged into one message with
//! several text blocks, which is how the service expects them. Why not `aws-sdk-bedrockruntime`
//! for these types: see BENCHMARKS.md ("Bedrock plugin without the AWS SDK").

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::backend::{GenerateRequest, Generation, Role, Usage};
use serde::{Deserialize, Serialize};

use crate::settings::Settings;

/// Name given to the answer schema in `outputConfig`.
const SCHEMA_NAME: &str = "answer";

/// `POST /model/{modelId}/converse` request body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseRequest<'a> {
    pub messages: Vec<Message<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<Text<'a>>,
    #[serde(skip_serializing_if = "InferenceConfig::is_empty")]
    pub inference_config: InferenceConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfig<'a>>,
}

/// One conversation turn.
#[derive(Debug, Serialize, PartialEq)]
pub struct Message<'a> {
    pub role: &'static str,
    pub content: Vec<Text<'a>>,
}

/// A text content block.
#[derive(Debug, Serialize, PartialEq)]
pub struct Text<'a> {
    pub text: &'a str,
}

/// `inferenceConfig`.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
}

impl InferenceConfig {
    fn is_empty(&self) -> bool {
        self.max_tokens.is_none()
            && self.temperature.is_none()
            && self.top_p.is_none()
            && self.stop_sequences.is_empty()
    }
}

/// `outputConfig`: `{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{...}}}}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputConfig<'a> {
    pub text_format: TextFormat<'a>,
}

/// `outputConfig.textFormat`.
#[derive(Debug, Serialize)]
pub struct TextFormat<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub structure: Structure<'a>,
}

/// `outputConfig.textFormat.structure`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Structure<'a> {
    pub json_schema: JsonSchema<'a>,
}

/// `...structure.jsonSchema`. The schema is a JSON document **in a string**, unlike OpenAI's.
#[derive(Debug, Serialize)]
pub struct JsonSchema<'a> {
    pub schema: &'a str,
    pub name: &'static str,
}

/// The request path for `model`: `/model/{model id, percent-encoded}/converse`. Model ids
/// contain `:` and ARNs contain `/`, which must not reach the path unescaped.
pub fn converse_path(model: &str) -> String {
    format!(
        "/model/{}/converse",
        dmx_plugin_sdk::http::path_segment(model)
    )
}

/// Builds the request body for `model`.
pub fn converse_request<'a>(
    request: &'a GenerateRequest,
    settings: &Settings,
    model: &str,
) -> Result<ConverseRequest<'a>, PluginError> {
    let mut system = Vec::new();
    let mut messages: Vec<Message<'a>> = Vec::new();
    for (index, message) in request.messages.iter().enumerate() {
        if message.content.trim().is_empty() {
            return Err(PluginError::InvalidInput(format!(
                "message {index} is empty; Bedrock rejects blank text blocks"
            )));
        }
        let text = Text {
            text: &message.content,
        };
        let role = match message.role {
            Role::System => {
                system.push(text);
                continue;
            }
            role => role.as_str(),
        };
        match messages.last_mut() {
            Some(last) if last.role == role => last.content.push(text),
            _ => messages.push(Message {
                role,
                content: vec![text],
            }),
        }
    }
    match messages.first() {
        None => {
            return Err(PluginError::InvalidInput(
                "the request has no user message; Bedrock needs one".into(),
            ));
        }
        Some(first) if first.role != "user" => {
            return Err(PluginError::InvalidInput(
                "the conversation starts with an assistant message; Bedrock requires the first \
                 message to be the user's"
                    .into(),
            ));
        }
        Some(_) => {}
    }
    let output_config = match &request.response_schema {
        Some(schema) if settings.structured_output_for(model) => {
            request.schema_json()?;
            Some(OutputConfig {
                text_format: TextFormat {
                    kind: "json_schema",
                    structure: Structure {
                        json_schema: JsonSchema {
                            schema,
                            name: SCHEMA_NAME,
                        },
                    },
                },
            })
        }
        _ => None,
    };
    Ok(ConverseRequest {
        messages,
        system,
        inference_config: InferenceConfig {
            max_tokens: request.max_tokens,
            temperature: request.temperature,
            top_p: request.extra_as("top-p")?,
            stop_sequences: request.stop.clone(),
        },
        output_config,
    })
}

/// Converse response body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseResponse {
    pub output: Option<Output>,
    pub stop_reason: Option<String>,
    pub usage: Option<TokenUsage>,
}

/// `output`.
#[derive(Debug, Deserialize)]
pub struct Output {
    pub message: Option<AnswerMessage>,
}

/// `output.message`.
#[derive(Debug, Deserialize)]
pub struct AnswerMessage {
    #[serde(default)]
    pub content: Vec<ContentBlock>,
}

/// A content block; only text is read (reasoning blocks and others are skipped).
#[derive(Debug, Deserialize)]
pub struct ContentBlock {
    pub text: Option<String>,
}

/// `usage`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    #[serde(default)]
    pub input_tokens: u32,
    #[serde(default)]
    pub output_tokens: u32,
}

impl ConverseResponse {
    /// The generation, or why there is none.
    pub fn into_generation(self, model: &str) -> Result<Generation, PluginError> {
        let stop_reason = self.stop_reason;
        match stop_reason.as_deref() {
            Some(reason @ ("guardrail_intervened" | "content_filtered")) => {
                return Err(PluginError::upstream(
                    format!("Bedrock blocked the answer ({reason}); asking again will not help"),
                    false,
                ));
            }
            Some("model_context_window_exceeded") => {
                return Err(PluginError::InvalidInput(format!(
                    "the prompt does not fit the context window of {model}"
                )));
            }
            Some(reason @ ("malformed_model_output" | "malformed_tool_use")) => {
                return Err(PluginError::upstream(
                    format!("the model produced malformed output ({reason})"),
                    true,
                ));
            }
            _ => {}
        }
        let Some(message) = self.output.and_then(|o| o.message) else {
            return Err(crate::errors::malformed("the answer has no output.message"));
        };
        let mut texts = message.content.into_iter().filter_map(|block| block.text);
        let Some(first) = texts.next() else {
            return Err(crate::errors::malformed("the answer has no text content"));
        };
        let text = texts.fold(first, |mut all, more| {
            all.push_str(&more);
            all
        });
        Ok(Generation {
            text,
            model: model.to_owned(),
            usage: self.usage.map(|u| Usage {
                input_tokens: u.input_tokens,
                output_tokens: u.output_tokens,
            }),
            stop_reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmx_plugin_sdk::backend::Message as ChatMessage;
    use dmx_plugin_sdk::config;

    fn settings() -> Settings {
        Settings::from_lookup(config::from_pairs(&[
            ("region", "us-east-1"),
            (
                "endpoint",
                "https://bedrock-runtime.us-east-1.amazonaws.com",
            ),
            ("default-model", "anthropic.claude-3-sonnet-20240229-v1:0"),
        ]))
        .unwrap()
    }

    fn request(messages: Vec<ChatMessage>) -> GenerateRequest {
        GenerateRequest {
            model: None,
            messages,
            temperature: Some(0.0),
            max_tokens: Some(512),
            stop: vec![],
            response_schema: Some(r#"{"type":"object"}"#.into()),
            extra: vec![],
        }
    }

    #[test]
    fn path_percent_encodes_model_ids_and_arns() {
        assert_eq!(
            converse_path("anthropic.claude-3-sonnet-20240229-v1:0"),
            "/model/anthropic.claude-3-sonnet-20240229-v1%3A0/converse"
        );
        assert_eq!(
            converse_path("arn:aws:bedrock:us-east-1:123:inference-profile/us.x"),
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Ainference-profile%2Fus.x/converse"
        );
    }

    #[test]
    fn system_is_separate_and_roles_alternate() {
        let request = request(vec![
            ChatMessage::new(Role::System, "judge"),
            ChatMessage::new(Role::User, "topic"),
            ChatMessage::new(Role::User, "option A"),
            ChatMessage::new(Role::Assistant, "{"),
        ]);
        let body = converse_request(
            &request,
            &settings(),
            "anthropic.claude-3-sonnet-20240229-v1:0",
        )
        .unwrap();
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "messages": [
                    {"role": "user", "content": [{"text": "topic"}, {"text": "option A"}]},
                    {"role": "assistant", "content": [{"text": "{"}]}
                ],
                "system": [{"text": "judge"}],
                "inferenceConfig": {"maxTokens": 512, "temperature": 0.0}
            })
        );
    }

    #[test]
    fn schema_goes_in_output_config_as_a_string_for_supporting_models() {
        let request = request(vec![ChatMessage::new(Role::User, "A")]);
        let body = converse_request(
            &request,
            &settings(),
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        )
        .unwrap();
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json["outputConfig"],
            serde_json::json!({"textFormat": {"type": "json_schema",
                "structure": {"jsonSchema": {"schema": "{\"type\":\"object\"}", "name": "answer"}}}})
        );
    }

    #[test]
    fn bad_conversations_are_invalid_input() {
        let settings = settings();
        for messages in [
            vec![ChatMessage::new(Role::System, "only system")],
            vec![
                ChatMessage::new(Role::Assistant, "hi"),
                ChatMessage::new(Role::User, "x"),
            ],
            vec![ChatMessage::new(Role::User, "  ")],
        ] {
            let request = request(messages);
            assert!(matches!(
                converse_request(&request, &settings, "m"),
                Err(PluginError::InvalidInput(_))
            ));
        }
    }

    #[test]
    fn response_text_usage_and_stop_reason() {
        let response: ConverseResponse = serde_json::from_str(
            r#"{"output":{"message":{"role":"assistant","content":[{"reasoningContent":{"reasoningText":{"text":"hmm"}}},{"text":"{\"score\":"},{"text":"6}"}]}},
                "stopReason":"end_turn","usage":{"inputTokens":40,"outputTokens":8,"totalTokens":48},
                "metrics":{"latencyMs":321}}"#,
        )
        .unwrap();
        let generation = response.into_generation("m").unwrap();
        assert_eq!(generation.text, r#"{"score":6}"#);
        assert_eq!(generation.stop_reason.as_deref(), Some("end_turn"));
        let usage = generation.usage.unwrap();
        assert_eq!((usage.input_tokens, usage.output_tokens), (40, 8));
    }

    #[test]
    fn blocked_and_malformed_answers_are_errors() {
        for (reason, retryable) in [
            ("guardrail_intervened", Some(false)),
            ("content_filtered", Some(false)),
            ("malformed_model_output", Some(true)),
            ("model_context_window_exceeded", None),
        ] {
            let response: ConverseResponse = serde_json::from_str(&format!(
                r#"{{"output":{{"message":{{"role":"assistant","content":[{{"text":"blocked"}}]}}}},"stopReason":"{reason}"}}"#
            ))
            .unwrap();
            let err = response.into_generation("m").unwrap_err();
            assert_eq!(
                err.as_upstream().map(|u| u.retryable),
                retryable,
                "{reason}"
            );
        }
        let empty: ConverseResponse =
            serde_json::from_str(r#"{"output":{"message":{"role":"assistant","content":[]}}}"#)
                .unwrap();
        assert!(empty.into_generation("m").is_err());
    }
}
