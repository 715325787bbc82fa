//! Load test: [`CLIENTS`] clients over streamable HTTP on loopback, each on its own
//! connection, looping a script of tool calls (the reference workflow, then reads and edits
//! of its session, as an assistant working through a decision makes them) until together
//! they have made at least [`MIN_CALLS`] calls, against the mock model at its reference
//! latency. Failures are counted, never fatal, so the run says how many there were; every
//! evaluation is checked to have scored all its cells with the model. The server's resident
//! set is sampled throughout, to show whether memory stays bounded.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::figures::{Samples, megabytes, time};
use super::process::{Client, Server, Transport, try_call};
use super::workload::{CELLS, CRITERIA, Judge, LLM_CALLS, criterion, one_pass, start_args};

/// Concurrent clients.
pub const CLIENTS: usize = 64;
/// Tool calls the clients make together, at least.
pub const MIN_CALLS: usize = 10_000;
/// Upper bound on one client's rounds of the script.
const MAX_ROUNDS: usize = 1_000;
/// Distinct error messages kept for the report.
const KEPT_ERRORS: usize = 5;
/// How often the server's resident set is read.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// One tool call as a client saw it.
struct Record {
    tool: &'static str,
    latency: Duration,
    error: Option<String>,
}

/// A client's calls, counted as they are made.
struct Recorder<'a> {
    client: &'a Client,
    made: &'a AtomicUsize,
    records: Vec<Record>,
    incomplete_evaluations: usize,
}

impl Recorder<'_> {
    /// Calls `tool`, records the outcome; the answer if it succeeded.
    async fn call(&mut self, tool: &'static str, args: Value) -> Option<Map<String, Value>> {
        let started = Instant::now();
        let outcome = try_call(self.client, tool, args).await;
        self.made.fetch_add(1, Ordering::Relaxed);
        let (answer, error) = match outcome {
            Ok(answer) => (Some(answer), None),
            Err(error) => (None, Some(error)),
        };
        self.records.push(Record {
            tool,
            latency: started.elapsed(),
            error,
        });
        answer
    }

    /// One round of the script on a session of its own topic; stops at the first call that
    /// leaves nothing to work on.
    async fn round(&mut self, topic: &str) {
        let Some(started) = self
            .call("start_decision_analysis", start_args(topic, 0))
            .await
        else {
            return;
        };
        let id = started["session_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for index in 0..CRITERIA {
            let mut args = criterion(index);
            args["session_id"] = json!(id);
            self.call("add_criterion", args).await;
        }
        let session = json!({"session_id": id});
        self.call(
            "add_option",
            json!({"session_id": id, "option_name": "option 5", "description": "added late"}),
        )
        .await;
        if let Some(evaluated) = self.call("evaluate_options", one_pass(&id)).await {
            let summary = &evaluated["summary"];
            if summary["successful_scores"] != json!(CELLS)
                || summary["llm_calls"] != json!(LLM_CALLS)
            {
                self.incomplete_evaluations += 1;
            }
        }
        self.call("get_decision_matrix", session.clone()).await;
        self.call(
            "analyze_sensitivity",
            json!({"session_id": id, "weights": {"criterion 0": 4.0}}),
        )
        .await;
        self.call(
            "update_criterion",
            json!({"session_id": id, "name": "criterion 1", "weight": 3.0}),
        )
        .await;
        self.call(
            "set_score",
            json!({"session_id": id, "option_name": "option 1", "criterion_name": "criterion 2",
                   "score": 7, "justification": "set during the load test"}),
        )
        .await;
        self.call("export_matrix", json!({"session_id": id, "format": "csv"}))
            .await;
        self.call("list_sessions", json!({})).await;
        self.call("server_stats", json!({})).await;
        self.call(
            "remove_option",
            json!({"session_id": id, "option_name": "option 5"}),
        )
        .await;
        self.call("get_decision_matrix", session).await;
    }
}

/// One tool's calls in the load test.
pub struct ToolLoad {
    pub tool: &'static str,
    pub samples: Samples,
    pub errors: usize,
}

/// What the load test found.
pub struct Load {
    pub calls: usize,
    pub errors: usize,
    /// Up to [`KEPT_ERRORS`] distinct error messages, with how often each occurred.
    pub error_messages: Vec<(String, usize)>,
    pub evaluations: usize,
    pub incomplete_evaluations: usize,
    pub per_tool: Vec<ToolLoad>,
    pub all: Samples,
    pub elapsed: Duration,
    /// Resident set after the clients connected, before the first call.
    pub resident_start: u64,
    /// Largest sampled resident set, and when (since the first call).
    pub resident_max: (u64, Duration),
    /// Resident set after the last call.
    pub resident_end: u64,
    /// `VmHWM` at the end.
    pub peak: u64,
    /// Tool calls and errors as the server counted them (`server_stats`, before its own call).
    pub server_calls: u64,
    pub server_errors: u64,
    /// The server's health at the end, with its reasons.
    pub health: String,
}

