//! Metrics, health and logs as operators see them: the built server over HTTP and stdio,
//! scored by the loopback judge. `/metrics` must count exactly the calls made, `/healthz`
//! must turn `degraded` (with the reason, warned once per episode) when a threshold is
//! crossed, `server_stats` must answer on both transports, and JSON logs must carry the
//! spans without secrets or prompts.

use crate::common;

use std::time::Duration;

use common::client::{call, err, http_client, ok, stdio_client};
use common::server::{StderrLines, http_server_with, llm};
use serde_json::{Value, json};

/// The test's API key: it must never appear in any log line.
const SECRET: &str = "sk-test-0bs3rv4bility-k3y";
/// Text that only reaches the model's prompt (an option's description).
const PROMPT_MARKER: &str = "PROMPT-MARKER-7f3a9c";

/// The value of the sample `name{labels}` in Prometheus text (labels matched as a subset).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| {
            let (series, _) = line.rsplit_once(' ').unwrap_or((line, ""));
            let (series_name, series_labels) = series.split_once('{').unwrap_or((series, ""));
            series_name == name
                && labels
                    .iter()
                    .all(|(k, v)| series_labels.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|line| line.rsplit_once(' '))
        .and_then(|(_, value)| value.parse().ok())
}

async fn get(url: &str, path: &str) -> (reqwest::header::HeaderMap, String) {
    let response = reqwest::get(url.replace("/mcp", path))
        .await
        .expect("the server answers");
    assert_eq!(response.status().as_u16(), 200, "{path}");
    let headers = response.headers().clone();
    (headers, response.text().await.expect("a body"))
}

async fn health(url: &str) -> Value {
    serde_json::from_str(&get(url, "/healthz").await.1).expect("JSON health")
}

fn count(lines: &StderrLines, needle: &str) -> usize {
    lines
        .lock()
        .expect("lines")
        .iter()
        .filter(|line| line.contains(needle))
        .count()
}

