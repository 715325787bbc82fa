//! The MCP server driven by the official MCP Python SDK client, a client that shares no code
//! with rmcp: `tests/python/mcp_client.py` runs the reference workflow against the built
//! `decision-matrix serve` binary over stdio and over streamable HTTP, with both of the
//! SDK's ways to connect (the 2026 `server/discover` probe and the older `initialize`
//! handshake), and prints what it saw; every score is checked here against the judge. The
//! script also validates every successful result against its tool's `outputSchema`, and
//! checks the shapes and types a client of the Python server reads, timestamps by the rules
//! of Python 3.10's `datetime.fromisoformat`.
//!
//! It needs a Python with the SDK version pinned in `tests/python/requirements.txt`: the one in
//! `DMM_TEST_PYTHON`, else `target/pyenv/bin/python` in the repository (README, Test).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::repo_root;
use common::server::{REFERENCE_TOOLS, http_server, llm, server_env};
use decision_matrix_testkit::{MockServer, judge};
use serde_json::{Value, json};

/// The options and weighted criteria `mcp_client.py` sets up, in its order.
const OPTIONS: [&str; 4] = ["Postgres", "SQLite", "DynamoDB", "Redis"];
const CRITERIA: [(&str, f64); 2] = [("cost", 2.0), ("latency", 1.5)];

/// The tools whose results `mcp_client.py` validates against their output schemas: every
/// tool it calls and expects to succeed.
const VALIDATED: [&str; 7] = [
    "add_criterion",
    "add_option",
    "current_session",
    "evaluate_options",
    "get_decision_matrix",
    "list_sessions",
    "start_decision_analysis",
];

/// Longer than the script's own bound, so a hung run reports the script's timeout.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

fn setup_hint() -> String {
    format!(
        "these tests need a Python with the official MCP SDK pinned in \
         tests/python/requirements.txt; in {} run\n  \
         python3 -m venv target/pyenv && target/pyenv/bin/pip install -r tests/python/requirements.txt\n\
         (on Debian, `apt-get install python3-venv` first if venv is missing), or set \
         DMM_TEST_PYTHON to a Python that has it",
        repo_root().display()
    )
}

/// `DMM_TEST_PYTHON`, else the repository's `target/pyenv`; a missing one fails the test,
/// since skipping would pass without having checked anything.
fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("DMM_TEST_PYTHON") {
        return python.into();
    }
    let venv = repo_root().join("target/pyenv/bin/python");
    assert!(
        venv.exists(),
        "no Python for the SDK tests at {}: {}",
        venv.display(),
        setup_hint()
    );
    venv
}

/// The SDK version `requirements.txt` pins.
fn pinned_sdk() -> String {
    let path = repo_root().join("tests/python/requirements.txt");
    let requirements = std::fs::read_to_string(&path).expect("tests/python/requirements.txt");
    requirements
        .lines()
        .find_map(|line| line.trim().strip_prefix("mcp=="))
        .expect("requirements.txt pins mcp==VERSION")
        .to_owned()
}

/// Prints the installed SDK's version, or says in one line that there is none.
const SDK_VERSION: &str = "import importlib.metadata as m
try:
    print(m.version('mcp'))
except m.PackageNotFoundError:
    raise SystemExit('the package mcp is not installed')";

/// Fails with the setup instructions unless `python` has exactly the pinned SDK.
async fn check_sdk(python: &Path) {
    let mut command = tokio::process::Command::new(python);
    command
        .args(["-c", SDK_VERSION])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("Python answers within a minute")
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {}", python.display(), setup_hint()));
    let installed = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        output.status.success(),
        "{} has no MCP SDK ({}); {}",
        python.display(),
        String::from_utf8_lossy(&output.stderr).trim(),
        setup_hint()
    );
    let pinned = pinned_sdk();
    assert_eq!(
        installed,
        pinned,
        "{} has mcp {installed}, not the pinned {pinned}; {}",
        python.display(),
        setup_hint()
    );
}

