//! Tool latency: every tool except `evaluate_options` (which waits on the model) and
//! `test_aws_bedrock_connection` (which calls AWS), one call at a time.
//!
//! Each tool is called [`WARM_UP_CALLS`] times, then timed [`TIMED_CALLS`] times, on a fresh
//! fixture session (5 options × 4 criteria, evaluated). Calls that would change the session
//! for good are paired with an untimed call that undoes them (an added criterion is removed
//! again, a removed one added back). `start_decision_analysis` leaves its sessions behind, so
//! past the store's 100 sessions every call also evicts one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use decision_matrix_testkit::MockServer;
use serde_json::{Value, json};

use super::figures::{Samples, time};
use super::process::{Client, Server, Transport, call};
use super::workload::{CRITERIA, fixture, start_args};

/// Untimed calls per tool before the timed ones.
pub const WARM_UP_CALLS: usize = 50;
/// Timed calls per tool and transport.
pub const TIMED_CALLS: usize = 1000;

/// A tool's arguments for the `i`-th call on the session `id`.
type Args = Arc<dyn Fn(&str, usize) -> Value + Send + Sync>;

/// A tool call.
#[derive(Clone)]
struct Step {
    tool: &'static str,
    args: Args,
}

fn step(tool: &'static str, args: impl Fn(&str, usize) -> Value + Send + Sync + 'static) -> Step {
    Step {
        tool,
        args: Arc::new(args),
    }
}

/// The timed call of one tool, with untimed calls before and after it each time.
struct Case {
    timed: Step,
    before: Option<Step>,
    after: Option<Step>,
}

impl Case {
    fn new(timed: Step) -> Case {
        Case {
            timed,
            before: None,
            after: None,
        }
    }

    fn before(mut self, step: Step) -> Case {
        self.before = Some(step);
        self
    }

    fn after(mut self, step: Step) -> Case {
        self.after = Some(step);
        self
    }
}

fn no_args(_: &str, _: usize) -> Value {
    json!({})
}

/// `add` adds an item named `bench` (given in the parameter `key`), `remove` removes it:
/// each is timed, with the other undoing it.
fn add_and_remove(add: &'static str, remove: &'static str, key: &'static str) -> [Case; 2] {
    let add = step(
        add,
        move |id, _| json!({"session_id": id, key: "bench", "description": "added by the benchmark"}),
    );
    let remove = step(remove, move |id, _| json!({"session_id": id, key: "bench"}));
    [
        Case::new(add.clone()).after(remove.clone()),
        Case::new(remove).before(add),
    ]
}

/// Every tool but `evaluate_options` and `test_aws_bedrock_connection`;
/// `clear_all_sessions` last.
fn cases() -> Vec<Case> {
    let start = step("start_decision_analysis", |_, i| {
        start_args(&format!("Choose a platform, take {i}"), CRITERIA)
    });
    let mut cases = vec![Case::new(start.clone())];
    cases.extend(add_and_remove("add_criterion", "remove_criterion", "name"));
    cases.extend(add_and_remove("add_option", "remove_option", "option_name"));
    cases.extend([
        step("update_option", |id, i| {
            json!({"session_id": id, "option_name": "option 0", "description": format!("revision {i}")})
        }),
        step("update_criterion", |id, i| {
            json!({"session_id": id, "name": "criterion 0", "weight": 1.0 + (i % 4) as f64})
        }),
        step("set_score", |id, i| {
            json!({"session_id": id, "option_name": "option 1", "criterion_name": "criterion 1",
                   "score": i % 10 + 1, "justification": "set by the benchmark"})
        }),
        step("set_strategy", |id, i| {
            json!({"session_id": id, "strategy": (["weighted-average", "topsis"][i % 2])})
        }),
        step("get_decision_matrix", |id, _| json!({"session_id": id})),
        step("analyze_sensitivity", |id, _| {
            json!({"session_id": id, "weights": {"criterion 0": 4.0}})
        }),
        step("export_matrix", |id, i| {
            json!({"session_id": id, "format": (["json", "csv", "markdown"][i % 3])})
        }),
        step("list_sessions", no_args),
        step("current_session", no_args),
        step("list_backends", no_args),
        step("list_plugins", no_args),
        step("server_stats", no_args),
    ]
    .map(Case::new));
    cases.push(Case::new(step("clear_all_sessions", no_args)).before(start));
    cases
}

async fn run_step(client: &Client, step: Option<&Step>, id: &str, i: usize) {
    if let Some(step) = step {
        call(client, step.tool, (step.args)(id, i)).await;
    }
}

/// The timed latencies of `case` on a fresh fixture.
async fn time_case(client: &Client, case: &Case) -> Samples {
    let id = fixture(client).await;
    let mut samples = Vec::with_capacity(TIMED_CALLS);
    for i in 0..WARM_UP_CALLS + TIMED_CALLS {
        run_step(client, case.before.as_ref(), &id, i).await;
        let args = (case.timed.args)(&id, i);
        let started = Instant::now();
        call(client, case.timed.tool, args).await;
        let elapsed = started.elapsed();
        run_step(client, case.after.as_ref(), &id, i).await;
        if i >= WARM_UP_CALLS {
            samples.push(elapsed);
        }
    }
    Samples::new(samples)
}

/// One tool's latencies over one transport.
pub struct ToolLatency {
    pub tool: &'static str,
    pub samples: Samples,
    /// Server CPU time per timed call, its untimed set-up and undo calls included: a figure
    /// that does not depend on how busy the machine is.
    pub server_cpu: Duration,
}

/// Latency of every tool over `transport`, in [`cases`] order.
/// `only`, when not empty, restricts the tools measured.
pub async fn tool_latencies(
    transport: Transport,
    llm: &MockServer,
    only: &[String],
    args: &[&str],
) -> Vec<ToolLatency> {
    let server = Server::start(transport, 1, llm, args).await;
    let client = &server.clients[0];
    let mut latencies = Vec::new();
    let selected = cases()
        .into_iter()
        .filter(|case| only.is_empty() || only.iter().any(|tool| tool == case.timed.tool));
    for case in selected {
        let cpu_before = server.cpu_time();
        let samples = time_case(client, &case).await;
        let server_cpu = (server.cpu_time() - cpu_before) / (WARM_UP_CALLS + TIMED_CALLS) as u32;
        eprintln!(
            "{:>5} {:<24} p50 {:>9}  p99 {:>9}  server CPU {:>9} per call",
            transport.name(),
            case.timed.tool,
            time(samples.p50()),
            time(samples.p99()),
            time(server_cpu)
        );
        latencies.push(ToolLatency {
            tool: case.timed.tool,
            samples,
            server_cpu,
        });
    }
    server.stop().await;
    latencies
}
