//! `decision-matrix plugins list` and `plugins check`, run as a user would run them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    decision_matrix_testkit::plugins_dir().to_path_buf()
}

/// Runs the binary with its own plugins and cache directories and a clean environment.
fn run(args: &[&str], plugins_dir: &Path, cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_decision-matrix"))
        .args(args)
        .env_remove("DMM_CONFIG")
        .env("DMM_PLUGINS_DIR", plugins_dir)
        .env("DMM_PLUGIN_CACHE_DIR", cache)
        .env("LOG_LEVEL", "error")
        .output()
        .expect("run decision-matrix")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn list_shows_builtins_and_directory_plugins_with_capabilities() {
    let temp = tempfile::tempdir().expect("tempdir");
    let out = run(
        &["plugins", "list", "--json"],
        &fixtures(),
        &temp.path().join("cache"),
    );
    let stdout = text(&out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("JSON output");
    let plugins = doc["plugins"].as_array().expect("plugins array");
    let ids: Vec<&str> = plugins.iter().filter_map(|p| p["id"].as_str()).collect();
    assert!(ids.contains(&"weighted-average"), "{ids:?}");
    assert!(ids.contains(&"fixture-adversary"), "{ids:?}");
    let builtin = plugins
        .iter()
        .find(|p| p["id"] == "weighted-average")
        .expect("builtin");
    assert_eq!(builtin["origin"], "built-in");
    assert_eq!(builtin["kind"], "scoring");
    assert_eq!(builtin["wit_version"], "0.1.0");
    let adversary = plugins
        .iter()
        .find(|p| p["id"] == "fixture-adversary")
        .expect("fixture");
    assert!(
        !adversary["requested"]["secrets"]
            .as_array()
            .expect("secrets")
            .is_empty()
    );
    assert!(
        adversary["granted"]["hosts"]
            .as_array()
            .expect("hosts")
            .is_empty(),
        "nothing granted by default"
    );
    // The future-WIT fixture is listed as a failure, and the exit code says so.
    let failures = doc["failures"].as_array().expect("failures");
    assert!(
        failures
            .iter()
            .any(|f| f.as_str().is_some_and(|f| f.contains("needs a newer"))),
        "{failures:?}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn list_text_with_no_plugins_directory_succeeds() {
    let temp = tempfile::tempdir().expect("tempdir");
    let out = run(
        &["plugins", "list"],
        &temp.path().join("none"),
        &temp.path().join("cache"),
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("weighted-average 0.1.0 (scoring, WIT 0.1.0)"),
        "{stdout}"
    );
    assert!(stdout.contains("no network"), "{stdout}");
}

#[test]
fn check_prints_what_the_plugin_may_do() {
    let temp = tempfile::tempdir().expect("tempdir");
    let wasm = fixtures()
        .join("fixture-adversary")
        .join("fixture_adversary.wasm");
    let out = run(
        &["plugins", "check", wasm.to_str().expect("utf-8 path")],
        &temp.path().join("none"),
        &temp.path().join("cache"),
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("is a valid plugin"), "{stdout}");
    assert!(stdout.contains("llm-backend"), "{stdout}");
    assert!(stdout.contains("requested but not granted"), "{stdout}");
}

#[test]
fn check_of_bad_files_is_a_clear_error_not_a_panic() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("bad");
    std::fs::create_dir(&dir).expect("mkdir");
    let manifest =
        "id = \"bad\"\nversion = \"0.1.0\"\nkind = \"scoring\"\ncomponent = \"bad.wasm\"\n";
    std::fs::write(dir.join("plugin.toml"), manifest).expect("write");
    let cases: [(&[u8], &str); 3] = [
        (
            b"\0asm\x01\0\0\0",
            "core WebAssembly module, not a component",
        ),
        (b"#!/bin/sh\necho hi\n", "not a WebAssembly component"),
        (b"\0asm\x0d\0\x01\0garbage", "does not compile"),
    ];
    for (bytes, expected) in cases {
        std::fs::write(dir.join("bad.wasm"), bytes).expect("write");
        let out = run(
            &[
                "plugins",
                "check",
                dir.join("bad.wasm").to_str().expect("path"),
            ],
            &temp.path().join("none"),
            &temp.path().join("cache"),
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }

    let missing = run(
        &[
            "plugins",
            "check",
            temp.path().join("nope.wasm").to_str().expect("path"),
        ],
        &temp.path().join("none"),
        &temp.path().join("cache"),
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("plugin.toml"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn check_refuses_a_scoring_manifest_on_a_backend_component() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("liar");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::copy(
        fixtures()
            .join("fixture-adversary")
            .join("fixture_adversary.wasm"),
        dir.join("x.wasm"),
    )
    .expect("copy");
    std::fs::write(
        dir.join("plugin.toml"),
        "id = \"liar\"\nversion = \"0.1.0\"\nkind = \"scoring\"\ncomponent = \"x.wasm\"\n",
    )
    .expect("write");
    let out = run(
        &[
            "plugins",
            "check",
            dir.join("x.wasm").to_str().expect("path"),
        ],
        &temp.path().join("none"),
        &temp.path().join("cache"),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("kind = \"scoring\"") && stderr.contains("llm-backend"),
        "{stderr}"
    );
}

#[test]
fn check_shows_a_granted_request_as_granted() {
    let temp = tempfile::tempdir().expect("tempdir");
    // The adversary asks for http://127.0.0.1 (port 80); grant exactly that.
    let config = temp.path().join("config.toml");
    std::fs::write(
        &config,
        "[grants.fixture-adversary]\nhosts = [\"http://127.0.0.1:80\"]\nallow_private = true\n",
    )
    .expect("write config");
    let wasm = fixtures()
        .join("fixture-adversary")
        .join("fixture_adversary.wasm");
    let out = run(
        &[
            "--config",
            config.to_str().expect("path"),
            "plugins",
            "check",
            wasm.to_str().expect("path"),
        ],
        &temp.path().join("none"),
        &temp.path().join("cache"),
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("granted:   hosts http://127.0.0.1"),
        "{stdout}"
    );
    assert!(!stdout.contains("requested but not granted"), "{stdout}");
}

/// Runs the binary with only the given environment (plus PATH), like a user's fresh shell.
fn run_with_env(args: &[&str], vars: &[(&str, &str)], cache: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_decision-matrix"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DMM_PLUGIN_CACHE_DIR", cache)
        .env("LOG_LEVEL", "error");
    for (key, value) in vars {
        command.env(key, value);
    }
    command.output().expect("run decision-matrix")
}

#[test]
fn backends_list_shows_what_the_environment_configured() {
    let temp = tempfile::tempdir().expect("tempdir");
    let aws_config = temp.path().join("aws-config");
    std::fs::write(&aws_config, "[profile work]\nregion = eu-central-1\n").expect("write");
    let out = run_with_env(
        &["backends", "list", "--json"],
        &[
            ("OLLAMA_HOST", "127.0.0.1:11500"),
            ("OPENAI_API_BASE", "http://127.0.0.1:4000/v1"),
            ("OPENAI_API_KEY", "sk-never-printed"),
            ("ANTHROPIC_API_KEY", "sk-ant-never-printed"),
            ("GOOGLE_API_KEY", "AIza-never-printed"),
            ("AWS_CONFIG_FILE", aws_config.to_str().expect("path")),
            ("AWS_PROFILE", "work"),
            (
                "BEDROCK_MODEL_ID",
                "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            ),
        ],
        &temp.path().join("cache"),
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(!stdout.contains("never-printed"), "{stdout}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("JSON output");
    let backend = |id: &str| {
        doc["backends"]
            .as_array()
            .expect("backends")
            .iter()
            .find(|b| b["id"] == id)
            .cloned()
            .expect("backend listed")
    };
    let ollama = backend("ollama");
    assert_eq!(ollama["destination"], "http://127.0.0.1:11500");
    assert_eq!(ollama["allow_private"], true);
    assert_eq!(ollama["configured_by"]["base-url"], "OLLAMA_HOST");
    let litellm = backend("litellm");
    assert_eq!(litellm["destination"], "http://127.0.0.1:4000");
    assert_eq!(litellm["auth"], "bearer key from OPENAI_API_KEY");
    let anthropic = backend("anthropic");
    assert_eq!(anthropic["destination"], "https://api.anthropic.com");
    assert_eq!(
        anthropic["auth"],
        "key from ANTHROPIC_API_KEY, in the x-api-key header"
    );
    assert_eq!(anthropic["default_model"], "claude-sonnet-4-6");
    let gemini = backend("gemini");
    assert_eq!(
        gemini["destination"],
        "https://generativelanguage.googleapis.com"
    );
    assert_eq!(
        gemini["auth"],
        "key from GOOGLE_API_KEY, in the x-goog-api-key header"
    );
    let bedrock = backend("bedrock");
    assert_eq!(
        bedrock["destination"],
        "https://bedrock-runtime.eu-central-1.amazonaws.com"
    );
    assert_eq!(bedrock["configured_by"]["region"], "AWS profile");
    assert_eq!(
        bedrock["default_model"],
        "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    );
    assert_eq!(bedrock["supports_response_schema"], true);
}

#[test]
fn backends_check_fails_with_advice_and_bad_settings_stop_start_up() {
    let temp = tempfile::tempdir().expect("tempdir");
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").to_string()
    };
    let out = run_with_env(
        &["backends", "check", "ollama"],
        &[("OLLAMA_HOST", &closed)],
        &temp.path().join("cache"),
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("ollama: FAILED") && stdout.contains("ollama serve"),
        "{stdout}"
    );

    // A backend and a route's provider: the backend that `anthropic/` models reach.
    let out = run_with_env(
        &["backends", "check", "litellm:anthropic"],
        &[("ANTHROPIC_API_BASE", &format!("http://{closed}"))],
        &temp.path().join("cache"),
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("anthropic: FAILED"), "{stdout}");

    let out = run_with_env(
        &["backends", "check", "nope"],
        &[],
        &temp.path().join("cache"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(
            "the backends are: anthropic, bedrock, gemini, litellm, ollama; \
             the providers routes reach: litellm:cerebras,"
        ),
        "{}",
        text(&out.stderr)
    );

    let out = run_with_env(
        &["backends", "list"],
        &[("DMM_BEDROCK_TIMEOUT_SECONDS", "9000")],
        &temp.path().join("cache"),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("DMM_BEDROCK_TIMEOUT_SECONDS = \"9000\"") && stderr.contains("5 to 300"),
        "{stderr}"
    );
}

#[test]
fn an_http_bind_beyond_loopback_without_a_token_is_refused() {
    let temp = tempfile::tempdir().expect("tempdir");
    // 192.0.2.1 (TEST-NET-1) is on no interface: were the refusal missing, the bind would
    // fail with another message instead of listening beyond loopback.
    let out = run_with_env(
        &["serve", "--transport", "http", "--port", "0"],
        &[("MCP_HTTP_HOST", "192.0.2.1"), ("DMM_STORE", "memory")],
        &temp.path().join("cache"),
    );
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("server.host = '192.0.2.1' listens beyond this machine")
            && stderr.contains("--auth-token")
            && stderr.contains("--insecure-unauthenticated-bind"),
        "{stderr}"
    );
    assert!(!stderr.contains("listening on"), "{stderr}");
}
