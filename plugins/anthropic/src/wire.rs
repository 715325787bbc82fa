//! Messages API bodies (`POST /v1/messages`, `GET /v1/models/{id}`).
//!
//! Only the fields the adapter sends or reads are modelled. System text goes in the top-level
//! `system` field, never in `messages`, and `max_tokens` is always sent because the API
//! refuses a request without it. The answer schema travels one of two ways (see
//! [`AnswerForm`]), and the answer is read back from the matching content block.

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::backend::{GenerateRequest, Generation, Role, Usage};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::errors;
use crate::models;
use crate::settings::{Settings, StructuredOutput, Temperature};

/// The API version every request names in `anthropic-version`.
pub const API_VERSION: &str = "2023-06-01";

/// Name of the tool whose input is the answer, in the forced-tool form.
pub const TOOL_NAME: &str = "answer";

/// What the model reads about that tool.
const TOOL_DESCRIPTION: &str =
    "Record the answer. Call this exactly once, with the complete answer as the input.";

/// How the answer comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerForm {
    /// Free text: no schema, or `structured-output = none`.
    Text,
    /// Text constrained to the schema by `output_config.format`.
    OutputFormat,
    /// The input of a `tool_use` block for [`TOOL_NAME`], forced with `tool_choice`.
    Tool,
}

/// `POST /v1/messages` request body.
#[derive(Debug, Serialize)]
pub struct MessagesRequest<'a> {
    pub model: &'a str,
    pub max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub messages: Vec<Message<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub stop_sequences: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfig<'a>>,
}

/// One conversation turn. Consecutive turns of one role are fine: the API joins them.
#[derive(Debug, Serialize, PartialEq)]
pub struct Message<'a> {
    pub role: &'static str,
    pub content: &'a str,
}

/// A client tool.
#[derive(Debug, Serialize)]
pub struct Tool<'a> {
    pub name: &'static str,
    pub description: &'static str,
    pub input_schema: &'a RawValue,
}

/// `tool_choice`: `{"type":"tool","name":...}` makes the model call that tool.
#[derive(Debug, Serialize)]
pub struct ToolChoice {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: &'static str,
}

/// `output_config`.
#[derive(Debug, Serialize)]
pub struct OutputConfig<'a> {
    pub format: OutputFormat<'a>,
}

/// `output_config.format`: `{"type":"json_schema","schema":{...}}`.
#[derive(Debug, Serialize)]
pub struct OutputFormat<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub schema: &'a RawValue,
}

/// Builds the request body, and says where the answer will be.
pub fn messages_request<'a>(
    request: &'a GenerateRequest,
    settings: &'a Settings,
    schema: Option<&'a RawValue>,
) -> Result<(MessagesRequest<'a>, AnswerForm), PluginError> {
    let model = request.model_or(&settings.default_model);
    let capabilities = models::capabilities(model);
    let mut system = Vec::new();
    let mut messages = Vec::new();
    for (index, message) in request.messages.iter().enumerate() {
        if message.content.trim().is_empty() {
            return Err(PluginError::InvalidInput(format!(
                "message {index} is empty; the Messages API rejects empty text"
            )));
        }
        match message.role {
            Role::System => system.push(message.content.as_str()),
            role => messages.push(Message {
                role: role.as_str(),
                content: &message.content,
            }),
        }
    }
    if !messages.iter().any(|m| m.role == "user") {
        return Err(PluginError::InvalidInput(
            "the request has no user message; the Messages API needs one".into(),
        ));
    }
    let form = match (schema, settings.structured_output) {
        (None, _) | (Some(_), StructuredOutput::None) => AnswerForm::Text,
        (Some(_), StructuredOutput::OutputFormat) => AnswerForm::OutputFormat,
        (Some(_), StructuredOutput::Tool) => AnswerForm::Tool,
        (Some(_), StructuredOutput::Auto) if capabilities.output_format => AnswerForm::OutputFormat,
        (Some(_), StructuredOutput::Auto) => AnswerForm::Tool,
    };
    let (tools, tool_choice, output_config) = match (form, schema) {
        (AnswerForm::Tool, Some(schema)) => {
            require_object_schema(schema)?;
            let tool = Tool {
                name: TOOL_NAME,
                description: TOOL_DESCRIPTION,
                input_schema: schema,
            };
            let choice = ToolChoice {
                kind: "tool",
                name: TOOL_NAME,
            };
            (vec![tool], Some(choice), None)
        }
        (AnswerForm::OutputFormat, Some(schema)) => {
            let format = OutputFormat {
                kind: "json_schema",
                schema,
            };
            (Vec::new(), None, Some(OutputConfig { format }))
        }
        _ => (Vec::new(), None, None),
    };
    let temperature = match settings.temperature {
        Temperature::Always => request.temperature,
        Temperature::Never => None,
        Temperature::Auto if capabilities.sampling => request.temperature,
        Temperature::Auto => None,
    };
    let body = MessagesRequest {
        model,
        max_tokens: request.max_tokens.unwrap_or(settings.max_tokens),
        system: (!system.is_empty()).then(|| system.join("\n\n")),
        messages,
        temperature,
        stop_sequences: &request.stop,
        tools,
        tool_choice,
        output_config,
    };
    Ok((body, form))
}

