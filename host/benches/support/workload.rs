//! The reference workload: what a session holds and the workflow an assistant runs on it,
//! scored by the real `litellm` plugin against a loopback OpenAI-compatible mock judge.

use std::time::{Duration, Instant};

use decision_matrix_testkit::{MockServer, judge};
use serde_json::{Map, Value, json};

use super::process::{Client, call};

/// Options a session starts with; the workflow adds one more.
pub const OPTIONS: usize = 5;
/// Criteria of a session.
pub const CRITERIA: usize = 4;
/// Cells of one workflow's evaluation: ([`OPTIONS`] + 1) × [`CRITERIA`].
pub const CELLS: usize = (OPTIONS + 1) * CRITERIA;
/// Model calls of one workflow's evaluation: one per criterion and batch of up to 5 options.
pub const LLM_CALLS: usize = CRITERIA * (OPTIONS + 1).div_ceil(5);

/// The mock model: answers every scoring prompt correctly after `latency`, like a hosted
/// model's round trip, and reports token usage estimated from the text.
pub struct Judge {
    pub mock: MockServer,
    pub latency: Duration,
}

impl Judge {
    pub async fn start(latency: Duration) -> Judge {
        Judge {
            mock: MockServer::start_unrecorded(judge::openai_router(latency)).await,
            latency,
        }
    }
}

pub fn option_names(count: usize) -> Vec<String> {
    (0..count).map(|o| format!("option {o}")).collect()
}

/// `start_decision_analysis` on `topic`, [`OPTIONS`] options, scored by litellm, with
/// `criteria` initial criteria.
pub fn start_args(topic: &str, criteria: usize) -> Value {
    let criteria: Vec<Value> = (0..criteria).map(criterion).collect();
    json!({
        "topic": topic,
        "options": option_names(OPTIONS),
        "model_backend": "litellm",
        "initial_criteria": criteria,
    })
}

pub fn criterion(index: usize) -> Value {
    json!({
        "name": format!("criterion {index}"),
        "description": format!("how well the option does on aspect {index}"),
        "weight": 1.0 + index as f64 / 2.0,
    })
}

/// A fresh store holding one evaluated session of [`OPTIONS`] × [`CRITERIA`]; its id.
pub async fn fixture(client: &Client) -> String {
    call(client, "clear_all_sessions", json!({})).await;
    let started = call(
        client,
        "start_decision_analysis",
        start_args("Choose a platform", CRITERIA),
    )
    .await;
    let id = session_id(&started);
    call(client, "evaluate_options", one_pass(&id)).await;
    id
}

/// `evaluate_options`' arguments for one pass over session `id`: every figure here compares
/// with the Python server, which judges each cell once, so the benchmarks make one pass
/// too (the adaptive rounds are measured by `--bench quality`).
pub fn one_pass(id: &str) -> Value {
    json!({"session_id": id, "confidence_target": 0})
}

/// The id of a session `start_decision_analysis` answered with.
pub fn session_id(started: &Map<String, Value>) -> String {
    started["session_id"].as_str().expect("id").to_owned()
}

/// Checks that an `evaluate_options` answer scored every one of `cells` cells with the model,
/// in `llm_calls` calls.
pub fn assert_fully_evaluated(evaluated: &Map<String, Value>, cells: usize, llm_calls: usize) {
    let summary = &evaluated["summary"];
    assert_eq!(
        (
            &evaluated["evaluation_complete"],
            &summary["successful_scores"],
            &summary["llm_calls"]
        ),
        (&json!(true), &json!(cells), &json!(llm_calls)),
        "every cell scored by the model, in batches: {evaluated:?}"
    );
}

/// One run of the reference workflow on its own `topic` (`start_decision_analysis` with
/// [`OPTIONS`] options, `add_criterion` × [`CRITERIA`], `add_option`, `evaluate_options`,
/// `get_decision_matrix`); the `evaluate_options` latency.
pub async fn workflow(client: &Client, topic: &str) -> Duration {
    let started = call(client, "start_decision_analysis", start_args(topic, 0)).await;
    let id = session_id(&started);
    for index in 0..CRITERIA {
        let mut args = criterion(index);
        args["session_id"] = json!(id);
        call(client, "add_criterion", args).await;
    }
    call(
        client,
        "add_option",
        json!({"session_id": id, "option_name": "option 5", "description": "added late"}),
    )
    .await;
    let started = Instant::now();
    let evaluated = call(client, "evaluate_options", one_pass(&id)).await;
    let evaluate = started.elapsed();
    assert_fully_evaluated(&evaluated, CELLS, LLM_CALLS);
    let matrix = call(client, "get_decision_matrix", json!({"session_id": id})).await;
    assert_eq!(
        matrix["rankings"].as_array().map(Vec::len),
        Some(OPTIONS + 1)
    );
    evaluate
}

/// The model calls and tokens a server has recorded for the `litellm` backend, from its
/// `server_stats` answer.
#[derive(Clone, Copy, Default)]
pub struct Usage {
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Usage {
    pub fn of(stats: &Map<String, Value>) -> Usage {
        let backend = stats["backends"]
            .as_array()
            .and_then(|backends| backends.iter().find(|b| b["name"] == "litellm"));
        let Some(backend) = backend else {
            return Usage::default();
        };
        let count = |field: &str| backend[field].as_u64().expect("a count");
        Usage {
            calls: count("calls"),
            input_tokens: count("input_tokens"),
            output_tokens: count("output_tokens"),
        }
    }

    /// What was recorded between `earlier` and `self`.
    pub fn since(self, earlier: Usage) -> Usage {
        Usage {
            calls: self.calls - earlier.calls,
            input_tokens: self.input_tokens - earlier.input_tokens,
            output_tokens: self.output_tokens - earlier.output_tokens,
        }
    }
}
