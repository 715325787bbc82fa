//! The built-in `litellm` backend against a loopback server speaking the OpenAI chat
//! completions wire format, with the error bodies of OpenAI, a LiteLLM proxy and llama.cpp's
//! server.

use crate::common;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use common::{Backends, logs, request};
use decision_matrix::plugins::net::SecretStore;
use decision_matrix_testkit::MockServer;
use secrecy::SecretString;
use serde_json::{Value, json};

const KEY: &str = "sk-test-4f8a1c2e9b7d6a5f3e1c0b9a8d7e6f5a";

fn envelope(message: &str, kind: &str, code: Value) -> Value {
    json!({ "error": { "message": message, "type": kind, "param": null, "code": code } })
}

/// Answers like an OpenAI-compatible server; the model name picks a failure.
async fn completions(headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let fail = |status: StatusCode, body: Value| (status, Json(body)).into_response();
    match model.as_str() {
        "rate-limited" => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after-ms", "1500"), ("retry-after", "20"), ("x-request-id", "req_abc")],
            Json(envelope("Rate limit reached for requests", "requests", json!("rate_limit_exceeded"))),
        )
            .into_response(),
        "proxy-429" => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "3")],
            Json(envelope(
                "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached. Limit 3, Used 3.",
                "throttling_error",
                json!("429"),
            )),
        )
            .into_response(),
        "no-quota" => fail(
            StatusCode::TOO_MANY_REQUESTS,
            envelope("You exceeded your current quota, please check your plan and billing details.", "insufficient_quota", json!("insufficient_quota")),
        ),
        "bad" => fail(StatusCode::BAD_REQUEST, envelope("Invalid schema for response_format 'answer'", "invalid_request_error", json!(null))),
        "echo-key-401" => fail(
            StatusCode::UNAUTHORIZED,
            envelope(&format!("Incorrect API key provided: {auth}"), "invalid_request_error", json!("invalid_api_key")),
        ),
        "forbidden" => fail(StatusCode::FORBIDDEN, envelope("key not allowed to access model", "key_model_access_denied", json!("403"))),
        "missing" => fail(StatusCode::NOT_FOUND, envelope("The model `missing` does not exist", "invalid_request_error", json!("model_not_found"))),
        "down" => (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "1")], Json(envelope("overloaded", "server_error", json!(null)))).into_response(),
        "crash" => fail(StatusCode::INTERNAL_SERVER_ERROR, envelope("internal error", "server_error", json!(null))),
        "llamacpp-400" => fail(StatusCode::BAD_REQUEST, json!({"error": {"code": 400, "message": "the request exceeds the available context size", "type": "exceed_context_size_error"}})),
        "refuse" => Json(json!({
            "id": "chatcmpl-r", "object": "chat.completion", "created": 1, "model": "refuse",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": null, "refusal": "I can't assist with that." }, "finish_reason": "stop", "logprobs": null }]
        }))
        .into_response(),
        _ => {
            let content = if model == "echo-key" { format!("you sent {auth}") } else { "{\"score\": 7, \"reasoning\": \"solid\"}".to_owned() };
            Json(json!({
                "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
                "object": "chat.completion",
                "created": 1_741_570_283,
                "model": model,
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": content, "refusal": null, "annotations": [] }, "logprobs": null, "finish_reason": "stop" }],
                "usage": { "prompt_tokens": 57, "completion_tokens": 11, "total_tokens": 68,
                    "prompt_tokens_details": { "cached_tokens": 0, "audio_tokens": 0 },
                    "completion_tokens_details": { "reasoning_tokens": 0, "audio_tokens": 0 } },
                "service_tier": "default",
                "system_fingerprint": "fp_06737a9306"
            }))
            .into_response()
        }
    }
}

async fn models(headers: HeaderMap) -> Response {
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some(value) if value == format!("Bearer {KEY}") => Json(json!({
            "object": "list",
            "data": [{ "id": "gpt-4o-mini", "object": "model", "created": 1, "owned_by": "openai" }]
        }))
        .into_response(),
        _ => (
            StatusCode::UNAUTHORIZED,
            Json(envelope(
                "Incorrect API key provided",
                "invalid_request_error",
                json!("invalid_api_key"),
            )),
        )
            .into_response(),
    }
}

async fn server() -> MockServer {
    let router = axum::Router::new()
        .route("/v1/chat/completions", post(completions))
        .route("/v1/models", get(models));
    MockServer::start(router).await
}

fn with_key(server: &MockServer) -> Backends {
    Backends::load(
        &[
            ("OPENAI_BASE_URL", &format!("{}/v1", server.base_url())),
            ("LITELLM_API_KEY", "set"),
        ],
        SecretStore::from_values([("litellm-api-key", SecretString::from(KEY))]),
    )
}

