//! The markdown tables the server benchmarks print, and the targets next to the
//! Python reference server's figures.

use std::fmt::Write as _;
use std::time::Duration;

use super::figures::{Samples, megabytes, time, verdict};
use super::latency::ToolLatency;
use super::process::Transport;
use super::throughput::Throughput;

/// The model latency of the reference workload, on which the Python server was measured.
pub const REFERENCE_LLM_LATENCY: Duration = Duration::from_millis(50);

/// The Python server's figures on the reference workload and this kind of machine.
const PYTHON_SESSIONS_PER_MIN: f64 = 85.0;
const PYTHON_EVALUATE_P50: Duration = Duration::from_millis(650);
const PYTHON_STARTUP: Duration = Duration::from_millis(3600);
const PYTHON_PEAK_MB: f64 = 270.0;

/// p50 and p99 of every tool over each transport measured, side by side: `columns` holds
/// one list per transport, every list in the same tool order.
pub fn latency_table(columns: &[(Transport, &[ToolLatency])]) -> String {
    let mut out = String::from("| tool |");
    for (transport, _) in columns {
        let name = transport.name();
        let _ = write!(out, " {name} p50 | {name} p99 |");
    }
    let names: Vec<&str> = columns.iter().map(|(t, _)| t.name()).collect();
    let _ = writeln!(out, " server CPU per call, {} |", names.join(" / "));
    out.push_str(&"|---".repeat(2 + 2 * columns.len()));
    out.push_str("|\n");
    let Some((_, first)) = columns.first() else {
        return out;
    };
    for (row, tool) in first.iter().enumerate() {
        let _ = write!(out, "| `{}` |", tool.tool);
        let cells: Vec<&ToolLatency> = columns.iter().map(|(_, c)| &c[row]).collect();
        for cell in &cells {
            let _ = write!(
                out,
                " {} | {} |",
                time(cell.samples.p50()),
                time(cell.samples.p99())
            );
        }
        let cpu: Vec<String> = cells.iter().map(|c| time(c.server_cpu)).collect();
        let _ = writeln!(out, " {} |", cpu.join(" / "));
    }
    out
}

/// One row per workflow configuration, with the model calls and tokens per session.
pub fn throughput_table(runs: &[Throughput]) -> String {
    let mut out = String::from(
        "| transport | clients | model latency | sessions | sessions/min | `evaluate_options` p50 | p99 | model calls per session | tokens in / out per session | peak memory |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for run in runs {
        let per_session = |count: u64| count as f64 / run.sessions as f64;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} in {} | {:.0} | {} | {} | {:.1} | {:.0} / {:.0} | {:.1} MB |",
            run.transport.name(),
            run.clients,
            time(run.llm_latency),
            run.sessions,
            time(run.elapsed),
            run.per_minute(),
            time(run.evaluate.p50()),
            time(run.evaluate.p99()),
            per_session(run.usage.calls),
            per_session(run.usage.input_tokens),
            per_session(run.usage.output_tokens),
            megabytes(run.peak_memory)
        );
    }
    out
}

/// The figures the issue sets targets for, against the Python server's: the slowest tool's
/// latency, and on the reference workload (a 50 ms model) sessions per minute, the
/// `evaluate_options` p50, start-up with a warm cache and the four-client peak memory.
pub fn summary(latencies: &[&ToolLatency], runs: &[Throughput], startup: &Samples) -> String {
    let slowest = |pick: fn(&Samples) -> Duration| {
        latencies
            .iter()
            .map(|l| (pick(&l.samples), l.tool))
            .max()
            .expect("tools")
    };
    let (p50, p50_tool) = slowest(Samples::p50);
    let (p99, p99_tool) = slowest(Samples::p99);
    let reference: Vec<&Throughput> = runs
        .iter()
        .filter(|run| run.llm_latency == REFERENCE_LLM_LATENCY && run.clients <= 4)
        .collect();
    let four = reference
        .iter()
        .find(|run| run.transport == Transport::Http && run.clients == 4)
        .expect("the four-client HTTP run on the reference workload");
    let worst_evaluate = reference
        .iter()
        .map(|r| r.evaluate.p50())
        .max()
        .expect("runs");
    let target_rate = 20.0 * PYTHON_SESSIONS_PER_MIN;
    let mut out = String::from(
        "| figure | decision-matrix | Python server | target | |\n|---|---|---|---|---|\n",
    );
    let _ = writeln!(
        out,
        "| tool latency p50, slowest tool (`{p50_tool}`) | {} | | < 1 ms | {} |",
        time(p50),
        verdict(p50 < Duration::from_millis(1))
    );
    let _ = writeln!(
        out,
        "| tool latency p99, slowest tool (`{p99_tool}`) | {} | | < 3 ms | {} |",
        time(p99),
        verdict(p99 < Duration::from_millis(3))
    );
    for run in &reference {
        let (target, met) = if run.clients == four.clients {
            let met = run.per_minute() >= target_rate;
            (format!("≥ {target_rate:.0}/min"), verdict(met))
        } else {
            (String::new(), "")
        };
        let _ = writeln!(
            out,
            "| sessions/min, {} × {} | {:.0} | ≈ {PYTHON_SESSIONS_PER_MIN:.0} | {target} | {met} |",
            run.transport.name(),
            run.clients,
            run.per_minute(),
        );
    }
    let _ = writeln!(
        out,
        "| `evaluate_options` p50, worst configuration | {} | ≈ {} | ≤ {} | {} |",
        time(worst_evaluate),
        time(PYTHON_EVALUATE_P50),
        time(REFERENCE_LLM_LATENCY * 6 / 5),
        verdict(worst_evaluate <= REFERENCE_LLM_LATENCY * 6 / 5)
    );
    let _ = writeln!(
        out,
        "| start-up to `initialize`, warm plugin cache, median | {} | ≈ {} | < {} | {} |",
        time(startup.p50()),
        time(PYTHON_STARTUP),
        time(PYTHON_STARTUP / 20),
        verdict(startup.p50() < PYTHON_STARTUP / 20)
    );
    let _ = writeln!(
        out,
        "| peak memory (VmHWM), HTTP × {} | {:.1} MB | ≈ {PYTHON_PEAK_MB:.0} MB | < {:.0} MB | {} |",
        four.clients,
        megabytes(four.peak_memory),
        PYTHON_PEAK_MB / 10.0,
        verdict(megabytes(four.peak_memory) < PYTHON_PEAK_MB / 10.0)
    );
    out
}
