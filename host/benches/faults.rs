//! Fault evidence: what the server does when its backend, its plugins or its own process
//! fail, as markdown tables for `docs/reliability.md` ("Faults").
//!
//! The counts matter more than the times here, so the figures are reproducible: which backend
//! calls fail is decided from each request's content by a seeded hash
//! (`decision_matrix_testkit::faults`), not by arrival order, so concurrent evaluations meet
//! the same faults on every run.
//!
//! 1. **Fault rates** (`-- rates`): the built `decision-matrix serve` binary over streamable
//!    HTTP, its built-in `litellm` plugin calling a loopback OpenAI-compatible judge that
//!    fails 0, 10, 30 or 50 % of calls (429 with a retry hint, 500, a hang past the backend
//!    timeout, a malformed answer, mixed evenly), then 30 % of each kind alone. Workload:
//!    [`SESSIONS`] sessions of 6 options × 4 criteria evaluated at once by four clients,
//!    batching on as by default. Every cell is read back with `get_decision_matrix` and
//!    checked against the judge's answer for its own option and criterion; every failed cell
//!    must be among the errors `evaluate_options` reported. The circuit breaker is off in
//!    these rows (it counts consecutive failures across concurrent calls, so whether it trips
//!    depends on arrival order); the second table has it on, as by default, each rate run
//!    [`BREAKER_RUNS`] times since its outcome depends on that order.
//! 2. **Down and up** (`-- breaker`): the same server with the breaker on; the judge answers,
//!    then fails every call (500s, or hangs past the timeout), then recovers. Each step is an
//!    `evaluate_options` on a fresh session, with the calls that reached the judge, the
//!    call's latency, and the breaker's state as `server_stats` reports it.
//! 3. **Adversarial plugins** (`-- plugins`): the fixture plugins (`plugins/fixtures/`) in an
//!    in-process `PluginHost` with the server's default limits, each attack timed until the
//!    host stops it, then an ordinary call to show the host still serves. (The server cannot
//!    be made to run an attack: the fixture takes its command from the start of the prompt,
//!    which the server always begins with "Decision:".)
//! 4. **`kill -9` mid-evaluation** (`-- kill`): the server over HTTP with an SQLite file, then
//!    a real Redis, four sessions evaluating against a judge that answers three criteria at
//!    once and hangs on the fourth; SIGKILL once the fast cells are saved, restart on the same
//!    store, and check what survived and what the next `evaluate_options` recomputes.
//!
//! Run with `cargo bench -p decision-matrix --bench faults` (all four, about two minutes) or
//! with one of the filters above. Needs `redis-server` on `PATH` for the Redis half of 4.

// The MCP tests' server launcher and client (`tests/common/`).
#[allow(dead_code)]
#[path = "../tests/common/client.rs"]
mod client;
#[allow(dead_code)]
#[path = "../tests/common/server.rs"]
mod server;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use decision_matrix_testkit::MockServer;
use decision_matrix_testkit::faults::{Fault, FaultyJudge, Mode};
use decision_matrix_testkit::judge;
use rmcp::RoleClient;
use rmcp::model::CallToolResult;
use rmcp::service::RunningService;
use serde_json::{Map, Value, json};

/// rmcp's client, connected to a server.
type Client = RunningService<RoleClient, client::Client>;

/// The fault schedule's seed.
const SEED: u64 = 2026;
/// Sessions evaluated at once per fault-rate row.
const SESSIONS: usize = 20;
/// Runs of each fault rate with the circuit breaker on, whose outcome depends on timing.
const BREAKER_RUNS: usize = 3;
/// Clients (connections) sharing them.
const CLIENTS: usize = 4;
const OPTIONS: [&str; 6] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
const CRITERIA: [&str; 4] = ["cost", "speed", "safety", "support"];
/// Backend calls per session without faults: one per criterion and batch of up to 5 options.
const CALLS_PER_SESSION: usize = 8;
/// The longest any single call, start or stop may take.
const TIMEOUT: Duration = Duration::from_secs(120);

/// The settings every fault run shares: a 1 s backend timeout (the least the configuration
/// allows) so hangs cost seconds, not minutes, and short backoffs; attempts stay at the
/// default 3.
const FAST_FAILURES: [&str; 6] = [
    "--set",
    "evaluation.timeout_seconds=1",
    "--set",
    "evaluation.retry_delay_seconds=0.01",
    "--set",
    "evaluation.max_retry_delay_seconds=0.05",
];

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

/// The structured content of a call that may fail, and whether it failed.
fn content(result: &CallToolResult) -> (bool, Map<String, Value>) {
    let map = match &result.structured_content {
        Some(Value::Object(map)) => map.clone(),
        other => panic!("no structured content: {other:?}"),
    };
    (result.is_error == Some(true), map)
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 1.0 {
        format!("{} µs", d.as_micros())
    } else if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1e3)
    }
}

/// A server over HTTP with `clients` connections.
struct Server {
    child: tokio::process::Child,
    clients: Vec<Client>,
}

impl Server {
    async fn start(llm: &MockServer, args: &[&str], clients: usize) -> Server {
        let (child, url) = server::http_server(llm, args).await;
        let mut connected = Vec::with_capacity(clients);
        for _ in 0..clients {
            connected.push(within("initialize", client::http_client(&url)).await.0);
        }
        Server {
            child,
            clients: connected,
        }
    }

