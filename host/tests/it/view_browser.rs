//! The decision view in a real browser: headless Chromium (Debian's `chromium`) renders the
//! view inside a small test host page that plays the MCP Apps host's side of the bridge
//! (`tests/view/host.html`: initialisation, the tool result, `tools/call` answered by this
//! server over HTTP). `tests/view/drive.mjs` checks, against the server's own answers:
//!
//! - the server advertises the view, links it from the three tools, and serves it;
//! - every cell and the ranking render as the matrix says, in light and dark themes, with no
//!   console error;
//! - moving a weight slider by keyboard past the weight that changes the winner makes a
//!   what-if `analyze_sensitivity` call and redraws the ranking as the server ranked it;
//! - "Apply weights" by keyboard saves the weight with `update_criterion` and redraws from
//!   the new matrix;
//! - the standalone HTML report (checked by an HTML parser for parse errors as well) and the
//!   SVG chart render the same numbers, offline.
//!
//! It saves screenshots in `target/view-test/` (the README's come from there).
//!
//! It needs Node 20 or later (`DMM_TEST_NODE`), the packages `npm ci --prefix tests/view
//! --ignore-scripts` installs, and Chromium (`DMM_TEST_CHROMIUM`, else `/usr/bin/chromium`).

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use common::client::{http_client, ok};
use common::repo_root;
use common::server::{http_server, llm};
use serde_json::{Value, json};

/// A run takes about 5 s; its own watchdog ends it after 180 s.
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

fn setup_hint() -> String {
    format!(
        "the browser test of the decision view needs Node 20 or later, the packages pinned in \
         tests/view and Chromium; in {} run\n  npm ci --prefix tests/view --ignore-scripts\n\
         and install Chromium (Debian: `apt-get install chromium`; DMM_TEST_CHROMIUM may name \
         another binary, DMM_TEST_NODE another node)",
        repo_root().display()
    )
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("DMM_TEST_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(path.exists(), "no {}: {}", path.display(), setup_hint());
    path
}

#[tokio::test]
async fn the_view_renders_the_matrix_and_steers_it_in_chromium() {
    let node = common::node::node(20, &setup_hint()).await;
    let chromium = chromium();
    assert!(
        repo_root()
            .join("tests/view/node_modules/playwright-core")
            .is_dir(),
        "{}",
        setup_hint()
    );

    let llm = llm().await;
    let (_server, url) = http_server(&llm, &[]).await;
    let (client, _) = http_client(&url).await;
    let started = ok(
        &client,
        "start_decision_analysis",
        json!({
            "topic": "Pick a database for the analytics service",
            "options": ["Postgres", "SQLite", "DynamoDB", "ClickHouse"],
            "model_backend": "litellm",
            "initial_criteria": [
                {"name": "cost", "description": "Total cost of ownership", "weight": 3.0},
                {"name": "latency", "description": "Query latency", "weight": 1.0},
                {"name": "operations", "description": "Effort to run it", "weight": 2.0},
            ],
        }),
    )
    .await;
    let session = started["session_id"].as_str().expect("id").to_owned();
    ok(&client, "evaluate_options", json!({"session_id": session})).await;
    let before = ok(
        &client,
        "get_decision_matrix",
        json!({"session_id": session}),
    )
    .await;

    let out = repo_root().join("target/view-test");
    std::fs::create_dir_all(&out).expect("output directory");
    let run = tokio::process::Command::new(&node)
        .arg(repo_root().join("tests/view/drive.mjs"))
        .args(["--url", &url, "--session", &session, "--out"])
        .arg(&out)
        .arg("--chromium")
        .arg(&chromium)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(RUN_TIMEOUT, run)
        .await
        .expect("the browser run ends within its time")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser run failed ({}):\n{stderr}\n{stdout}",
        output.status
    );
    let summary: Value = stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("no summary line in {stdout:?}"));
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["cells"], 12, "{summary}");
    assert!(summary["what_if_calls"].as_u64() >= Some(1), "{summary}");
    assert!(summary["apply_calls"].as_u64() >= Some(1), "{summary}");
    for shot in ["view-light.png", "view-dark.png", "report.png"] {
        let png = std::fs::read(out.join(shot)).expect(shot);
        assert_eq!(&png[1..4], b"PNG", "{shot}");
    }

    // What the view applied is in the session: one weight moved, nothing else.
    let after = ok(
        &client,
        "get_decision_matrix",
        json!({"session_id": session}),
    )
    .await;
    let changed: Vec<&String> = before["criteria_weights"]
        .as_object()
        .expect("weights")
        .iter()
        .filter(|(name, weight)| after["criteria_weights"][name.as_str()] != **weight)
        .map(|(name, _)| name)
        .collect();
    assert_eq!(changed.len(), 1, "{before:?} -> {after:?}");
    let scores = |matrix: &serde_json::Map<String, Value>| -> Vec<Value> {
        let rows = matrix["matrix"].as_object().expect("matrix").values();
        rows.flat_map(|row| row.as_object().expect("row").values())
            .map(|cell| cell["raw_score"].clone())
            .collect()
    };
    assert_eq!(scores(&after), scores(&before), "no score changed");
    client.cancel().await.expect("close");
}
