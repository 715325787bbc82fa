//! Gemini API bodies (`POST /v1beta/models/{model}:generateContent`, `GET /v1beta/models/{model}`).
//!
//! Only the fields the adapter sends or reads are modelled. System text goes in
//! `systemInstruction`, the conversation in `contents` with the roles `user` and `model`, and
//! the sampling settings and the answer's schema in `generationConfig`. An answer can be
//! withheld in two places: the prompt (`promptFeedback.blockReason`, no candidates) or the
//! candidate (`finishReason`); both become errors that say which.

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::backend::{GenerateRequest, Generation, Role, Usage};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::errors;
use crate::schema;
use crate::settings::{Settings, StructuredOutput, Thinking};

/// The API version in every path.
const API_VERSION: &str = "v1beta";

/// `POST .../{model}:generateContent` request body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<Content<'a>>,
    pub contents: Vec<Content<'a>>,
    #[serde(skip_serializing_if = "GenerationConfig::is_empty")]
    pub generation_config: GenerationConfig,
}

/// A turn (or the system instruction, which has no role).
#[derive(Debug, Serialize, PartialEq)]
pub struct Content<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    pub parts: Vec<Part<'a>>,
}

/// A text part.
#[derive(Debug, Serialize, PartialEq)]
pub struct Part<'a> {
    pub text: &'a str,
}

/// `generationConfig`.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_mime_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_schema: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_config: Option<ThinkingConfig>,
}

impl GenerationConfig {
    fn is_empty(&self) -> bool {
        self.temperature.is_none()
            && self.max_output_tokens.is_none()
            && self.stop_sequences.is_empty()
            && self.response_mime_type.is_none()
            && self.response_schema.is_none()
            && self.thinking_config.is_none()
    }
}

/// `generationConfig.thinkingConfig`: one of the two fields, never both.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThinkingConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_budget: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_level: Option<String>,
}

/// The request body, and what the translation of the schema left out.
#[derive(Debug)]
pub struct Prepared<'a> {
    pub body: GenerateContentRequest<'a>,
    /// Whether the answer must be JSON (a cut-off answer is then an error, not text).
    pub structured: bool,
    /// JSON Schema keywords the `responseSchema` leaves out.
    pub dropped: Vec<String>,
}

/// Builds the request body.
pub fn generate_request<'a>(
    request: &'a GenerateRequest,
    settings: &Settings,
    schema: Option<&RawValue>,
) -> Result<Prepared<'a>, PluginError> {
    let mut system = Vec::new();
    let mut contents: Vec<Content<'a>> = Vec::new();
    for (index, message) in request.messages.iter().enumerate() {
        if message.content.trim().is_empty() {
            return Err(PluginError::InvalidInput(format!(
                "message {index} is empty; the Gemini API rejects empty parts"
            )));
        }
        let part = Part {
            text: &message.content,
        };
        let role = match message.role {
            Role::System => {
                system.push(part);
                continue;
            }
            Role::User => "user",
            Role::Assistant => "model",
        };
        // Consecutive turns of one role become one turn with several parts.
        match contents.last_mut() {
            Some(last) if last.role == Some(role) => last.parts.push(part),
            _ => contents.push(Content {
                role: Some(role),
                parts: vec![part],
            }),
        }
    }
    if !contents.iter().any(|c| c.role == Some("user")) {
        return Err(PluginError::InvalidInput(
            "the request has no user message; the Gemini API needs one".into(),
        ));
    }
    let (response_mime_type, response_schema, dropped) = match (schema, settings.structured_output)
    {
        (None, _) | (Some(_), StructuredOutput::None) => (None, None, Vec::new()),
        (Some(_), StructuredOutput::Json) => (Some("application/json"), None, Vec::new()),
        (Some(schema), StructuredOutput::Schema) => {
            let value: Value = serde_json::from_str(schema.get()).map_err(|e| {
                PluginError::InvalidInput(format!("response-schema is not valid JSON: {e}"))
            })?;
            let translation = schema::translate(&value)?;
            (
                Some("application/json"),
                Some(translation.schema),
                translation.dropped.into_iter().collect(),
            )
        }
    };
    let thinking_config = settings.thinking.as_ref().map(|thinking| match thinking {
        Thinking::Budget(tokens) => ThinkingConfig {
            thinking_budget: Some(*tokens),
            thinking_level: None,
        },
        Thinking::Level(level) => ThinkingConfig {
            thinking_budget: None,
            thinking_level: Some(level.clone()),
        },
    });
    let body = GenerateContentRequest {
        system_instruction: (!system.is_empty()).then_some(Content {
            role: None,
            parts: system,
        }),
        contents,
        generation_config: GenerationConfig {
            temperature: request.temperature,
            max_output_tokens: request.max_tokens.or(settings.max_tokens),
            stop_sequences: request.stop.clone(),
            response_mime_type,
            response_schema,
            thinking_config,
        },
    };
    Ok(Prepared {
        structured: body.generation_config.response_mime_type.is_some(),
        body,
        dropped,
    })
}