    fn client(&self, index: usize) -> &Client {
        &self.clients[index % self.clients.len()]
    }

    async fn stop(mut self) {
        for client in self.clients.drain(..) {
            let _ = within("closing a client", client.cancel()).await;
        }
        within("stopping the server", self.child.kill())
            .await
            .expect("stop the server");
    }
}

/// Starts a session of [`OPTIONS`] × `criteria` on `topic`, scored by litellm; its id.
async fn start_session(client: &Client, topic: &str, criteria: &[&str]) -> String {
    let criteria: Vec<Value> = criteria
        .iter()
        .map(|c| json!({"name": c, "description": format!("how good the {c} is"), "weight": 1.0}))
        .collect();
    let started = call(
        client,
        "start_decision_analysis",
        json!({"topic": topic, "options": OPTIONS, "model_backend": "litellm",
               "initial_criteria": criteria}),
    )
    .await;
    started["session_id"].as_str().expect("id").to_owned()
}

/// `evaluate_options` on `session`, its result (an error result included) and its latency.
async fn evaluate(client: &Client, session: &str) -> (bool, Map<String, Value>, Duration) {
    let started = Instant::now();
    let result = within(
        "evaluate_options",
        client::call(client, "evaluate_options", json!({"session_id": session})),
    )
    .await;
    let elapsed = started.elapsed();
    let (failed, map) = content(&result);
    (failed, map, elapsed)
}

/// The errors an `evaluate_options` result reported, as `(criterion, option) → reason`.
fn reported_errors(result: &Map<String, Value>) -> BTreeMap<(String, String), String> {
    result
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|line| {
            let (criterion, rest) = line.split_once('→').expect("criterion→option: reason");
            let (option, reason) = rest.split_once(": ").expect("option: reason");
            ((criterion.to_owned(), option.to_owned()), reason.to_owned())
        })
        .collect()
}

/// What a failure reason says went wrong, in a word.
fn kind_of(reason: &str) -> &'static str {
    if reason.contains("circuit breaker is open") {
        "breaker open"
    } else if reason.contains("HTTP 429") || reason.contains("rate limit") {
        "429"
    } else if reason.contains("HTTP 500") {
        "500"
    } else if reason.contains("per-call timeout") {
        "timeout"
    } else if reason.contains("unusable answer") {
        "malformed"
    } else {
        "other"
    }
}

/// Every cell of a session, judged against the judge's answer and the reported errors.
#[derive(Debug, Default, Clone)]
struct Cells {
    expected: usize,
    /// Scored with the judge's score and justification for its own option and criterion.
    correct: usize,
    /// Scored with something else, or abstained (the judge never abstains).
    wrong: usize,
    /// Failed, and reported as an error by the evaluation.
    reported: usize,
    /// Missing, or failed without being reported.
    lost: usize,
    /// Reported as an error but not failed in the matrix.
    misreported: usize,
    /// Reported errors by kind.
    kinds: BTreeMap<&'static str, usize>,
    /// Cells still missing.
    missing: usize,
}

impl Cells {
    fn add(&mut self, other: &Cells) {
        self.expected += other.expected;
        self.correct += other.correct;
        self.wrong += other.wrong;
        self.reported += other.reported;
        self.lost += other.lost;
        self.misreported += other.misreported;
        self.missing += other.missing;
        for (kind, n) in &other.kinds {
            *self.kinds.entry(kind).or_default() += n;
        }
    }

