//! `decision-matrix config show` and start-up checks of the configuration, run as a user
//! would run them: a profile, a file, environment variables and flags, in that precedence.

use std::process::{Command, Output};

use serde_json::Value;

/// Runs the binary with only `vars` (plus PATH) in its environment.
fn run(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_decision-matrix"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_REGION", "us-east-1");
    for (key, value) in vars {
        command.env(key, value);
    }
    command.output().expect("run decision-matrix")
}

fn show(args: &[&str], vars: &[(&str, &str)]) -> Value {
    let mut all = vec!["config", "show", "--json"];
    all.extend_from_slice(args);
    let out = run(&all, vars);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// `(value, source)` of `key` in a `config show --json` document.
fn entry(document: &Value, key: &str) -> (Value, String) {
    let entry = document["values"]
        .as_array()
        .expect("values")
        .iter()
        .find(|entry| entry["key"] == key)
        .unwrap_or_else(|| panic!("{key} is listed"));
    (
        entry["value"].clone(),
        entry["source"].as_str().expect("source").to_owned(),
    )
}

#[test]
fn show_prints_every_value_with_where_it_came_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("decision-matrix.toml");
    std::fs::write(
        &file,
        "profile = \"high-scale\"\n[sessions]\nmax_sessions = 300\nttl_seconds = 900\n[evaluation]\nbatch_size = 2\n",
    )
    .expect("write");
    let file = file.to_str().expect("UTF-8 path");
    let document = show(
        &["--set", "evaluation.batch_size=3", "--config", file],
        &[
            ("DMM_DEFAULT_SESSION_TTL_HOURS", "3"),
            ("MCP_AUTH_TOKEN", "never-printed"),
            ("DMM_LRU_EVICTION_BATCH_SIZE", "10"),
            ("LOG_LEVEL", "WARNING"),
        ],
    );
    let file_source = format!("file {file}");
    assert_eq!(
        entry(&document, "profile"),
        ("high-scale".into(), file_source.clone())
    );
    assert_eq!(
        entry(&document, "sessions.cleanup_interval_seconds"),
        (60.into(), "profile high-scale".into())
    );
    assert_eq!(
        entry(&document, "sessions.max_sessions"),
        (300.into(), file_source)
    );
    assert_eq!(
        entry(&document, "sessions.ttl_seconds"),
        (10_800.into(), "env DMM_DEFAULT_SESSION_TTL_HOURS".into())
    );
    assert_eq!(
        entry(&document, "evaluation.batch_size"),
        (3.into(), "flag --set evaluation.batch_size".into())
    );
    assert_eq!(
        entry(&document, "evaluation.retry_attempts"),
        (2.into(), "profile high-scale".into())
    );
    assert_eq!(
        entry(&document, "limits.max_options_allowed"),
        (20.into(), "default".into())
    );
    assert_eq!(
        entry(&document, "backends.litellm.default-model"),
        ("gpt-4o-mini".into(), "default".into())
    );
    assert_eq!(
        entry(&document, "server.auth_token"),
        ("<set>".into(), "env MCP_AUTH_TOKEN".into())
    );
    assert!(!document.to_string().contains("never-printed"));
    assert_eq!(
        entry(&document, "alerts.session_capacity_percent"),
        (80.0.into(), "default".into())
    );
    assert_eq!(
        entry(&document, "logging.format"),
        ("text".into(), "default".into())
    );
    assert_eq!(
        document["without_effect"][0]["variable"],
        "DMM_LRU_EVICTION_BATCH_SIZE"
    );

    let text = run(&["config", "show"], &[("DMM_PROFILE", "development")]);
    let text = String::from_utf8_lossy(&text.stdout);
    let line = text
        .lines()
        .find(|line| line.starts_with("sessions.max_sessions "))
        .expect("listed");
    assert!(line.ends_with("profile development"), "{line}");
}

