//! The benchmark suite: every figure BENCHMARKS.md opens with, from one command that writes
//! them there.
//!
//! ```sh
//! cargo bench -p decision-matrix --bench suite            # measure, print, write BENCHMARKS.md
//! cargo bench -p decision-matrix --bench suite -- print   # measure and print only
//! ```
//!
//! It drives the built `decision-matrix serve` binary as MCP clients do (rmcp's client over
//! stdio and streamable HTTP; cells scored by the real `litellm` plugin against a loopback
//! OpenAI-compatible mock model) and measures, in this order: plugin call overhead
//! (in-process), start-up with a cold and a warm plugin compile cache, every tool's latency
//! over both transports, sessions per minute of the reference workflow with the model
//! answering at once and after 50 ms for 1, 4 and 64 clients (with model calls and tokens
//! per session), memory per session with 10,000 evaluated sessions held, and the load test
//! (64 clients, at least 10,000 calls). The pieces are in `support/`, shared with the
//! `server` bench, which measures issue 5's figures alone.
//!
//! The section it writes is between the `suite:begin` and `suite:end` markers; everything
//! else in BENCHMARKS.md (history, investigations) is left as it is.

#[allow(dead_code)]
mod support;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::capacity::{self, Capacity};
use support::figures::{Samples, megabytes, time};
use support::latency::{ToolLatency, tool_latencies};
use support::load::{self, Load};
use support::plugin_calls::{PluginCall, plugin_calls};
use support::process::Transport;
use support::report::{self, REFERENCE_LLM_LATENCY};
use support::server::server_binary_override;
use support::startup::{Cache, startups};
use support::throughput::{Throughput, WORKFLOW_TIME, max_sessions, throughput};
use support::workload::{CELLS, Judge, LLM_CALLS};

/// Timed starts with an empty compile cache (each compiles every built-in plugin).
const COLD_STARTS: usize = 5;
/// Timed starts with a warm compile cache.
const WARM_STARTS: usize = 20;
/// Client counts of the throughput runs over HTTP.
const HTTP_CLIENTS: [usize; 3] = [1, 4, 64];

const BEGIN: &str = "<!-- suite:begin -->";
const END: &str = "<!-- suite:end -->";

/// Everything the suite measured.
struct Figures {
    plugin_calls: Vec<PluginCall>,
    cold: Samples,
    warm: Samples,
    stdio: Vec<ToolLatency>,
    http: Vec<ToolLatency>,
    http_per_call: Vec<ToolLatency>,
    runs: Vec<Throughput>,
    capacity: Capacity,
    load: Load,
    elapsed: Duration,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let print_only = std::env::args().skip(1).any(|arg| arg == "print");
    let began = Instant::now();
    let instant = Judge::start(Duration::ZERO).await;
    let reference = Judge::start(REFERENCE_LLM_LATENCY).await;

    let plugin_calls = plugin_calls().await;
    let cold = startups(&reference.mock, Cache::Cold, COLD_STARTS).await;
    let warm = startups(&reference.mock, Cache::Warm, WARM_STARTS).await;
    let stdio = tool_latencies(Transport::Stdio, &reference.mock, &[], &[]).await;
    let http = tool_latencies(Transport::Http, &reference.mock, &[], &[]).await;
    let http_per_call =
        tool_latencies(Transport::HttpConnectionPerCall, &reference.mock, &[], &[]).await;
    let mut runs = Vec::new();
    for llm in [&instant, &reference] {
        runs.push(throughput(Transport::Stdio, 1, llm, &[]).await);
        for clients in HTTP_CLIENTS {
            runs.push(throughput(Transport::Http, clients, llm, &[]).await);
        }
    }
    let capacity = capacity::capacity(&instant).await;
    let load = load::load(&reference).await;
    let figures = Figures {
        plugin_calls,
        cold,
        warm,
        stdio,
        http,
        http_per_call,
        runs,
        capacity,
        load,
        elapsed: began.elapsed(),
    };

    let section = section(&figures);
    println!("{section}");
    if !print_only {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
        write_section(&path, &section);
        eprintln!("wrote the suite's figures into {}", path.display());
    }
}

/// Replaces what lies between the markers in the file at `path` with `section`.
fn write_section(path: &Path, section: &str) {
    let text = std::fs::read_to_string(path).expect("BENCHMARKS.md");
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        panic!("BENCHMARKS.md has no {BEGIN} … {END} markers to write between");
    };
    assert!(begin < end, "{BEGIN} comes after {END} in BENCHMARKS.md");
    let updated = format!("{}{section}{}", &text[..begin], &text[end + END.len()..]);
    std::fs::write(path, updated).expect("write BENCHMARKS.md");
}

/// Whether `DMM_SERVER_BINARY` names the server to run instead of the bench's own build.
fn installed_binary() -> bool {
    server_binary_override().is_some()
}

