//! The answer cache under a backend that answers megabytes: every answer is correct, wrapped in
//! [`PADDING_BYTES`] of prose, as a hostile or broken model might send.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use decision_matrix_testkit::{MockServer, judge};
use serde_json::{Value, json};

use crate::support::process::{Server, Transport, call};
use crate::{Memory, row, table_head};

/// Sessions evaluated, each on its own topic so that none is answered from the cache.
pub const SESSIONS: usize = 16;
/// Prose around each answer.
const PADDING_BYTES: usize = 4 << 20;
const OPTIONS: [&str; 5] = ["alpha", "bravo", "charlie", "delta", "echo"];
/// One backend call per criterion: five options fit one batch.
const CRITERIA: [&str; 4] = ["cost", "speed", "safety", "support"];

/// What the judge shares with its handler: the padding, and the answers sent.
struct Padded {
    padding: String,
    answered: AtomicUsize,
}

async fn padded_answer(State(padded): State<Arc<Padded>>, Json(body): Json<Value>) -> Json<Value> {
    let (system, user) = judge::openai_prompt(&body);
    let answer = judge::answer(&system, &user, &[]);
    padded.answered.fetch_add(1, Ordering::SeqCst);
    Json(judge::openai_response(&format!(
        "{}\n{answer}",
        padded.padding
    )))
}

/// The judge, each answer after [`PADDING_BYTES`] of prose.
async fn padded_judge() -> (MockServer, Arc<Padded>) {
    let state = Arc::new(Padded {
        padding: "lorem ipsum ".repeat(PADDING_BYTES / 12),
        answered: AtomicUsize::new(0),
    });
    let router = axum::Router::new()
        .route("/v1/chat/completions", post(padded_answer))
        .with_state(state.clone());
    (MockServer::start(router).await, state)
}

/// Starts session `n` and evaluates it; the summary `evaluate_options` gives.
async fn evaluate(server: &Server, n: usize) -> Value {
    let criteria: Vec<Value> = CRITERIA
        .iter()
        .map(|c| json!({"name": c, "description": format!("how good the {c} is"), "weight": 1.0}))
        .collect();
    let started = call(
        server.client(0),
        "start_decision_analysis",
        json!({"topic": format!("Supplier {n}: which one for the spring order?"),
               "options": OPTIONS, "model_backend": "litellm", "initial_criteria": criteria}),
    )
    .await;
    let id = started["session_id"].as_str().expect("a session id");
    let result = call(
        server.client(0),
        "evaluate_options",
        json!({"session_id": id, "confidence_target": 0}),
    )
    .await;
    let summary = result.get("summary").cloned().unwrap_or_default();
    assert_eq!(
        summary["successful_scores"],
        OPTIONS.len() * CRITERIA.len(),
        "every cell scored: {summary}"
    );
    summary
}

pub async fn attack() {
    let (llm, padded) = padded_judge().await;
    let server = Server::start(Transport::Http, 1, &llm, &[]).await;
    println!(
        "\n**Answer cache**: {SESSIONS} sessions of {} options × {} criteria evaluated one after another, each answer {} MiB.",
        OPTIONS.len(),
        CRITERIA.len(),
        PADDING_BYTES >> 20
    );
    table_head("answers received");
    row("started", Memory::of(server.pid), "0");
    for n in 0..SESSIONS {
        evaluate(&server, n).await;
    }
    let answered = padded.answered.load(Ordering::SeqCst);
    let received = format!("{answered} ({} MiB)", (answered * PADDING_BYTES) >> 20);
    row(
        &format!("{SESSIONS} sessions evaluated"),
        Memory::of(server.pid),
        &received,
    );
    call(server.client(0), "clear_all_sessions", json!({})).await;
    row(
        "after `clear_all_sessions`",
        Memory::of(server.pid),
        &received,
    );

    // The first session again: the answers the cache replays are what it kept.
    let replay = evaluate(&server, 0).await;
    println!(
        "\nThe first session evaluated again after `clear_all_sessions`: {} answers replayed from the cache, {} calls to the backend.",
        replay["cache_hits"], replay["llm_calls"]
    );
    server.stop().await;
}
