//! MCP server benchmark: the built `decision-matrix serve` binary as its clients reach it,
//! driven by rmcp's client over stdio and over streamable HTTP, with cells scored by the real
//! `litellm` plugin against a loopback OpenAI-compatible mock judge.
//!
//! What is measured, and why:
//!
//! 1. **Tool latency**, p50 and p99 of every tool except `evaluate_options` (which waits on
//!    the model) and `test_aws_bedrock_connection` (which calls AWS), over each transport:
//!    the cost of the server itself on every interaction an assistant has with it. Each tool
//!    is called [`WARM_UP_CALLS`] times, then timed [`TIMED_CALLS`] times, one call at a time,
//!    on a fresh fixture session (5 options × 4 criteria, evaluated). Calls that would change
//!    the session for good are paired with an untimed call that undoes them (an added
//!    criterion is removed again, a removed one added back). `start_decision_analysis` leaves
//!    its sessions behind, so past the store's 100 sessions every call also evicts one.
//! 2. **Workflow throughput**: clients loop the reference workflow (`start_decision_analysis`
//!    with 5 options, `add_criterion` × 4, `add_option`, `evaluate_options`,
//!    `get_decision_matrix`) for [`WORKFLOW_TIME`] against a mock answering every call after
//!    [`LLM_LATENCY`], like a fast hosted model. Reported: sessions per minute and the
//!    `evaluate_options` latency, for one client over stdio, and for one and four clients,
//!    each on its own connection, to one HTTP server. Every session has its own topic, so the
//!    server's answer cache never answers for the model; every evaluation is checked to have
//!    scored all 24 cells in 8 calls (batches of up to 5 options per criterion).
//! 3. **Start-up**: process spawn to the answer to MCP `initialize` over stdio, median of
//!    [`STARTS`] starts with the plugin compile cache warm, as every start after the first.
//! 4. **Peak memory**: `VmHWM` of each server process, read from `/proc/<pid>/status` before
//!    it is stopped; the four-client workflow run is the figure that counts.
//! 5. **Session stores** (`-- stores`): the store-dependent tools' latency over stdio and the
//!    four-client workflow over HTTP, on the memory store, an SQLite file and a real Redis
//!    on loopback, one after the other in one run. (The other figures use the memory store.)
//!
//! The bench process (clients and mock) and the server share the machine's cores, as a local
//! assistant and its MCP server do. Run with `cargo bench -p decision-matrix --bench server`;
//! BENCHMARKS.md ("MCP server") records the figures beside the Python server's.

// The MCP tests' server launcher and client (`tests/common/`).
#[allow(dead_code)]
#[path = "../tests/common/client.rs"]
mod client;
#[allow(dead_code)]
#[path = "../tests/common/server.rs"]
mod server;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use decision_matrix_testkit::{MockServer, judge};
use rmcp::RoleClient;
use rmcp::service::RunningService;
use serde_json::{Map, Value, json};

/// The mock model's latency per call.
const LLM_LATENCY: Duration = Duration::from_millis(50);
/// Untimed calls per tool before the timed ones.
const WARM_UP_CALLS: usize = 50;
/// Timed calls per tool and transport.
const TIMED_CALLS: usize = 1000;
/// How long the clients loop the workflow, per configuration.
const WORKFLOW_TIME: Duration = Duration::from_secs(15);
/// Untimed workflows each client runs first.
const WARM_UP_WORKFLOWS: usize = 2;
/// Upper bound on the workflows one client runs in [`WORKFLOW_TIME`].
const MAX_WORKFLOWS: usize = 10_000;
/// Timed server starts.
const STARTS: usize = 20;
/// The longest any single call, start or stop may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The Python server's figures on this workload and this kind of machine.
const PYTHON_SESSIONS_PER_MIN: f64 = 85.0;
const PYTHON_EVALUATE_P50: Duration = Duration::from_millis(650);
const PYTHON_STARTUP: Duration = Duration::from_millis(3600);
const PYTHON_PEAK_MB: f64 = 270.0;

/// rmcp's client, connected to a server.
type Client = RunningService<RoleClient, client::Client>;

/// `future`, or a panic naming `what` after [`TIMEOUT`].
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {TIMEOUT:?}"))
}

