//! The built-in `anthropic` backend against a loopback server speaking Anthropic's Messages
//! API: the request it sends, its error envelope with `retry-after`, and answers that are
//! not answers.

use crate::common;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use common::{Backends, logs, request};
use decision_matrix::plugins::net::SecretStore;
use decision_matrix_testkit::MockServer;
use secrecy::SecretString;
use serde_json::{Value, json};

const KEY: &str = "sk-ant-api03-test-7c1e5a9b3d2f4068";

fn envelope(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"})
}

/// Answers like the Messages API; the model name picks a failure.
async fn messages(headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let fail = |status: u16, kind: &str, message: &str| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(envelope(kind, message))).into_response()
    };
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    match model.as_str() {
        "rate-limited" => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "20")],
            Json(envelope(
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
            )),
        )
            .into_response(),
        "overloaded" => fail(529, "overloaded_error", "Overloaded"),
        "bad-key" => fail(
            401,
            "authentication_error",
            &format!("invalid x-api-key {key}"),
        ),
        "missing" => fail(404, "not_found_error", "model: missing"),
        "html" => (
            StatusCode::OK,
            [("content-type", "text/html")],
            "<html><body>502 Bad Gateway</body></html>",
        )
            .into_response(),
        "empty" => Json(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 0}
        }))
        .into_response(),
        "refuse" => Json(json!({
            "id": "msg_2", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": "I can't help with that."}],
            "stop_reason": "refusal", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 6}
        }))
        .into_response(),
        _ => Json(json!({
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "{\"score\": 7, \"reasoning\": \"solid\"}"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 57, "output_tokens": 11,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        }))
        .into_response(),
    }
}

async fn server() -> MockServer {
    MockServer::start(axum::Router::new().route("/v1/messages", post(messages))).await
}

fn with_key(server: &MockServer) -> Backends {
    Backends::load(
        &[
            ("ANTHROPIC_API_BASE", &server.base_url()),
            ("ANTHROPIC_API_KEY", "set"),
        ],
        SecretStore::from_values([("anthropic-api-key", SecretString::from(KEY))]),
    )
}

#[tokio::test]
async fn sends_the_system_prompt_apart_the_key_and_the_schema() {
    let server = server().await;
    let generation = with_key(&server)
        .get("anthropic")
        .generate(request(Some("claude-sonnet-4-6")))
        .await
        .expect("generation");
    assert_eq!(generation.text, r#"{"score": 7, "reasoning": "solid"}"#);
    let usage = generation.usage.expect("usage");
    assert_eq!((usage.input_tokens, usage.output_tokens), (57, 11));

    let sent = &server.requests()[0];
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("authorization"), None);
    let body: Value = serde_json::from_slice(&sent.body).expect("JSON");
    assert_eq!(body["model"], "claude-sonnet-4-6");
    assert_eq!(body["system"], "Score the option from 1 to 10.");
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": "Option: Rust"}])
    );
    assert_eq!(body["max_tokens"], 200);
    let schema: Value = serde_json::from_str(common::SCHEMA).expect("schema");
    assert_eq!(
        body["output_config"]["format"],
        json!({"type": "json_schema", "schema": schema})
    );
}

#[tokio::test]
async fn every_error_is_mapped_and_no_failure_is_an_answer() {
    let server = server().await;
    let backends = with_key(&server);
    let plugin = backends.get("anthropic");
    common::assert_failures(
        &plugin,
        KEY,
        [
            (
                "rate-limited",
                Some(429),
                true,
                Some(20_000),
                "rate_limit_error",
            ),
            ("overloaded", Some(529), true, None, "overloaded"),
            ("bad-key", Some(401), false, None, "ANTHROPIC_API_KEY"),
            ("missing", Some(404), false, None, "DMM_ANTHROPIC_MODEL"),
            ("empty", None, false, None, "malformed Messages API answer"),
            ("refuse", None, false, None, "I can't help with that."),
        ],
    )
    .await;
    // A body that is not the API's JSON is an error, never a generation.
    let html = plugin.generate(request(Some("html"))).await;
    assert!(html.is_err(), "{html:?}");
    assert!(!logs().contains(KEY));
}
