//! [`Telemetry`]: where the server records what it does, and the snapshot it reads back.
//!
//! Recording is the hot path (every tool call, every backend call): it costs a read lock on a
//! short label list and a few relaxed atomic additions, plus a short mutex for the sliding
//! window, and allocates nothing once a label has been seen. Reading (a scrape, a health
//! check, `server_stats`) does the work: it copies the counters, computes percentiles and
//! judges the alert thresholds.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::AlertSettings;
use super::alerts::{Alerts, Reading};
use super::histogram::{Distribution, Histogram};
use super::labels::{LabelSet, OTHER};
use super::snapshot::{
    BackendStats, Gauges, Latency, MemoryStats, PluginStats, SessionStats, Snapshot, ToolStats,
    WindowStats,
};
use super::window::{Rate, Window};

/// Most backend labels kept apart; the rest are counted as `other`. Backends are plugins the
/// operator installs, so a handful is usual.
pub const MAX_BACKEND_LABELS: usize = 32;
/// Most tool labels: the server has about twenty tools.
pub const MAX_TOOL_LABELS: usize = 64;
/// Slices of the throughput and error-rate windows.
const RATE_SLOTS: usize = 30;
/// Slices of the evaluation-latency window (each a whole histogram, so fewer).
const LATENCY_SLOTS: usize = 10;

/// How a tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// It answered.
    Ok,
    /// It was refused for the client's own input (invalid arguments, an unknown session, a
    /// step before its prerequisite): counted apart, never in the error rate, since nothing
    /// is wrong with the server.
    ClientError,
    /// It failed on the server's side or a dependency's.
    ServerError,
}

/// Counters of one tool.
#[derive(Default)]
struct ToolCounters {
    calls: AtomicU64,
    errors: AtomicU64,
    client_errors: AtomicU64,
    latency: Histogram,
}

/// Tool calls in one slice of the window: the error rate's counts, and the calls refused
/// for their client's input (in the rate's requests, not its errors).
#[derive(Debug, Clone, Copy, Default)]
struct CallSlot {
    rate: Rate,
    client_errors: u64,
}

impl CallSlot {
    fn merge(self, other: &CallSlot) -> CallSlot {
        CallSlot {
            rate: self.rate.merge(&other.rate),
            client_errors: self.client_errors + other.client_errors,
        }
    }
}

/// Counters of one backend.
struct BackendCounters {
    calls: AtomicU64,
    errors: AtomicU64,
    rejected: AtomicU64,
    retries: AtomicU64,
    rate_limit_waits: AtomicU64,
    rate_limit_wait_micros: AtomicU64,
    input_tokens: AtomicU64,
    output_tokens: AtomicU64,
    latency: Histogram,
    window: Window<Rate>,
}

impl BackendCounters {
    fn new(window: Duration) -> BackendCounters {
        BackendCounters {
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            rate_limit_waits: AtomicU64::new(0),
            rate_limit_wait_micros: AtomicU64::new(0),
            input_tokens: AtomicU64::new(0),
            output_tokens: AtomicU64::new(0),
            latency: Histogram::default(),
            window: Window::new(window, RATE_SLOTS),
        }
    }
}

fn add(counter: &AtomicU64, value: u64) {
    counter.fetch_add(value, Ordering::Relaxed);
}

fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Every metric of the server, and its alert state. Shared behind an `Arc`.
pub struct Telemetry {
    started: Instant,
    tools: LabelSet<ToolCounters>,
    backends: LabelSet<BackendCounters>,
    calls: Window<CallSlot>,
    evaluations: Window<Distribution>,
    queue: AtomicI64,
    alerts: Alerts,
    log_prompts: bool,
}

impl Default for Telemetry {
    /// The guide's thresholds; prompts not logged.
    fn default() -> Telemetry {
        Telemetry::new(AlertSettings::default(), false)
    }
}