/// The structured result of a call that must succeed.
async fn call(client: &Client, tool: &str, args: Value) -> Map<String, Value> {
    within(tool, client::ok(client, tool, args)).await
}

// ---------------------------------------------------------------------------------------
// Servers

/// How clients reach the server.
#[derive(Clone, Copy)]
enum Transport {
    Stdio,
    Http,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Stdio => "stdio",
            Transport::Http => "HTTP",
        }
    }
}

/// A server process and its connected clients.
struct Server {
    clients: Vec<Client>,
    pid: u32,
    /// The HTTP server's process; a stdio server's belongs to its client.
    http: Option<tokio::process::Child>,
}

impl Server {
    /// A server on `transport`, started with the extra `serve` arguments `args`, with
    /// `clients` clients, each on its own connection (stdio serves one).
    async fn start(
        transport: Transport,
        clients: usize,
        llm: &MockServer,
        args: &[&str],
    ) -> Server {
        match transport {
            Transport::Stdio => {
                assert_eq!(clients, 1, "a stdio server has one client");
                let (client, _, pid) = within("start-up", client::stdio_server(llm, args)).await;
                Server {
                    clients: vec![client],
                    pid,
                    http: None,
                }
            }
            Transport::Http => {
                let (child, url) = server::http_server(llm, args).await;
                let mut connected = Vec::with_capacity(clients);
                for _ in 0..clients {
                    connected.push(within("initialize", client::http_client(&url)).await.0);
                }
                Server {
                    clients: connected,
                    pid: child.id().expect("the server is running"),
                    http: Some(child),
                }
            }
        }
    }

    /// The server's peak resident set so far (`VmHWM`), in bytes.
    fn peak_memory(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .expect("the server's /proc status");
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in kB");
        kib * 1024
    }

    /// The server's resident set now, by what it is (the binary, the heap, stacks, other
    /// files), largest first, from `/proc/<pid>/smaps`; for telling where peak memory goes.
    fn resident_breakdown(&self) -> Vec<(String, u64)> {
        let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", self.pid))
            .expect("the server's /proc smaps");
        let exe = std::fs::read_link(format!("/proc/{}/exe", self.pid)).ok();
        let mut totals = std::collections::BTreeMap::<String, u64>::new();
        let mut kind = String::new();
        for line in smaps.lines() {
            let mut fields = line.split_whitespace();
            let first = fields.next().unwrap_or_default();
            if first.contains('-') && !first.ends_with(':') {
                // A mapping's header: range, perms, offset, dev, inode, path.
                let path = fields.nth(4).unwrap_or_default();
                kind = match path {
                    "" => "anonymous (allocator arenas, wasm memories and stacks)".to_owned(),
                    "[stack]" => "main thread stack".to_owned(),
                    _ if exe.as_deref().is_some_and(|exe| exe.as_os_str() == path) => {
                        "the decision-matrix binary".to_owned()
                    }
                    other => other.to_owned(),
                };
            } else if first == "Rss:" {
                let kib: u64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                *totals.entry(kind.clone()).or_default() += kib * 1024;
            }
        }
        let mut totals: Vec<_> = totals.into_iter().filter(|(_, b)| *b > 0).collect();
        totals.sort_by_key(|(_, bytes)| std::cmp::Reverse(*bytes));
        totals
    }

    /// CPU time the server process has used so far (user and system), from
    /// `/proc/<pid>/stat`.
    fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .expect("the server's /proc stat");
        // Fields after the command name, which is in parentheses and may contain spaces;
        // utime and stime are the 14th and 15th fields of the line.
        let after_name = stat.rsplit_once(')').expect("stat has a command name").1;
        let ticks: u64 = after_name
            .split_whitespace()
            .skip(11)
            .take(2)
            .map(|field| field.parse::<u64>().expect("utime and stime are numbers"))
            .sum();
        // The kernel reports in clock ticks, 100 per second on Linux.
        Duration::from_millis(ticks * 10)
    }

    /// Disconnects the clients (which ends a stdio server) and stops an HTTP server.
    async fn stop(self) {
        for client in self.clients {
            let _ = within("closing a client", client.cancel()).await;
        }
        if let Some(mut child) = self.http {
            within("stopping the server", child.kill())
                .await
                .expect("stop the server");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Figures

/// Sorted samples.
struct Samples(Vec<Duration>);

impl Samples {
    fn new(mut samples: Vec<Duration>) -> Samples {
        assert!(!samples.is_empty(), "no samples");
        samples.sort_unstable();
        Samples(samples)
    }

    /// The nearest-rank percentile `p` (0–100).
    fn percentile(&self, p: usize) -> Duration {
        let rank = (self.0.len() * p).div_ceil(100).max(1);
        self.0[rank - 1]
    }

    fn p50(&self) -> Duration {
        self.percentile(50)
    }

    fn p99(&self) -> Duration {
        self.percentile(99)
    }
}

/// `d` in µs below a millisecond, in ms below a second (three significant digits), else in s.
fn time(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 1.0 {
        format!("{} µs", d.as_micros())
    } else if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1e3)
    }
}

fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

// ---------------------------------------------------------------------------------------
// 1. Tool latency

const OPTIONS: usize = 5;
const CRITERIA: usize = 4;

fn option_names(count: usize) -> Vec<String> {
    (0..count).map(|o| format!("option {o}")).collect()
}

/// `start_decision_analysis` on `topic`, [`OPTIONS`] options, scored by litellm, with
/// `criteria` initial criteria.
fn start_args(topic: &str, criteria: usize) -> Value {
    let criteria: Vec<Value> = (0..criteria).map(criterion).collect();
    json!({
        "topic": topic,
        "options": option_names(OPTIONS),
        "model_backend": "litellm",
        "initial_criteria": criteria,
    })
}

fn criterion(index: usize) -> Value {
    json!({
        "name": format!("criterion {index}"),
        "description": format!("how well the option does on aspect {index}"),
        "weight": 1.0 + index as f64 / 2.0,
    })
}

/// A fresh store holding one evaluated session of [`OPTIONS`] × [`CRITERIA`]; its id.
async fn fixture(client: &Client) -> String {
    call(client, "clear_all_sessions", json!({})).await;
    let started = call(
        client,
        "start_decision_analysis",
        start_args("Choose a platform", CRITERIA),
    )
    .await;
    let id = started["session_id"].as_str().expect("id").to_owned();
    call(client, "evaluate_options", json!({"session_id": id})).await;
    id
}

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

/// Latency of every tool over `transport`, in [`cases`] order.
/// `only`, when not empty, restricts the tools measured.
async fn tool_latencies(
    transport: Transport,
    llm: &MockServer,
    only: &[String],
    args: &[&str],
) -> Vec<(&'static str, Samples)> {
    let server = Server::start(transport, 1, llm, args).await;
    let client = &server.clients[0];
    let mut latencies = Vec::new();
    let selected = cases()
        .into_iter()
        .filter(|case| only.is_empty() || only.iter().any(|tool| tool == case.timed.tool));
    for case in selected {
        let cpu_before = server.cpu_time();
        let samples = time_case(client, &case).await;
        // Server CPU per timed call, the untimed set-up and undo calls included: a figure
        // that does not depend on how busy the machine is.
        let cpu = (server.cpu_time() - cpu_before) / (WARM_UP_CALLS + TIMED_CALLS) as u32;
        eprintln!(
            "{:>5} {:<24} p50 {:>9}  p99 {:>9}  server CPU {:>9} per call",
            transport.name(),
            case.timed.tool,
            time(samples.p50()),
            time(samples.p99()),
            time(cpu)
        );
        latencies.push((case.timed.tool, samples));
    }
    server.stop().await;
    latencies
}

// ---------------------------------------------------------------------------------------
// 2. Workflow throughput and 4. peak memory

/// One run of the reference workflow on its own `topic`; the `evaluate_options` latency.
async fn workflow(client: &Client, topic: &str) -> Duration {
    let started = call(client, "start_decision_analysis", start_args(topic, 0)).await;
    let id = started["session_id"].as_str().expect("id");
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
    let evaluated = call(client, "evaluate_options", json!({"session_id": id})).await;
    let evaluate = started.elapsed();
    let summary = &evaluated["summary"];
    assert_eq!(
        (
            &evaluated["evaluation_complete"],
            &summary["successful_scores"],
            &summary["llm_calls"]
        ),
        (&json!(true), &json!((OPTIONS + 1) * CRITERIA), &json!(8)),
        "every cell scored by the model, in batches: {evaluated:?}"
    );
    let matrix = call(client, "get_decision_matrix", json!({"session_id": id})).await;
    assert_eq!(
        matrix["rankings"].as_array().map(Vec::len),
        Some(OPTIONS + 1)
    );
    evaluate
}

