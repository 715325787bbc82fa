//! Built-in backend throughput: requests per second through each backend plugin against a
//! zero-latency loopback mock, at 1 and 64 concurrent calls, next to the same requests made
//! directly with reqwest in the same run. The ratio is what the plugin costs: instantiation,
//! building and parsing the wire format in wasm, and the host's checked HTTP pipeline (and, for
//! Bedrock, SigV4 signing, which the direct client does too).
//!
//! Run with `cargo bench -p decision-matrix --bench backends`; BENCHMARKS.md records results.

use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use axum::Json;
use axum::Router;
use axum::routing::post;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use decision_matrix::plugins::bindings::llm_backend::{GenerateRequest, Message, Role};
use decision_matrix::plugins::grants::GrantsConfig;
use decision_matrix::plugins::net::SecretStore;
use decision_matrix::plugins::{BackendPlugin, PluginCatalog, PluginHost, PluginSettings};
use decision_matrix::providers::{self, Environment};
use decision_matrix_testkit::MockServer;
use futures_util::future::join_all;
use secrecy::SecretString;
use serde_json::{Value, json};

const SCHEMA: &str = r#"{"type":"object","properties":{"score":{"type":"number"},"reasoning":{"type":"string"}},"required":["score","reasoning"]}"#;
const ANSWER: &str = r#"{"score": 7, "reasoning": "a short justification of the score"}"#;
const KEY: &str = "sk-bench-0123456789abcdef";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn mock() -> Router {
    Router::new()
        .route(
            "/api/chat",
            post(|| async {
                Json(json!({"model": "llama3.1:8b", "created_at": "2026-11-28T00:00:00Z",
                    "message": {"role": "assistant", "content": ANSWER}, "done": true,
                    "done_reason": "stop", "prompt_eval_count": 60, "eval_count": 20}))
            }),
        )
        .route(
            "/v1/chat/completions",
            post(|| async {
                Json(json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1,
                    "model": "gpt-4o-mini", "choices": [{"index": 0, "message": {"role": "assistant",
                    "content": ANSWER}, "finish_reason": "stop", "logprobs": null}],
                    "usage": {"prompt_tokens": 60, "completion_tokens": 20, "total_tokens": 80}}))
            }),
        )
        .fallback(|| async {
            Json(json!({"output": {"message": {"role": "assistant", "content": [{"text": ANSWER}]}},
                "stopReason": "end_turn", "usage": {"inputTokens": 60, "outputTokens": 20, "totalTokens": 80},
                "metrics": {"latencyMs": 1}}))
        })
}

fn request() -> GenerateRequest {
    GenerateRequest {
        model: None,
        messages: vec![
            Message { role: Role::System, content: "You score one option against one criterion on a 1-10 scale. Answer with JSON: {\"score\": number, \"reasoning\": string}.".into() },
            Message { role: Role::User, content: "Topic: which language for the service\nOption: Rust - memory safe, fast, steep learning curve\nCriterion: maintainability".into() },
        ],
        temperature: Some(0.1),
        max_tokens: Some(256),
        stop: Vec::new(),
        response_schema: Some(SCHEMA.into()),
        extra: Vec::new(),
    }
}

/// The body the plugin sends, rebuilt for the direct client, and where to send it.
struct Direct {
    url: String,
    body: Vec<u8>,
    bearer: Option<&'static str>,
    sigv4: bool,
}

