//! The built-in `gemini` backend against a loopback server speaking the Gemini API's
//! `generateContent`: the request it sends, Google's error envelope with `RetryInfo`, and
//! answers that are not answers.

use crate::common;

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use common::{Backends, logs, request};
use decision_matrix::plugins::net::SecretStore;
use decision_matrix_testkit::MockServer;
use secrecy::SecretString;
use serde_json::{Value, json};

const KEY: &str = "AIzaSy-test-4b8d2f6a1c3e5079";

fn envelope(code: u16, status: &str, message: &str, details: Value) -> Value {
    json!({"error": {"code": code, "message": message, "status": status, "details": details}})
}

/// Answers like `generateContent`; the model name picks a failure.
async fn generate(Path(call): Path<String>) -> Response {
    let model = call
        .strip_suffix(":generateContent")
        .unwrap_or(&call)
        .to_owned();
    let fail = |code: u16, body: Value| {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(body)).into_response()
    };
    let answer = |candidate: Value| {
        Json(json!({
            "candidates": [candidate],
            "usageMetadata": {"promptTokenCount": 57, "candidatesTokenCount": 11, "totalTokenCount": 68},
            "modelVersion": model,
        }))
        .into_response()
    };
    match model.as_str() {
        "rate-limited" => fail(
            429,
            envelope(
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan and billing details.",
                json!([
                    {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                     "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                                     "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"}
                ]),
            ),
        ),
        "daily" => fail(
            429,
            envelope(
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota.",
                json!([
                    {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                     "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]},
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3600s"}
                ]),
            ),
        ),
        "bad-key" => fail(
            400,
            envelope(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com"}]),
            ),
        ),
        "unavailable" => fail(
            503,
            envelope(
                503,
                "UNAVAILABLE",
                "The model is overloaded. Please try again later.",
                json!([]),
            ),
        ),
        "html" => (
            StatusCode::OK,
            [("content-type", "text/html")],
            "<html><body>502 Bad Gateway</body></html>",
        )
            .into_response(),
        "no-candidates" => Json(json!({
            "usageMetadata": {"promptTokenCount": 57, "totalTokenCount": 57},
            "modelVersion": model,
        }))
        .into_response(),
        "blocked" => answer(json!({"finishReason": "SAFETY", "index": 0})),
        _ => answer(json!({
            "content": {"parts": [{"text": "{\"score\": 7, \"reasoning\": \"solid\"}"}], "role": "model"},
            "finishReason": "STOP",
            "index": 0
        })),
    }
}

async fn server() -> MockServer {
    MockServer::start(axum::Router::new().route("/v1beta/models/{call}", post(generate))).await
}

fn with_key(server: &MockServer) -> Backends {
    Backends::load(
        &[
            ("GEMINI_API_BASE", &server.base_url()),
            ("GEMINI_API_KEY", "set"),
        ],
        SecretStore::from_values([("gemini-api-key", SecretString::from(KEY))]),
    )
}

#[tokio::test]
async fn sends_the_system_instruction_the_key_header_and_the_schema() {
    let server = server().await;
    let generation = with_key(&server)
        .get("gemini")
        .generate(request(Some("gemini-2.5-flash")))
        .await
        .expect("generation");
    assert_eq!(generation.text, r#"{"score": 7, "reasoning": "solid"}"#);
    let usage = generation.usage.expect("usage");
    assert_eq!((usage.input_tokens, usage.output_tokens), (57, 11));

    let sent = &server.requests()[0];
    assert_eq!(
        sent.uri.to_string(),
        "/v1beta/models/gemini-2.5-flash:generateContent",
        "the key is never in the URL"
    );
    assert_eq!(sent.header("x-goog-api-key"), Some(KEY));
    assert_eq!(sent.header("authorization"), None);
    let body: Value = serde_json::from_slice(&sent.body).expect("JSON");
    assert_eq!(
        body["systemInstruction"]["parts"][0]["text"],
        "Score the option from 1 to 10."
    );
    assert_eq!(
        body["contents"],
        json!([{"role": "user", "parts": [{"text": "Option: Rust"}]}])
    );
    let config = &body["generationConfig"];
    assert_eq!(config["responseMimeType"], "application/json");
    assert_eq!(config["maxOutputTokens"], 200);
    assert_eq!(config["responseSchema"]["type"], "OBJECT");
}

#[tokio::test]
async fn every_error_is_mapped_and_no_failure_is_an_answer() {
    let server = server().await;
    let backends = with_key(&server);
    let plugin = backends.get("gemini");
    common::assert_failures(
        &plugin,
        KEY,
        [
            (
                "rate-limited",
                Some(429),
                true,
                Some(17_000),
                "RESOURCE_EXHAUSTED",
            ),
            ("daily", Some(429), false, None, "daily quota"),
            ("bad-key", Some(400), false, None, "GEMINI_API_KEY"),
            ("unavailable", Some(503), true, None, "UNAVAILABLE"),
            ("no-candidates", None, false, None, "no candidates"),
            ("blocked", None, false, None, "SAFETY"),
        ],
    )
    .await;
    let html = plugin.generate(request(Some("html"))).await;
    assert!(html.is_err(), "{html:?}");
    assert!(!logs().contains(KEY));
}