/// A tool's `input_schema` must describe an object; the answer schemas the host sends do.
fn require_object_schema(schema: &RawValue) -> Result<(), PluginError> {
    #[derive(Deserialize)]
    struct Root {
        #[serde(rename = "type")]
        kind: Option<serde_json::Value>,
    }
    let root: Root = serde_json::from_str(schema.get()).map_err(|e| {
        PluginError::InvalidInput(format!("response-schema is not a JSON object: {e}"))
    })?;
    if root.kind.as_ref().and_then(|k| k.as_str()) == Some("object") {
        Ok(())
    } else {
        Err(PluginError::InvalidInput(
            "the answer schema's root is not `\"type\": \"object\"`, which a tool's input_schema \
             must be; set DMM_ANTHROPIC_STRUCTURED_OUTPUT=output-format (Claude 4.5 and newer) \
             or none"
                .into(),
        ))
    }
}

/// `POST /v1/messages` response body.
#[derive(Debug, Deserialize)]
pub struct MessagesResponse {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    pub stop_reason: Option<String>,
    pub usage: Option<TokenUsage>,
}

/// One content block; thinking and server-tool blocks are skipped.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: String,
    },
    ToolUse {
        name: String,
        input: serde_json::Value,
    },
    #[serde(other)]
    Other,
}

/// `usage`. Cached prompt tokens are counted apart from `input_tokens`.
#[derive(Debug, Deserialize)]
pub struct TokenUsage {
    #[serde(default)]
    pub input_tokens: u32,
    #[serde(default)]
    pub output_tokens: u32,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u32>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u32>,
}

impl MessagesResponse {
    /// The generation, or why there is none. `max_tokens` is the limit the request set, for
    /// the message about a cut-off answer.
    pub fn into_generation(
        self,
        requested_model: &str,
        form: AnswerForm,
        max_tokens: u32,
    ) -> Result<Generation, PluginError> {
        let stop_reason = self.stop_reason;
        let mut texts = Vec::new();
        let mut tool_input = None;
        for block in self.content {
            match block {
                ContentBlock::Text { text } => texts.push(text),
                ContentBlock::ToolUse { name, input } if name == TOOL_NAME => {
                    tool_input = Some(input);
                }
                ContentBlock::ToolUse { .. } | ContentBlock::Other => {}
            }
        }
        let text = texts.concat();
        let cut_off = stop_reason.as_deref() == Some("max_tokens");
        match stop_reason.as_deref() {
            Some("refusal") => return Err(errors::refused(&text)),
            Some("model_context_window_exceeded") => {
                return Err(PluginError::InvalidInput(format!(
                    "the prompt does not fit the context window of {requested_model}"
                )));
            }
            _ => {}
        }
        let answer = match form {
            // A tool call cut short holds a partial input; it is not the answer.
            AnswerForm::Tool if cut_off => return Err(errors::cut_off(max_tokens)),
            AnswerForm::Tool => match tool_input {
                Some(input) => input.to_string(),
                None => {
                    return Err(errors::malformed(&format!(
                        "the model did not call the `{TOOL_NAME}` tool (stop_reason {})",
                        stop_reason.as_deref().unwrap_or("none")
                    )));
                }
            },
            // A structured answer cut short does not parse; say why instead.
            AnswerForm::OutputFormat if cut_off => return Err(errors::cut_off(max_tokens)),
            AnswerForm::OutputFormat | AnswerForm::Text if text.is_empty() => {
                return Err(if cut_off {
                    errors::cut_off(max_tokens)
                } else {
                    errors::malformed("the answer has no text content")
                });
            }
            AnswerForm::OutputFormat | AnswerForm::Text => text,
        };
        Ok(Generation {
            text: answer,
            model: if self.model.is_empty() {
                requested_model.to_owned()
            } else {
                self.model
            },
            usage: self.usage.map(|u| Usage {
                input_tokens: u
                    .input_tokens
                    .saturating_add(u.cache_creation_input_tokens.unwrap_or(0))
                    .saturating_add(u.cache_read_input_tokens.unwrap_or(0)),
                output_tokens: u.output_tokens,
            }),
            stop_reason,
        })
    }
}