#[tokio::test]
async fn metrics_count_exactly_the_calls_made_and_server_stats_agrees() {
    let llm = llm().await;
    let (mut child, url, _) = http_server_with(&llm, &[], &[]).await;
    let (client, _) = http_client(&url).await;

    let started = ok(
        &client,
        "start_decision_analysis",
        json!({"topic": "Pick a database", "options": ["Postgres", "SQLite"],
               "model_backend": "litellm"}),
    )
    .await;
    let id = started["session_id"].as_str().expect("id").to_owned();
    ok(
        &client,
        "add_criterion",
        json!({"session_id": id, "name": "cost", "description": "Total cost"}),
    )
    .await;
    err(
        &client,
        "add_criterion",
        json!({"session_id": id, "name": "speed", "description": "d", "weight": 50}),
    )
    .await;
    ok(
        &client,
        "add_criterion",
        json!({"session_id": id, "name": "speed", "description": "How fast"}),
    )
    .await;
    // One pass, so that the calls made are known exactly.
    let evaluated = ok(
        &client,
        "evaluate_options",
        json!({"session_id": id, "confidence_target": 0}),
    )
    .await;
    assert_eq!(evaluated["summary"]["successful_scores"], 4);
    ok(&client, "get_decision_matrix", json!({"session_id": id})).await;
    let backend_calls = llm.requests().len();
    assert_eq!(backend_calls, 2, "one batched call per criterion");

    let (headers, text) = get(&url, "/metrics").await;
    assert!(
        headers["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{headers:?}"
    );
    let tool = |name: &str, tool: &str| sample(&text, name, &[("tool", tool)]);
    assert_eq!(
        tool("decision_matrix_tool_calls_total", "add_criterion"),
        Some(3.0)
    );
    // The weight of 50 was the client's mistake: counted apart, not as a server error.
    assert_eq!(
        tool("decision_matrix_tool_errors_total", "add_criterion"),
        Some(0.0)
    );
    assert_eq!(
        tool("decision_matrix_tool_client_errors_total", "add_criterion"),
        Some(1.0)
    );
    for single in [
        "start_decision_analysis",
        "evaluate_options",
        "get_decision_matrix",
    ] {
        assert_eq!(
            tool("decision_matrix_tool_calls_total", single),
            Some(1.0),
            "{single}\n{text}"
        );
        assert_eq!(tool("decision_matrix_tool_errors_total", single), Some(0.0));
        assert_eq!(
            tool("decision_matrix_tool_call_duration_seconds_count", single),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "decision_matrix_tool_call_duration_seconds_bucket",
                &[("tool", single), ("le", "+Inf")]
            ),
            Some(1.0)
        );
    }
    assert_eq!(
        tool("decision_matrix_tool_calls_total", "list_sessions"),
        None,
        "tools never called have no series"
    );
    let backend = |name: &str| sample(&text, name, &[("backend", "litellm")]);
    assert_eq!(
        backend("decision_matrix_backend_calls_total"),
        Some(backend_calls as f64)
    );
    assert_eq!(backend("decision_matrix_backend_errors_total"), Some(0.0));
    assert_eq!(backend("decision_matrix_backend_retries_total"), Some(0.0));
    assert_eq!(
        backend("decision_matrix_backend_call_duration_seconds_count"),
        Some(backend_calls as f64)
    );
    // The judge reports 120 tokens in and 40 out per call.
    assert_eq!(
        sample(
            &text,
            "decision_matrix_backend_tokens_total",
            &[("backend", "litellm"), ("direction", "input")]
        ),
        Some(240.0)
    );
    assert_eq!(
        sample(
            &text,
            "decision_matrix_backend_tokens_total",
            &[("backend", "litellm"), ("direction", "output")]
        ),
        Some(80.0)
    );
    assert_eq!(
        sample(
            &text,
            "decision_matrix_backend_circuit_state",
            &[("backend", "litellm"), ("state", "closed")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "decision_matrix_active_sessions", &[]),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "decision_matrix_evaluation_queue_depth", &[]),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "decision_matrix_health_degraded", &[]),
        Some(0.0)
    );
    assert!(
        sample(&text, "decision_matrix_plugin_instance_capacity", &[]).is_some_and(|n| n > 0.0)
            && sample(&text, "decision_matrix_plugin_memory_budget_bytes", &[])
                == Some(1024.0 * 1024.0 * 1024.0)
            && sample(&text, "decision_matrix_plugin_memory_bytes", &[]).is_some()
    );
    assert!(sample(&text, "process_resident_memory_bytes", &[]).is_some_and(|n| n > 0.0));

    // server_stats over HTTP: the same counts, structured and in markdown.
    let stats = ok(&client, "server_stats", json!({})).await;
    assert_eq!(stats["health"]["status"], "ok");
    let add = stats["tools"]
        .as_array()
        .and_then(|tools| tools.iter().find(|t| t["name"] == "add_criterion"))
        .expect("add_criterion listed");
    assert_eq!(
        (
            add["calls"].as_u64(),
            add["errors"].as_u64(),
            add["client_errors"].as_u64()
        ),
        (Some(3), Some(0), Some(1))
    );
    assert!(add["latency"]["p95_ms"].as_f64().is_some(), "{add}");
    let litellm = &stats["backends"][0];
    assert_eq!(litellm["name"], "litellm");
    assert_eq!(litellm["calls"].as_u64(), Some(backend_calls as u64));
    assert_eq!(litellm["circuit"], "closed");
    assert_eq!(stats["sessions"]["active"], 1);
    assert_eq!(stats["window"]["calls"], 6);
    assert_eq!(stats["window"]["errors"], 0);
    assert_eq!(stats["window"]["client_errors"], 1);
    let markdown = stats["formatted_output"].as_str().expect("markdown");
    assert!(markdown.contains("Server Stats: ✅ ok"), "{markdown}");
    assert!(
        markdown.contains("| add_criterion | 3 | 0 | 1 |"),
        "{markdown}"
    );
    client.cancel().await.expect("close");
    child.kill().await.expect("stop the server");
}

