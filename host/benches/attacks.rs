//! Memory under attack: the resident set of the process under attack, before, during and
//! after three attacks that once grew it without bound, as markdown tables for BENCHMARKS.md
//! ("Attacks: memory high-water marks"). Run it against the server before and after their
//! fixes by naming each build in `DMM_SERVER_BINARY`.
//!
//! 1. **Answer cache** (`-- answers`): the built `decision-matrix serve` binary over
//!    streamable HTTP, its built-in `litellm` plugin calling a loopback OpenAI-compatible
//!    judge that wraps every correct answer in 4 MiB of prose. [`answers::SESSIONS`] sessions,
//!    each on its own topic, are evaluated one after another (four calls each), then
//!    `clear_all_sessions`; a replay of the first session shows what the cache still holds.
//! 2. **HTTP connections** (`-- connections`): the same binary, default settings. 3,000
//!    connections each send one `GET /healthz` and then stay idle, kept alive; then, on a
//!    fresh server, 200 connections send a request head one header line a second and never
//!    finish it (slowloris). The connections the server holds are its open sockets, read from
//!    `/proc/<pid>/fd`.
//! 3. **Plugin memory** (`-- plugin-memory`): in-process, a `PluginHost` running 16 calls at
//!    once of the adversary fixture, each touching 196 MiB under a per-call cap of 200 MiB,
//!    with the shared budget `max_total_memory_mib` at its default and out of the way. Each
//!    setting runs in a process of its own (this bench again), since `VmHWM` is per process.
//!
//! All three by default, in about a minute. `VmHWM` is the process's peak resident set since
//! it started, `VmRSS` its resident set at that moment, both from `/proc/<pid>/status`. The
//! server is started once first, so that its plugin compile cache is warm. Run with
//! `DMM_SERVER_BINARY=<decision-matrix binary> cargo bench -p decision-matrix --bench attacks`.

#[allow(dead_code)]
mod support;

#[path = "attacks/answers.rs"]
mod answers;
#[path = "attacks/connections.rs"]
mod connections;
#[path = "attacks/plugin_memory.rs"]
mod plugin_memory;

use support::figures::megabytes;
use support::process::status_bytes;

/// A process's peak and current resident set.
#[derive(Clone, Copy)]
struct Memory {
    peak: u64,
    resident: u64,
}

impl Memory {
    /// The process `pid`'s, now.
    fn of(pid: u32) -> Memory {
        Memory {
            peak: status_bytes(pid, "VmHWM"),
            resident: status_bytes(pid, "VmRSS"),
        }
    }
}

/// Prints a table's head: the moment, the memory columns, and what the process held.
fn table_head(held: &str) {
    println!("\n| moment | VmHWM | VmRSS | {held} |");
    println!("|---|---|---|---|");
}

/// Prints one row of a table [`table_head`] began.
fn row(moment: &str, memory: Memory, held: &str) {
    println!(
        "| {moment} | {:.1} MB | {:.1} MB | {held} |",
        megabytes(memory.peak),
        megabytes(memory.resident)
    );
}

/// Starts and stops the server once, so that its plugin compile cache is warm and no figure
/// counts compiling the built-in plugins (a binary's first start does).
async fn warm_compile_cache() {
    let llm = support::server::llm().await;
    let (mut child, _) = support::server::http_server(&llm, &[]).await;
    child.kill().await.expect("stop the server");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    if let [run, budget_mib] = args.as_slice()
        && run == plugin_memory::ONE_SETTING
    {
        let budget_mib = budget_mib.parse().expect("a budget in MiB");
        plugin_memory::one_setting(budget_mib).await;
        return;
    }
    let wanted = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    if wanted("answers") || wanted("connections") {
        warm_compile_cache().await;
    }
    if wanted("answers") {
        answers::attack().await;
    }
    if wanted("connections") {
        connections::attack().await;
    }
    if wanted("plugin-memory") {
        plugin_memory::attack();
    }
}