fn backend(base: &str, id: &str) -> (PluginHost, BackendPlugin, Direct) {
    let (env, secrets, direct): (Vec<(&str, String)>, SecretStore, Direct) = match id {
        "ollama" => (
            vec![("OLLAMA_HOST", base.to_owned())],
            SecretStore::default(),
            Direct {
                url: format!("{base}/api/chat"),
                body: serde_json::to_vec(&json!({"model": "llama3.1:8b", "messages": messages_json(),
                    "stream": false, "format": schema_json(),
                    "options": {"temperature": 0.1, "num_predict": 256, "num_ctx": 4096}})).expect("json"),
                bearer: None,
                sigv4: false,
            },
        ),
        "litellm" => (
            vec![("OPENAI_BASE_URL", format!("{base}/v1")), ("OPENAI_API_KEY", "set".to_owned())],
            SecretStore::from_values([("litellm-api-key", SecretString::from(KEY))]),
            Direct {
                url: format!("{base}/v1/chat/completions"),
                body: serde_json::to_vec(&json!({"model": "gpt-4o-mini", "messages": messages_json(),
                    "temperature": 0.1, "max_tokens": 256, "response_format": {"type": "json_schema",
                    "json_schema": {"name": "answer", "schema": schema_json(), "strict": true}}})).expect("json"),
                bearer: Some(KEY),
                sigv4: false,
            },
        ),
        _ => (
            vec![("AWS_REGION", "us-east-1".to_owned()), ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", base.to_owned())],
            SecretStore::default().with_aws_credentials("aws", credentials()),
            Direct {
                url: format!("{base}/model/anthropic.claude-3-sonnet-20240229-v1%3A0/converse"),
                body: serde_json::to_vec(&json!({"messages": [{"role": "user", "content": [{"text": request().messages[1].content}]}],
                    "system": [{"text": request().messages[0].content}],
                    "inferenceConfig": {"maxTokens": 256, "temperature": 0.1}})).expect("json"),
                bearer: None,
                sigv4: true,
            },
        ),
    };
    let cache = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-backend-cache");
    let settings = PluginSettings {
        dir: None,
        cache_dir: Some(cache),
        ..PluginSettings::default()
    };
    let env = Environment::from_pairs(env);
    let builtins = providers::derive_builtins(&env, None).expect("provider settings");
    let grants = providers::apply(&GrantsConfig::default(), &builtins);
    let host = PluginHost::with_secrets(settings, grants, secrets).expect("host");
    let catalog = PluginCatalog::load(&host, None);
    let plugin = catalog.backend(id).expect("built-in backend").clone();
    (host, plugin, direct)
}

fn messages_json() -> Value {
    let r = request();
    json!([{"role": "system", "content": r.messages[0].content}, {"role": "user", "content": r.messages[1].content}])
}

fn schema_json() -> Value {
    serde_json::from_str(SCHEMA).expect("schema")
}

fn credentials() -> Credentials {
    Credentials::new("AKIDEXAMPLE", SECRET_KEY, None, None, "bench")
}

/// One direct request, signed like the host signs (SigV4 with a payload hash) when needed, with
/// the answer parsed as far as the plugin parses it.
async fn direct_call(client: &reqwest::Client, direct: &Direct) -> usize {
    let mut builder = client
        .post(&direct.url)
        .header("content-type", "application/json")
        .body(direct.body.clone());
    if let Some(key) = direct.bearer {
        builder = builder.bearer_auth(key);
    }
    if direct.sigv4 {
        let url = reqwest::Url::parse(&direct.url).expect("url");
        let host = url
            .host_str()
            .map(|h| format!("{h}:{}", url.port().unwrap_or(80)))
            .expect("host");
        let headers = [
            ("host", host.as_str()),
            ("content-type", "application/json"),
        ];
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
        let identity = credentials().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("bedrock")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .expect("params")
            .into();
        let signable = SignableRequest::new(
            "POST",
            direct.url.as_str(),
            headers.into_iter(),
            SignableBody::Bytes(&direct.body),
        )
        .expect("signable");
        let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
        for (name, value) in instructions.headers() {
            builder = builder.header(name, value);
        }
    }
    let response = builder.send().await.expect("send");
    assert!(response.status().is_success());
    let bytes = response.bytes().await.expect("body");
    let value: Value = serde_json::from_slice(&bytes).expect("json");
    value.to_string().len()
}

fn throughput(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt.block_on(MockServer::start_unrecorded(mock()));
    let base = server.base_url();
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    for id in ["ollama", "litellm", "bedrock"] {
        let (_host, plugin, direct) = backend(&base, id);
        rt.block_on(plugin.generate(request()))
            .expect("the plugin works against the mock");
        let mut group = c.benchmark_group(format!("backends/{id}"));
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(5));
        for concurrency in [1usize, 64] {
            group.throughput(Throughput::Elements(concurrency as u64));
            group.bench_with_input(
                BenchmarkId::new("plugin", concurrency),
                &concurrency,
                |b, &n| {
                    b.to_async(&rt).iter_custom(|iters| {
                        let plugin = plugin.clone();
                        async move {
                            let start = Instant::now();
                            for _ in 0..iters {
                                let calls = (0..n).map(|_| plugin.generate(request()));
                                for result in join_all(calls).await {
                                    result.expect("generate");
                                }
                            }
                            start.elapsed()
                        }
                    })
                },
            );
            group.bench_with_input(
                BenchmarkId::new("reqwest", concurrency),
                &concurrency,
                |b, &n| {
                    b.to_async(&rt).iter_custom(|iters| {
                        let (client, direct) = (&client, &direct);
                        async move {
                            let start = Instant::now();
                            for _ in 0..iters {
                                join_all((0..n).map(|_| direct_call(client, direct))).await;
                            }
                            start.elapsed()
                        }
                    })
                },
            );
        }
        group.finish();
    }
}

criterion_group!(benches, throughput);
criterion_main!(benches);
