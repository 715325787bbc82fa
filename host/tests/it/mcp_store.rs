//! The session store as operators rely on it, against the built binary: sessions survive a
//! restart and a `kill -9` mid-evaluation (with the cells finished before it), two instances
//! share one Redis (sessions and LLM answers) without losing concurrent updates, and a store
//! that cannot be used stops start-up, or fails the call, with a message naming it.

use crate::common;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::client::{Client, err, http_client, ok, request, stdio_server};
use common::server::{hanging_llm, http_server, server_env};
use decision_matrix_testkit::redis_server::{RedisServer, free_port, namespace};
use decision_matrix_testkit::{MockServer, judge};
use rmcp::RoleClient;
use rmcp::service::RunningService;
use serde_json::{Map, Value, json};

type Mcp = RunningService<RoleClient, Client>;

/// A judge that takes `latency` per answer, so an evaluation can be caught half done.
async fn slow_llm(latency: Duration) -> MockServer {
    MockServer::start(judge::openai_router(latency)).await
}

fn id(result: &Map<String, Value>) -> String {
    result["session_id"]
        .as_str()
        .expect("session id")
        .to_owned()
}

/// Starts a session with `options` and the criteria `criteria` (weight 1).
async fn decision(client: &Mcp, options: &[&str], criteria: &[&str]) -> String {
    decision_on(client, "Which one?", options, criteria).await
}

/// Starts a session on `topic` with `options` and the criteria `criteria` (weight 1).
async fn decision_on(client: &Mcp, topic: &str, options: &[&str], criteria: &[&str]) -> String {
    let session = id(&ok(
        client,
        "start_decision_analysis",
        json!({"topic": topic, "options": options, "model_backend": "litellm"}),
    )
    .await);
    for criterion in criteria {
        ok(
            client,
            "add_criterion",
            json!({"session_id": session, "name": criterion, "description": format!("How good is the {criterion}"), "weight": 1.0}),
        )
        .await;
    }
    session
}

/// How many cells of the matrix of `session` hold an answer.
async fn answered_cells(client: &Mcp, session: &str) -> usize {
    let matrix = ok(
        client,
        "get_decision_matrix",
        json!({"session_id": session}),
    )
    .await;
    matrix["matrix"]
        .as_object()
        .expect("matrix")
        .values()
        .flat_map(|row| row.as_object().expect("row").values())
        .filter(|cell| cell["status"] != "missing")
        .count()
}

/// Adds options "extra 0" to "extra 9" to `session` all at once, the calls spread over
/// `clients` in turn; every call must succeed.
async fn add_options_at_once(clients: &[&Mcp], session: &str) {
    let adds = (0..10).map(|n| {
        let peer = clients[n % clients.len()].peer().clone();
        let session = session.to_owned();
        tokio::spawn(async move {
            peer.call_tool(request(
                "add_option",
                json!({"session_id": session, "option_name": format!("extra {n}")}),
            ))
            .await
        })
    });
    for add in adds.collect::<Vec<_>>() {
        let result = add.await.expect("joins").expect("reaches the server");
        assert_ne!(result.is_error, Some(true), "{result:?}");
    }
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("s.db").display())
}

/// Every cell its own call, one call at a time: cells finish one by one.
const ONE_BY_ONE: [&str; 4] = [
    "--set",
    "evaluation.batch_size=1",
    "--set",
    "evaluation.max_concurrent_per_session=1",
];

