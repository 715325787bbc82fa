//! A [`Snapshot`] in the Prometheus text exposition format (version 0.0.4), for `/metrics`.
//!
//! Written by hand rather than through `prometheus-client` or `metrics-exporter-prometheus`:
//! the registry already exists ([`super::Telemetry`], sized for this server's few label
//! sets), and the format is a few lines per family; a crate would bring a second registry,
//! its own recording path and more memory, for the same text. Every family has its `# HELP`
//! and `# TYPE` lines; label values are escaped as the format requires.

use std::fmt::{Display, Write as _};

use super::connections::ConnectionCounts;
use super::histogram::BOUNDS_MICROS;
use super::snapshot::{Latency, Snapshot};

/// The `Content-Type` of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every alert name, so each has a series whether it fires or not.
const ALERTS: [&str; 6] = [
    "evaluation_latency",
    "error_rate",
    "backend_error_rate",
    "session_capacity",
    "memory",
    "queue_depth",
];

/// Circuit-breaker states, one series each.
const CIRCUIT_STATES: [&str; 3] = ["closed", "open", "half_open"];

/// The text being written.
struct Text(String);

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (label, text)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{label}=\"{}\"", escape(text));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn gauge(&mut self, name: &str, help: &str, value: impl Display) {
        self.family(name, "gauge", help);
        self.sample(name, &[], value);
    }

    /// A counter family with one series per item.
    fn counters<'a, T: 'a>(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        items: impl IntoIterator<Item = &'a T>,
        series: impl Fn(&T) -> (&str, f64),
    ) {
        self.family(name, "counter", help);
        for item in items {
            let (value_of_label, value) = series(item);
            self.sample(name, &[(label, value_of_label)], value);
        }
    }

    /// A histogram family with one histogram per item.
    fn histograms<'a, T: 'a>(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        items: impl IntoIterator<Item = &'a T> + Clone,
        series: impl Fn(&T) -> (&str, &Latency),
    ) {
        self.family(name, "histogram", help);
        let bucket = format!("{name}_bucket");
        for item in items.clone() {
            let (value_of_label, latency) = series(item);
            let distribution = &latency.distribution;
            let mut cumulative = 0;
            for (bound, in_bucket) in BOUNDS_MICROS.iter().zip(&distribution.buckets) {
                cumulative += in_bucket;
                let le = (*bound as f64 / 1e6).to_string();
                self.sample(&bucket, &[(label, value_of_label), ("le", &le)], cumulative);
            }
            let count = distribution.count();
            self.sample(&bucket, &[(label, value_of_label), ("le", "+Inf")], count);
            self.sample(
                &format!("{name}_sum"),
                &[(label, value_of_label)],
                distribution.sum().as_secs_f64(),
            );
            self.sample(&format!("{name}_count"), &[(label, value_of_label)], count);
        }
        let quantiles = format!("{name}_quantile");
        self.family(
            &quantiles,
            "gauge",
            &format!("p50, p90, p95 and p99 of {name} in seconds, estimated from its buckets (within 19 %)"),
        );
        for item in items {
            let (value_of_label, latency) = series(item);
            for (quantile, value) in [
                ("0.5", latency.p50_ms),
                ("0.9", latency.p90_ms),
                ("0.95", latency.p95_ms),
                ("0.99", latency.p99_ms),
            ] {
                if let Some(value) = value {
                    self.sample(
                        &quantiles,
                        &[(label, value_of_label), ("quantile", quantile)],
                        value / 1e3,
                    );
                }
            }
        }
    }
}