    fn kinds(&self) -> String {
        if self.kinds.is_empty() {
            return "—".to_owned();
        }
        self.kinds
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Reads `session`'s matrix and judges every cell; `errors` are those its evaluation
/// reported.
async fn judge_cells(
    client: &Client,
    session: &str,
    errors: &BTreeMap<(String, String), String>,
) -> Cells {
    let matrix = call(
        client,
        "get_decision_matrix",
        json!({"session_id": session}),
    )
    .await;
    let mut cells = Cells::default();
    let table = matrix["matrix"].as_object().expect("matrix");
    for (option, row) in table {
        for (criterion, cell) in row.as_object().expect("row") {
            cells.expected += 1;
            let key = (criterion.clone(), option.clone());
            let reported = errors.get(&key);
            match cell["status"].as_str().expect("status") {
                "scored" => {
                    let right = cell["raw_score"].as_f64()
                        == Some(judge::expected_score(criterion, option))
                        && cell["justification"].as_str()
                            == Some(judge::expected_justification(criterion, option).as_str());
                    if right {
                        cells.correct += 1;
                    } else {
                        eprintln!("WRONG {session} {criterion}×{option}: {cell}");
                        cells.wrong += 1;
                    }
                    if reported.is_some() {
                        cells.misreported += 1;
                    }
                }
                "failed" => match reported {
                    Some(reason) => {
                        cells.reported += 1;
                        *cells.kinds.entry(kind_of(reason)).or_default() += 1;
                    }
                    None => {
                        eprintln!("UNREPORTED FAILURE {session} {criterion}×{option}: {cell}");
                        cells.lost += 1;
                    }
                },
                "missing" => {
                    cells.missing += 1;
                    cells.lost += 1;
                }
                other => {
                    eprintln!("WRONG ({other}) {session} {criterion}×{option}: {cell}");
                    cells.wrong += 1;
                }
            }
        }
    }
    assert_eq!(
        table.len() * CRITERIA.len(),
        OPTIONS.len() * CRITERIA.len(),
        "every option in the matrix"
    );
    cells
}

// ---------------------------------------------------------------------------------------
// 1. Fault rates

/// One row of the fault-rate tables.
struct RateRow {
    label: String,
    cells: Cells,
    calls: usize,
    faults: usize,
    injected: Vec<(Fault, usize)>,
    /// `llm_calls` summed over the evaluations that answered with a summary.
    reported_calls: Option<u64>,
    /// Evaluations that ended as an error result (no cell scored).
    failed_evaluations: usize,
    wall: Duration,
}

/// [`SESSIONS`] sessions evaluated at once against a judge in `mode`; `extra` are more
/// `serve` arguments. The sessions' topics, and so the prompts and the faults drawn for
/// them, depend on `schedule` only: rows with the same schedule meet the same faults.
async fn rate_row(label: &str, schedule: &str, mode: Mode, extra: &[&str]) -> RateRow {
    let judge = FaultyJudge::with_hang(mode, SEED, Duration::from_secs(10));
    let llm = MockServer::start_unrecorded(judge.openai_router()).await;
    let args: Vec<&str> = FAST_FAILURES
        .iter()
        .copied()
        .chain(extra.iter().copied())
        .collect();
    let server = Server::start(&llm, &args, CLIENTS).await;
    let mut sessions = Vec::with_capacity(SESSIONS);
    for index in 0..SESSIONS {
        let topic = format!("Choose a codename, {schedule}, session {index}");
        sessions.push(start_session(server.client(index), &topic, &CRITERIA).await);
    }
    let started = Instant::now();
    let evaluations: Vec<_> = sessions
        .iter()
        .enumerate()
        .map(|(index, session)| {
            let peer = server.client(index).peer().clone();
            let session = session.clone();
            tokio::spawn(async move {
                let request = client::request("evaluate_options", json!({"session_id": session}));
                within("evaluate_options", peer.call_tool(request))
                    .await
                    .expect("the call reaches the server")
            })
        })
        .collect();
    let mut results = Vec::with_capacity(SESSIONS);
    for evaluation in evaluations {
        results.push(content(&evaluation.await.expect("joins")));
    }
    let wall = started.elapsed();
    let mut cells = Cells::default();
    let mut reported_calls = Some(0);
    let mut failed_evaluations = 0;
    for (index, (session, (failed, result))) in sessions.iter().zip(&results).enumerate() {
        if *failed {
            failed_evaluations += 1;
        }
        reported_calls = match (reported_calls, result.get("summary")) {
            (Some(sum), Some(summary)) => summary["llm_calls"].as_u64().map(|n| sum + n),
            _ => None,
        };
        let errors = reported_errors(result);
        cells.add(&judge_cells(server.client(index), session, &errors).await);
    }
    server.stop().await;
    let row = RateRow {
        label: label.to_owned(),
        cells,
        calls: judge.calls(),
        faults: judge.faults(),
        injected: Fault::ALL.iter().map(|&f| (f, judge.injected(f))).collect(),
        reported_calls,
        failed_evaluations,
        wall,
    };
    eprintln!(
        "{label}: {} scored, {} reported, {} lost, {} wrong; {} calls, {} faults, {}",
        row.cells.correct,
        row.cells.reported,
        row.cells.lost,
        row.cells.wrong,
        row.calls,
        row.faults,
        ms(row.wall)
    );
    row
}

fn print_rate_table(rows: &[RateRow], baseline: usize) {
    println!(
        "\n| backend calls failing | cells expected | scored correctly | lost | wrong | reported as errors (kind) | calls made | extra calls | faults injected (429 / 500 / hang / malformed) | wall time |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let injected: Vec<String> = row.injected.iter().map(|(_, n)| n.to_string()).collect();
        let share = if row.calls == 0 {
            0.0
        } else {
            row.faults as f64 * 100.0 / row.calls as f64
        };
        println!(
            "| {} | {} | {} | {} | {} | {} ({}) | {} | {:+} | {} ({:.0} % of calls: {}) | {} |",
            row.label,
            row.cells.expected,
            row.cells.correct,
            row.cells.lost,
            row.cells.wrong,
            row.cells.reported,
            row.cells.kinds(),
            row.calls,
            row.calls as i64 - baseline as i64,
            row.faults,
            share,
            injected.join(" / "),
            ms(row.wall)
        );
    }
    let notes: Vec<String> = rows
        .iter()
        .filter_map(|row| {
            let mut problems = Vec::new();
            if row.cells.misreported > 0 {
                problems.push(format!(
                    "{} errors reported for cells that were scored",
                    row.cells.misreported
                ));
            }
            if let Some(reported) = row.reported_calls
                && reported as usize != row.calls
            {
                problems.push(format!(
                    "the evaluations reported {reported} calls, the judge received {}",
                    row.calls
                ));
            }
            if row.failed_evaluations > 0 {
                problems.push(format!(
                    "{} of {SESSIONS} evaluations scored no cell and answered with an error result",
                    row.failed_evaluations
                ));
            }
            (!problems.is_empty()).then(|| format!("- {}: {}", row.label, problems.join("; ")))
        })
        .collect();
    if !notes.is_empty() {
        println!();
        for note in notes {
            println!("{note}");
        }
    }
}

async fn rates() {
    let mut rows = vec![
        rate_row(
            "0 %",
            "0 %",
            Mode::Healthy,
            &["--set", "evaluation.circuit_breaker=false"],
        )
        .await,
    ];
    let baseline = rows[0].calls;
    assert_eq!(
        baseline,
        SESSIONS * CALLS_PER_SESSION,
        "the fault-free run makes one call per criterion and batch"
    );
    let no_breaker = ["--set", "evaluation.circuit_breaker=false"];
    for percent in [10, 30, 50] {
        rows.push(
            rate_row(
                &format!("{percent} %, mixed"),
                &format!("{percent} %, mixed"),
                Mode::mixed(percent),
                &no_breaker,
            )
            .await,
        );
    }
    for fault in Fault::ALL {
        rows.push(
            rate_row(
                &format!("30 %, {} only", fault.name()),
                &format!("30 %, {} only", fault.name()),
                Mode::only(30, fault),
                &no_breaker,
            )
            .await,
        );
    }
    println!(
        "\nCircuit breaker off; {SESSIONS} sessions of 6 × 4 at once, batch size 5, 3 attempts per call, 1 s backend timeout:"
    );
    print_rate_table(&rows, baseline);

    // The breaker on as by default (5 consecutive failures), open for 1 s.
    let breaker = [
        "--set",
        "evaluation.circuit_breaker=true",
        "--set",
        "evaluation.circuit_breaker_open_seconds=1",
    ];
    // Whether five failures come in a row depends on the order concurrent calls report in,
    // so these rows are run several times, each on the same schedule of faults as the
    // row without the breaker.
    let mut rows = Vec::new();
    for percent in [10, 30, 50] {
        for run in 1..=BREAKER_RUNS {
            rows.push(
                rate_row(
                    &format!("{percent} %, mixed, run {run}"),
                    &format!("{percent} %, mixed"),
                    Mode::mixed(percent),
                    &breaker,
                )
                .await,
            );
        }
    }
    println!(
        "\nCircuit breaker on (opens after 5 consecutive failures, for 1 s), otherwise the same, each rate run {BREAKER_RUNS} times:"
    );
    print_rate_table(&rows, baseline);
}

// ---------------------------------------------------------------------------------------
// 2. Down and up

/// The breaker of `litellm` as `server_stats` reports it: state, calls, rejected calls.
async fn breaker_state(client: &Client) -> (String, u64, u64) {
    let stats = call(client, "server_stats", json!({})).await;
    let litellm = stats["backends"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["name"] == "litellm"))
        .cloned()
        .unwrap_or_default();
    (
        litellm["circuit"].as_str().unwrap_or("—").to_owned(),
        litellm["calls"].as_u64().unwrap_or(0),
        litellm["rejected"].as_u64().unwrap_or(0),
    )
}

/// How long the breaker stays open in the down-and-up runs.
const OPEN_FOR: Duration = Duration::from_secs(2);

async fn down_and_up(down: Fault) {
    let judge = FaultyJudge::with_hang(Mode::Healthy, SEED, Duration::from_secs(10));
    let llm = MockServer::start_unrecorded(judge.openai_router()).await;
    let open = format!(
        "evaluation.circuit_breaker_open_seconds={}",
        OPEN_FOR.as_secs()
    );
    let args: Vec<&str> = FAST_FAILURES
        .iter()
        .copied()
        .chain(["--set", "evaluation.circuit_breaker=true", "--set", &open])
        .collect();
    let server = Server::start(&llm, &args, 1).await;
    let client = server.client(0);
    println!(
        "\nBackend down with {} on every call, then back (threshold 5 consecutive failures, open for {} s, 1 s timeout, 3 attempts):",
        match down {
            Fault::Hang => "a hang past the timeout",
            Fault::ServerError => "HTTP 500",
            Fault::RateLimited => "HTTP 429",
            Fault::Malformed => "a malformed answer",
        },
        OPEN_FOR.as_secs()
    );
    println!(
        "\n| step | backend | `evaluate_options` | cells scored / failed (kind) | calls reaching the backend | latency | breaker after (`server_stats`) | calls refused by the breaker so far |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut step = 0;
    let mut run = |backend: &'static str, what: &'static str| {
        step += 1;
        let step = step;
        let judge = judge.clone();
        async move {
            let topic = format!("Choose a codename, step {step}");
            let session = start_session(client, &topic, &CRITERIA).await;
            let before = judge.calls();
            let (failed, result, latency) = evaluate(client, &session).await;
            let calls = judge.calls() - before;
            let errors = reported_errors(&result);
            let cells = judge_cells(client, &session, &errors).await;
            assert_eq!((cells.lost, cells.wrong), (0, 0), "step {step}");
            let (state, _, rejected) = breaker_state(client).await;
            println!(
                "| {step}. {what} | {backend} | {} | {} / {} ({}) | {calls} | {} | {state} | {rejected} |",
                if failed { "error result" } else { "answered" },
                cells.correct,
                cells.reported,
                cells.kinds(),
                ms(latency)
            );
        }
    };
    // The open period counts from the failure that opened the breaker; `server_stats` says
    // when it is over.
    let wait_half_open = |backend: &'static str| async move {
        let waiting = Instant::now();
        let deadline = waiting + OPEN_FOR + Duration::from_secs(10);
        let (state, rejected) = loop {
            let (state, _, rejected) = breaker_state(client).await;
            if state != "open" || Instant::now() > deadline {
                break (state, rejected);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        println!(
            "| wait until the open period is over | {backend} | — | — | 0 | {} | {state} | {rejected} |",
            ms(waiting.elapsed()),
        );
    };
    run("up", "healthy").await;
    judge.set(Mode::Always(down));
    run("down", "backend goes down").await;
    run("down", "breaker open").await;
    wait_half_open("down").await;
    run("down", "probe while still down").await;
    judge.set(Mode::Healthy);
    run("up", "backend back, breaker open again").await;
    wait_half_open("up").await;
    run("up", "probe after recovery").await;
    run("up", "closed again").await;
    server.stop().await;
}

async fn breaker() {
    down_and_up(Fault::ServerError).await;
    down_and_up(Fault::Hang).await;
}

// ---------------------------------------------------------------------------------------
// 3. Adversarial plugins

mod adversary {
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    use axum::Router;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::{any, get};
    use decision_matrix::plugins::bindings::llm_backend::{GenerateRequest, Message, Role};
    use decision_matrix::plugins::bindings::scoring_export::{Cell, Criterion, Matrix};
    use decision_matrix::plugins::grants::{Grant, GrantsConfig, HostPattern, SecretSource};
    use decision_matrix::plugins::{
        BackendPlugin, CallError, PluginCatalog, PluginHost, PluginSettings,
    };
    use decision_matrix_testkit::MockServer;

    use super::ms;

    const SECRET: &str = "sk-bench-0123456789abcdef-never-in-the-guest";

    fn request(command: &str) -> GenerateRequest {
        GenerateRequest {
            model: None,
            messages: vec![Message {
                role: Role::User,
                content: command.to_owned(),
            }],
            temperature: None,
            max_tokens: None,
            stop: Vec::new(),
            response_schema: None,
            extra: Vec::new(),
        }
    }

    async fn run(plugin: &BackendPlugin, command: &str) -> Result<String, CallError> {
        plugin.generate(request(command)).await.map(|g| g.text)
    }

    fn pattern(text: &str) -> HostPattern {
        text.parse().expect("host pattern")
    }

    /// A server echoing the request's headers and body, with the `authorization` header
    /// also echoed back as a response header.
    async fn echo_server() -> MockServer {
        MockServer::start(Router::new().route(
            "/{*path}",
            any(|headers: HeaderMap, body: axum::body::Bytes| async move {
                let mut text = String::new();
                for (name, value) in &headers {
                    text.push_str(&format!("{name}={}\n", value.to_str().unwrap_or("?")));
                }
                text.push_str(&String::from_utf8_lossy(&body));
                text
            }),
        ))
        .await
    }

    /// One attack's outcome.
    struct Row {
        attack: &'static str,
        answer: String,
        stopped_after: Duration,
        requests_out: Option<usize>,
        echo_after: Duration,
    }

    /// `text` for a table cell: one line, no machine path or port number (they change from
    /// run to run), at most 200 characters.
    fn short(text: &str) -> String {
        let line = text
            .lines()
            .next()
            .unwrap_or_default()
            .replace(env!("DMX_BUILT_PLUGINS_DIR"), "<plugins dir>")
            .replace('|', "\\|");
        let mut masked = String::with_capacity(line.len());
        let mut rest = line.as_str();
        while let Some(at) = rest.find("127.0.0.1:") {
            let (before, after) = rest.split_at(at + "127.0.0.1:".len());
            masked.push_str(before);
            let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits > 0 {
                masked.push_str("PORT");
            }
            rest = &after[digits..];
        }
        masked.push_str(rest);
        if masked.chars().count() > 200 {
            format!("{}…", masked.chars().take(200).collect::<String>())
        } else {
            masked
        }
    }

    /// The echo after an attack: the host must still answer, and correctly.
    async fn echo(plugin: &BackendPlugin) -> Duration {
        let started = Instant::now();
        let answer = run(plugin, "echo still here")
            .await
            .expect("echo after an attack");
        assert_eq!(answer, "still here");
        started.elapsed()
    }

    pub async fn attacks() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("key"), SECRET).expect("secret file");
        let granted = echo_server().await;
        let other = echo_server().await;
        let huge = MockServer::start(
            Router::new().route("/huge", get(|| async { vec![b'x'; 20 * 1024 * 1024] })),
        )
        .await;
        let redirect = MockServer::start(Router::new().route(
            "/jump",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [("location", "http://169.254.169.254/latest/meta-data")],
                    "",
                )
            }),
        ))
        .await;
        // The server's default limits; the adversary's plugin.toml asks for 32 MiB, 2 s of
        // CPU and 10 s of wall time, the scoring loop for 500 ms of CPU.
        let settings = PluginSettings {
            dir: Some(env!("DMX_BUILT_PLUGINS_DIR").into()),
            cache_dir: Some(dir.path().join("cache")),
            ..PluginSettings::default()
        };
        let mut grants = GrantsConfig::default();
        grants.secrets.insert(
            "test-key".to_owned(),
            SecretSource::File {
                file: dir.path().join("key"),
            },
        );
        let base = pattern(&granted.base_url());
        // The echo server, the huge and redirecting ones are granted; `other` is granted as a
        // host but the secret is bound to `granted` only.
        grants.grants.insert(
            "fixture-adversary".to_owned(),
            Grant {
                hosts: vec![
                    base.clone(),
                    pattern(&other.base_url()),
                    pattern(&huge.base_url()),
                    pattern(&redirect.base_url()),
                ],
                allow_private: true,
                secrets: BTreeMap::from([("test-key".to_owned(), vec![base])]),
                config: BTreeMap::new(),
            },
        );
        let host = PluginHost::new(settings.clone(), grants).expect("host");
        let catalog = PluginCatalog::load(&host, host.settings().plugins_dir().as_deref());
        let plugin = catalog
            .backend("fixture-adversary")
            .expect("fixture-adversary loaded")
            .clone();
        // The same plugin without allow_private: loopback is then out of reach.
        let mut strict_grants = GrantsConfig::default();
        strict_grants.grants.insert(
            "fixture-adversary".to_owned(),
            Grant {
                hosts: vec![pattern(&granted.base_url())],
                ..Grant::default()
            },
        );
        let strict_host = PluginHost::new(
            PluginSettings {
                cache_dir: Some(dir.path().join("cache")),
                ..settings.clone()
            },
            strict_grants,
        )
        .expect("host");
        let strict_catalog = PluginCatalog::load(
            &strict_host,
            strict_host.settings().plugins_dir().as_deref(),
        );
        let strict = strict_catalog
            .backend("fixture-adversary")
            .expect("fixture-adversary loaded")
            .clone();

        echo(&plugin).await;
        let mut rows = Vec::new();
        let attacks: Vec<(&'static str, &BackendPlugin, String, Option<&MockServer>)> = vec![
            ("infinite loop", &plugin, "loop".to_owned(), None),
            (
                "memory bomb (1 MiB blocks until refused)",
                &plugin,
                "oom".to_owned(),
                None,
            ),
            ("panic", &plugin, "panic".to_owned(), None),
            (
                "blocking sleep of 60 s",
                &plugin,
                "sleep 60000".to_owned(),
                None,
            ),
            (
                "granted secret sent to a host it is not bound to",
                &plugin,
                format!("fetch GET {}/steal auth=bearer:test-key", other.base_url()),
                Some(&other),
            ),
            (
                "secret never granted (`aws-root`)",
                &plugin,
                format!(
                    "fetch GET {}/steal auth=bearer:aws-root",
                    granted.base_url()
                ),
                Some(&granted),
            ),
            (
                "https host outside the allow-list",
                &strict,
                format!("fetch GET https://{}/x", other.addr()),
                Some(&other),
            ),
            (
                "loopback without `allow_private`",
                &strict,
                format!("fetch GET {}/x", granted.base_url()),
                Some(&granted),
            ),
            (
                "20 MiB response (cap 16 MiB)",
                &plugin,
                format!("fetch GET {}/huge", huge.base_url()),
                None,
            ),
            (
                "redirect to the cloud metadata address",
                &plugin,
                format!("fetch GET {}/jump", redirect.base_url()),
                None,
            ),
            (
                "read `/etc/passwd`, list `/`, write a file",
                &plugin,
                "files".to_owned(),
                None,
            ),
            (
                "read the environment and arguments",
                &plugin,
                "env".to_owned(),
                None,
            ),
        ];
        for (attack, target, command, watched) in attacks {
            let before = watched.map(|s| s.requests().len());
            let started = Instant::now();
            let outcome = run(target, &command).await;
            let stopped_after = started.elapsed();
            let answer = match outcome {
                // A response: its status and where it points (dates and sizes change).
                Ok(text) if text.starts_with("status=") => format!(
                    "answered: {}",
                    text.lines()
                        .filter(|l| l.starts_with("status=") || l.starts_with("location:"))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                Ok(text) => format!("answered: {}", text.trim_end().replace('\n', "; ")),
                Err(error) => error.to_string(),
            };
            assert!(
                !answer.contains(SECRET),
                "{attack}: the guest saw the secret"
            );
            let requests_out = watched.zip(before).map(|(s, b)| s.requests().len() - b);
            rows.push(Row {
                attack,
                answer,
                stopped_after,
                requests_out,
                echo_after: echo(target).await,
            });
        }

        // The secret is injected on the way out and scrubbed from what comes back.
        let started = Instant::now();
        let answer = run(
            &plugin,
            &format!(
                "fetch GET {}/v1 auth=bearer:test-key header=authorization:Bearer-guest",
                granted.base_url()
            ),
        )
        .await
        .expect("allowed request");
        let sent = granted
            .requests()
            .last()
            .and_then(|r| r.header("authorization").map(str::to_owned));
        assert_eq!(sent, Some(format!("Bearer {SECRET}")));
        assert!(!answer.contains(SECRET));
        rows.push(Row {
            attack: "read the granted secret back from the server's echo",
            answer: format!(
                "sent with the secret (the guest's own `authorization` header stripped); the echo reached the guest as `{}`",
                answer
                    .lines()
                    .find(|l| l.starts_with("authorization="))
                    .unwrap_or("?")
            ),
            stopped_after: started.elapsed(),
            requests_out: Some(1),
            echo_after: echo(&plugin).await,
        });

        // A scoring strategy that never returns.
        let looping = catalog
            .scorer("fixture-scoring-loop")
            .expect("fixture-scoring-loop loaded")
            .clone();
        let matrix = Matrix {
            options: vec!["a".into(), "b".into()],
            criteria: vec![Criterion {
                name: "c".into(),
                weight: 1.0,
            }],
            cells: vec![Cell::Scored(3.0), Cell::Scored(4.0)],
        };
        let started = Instant::now();
        let error = looping
            .rank(matrix.clone(), Vec::new())
            .await
            .expect_err("the loop is stopped");
        let stopped_after = started.elapsed();
        let started = Instant::now();
        let ranked = catalog
            .scorer("weighted-average")
            .expect("built-in")
            .rank(matrix, Vec::new())
            .await
            .expect("rank");
        assert_eq!(ranked[0].option_index, 1);
        rows.push(Row {
            attack: "scoring strategy that loops forever (`scoring-loop`)",
            answer: error.to_string(),
            stopped_after,
            requests_out: None,
            echo_after: started.elapsed(),
        });
        let refused = catalog
            .failures()
            .iter()
            .map(ToString::to_string)
            .find(|f| f.contains("scoring-http"))
            .expect("scoring-http refused");

        println!(
            "\n| attack (fixture `adversary` unless named) | what the host answers | stopped after | requests that left the host | next ordinary call |"
        );
        println!("|---|---|---|---|---|");
        for row in &rows {
            println!(
                "| {} | {} | {} | {} | ok, {} |",
                row.attack,
                short(&row.answer),
                ms(row.stopped_after),
                row.requests_out.map_or("—".to_owned(), |n| n.to_string()),
                ms(row.echo_after)
            );
        }
        println!(
            "| scoring strategy importing the network (`scoring-http`) | refused at load: {} | at load | — | other plugins load |",
            short(&refused)
        );

        // Other calls while an attack runs: a loop holds one of the two workers for its 2 s
        // CPU budget; echo calls keep being answered on the other.
        let spinning = tokio::spawn({
            let plugin = plugin.clone();
            async move { run(&plugin, "loop").await }
        });
        let mut latencies = Vec::new();
        while !spinning.is_finished() && latencies.len() < 100_000 {
            let started = Instant::now();
            let answer = run(&plugin, "echo during")
                .await
                .expect("echo during the loop");
            assert_eq!(answer, "during");
            latencies.push(started.elapsed());
        }
        let stopped = spinning.await.expect("joins");
        assert!(matches!(stopped, Err(CallError::CpuBudget { .. })));
        latencies.sort();
        let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
        println!(
            "\nWhile one `loop` call spun until its CPU budget stopped it, {} ordinary calls were answered one after another on the other worker (p50 {}, p99 {}, slowest {}).",
            latencies.len(),
            ms(at(50)),
            ms(at(99)),
            ms(*latencies.last().expect("calls"))
        );
    }
}