#[tokio::test]
async fn a_killed_server_keeps_the_finished_cells_and_the_next_evaluation_computes_the_rest() {
    let llm = slow_llm(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = sqlite_url(&dir);
    let args: Vec<&str> = ["--store", store.as_str()]
        .into_iter()
        .chain(ONE_BY_ONE)
        .collect();

    let (client, _, pid) = stdio_server(&llm, &args).await;
    let session = decision(&client, &["A", "B", "C"], &["cost", "speed"]).await;
    let peer = client.peer().clone();
    let evaluation = tokio::spawn({
        let session = session.clone();
        async move {
            peer.call_tool(request(
                "evaluate_options",
                json!({"session_id": session, "confidence_target": 0}),
            ))
            .await
        }
    });
    // Three calls received means at least two answered: some cells done, not all six.
    let deadline = Instant::now() + Duration::from_secs(30);
    while llm.requests().len() < 3 {
        assert!(Instant::now() < deadline, "the evaluation never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let _ = evaluation.await;
    drop(client);
    let calls_before = llm.requests().len();

    let (client, _, _) = stdio_server(&llm, &args).await;
    let kept = answered_cells(&client, &session).await;
    assert!(
        (1..6).contains(&kept),
        "{kept} cells kept of the {calls_before} calls made before the kill"
    );
    let evaluated = ok(
        &client,
        "evaluate_options",
        json!({"session_id": session, "confidence_target": 0}),
    )
    .await;
    let summary = &evaluated["summary"];
    assert_eq!(summary["cells_reused"], kept, "{summary}");
    assert_eq!(summary["cells_computed"], 6 - kept, "{summary}");
    assert_eq!(
        llm.requests().len() - calls_before,
        6 - kept,
        "only the missing cells are billed"
    );
    assert_eq!(answered_cells(&client, &session).await, 6);
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn a_restarted_server_has_its_sessions_and_concurrent_writers_lose_nothing() {
    let llm = slow_llm(Duration::ZERO).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = sqlite_url(&dir);
    let args = ["--store", store.as_str()];

    let (client, _, _) = stdio_server(&llm, &args).await;
    let session = decision(&client, &["A", "B"], &["cost"]).await;
    add_options_at_once(&[&client], &session).await;
    ok(&client, "evaluate_options", json!({"session_id": session})).await;
    client.cancel().await.expect("close");

    let (client, _, _) = stdio_server(&llm, &args).await;
    let listed = ok(&client, "list_sessions", json!({})).await;
    assert_eq!(listed["total_active"], 1, "{listed:?}");
    assert_eq!(listed["sessions"][0]["session_id"], session.as_str());
    assert_eq!(
        listed["sessions"][0]["options"].as_array().map(Vec::len),
        Some(12)
    );
    assert_eq!(answered_cells(&client, &session).await, 12);
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn two_instances_share_sessions_through_redis() {
    let llm = slow_llm(Duration::ZERO).await;
    let redis = RedisServer::shared();
    let namespace = format!("sessions.store_namespace={}", namespace("e2e"));
    let args = ["--store", &redis.url(), "--set", &namespace];
    let ((_a_server, a_url), (_b_server, b_url)) =
        tokio::join!(http_server(&llm, &args), http_server(&llm, &args));
    let (a, _) = http_client(&a_url).await;
    let (b, _) = http_client(&b_url).await;

    // Started on A, its criteria added on B.
    let session = decision_on(&a, "Shared", &["A", "B"], &[]).await;
    for criterion in ["cost", "speed"] {
        ok(
            &b,
            "add_criterion",
            json!({"session_id": session, "name": criterion, "description": format!("How good is the {criterion}"), "weight": 1.0}),
        )
        .await;
    }
    // One pass each: the second session's calls must all be replays of the first's.
    let evaluated = ok(
        &a,
        "evaluate_options",
        json!({"session_id": session, "confidence_target": 0}),
    )
    .await;
    assert_eq!(evaluated["summary"]["cells_computed"], 4, "{evaluated:?}");
    assert_eq!(answered_cells(&b, &session).await, 4);
    let listed = ok(&b, "list_sessions", json!({})).await;
    assert_eq!(listed["total_active"], 1);
    assert_eq!(listed["sessions"][0]["session_id"], session.as_str());

    // The same decision started on B is answered from the answers A bought (shared through
    // Redis; B's own cache has never seen them): no call, nothing billed.
    let calls = llm.requests().len();
    let again = decision_on(&b, "Shared", &["A", "B"], &["cost", "speed"]).await;
    let replayed = ok(
        &b,
        "evaluate_options",
        json!({"session_id": again, "confidence_target": 0}),
    )
    .await;
    assert_eq!(replayed["summary"]["cache_hits"], 2, "{replayed:?}");
    assert_eq!(replayed["summary"]["llm_calls"], 0, "{replayed:?}");
    assert_eq!(llm.requests().len(), calls, "nothing sent to the model");
    assert_eq!(answered_cells(&b, &again).await, 4);
    ok(&b, "clear_all_sessions", json!({})).await;
    let session = decision_on(&a, "Shared", &["A", "B"], &["cost", "speed"]).await;
    ok(&b, "evaluate_options", json!({"session_id": session})).await;

    // Ten writers at once, split between the instances: every option is kept.
    add_options_at_once(&[&a, &b], &session).await;
    let listed = ok(&a, "list_sessions", json!({})).await;
    let options: BTreeSet<&str> = listed["sessions"][0]["options"]
        .as_array()
        .expect("options")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(options.len(), 12, "{options:?}");

    // An evaluation on B now reuses A's cells and bills only the new options' ones.
    let calls = llm.requests().len();
    let evaluated = ok(&b, "evaluate_options", json!({"session_id": session})).await;
    assert_eq!(evaluated["summary"]["cells_reused"], 4, "{evaluated:?}");
    assert_eq!(evaluated["summary"]["cells_computed"], 20, "{evaluated:?}");
    assert!(llm.requests().len() > calls);

    let cleared = ok(&a, "clear_all_sessions", json!({})).await;
    assert_eq!(cleared["cleared"], 1);
    assert_eq!(ok(&b, "list_sessions", json!({})).await["total_active"], 0);
    assert_eq!(
        err(&b, "get_decision_matrix", json!({"session_id": session})).await,
        "Session not found or expired"
    );
    a.cancel().await.expect("close");
    b.cancel().await.expect("close");
}

/// An evaluation whose lease another instance takes over (as when this one's hold lapsed)
/// stops at its next renewal instead of computing, and billing, the cells the other instance
/// now computes; it says so, and keeps the cells it finished.
#[tokio::test]
async fn an_evaluation_whose_lease_is_taken_over_stops() {
    // Prompts about `slow` hang: only losing the lease can end this evaluation.
    let (llm, _hang) = hanging_llm().await;
    let redis = RedisServer::shared();
    let namespace = namespace("lease");
    let namespace_arg = format!("sessions.store_namespace={namespace}");
    let store = redis.url();
    let args: Vec<&str> = ["--store", store.as_str(), "--set", namespace_arg.as_str()]
        .into_iter()
        .chain(ONE_BY_ONE)
        .collect();
    let (_server, url) = http_server(&llm, &args).await;
    let (client, _) = http_client(&url).await;
    let session = decision(&client, &["A", "B"], &["slow"]).await;
    let peer = client.peer().clone();
    let evaluation = tokio::spawn({
        let session = session.clone();
        async move {
            peer.call_tool(request(
                "evaluate_options",
                json!({"session_id": session, "confidence_target": 0}),
            ))
            .await
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while llm.requests().is_empty() {
        assert!(Instant::now() < deadline, "the evaluation never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let lease_key = format!("{namespace}:lease:{session}");
    assert_eq!(
        redis.command(&["SET", &lease_key, "another-instance", "PX", "60000"]),
        "+OK"
    );
    let result = tokio::time::timeout(Duration::from_secs(30), evaluation)
        .await
        .expect("the evaluation stops within a lease renewal")
        .expect("joins")
        .expect("the call is answered");
    assert_eq!(result.is_error, Some(true), "{result:?}");
    let error = Value::Object(common::client::dict(&result));
    assert_eq!(error["context"], "Evaluation lease lost", "{error}");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|text| text.contains("taken over")),
        "{error}"
    );
    assert_eq!(
        llm.requests().len(),
        1,
        "nothing more was sent to the model"
    );
    assert_eq!(
        redis.command(&["GET", &lease_key]),
        "another-instance",
        "the new owner's lease is left alone"
    );
    client.cancel().await.expect("close");
}

/// Runs `serve --store STORE` until it exits (at most 30 s); its exit status and stderr.
async fn failed_start(store: &str) -> (std::process::ExitStatus, String) {
    let llm = slow_llm(Duration::ZERO).await;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_decision-matrix"));
    command
        .args(["serve", "--store", store])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    server_env(&mut command, &llm);
    let started = Instant::now();
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        command.spawn().expect("starts").wait_with_output(),
    )
    .await
    .expect("the server gives up within 30 s")
    .expect("runs");
    assert!(started.elapsed() < Duration::from_secs(30));
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_store_that_cannot_be_used_stops_start_up_naming_it() {
    let port = free_port();
    let (status, stderr) = failed_start(&format!("redis://:hunter2@127.0.0.1:{port}")).await;
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("session store redis://:***@127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("s.db");
    let garbage = b"this is not an SQLite database, and must stay as it is\n".repeat(100);
    std::fs::write(&file, &garbage).expect("written");
    let (status, stderr) = failed_start(&format!("sqlite://{}", file.display())).await;
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    assert_eq!(std::fs::read(&file).expect("still there"), garbage);
}

#[tokio::test]
async fn a_store_lost_mid_use_fails_the_call_naming_it() {
    let llm = slow_llm(Duration::ZERO).await;
    let redis = RedisServer::start(None);
    let port = redis.port();
    let (_server, url) = http_server(&llm, &["--store", &redis.url()]).await;
    let (client, _) = http_client(&url).await;
    let session = decision(&client, &["A", "B"], &["cost"]).await;
    drop(redis);

    let started = Instant::now();
    let result = client
        .call_tool(request(
            "get_decision_matrix",
            json!({"session_id": session}),
        ))
        .await
        .expect("the call reaches the server");
    assert_eq!(result.is_error, Some(true), "{result:?}");
    let error = Value::Object(common::client::dict(&result));
    assert_eq!(error["context"], "Session store", "{error}");
    let message = error["error"].as_str().expect("message");
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(started.elapsed() < Duration::from_secs(15));
    client.cancel().await.expect("close");
}