#[tokio::test]
async fn sends_the_nested_schema_form_and_the_key_and_reads_usage() {
    let server = server().await;
    let backends = with_key(&server);
    let generation = backends
        .get("litellm")
        .generate(request(Some("anthropic/claude-3-5-sonnet-20241022")))
        .await
        .expect("generation");
    assert_eq!(generation.text, r#"{"score": 7, "reasoning": "solid"}"#);
    assert_eq!(generation.model, "anthropic/claude-3-5-sonnet-20241022");
    let usage = generation.usage.expect("usage");
    assert_eq!((usage.input_tokens, usage.output_tokens), (57, 11));

    let sent = &server.requests()[0];
    assert_eq!(sent.uri.path(), "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let body: Value = serde_json::from_slice(&sent.body).expect("JSON");
    let schema: Value = serde_json::from_str(common::SCHEMA).expect("schema");
    assert_eq!(
        body,
        json!({
            "model": "anthropic/claude-3-5-sonnet-20241022",
            "messages": [
                { "role": "system", "content": "Score the option from 1 to 10." },
                { "role": "user", "content": "Option: Rust" }
            ],
            "temperature": 0.0,
            "max_tokens": 200,
            "response_format": { "type": "json_schema", "json_schema": { "name": "answer", "schema": schema, "strict": true } }
        })
    );
}

#[tokio::test]
async fn default_model_and_a_keyless_local_server() {
    let server = server().await;
    let backends = Backends::load(
        &[
            ("LITELLM_BASE_URL", &format!("{}/v1/", server.base_url())),
            ("DMM_LITELLM_MODEL", "local-qwen"),
        ],
        SecretStore::default(),
    );
    backends
        .get("litellm")
        .generate(request(None))
        .await
        .expect("generation");
    let sent = &server.requests()[0];
    assert_eq!(sent.header("authorization"), None);
    let body: Value = serde_json::from_slice(&sent.body).expect("JSON");
    assert_eq!(body["model"], "local-qwen");
}

#[tokio::test]
async fn every_error_is_mapped() {
    let server = server().await;
    let backends = with_key(&server);
    let plugin = backends.get("litellm");
    common::assert_failures(
        &plugin,
        KEY,
        [
            (
                "rate-limited",
                Some(429),
                true,
                Some(1500),
                "rate_limit_exceeded",
            ),
            (
                "proxy-429",
                Some(429),
                true,
                Some(3000),
                "throttling_error/429",
            ),
            (
                "no-quota",
                Some(429),
                false,
                None,
                "quota or budget is exhausted",
            ),
            ("bad", Some(400), false, None, "Invalid schema"),
            ("echo-key-401", Some(401), false, None, "LITELLM_API_KEY"),
            (
                "forbidden",
                Some(403),
                false,
                None,
                "may not use model 'forbidden'",
            ),
            ("missing", Some(404), false, None, "model_name aliases"),
            ("down", Some(503), true, Some(1000), "overloaded"),
            ("crash", Some(500), true, None, "internal error"),
            (
                "llamacpp-400",
                Some(400),
                false,
                None,
                "exceed_context_size_error/400",
            ),
            (
                "refuse",
                None,
                false,
                None,
                "refused to answer: I can't assist",
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn the_key_never_reaches_the_plugin_errors_or_logs() {
    let server = server().await;
    let backends = with_key(&server);
    let plugin = backends.get("litellm");
    let echoed = plugin
        .generate(request(Some("echo-key")))
        .await
        .expect("generation");
    assert!(
        !echoed.text.contains(KEY),
        "the plugin saw the key: {}",
        echoed.text
    );
    let error = plugin
        .generate(request(Some("echo-key-401")))
        .await
        .unwrap_err()
        .to_string();
    assert!(!error.contains(KEY), "{error}");
    // The server did receive it: the scrubbing above is not explained by a missing header.
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.header("authorization") == Some(format!("Bearer {KEY}").as_str()))
    );
    assert!(!logs().contains(KEY));
}

#[tokio::test]
async fn deep_check_proves_address_and_key() {
    let server = server().await;
    with_key(&server)
        .get("litellm")
        .check(true)
        .await
        .expect("key accepted");
    assert_eq!(server.requests()[0].uri.path(), "/v1/models");

    let keyless = Backends::load(
        &[("OPENAI_BASE_URL", &format!("{}/v1", server.base_url()))],
        SecretStore::default(),
    );
    let message = keyless
        .get("litellm")
        .check(true)
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("no key is configured"), "{message}");
}