// ---------------------------------------------------------------------------------------
// 4. kill -9

/// Sessions under evaluation when the server is killed.
const KILLED_SESSIONS: usize = 4;
/// The criteria of those sessions: the judge hangs on `slow` until released.
const KILL_CRITERIA: [&str; 4] = ["cost", "speed", "safety", "slow"];

/// `(scored correctly, wrong, failed, missing)` of `session`.
async fn census(client: &Client, session: &str) -> (usize, usize, usize, usize) {
    let matrix = call(
        client,
        "get_decision_matrix",
        json!({"session_id": session}),
    )
    .await;
    let (mut right, mut wrong, mut failed, mut missing) = (0, 0, 0, 0);
    for (option, row) in matrix["matrix"].as_object().expect("matrix") {
        for (criterion, cell) in row.as_object().expect("row") {
            match cell["status"].as_str().expect("status") {
                "scored"
                    if cell["raw_score"].as_f64()
                        == Some(judge::expected_score(criterion, option))
                        && cell["justification"].as_str()
                            == Some(judge::expected_justification(criterion, option).as_str()) =>
                {
                    right += 1
                }
                "failed" => failed += 1,
                "missing" => missing += 1,
                _ => {
                    eprintln!("WRONG {criterion}×{option}: {cell}");
                    wrong += 1
                }
            }
        }
    }
    (right, wrong, failed, missing)
}

