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

#[allow(dead_code)]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use decision_matrix_testkit::MockServer;
use decision_matrix_testkit::faults::{Fault, FaultyJudge, Mode};
use decision_matrix_testkit::judge;
use rmcp::model::CallToolResult;
use serde_json::{Map, Value, json};

use support::figures::time;
use support::process::{Client, Server, Transport, call, within};
use support::{client, server};

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

/// The structured content of a call that may fail, and whether it failed.
fn content(result: &CallToolResult) -> (bool, Map<String, Value>) {
    (result.is_error == Some(true), client::dict(result))
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
    let server = Server::start(Transport::Http, CLIENTS, &llm, &args).await;
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
        time(row.wall)
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
            time(row.wall)
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
    let server = Server::start(Transport::Http, 1, &llm, &args).await;
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
                time(latency)
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
            time(waiting.elapsed()),
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

#[path = "faults/adversary.rs"]
mod adversary;

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
    let mut server = Server::start(Transport::Http, 2, &llm, &args).await;
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
    let pid = server.pid;
    let killed_at = Instant::now();
    let status = server.kill().await;
    for evaluation in evaluations {
        let outcome = within("the evaluation ends with the connection", evaluation)
            .await
            .expect("joins");
        assert!(outcome.is_err(), "the killed server answered: {outcome:?}");
    }
    drop(server);
    eprintln!("{store_name}: killed {pid} ({status}) with {calls_before} calls made");

    let server = Server::start(Transport::Http, 1, &llm, &args).await;
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
        time(restarted)
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
        time(idle_latency),
        idle_calls,
        if idle_result.contains_key("summary") {
            "answered"
        } else {
            "error"
        }
    );
    println!(
        "| first `evaluate_options` of a killed session | {} ({} after the kill): waited for the killed process's lease to expire, then {} |",
        time(first_latency),
        time(since_kill),
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
