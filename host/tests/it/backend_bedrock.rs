//! The built-in `bedrock` backend against a loopback server speaking the Bedrock Runtime
//! Converse wire format (restJson1). Signatures are verified independently of the host's
//! signer by the testkit's SigV4 implementation, itself checked against AWS's published test
//! vector.

use crate::common;

use aws_credential_types::Credentials;
use axum::Json;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::{Backends, logs, request, upstream};
use decision_matrix::plugins::bindings::llm_backend::{Message, Role};
use decision_matrix::plugins::net::SecretStore;
use decision_matrix_testkit::{MockServer, sigv4};
use secrecy::SecretString;
use serde_json::{Value, json};

const ACCESS_KEY: &str = "AKIDEXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN0123456789";
const API_KEY: &str = "ABSKQmVkcm9ja0FQSUtleS1leGFtcGxlLTEyMzQ1Njc4OTA";
const DEFAULT_PATH: &str = "/model/anthropic.claude-3-sonnet-20240229-v1%3A0/converse";

/// Answers like Bedrock Runtime; the model id in the path picks a failure.
async fn converse(uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let Some(model) = path
        .strip_prefix("/model/")
        .and_then(|p| p.strip_suffix("/converse"))
    else {
        return (StatusCode::NOT_FOUND, "unknown operation").into_response();
    };
    if serde_json::from_slice::<Value>(&body).is_err() {
        return (StatusCode::BAD_REQUEST, "body is not JSON").into_response();
    }
    let error = |status: StatusCode, kind: &str, message: &str| {
        (
            status,
            [
                (
                    "x-amzn-ErrorType",
                    format!("{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
                ),
                ("x-amzn-RequestId", "req-123".to_owned()),
            ],
            Json(json!({ "message": message })),
        )
            .into_response()
    };
    match model {
        "throttled" => error(StatusCode::TOO_MANY_REQUESTS, "ThrottlingException", "Too many requests, please wait before trying again."),
        "slow" => error(StatusCode::REQUEST_TIMEOUT, "ModelTimeoutException", "Model has timed out in processing the request."),
        "unavailable" => error(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailableException", "Bedrock is unable to process your request."),
        "internal" => error(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerException", "The server encountered an internal error."),
        "invalid" => error(StatusCode::BAD_REQUEST, "ValidationException", "The provided model identifier is invalid."),
        "denied" => error(StatusCode::FORBIDDEN, "AccessDeniedException", "You don't have access to the model with the specified model ID."),
        "gone" => error(StatusCode::NOT_FOUND, "ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier."),
        "body-type" => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "__type": "com.amazon.coral.validate#ValidationException", "message": "1 validation error detected" })),
        )
            .into_response(),
        "echo-token" => {
            let token = headers.get("x-amz-security-token").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            error(StatusCode::FORBIDDEN, "UnrecognizedClientException", &format!("The security token included in the request is invalid: {token} {auth}"))
        }
        _ => Json(json!({
            "output": { "message": { "role": "assistant", "content": [{ "text": "{\"score\": 9, \"reasoning\": \"mature\"}" }] } },
            "stopReason": "end_turn",
            "usage": { "inputTokens": 42, "outputTokens": 12, "totalTokens": 54 },
            "metrics": { "latencyMs": 512 }
        }))
        .into_response(),
    }
}

async fn server() -> MockServer {
    MockServer::start(axum::Router::new().fallback(converse)).await
}

fn sigv4_credentials() -> SecretStore {
    let credentials = Credentials::new(
        ACCESS_KEY,
        SECRET_KEY,
        Some(SESSION_TOKEN.to_owned()),
        None,
        "test",
    );
    SecretStore::default().with_aws_credentials("aws", credentials)
}

fn signed(server: &MockServer, endpoint_var: &str) -> Backends {
    Backends::load(
        &[
            ("AWS_REGION", "eu-west-1"),
            (endpoint_var, &server.base_url()),
        ],
        sigv4_credentials(),
    )
}