async fn kill_nine(store_name: &str, store: &str) {
    let (llm, hang) = server::hanging_llm().await;
    let args = ["--store", store];
    let server = Server::start(&llm, &args, 2).await;
    let (runner, watcher) = (server.client(0), server.client(1));
    let mut sessions = Vec::new();
    for index in 0..KILLED_SESSIONS {
        sessions.push(
            start_session(
                runner,
                &format!("Choose a codename, kill {index}"),
                &KILL_CRITERIA,
            )
            .await,
        );
    }
    // A session that is not being evaluated when the server dies: it holds no lease.
    let idle = start_session(runner, "Choose a codename, idle", &KILL_CRITERIA).await;
    let evaluations: Vec<_> = sessions
        .iter()
        .map(|session| {
            let peer = runner.peer().clone();
            let session = session.clone();
            tokio::spawn(async move {
                let request = client::request("evaluate_options", json!({"session_id": session}));
                peer.call_tool(request).await
            })
        })
        .collect();
    // The fast criteria's cells are saved; the `slow` ones are in flight.
    let fast = OPTIONS.len() * (KILL_CRITERIA.len() - 1);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut done = 0;
        for session in &sessions {
            done += census(watcher, session).await.0;
        }
        if done == fast * KILLED_SESSIONS {
            break;
        }
        assert!(Instant::now() < deadline, "the fast cells were never saved");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let calls_before = llm.requests().len();
    let Server { mut child, clients } = server;
    let pid = child.id().expect("running");
    child.start_kill().expect("SIGKILL");
    let killed_at = Instant::now();
    let status = within("the killed server exits", child.wait())
        .await
        .expect("wait");
    for evaluation in evaluations {
        let outcome = within("the evaluation ends with the connection", evaluation)
            .await
            .expect("joins");
        assert!(outcome.is_err(), "the killed server answered: {outcome:?}");
    }
    drop(clients);
    eprintln!("{store_name}: killed {pid} ({status}) with {calls_before} calls made");

    let server = Server::start(&llm, &args, 1).await;
    let restarted = killed_at.elapsed();
    let client = server.client(0);
    let listed = call(client, "list_sessions", json!({})).await;
    let listed = listed["sessions"].as_array().map_or(0, Vec::len);
    let (mut kept, mut wrong, mut failed, mut missing) = (0, 0, 0, 0);
    for session in &sessions {
        let (r, w, f, m) = census(client, session).await;
        kept += r;
        wrong += w;
        failed += f;
        missing += m;
        let matrix = call(
            client,
            "get_decision_matrix",
            json!({"session_id": session}),
        )
        .await;
        let criteria: BTreeSet<&str> = matrix["criteria_weights"]
            .as_object()
            .expect("weights")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            criteria,
            KILL_CRITERIA.into_iter().collect(),
            "criteria intact"
        );
    }
    hang.store(false, Ordering::SeqCst);

    let before = llm.requests().len();
    let (_, idle_result, idle_latency) = evaluate(client, &idle).await;
    let idle_calls = llm.requests().len() - before;
    let before = llm.requests().len();
    let (failed_first, first, first_latency) = evaluate(client, &sessions[0]).await;
    let since_kill = killed_at.elapsed();
    let first_calls = llm.requests().len() - before;
    let mut rest_calls = 0;
    let mut reused = first["summary"]["cells_reused"].as_u64().unwrap_or(0);
    let mut computed = first["summary"]["cells_computed"].as_u64().unwrap_or(0);
    for session in &sessions[1..] {
        let before = llm.requests().len();
        let (failed, result, _) = evaluate(client, session).await;
        assert!(!failed, "{result:?}");
        rest_calls += llm.requests().len() - before;
        reused += result["summary"]["cells_reused"].as_u64().unwrap_or(0);
        computed += result["summary"]["cells_computed"].as_u64().unwrap_or(0);
    }
    let mut complete = 0;
    for session in &sessions {
        let (r, w, _, _) = census(client, session).await;
        assert_eq!(w, 0);
        complete += r;
    }
    server.stop().await;

    let total = KILLED_SESSIONS * OPTIONS.len() * KILL_CRITERIA.len();
    println!(
        "\n`kill -9` with {store_name} (`--store {store_name_url}`):",
        store_name_url = if store.starts_with("sqlite") {
            "sqlite://FILE"
        } else {
            "redis://127.0.0.1:PORT"
        }
    );
    println!("\n| figure | value |");
    println!("|---|---|");
    println!(
        "| sessions under evaluation at the kill | {KILLED_SESSIONS}, each 6 options × 4 criteria ({total} cells): 3 criteria answered at once, `slow` hanging |"
    );
    println!("| backend calls made before the kill | {calls_before} |");
    println!(
        "| restart to `listening` on the same store | {} after the kill |",
        ms(restarted)
    );
    println!(
        "| sessions listed after the restart | {listed} of {} |",
        KILLED_SESSIONS + 1
    );
    println!(
        "| cells after the restart: kept and correct / wrong / failed / missing | {kept} / {wrong} / {failed} / {missing} (expected {} / 0 / 0 / {}) |",
        fast * KILLED_SESSIONS,
        total - fast * KILLED_SESSIONS
    );
    println!(
        "| `evaluate_options` of a session that was idle at the kill | {} ({} calls, {}) |",
        ms(idle_latency),
        idle_calls,
        if idle_result.contains_key("summary") {
            "answered"
        } else {
            "error"
        }
    );
    println!(
        "| first `evaluate_options` of a killed session | {} ({} after the kill): waited for the killed process's lease to expire, then {} |",
        ms(first_latency),
        ms(since_kill),
        if failed_first {
            format!("failed: {}", first["error"])
        } else {
            "answered".to_owned()
        }
    );
    println!(
        "| calls made by the re-evaluations of the {KILLED_SESSIONS} sessions | {} (the 6 missing cells of each: 2 batches) |",
        first_calls + rest_calls
    );
    println!("| cells reused / computed by them | {reused} / {computed} |");
    println!("| cells scored correctly at the end | {complete} of {total} |");
}

async fn kill() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sqlite = format!("sqlite://{}", dir.path().join("sessions.db").display());
    kill_nine("SQLite", &sqlite).await;
    let redis = decision_matrix_testkit::redis_server::RedisServer::start(None);
    kill_nine("Redis", &redis.url()).await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let wanted = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    if wanted("rates") {
        rates().await;
    }
    if wanted("breaker") {
        breaker().await;
    }
    if wanted("plugins") {
        adversary::attacks().await;
    }
    if wanted("kill") {
        kill().await;
    }
}
