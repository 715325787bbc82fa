//! The built-in `ollama` backend against a loopback server speaking Ollama's `/api/chat` and
//! `/api/tags` wire format.

use crate::common;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use common::{Backends, request, upstream};
use decision_matrix::plugins::net::SecretStore;
use decision_matrix_testkit::MockServer;
use serde_json::{Value, json};

/// Answers like Ollama; the model name picks a failure.
async fn chat(Json(body): Json<Value>) -> Response {
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let error = |status: StatusCode, message: &str| {
        (status, Json(json!({ "error": message }))).into_response()
    };
    match model.as_str() {
        "missing:1b" => error(StatusCode::NOT_FOUND, "model \"missing:1b\" not found, try pulling it first"),
        "bad:1b" => error(StatusCode::BAD_REQUEST, "invalid options"),
        "busy:1b" => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "2")], Json(json!({"error": "server busy"}))).into_response(),
        "crash:1b" => error(StatusCode::INTERNAL_SERVER_ERROR, "llama runner process has terminated"),
        "gateway:1b" => error(StatusCode::BAD_GATEWAY, "upstream unavailable"),
        "inband:1b" => Json(json!({ "error": "an error was encountered while running the model" })).into_response(),
        _ => Json(json!({
            "model": model,
            "created_at": "2026-11-28T12:00:00.000000Z",
            "message": { "role": "assistant", "content": "{\"score\": 8, \"reasoning\": \"fast\"}" },
            "done": true,
            "done_reason": "stop",
            "total_duration": 4_883_583_458u64,
            "load_duration": 1_334_875,
            "prompt_eval_count": 26,
            "prompt_eval_duration": 342_546_000,
            "eval_count": 13,
            "eval_duration": 4_535_599_000u64
        }))
        .into_response(),
    }
}

async fn tags() -> Json<Value> {
    Json(json!({ "models": [
        { "name": "llama3.1:8b", "model": "llama3.1:8b", "size": 4_920_753_328u64 },
        { "name": "mistral:latest", "model": "mistral:latest" }
    ]}))
}

async fn ollama() -> MockServer {
    let router = axum::Router::new()
        .route("/api/chat", post(chat))
        .route("/api/tags", get(tags))
        .route("/prefix/api/chat", post(chat));
    MockServer::start(router).await
}

fn backends(ollama_host: &str) -> Backends {
    Backends::load(&[("OLLAMA_HOST", ollama_host)], SecretStore::default())
}

#[tokio::test]
async fn sends_the_documented_body_and_reads_tokens() {
    let server = ollama().await;
    let backends = backends(&server.addr().to_string());
    let generation = backends
        .get("ollama")
        .generate(request(None))
        .await
        .expect("generation");
    assert_eq!(generation.text, r#"{"score": 8, "reasoning": "fast"}"#);
    assert_eq!(generation.model, "llama3.1:8b");
    assert_eq!(generation.stop_reason.as_deref(), Some("stop"));
    let usage = generation.usage.expect("usage");
    assert_eq!((usage.input_tokens, usage.output_tokens), (26, 13));

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.uri.path(), "/api/chat");
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("authorization"), None);
    let body: Value = serde_json::from_slice(&sent.body).expect("JSON body");
    let schema: Value = serde_json::from_str(common::SCHEMA).expect("schema");
    assert_eq!(
        body,
        json!({
            "model": "llama3.1:8b",
            "messages": [
                { "role": "system", "content": "Score the option from 1 to 10." },
                { "role": "user", "content": "Option: Rust" }
            ],
            "stream": false,
            "format": schema,
            "options": { "temperature": 0.0, "num_predict": 200, "num_ctx": 4096 }
        })
    );
}

#[tokio::test]
async fn model_is_overridable_per_request_and_by_environment() {
    let server = ollama().await;
    let backends = Backends::load(
        &[
            ("OLLAMA_HOST", &format!("http://{}", server.addr())),
            ("DMM_OLLAMA_MODEL", "qwen3:4b"),
        ],
        SecretStore::default(),
    );
    let plugin = backends.get("ollama");
    assert_eq!(
        plugin.info().await.expect("info").default_model.as_deref(),
        Some("qwen3:4b")
    );
    plugin.generate(request(None)).await.expect("default model");
    plugin
        .generate(request(Some("mistral:7b")))
        .await
        .expect("criterion model");
    let models: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).expect("JSON")["model"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(models, ["qwen3:4b", "mistral:7b"]);
}

#[tokio::test]
async fn ollama_host_with_scheme_and_path_prefix() {
    let server = ollama().await;
    let backends = backends(&format!("http://{}/prefix", server.addr()));
    backends
        .get("ollama")
        .generate(request(None))
        .await
        .expect("generation");
    assert_eq!(server.requests()[0].uri.path(), "/prefix/api/chat");
}

#[tokio::test]
async fn missing_model_says_ollama_pull_and_is_not_retried() {
    let server = ollama().await;
    let backends = backends(&server.addr().to_string());
    let error = backends
        .get("ollama")
        .generate(request(Some("missing:1b")))
        .await
        .unwrap_err();
    assert!(!error.is_retryable());
    let u = upstream(error);
    assert_eq!(u.status, Some(404));
    assert!(
        u.message.contains("ollama pull missing:1b"),
        "{}",
        u.message
    );
}

#[tokio::test]
async fn every_error_status_is_mapped() {
    let server = ollama().await;
    let backends = backends(&server.addr().to_string());
    let plugin = backends.get("ollama");
    for (model, status, retryable, says) in [
        ("bad:1b", Some(400), false, "invalid options"),
        ("busy:1b", Some(429), true, "server busy"),
        ("crash:1b", Some(500), true, "runner process has terminated"),
        ("gateway:1b", Some(502), true, "upstream unavailable"),
        ("inband:1b", None, true, "error was encountered"),
    ] {
        let u = upstream(plugin.generate(request(Some(model))).await.unwrap_err());
        assert_eq!(u.status, status, "{model}");
        assert_eq!(u.retryable, retryable, "{model}");
        assert!(u.message.contains(says), "{model}: {}", u.message);
        if model == "busy:1b" {
            assert_eq!(u.retry_after_ms, Some(2000));
        }
    }
}

#[tokio::test]
async fn refused_connection_says_ollama_is_not_running_there() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let backends = backends(&closed.to_string());
    let plugin = backends.get("ollama");
    let u = upstream(plugin.generate(request(None)).await.unwrap_err());
    assert!(
        u.message
            .contains(&format!("Ollama is not running at http://{closed}")),
        "{}",
        u.message
    );
    let check = plugin.check(true).await.unwrap_err().to_string();
    assert!(check.contains("ollama serve"), "{check}");
}

#[tokio::test]
async fn deep_check_lists_pulled_models() {
    let server = ollama().await;
    let ok = backends(&server.addr().to_string());
    ok.get("ollama")
        .check(true)
        .await
        .expect("llama3.1:8b is pulled");
    assert_eq!(server.requests()[0].uri.path(), "/api/tags");

    let missing = Backends::load(
        &[
            ("OLLAMA_HOST", &server.addr().to_string()),
            ("DMM_OLLAMA_MODEL", "phi4:14b"),
        ],
        SecretStore::default(),
    );
    let message = missing
        .get("ollama")
        .check(true)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("ollama pull phi4:14b") && message.contains("mistral:latest"),
        "{message}"
    );
    missing
        .get("ollama")
        .check(false)
        .await
        .expect("shallow check makes no request");
}