#[tokio::test]
async fn converse_request_is_sigv4_signed_for_bedrock() {
    let server = server().await;
    let backends = signed(&server, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME");
    let generation = backends
        .get("bedrock")
        .generate(request(None))
        .await
        .expect("generation");
    assert_eq!(generation.text, r#"{"score": 9, "reasoning": "mature"}"#);
    assert_eq!(generation.model, "anthropic.claude-3-sonnet-20240229-v1:0");
    assert_eq!(generation.stop_reason.as_deref(), Some("end_turn"));
    let usage = generation.usage.expect("usage");
    assert_eq!((usage.input_tokens, usage.output_tokens), (42, 12));

    let sent = &server.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.uri.path(), DEFAULT_PATH);
    let auth = sigv4::verify(sent, SECRET_KEY).expect("a valid signature");
    assert_eq!(auth.access_key, ACCESS_KEY);
    assert_eq!(
        (auth.region.as_str(), auth.service.as_str()),
        ("eu-west-1", "bedrock")
    );
    assert!(auth.signed_headers.iter().any(|h| h == "x-amz-date"));
    assert_eq!(sent.header("x-amz-security-token"), Some(SESSION_TOKEN));
    assert!(
        sigv4::verify(sent, "another-secret").is_err(),
        "the verifier must be able to fail"
    );

    let body: Value = serde_json::from_slice(&sent.body).expect("JSON");
    assert_eq!(
        body,
        json!({
            "messages": [{ "role": "user", "content": [{ "text": "Option: Rust" }] }],
            "system": [{ "text": "Score the option from 1 to 10." }],
            "inferenceConfig": { "maxTokens": 200, "temperature": 0.0 }
        }),
        "claude-3 gets no outputConfig"
    );
}

#[tokio::test]
async fn structured_output_and_alternating_roles() {
    let server = server().await;
    let backends = signed(&server, "AWS_ENDPOINT_URL");
    let mut req = request(Some("us.anthropic.claude-sonnet-4-5-20250929-v1:0"));
    req.messages = vec![
        Message {
            role: Role::System,
            content: "judge".into(),
        },
        Message {
            role: Role::User,
            content: "topic".into(),
        },
        Message {
            role: Role::User,
            content: "option".into(),
        },
        Message {
            role: Role::Assistant,
            content: "noted".into(),
        },
        Message {
            role: Role::User,
            content: "score it".into(),
        },
    ];
    backends
        .get("bedrock")
        .generate(req)
        .await
        .expect("generation");
    let sent = &server.requests()[0];
    assert_eq!(
        sent.uri.path(),
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    );
    sigv4::verify(sent, SECRET_KEY).expect("a valid signature");
    let body: Value = serde_json::from_slice(&sent.body).expect("JSON");
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(
        body["messages"][0]["content"],
        json!([{ "text": "topic" }, { "text": "option" }])
    );
    assert_eq!(
        body["outputConfig"],
        json!({ "textFormat": { "type": "json_schema", "structure": { "jsonSchema": { "schema": common::SCHEMA, "name": "answer" } } } })
    );
}

#[tokio::test]
async fn bedrock_api_key_is_sent_as_a_bearer_token() {
    let server = server().await;
    let backends = Backends::load(
        &[
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &server.base_url()),
            ("AWS_BEARER_TOKEN_BEDROCK", "set"),
        ],
        SecretStore::from_values([("bedrock-api-key", SecretString::from(API_KEY))]),
    );
    backends
        .get("bedrock")
        .generate(request(None))
        .await
        .expect("generation");
    let sent = &server.requests()[0];
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {API_KEY}").as_str())
    );
    assert_eq!(sent.header("x-amz-date"), None);
}

#[tokio::test]
async fn every_exception_is_mapped() {
    let server = server().await;
    let backends = signed(&server, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME");
    let plugin = backends.get("bedrock");
    for (model, status, retryable, says) in [
        ("throttled", 429, true, "ThrottlingException"),
        ("slow", 408, true, "ModelTimeoutException"),
        ("unavailable", 503, true, "ServiceUnavailableException"),
        ("internal", 500, true, "InternalServerException"),
        ("invalid", 400, false, "check BEDROCK_MODEL_ID"),
        (
            "denied",
            403,
            false,
            "enable access to the model in the Bedrock console",
        ),
        ("gone", 404, false, "check the model id and the region"),
        (
            "body-type",
            400,
            false,
            "ValidationException: 1 validation error",
        ),
    ] {
        let error = plugin.generate(request(Some(model))).await.unwrap_err();
        assert_eq!(error.is_retryable(), retryable, "{model}");
        let u = upstream(error);
        assert_eq!(u.status, Some(status), "{model}");
        assert!(u.message.contains(says), "{model}: {}", u.message);
        if model != "body-type" {
            assert!(u.message.contains("req-123"), "{model}: {}", u.message);
        }
    }
}

#[tokio::test]
async fn credentials_never_reach_the_plugin_errors_or_logs() {
    let server = server().await;
    let backends = signed(&server, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME");
    let message = backends
        .get("bedrock")
        .generate(request(Some("echo-token")))
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("aws configure"), "{message}");
    assert!(!message.contains(SESSION_TOKEN), "{message}");
    assert!(!message.contains(SECRET_KEY), "{message}");
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.header("x-amz-security-token") == Some(SESSION_TOKEN))
    );
    let logs = logs();
    assert!(!logs.contains(SESSION_TOKEN) && !logs.contains(SECRET_KEY));
}

#[tokio::test]
async fn missing_credentials_say_how_to_configure_them() {
    let server = server().await;
    let backends = Backends::load(
        &[("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &server.base_url())],
        SecretStore::default(),
    );
    let error = backends
        .get("bedrock")
        .generate(request(None))
        .await
        .unwrap_err();
    assert!(!error.is_retryable());
    let message = error.to_string();
    assert!(
        message.contains("no usable AWS credentials")
            && message.contains("AWS_BEARER_TOKEN_BEDROCK"),
        "{message}"
    );
    assert!(server.requests().is_empty(), "nothing unsigned may be sent");
}

#[tokio::test]
async fn deep_check_makes_a_tiny_signed_converse_call() {
    let server = server().await;
    let backends = signed(&server, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME");
    backends.get("bedrock").check(true).await.expect("ready");
    let sent = &server.requests()[0];
    assert_eq!(sent.uri.path(), DEFAULT_PATH);
    sigv4::verify(sent, SECRET_KEY).expect("a valid signature");
    let body: Value = serde_json::from_slice(&sent.body).expect("JSON");
    assert_eq!(body["inferenceConfig"]["maxTokens"], 10);
    assert_eq!(
        body["messages"],
        json!([{ "role": "user", "content": [{ "text": "Hi" }] }])
    );
}
