//! `decision-matrix evaluate FILE`, run as a user would: a decision file in each format, the
//! litellm plugin scoring against a loopback judge, the table and the JSON checked against
//! the judge, and the exit codes for failures and bad files.

use crate::common;

use std::path::Path;
use std::process::Output;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use common::server::{llm, server_env};
use decision_matrix_testkit::{MockServer, judge};
use serde_json::Value;

const DECISION: &str = r#"
topic = "Pick a database"
backend = "litellm"
options = ["Postgres", { name = "SQLite", description = "Embedded" }, "DynamoDB"]

[[criteria]]
name = "cost"
description = "Total cost of ownership"
weight = 3.0

[[criteria]]
name = "latency"
description = "Query latency"
"#;

async fn run(llm: &MockServer, dir: &Path, name: &str, text: &str, args: &[&str]) -> Output {
    let file = dir.join(name);
    std::fs::write(&file, text).expect("write the decision");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_decision-matrix"));
    command.arg("evaluate").arg(&file).args(args);
    server_env(&mut command, llm);
    command.output().await.expect("run decision-matrix")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_decision_file_is_scored_ranked_and_printed() {
    let llm = llm().await;
    let dir = tempfile::tempdir().expect("tempdir");

    let out = run(&llm, dir.path(), "db.toml", DECISION, &[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = stdout(&out);

    let out = run(&llm, dir.path(), "again.toml", DECISION, &[]).await;
    assert_eq!(
        stdout(&out),
        table,
        "the same decision prints the same table"
    );

    let yaml = "topic: Pick a database\nbackend: litellm\noptions:\n  - Postgres\n  - name: SQLite\n    description: Embedded\n  - DynamoDB\ncriteria:\n  - {name: cost, description: Total cost of ownership, weight: 3.0}\n  - {name: latency, description: Query latency}\n";
    let out = run(&llm, dir.path(), "db.yaml", yaml, &["--json"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let document: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let matrix = &document["matrix"];
    for option in ["Postgres", "SQLite", "DynamoDB"] {
        for criterion in ["cost", "latency"] {
            assert_eq!(
                matrix["matrix"][option][criterion]["raw_score"].as_f64(),
                Some(judge::expected_score(criterion, option)),
                "{option} / {criterion}"
            );
        }
    }
    assert_eq!(document["evaluation"]["evaluation_complete"], true);
    assert!(document["matrix"].get("formatted_output").is_none());

    // The table lists the options in the JSON's ranking order, with the judge's scores.
    let ranked: Vec<&str> = matrix["rankings"]
        .as_array()
        .expect("rankings")
        .iter()
        .filter_map(|r| r["option"].as_str())
        .collect();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "Pick a database");
    assert!(
        lines[2].starts_with("#  option    total  P(best)  ranks"),
        "{table}"
    );
    for (row, option) in lines[3..6].iter().zip(&ranked) {
        let columns: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(columns[1], *option, "{table}");
        let probability = columns[3].parse::<f64>().expect("a probability");
        assert!((0.0..=1.0).contains(&probability), "{table}");
        let cost = judge::expected_score("cost", option);
        assert_eq!(columns[5].parse::<f64>().ok(), Some(cost), "{table}");
    }
    // The verdict and the evidence behind it follow the recommendation.
    assert!(
        table.contains("is the clear winner: best with probability"),
        "{table}"
    );
    assert!(table.contains("judges' agreement"), "{table}");
}

/// The judge, except that every prompt about `latency` fails with a server error.
async fn failing_latency(Json(body): Json<Value>) -> Response {
    let (system, _) = judge::openai_prompt(&body);
    if judge::criterion_of(&system) == "latency" {
        return (StatusCode::INTERNAL_SERVER_ERROR, "upstream down").into_response();
    }
    Json(judge::openai_answer(&body)).into_response()
}

#[tokio::test]
async fn failed_cells_exit_1_and_bad_files_exit_2_saying_why() {
    let llm =
        MockServer::start(axum::Router::new().route("/v1/chat/completions", post(failing_latency)))
            .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        &llm,
        dir.path(),
        "db.toml",
        DECISION,
        &["--set", "evaluation.retry_attempts=1"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let table = stdout(&out);
    assert!(table.contains("failed"), "{table}");
    assert!(
        table.contains("Postgres"),
        "the scored cells are still shown: {table}"
    );

    let calls_before_bad_files = llm.requests().len();
    let bad_weight = DECISION.replace("weight = 3.0", "weight = 30.0");
    let out = run(&llm, dir.path(), "heavy.toml", &bad_weight, &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("weight"), "{stderr}");
    assert!(out.stdout.is_empty());

    let out = run(
        &llm,
        dir.path(),
        "typo.toml",
        &DECISION.replace("topic", "topc"),
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown field `topc`"), "{stderr}");
    assert_eq!(
        llm.requests().len(),
        calls_before_bad_files,
        "bad files are refused before any call"
    );
}

/// The steering flags reach the evaluation: a fixed number of judgments per cell, or one
/// pass; a bad value exits 2 saying what is allowed, before anything is evaluated.
#[tokio::test]
async fn steering_flags_set_how_often_each_cell_is_judged() {
    let llm = llm().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        &llm,
        dir.path(),
        "db.toml",
        DECISION,
        &["--json", "--replicates", "2"],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let document: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        document["evaluation"]["adaptive"]["stopped"],
        "replicates_done"
    );
    assert_eq!(document["matrix"]["matrix"]["SQLite"]["cost"]["samples"], 2);

    let out = run(
        &llm,
        dir.path(),
        "db.toml",
        DECISION,
        &["--json", "--confidence-target", "0"],
    )
    .await;
    let document: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(document["evaluation"]["adaptive"]["stopped"], "single_pass");

    let out = run(&llm, dir.path(), "db.toml", DECISION, &["--max-calls", "0"]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("max_calls 0 is out of range; allowed: 1 to 1000"),
        "{stderr}"
    );
}
