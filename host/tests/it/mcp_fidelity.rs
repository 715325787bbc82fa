//! What a client of the Python reference server reads, read from the built server: counts a
//! client compares, timestamps Python 3.10 parses, the reference server's result for a
//! matrix that cannot be made yet, its error for a bad initial criterion, and its
//! `DMM_ENVIRONMENT` limits.

use crate::common;

use common::client::{call, err, http_client, ok};
use common::server::{http_server_with, llm};
use serde_json::{Value, json};

/// Whether `text` is a timestamp in the reference server's form, which Python 3.10's
/// `datetime.fromisoformat` reads: `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` (before 3.11 it takes
/// neither `Z` nor more than 6 fractional digits).
fn python_iso(text: &str) -> bool {
    let shape: String = text
        .chars()
        .take(26)
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    shape == "dddd-dd-ddTdd:dd:dd.dddddd" && text.get(26..) == Some("+00:00")
}

#[test]
fn the_timestamp_check_knows_what_python_3_10_refuses() {
    assert!(python_iso("2026-12-06T23:40:00.616448+00:00"));
    assert!(!python_iso("2026-12-06T23:40:00.616448907Z"));
    assert!(!python_iso("2026-12-06T23:40:00.616448907+00:00"));
    assert!(!python_iso("2026-12-06T23:40:00Z"));
}

fn assert_python_iso(what: &str, value: &Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("{what}: {value}"));
    assert!(python_iso(text), "{what}: {text}");
}

const OPTIONS: [&str; 3] = ["Postgres", "SQLite", "DynamoDB"];

/// A second `evaluate_options` on an unchanged session computes nothing, and still reads
/// as the full success it is to a client checking `successful_scores == total_evaluations`.
#[tokio::test]
async fn a_second_evaluation_reports_every_cell_scored_and_none_computed() {
    let llm = llm().await;
    let (_server, url, _) = http_server_with(&llm, &[], &[]).await;
    let (client, _) = http_client(&url).await;
    let started = ok(
        &client,
        "start_decision_analysis",
        json!({"topic": "Pick a database", "options": OPTIONS, "model_backend": "litellm",
               "initial_criteria": [
                   {"name": "cost", "description": "Total cost of ownership"},
                   {"name": "latency", "description": "Read latency", "weight": 2}]}),
    )
    .await;
    let session = json!({"session_id": started["session_id"]});
    let first = ok(&client, "evaluate_options", session.clone()).await;
    let again = ok(&client, "evaluate_options", session.clone()).await;
    for (run, summary, computed, reused) in
        [(1, &first["summary"], 6, 0), (2, &again["summary"], 0, 6)]
    {
        assert_eq!(summary["total_evaluations"], 6, "{run}: {summary}");
        assert_eq!(summary["successful_scores"], 6, "{run}: {summary}");
        assert_eq!(
            (&summary["abstentions"], &summary["errors"]),
            (&json!(0), &json!(0)),
            "{run}: {summary}"
        );
        assert_eq!(summary["cells_computed"], computed, "{run}: {summary}");
        assert_eq!(summary["cells_reused"], reused, "{run}: {summary}");
    }
    assert_eq!(again["evaluation_complete"], true);
    client.cancel().await.expect("close");
}

/// The matrix before any criterion is the reference server's normal result saying what is
/// missing; `last_cleanup` is a timestamp even before the first sweep; a bad initial
/// criterion is named, and leaves no session behind.
#[tokio::test]
async fn results_have_the_reference_servers_shapes() {
    let llm = llm().await;
    let (_server, url, _) = http_server_with(&llm, &[], &[]).await;
    let (client, _) = http_client(&url).await;

    let bad = err(
        &client,
        "start_decision_analysis",
        json!({"topic": "Pick a database", "options": OPTIONS,
               "initial_criteria": [{"name": "c", "description": "d", "weight": 11}]}),
    )
    .await;
    assert_eq!(bad, "Invalid weight: must be between 0.1 and 10.0 for 'c'");
    let listed = ok(&client, "list_sessions", json!({})).await;
    assert_eq!(listed["total_active"], 0, "no session left behind");
    assert!(
        listed["stats"]["last_cleanup"].is_string(),
        "{}",
        listed["stats"]
    );

    let started = ok(
        &client,
        "start_decision_analysis",
        json!({"topic": "Pick a database", "options": OPTIONS, "model_backend": "litellm"}),
    )
    .await;
    let id = started["session_id"].as_str().expect("id").to_owned();
    let lacking = ok(&client, "get_decision_matrix", json!({"session_id": id})).await;
    let keys: Vec<&str> = lacking.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "session_id",
            "topic",
            "error",
            "status",
            "has_options",
            "has_criteria",
            "options_count",
            "criteria_count",
            "next_steps",
            "formatted_output"
        ]
    );
    assert_eq!(
        Value::Object(lacking.clone()),
        json!({
            "session_id": id,
            "topic": "Pick a database",
            "error": "Need both options and criteria to generate matrix",
            "status": "insufficient_data",
            "has_options": true,
            "has_criteria": false,
            "options_count": 3,
            "criteria_count": 0,
            "next_steps": [null, "Add evaluation criteria", "Run evaluation", "Generate matrix"],
            "formatted_output": lacking["formatted_output"],
        })
    );
    client.cancel().await.expect("close");
}