#[tokio::test]
async fn server_stats_answers_over_stdio() {
    let llm = llm().await;
    let (client, _) = stdio_client(&llm).await;
    ok(&client, "list_sessions", json!({})).await;
    ok(&client, "list_sessions", json!({})).await;
    let stats = ok(&client, "server_stats", json!({})).await;
    let listed = stats["tools"]
        .as_array()
        .and_then(|tools| tools.iter().find(|t| t["name"] == "list_sessions"))
        .expect("list_sessions listed");
    assert_eq!(listed["calls"], 2);
    assert_eq!(stats["health"]["status"], "ok");
    assert_eq!(stats["sessions"]["max"], 100);
    assert!(
        stats["plugins"]["backends"]
            .as_u64()
            .is_some_and(|n| n >= 3)
    );
    assert!(
        stats["formatted_output"]
            .as_str()
            .is_some_and(|m| m.contains("## Tools")),
        "{stats:?}"
    );
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn health_degrades_with_the_reason_and_warns_once_per_episode() {
    let llm = llm().await;
    // 2 sessions of 100 cross a 1 % threshold; the background check runs every second.
    let (mut child, url, lines) = http_server_with(
        &llm,
        &[],
        &[
            ("DMM_ALERT_SESSION_CAPACITY_PERCENT", "1"),
            ("DMM_ALERT_CHECK_INTERVAL_SECONDS", "1"),
            ("LOG_LEVEL", "info"),
        ],
    )
    .await;
    let (client, _) = http_client(&url).await;
    assert_eq!(health(&url).await["status"], "ok");
    let start = json!({"topic": "t", "options": ["a", "b"], "model_backend": "litellm"});
    for _ in 0..2 {
        ok(&client, "start_decision_analysis", start.clone()).await;
    }
    let degraded = health(&url).await;
    assert_eq!(degraded["status"], "degraded", "{degraded}");
    assert_eq!(
        degraded["reasons"],
        json!(["2 of 100 sessions in use (2.0 %, threshold 1 %)"])
    );
    assert_eq!(degraded["alerts"][0]["alert"], "session_capacity");
    assert_eq!(degraded["active_sessions"], 2);
    // Read again and again, and let the background check run a few times: one warning.
    for _ in 0..5 {
        assert_eq!(health(&url).await["status"], "degraded");
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let metrics = get(&url, "/metrics").await.1;
    assert_eq!(
        sample(
            &metrics,
            "decision_matrix_alert_firing",
            &[("alert", "session_capacity")]
        ),
        Some(1.0)
    );
    assert_eq!(count(&lines, "health degraded"), 1, "{:?}", lines.lock());

    // Recovery, then a new episode: a second warning.
    ok(&client, "clear_all_sessions", json!({})).await;
    assert_eq!(health(&url).await["status"], "ok");
    assert_eq!(count(&lines, "alert recovered"), 1);
    for _ in 0..2 {
        ok(&client, "start_decision_analysis", start.clone()).await;
    }
    assert_eq!(health(&url).await["status"], "degraded");
    assert_eq!(count(&lines, "health degraded"), 2);
    client.cancel().await.expect("close");
    child.kill().await.expect("stop the server");
}

/// Two bad arguments in 32 calls (6 %, over the 5 % error-rate threshold) once turned
/// health degraded: they are the client's mistakes, counted apart, and health stays ok.
#[tokio::test]
async fn a_clients_invalid_arguments_are_counted_apart_and_leave_health_ok() {
    let llm = llm().await;
    let (mut child, url, _) = http_server_with(&llm, &[], &[]).await;
    let (client, _) = http_client(&url).await;
    let started = ok(
        &client,
        "start_decision_analysis",
        json!({"topic": "t", "options": ["a", "b"], "model_backend": "litellm"}),
    )
    .await;
    let id = &started["session_id"];
    for _ in 0..29 {
        ok(&client, "list_sessions", json!({})).await;
    }
    // Out of range, and not a number at all.
    for weight in [json!(50), json!("heavy")] {
        let result = call(
            &client,
            "add_criterion",
            json!({"session_id": id, "name": "c", "description": "d", "weight": weight}),
        )
        .await;
        assert_eq!(result.is_error, Some(true), "{result:?}");
    }
    let health = health(&url).await;
    assert_eq!(health["status"], "ok", "{health}");
    let metrics = get(&url, "/metrics").await.1;
    let add = [("tool", "add_criterion")];
    assert_eq!(
        sample(&metrics, "decision_matrix_tool_client_errors_total", &add),
        Some(2.0)
    );
    assert_eq!(
        sample(&metrics, "decision_matrix_tool_errors_total", &add),
        Some(0.0)
    );
    assert_eq!(
        sample(&metrics, "decision_matrix_window_error_ratio", &[]),
        Some(0.0)
    );
    let stats = ok(&client, "server_stats", json!({})).await;
    assert_eq!(
        (
            &stats["window"]["calls"],
            &stats["window"]["errors"],
            &stats["window"]["client_errors"]
        ),
        (&json!(32), &json!(0), &json!(2))
    );
    client.cancel().await.expect("close");
    child.kill().await.expect("stop the server");
}

/// Text logs read by a pipe, a file or a collector carry no colour escape codes.
#[tokio::test]
async fn text_logs_have_no_colour_codes_when_stderr_is_not_a_terminal() {
    let llm = llm().await;
    // The lines up to "listening on" are read before the server is handed over.
    let (mut child, _, lines) = http_server_with(&llm, &[], &[("LOG_LEVEL", "info")]).await;
    child.kill().await.expect("stop the server");
    let lines = lines.lock().expect("lines");
    let opened = lines
        .iter()
        .find(|line| line.contains("session store opened"))
        .unwrap_or_else(|| panic!("an info line at start-up: {lines:?}"));
    assert!(opened.contains(" INFO "), "{opened:?}");
    let coloured: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains('\u{1b}'))
        .collect();
    assert!(coloured.is_empty(), "{coloured:?}");
}

/// Runs a small evaluation on a server logging JSON at debug level; returns its stderr.
async fn json_logged_evaluation(log_prompts: bool) -> (Vec<String>, String) {
    let llm = llm().await;
    let (mut child, url, lines) = http_server_with(
        &llm,
        &["--log-format", "json"],
        &[
            ("LOG_LEVEL", "debug"),
            ("LITELLM_API_KEY", SECRET),
            (
                "DMM_LOG_PROMPTS",
                if log_prompts { "true" } else { "false" },
            ),
        ],
    )
    .await;
    let (client, _) = http_client(&url).await;
    let started = ok(
        &client,
        "start_decision_analysis",
        json!({"topic": "Pick a database", "options": ["Postgres", "SQLite"],
               "model_backend": "litellm",
               "initial_criteria": [{"name": "cost", "description": "Total cost"}]}),
    )
    .await;
    let id = started["session_id"].as_str().expect("id").to_owned();
    ok(
        &client,
        "add_option",
        json!({"session_id": id, "option_name": "Redis", "description": PROMPT_MARKER}),
    )
    .await;
    ok(&client, "evaluate_options", json!({"session_id": id})).await;
    client.cancel().await.expect("close");
    child.kill().await.expect("stop the server");
    let _ = child.wait().await;
    let lines = lines.lock().expect("lines").clone();
    (lines, id)
}

/// The spans of JSON log lines, by name.
fn spans<'a>(entries: &'a [Value], name: &str) -> Vec<&'a Value> {
    entries
        .iter()
        .filter_map(|entry| entry["spans"].as_array())
        .flatten()
        .filter(|span| span["name"] == name)
        .collect()
}