/// `/v1beta/models/{model}`: the model's resource name, each segment percent-encoded. A name
/// given as a resource name already (`models/...`, `tunedModels/...`) keeps its collection.
pub fn model_path(model: &str) -> String {
    let (collection, id) = match model.split_once('/') {
        Some((collection @ ("models" | "tunedModels"), id)) => (collection, id),
        _ => ("models", model),
    };
    format!(
        "/{API_VERSION}/{collection}/{}",
        dmx_plugin_sdk::http::path_segment(id)
    )
}

/// The `generateContent` path for `model`.
pub fn generate_path(model: &str) -> String {
    format!("{}:generateContent", model_path(model))
}

/// `generateContent` response body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    pub prompt_feedback: Option<PromptFeedback>,
    pub usage_metadata: Option<UsageMetadata>,
    pub model_version: Option<String>,
}

/// One candidate; the adapter asks for one.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub content: Option<CandidateContent>,
    pub finish_reason: Option<String>,
    #[serde(default)]
    pub safety_ratings: Vec<SafetyRating>,
}

/// `candidate.content`.
#[derive(Debug, Deserialize)]
pub struct CandidateContent {
    #[serde(default)]
    pub parts: Vec<ResponsePart>,
}

/// A part of the answer; thought summaries are not the answer.
#[derive(Debug, Deserialize)]
pub struct ResponsePart {
    pub text: Option<String>,
    #[serde(default)]
    pub thought: bool,
}

/// `promptFeedback`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    pub block_reason: Option<String>,
    #[serde(default)]
    pub safety_ratings: Vec<SafetyRating>,
}

/// One safety rating.
#[derive(Debug, Deserialize)]
pub struct SafetyRating {
    pub category: String,
    pub probability: Option<String>,
    #[serde(default)]
    pub blocked: bool,
}

/// `usageMetadata`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    #[serde(default)]
    pub prompt_token_count: u32,
    #[serde(default)]
    pub candidates_token_count: u32,
    #[serde(default)]
    pub thoughts_token_count: u32,
}

/// Finish reasons that mean the answer was withheld by a filter.
const BLOCKED: &[&str] = &[
    "SAFETY",
    "RECITATION",
    "LANGUAGE",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
];

impl GenerateContentResponse {
    /// The generation, or why there is none. `structured` says whether the request asked for
    /// JSON; `max_tokens` is the limit it set, for the message about a cut-off answer.
    pub fn into_generation(
        self,
        requested_model: &str,
        structured: bool,
        max_tokens: Option<u32>,
    ) -> Result<Generation, PluginError> {
        let thoughts = self
            .usage_metadata
            .as_ref()
            .map_or(0, |u| u.thoughts_token_count);
        let Some(candidate) = self.candidates.into_iter().next() else {
            return Err(match self.prompt_feedback {
                Some(PromptFeedback {
                    block_reason: Some(reason),
                    safety_ratings,
                }) => errors::blocked("the prompt", &reason, &safety_ratings),
                _ => errors::malformed("the answer has no candidates"),
            });
        };
        let text: String = candidate
            .content
            .map(|c| c.parts)
            .unwrap_or_default()
            .into_iter()
            .filter(|part| !part.thought)
            .filter_map(|part| part.text)
            .collect();
        let finish = candidate.finish_reason;
        match finish.as_deref() {
            Some(reason) if BLOCKED.contains(&reason) => {
                return Err(errors::blocked(
                    "the answer",
                    reason,
                    &candidate.safety_ratings,
                ));
            }
            Some("MAX_TOKENS") if structured || text.is_empty() => {
                return Err(errors::cut_off(max_tokens, thoughts));
            }
            _ => {}
        }
        if text.is_empty() {
            return Err(match finish.as_deref() {
                Some(reason) => errors::no_answer(reason),
                None => errors::malformed("the candidate has no text and no finishReason"),
            });
        }
        Ok(Generation {
            text,
            model: self
                .model_version
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| requested_model.to_owned()),
            usage: self.usage_metadata.map(|u| Usage {
                input_tokens: u.prompt_token_count,
                // Thinking is generated, and billed, as output.
                output_tokens: u
                    .candidates_token_count
                    .saturating_add(u.thoughts_token_count),
            }),
            stop_reason: finish,
        })
    }
}

