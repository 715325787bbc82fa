//! [`Snapshot`]: every metric at one moment, as `server_stats`, `/healthz` and `/metrics`
//! show it; and [`Gauges`], what the rest of the server contributes to it.
//!
//! Latencies are in milliseconds for people (`p95_ms`) and seconds in Prometheus, as each
//! convention has it.

use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;

use super::health::Health;
use super::histogram::Distribution;

/// What the telemetry cannot count itself: read from the session store, the plugin host,
/// the breakers and the operating system when a snapshot is taken.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    /// Sessions alive, when the store could be read.
    pub active_sessions: Option<usize>,
    /// `sessions.max_sessions`.
    pub max_sessions: usize,
    /// Memory of the machine or container in use, percent, when known.
    pub memory_used_percent: Option<f64>,
    /// This process's resident memory, when known.
    pub resident_bytes: Option<u64>,
    /// Plugin instances running a call now.
    pub plugin_instances: usize,
    /// Most plugin instances at once (`plugins.limits.max_concurrent_calls`).
    pub plugin_instance_capacity: usize,
    /// Linear memory the plugin instances hold now, in bytes.
    pub plugin_memory_bytes: usize,
    /// What they may hold together (`plugins.limits.max_total_memory_mib`), in bytes.
    pub plugin_memory_budget_bytes: usize,
    /// Backend plugins loaded.
    pub backends_loaded: usize,
    /// Scoring-strategy plugins loaded.
    pub strategies_loaded: usize,
    /// Circuit-breaker state per backend called so far: `closed`, `open` or `half_open`.
    pub breakers: Vec<(String, &'static str)>,
}

/// Latency of one tool or backend since start.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Latency {
    /// Values recorded.
    pub count: u64,
    /// Their sum, in seconds.
    pub sum_seconds: f64,
    /// Median, in milliseconds (within 19 %: see the histogram's docs).
    pub p50_ms: Option<f64>,
    /// 90th percentile, in milliseconds.
    pub p90_ms: Option<f64>,
    /// 95th percentile, in milliseconds.
    pub p95_ms: Option<f64>,
    /// 99th percentile, in milliseconds.
    pub p99_ms: Option<f64>,
    /// Largest value, in milliseconds.
    pub max_ms: Option<f64>,
    /// The buckets, for Prometheus.
    #[serde(skip)]
    pub distribution: Distribution,
}

fn millis(value: Duration) -> f64 {
    // Microsecond resolution, shown to the microsecond.
    (value.as_secs_f64() * 1e6).round() / 1e3
}

impl Latency {
    /// The summary of `distribution`.
    pub fn of(distribution: Distribution) -> Latency {
        let p = |q| distribution.percentile(q).map(millis);
        let count = distribution.count();
        Latency {
            count,
            sum_seconds: distribution.sum().as_secs_f64(),
            p50_ms: p(0.50),
            p90_ms: p(0.90),
            p95_ms: p(0.95),
            p99_ms: p(0.99),
            max_ms: (count > 0).then(|| millis(distribution.max())),
            distribution,
        }
    }
}

/// One tool.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ToolStats {
    /// Tool name.
    pub name: String,
    /// Calls since start.
    pub calls: u64,
    /// Calls that failed on the server's side (the error rate's errors).
    pub errors: u64,
    /// Calls refused for the client's own input: invalid arguments, an unknown session, a
    /// step before its prerequisite. Not errors of the server, not in the error rate.
    pub client_errors: u64,
    /// Time to answer.
    pub latency: Latency,
}

/// One backend.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BackendStats {
    /// Backend id.
    pub name: String,
    /// Calls sent since start (retries included).
    pub calls: u64,
    /// Calls that failed or timed out.
    pub errors: u64,
    /// Calls refused by the open circuit breaker, never sent.
    pub rejected: u64,
    /// Retries.
    pub retries: u64,
    /// Calls that waited for the rate limit.
    pub rate_limit_waits: u64,
    /// Time spent waiting for the rate limit, in seconds.
    pub rate_limit_wait_seconds: f64,
    /// Tokens sent.
    pub input_tokens: u64,
    /// Tokens received.
    pub output_tokens: u64,
    /// Circuit-breaker state, once the backend has been called.
    pub circuit: Option<&'static str>,
    /// Calls in the sliding window.
    pub window_calls: u64,
    /// Failed calls in the sliding window.
    pub window_errors: u64,
    /// Time per call.
    pub latency: Latency,
}

/// Throughput and errors over the sliding window.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WindowStats {
    /// Nominal length of the window.
    pub seconds: u64,
    /// Tool calls in the window.
    pub calls: u64,
    /// Tool calls in the window that failed on the server's side.
    pub errors: u64,
    /// Tool calls in the window refused for their client's input (not in `error_rate`).
    pub client_errors: u64,
    /// Tool calls per minute over the window.
    pub calls_per_minute: f64,
    /// Share of the tool calls that failed on the server's side (0–1).
    pub error_rate: f64,
    /// Evaluations (`evaluate_options`) finished in the window.
    pub evaluations: u64,
    /// Their p95, in seconds.
    pub evaluation_p95_seconds: Option<f64>,
}

/// Sessions.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SessionStats {
    /// Alive now (shared by every instance of a Redis store), when the store answered.
    pub active: Option<usize>,
    /// The limit.
    pub max: usize,
    /// `active` in percent of `max`.
    pub usage_percent: Option<f64>,
}

/// Plugins.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PluginStats {
    /// Instances running a call now (each call gets a fresh instance).
    pub instances: usize,
    /// Most instances at once.
    pub instance_capacity: usize,
    /// Linear memory the instances hold now, in bytes.
    pub memory_bytes: usize,
    /// What they may hold together, in bytes.
    pub memory_budget_bytes: usize,
    /// Backend plugins loaded.
    pub backends: usize,
    /// Scoring strategies loaded.
    pub strategies: usize,
}

/// Memory.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MemoryStats {
    /// Memory of the machine or container in use, percent.
    pub used_percent: Option<f64>,
    /// This process's resident set.
    pub resident_bytes: Option<u64>,
}

/// Everything at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Snapshot {
    /// Server version.
    pub version: &'static str,
    /// Seconds since the telemetry started (the server's start).
    pub uptime_seconds: f64,
    /// Health, judged on this snapshot.
    pub health: Health,
    /// Throughput and error rate over the sliding window.
    pub window: WindowStats,
    /// Per tool, in order of first call.
    pub tools: Vec<ToolStats>,
    /// Per backend, in order of first call.
    pub backends: Vec<BackendStats>,
    /// Sessions.
    pub sessions: SessionStats,
    /// Cells waiting or running in evaluations.
    pub evaluation_queue_depth: u64,
    /// Plugins.
    pub plugins: PluginStats,
    /// Memory.
    pub memory: MemoryStats,
}