/// `DMM_ENVIRONMENT` has the reference server's effects, shown with their source, and is
/// no longer listed as a variable without effect; anything set explicitly wins over it.
#[test]
fn show_lists_what_dmm_environment_sets_under_the_explicit_settings() {
    let document = show(
        &[],
        &[
            ("DMM_ENVIRONMENT", "development"),
            ("DMM_MAX_ACTIVE_SESSIONS", "30"),
        ],
    );
    assert_eq!(
        entry(&document, "limits.max_options_allowed"),
        (10.into(), "DMM_ENVIRONMENT=development".into())
    );
    assert_eq!(
        entry(&document, "sessions.max_sessions"),
        (30.into(), "env DMM_MAX_ACTIVE_SESSIONS".into())
    );
    assert_eq!(document["without_effect"], Value::Array(Vec::new()));
    let staging = show(&[], &[("DMM_ENVIRONMENT", "staging")]);
    assert_eq!(
        entry(&staging, "sessions.max_sessions"),
        (50.into(), "DMM_ENVIRONMENT=staging".into())
    );
    let text = run(&["config", "show"], &[("DMM_ENVIRONMENT", "development")]);
    assert!(
        !String::from_utf8_lossy(&text.stdout).contains("DMM_ENVIRONMENT is set but has no effect"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
}

#[test]
fn an_invalid_value_stops_start_up_naming_key_value_allowed_and_source() {
    for (args, vars, expected) in [
        (
            vec!["serve"],
            vec![("DMM_MAX_RETRIES", "20")],
            "evaluation.retry_attempts = 20 is out of range; allowed: 1 to 10 (evaluation.retry_attempts from env DMM_MAX_RETRIES)",
        ),
        (
            vec!["serve", "--transport", "http", "--host", "localhost"],
            vec![],
            "server.host = 'localhost' is not an IP address; allowed: an IPv4 or IPv6 address such as 127.0.0.1 or 0.0.0.0 (server.host from flag --host)",
        ),
        (
            vec!["serve"],
            vec![("MCP_TRANSPORT", "websocket")],
            "server.transport: unknown variant `websocket`, expected one of `stdio`, `http`, `streamable-http` (server.transport from env MCP_TRANSPORT)",
        ),
        (
            vec!["config", "show", "--profile", "staging"],
            vec![],
            "unknown profile 'staging'; allowed: development, production, high-scale (set by flag --profile)",
        ),
        (
            vec!["serve", "--store", "postgres://db/sessions"],
            vec![],
            "sessions.store = 'postgres://db/sessions' is not valid (",
        ),
        (
            vec!["serve"],
            vec![("DMM_STORE_NAMESPACE", "a:b")],
            "sessions.store_namespace = 'a:b' is not valid; allowed: 1 to 64 letters, digits, '_', '-' or '.' (sessions.store_namespace from env DMM_STORE_NAMESPACE)",
        ),
        (
            vec!["serve", "--set", "sessions.ttl_seconds=5"],
            vec![],
            "sessions.ttl_seconds = 5 is out of range; allowed: 60 to 604800 seconds",
        ),
        (
            vec!["serve"],
            vec![("DMM_ALERT_ERROR_RATE_PERCENT", "150")],
            "alerts.error_rate_percent = 150 is out of range; allowed: 0 to 100 (alerts.error_rate_percent from env DMM_ALERT_ERROR_RATE_PERCENT)",
        ),
        (
            vec!["serve", "--set", "alerts.queue_depth=-1"],
            vec![],
            "alerts.queue_depth: invalid value: integer `-1`, expected u64 (alerts.queue_depth from flag --set alerts.queue_depth)",
        ),
        (
            vec!["serve", "--log-format", "json"],
            vec![("DMM_LOG_PROMPTS", "maybe")],
            "DMM_LOG_PROMPTS = 'maybe' is not true or false (it sets logging.log_prompts)",
        ),
        (
            vec!["serve"],
            vec![("DMM_LOG_FORMAT", "xml")],
            "logging.format: unknown variant `xml`, expected `text` or `json` (logging.format from env DMM_LOG_FORMAT)",
        ),
    ] {
        let out = run(&args, &vars);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "nothing on stdout: {args:?}");
    }
}