/// Runs `mcp_client.py` with `args` and returns the JSON object it printed.
async fn run_client(python: &Path, llm: &MockServer, args: &[&str]) -> Value {
    let script = repo_root().join("tests/python/mcp_client.py");
    let mut command = tokio::process::Command::new(python);
    command
        .arg(&script)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Over stdio the script starts the server and hands it its own environment.
    server_env(&mut command, llm);
    let output = tokio::time::timeout(RUN_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("mcp_client.py {args:?} did not finish in {RUN_TIMEOUT:?}"))
        .expect("Python starts");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "mcp_client.py {args:?} failed ({}):\n{stderr}",
        output.status
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "mcp_client.py {args:?} printed no JSON object ({e}):\n{}\n{stderr}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Checks one run against the judge; returns the parts of its matrix that every run shares
/// (not the session id, timestamps or markdown).
fn check_run(label: &str, saw: &Value) -> Value {
    let tools: Vec<&str> = saw["tools"]
        .as_array()
        .expect("tool names")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for tool in REFERENCE_TOOLS {
        assert!(
            tools.contains(&tool),
            "{label}: {tool} missing from {tools:?}"
        );
    }
    assert_eq!(saw["validated"], json!(VALIDATED), "{label}");
    let weight = &saw["weight_schema"];
    assert_eq!(
        (weight["minimum"].as_f64(), weight["maximum"].as_f64()),
        (Some(0.1), Some(10.0)),
        "{label}"
    );

    let matrix = &saw["matrix"];
    let cells = matrix["matrix"].as_object().expect("matrix cells");
    assert_eq!(cells.len(), OPTIONS.len(), "{label}: {cells:?}");
    let weights: f64 = CRITERIA.iter().map(|(_, weight)| weight).sum();
    let mut expected_totals = Vec::new();
    for option in OPTIONS {
        let row = cells[option].as_object().expect("a row per option");
        assert_eq!(row.len(), CRITERIA.len(), "{label}: {option}: {row:?}");
        let mut total = 0.0;
        for (criterion, weight) in CRITERIA {
            let cell = &row[criterion];
            let expected = judge::expected_score(criterion, option);
            assert_eq!(
                cell["raw_score"],
                json!(expected),
                "{label}: {option}/{criterion}: {cell}"
            );
            assert_eq!(
                cell["justification"],
                judge::expected_justification(criterion, option),
                "{label}"
            );
            assert_eq!(cell["status"], "scored", "{label}: {option}/{criterion}");
            total += expected * weight;
        }
        expected_totals.push((option, total / weights));
    }
    expected_totals.sort_by(|a, b| b.1.total_cmp(&a.1));
    assert!(
        expected_totals.windows(2).all(|pair| pair[0].1 > pair[1].1),
        "the judge's totals tie, so the ranking order would be ambiguous: {expected_totals:?}"
    );
    let rankings = matrix["rankings"].as_array().expect("rankings");
    let ranked: Vec<(&str, f64, u64)> = rankings
        .iter()
        .map(|r| {
            (
                r["option"].as_str().expect("option"),
                r["weighted_total"].as_f64().expect("total"),
                r["rank"].as_u64().expect("rank"),
            )
        })
        .collect();
    assert_eq!(ranked.len(), expected_totals.len(), "{label}: {ranked:?}");
    for (place, ((option, total, rank), (expected_option, expected_total))) in
        ranked.iter().zip(&expected_totals).enumerate()
    {
        assert_eq!(option, expected_option, "{label}: rankings {ranked:?}");
        assert!(
            (total - expected_total).abs() < 1e-9,
            "{label}: {option}: {total} vs {expected_total}"
        );
        assert_eq!(*rank, place as u64 + 1, "{label}: {ranked:?}");
    }
    assert!(
        matrix["recommendation"]
            .as_str()
            .is_some_and(|r| r.contains(expected_totals[0].0)),
        "{label}: {}",
        matrix["recommendation"]
    );

    // A notification per finished cell, in order: the first pass's cells, then each
    // replicate round's judgments, the total growing as each round is planned, ending with
    // everything done.
    let progress: Vec<(f64, Option<f64>)> = saw["progress"]
        .as_array()
        .expect("progress")
        .iter()
        .map(|p| (p[0].as_f64().expect("progress"), p[1].as_f64()))
        .collect();
    crate::common::assert_honest_progress(&progress, OPTIONS.len() * CRITERIA.len(), label);

    assert_eq!(saw["sessions"]["total_active"], 1, "{label}");
    // The reference server's shapes, which the script checked in detail (types and
    // timestamps included): the matrix before criteria, a second evaluation of an unchanged
    // session, the error of a bad initial criterion.
    assert_eq!(saw["lacking"]["status"], "insufficient_data", "{label}");
    let again = &saw["second_evaluation"]["summary"];
    assert_eq!(
        (&again["successful_scores"], &again["total_evaluations"]),
        (
            &json!(OPTIONS.len() * CRITERIA.len()),
            &json!(OPTIONS.len() * CRITERIA.len())
        ),
        "{label}: {again}"
    );
    assert_eq!(
        saw["initial_criterion_error"], "Invalid weight: must be between 0.1 and 10.0 for 'speed'",
        "{label}"
    );
    assert_eq!(
        saw["error"], "Invalid weight: must be between 0.1 and 10.0",
        "{label}"
    );

    let mut shared = matrix.clone();
    let shared_keys = shared.as_object_mut().expect("matrix object");
    for key in [
        "session_id",
        "evaluation_timestamp",
        "session_info",
        "formatted_output",
    ] {
        shared_keys.remove(key);
    }
    shared
}

#[tokio::test]
async fn the_official_python_sdk_gets_the_same_results_over_stdio_and_http() {
    let python = python();
    check_sdk(&python).await;
    let llm = llm().await;

    let mut matrices = Vec::new();
    let mut reported = 0u64;
    let mut versions = Vec::new();
    for mode in ["auto", "legacy"] {
        for transport in ["--stdio", "--http"] {
            // Decision sessions outlive an HTTP client's MCP session, so every run gets a
            // server of its own, as over stdio, and sees only its own session.
            let mut http = None;
            let target = if transport == "--http" {
                let (child, url) = http_server(&llm, &[]).await;
                http = Some(child);
                url
            } else {
                env!("CARGO_BIN_EXE_decision-matrix").to_owned()
            };
            let label = format!("{transport} --mode {mode}");
            let mut args = vec![transport, &target, "--mode", mode];
            for tool in REFERENCE_TOOLS {
                args.extend(["--expect-tool", tool]);
            }
            let saw = run_client(&python, &llm, &args).await;
            if let Some(mut child) = http {
                child.kill().await.expect("stop the server");
            }
            reported += ["evaluated", "second_evaluation"]
                .iter()
                .map(|e| saw[e]["summary"]["llm_calls"].as_u64().expect("llm_calls"))
                .sum::<u64>();
            matrices.push((label.clone(), check_run(&label, &saw)));
            versions.push((label, saw["protocol_version"].clone()));
        }
    }

    let (first_label, first) = &matrices[0];
    for (label, matrix) in &matrices[1..] {
        assert_eq!(matrix, first, "{label} and {first_label} differ");
    }
    // Each mode negotiates the same version on both transports, and the probe finds a newer
    // protocol than the handshake: otherwise the SDK fell back and the 2026 path went untested.
    assert_eq!(versions[0].1, versions[1].1, "{versions:?}");
    assert_eq!(versions[2].1, versions[3].1, "{versions:?}");
    assert_ne!(versions[0].1, versions[2].1, "{versions:?}");
    // Every call the evaluations reported reached the model, and no other did.
    assert_eq!(llm.requests().len() as u64, reported);
}