impl Telemetry {
    /// Metrics whose windows are `alerts.window` long, judged by `alerts`; `log_prompts` says
    /// whether backend prompts may be logged (at debug).
    pub fn new(alerts: AlertSettings, log_prompts: bool) -> Telemetry {
        let window = alerts.window;
        Telemetry {
            started: Instant::now(),
            tools: LabelSet::new(MAX_TOOL_LABELS, ToolCounters::default),
            backends: LabelSet::new(MAX_BACKEND_LABELS, move || BackendCounters::new(window)),
            calls: Window::new(window, RATE_SLOTS),
            evaluations: Window::new(window, LATENCY_SLOTS),
            queue: AtomicI64::new(0),
            alerts: Alerts::new(alerts),
            log_prompts,
        }
    }

    /// The alert thresholds and episodes.
    pub fn alerts(&self) -> &Alerts {
        &self.alerts
    }

    /// Whether the operator switched on debug logging of prompts (`logging.log_prompts`).
    pub fn log_prompts(&self) -> bool {
        self.log_prompts
    }

    /// One tool call (`tool` is [`OTHER`] for a name the server does not know).
    pub fn tool_call(&self, tool: &str, elapsed: Duration, outcome: CallOutcome) {
        let client_error = outcome == CallOutcome::ClientError;
        let server_error = outcome == CallOutcome::ServerError;
        self.tools.with(tool, |counters| {
            add(&counters.calls, 1);
            add(&counters.errors, u64::from(server_error));
            add(&counters.client_errors, u64::from(client_error));
            counters.latency.record(elapsed);
        });
        self.calls.record(Instant::now(), |slot| {
            slot.rate.record(!server_error);
            slot.client_errors += u64::from(client_error);
        });
    }

    /// One whole evaluation (`evaluate_options`), for the evaluation-latency threshold.
    pub fn evaluation(&self, elapsed: Duration) {
        self.evaluations
            .record(Instant::now(), |window| window.record(elapsed));
    }

    /// One call sent to `backend`: its time and whether it answered.
    pub fn backend_call(&self, backend: &str, elapsed: Duration, ok: bool) {
        self.backends.with(backend, |counters| {
            add(&counters.calls, 1);
            add(&counters.errors, u64::from(!ok));
            counters.latency.record(elapsed);
            counters
                .window
                .record(Instant::now(), |rate| rate.record(ok));
        });
    }

    /// One call to `backend` refused by its open circuit breaker (never sent).
    pub fn backend_rejected(&self, backend: &str) {
        self.backends
            .with(backend, |counters| add(&counters.rejected, 1));
    }

    /// One retry of a call to `backend`.
    pub fn backend_retry(&self, backend: &str) {
        self.backends
            .with(backend, |counters| add(&counters.retries, 1));
    }

    /// A call to `backend` that waited `waited` for its rate limit.
    pub fn rate_limited(&self, backend: &str, waited: Duration) {
        self.backends.with(backend, |counters| {
            add(&counters.rate_limit_waits, 1);
            add(
                &counters.rate_limit_wait_micros,
                u64::try_from(waited.as_micros()).unwrap_or(u64::MAX),
            );
        });
    }

    /// Tokens a call to `backend` used.
    pub fn tokens(&self, backend: &str, input: u32, output: u32) {
        self.backends.with(backend, |counters| {
            add(&counters.input_tokens, input.into());
            add(&counters.output_tokens, output.into());
        });
    }