/// `snapshot` as Prometheus text.
pub fn render(snapshot: &Snapshot) -> String {
    let mut out = Text(String::with_capacity(16 * 1024));
    let p = "decision_matrix";
    out.family(
        &format!("{p}_build_info"),
        "gauge",
        "Always 1; the version in a label.",
    );
    out.sample(
        &format!("{p}_build_info"),
        &[("version", snapshot.version)],
        1,
    );
    out.gauge(
        &format!("{p}_uptime_seconds"),
        "Seconds since the server started.",
        snapshot.uptime_seconds,
    );
    out.gauge(
        &format!("{p}_health_degraded"),
        "1 while some alert threshold is crossed (health degraded), else 0.",
        u8::from(!snapshot.health.alerts.is_empty()),
    );
    let firing = format!("{p}_alert_firing");
    out.family(
        &firing,
        "gauge",
        "1 while the alert's threshold is crossed, else 0.",
    );
    for alert in ALERTS {
        let on = snapshot.health.alerts.iter().any(|b| b.alert == alert);
        out.sample(&firing, &[("alert", alert)], u8::from(on));
    }

    let tools = &snapshot.tools;
    out.counters(
        &format!("{p}_tool_calls_total"),
        "MCP tool calls, per tool.",
        "tool",
        tools,
        |t| (&t.name, t.calls as f64),
    );
    out.counters(
        &format!("{p}_tool_errors_total"),
        "MCP tool calls that failed on the server's side, per tool (the error rate's errors).",
        "tool",
        tools,
        |t| (&t.name, t.errors as f64),
    );
    out.counters(
        &format!("{p}_tool_client_errors_total"),
        "MCP tool calls refused for the client's own input (invalid arguments, unknown session, missing prerequisite), per tool; not in the error rate.",
        "tool",
        tools,
        |t| (&t.name, t.client_errors as f64),
    );
    out.histograms(
        &format!("{p}_tool_call_duration_seconds"),
        "Time to answer an MCP tool call, per tool.",
        "tool",
        tools,
        |t| (&t.name, &t.latency),
    );

    let backends = &snapshot.backends;
    out.counters(
        &format!("{p}_backend_calls_total"),
        "Calls sent to an LLM backend, retries included.",
        "backend",
        backends,
        |b| (&b.name, b.calls as f64),
    );
    out.counters(
        &format!("{p}_backend_errors_total"),
        "Backend calls that failed or timed out.",
        "backend",
        backends,
        |b| (&b.name, b.errors as f64),
    );
    out.counters(
        &format!("{p}_backend_rejected_total"),
        "Backend calls refused by the open circuit breaker (never sent).",
        "backend",
        backends,
        |b| (&b.name, b.rejected as f64),
    );
    out.counters(
        &format!("{p}_backend_retries_total"),
        "Backend calls retried.",
        "backend",
        backends,
        |b| (&b.name, b.retries as f64),
    );
    out.counters(
        &format!("{p}_backend_rate_limit_waits_total"),
        "Backend calls that waited for the rate limit.",
        "backend",
        backends,
        |b| (&b.name, b.rate_limit_waits as f64),
    );
    out.counters(
        &format!("{p}_backend_rate_limit_wait_seconds_total"),
        "Time backend calls spent waiting for the rate limit.",
        "backend",
        backends,
        |b| (&b.name, b.rate_limit_wait_seconds),
    );
    let tokens = format!("{p}_backend_tokens_total");
    out.family(
        &tokens,
        "counter",
        "Tokens sent (input) and received (output), per backend.",
    );
    for b in backends {
        out.sample(
            &tokens,
            &[("backend", &b.name), ("direction", "input")],
            b.input_tokens,
        );
        out.sample(
            &tokens,
            &[("backend", &b.name), ("direction", "output")],
            b.output_tokens,
        );
    }
    out.histograms(
        &format!("{p}_backend_call_duration_seconds"),
        "Time of one backend call, per backend.",
        "backend",
        backends,
        |b| (&b.name, &b.latency),
    );
    let circuit = format!("{p}_backend_circuit_state");
    out.family(
        &circuit,
        "gauge",
        "1 for the circuit breaker's current state (closed, open, half_open), 0 for the others.",
    );
    for b in backends {
        if let Some(current) = b.circuit {
            for state in CIRCUIT_STATES {
                out.sample(
                    &circuit,
                    &[("backend", &b.name), ("state", state)],
                    u8::from(state == current),
                );
            }
        }
    }
    let window_errors = format!("{p}_backend_window_error_ratio");
    out.family(
        &window_errors,
        "gauge",
        "Failed share of the backend's calls over the sliding window (alerts.window_seconds).",
    );
    for b in backends {
        let ratio = if b.window_calls == 0 {
            0.0
        } else {
            b.window_errors as f64 / b.window_calls as f64
        };
        out.sample(&window_errors, &[("backend", &b.name)], ratio);
    }

    let window = &snapshot.window;
    out.gauge(
        &format!("{p}_window_seconds"),
        "Length of the sliding window of the window_* metrics.",
        window.seconds,
    );
    out.gauge(
        &format!("{p}_window_calls_per_minute"),
        "MCP tool calls per minute over the sliding window.",
        window.calls_per_minute,
    );
    out.gauge(
        &format!("{p}_window_error_ratio"),
        "Failed share of the MCP tool calls over the sliding window.",
        window.error_rate,
    );
    if let Some(p95) = window.evaluation_p95_seconds {
        out.gauge(
            &format!("{p}_window_evaluation_p95_seconds"),
            "p95 of evaluate_options over the sliding window.",
            p95,
        );
    }

    if let Some(active) = snapshot.sessions.active {
        out.gauge(
            &format!("{p}_active_sessions"),
            "Sessions alive (in a shared store, across instances).",
            active,
        );
    }
    out.gauge(
        &format!("{p}_max_sessions"),
        "The session limit (sessions.max_sessions).",
        snapshot.sessions.max,
    );
    out.gauge(
        &format!("{p}_evaluation_queue_depth"),
        "Cells waiting or running in evaluations.",
        snapshot.evaluation_queue_depth,
    );
    out.gauge(
        &format!("{p}_plugin_instances"),
        "Plugin instances running a call now.",
        snapshot.plugins.instances,
    );
    out.gauge(
        &format!("{p}_plugin_instance_capacity"),
        "Most plugin instances at once.",
        snapshot.plugins.instance_capacity,
    );
    out.gauge(
        &format!("{p}_plugin_memory_bytes"),
        "Linear memory plugin instances hold now.",
        snapshot.plugins.memory_bytes,
    );
    out.gauge(
        &format!("{p}_plugin_memory_budget_bytes"),
        "Linear memory plugin instances may hold together (plugins.limits.max_total_memory_mib).",
        snapshot.plugins.memory_budget_bytes,
    );
    let loaded = format!("{p}_plugins_loaded");
    out.family(&loaded, "gauge", "Plugins loaded, per kind.");
    out.sample(&loaded, &[("kind", "backend")], snapshot.plugins.backends);
    out.sample(&loaded, &[("kind", "scoring")], snapshot.plugins.strategies);
    if let Some(used) = snapshot.memory.used_percent {
        out.gauge(
            &format!("{p}_memory_used_percent"),
            "Memory of the machine or container in use, percent.",
            used,
        );
    }
    if let Some(resident) = snapshot.memory.resident_bytes {
        out.gauge(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            resident,
        );
    }
    out.0
}