/// The command that reproduces this run.
fn suite_command() -> &'static str {
    if installed_binary() {
        "cargo build --release --locked --bin decision-matrix\n\
         mkdir -p target/installed && cp target/release/decision-matrix target/installed/\n\
         DMM_SERVER_BINARY=$PWD/target/installed/decision-matrix \\\n    \
         cargo bench -p decision-matrix --bench suite"
    } else {
        "cargo bench -p decision-matrix --bench suite"
    }
}

/// Which server binary ran.
fn server_description() -> &'static str {
    if installed_binary() {
        "The server is the binary `cargo build --release --locked --bin decision-matrix` makes, \
         named in `DMM_SERVER_BINARY`."
    } else {
        "The server is the bench's own release build, which carries the features the \
         dev-dependencies add; set `DMM_SERVER_BINARY` to a copy of the \
         `cargo build --release` binary to measure that one."
    }
}

/// The generated section, markers included.
fn section(f: &Figures) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "{BEGIN}\n<!-- Written by `cargo bench -p decision-matrix --bench suite` \
         (host/benches/suite.rs): a rerun replaces everything down to suite:end. -->\n\n\
         ## Benchmark suite\n\n\
         Every figure in this section comes from one run of the suite, which takes about {} \
         minutes and writes the section:\n\n```sh\n{}\n```\n\n\
         Last run: {}. {} The bench process (clients and the mock model, two \
         tokio workers) and the server share the CPUs, as a local assistant and its MCP server \
         do. Cells are scored by the built-in `litellm` plugin against a loopback \
         OpenAI-compatible mock that answers every prompt correctly, at once or after 50 ms \
         like a fast hosted model, and reports tokens as a quarter of the bytes of its prompt \
         and answer. Sessions are in the memory store.\n\n",
        f.elapsed.as_secs().div_ceil(60),
        suite_command(),
        run_description(),
        server_description()
    );

    let _ = write!(
        out,
        "### Against the Python server\n\n\
         The reference workload (a 50 ms model; the targets are issue 5's):\n\n{}\n",
        report::summary(
            &f.stdio.iter().chain(&f.http).collect::<Vec<_>>(),
            &f.runs,
            &f.warm
        )
    );

    let _ = write!(
        out,
        "### Start-up\n\nProcess spawn to the answer to MCP `initialize` over stdio. A cold \
         start finds an empty plugin compile cache and compiles every built-in plugin (a first \
         start); a warm start finds them compiled (every later start).\n\n\
         | plugin compile cache | starts | median | fastest | slowest |\n|---|---|---|---|---|\n"
    );
    for (cache, samples) in [(Cache::Cold, &f.cold), (Cache::Warm, &f.warm)] {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cache.name(),
            samples.len(),
            time(samples.p50()),
            time(samples.percentile(0)),
            time(samples.percentile(100))
        );
    }

    let _ = write!(
        out,
        "\n### Tool latency\n\nEvery tool but `evaluate_options` (below) and \
         `test_aws_bedrock_connection` (which calls AWS), one call at a time: 50 warm-up calls, \
         then 1,000 timed calls per tool and transport on a fresh evaluated session of 5 \
         options × 4 criteria; calls that change the session for good are undone by an \
         untimed call. Server CPU per call is read from `/proc` and includes the untimed \
         calls. The HTTP client keeps its connection between calls, as the MCP SDKs' clients \
         do; the last columns use rmcp's default client instead, which opens a new \
         connection for every call (for comparison, not judged against the targets).\n\n{}\n",
        report::latency_table(&[
            (Transport::Stdio, &f.stdio),
            (Transport::Http, &f.http),
            (Transport::HttpConnectionPerCall, &f.http_per_call),
        ])
    );

    let _ = write!(
        out,
        "### Sessions per minute\n\nEach client loops the reference workflow for {} \
         (`start_decision_analysis` with 5 options, `add_criterion` × 4, `add_option`, \
         `evaluate_options` of {CELLS} cells, `get_decision_matrix`), each session on its own \
         topic so the answer cache never answers for the model, every evaluation checked to \
         score all {CELLS} cells in {LLM_CALLS} model calls (batches of up to 5 options). HTTP \
         clients each have their own connection to one server process. Model calls and tokens \
         per session are the server's own counts (`server_stats`) over the timed sessions. \
         With 64 clients the server's limits on concurrent model calls (64 in all, 32 for \
         `litellm`, by default) set the pace, and the server holds up to {} sessions instead \
         of the default 100, so that eviction never takes a session its client is still \
         using.\n\n{}\n",
        time(WORKFLOW_TIME),
        max_sessions(64),
        report::throughput_table(&f.runs)
    );

    let c = &f.capacity;
    let _ = write!(
        out,
        "### Memory per session\n\nOne HTTP server (`sessions.max_sessions = {sessions}`) made \
         to hold {sessions} evaluated sessions of 5 options × 4 criteria (20 scored cells with \
         justifications each), created by 16 clients against the instant model, with the \
         answer cache off so that the growth is the sessions' own. Resident set (`VmRSS`) of \
         the warmed-up server with no session, then with all of them.\n\n\
         | sessions held | time to create and evaluate them | resident, none | resident, all | per session | peak (`VmHWM`) |\n\
         |---|---|---|---|---|---|\n\
         | {} | {} | {:.1} MB | {:.1} MB | {:.1} KB | {:.1} MB |\n\n",
        c.active,
        time(c.elapsed),
        megabytes(c.baseline),
        megabytes(c.loaded),
        c.per_session() / 1e3,
        megabytes(c.peak),
        sessions = capacity::SESSIONS,
    );

    out.push_str(&load_section(&f.load));
    out.push_str(&plugin_section(&f.plugin_calls));
    out.push_str(END);
    out
}

