//! The server's lifecycle as MCP clients see it, against the built binary: session limits
//! (eviction and refusal), the matrices as resources, the guided decision prompt, and a
//! shutdown while an evaluation is in flight. (Idle sessions expiring is shown on a manual
//! clock by the session manager's tests, rather than by waiting out the 60 s minimum TTL.)

use crate::common;

use std::time::Duration;

use common::client::{Client, err, http_client, ok, stdio_client, stdio_client_with};
use common::server::{gated_llm, hanging_llm, http_server, llm};
use decision_matrix_testkit::MockServer;
use rmcp::RoleClient;
use rmcp::model::{
    CallToolResult, GetPromptRequestParams, ReadResourceRequestParams, ResourceContents,
};
use rmcp::service::RunningService;
use serde_json::{Value, json};

fn start_args(topic: &str) -> Value {
    json!({"topic": topic, "options": ["A", "B"], "model_backend": "litellm"})
}

/// The ids of the sessions a `list_sessions` answer lists, sorted.
fn live_ids(listed: &serde_json::Map<String, Value>) -> Vec<String> {
    let ids = listed["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .filter_map(|s| s["session_id"].as_str());
    sorted(ids)
}

fn sorted<S: ToString>(ids: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut ids: Vec<String> = ids.into_iter().map(|id| id.to_string()).collect();
    ids.sort_unstable();
    ids
}

/// On a server with `store` limited to two sessions: using the first of two sessions makes
/// the second the least recently used, and a third evicts it. Returns the client.
async fn the_least_recent_is_evicted(
    llm: &MockServer,
    store: &str,
) -> RunningService<RoleClient, Client> {
    let settings = [
        "--store",
        store,
        "--set",
        "sessions.max_sessions=2",
        "--set",
        "sessions.ttl_seconds=60",
        "--set",
        "sessions.cleanup_interval_seconds=1",
    ];
    let (client, _) = stdio_client_with(llm, &settings).await;
    let id = |result: serde_json::Map<String, Value>| {
        result["session_id"].as_str().expect("id").to_owned()
    };
    let first = id(ok(&client, "start_decision_analysis", start_args("first")).await);
    let second = id(ok(&client, "start_decision_analysis", start_args("second")).await);
    // Using the first makes the second the least recently used.
    ok(
        &client,
        "add_criterion",
        json!({"session_id": first, "name": "cost", "description": "Cost", "weight": 2.0}),
    )
    .await;
    let third = id(ok(&client, "start_decision_analysis", start_args("third")).await);
    let gone = err(
        &client,
        "add_option",
        json!({"session_id": second, "option_name": "C"}),
    )
    .await;
    assert_eq!(gone, "Session not found or expired", "{store}");
    let listed = ok(&client, "list_sessions", json!({})).await;
    assert_eq!(live_ids(&listed), sorted([&first, &third]), "{store}");
    assert_eq!(listed["stats"]["sessions_evicted"], 1, "{store}");
    client
}

#[tokio::test]
async fn the_least_recent_session_is_evicted_or_a_new_one_refused() {
    let llm = llm().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = format!("sqlite://{}", dir.path().join("s.db").display());
    the_least_recent_is_evicted(&llm, &sqlite)
        .await
        .cancel()
        .await
        .expect("close");
    let client = the_least_recent_is_evicted(&llm, "memory").await;

    let (refusing, _) = stdio_client_with(
        &llm,
        &[
            "--set",
            "sessions.max_sessions=1",
            "--set",
            "sessions.when_full=refuse",
        ],
    )
    .await;
    ok(&refusing, "start_decision_analysis", start_args("kept")).await;
    let refused = err(&refusing, "start_decision_analysis", start_args("refused")).await;
    assert_eq!(
        refused,
        "Maximum number of active sessions (1) reached. Please try again later."
    );
    assert_eq!(
        ok(&refusing, "list_sessions", json!({})).await["total_active"],
        1
    );
    refusing.cancel().await.expect("close");
    client.cancel().await.expect("close");
}

/// An evaluation in flight: the task making the `evaluate_options` call.
type Evaluation = tokio::task::JoinHandle<Result<CallToolResult, rmcp::ServiceError>>;

/// `evaluate_options` of session `id`, made in its own task.
fn spawn_evaluation(client: &RunningService<RoleClient, Client>, id: &str) -> Evaluation {
    let client = client.peer().clone();
    let session = json!({"session_id": id});
    tokio::spawn(async move {
        client
            .call_tool(common::client::request("evaluate_options", session))
            .await
    })
}

/// Starts a 2 × 2 session with the criteria `cost` and `slow` and its evaluation, and returns
/// once both criteria's prompts have reached the judge (which holds or never answers `slow`):
/// the session's id and the evaluation.
async fn evaluation_held_on_slow(
    client: &RunningService<RoleClient, Client>,
    llm: &MockServer,
) -> (String, Evaluation) {
    let started = ok(
        client,
        "start_decision_analysis",
        json!({
            "topic": "Pick a database",
            "options": ["Postgres", "SQLite"],
            "model_backend": "litellm",
            "initial_criteria": [
                {"name": "cost", "description": "Total cost"},
                {"name": "slow", "description": "Held by the judge"},
            ],
        }),
    )
    .await;
    let id = started["session_id"].as_str().expect("id").to_owned();
    let evaluation = spawn_evaluation(client, &id);
    tokio::time::timeout(Duration::from_secs(30), async {
        while llm.requests().len() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the evaluation reaches the judge");
    (id, evaluation)
}

/// A session being evaluated is in use, however long ago it was last loaded: sessions
/// started during its evaluation evict others, and the evaluation keeps every cell. A second
/// evaluation of it meanwhile tells its client that it waits, then has nothing left to do.
#[tokio::test]
async fn a_session_being_evaluated_is_never_evicted() {
    let (llm, gate) = gated_llm().await;
    let (_child, url) = http_server(&llm, &["--set", "sessions.max_sessions=2"]).await;
    let (client, handler) = http_client(&url).await;
    let (evaluated_id, evaluation) = evaluation_held_on_slow(&client, &llm).await;

    // The evaluated session is now the least recently used of the two limit's worth; each
    // new session evicts the other one instead.
    let id = |result: serde_json::Map<String, Value>| {
        result["session_id"].as_str().expect("id").to_owned()
    };
    let second = id(ok(&client, "start_decision_analysis", start_args("second")).await);
    let third = id(ok(&client, "start_decision_analysis", start_args("third")).await);
    let fourth = id(ok(&client, "start_decision_analysis", start_args("fourth")).await);
    let listed = ok(&client, "list_sessions", json!({})).await;
    assert_eq!(
        live_ids(&listed),
        sorted([&evaluated_id, &fourth]),
        "second {second}, third {third}"
    );
    assert_eq!(listed["stats"]["sessions_evicted"], 2);

    let again = spawn_evaluation(&client, &evaluated_id);
    let waiting = "waiting for another evaluation of this session to finish";
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let told = handler
                .progress
                .lock()
                .expect("lock")
                .iter()
                .any(|p| p.message.as_deref().is_some_and(|m| m.starts_with(waiting)));
            if told {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the second evaluation says that it waits");

    gate.send(true).expect("the judge is running");
    let result = tokio::time::timeout(Duration::from_secs(30), evaluation)
        .await
        .expect("the evaluation finishes")
        .expect("task")
        .expect("the client got an answer");
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let result = result.structured_content.expect("result dict");
    assert_eq!(result["evaluation_complete"], true, "{result:?}");
    assert_eq!(result["summary"]["successful_scores"], 4, "{result:?}");
    let again = tokio::time::timeout(Duration::from_secs(30), again)
        .await
        .expect("the second evaluation finishes")
        .expect("task")
        .expect("the client got an answer")
        .structured_content
        .expect("result dict");
    assert_eq!(again["summary"]["llm_calls"], 0, "{again:?}");
    assert_eq!(llm.requests().len(), 2, "nothing was asked twice");
    let matrix = ok(
        &client,
        "get_decision_matrix",
        json!({"session_id": evaluated_id}),
    )
    .await;
    assert_eq!(matrix["rankings"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn each_matrix_is_a_resource_and_the_guided_prompt_is_offered() {
    let llm = llm().await;
    let (client, _) = stdio_client(&llm).await;
    let started = ok(
        &client,
        "start_decision_analysis",
        json!({
            "topic": "Pick a queue",
            "options": ["Kafka", "RabbitMQ", "SQS"],
            "model_backend": "litellm",
            "initial_criteria": [
                {"name": "throughput", "description": "Messages per second", "weight": 3.0},
                {"name": "operations", "description": "Effort to run it", "weight": 1.0},
            ],
        }),
    )
    .await;
    let id = started["session_id"].as_str().expect("id").to_owned();
    let pending = ok(
        &client,
        "start_decision_analysis",
        start_args("no criteria yet"),
    )
    .await;
    let pending = pending["session_id"].as_str().expect("id").to_owned();
    ok(&client, "evaluate_options", json!({"session_id": id})).await;
    let matrix = ok(&client, "get_decision_matrix", json!({"session_id": id})).await;

    let resources = client.list_all_resources().await.expect("resources");
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    let json_uri = format!("decision-matrix://sessions/{id}/matrix.json");
    let markdown_uri = format!("decision-matrix://sessions/{id}/matrix.md");
    assert!(uris.contains(&json_uri.as_str()), "{uris:?}");
    assert!(uris.contains(&markdown_uri.as_str()), "{uris:?}");
    assert_eq!(uris.len(), 5, "the view, then two per session: {uris:?}");
    assert_eq!(uris[0], "ui://decision-matrix/decision.html");
    let templates = client
        .list_all_resource_templates()
        .await
        .expect("templates");
    assert_eq!(templates.len(), 2);

    let read = async |uri: &str| {
        let result = client
            .read_resource(ReadResourceRequestParams::new(uri))
            .await
            .expect("readable");
        match result.contents.into_iter().next() {
            Some(ResourceContents::TextResourceContents {
                text, mime_type, ..
            }) => (text, mime_type.unwrap_or_default()),
            other => panic!("text contents expected: {other:?}"),
        }
    };
    let (text, mime) = read(&json_uri).await;
    assert_eq!(mime, "application/json");
    let document: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(document["rankings"], matrix["rankings"]);
    assert_eq!(document["matrix"], matrix["matrix"]);
    let (text, mime) = read(&markdown_uri).await;
    assert_eq!(mime, "text/markdown");
    assert_eq!(Some(text.as_str()), matrix["formatted_output"].as_str());
    let (text, _) = read(&format!("decision-matrix://sessions/{pending}/matrix.json")).await;
    let document: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        document["error"],
        "Need both options and criteria to generate matrix"
    );
    let unknown = client
        .read_resource(ReadResourceRequestParams::new(
            "decision-matrix://sessions/nope/matrix.json",
        ))
        .await
        .expect_err("no such session");
    assert!(unknown.to_string().contains("not found"), "{unknown}");

    let prompts = client.list_all_prompts().await.expect("prompts");
    assert_eq!(prompts.len(), 1);
    assert_eq!(prompts[0].name, "guided_decision");
    let arguments = json!({"decision": "Which queue for order events", "options": "Kafka, SQS"});
    let prompt = client
        .get_prompt(
            GetPromptRequestParams::new("guided_decision")
                .with_arguments(arguments.as_object().cloned().expect("object")),
        )
        .await
        .expect("prompt");
    let text = serde_json::to_string(&prompt.messages).expect("JSON");
    assert!(
        text.contains("Help me decide: Which queue for order events"),
        "{text}"
    );
    assert!(text.contains("start_decision_analysis"), "{text}");
    let missing = client
        .get_prompt(GetPromptRequestParams::new("guided_decision"))
        .await
        .expect_err("decision is required");
    assert!(
        missing.to_string().contains("needs 'decision'"),
        "{missing}"
    );
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn stopping_the_server_cancels_evaluations_in_flight_and_exits_cleanly() {
    let (llm, _hang) = hanging_llm().await;
    let (mut child, url) = http_server(&llm, &[]).await;
    let (client, _) = http_client(&url).await;
    let (_, evaluation) = evaluation_held_on_slow(&client, &llm).await;

    let pid = child.id().expect("running").to_string();
    let signalled = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(signalled.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the server stops promptly instead of waiting for the hanging call")
        .expect("exit status");
    assert_eq!(status.code(), Some(0), "a requested stop is a clean exit");
    // The evaluation answered before the server went: cancelled, with the finished cells.
    let result = tokio::time::timeout(Duration::from_secs(20), evaluation)
        .await
        .expect("the call ends with the server")
        .expect("task")
        .expect("the client got an answer");
    let content = result.structured_content.expect("result dict");
    assert_eq!(content["cancelled"], true, "{content}");
    assert_eq!(content["summary"]["cells_computed"], 2, "{content}");
    assert_eq!(
        content["message"],
        "Evaluation cancelled after 2 of 4 cells; finished cells are kept"
    );
}