/// The HTTP transport's connection counters as Prometheus text, to follow [`render`]'s.
pub fn render_connections(counts: &ConnectionCounts) -> String {
    let mut out = Text(String::with_capacity(1024));
    let p = "decision_matrix_http";
    out.gauge(
        &format!("{p}_connections_open"),
        "HTTP connections open now.",
        counts.open,
    );
    out.gauge(
        &format!("{p}_connections_limit"),
        "Most HTTP connections open at once (server.max_connections, within the descriptor limit).",
        counts.limit,
    );
    for (name, help, value) in [
        (
            "connections_accepted_total",
            "HTTP connections accepted.",
            counts.accepted,
        ),
        (
            "connections_refused_total",
            "HTTP connections refused because the limit was reached.",
            counts.refused,
        ),
        (
            "accept_errors_total",
            "Failed accepts of HTTP connections (out of descriptors, for example).",
            counts.accept_errors,
        ),
    ] {
        out.family(&format!("{p}_{name}"), "counter", help);
        out.sample(&format!("{p}_{name}"), &[], value);
    }
    let closed = format!("{p}_connections_closed_total");
    out.family(
        &closed,
        "counter",
        "HTTP connections the server closed on a timeout: no complete request head in time (header_timeout), or idle too long between requests (idle_timeout).",
    );
    out.sample(
        &closed,
        &[("reason", "header_timeout")],
        counts.header_timeouts,
    );
    out.sample(&closed, &[("reason", "idle_timeout")], counts.idle_timeouts);
    out.0
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::telemetry::{CallOutcome, Gauges, Telemetry};

    /// One sample: name, labels, value.
    type Sample = (String, Vec<(String, String)>, f64);

    /// Checks the text line by line as a scraper would: comments are HELP or TYPE, every
    /// sample belongs to the family typed last, names and labels are well formed, values
    /// parse as numbers.
    fn parse(text: &str) -> Vec<Sample> {
        let mut family: Option<(String, String)> = None;
        let mut samples = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# ") {
                let mut parts = rest.splitn(3, ' ');
                let (keyword, name) = (parts.next(), parts.next().expect("a name"));
                match keyword {
                    Some("HELP") => {}
                    Some("TYPE") => {
                        let kind = parts.next().expect("a type");
                        assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                        family = Some((name.to_owned(), kind.to_owned()));
                    }
                    _ => panic!("unexpected comment: {line}"),
                }
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("name and value");
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                other => other.parse().unwrap_or_else(|_| panic!("a number: {line}")),
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => {
                    let labels = labels.strip_suffix('}').expect("closing brace");
                    let labels = labels
                        .split("\",")
                        .map(|pair| {
                            let (key, value) = pair.split_once("=\"").expect("key=\"value\"");
                            (key.to_owned(), value.trim_end_matches('"').to_owned())
                        })
                        .collect();
                    (name, labels)
                }
                None => (series, Vec::new()),
            };
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{line}"
            );
            let (family_name, kind) = family.as_ref().expect("a TYPE line first");
            let belongs = name == family_name
                || (kind == "histogram"
                    && ["_bucket", "_sum", "_count"]
                        .iter()
                        .any(|suffix| name == format!("{family_name}{suffix}")));
            assert!(belongs, "{name} outside its family {family_name}");
            samples.push((name.to_owned(), labels, value));
        }
        samples
    }

    #[test]
    fn the_text_is_well_formed_and_says_what_was_recorded() {
        let telemetry = Telemetry::default();
        telemetry.tool_call("add_option", Duration::from_micros(300), CallOutcome::Ok);
        telemetry.tool_call(
            "add_option",
            Duration::from_millis(2),
            CallOutcome::ServerError,
        );
        telemetry.tool_call(
            "add_option",
            Duration::from_millis(2),
            CallOutcome::ClientError,
        );
        telemetry.backend_call("my \"odd\" backend", Duration::from_millis(40), true);
        telemetry.tokens("my \"odd\" backend", 10, 5);
        let text = render(&telemetry.snapshot(Gauges {
            active_sessions: Some(1),
            max_sessions: 10,
            breakers: vec![("my \"odd\" backend".into(), "open")],
            resident_bytes: Some(1 << 20),
            ..Gauges::default()
        }));
        let samples = parse(&text);
        let value = |name: &str, labels: &[(&str, &str)]| {
            samples
                .iter()
                .find(|(n, l, _)| {
                    n == name
                        && labels
                            .iter()
                            .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
                })
                .map(|(_, _, v)| *v)
                .unwrap_or_else(|| panic!("{name} {labels:?} in\n{text}"))
        };
        let tool = [("tool", "add_option")];
        assert_eq!(value("decision_matrix_tool_calls_total", &tool), 3.0);
        assert_eq!(value("decision_matrix_tool_errors_total", &tool), 1.0);
        assert_eq!(
            value("decision_matrix_tool_client_errors_total", &tool),
            1.0
        );
        assert_eq!(
            value("decision_matrix_tool_call_duration_seconds_count", &tool),
            3.0
        );
        assert_eq!(
            value(
                "decision_matrix_tool_call_duration_seconds_bucket",
                &[("tool", "add_option"), ("le", "0.0004")]
            ),
            1.0
        );
        assert_eq!(
            value(
                "decision_matrix_tool_call_duration_seconds_bucket",
                &[("tool", "add_option"), ("le", "+Inf")]
            ),
            3.0
        );
        let sum = value("decision_matrix_tool_call_duration_seconds_sum", &tool);
        assert!((sum - 0.0043).abs() < 1e-9, "{sum}");
        let odd = "my \\\"odd\\\" backend";
        assert_eq!(
            value(
                "decision_matrix_backend_tokens_total",
                &[("backend", odd), ("direction", "input")]
            ),
            10.0
        );
        assert_eq!(
            value(
                "decision_matrix_backend_circuit_state",
                &[("backend", odd), ("state", "open")]
            ),
            1.0
        );
        assert_eq!(value("decision_matrix_active_sessions", &[]), 1.0);
        assert_eq!(value("decision_matrix_health_degraded", &[]), 0.0);
        assert_eq!(value("process_resident_memory_bytes", &[]), 1048576.0);
        // Buckets are cumulative.
        let buckets: Vec<f64> = samples
            .iter()
            .filter(|(n, l, _)| {
                n == "decision_matrix_tool_call_duration_seconds_bucket"
                    && l.iter().any(|(k, v)| k == "tool" && v == "add_option")
            })
            .map(|(_, _, v)| *v)
            .collect();
        assert_eq!(buckets.len(), BOUNDS_MICROS.len() + 1);
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    }

    #[test]
    fn connection_counters_are_well_formed() {
        let counts = ConnectionCounts {
            limit: 8,
            open: 3,
            accepted: 40,
            refused: 5,
            header_timeouts: 2,
            idle_timeouts: 7,
            accept_errors: 1,
        };
        let text = render_connections(&counts);
        let samples = parse(&text);
        let value = |name: &str, label: Option<(&str, &str)>| {
            samples
                .iter()
                .find(|(n, l, _)| {
                    n == name
                        && label.is_none_or(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
                })
                .map(|(_, _, v)| *v)
                .unwrap_or_else(|| panic!("{name} in\n{text}"))
        };
        let p = "decision_matrix_http";
        assert_eq!(value(&format!("{p}_connections_open"), None), 3.0);
        assert_eq!(value(&format!("{p}_connections_limit"), None), 8.0);
        assert_eq!(value(&format!("{p}_connections_refused_total"), None), 5.0);
        assert_eq!(value(&format!("{p}_accept_errors_total"), None), 1.0);
        let closed = format!("{p}_connections_closed_total");
        assert_eq!(value(&closed, Some(("reason", "header_timeout"))), 2.0);
        assert_eq!(value(&closed, Some(("reason", "idle_timeout"))), 7.0);
    }
}