#[tokio::test]
async fn json_logs_carry_the_spans_but_no_secret_and_no_prompt() {
    let (lines, id) = json_logged_evaluation(false).await;
    // Every line is a JSON object, except the one that announces the address.
    let entries: Vec<Value> = lines
        .iter()
        .filter(|line| !line.starts_with("listening on "))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    assert!(
        entries
            .iter()
            .all(|e| e["level"].is_string() && e["fields"].is_object())
    );
    let tool_calls = spans(&entries, "tool_call");
    assert!(
        tool_calls
            .iter()
            .any(|s| s["tool"] == "evaluate_options" && s["session_id"] == id.as_str()),
        "{tool_calls:?}"
    );
    let backend_calls = spans(&entries, "backend_call");
    let call = backend_calls
        .iter()
        .find(|s| s["criterion"] == "cost")
        .unwrap_or_else(|| panic!("a backend_call span: {lines:?}"));
    assert_eq!(call["session_id"], id.as_str());
    assert_eq!(call["backend"], "litellm");
    assert!(call["model"].is_string(), "{call}");
    let all = lines.join("\n");
    assert!(!all.contains(SECRET), "the API key leaked");
    assert!(!all.contains(PROMPT_MARKER), "a prompt was logged");
}

#[tokio::test]
async fn prompts_are_logged_only_when_switched_on_and_never_the_secret() {
    let (lines, _) = json_logged_evaluation(true).await;
    let all = lines.join("\n");
    assert!(all.contains(PROMPT_MARKER), "the prompt is logged at debug");
    assert!(all.contains("backend prompt"));
    assert!(!all.contains(SECRET), "the API key leaked");
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_set_and_health_never_does() {
    let llm = llm().await;
    let (mut child, url, _) = http_server_with(&llm, &["--auth-token", "s3cret-token"], &[]).await;
    let http = reqwest::Client::new();
    let status = async |path: &str, token: Option<&str>| {
        let mut request = http.get(url.replace("/mcp", path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("sent").status().as_u16()
    };
    assert_eq!(status("/metrics", None).await, 401);
    assert_eq!(status("/metrics", Some("wrong-token!")).await, 401);
    assert_eq!(status("/metrics", Some("s3cret-token")).await, 200);
    assert_eq!(status("/healthz", None).await, 200);
    child.kill().await.expect("stop the server");
}