fn load_section(l: &Load) -> String {
    let mut out = format!(
        "### Load test\n\n{clients} clients over streamable HTTP on loopback, each on its own \
         connection, loop a script of 16 tool calls (the reference workflow, then \
         `analyze_sensitivity`, `update_criterion`, `set_score`, `export_matrix`, \
         `list_sessions`, `server_stats`, `remove_option` and `get_decision_matrix` on the \
         session) until together they have made at least {min} calls; the model answers after \
         50 ms; the server runs with the default configuration. Failures are counted, not \
         fatal. The server's resident set is sampled every 250 ms.\n\n\
         | calls | errors | evaluations (incomplete) | time | calls/s | latency p50 / p99 / max, all calls | resident: start → max → end | peak (`VmHWM`) | server's count: calls, errors | health at the end |\n\
         |---|---|---|---|---|---|---|---|---|---|\n\
         | {} | **{}** | {} ({}) | {} | {:.0} | {} / {} / {} | {:.1} → {:.1} (at {}) → {:.1} MB | {:.1} MB | {}, {} | {} |\n\n",
        l.calls,
        l.errors,
        l.evaluations,
        l.incomplete_evaluations,
        time(l.elapsed),
        l.calls_per_second(),
        time(l.all.p50()),
        time(l.all.p99()),
        time(l.all.percentile(100)),
        megabytes(l.resident_start),
        megabytes(l.resident_max.0),
        time(l.resident_max.1),
        megabytes(l.resident_end),
        megabytes(l.peak),
        l.server_calls,
        l.server_errors,
        l.health,
        clients = load::CLIENTS,
        min = load::MIN_CALLS,
    );
    out.push_str(
        "| tool | calls | errors | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|---|\n",
    );
    for t in &l.per_tool {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            t.tool,
            t.samples.len(),
            t.errors,
            time(t.samples.p50()),
            time(t.samples.percentile(90)),
            time(t.samples.p99()),
            time(t.samples.percentile(100))
        );
    }
    if !l.error_messages.is_empty() {
        out.push_str("\nMost frequent errors:\n\n");
        for (message, count) in &l.error_messages {
            let _ = writeln!(out, "- {count} × {message}");
        }
    }
    out.push('\n');
    out
}

fn plugin_section(calls: &[PluginCall]) -> String {
    let mut out = String::from(
        "### Plugin calls\n\nIn-process, on two tokio workers like the server's, one call at a \
         time (200 warm-up calls, 2,000 timed). Every call gets a fresh store and instance \
         from the pooling allocator, as in the server.\n\n\
         | call | p50 | p99 |\n|---|---|---|\n",
    );
    for call in calls {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            call.what,
            time(call.samples.p50()),
            time(call.samples.p99())
        );
    }
    if let [.., through_plugin, plain] = calls {
        let overhead = through_plugin
            .samples
            .p50()
            .saturating_sub(plain.samples.p50());
        let _ = writeln!(
            out,
            "\nHost overhead of a plugin's HTTP request (p50 through the plugin − p50 plain): \
             **{}**.\n",
            time(overhead)
        );
    }
    out
}

/// When, at which commit, on what machine.
fn run_description() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    let date = time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default();
    let commit = command_output("git", &["rev-parse", "--short", "HEAD"]);
    let dirty =
        !command_output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = proc_field("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown CPU".into());
    let memory_gib = proc_field("/proc/meminfo", "MemTotal")
        .and_then(|kb| kb.trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{date}, commit `{commit}`{}, {cpus} CPUs ({model}), {memory_gib:.1} GiB, Linux {}, {}",
        if dirty {
            " with uncommitted changes"
        } else {
            ""
        },
        kernel.trim(),
        command_output("rustc", &["-V"])
    )
}

/// The first `field: value` line's value in a `/proc` file.
fn proc_field(path: &str, field: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name.trim() == field).then(|| value.trim().to_owned())
    })
}

/// A command's standard output, trimmed; empty if it could not run.
fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}