/// Workflows run by one client until `deadline` (at least `min`), each on a topic of its
/// own; the `evaluate_options` latencies.
async fn client_loop(client: &Client, name: &str, min: usize, deadline: Instant) -> Vec<Duration> {
    let mut evaluations = Vec::new();
    while evaluations.len() < MAX_WORKFLOWS
        && (evaluations.len() < min || Instant::now() < deadline)
    {
        let topic = format!("Choose a platform ({name}, session {})", evaluations.len());
        evaluations.push(workflow(client, &topic).await);
    }
    evaluations
}

/// Every client of `server` looping the workflow at once until `deadline`, the topics
/// marked with `label`; the `evaluate_options` latencies of them all.
async fn all_clients(server: &Server, label: &str, min: usize, deadline: Instant) -> Vec<Duration> {
    let loops = server
        .clients
        .iter()
        .enumerate()
        .map(|(index, client)| async move {
            client_loop(client, &format!("{label}, client {index}"), min, deadline).await
        });
    futures_util::future::join_all(loops)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// What one workflow configuration achieved.
struct Throughput {
    transport: Transport,
    clients: usize,
    sessions: usize,
    elapsed: Duration,
    evaluate: Samples,
    peak_memory: u64,
}

impl Throughput {
    fn per_minute(&self) -> f64 {
        self.sessions as f64 * 60.0 / self.elapsed.as_secs_f64()
    }
}

/// Set (to anything) to print each workflow server's resident set by mapping before it
/// stops; set to a number of seconds to also keep the server running that long, for
/// inspecting it from outside (`/proc/<pid>/smaps`, `pagemap`).
const RESIDENT_ENV: &str = "DMM_BENCH_RESIDENT";

/// `clients` clients of one server on `transport` looping the workflow.
/// `args` are extra `serve` arguments.
async fn throughput(
    transport: Transport,
    clients: usize,
    llm: &MockServer,
    args: &[&str],
) -> Throughput {
    let server = Server::start(transport, clients, llm, args).await;
    all_clients(&server, "warm-up", WARM_UP_WORKFLOWS, Instant::now()).await;
    let started = Instant::now();
    let evaluations = all_clients(&server, "timed", 1, started + WORKFLOW_TIME).await;
    let elapsed = started.elapsed();
    let peak_memory = server.peak_memory();
    if std::env::var_os(RESIDENT_ENV).is_some() {
        for (what, bytes) in server.resident_breakdown() {
            eprintln!("  resident {:>6.1} MB  {what}", megabytes(bytes));
        }
        if let Some(secs) = std::env::var(RESIDENT_ENV)
            .ok()
            .and_then(|s| s.parse().ok())
        {
            eprintln!("  holding server {} for {secs} s", server.pid);
            tokio::time::sleep(Duration::from_secs(secs)).await;
        }
    }
    server.stop().await;
    let result = Throughput {
        transport,
        clients,
        sessions: evaluations.len(),
        elapsed,
        evaluate: Samples::new(evaluations),
        peak_memory,
    };
    eprintln!(
        "{:>5} x{} workflow: {} sessions in {} = {:.0}/min, evaluate p50 {}, peak {:.1} MB",
        transport.name(),
        clients,
        result.sessions,
        time(result.elapsed),
        result.per_minute(),
        time(result.evaluate.p50()),
        megabytes(result.peak_memory)
    );
    result
}

// ---------------------------------------------------------------------------------------
// 3. Start-up

/// Spawn to `initialize` answered over stdio, [`STARTS`] times after one start that warms
/// the plugin compile cache.
async fn startups(llm: &MockServer) -> Samples {
    let mut samples = Vec::with_capacity(STARTS);
    for i in 0..=STARTS {
        let started = Instant::now();
        let server = Server::start(Transport::Stdio, 1, llm, &[]).await;
        let elapsed = started.elapsed();
        server.stop().await;
        if i > 0 {
            samples.push(elapsed);
        }
    }
    let samples = Samples::new(samples);
    eprintln!(
        "start-up: median {}, fastest {}, slowest {}",
        time(samples.p50()),
        time(samples.percentile(0)),
        time(samples.percentile(100))
    );
    samples
}

// ---------------------------------------------------------------------------------------
// Report

fn print_latencies(stdio: &[(&str, Samples)], http: &[(&str, Samples)]) {
    println!("\n| tool | stdio p50 | stdio p99 | HTTP p50 | HTTP p99 |");
    println!("|---|---|---|---|---|");
    for ((tool, s), (_, h)) in stdio.iter().zip(http) {
        println!(
            "| `{tool}` | {} | {} | {} | {} |",
            time(s.p50()),
            time(s.p99()),
            time(h.p50()),
            time(h.p99())
        );
    }
}

fn print_throughput(runs: &[Throughput]) {
    println!(
        "\n| transport | clients | sessions | time | sessions/min | evaluate p50 | evaluate p99 | peak memory |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for run in runs {
        println!(
            "| {} | {} | {} | {} | {:.0} | {} | {} | {:.1} MB |",
            run.transport.name(),
            run.clients,
            run.sessions,
            time(run.elapsed),
            run.per_minute(),
            time(run.evaluate.p50()),
            time(run.evaluate.p99()),
            megabytes(run.peak_memory)
        );
    }
}

/// The figures against the Python server's and the targets.
fn print_summary(latencies: &[&(&str, Samples)], runs: &[Throughput], startup: &Samples) {
    let slowest = |pick: fn(&Samples) -> Duration| {
        latencies
            .iter()
            .map(|(tool, s)| (pick(s), *tool))
            .max()
            .expect("tools")
    };
    let (p50, p50_tool) = slowest(Samples::p50);
    let (p99, p99_tool) = slowest(Samples::p99);
    let four = runs.last().expect("the four-client run");
    let worst_evaluate = runs.iter().map(|r| r.evaluate.p50()).max().expect("runs");
    let target_rate = 20.0 * PYTHON_SESSIONS_PER_MIN;
    println!("\n| figure | decision-matrix | Python server | target | |");
    println!("|---|---|---|---|---|");
    println!(
        "| tool latency p50, slowest tool (`{p50_tool}`) | {} | | < 1 ms | {} |",
        time(p50),
        verdict(p50 < Duration::from_millis(1))
    );
    println!(
        "| tool latency p99, slowest tool (`{p99_tool}`) | {} | | < 3 ms | {} |",
        time(p99),
        verdict(p99 < Duration::from_millis(3))
    );
    for run in runs {
        let (target, met) = if run.clients == four.clients {
            let met = run.per_minute() >= target_rate;
            (format!("≥ {target_rate:.0}/min"), verdict(met))
        } else {
            (String::new(), "")
        };
        println!(
            "| sessions/min, {} × {} | {:.0} | ≈ {PYTHON_SESSIONS_PER_MIN:.0} | {target} | {met} |",
            run.transport.name(),
            run.clients,
            run.per_minute(),
        );
    }
    println!(
        "| `evaluate_options` p50, worst configuration | {} | ≈ {} | ≤ {} | {} |",
        time(worst_evaluate),
        time(PYTHON_EVALUATE_P50),
        time(LLM_LATENCY * 6 / 5),
        verdict(worst_evaluate <= LLM_LATENCY * 6 / 5)
    );
    println!(
        "| start-up to `initialize`, median | {} | ≈ {} | < {} | {} |",
        time(startup.p50()),
        time(PYTHON_STARTUP),
        time(PYTHON_STARTUP / 20),
        verdict(startup.p50() < PYTHON_STARTUP / 20)
    );
    println!(
        "| peak memory (VmHWM), HTTP × {} | {:.1} MB | ≈ {PYTHON_PEAK_MB:.0} MB | < {:.0} MB | {} |",
        four.clients,
        megabytes(four.peak_memory),
        PYTHON_PEAK_MB / 10.0,
        verdict(megabytes(four.peak_memory) < PYTHON_PEAK_MB / 10.0)
    );
}

// ---------------------------------------------------------------------------------------
// 5. Session stores

/// The tools whose cost depends on the store: reads, writes of the session, of one cell, and
/// of the whole store.
const STORE_TOOLS: [&str; 8] = [
    "start_decision_analysis",
    "add_criterion",
    "update_criterion",
    "set_score",
    "get_decision_matrix",
    "export_matrix",
    "list_sessions",
    "current_session",
];

/// Tool latency over stdio and the four-client workflow over HTTP on each session store, in
/// one run: memory, an SQLite file, and a real Redis on loopback.
async fn stores(llm: &MockServer) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let redis = decision_matrix_testkit::redis_server::RedisServer::start(None);
    let sqlite = format!("sqlite://{}", dir.path().join("sessions.db").display());
    let stores = [
        ("memory", "memory".to_owned()),
        ("SQLite", sqlite),
        ("Redis", redis.url()),
    ];
    let only: Vec<String> = STORE_TOOLS.iter().map(|tool| (*tool).to_owned()).collect();
    let mut latencies = Vec::new();
    let mut runs = Vec::new();
    for (name, url) in &stores {
        let args = ["--store", url.as_str()];
        eprintln!("store: {name}");
        latencies.push(tool_latencies(Transport::Stdio, llm, &only, &args).await);
        runs.push(throughput(Transport::Http, 4, llm, &args).await);
    }
    println!();
    println!(
        "| tool (stdio) | {} |",
        stores
            .iter()
            .map(|(name, _)| format!("{name} p50 / p99"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|---|---|---|");
    for (index, tool) in STORE_TOOLS.iter().enumerate() {
        let cells: Vec<String> = latencies
            .iter()
            .map(|per_store| {
                let samples = &per_store[index].1;
                format!("{} / {}", time(samples.p50()), time(samples.p99()))
            })
            .collect();
        println!("| `{tool}` | {} |", cells.join(" | "));
    }
    println!();
    println!(
        "| store | sessions/min, HTTP × 4 | relative to memory | `evaluate_options` p50 | p99 | peak memory |"
    );
    println!("|---|---|---|---|---|---|");
    let memory_rate = runs[0].per_minute();
    for ((name, _), run) in stores.iter().zip(&runs) {
        println!(
            "| {name} | {:.0} | {:.2} | {} | {} | {:.1} MB |",
            run.per_minute(),
            run.per_minute() / memory_rate,
            time(run.evaluate.p50()),
            time(run.evaluate.p99()),
            megabytes(run.peak_memory)
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let llm = MockServer::start_unrecorded(judge::openai_router(LLM_LATENCY)).await;
    // `cargo bench --bench server -- latency` measures the tool latencies alone, for
    // profiling the server under a steady stream of calls; `-- latency TOOL...` measures
    // those tools only; `-- stores` compares the session stores; `-- memory` runs the
    // four-client workflow alone (with `DMM_BENCH_RESIDENT` set, to see where memory goes).
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    if args.first().is_some_and(|mode| mode == "stores") {
        stores(&llm).await;
        return;
    }
    if args.first().is_some_and(|mode| mode == "memory") {
        throughput(Transport::Http, 4, &llm, &[]).await;
        return;
    }
    if let Some((_, only)) = args.split_first().filter(|(mode, _)| *mode == "latency") {
        let stdio = tool_latencies(Transport::Stdio, &llm, only, &[]).await;
        let http = tool_latencies(Transport::Http, &llm, only, &[]).await;
        print_latencies(&stdio, &http);
        return;
    }
    let startup = startups(&llm).await;
    let stdio = tool_latencies(Transport::Stdio, &llm, &[], &[]).await;
    let http = tool_latencies(Transport::Http, &llm, &[], &[]).await;
    let mut runs = Vec::new();
    for (transport, clients) in [
        (Transport::Stdio, 1),
        (Transport::Http, 1),
        (Transport::Http, 4),
    ] {
        runs.push(throughput(transport, clients, &llm, &[]).await);
    }
    print_latencies(&stdio, &http);
    print_throughput(&runs);
    let every_latency: Vec<_> = stdio.iter().chain(&http).collect();
    print_summary(&every_latency, &runs, &startup);
}
