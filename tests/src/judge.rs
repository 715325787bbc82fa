//! A fair, deterministic "LLM judge" for evaluation tests: reads the prompts the evaluation
//! engine writes and answers them correctly, with a score that differs for every
//! (criterion, option) pair, so a cell filled from the wrong option's answer is caught.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};

/// The score the judge gives `option` on `criterion` (1 to 10).
pub fn expected_score(criterion: &str, option: &str) -> f64 {
    let first = option.bytes().next().map_or(0, usize::from);
    let seed = criterion.len() * 7 + option.len() * 3 + first;
    (seed % 10 + 1) as f64
}

/// The justification the judge gives.
pub fn expected_justification(criterion: &str, option: &str) -> String {
    format!("{option} on {criterion}")
}

/// The criterion a system prompt is about (the name in `the '...' criterion`).
pub fn criterion_of(system: &str) -> String {
    let start = system.find("the '").map_or(0, |i| i + 5);
    let end = system[start..].find('\'').map_or(start, |i| start + i);
    system[start..end].to_owned()
}

/// `(key, option name)` of every option a user message asks about; a single-option prompt
/// has the key `o1`.
pub fn options_of(user: &str) -> Vec<(String, String)> {
    if let Some(rest) = user.split("Evaluate this option: ").nth(1) {
        let name = rest.lines().next().unwrap_or_default();
        return vec![("o1".to_owned(), name.to_owned())];
    }
    user.lines()
        .filter_map(|line| {
            let line = line.strip_prefix('[')?;
            let (key, name) = line.split_once("] ")?;
            Some((key.to_owned(), name.to_owned()))
        })
        .collect()
}

/// Whether the user message asks about a single option.
pub fn is_single(user: &str) -> bool {
    user.contains("Evaluate this option: ")
}

/// A correct answer to the prompt, in the format it asks for, leaving out the options named
/// in `skip` (to simulate an incomplete batch answer).
pub fn answer(system: &str, user: &str, skip: &[&str]) -> String {
    let criterion = criterion_of(system);
    let options = options_of(user);
    let verdict = |name: &str| {
        format!(
            r#""score": {}, "justification": "{}", "status": "scored""#,
            expected_score(&criterion, name),
            expected_justification(&criterion, name)
        )
    };
    if is_single(user) {
        let name = options.first().map(|(_, n)| n.as_str()).unwrap_or_default();
        return format!("{{{}}}", verdict(name));
    }
    let entries: Vec<String> = options
        .iter()
        .filter(|(_, name)| !skip.contains(&name.as_str()))
        .map(|(key, name)| format!(r#"{{"option": "{key}", {}}}"#, verdict(name)))
        .collect();
    format!(r#"{{"evaluations": [{}]}}"#, entries.join(", "))
}

/// The system and user messages of an OpenAI chat completions request body.
pub fn openai_prompt(body: &serde_json::Value) -> (String, String) {
    let text = |role: &str| {
        body["messages"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["role"] == role))
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    (text("system"), text("user"))
}

/// A complete OpenAI chat completions response whose message is `content`.
pub fn openai_response(content: &str) -> serde_json::Value {
    serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "judge-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160}
    })
}

/// The judge's correct answer to an OpenAI chat completions request, as the response.
pub fn openai_answer(body: &serde_json::Value) -> serde_json::Value {
    let (system, user) = openai_prompt(body);
    openai_response(&answer(&system, &user, &[]))
}

/// An OpenAI-compatible chat completions endpoint (`/v1/chat/completions`) giving the judge's
/// correct answer to every request after `latency`, as a provider's round trip would. The
/// usage it reports is [`estimated_tokens`] of the messages and of the answer, so that token
/// figures scale with the prompts as a real model's would.
pub fn openai_router(latency: Duration) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(openai_handler))
        .with_state(latency)
}

async fn openai_handler(
    State(latency): State<Duration>,
    Json(body): Json<serde_json::Value>,
) -> Json<serde_json::Value> {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (system, user) = openai_prompt(&body);
    let content = answer(&system, &user, &[]);
    let mut response = openai_response(&content);
    let input = estimated_tokens(&system) + estimated_tokens(&user);
    let output = estimated_tokens(&content);
    response["usage"] = serde_json::json!({
        "prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output
    });
    Json(response)
}

/// The text of a string or of an array of text blocks (`{"text": ...}`), joined.
fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Array(blocks) => blocks
            .iter()
            .filter_map(|block| block["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The system prompt and user message of an Anthropic Messages request body (`system` apart,
/// as a string or text blocks; `messages[].content` likewise).
pub fn anthropic_prompt(body: &serde_json::Value) -> (String, String) {
    let user = body["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "user"))
        .map(|m| text_of(&m["content"]))
        .unwrap_or_default();
    (text_of(&body["system"]), user)
}

/// Anthropic's Messages endpoint (`/v1/messages`) giving the judge's correct answer as one text
/// block, as the API answers with `output_config.format`.
pub fn anthropic_router() -> Router {
    Router::new().route("/v1/messages", post(anthropic_handler))
}

async fn anthropic_handler(Json(body): Json<serde_json::Value>) -> Json<serde_json::Value> {
    let (system, user) = anthropic_prompt(&body);
    let content = answer(&system, &user, &[]);
    Json(serde_json::json!({
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [{"type": "text", "text": content}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {
            "input_tokens": estimated_tokens(&system) + estimated_tokens(&user),
            "output_tokens": estimated_tokens(&content)
        }
    }))
}

/// The system instruction and user message of a Gemini `generateContent` request body.
pub fn gemini_prompt(body: &serde_json::Value) -> (String, String) {
    let user = body["contents"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["role"] == "user"))
        .map(|c| text_of(&c["parts"]))
        .unwrap_or_default();
    (text_of(&body["systemInstruction"]["parts"]), user)
}

/// The Gemini API's `generateContent` (`/v1beta/models/{model}:generateContent`) giving the
/// judge's correct answer as the first candidate's text.
pub fn gemini_router() -> Router {
    Router::new().route("/v1beta/models/{call}", post(gemini_handler))
}

async fn gemini_handler(
    Path(call): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> Json<serde_json::Value> {
    let model = call.strip_suffix(":generateContent").unwrap_or(&call);
    let (system, user) = gemini_prompt(&body);
    let content = answer(&system, &user, &[]);
    let input = estimated_tokens(&system) + estimated_tokens(&user);
    let output = estimated_tokens(&content);
    Json(serde_json::json!({
        "candidates": [{
            "content": {"parts": [{"text": content}], "role": "model"},
            "finishReason": "STOP",
            "index": 0
        }],
        "usageMetadata": {
            "promptTokenCount": input,
            "candidatesTokenCount": output,
            "totalTokenCount": input + output
        },
        "modelVersion": model,
        "responseId": "mAitaLmkHPPlz7IPvtfUqQ4"
    }))
}

/// Tokens a model would count in `text`, by the usual rule of thumb for English text with
/// BPE tokenizers: one token per four bytes.
pub fn estimated_tokens(text: &str) -> usize {
    text.len().div_ceil(4)
}
