//! A backend plugin from the plugins directory, treated exactly as a built-in: its manifest's
//! `[backend]` table names its variables, and the host derives its destination, key, model,
//! timeouts and concurrency from them, lists it, checks it and scores with it. The plugin is
//! the built-in `litellm` component installed under another id, against a loopback
//! OpenAI-compatible judge.

use std::path::Path;
use std::process::Output;

use axum::Json;
use axum::routing::get;
use decision_matrix::plugins::builtin;
use decision_matrix::plugins::manifest::Manifest;
use decision_matrix_testkit::{MockServer, judge};
use serde_json::{Value, json};

const KEY: &str = "acme-key-7c1d9e2f4b6a8c0e";

const MANIFEST: &str = r#"
id = "acme"
version = "1.0.0"
kind = "llm-backend"
description = "ACME's OpenAI-compatible API."
component = "acme.wasm"

[backend]
default_model = "acme-large"
model_env = ["ACME_MODEL"]
timeout_base_seconds = 20
max_concurrent_calls = 3
check = "GET /models with the key"

[backend.destination]
env = ["ACME_BASE_URL"]
default = "https://api.acme.example/v1"

[backend.key]
env = ["ACME_API_KEY"]

[backend.request_timeout]
env = ["ACME_TIMEOUT_SECONDS"]
default_seconds = 40
min_seconds = 5
max_seconds = 120
"#;

/// A plugins directory holding `acme`: the litellm component under the manifest above.
fn plugins_dir(root: &Path) -> std::path::PathBuf {
    let litellm = builtin::all()
        .iter()
        .find(|p| Manifest::parse(p.manifest).is_ok_and(|m| m.id == "litellm"))
        .expect("the built-in litellm plugin");
    let dir = root.join("plugins");
    std::fs::create_dir_all(dir.join("acme")).expect("mkdir");
    std::fs::write(dir.join("acme").join("plugin.toml"), MANIFEST).expect("write manifest");
    std::fs::write(dir.join("acme").join("acme.wasm"), litellm.wasm).expect("write component");
    dir
}

/// An OpenAI-compatible server: the judge's chat completions and a model list.
async fn provider() -> MockServer {
    MockServer::start(judge::openai_router(std::time::Duration::ZERO).route(
        "/v1/models",
        get(|| async { Json(json!({ "object": "list", "data": [{ "id": "acme-small" }] })) }),
    ))
    .await
}

/// Runs the binary with a clean environment, the plugins directory and `vars`.
async fn run(root: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_decision-matrix"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DMM_PLUGINS_DIR", plugins_dir(root))
        .env("DMM_PLUGIN_CACHE_DIR", root.join("cache"))
        .env("DMM_STORE", "memory")
        .env("AWS_REGION", "us-east-1")
        .env("LOG_LEVEL", "error");
    for (key, value) in vars {
        command.env(key, value);
    }
    command.output().await.expect("run decision-matrix")
}

fn succeeded(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
async fn a_third_party_backend_gets_what_a_builtin_gets() {
    let provider = provider().await;
    let root = tempfile::tempdir().expect("tempdir");
    let base = format!("{}/v1", provider.base_url());
    let vars = [
        ("ACME_BASE_URL", base.as_str()),
        ("ACME_API_KEY", KEY),
        ("ACME_MODEL", "acme-small"),
        ("ACME_TIMEOUT_SECONDS", "90"),
    ];

    let listed = succeeded(&run(root.path(), &["backends", "list", "--json"], &vars).await);
    assert!(!listed.contains(KEY), "{listed}");
    let listed: Value = serde_json::from_str(&listed).expect("JSON");
    let acme = listed["backends"]
        .as_array()
        .expect("backends")
        .iter()
        .find(|b| b["id"] == "acme")
        .expect("acme is listed")
        .clone();
    assert_eq!(acme["destination"], provider.base_url());
    assert_eq!(acme["allow_private"], true);
    assert_eq!(acme["auth"], "bearer key from ACME_API_KEY");
    assert_eq!(acme["default_model"], "acme-small");
    assert_eq!(
        acme["configured_by"],
        json!({
            "base-url": "ACME_BASE_URL",
            "default-model": "ACME_MODEL",
            "timeout-ms": "ACME_TIMEOUT_SECONDS",
            "api-key": "ACME_API_KEY",
        })
    );

    let shown = succeeded(&run(root.path(), &["config", "show", "--json"], &vars).await);
    let shown: Value = serde_json::from_str(&shown).expect("JSON");
    let value = |key: &str| {
        shown["values"]
            .as_array()
            .expect("values")
            .iter()
            .find(|entry| entry["key"] == key)
            .unwrap_or_else(|| panic!("{key} is listed"))["value"]
            .clone()
    };
    assert_eq!(value("evaluation.max_concurrent_per_backend.acme"), 3);
    assert_eq!(value("evaluation.timeout_base_seconds.acme"), 20.0);
    assert_eq!(value("evaluation.max_concurrent_per_backend.ollama"), 4);
    assert_eq!(value("backends.acme.timeout-ms"), "90000");
    assert_eq!(value("backends.acme.base-url"), base.as_str());

    let checked = succeeded(&run(root.path(), &["backends", "check", "acme"], &vars).await);
    assert!(checked.starts_with("acme: ok"), "{checked}");
    let models = provider
        .requests()
        .into_iter()
        .find(|r| r.uri.path() == "/v1/models")
        .expect("the check asked for the models");
    assert_eq!(
        models.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );

    let decision = root.path().join("decision.toml");
    std::fs::write(
        &decision,
        "topic = \"Pick a database\"\nbackend = \"acme\"\noptions = [\"Postgres\", \"SQLite\"]\n\
         [[criteria]]\nname = \"cost\"\ndescription = \"Total cost\"\n",
    )
    .expect("write decision");
    let decision = decision.to_str().expect("UTF-8 path");
    succeeded(&run(root.path(), &["evaluate", decision, "--json"], &vars).await);
    let scored: Vec<Value> = provider
        .requests()
        .into_iter()
        .filter(|r| r.uri.path() == "/v1/chat/completions")
        .map(|r| {
            assert_eq!(
                r.header("authorization"),
                Some(format!("Bearer {KEY}").as_str())
            );
            serde_json::from_slice(&r.body).expect("JSON body")
        })
        .collect();
    assert!(!scored.is_empty());
    assert!(scored.iter().all(|body| body["model"] == "acme-small"));
}

#[tokio::test]
async fn its_bad_variable_stops_start_up_as_a_builtins_would() {
    let root = tempfile::tempdir().expect("tempdir");
    let out = run(
        root.path(),
        &["backends", "list"],
        &[("ACME_TIMEOUT_SECONDS", "600")],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ACME_TIMEOUT_SECONDS = \"600\": expected whole seconds from 5 to 120"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_failed_check_says_what_was_asked() {
    let root = tempfile::tempdir().expect("tempdir");
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/v1", listener.local_addr().expect("addr"))
    };
    let out = run(
        root.path(),
        &["backends", "check", "acme"],
        &[("ACME_BASE_URL", closed.as_str())],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("acme: FAILED") && stdout.contains("\n  checked: GET /models with the key"),
        "{stdout}"
    );
}