impl Load {
    pub fn calls_per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs the load test against one server started with the default configuration.
pub async fn load(llm: &Judge) -> Load {
    let server = Server::start(Transport::Http, CLIENTS, &llm.mock, &[]).await;
    let resident_start = server.resident();
    let made = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    let started = Instant::now();
    let clients = server.clients.iter().enumerate().map(|(index, client)| {
        let made = &made;
        async move {
            let mut recorder = Recorder {
                client,
                made,
                records: Vec::new(),
                incomplete_evaluations: 0,
            };
            let mut round = 0;
            while round < MAX_ROUNDS && made.load(Ordering::Relaxed) < MIN_CALLS {
                recorder
                    .round(&format!(
                        "Choose a platform (client {index}, round {round})"
                    ))
                    .await;
                round += 1;
            }
            recorder
        }
    });
    let work = async {
        let recorders = futures_util::future::join_all(clients).await;
        done.store(true, Ordering::Relaxed);
        recorders
    };
    let sampler = async {
        let mut max = (0, Duration::ZERO);
        while !done.load(Ordering::Relaxed) {
            let resident = server.resident();
            if resident > max.0 {
                max = (resident, started.elapsed());
            }
            tokio::time::sleep(SAMPLE_EVERY).await;
        }
        max
    };
    let (recorders, resident_max) = tokio::join!(work, sampler);
    let elapsed = started.elapsed();
    let incomplete_evaluations = recorders.iter().map(|r| r.incomplete_evaluations).sum();
    let records: Vec<Record> = recorders.into_iter().flat_map(|r| r.records).collect();
    let resident_end = server.resident();
    let peak = server.peak_memory();
    let stats = server.stats().await;
    server.stop().await;

    let tool_counts = |field: &str| -> u64 {
        stats["tools"]
            .as_array()
            .map(|tools| tools.iter().filter_map(|t| t[field].as_u64()).sum())
            .unwrap_or(0)
    };
    let health = &stats["health"];
    let reasons: Vec<&str> = health["reasons"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let health = match reasons.is_empty() {
        true => health["status"].as_str().unwrap_or("?").to_owned(),
        false => format!(
            "{} ({})",
            health["status"].as_str().unwrap_or("?"),
            reasons.join("; ")
        ),
    };

    let mut by_tool: BTreeMap<&'static str, (Vec<Duration>, usize)> = BTreeMap::new();
    let mut messages: BTreeMap<String, usize> = BTreeMap::new();
    for record in &records {
        let entry = by_tool.entry(record.tool).or_default();
        entry.0.push(record.latency);
        if let Some(error) = &record.error {
            entry.1 += 1;
            *messages.entry(error.clone()).or_default() += 1;
        }
    }
    let errors = records.iter().filter(|r| r.error.is_some()).count();
    let mut error_messages: Vec<(String, usize)> = messages.into_iter().collect();
    error_messages.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    error_messages.truncate(KEPT_ERRORS);
    let load = Load {
        calls: records.len(),
        errors,
        error_messages,
        evaluations: by_tool.get("evaluate_options").map_or(0, |(s, _)| s.len()),
        incomplete_evaluations,
        all: Samples::new(records.iter().map(|r| r.latency).collect()),
        per_tool: by_tool
            .into_iter()
            .map(|(tool, (samples, errors))| ToolLoad {
                tool,
                samples: Samples::new(samples),
                errors,
            })
            .collect(),
        elapsed,
        resident_start,
        resident_max,
        resident_end,
        peak,
        server_calls: tool_counts("calls"),
        server_errors: tool_counts("errors"),
        health,
    };
    eprintln!(
        "load: {} calls ({} evaluations) by {CLIENTS} clients in {} = {:.0}/s, {} errors, \
         {} incomplete evaluations, resident {:.1} -> max {:.1} -> {:.1} MB, peak {:.1} MB",
        load.calls,
        load.evaluations,
        time(elapsed),
        load.calls_per_second(),
        load.errors,
        load.incomplete_evaluations,
        megabytes(resident_start),
        megabytes(resident_max.0),
        megabytes(resident_end),
        megabytes(peak)
    );
    load
}
