//! MCP server benchmark: the built `decision-matrix serve` binary as its clients reach it,
//! driven by rmcp's client over stdio and over streamable HTTP, with cells scored by the real
//! `litellm` plugin against a loopback OpenAI-compatible mock judge answering after 50 ms.
//!
//! The figures issue 5 sets targets for, against the Python server's; the whole benchmark
//! suite (`--bench suite`) measures these and more and writes them into BENCHMARKS.md. Here:
//!
//! 1. **Tool latency** of every tool over each transport ([`support::latency`]).
//! 2. **Workflow throughput** for one client over stdio, and one and four clients over HTTP
//!    ([`support::throughput`]).
//! 3. **Start-up** to `initialize`, median of [`STARTS`] with the plugin compile cache warm.
//! 4. **Peak memory**: `VmHWM` of each server process before it is stopped; the four-client
//!    workflow run is the figure that counts.
//!
//! Modes: `-- latency [TOOL...]` measures the tool latencies alone (for profiling the server
//! under a steady stream of calls), `-- memory` runs the four-client workflow alone (with
//! `DMM_BENCH_RESIDENT` set, to see where memory goes), and `-- stores` compares the session
//! stores: the store-dependent tools' latency over stdio and the four-client workflow over
//! HTTP, on the memory store, an SQLite file and a real Redis on loopback. (The other figures
//! use the memory store.) `-- sessions` times `list_sessions` (its default page) over an
//! SQLite store of [`MANY_SESSIONS`] sessions and gives the size of its result. `-- startup`
//! times start-up alone, with a cold and a warm compile cache, of the binary
//! `DMM_SERVER_BINARY` names (to compare builds: the static release binary against the glibc
//! one, docs/install.md). `-- view` times the decision drawn ([`support::view`]): the HTML
//! and SVG exports, the PNG chart, and the view's render in Chromium (Node, the packages of
//! `tests/view` and Chromium are needed, as for the browser test).
//!
//! The bench process (clients and mock) and the server share the machine's cores, as a local
//! assistant and its MCP server do. Run with `cargo bench -p decision-matrix --bench server`;
//! BENCHMARKS.md ("MCP server") records the figures beside the Python server's.

#[allow(dead_code)]
mod support;

use support::figures::{megabytes, time};
use support::latency::{ToolLatency, tool_latencies};
use support::process::Transport;
use support::report::{self, REFERENCE_LLM_LATENCY};
use support::startup::{Cache, startups};
use support::throughput::throughput;
use support::workload::Judge;

/// Timed server starts.
const STARTS: usize = 20;
/// Timed starts with an empty compile cache (`-- startup`).
const COLD_STARTS: usize = 5;

/// Sessions in the store `-- sessions` lists.
const MANY_SESSIONS: usize = 10_000;

/// `list_sessions` over an SQLite store of [`MANY_SESSIONS`] sessions, made by four HTTP
/// clients: the median time of its default page over 21 calls, and the size of its result.
async fn many_sessions(llm: &Judge) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sqlite = format!("sqlite://{}", dir.path().join("sessions.db").display());
    let limit = MANY_SESSIONS.to_string();
    let (_child, url, _) = support::server::http_server_with(
        &llm.mock,
        &["--store", &sqlite],
        &[("DMM_MAX_ACTIVE_SESSIONS", &limit)],
    )
    .await;
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(support::client::http_client(&url).await.0);
    }
    let per_client = MANY_SESSIONS / clients.len();
    let makers = clients.iter().map(|client| async move {
        for n in 0..per_client {
            support::process::call(
                client,
                "start_decision_analysis",
                serde_json::json!({
                    "topic": format!("Decision {n}: which supplier for the spring order?"),
                    "options": ["Acme", "Globex", "Initech", "Umbrella"],
                    "model_backend": "litellm",
                }),
            )
            .await;
        }
    });
    futures_util::future::join_all(makers).await;

    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..21 {
        let started = std::time::Instant::now();
        let page =
            support::process::call(&clients[0], "list_sessions", serde_json::json!({})).await;
        times.push(started.elapsed());
        assert_eq!(
            page["total_active"], MANY_SESSIONS,
            "every session is counted"
        );
        bytes = serde_json::to_string(&page).expect("JSON").len();
    }
    times.sort();
    println!(
        "\n| sessions in the store | `list_sessions` (default page), median of 21 | result (structured content) |\n|---|---|---|\n| {MANY_SESSIONS} | {} | {:.1} KB |",
        time(times[times.len() / 2]),
        bytes as f64 / 1000.0
    );
}

// ---------------------------------------------------------------------------------------
// Session stores

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
async fn stores(llm: &Judge) {
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
        latencies.push(tool_latencies(Transport::Stdio, &llm.mock, &only, &args).await);
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
                let samples = &per_store[index].samples;
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
    let llm = Judge::start(REFERENCE_LLM_LATENCY).await;
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    match args.split_first() {
        Some((mode, _)) if mode == "stores" => stores(&llm).await,
        Some((mode, _)) if mode == "sessions" => many_sessions(&llm).await,
        Some((mode, _)) if mode == "view" => {
            println!(
                "\n{}",
                support::view::table(&support::view::drawn(&llm).await)
            );
        }
        Some((mode, _)) if mode == "startup" => {
            startups(&llm.mock, Cache::Cold, COLD_STARTS).await;
            startups(&llm.mock, Cache::Warm, STARTS).await;
        }
        Some((mode, _)) if mode == "memory" => {
            throughput(Transport::Http, 4, &llm, &[]).await;
        }
        Some((mode, _)) if mode == "instant" => {
            let instant = Judge::start(std::time::Duration::ZERO).await;
            let run = throughput(Transport::Stdio, 1, &instant, &[]).await;
            println!("{}", report::throughput_table(&[run]));
        }
        Some((mode, only)) if mode == "latency" => {
            let stdio = tool_latencies(Transport::Stdio, &llm.mock, only, &[]).await;
            let http = tool_latencies(Transport::Http, &llm.mock, only, &[]).await;
            println!(
                "\n{}",
                report::latency_table(&[(Transport::Stdio, &stdio), (Transport::Http, &http)])
            );
        }
        _ => {
            let startup = startups(&llm.mock, Cache::Warm, STARTS).await;
            let stdio = tool_latencies(Transport::Stdio, &llm.mock, &[], &[]).await;
            let http = tool_latencies(Transport::Http, &llm.mock, &[], &[]).await;
            let mut runs = Vec::new();
            for (transport, clients) in [
                (Transport::Stdio, 1),
                (Transport::Http, 1),
                (Transport::Http, 4),
            ] {
                runs.push(throughput(transport, clients, &llm, &[]).await);
            }
            println!(
                "\n{}",
                report::latency_table(&[(Transport::Stdio, &stdio), (Transport::Http, &http)])
            );
            println!("{}", report::throughput_table(&runs));
            let every_latency: Vec<&ToolLatency> = stdio.iter().chain(&http).collect();
            println!("{}", report::summary(&every_latency, &runs, &startup));
        }
    }
}
