//! `[alerts]`: the thresholds past which the server's health is degraded, in the units people
//! write, and [`AlertSettings`], the thresholds in force (the host's `telemetry::alerts`
//! judges readings against them).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[alerts]`. Absent keys keep the defaults of [`AlertSettings`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Whether thresholds are checked at all (default true).
    pub enabled: Option<bool>,
    /// Seconds between background checks (1–3600; default 15).
    pub check_interval_seconds: Option<u64>,
    /// Length of the sliding window of throughput and error rates, in seconds (10–86400;
    /// default 300).
    pub window_seconds: Option<u64>,
    /// Calls the window must hold before its error rates are judged (1–1000000; default 10).
    pub min_window_requests: Option<u64>,
    /// p95 of `evaluate_options` over the window, in seconds, above which evaluations are
    /// slow (0.001–86400; default 15).
    pub evaluation_p95_seconds: Option<f64>,
    /// Percent of failed tool calls over the window (0–100; default 5).
    pub error_rate_percent: Option<f64>,
    /// Percent of failed calls to one backend over the window (0–100; default 10).
    pub backend_error_rate_percent: Option<f64>,
    /// Percent of `sessions.max_sessions` in use (0–100; default 80).
    pub session_capacity_percent: Option<f64>,
    /// Percent of the machine's or container's memory in use (0–100; default 85; 100 never
    /// triggers).
    pub memory_percent: Option<f64>,
    /// Cells waiting or running in evaluations (0–10000000; default 50).
    pub queue_depth: Option<u64>,
}

/// The thresholds in force.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    /// Whether thresholds are checked.
    pub enabled: bool,
    /// Time between background checks.
    pub check_interval: Duration,
    /// Length of the sliding window.
    pub window: Duration,
    /// Calls the window must hold before its error rates are judged.
    pub min_window_requests: u64,
    /// Evaluation p95 above which evaluations are slow.
    pub evaluation_p95: Duration,
    /// Tool-call error rate, percent.
    pub error_rate_percent: f64,
    /// Per-backend error rate, percent.
    pub backend_error_rate_percent: f64,
    /// Session use, percent of the limit.
    pub session_capacity_percent: f64,
    /// Memory use, percent.
    pub memory_percent: f64,
    /// Cells waiting or running.
    pub queue_depth: u64,
}

impl Default for AlertSettings {
    /// The performance guide's thresholds.
    fn default() -> AlertSettings {
        AlertSettings {
            enabled: true,
            check_interval: Duration::from_secs(15),
            window: Duration::from_secs(300),
            min_window_requests: 10,
            evaluation_p95: Duration::from_secs(15),
            error_rate_percent: 5.0,
            backend_error_rate_percent: 10.0,
            session_capacity_percent: 80.0,
            memory_percent: 85.0,
            queue_depth: 50,
        }
    }
}

fn integer(key: &str, value: Option<u64>, min: u64, max: u64, default: u64) -> Result<u64, String> {
    match value {
        None => Ok(default),
        Some(value) if (min..=max).contains(&value) => Ok(value),
        Some(value) => Err(format!(
            "alerts.{key} = {value} is out of range; allowed: {min} to {max}"
        )),
    }
}

fn number(key: &str, value: Option<f64>, min: f64, max: f64, default: f64) -> Result<f64, String> {
    match value {
        None => Ok(default),
        Some(value) if value.is_finite() && (min..=max).contains(&value) => Ok(value),
        Some(value) => Err(format!(
            "alerts.{key} = {value} is out of range; allowed: {min} to {max}"
        )),
    }
}

impl AlertsConfig {
    /// The settings, or a message naming the key, the value and what is allowed.
    pub fn settings(&self) -> Result<AlertSettings, String> {
        let d = AlertSettings::default();
        let seconds = |key, value, min, max, default: Duration| {
            integer(key, value, min, max, default.as_secs()).map(Duration::from_secs)
        };
        Ok(AlertSettings {
            enabled: self.enabled.unwrap_or(d.enabled),
            check_interval: seconds(
                "check_interval_seconds",
                self.check_interval_seconds,
                1,
                3600,
                d.check_interval,
            )?,
            window: seconds("window_seconds", self.window_seconds, 10, 86_400, d.window)?,
            min_window_requests: integer(
                "min_window_requests",
                self.min_window_requests,
                1,
                1_000_000,
                d.min_window_requests,
            )?,
            evaluation_p95: Duration::from_secs_f64(number(
                "evaluation_p95_seconds",
                self.evaluation_p95_seconds,
                0.001,
                86_400.0,
                d.evaluation_p95.as_secs_f64(),
            )?),
            error_rate_percent: number(
                "error_rate_percent",
                self.error_rate_percent,
                0.0,
                100.0,
                d.error_rate_percent,
            )?,
            backend_error_rate_percent: number(
                "backend_error_rate_percent",
                self.backend_error_rate_percent,
                0.0,
                100.0,
                d.backend_error_rate_percent,
            )?,
            session_capacity_percent: number(
                "session_capacity_percent",
                self.session_capacity_percent,
                0.0,
                100.0,
                d.session_capacity_percent,
            )?,
            memory_percent: number(
                "memory_percent",
                self.memory_percent,
                0.0,
                100.0,
                d.memory_percent,
            )?,
            queue_depth: integer(
                "queue_depth",
                self.queue_depth,
                0,
                10_000_000,
                d.queue_depth,
            )?,
        })
    }
}

impl From<&AlertSettings> for AlertsConfig {
    /// Every key set, as `config show` prints the effective values.
    fn from(s: &AlertSettings) -> AlertsConfig {
        AlertsConfig {
            enabled: Some(s.enabled),
            check_interval_seconds: Some(s.check_interval.as_secs()),
            window_seconds: Some(s.window.as_secs()),
            min_window_requests: Some(s.min_window_requests),
            evaluation_p95_seconds: Some(s.evaluation_p95.as_secs_f64()),
            error_rate_percent: Some(s.error_rate_percent),
            backend_error_rate_percent: Some(s.backend_error_rate_percent),
            session_capacity_percent: Some(s.session_capacity_percent),
            memory_percent: Some(s.memory_percent),
            queue_depth: Some(s.queue_depth),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_guides_and_bad_values_name_key_value_and_range() {
        let settings = AlertsConfig::default()
            .settings()
            .expect("defaults are valid");
        assert_eq!(settings, AlertSettings::default());
        assert_eq!(settings.evaluation_p95, Duration::from_secs(15));
        assert_eq!(settings.queue_depth, 50);
        let bad = AlertsConfig {
            error_rate_percent: Some(120.0),
            ..AlertsConfig::default()
        };
        assert_eq!(
            bad.settings().unwrap_err(),
            "alerts.error_rate_percent = 120 is out of range; allowed: 0 to 100"
        );
        let bad = AlertsConfig {
            check_interval_seconds: Some(0),
            ..AlertsConfig::default()
        };
        assert_eq!(
            bad.settings().unwrap_err(),
            "alerts.check_interval_seconds = 0 is out of range; allowed: 1 to 3600"
        );
        let round_trip = AlertsConfig::from(&settings).settings().expect("valid");
        assert_eq!(round_trip, settings);
    }
}