/// Every timestamp a client is given parses with Python 3.10's `fromisoformat`.
#[tokio::test]
async fn every_timestamp_is_in_the_python_servers_form() {
    let llm = llm().await;
    let (_server, url, _) = http_server_with(&llm, &[], &[]).await;
    let (client, _) = http_client(&url).await;

    let bad = call(
        &client,
        "get_decision_matrix",
        json!({"session_id": "nope"}),
    )
    .await;
    let error = Value::Object(common::client::dict(&bad));
    assert_python_iso("error timestamp", &error["timestamp"]);
    let listed = ok(&client, "list_sessions", json!({})).await;
    assert_python_iso(
        "last_cleanup before any sweep",
        &listed["stats"]["last_cleanup"],
    );

    let started = ok(
        &client,
        "start_decision_analysis",
        json!({"topic": "Pick a database", "options": OPTIONS, "model_backend": "litellm",
               "initial_criteria": [{"name": "cost", "description": "Total cost"}]}),
    )
    .await;
    let id = started["session_id"].as_str().expect("id").to_owned();
    ok(&client, "evaluate_options", json!({"session_id": id})).await;
    let matrix = ok(&client, "get_decision_matrix", json!({"session_id": id})).await;
    assert_python_iso("evaluation_timestamp", &matrix["evaluation_timestamp"]);
    assert_python_iso(
        "session_info.created_at",
        &matrix["session_info"]["created_at"],
    );
    let exported = ok(
        &client,
        "export_matrix",
        json!({"session_id": id, "format": "json"}),
    )
    .await;
    let document: Value =
        serde_json::from_str(exported["content"].as_str().expect("content")).expect("JSON");
    assert_python_iso(
        "exported evaluation_timestamp",
        &document["evaluation_timestamp"],
    );
    assert_python_iso(
        "exported created_at",
        &document["session_info"]["created_at"],
    );
    let listed = ok(&client, "list_sessions", json!({})).await;
    assert_python_iso(
        "list_sessions created_at",
        &listed["sessions"][0]["created_at"],
    );
    assert_python_iso("last_cleanup", &listed["stats"]["last_cleanup"]);
    let current = ok(&client, "current_session", json!({})).await;
    assert_python_iso("current_session created_at", &current["created_at"]);
    let cleared = ok(&client, "clear_all_sessions", json!({})).await;
    assert_python_iso(
        "clear_all_sessions last_cleanup",
        &cleared["stats"]["last_cleanup"],
    );
    client.cancel().await.expect("close");
}

/// `DMM_ENVIRONMENT=development` holds sessions to 10 options and 20 sessions alive, as the
/// reference server's development environment does; a variable set explicitly still wins.
#[tokio::test]
async fn the_development_environment_allows_10_options_and_20_sessions() {
    let llm = llm().await;
    let env = [("DMM_ENVIRONMENT", "development")];
    let (_server, url, _) = http_server_with(&llm, &[], &env).await;
    let (client, _) = http_client(&url).await;
    let options = |count: usize| -> Vec<String> { (1..=count).map(|n| format!("o{n}")).collect() };
    let too_many = err(
        &client,
        "start_decision_analysis",
        json!({"topic": "t", "options": options(11)}),
    )
    .await;
    assert_eq!(
        too_many,
        "Too many options (max 10). Consider grouping similar options."
    );
    for _ in 0..21 {
        ok(
            &client,
            "start_decision_analysis",
            json!({"topic": "t", "options": options(10)}),
        )
        .await;
    }
    let listed = ok(&client, "list_sessions", json!({})).await;
    assert_eq!(listed["total_active"], 20, "{}", listed["stats"]);
    client.cancel().await.expect("close");

    let explicit = [
        ("DMM_ENVIRONMENT", "development"),
        ("DMM_MAX_OPTIONS_ALLOWED", "12"),
    ];
    let (_server, url, _) = http_server_with(&llm, &[], &explicit).await;
    let (client, _) = http_client(&url).await;
    ok(
        &client,
        "start_decision_analysis",
        json!({"topic": "t", "options": options(12)}),
    )
    .await;
    client.cancel().await.expect("close");
}