    /// `cells` more cells waiting or running in evaluations.
    pub fn queue_add(&self, cells: usize) {
        self.queue
            .fetch_add(i64::try_from(cells).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    /// `cells` cells settled (or given up).
    pub fn queue_done(&self, cells: usize) {
        self.queue
            .fetch_sub(i64::try_from(cells).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    /// Cells waiting or running in evaluations now.
    pub fn queue_depth(&self) -> u64 {
        u64::try_from(self.queue.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Everything recorded, with `gauges` (what other parts of the server know), judged by
    /// the alert thresholds (which logs the episodes that start or end).
    pub fn snapshot(&self, gauges: Gauges) -> Snapshot {
        let now = Instant::now();
        let window = self.alerts.settings().window;
        let mut tools = Vec::new();
        self.tools.each(|name, counters| {
            let calls = read(&counters.calls);
            if calls > 0 {
                tools.push(ToolStats {
                    name: name.to_owned(),
                    calls,
                    errors: read(&counters.errors),
                    client_errors: read(&counters.client_errors),
                    latency: Latency::of(counters.latency.snapshot()),
                });
            }
        });
        let mut backends = Vec::new();
        self.backends.each(|name, counters| {
            let (calls, rejected) = (read(&counters.calls), read(&counters.rejected));
            if name == OTHER && calls + rejected == 0 {
                return;
            }
            let recent = counters.window.fold(now, Rate::default(), Rate::merge);
            backends.push(BackendStats {
                name: name.to_owned(),
                calls,
                errors: read(&counters.errors),
                rejected,
                retries: read(&counters.retries),
                rate_limit_waits: read(&counters.rate_limit_waits),
                rate_limit_wait_seconds: read(&counters.rate_limit_wait_micros) as f64 / 1e6,
                input_tokens: read(&counters.input_tokens),
                output_tokens: read(&counters.output_tokens),
                circuit: gauges
                    .breakers
                    .iter()
                    .find(|(backend, _)| backend == name)
                    .map(|(_, state)| *state),
                window_calls: recent.requests,
                window_errors: recent.errors,
                latency: Latency::of(counters.latency.snapshot()),
            });
        });
        let CallSlot {
            rate: calls,
            client_errors,
        } = self.calls.fold(now, CallSlot::default(), CallSlot::merge);
        let evaluations = self
            .evaluations
            .fold(now, Distribution::default(), |mut all, slot| {
                all.merge(slot);
                all
            });
        let evaluation_p95 = evaluations.percentile(0.95);
        let queue_depth = self.queue_depth();
        let reading = Reading {
            evaluation_p95,
            calls,
            backends: backends
                .iter()
                .map(|b| {
                    (
                        b.name.clone(),
                        Rate {
                            requests: b.window_calls,
                            errors: b.window_errors,
                        },
                    )
                })
                .collect(),
            sessions: gauges.active_sessions.map(|n| (n, gauges.max_sessions)),
            memory_used_percent: gauges.memory_used_percent,
            queue_depth,
        };
        let health = self.alerts.check(&reading);
        let minutes = window.as_secs_f64() / 60.0;
        Snapshot {
            version: env!("CARGO_PKG_VERSION"),
            uptime_seconds: now.duration_since(self.started).as_secs_f64(),
            health,
            window: WindowStats {
                seconds: window.as_secs(),
                calls: calls.requests,
                errors: calls.errors,
                client_errors,
                calls_per_minute: calls.requests as f64 / minutes,
                error_rate: calls.error_ratio(),
                evaluations: evaluations.count(),
                evaluation_p95_seconds: evaluation_p95.map(|p| p.as_secs_f64()),
            },
            tools,
            backends,
            sessions: SessionStats {
                active: gauges.active_sessions,
                max: gauges.max_sessions,
                usage_percent: gauges
                    .active_sessions
                    .map(|n| n as f64 / gauges.max_sessions.max(1) as f64 * 100.0),
            },
            evaluation_queue_depth: queue_depth,
            plugins: PluginStats {
                instances: gauges.plugin_instances,
                instance_capacity: gauges.plugin_instance_capacity,
                memory_bytes: gauges.plugin_memory_bytes,
                memory_budget_bytes: gauges.plugin_memory_budget_bytes,
                backends: gauges.backends_loaded,
                strategies: gauges.strategies_loaded,
            },
            memory: MemoryStats {
                used_percent: gauges.memory_used_percent,
                resident_bytes: gauges.resident_bytes,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::health::Status;

    #[test]
    fn calls_are_counted_per_tool_and_backend_and_read_back() {
        let telemetry = Telemetry::default();
        telemetry.tool_call("add_option", Duration::from_micros(300), CallOutcome::Ok);
        telemetry.tool_call(
            "add_option",
            Duration::from_micros(500),
            CallOutcome::ServerError,
        );
        telemetry.tool_call(
            "add_option",
            Duration::from_micros(400),
            CallOutcome::ClientError,
        );
        telemetry.tool_call("list_sessions", Duration::from_micros(200), CallOutcome::Ok);
        telemetry.backend_call("litellm", Duration::from_millis(40), true);
        telemetry.backend_call("litellm", Duration::from_millis(900), false);
        telemetry.backend_retry("litellm");
        telemetry.backend_rejected("litellm");
        telemetry.rate_limited("litellm", Duration::from_millis(250));
        telemetry.tokens("litellm", 120, 30);
        telemetry.queue_add(8);
        telemetry.queue_done(3);
        let snapshot = telemetry.snapshot(Gauges {
            active_sessions: Some(2),
            max_sessions: 100,
            breakers: vec![("litellm".into(), "closed")],
            ..Gauges::default()
        });
        let add = &snapshot.tools[0];
        assert_eq!(
            (add.name.as_str(), add.calls, add.errors, add.client_errors),
            ("add_option", 3, 1, 1)
        );
        assert_eq!(add.latency.count, 3);
        assert_eq!(snapshot.tools.len(), 2);
        let litellm = &snapshot.backends[0];
        assert_eq!(
            (
                litellm.calls,
                litellm.errors,
                litellm.retries,
                litellm.rejected,
                litellm.rate_limit_waits,
                litellm.input_tokens,
                litellm.output_tokens,
                litellm.circuit,
            ),
            (2, 1, 1, 1, 1, 120, 30, Some("closed"))
        );
        assert!((litellm.rate_limit_wait_seconds - 0.25).abs() < 1e-9);
        assert_eq!(snapshot.backends.len(), 1, "no empty 'other'");
        assert_eq!(snapshot.window.calls, 4);
        assert_eq!(snapshot.window.errors, 1);
        assert_eq!(snapshot.window.client_errors, 1);
        assert_eq!(snapshot.evaluation_queue_depth, 5);
        assert_eq!(snapshot.sessions.usage_percent, Some(2.0));
        assert_eq!(snapshot.health.status, Status::Ok);
    }

    /// Two bad arguments in 32 calls turned health degraded when they counted as errors;
    /// they are the client's, so the error rate stays 0 and the server healthy.
    #[test]
    fn a_clients_invalid_arguments_do_not_count_toward_the_error_rate() {
        let telemetry = Telemetry::default();
        for call in 0..32 {
            let outcome = if call % 16 == 3 {
                CallOutcome::ClientError
            } else {
                CallOutcome::Ok
            };
            telemetry.tool_call("add_criterion", Duration::from_micros(100), outcome);
        }
        let snapshot = telemetry.snapshot(Gauges::default());
        assert_eq!(
            (
                snapshot.window.calls,
                snapshot.window.errors,
                snapshot.window.client_errors
            ),
            (32, 0, 2)
        );
        assert_eq!(snapshot.window.error_rate, 0.0);
        assert_eq!(snapshot.health.status, Status::Ok, "{:?}", snapshot.health);
        // The same two as server errors are past the 5 % threshold.
        telemetry.tool_call(
            "add_criterion",
            Duration::from_micros(100),
            CallOutcome::ServerError,
        );
        telemetry.tool_call(
            "add_criterion",
            Duration::from_micros(100),
            CallOutcome::ServerError,
        );
        let snapshot = telemetry.snapshot(Gauges::default());
        assert_eq!(snapshot.health.status, Status::Degraded);
    }

    #[test]
    fn a_slow_evaluation_degrades_health() {
        let telemetry = Telemetry::default();
        telemetry.evaluation(Duration::from_secs(20));
        let snapshot = telemetry.snapshot(Gauges::default());
        assert_eq!(snapshot.health.status, Status::Degraded);
        assert_eq!(snapshot.health.alerts[0].alert, "evaluation_latency");
        assert_eq!(snapshot.window.evaluation_p95_seconds, Some(20.0));
    }
}