/// `GET /v1beta/models/{model}` response body, used by the health check.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    pub name: String,
    #[serde(default)]
    pub supported_generation_methods: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmx_plugin_sdk::backend::Message;
    use dmx_plugin_sdk::config;
    use serde_json::json;

    const SCHEMA: &str = r#"{"type":"object","properties":{"score":{"type":["number","null"]}},"required":["score"],"additionalProperties":false}"#;

    fn settings(extra: &[(&'static str, &'static str)]) -> Settings {
        let mut pairs = vec![
            ("base-url", "https://generativelanguage.googleapis.com"),
            ("default-model", "gemini-2.5-flash"),
        ];
        pairs.extend_from_slice(extra);
        Settings::from_lookup(config::from_pairs(&pairs)).unwrap()
    }

    fn request() -> GenerateRequest {
        GenerateRequest {
            model: None,
            messages: vec![
                Message::new(Role::System, "You judge."),
                Message::new(Role::User, "Topic"),
                Message::new(Role::User, "Option A"),
                Message::new(Role::Assistant, "{"),
            ],
            temperature: Some(0.0),
            max_tokens: Some(256),
            stop: vec![],
            response_schema: Some(SCHEMA.into()),
            extra: vec![],
        }
    }

    fn prepared(request: &GenerateRequest, settings: &Settings) -> (Value, bool, Vec<String>) {
        let schema = request.schema_json().unwrap();
        let p = generate_request(request, settings, schema.as_deref()).unwrap();
        (
            serde_json::to_value(&p.body).unwrap(),
            p.structured,
            p.dropped,
        )
    }

    #[test]
    fn body_has_system_instruction_merged_turns_and_a_translated_schema() {
        let (json, structured, dropped) = prepared(&request(), &settings(&[]));
        assert!(structured);
        assert_eq!(dropped, ["additionalProperties"]);
        assert_eq!(
            json,
            json!({
                "systemInstruction": {"parts": [{"text": "You judge."}]},
                "contents": [
                    {"role": "user", "parts": [{"text": "Topic"}, {"text": "Option A"}]},
                    {"role": "model", "parts": [{"text": "{"}]}
                ],
                "generationConfig": {
                    "temperature": 0.0,
                    "maxOutputTokens": 256,
                    "responseMimeType": "application/json",
                    "responseSchema": {
                        "type": "OBJECT",
                        "properties": {"score": {"type": "NUMBER", "nullable": true}},
                        "required": ["score"]
                    }
                }
            })
        );
    }

    #[test]
    fn json_none_and_thinking_settings() {
        let (json, structured, _) =
            prepared(&request(), &settings(&[("structured-output", "json")]));
        assert!(structured);
        assert_eq!(
            json["generationConfig"]["responseMimeType"],
            "application/json"
        );
        assert!(json["generationConfig"].get("responseSchema").is_none());
        let (json, structured, _) =
            prepared(&request(), &settings(&[("structured-output", "none")]));
        assert!(!structured);
        assert!(json["generationConfig"].get("responseMimeType").is_none());
        let (json, _, _) = prepared(&request(), &settings(&[("thinking-budget", "0")]));
        assert_eq!(
            json["generationConfig"]["thinkingConfig"],
            json!({"thinkingBudget": 0})
        );
        let (json, _, _) = prepared(&request(), &settings(&[("thinking-level", "low")]));
        assert_eq!(
            json["generationConfig"]["thinkingConfig"],
            json!({"thinkingLevel": "low"})
        );
        let mut plain = request();
        plain.response_schema = None;
        plain.temperature = None;
        plain.max_tokens = None;
        let (json, structured, _) = prepared(&plain, &settings(&[]));
        assert!(!structured);
        assert!(json.get("generationConfig").is_none());
        let (json, _, _) = prepared(&plain, &settings(&[("max-tokens", "100")]));
        assert_eq!(json["generationConfig"], json!({"maxOutputTokens": 100}));
    }

    #[test]
    fn bad_conversations_and_schemas_are_invalid_input() {
        let settings = settings(&[]);
        let mut only_system = request();
        only_system.messages = vec![Message::new(Role::System, "x")];
        let mut blank = request();
        blank.messages.push(Message::new(Role::User, "\n"));
        let mut recursive = request();
        recursive.response_schema = Some(r##"{"$ref":"#"}"##.into());
        for bad in [only_system, blank, recursive] {
            let schema = bad.schema_json().unwrap();
            assert!(matches!(
                generate_request(&bad, &settings, schema.as_deref()),
                Err(PluginError::InvalidInput(_))
            ));
        }
    }

    #[test]
    fn paths_name_the_model_resource() {
        assert_eq!(
            generate_path("gemini-2.5-flash"),
            "/v1beta/models/gemini-2.5-flash:generateContent"
        );
        assert_eq!(
            model_path("models/gemini-2.5-pro"),
            "/v1beta/models/gemini-2.5-pro"
        );
        assert_eq!(
            model_path("tunedModels/my-model"),
            "/v1beta/tunedModels/my-model"
        );
        assert_eq!(model_path("a b/c"), "/v1beta/models/a%20b%2Fc");
    }

    fn response(json: &str) -> GenerateContentResponse {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn answer_text_usage_and_thoughts() {
        let generation = response(
            r#"{"candidates":[{"content":{"parts":[{"text":"thinking...","thought":true},{"text":"{\"score\":"},{"text":"7}"}],"role":"model"},
                "finishReason":"STOP","index":0,"safetyRatings":[]}],
                "usageMetadata":{"promptTokenCount":120,"candidatesTokenCount":9,"thoughtsTokenCount":30,"totalTokenCount":159},
                "modelVersion":"gemini-2.5-flash","responseId":"r1"}"#,
        )
        .into_generation("gemini-2.5-flash", true, Some(256))
        .unwrap();
        assert_eq!(generation.text, r#"{"score":7}"#);
        assert_eq!(generation.model, "gemini-2.5-flash");
        assert_eq!(generation.stop_reason.as_deref(), Some("STOP"));
        let usage = generation.usage.unwrap();
        assert_eq!((usage.input_tokens, usage.output_tokens), (120, 39));
    }

    #[test]
    fn blocked_prompts_and_answers_say_why() {
        let err = response(
            r#"{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH","blocked":true}]},
                "usageMetadata":{"promptTokenCount":8}}"#,
        )
        .into_generation("m", true, None)
        .unwrap_err();
        let u = err.as_upstream().unwrap();
        assert!(!u.retryable, "{}", u.message);
        assert!(
            u.message.contains("the prompt") && u.message.contains("HARM_CATEGORY_HARASSMENT"),
            "{}",
            u.message
        );
        for reason in [
            "SAFETY",
            "RECITATION",
            "PROHIBITED_CONTENT",
            "SPII",
            "BLOCKLIST",
        ] {
            let err = response(&format!(
                r#"{{"candidates":[{{"content":{{"parts":[{{"text":"partial"}}]}},"finishReason":"{reason}"}}]}}"#
            ))
            .into_generation("m", false, None)
            .unwrap_err();
            let u = err.as_upstream().unwrap();
            assert!(!u.retryable && u.message.contains(reason), "{}", u.message);
        }
    }

    #[test]
    fn max_tokens_is_an_error_for_json_and_for_nothing() {
        let err = response(
            r#"{"candidates":[{"content":{"parts":[{"text":"{\"sco"}]},"finishReason":"MAX_TOKENS"}],
                "usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":3,"thoughtsTokenCount":250}}"#,
        )
        .into_generation("m", true, Some(256))
        .unwrap_err();
        let u = err.as_upstream().unwrap();
        assert!(
            !u.retryable && u.message.contains("256") && u.message.contains("250"),
            "{}",
            u.message
        );
        let err = response(
            r#"{"candidates":[{"content":{"role":"model"},"finishReason":"MAX_TOKENS"}]}"#,
        )
        .into_generation("m", false, None)
        .unwrap_err();
        assert!(err.as_upstream().is_some());
        let partial = response(
            r#"{"candidates":[{"content":{"parts":[{"text":"Once upon"}]},"finishReason":"MAX_TOKENS"}]}"#,
        )
        .into_generation("m", false, Some(3))
        .unwrap();
        assert_eq!(partial.stop_reason.as_deref(), Some("MAX_TOKENS"));
        for reason in ["OTHER", "STOP"] {
            let empty = response(&format!(
                r#"{{"candidates":[{{"finishReason":"{reason}"}}]}}"#
            ))
            .into_generation("m", true, None)
            .unwrap_err();
            assert!(empty.as_upstream().is_some_and(|u| u.retryable), "{reason}");
        }
        let shapeless = response(r#"{"candidates":[{}]}"#)
            .into_generation("m", true, None)
            .unwrap_err();
        assert!(shapeless.as_upstream().is_some_and(|u| !u.retryable));
        assert!(
            response(r#"{"candidates":[]}"#)
                .into_generation("m", true, None)
                .is_err()
        );
    }
}