/// `GET /v1/models/{id}` response body, used by the health check.
#[derive(Debug, Deserialize)]
pub struct ModelInfo {
    pub id: String,
    pub display_name: Option<String>,
}

/// `/v1/models/{model}`, with the id percent-encoded: it is one path segment.
pub fn model_path(model: &str) -> String {
    format!("/v1/models/{}", dmx_plugin_sdk::http::path_segment(model))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmx_plugin_sdk::backend::Message as ChatMessage;
    use dmx_plugin_sdk::config;

    const SCHEMA: &str = r#"{"type":"object","properties":{"score":{"type":["number","null"]}},"required":["score"],"additionalProperties":false}"#;

    fn settings(extra: &[(&'static str, &'static str)]) -> Settings {
        let mut pairs = vec![
            ("base-url", "http://127.0.0.1:4000"),
            ("default-model", "claude-sonnet-4-6"),
        ];
        pairs.extend_from_slice(extra);
        Settings::from_lookup(config::from_pairs(&pairs)).unwrap()
    }

    fn request(model: Option<&str>) -> GenerateRequest {
        GenerateRequest {
            model: model.map(str::to_owned),
            messages: vec![
                ChatMessage::new(Role::System, "You judge."),
                ChatMessage::new(Role::System, "Answer in JSON."),
                ChatMessage::new(Role::User, "Option A"),
            ],
            temperature: Some(0.2),
            max_tokens: Some(512),
            stop: vec![],
            response_schema: Some(SCHEMA.into()),
            extra: vec![],
        }
    }

    fn body(request: &GenerateRequest, settings: &Settings) -> (serde_json::Value, AnswerForm) {
        let schema = request.schema_json().unwrap();
        let (body, form) = messages_request(request, settings, schema.as_deref()).unwrap();
        (serde_json::to_value(&body).unwrap(), form)
    }

    #[test]
    fn system_is_top_level_and_new_models_get_output_config() {
        let (json, form) = body(&request(None), &settings(&[]));
        assert_eq!(form, AnswerForm::OutputFormat);
        assert_eq!(
            json,
            serde_json::json!({
                "model": "claude-sonnet-4-6",
                "max_tokens": 512,
                "system": "You judge.\n\nAnswer in JSON.",
                "messages": [{"role": "user", "content": "Option A"}],
                "temperature": 0.2f32,
                "output_config": {"format": {"type": "json_schema", "schema": serde_json::from_str::<serde_json::Value>(SCHEMA).unwrap()}}
            })
        );
    }

    #[test]
    fn older_models_get_a_forced_tool() {
        let (json, form) = body(&request(Some("claude-3-5-haiku-20241022")), &settings(&[]));
        assert_eq!(form, AnswerForm::Tool);
        assert_eq!(
            json["tool_choice"],
            serde_json::json!({"type": "tool", "name": "answer"})
        );
        assert_eq!(json["tools"][0]["name"], "answer");
        assert_eq!(json["tools"][0]["input_schema"]["required"][0], "score");
        assert!(json.get("output_config").is_none());
        assert_eq!(json["temperature"], serde_json::json!(0.2f32));
    }

    #[test]
    fn models_that_reject_sampling_get_no_temperature() {
        let (json, _) = body(&request(Some("claude-opus-4-7")), &settings(&[]));
        assert!(json.get("temperature").is_none());
        let (json, _) = body(
            &request(Some("claude-opus-4-7")),
            &settings(&[("temperature", "always")]),
        );
        assert!(json.get("temperature").is_some());
        let (json, _) = body(&request(None), &settings(&[("temperature", "never")]));
        assert!(json.get("temperature").is_none());
    }

    #[test]
    fn configured_forms_win_and_no_schema_means_text() {
        let (json, form) = body(&request(None), &settings(&[("structured-output", "tool")]));
        assert_eq!(form, AnswerForm::Tool);
        assert!(json.get("output_config").is_none());
        let (json, form) = body(&request(None), &settings(&[("structured-output", "none")]));
        assert_eq!(form, AnswerForm::Text);
        assert!(json.get("tools").is_none() && json.get("output_config").is_none());
        let mut plain = request(None);
        plain.response_schema = None;
        plain.max_tokens = None;
        plain.stop = vec!["END".into()];
        let (json, form) = body(&plain, &settings(&[("max-tokens", "300")]));
        assert_eq!(form, AnswerForm::Text);
        assert_eq!(json["max_tokens"], 300);
        assert_eq!(json["stop_sequences"], serde_json::json!(["END"]));
    }

    #[test]
    fn bad_conversations_and_schemas_are_invalid_input() {
        let settings = settings(&[("structured-output", "tool")]);
        let mut only_system = request(None);
        only_system.messages = vec![ChatMessage::new(Role::System, "x")];
        let mut blank = request(None);
        blank.messages.push(ChatMessage::new(Role::Assistant, " "));
        let mut array_schema = request(None);
        array_schema.response_schema = Some(r#"{"type":"array","items":{}}"#.into());
        for bad in [only_system, blank, array_schema] {
            let schema = bad.schema_json().unwrap();
            assert!(matches!(
                messages_request(&bad, &settings, schema.as_deref()),
                Err(PluginError::InvalidInput(_))
            ));
        }
    }

    fn response(json: &str) -> MessagesResponse {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn tool_input_is_the_answer_and_cached_tokens_count_as_input() {
        let generation = response(
            r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022",
                "content":[{"type":"text","text":"Here:"},{"type":"tool_use","id":"toolu_1","name":"answer","input":{"score":7}}],
                "stop_reason":"tool_use","stop_sequence":null,
                "usage":{"input_tokens":90,"output_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":10}}"#,
        )
        .into_generation("claude-3-5-haiku", AnswerForm::Tool, 512)
        .unwrap();
        assert_eq!(generation.text, r#"{"score":7}"#);
        assert_eq!(generation.model, "claude-3-5-haiku-20241022");
        assert_eq!(generation.stop_reason.as_deref(), Some("tool_use"));
        let usage = generation.usage.unwrap();
        assert_eq!((usage.input_tokens, usage.output_tokens), (100, 20));
    }

    #[test]
    fn text_blocks_are_joined_and_thinking_is_skipped() {
        let generation = response(
            r#"{"model":"claude-sonnet-4-6","content":[{"type":"thinking","thinking":"hmm","signature":"s"},
                {"type":"text","text":"{\"score\":"},{"type":"text","text":"8}"}],
                "stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":3}}"#,
        )
        .into_generation("claude-sonnet-4-6", AnswerForm::OutputFormat, 512)
        .unwrap();
        assert_eq!(generation.text, r#"{"score":8}"#);
    }

    #[test]
    fn refusals_cut_offs_and_missing_answers_are_errors() {
        let refused = response(
            r#"{"content":[{"type":"text","text":"I can't help with that."}],"stop_reason":"refusal"}"#,
        )
        .into_generation("m", AnswerForm::OutputFormat, 512)
        .unwrap_err();
        let u = refused.as_upstream().unwrap();
        assert!(
            !u.retryable && u.message.contains("can't help"),
            "{}",
            u.message
        );

        for form in [AnswerForm::OutputFormat, AnswerForm::Tool] {
            let err = response(
                r#"{"content":[{"type":"text","text":"{\"score\":"}],"stop_reason":"max_tokens"}"#,
            )
            .into_generation("m", form, 64)
            .unwrap_err();
            let u = err.as_upstream().unwrap();
            assert!(!u.retryable && u.message.contains("64"), "{}", u.message);
        }
        // Free text cut short is still text.
        let partial = response(
            r#"{"content":[{"type":"text","text":"Once upon"}],"stop_reason":"max_tokens"}"#,
        )
        .into_generation("m", AnswerForm::Text, 2)
        .unwrap();
        assert_eq!(partial.stop_reason.as_deref(), Some("max_tokens"));

        let partial_tool = response(
            r#"{"content":[{"type":"tool_use","id":"t","name":"answer","input":{}}],"stop_reason":"max_tokens"}"#,
        )
        .into_generation("m", AnswerForm::Tool, 32)
        .unwrap_err();
        assert!(format!("{partial_tool:?}").contains("32"));
        let no_tool =
            response(r#"{"content":[{"type":"text","text":"7"}],"stop_reason":"end_turn"}"#)
                .into_generation("m", AnswerForm::Tool, 512)
                .unwrap_err();
        assert!(format!("{no_tool:?}").contains("answer"));
        let too_long = response(r#"{"content":[],"stop_reason":"model_context_window_exceeded"}"#)
            .into_generation("m", AnswerForm::Text, 512)
            .unwrap_err();
        assert!(matches!(too_long, PluginError::InvalidInput(_)));
        let empty = response(r#"{"content":[],"stop_reason":"end_turn"}"#).into_generation(
            "m",
            AnswerForm::Text,
            512,
        );
        assert!(empty.is_err());
    }

    #[test]
    fn model_paths_are_encoded() {
        assert_eq!(
            model_path("claude-sonnet-4-6"),
            "/v1/models/claude-sonnet-4-6"
        );
        assert_eq!(model_path("a/b c"), "/v1/models/a%2Fb%20c");
    }
}
