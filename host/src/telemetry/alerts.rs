//! Alert thresholds (`[alerts]`) and their episodes.
//!
//! The thresholds are the performance guide's: evaluation p95 above 15 s, more than 5 % of
//! calls failing over a 5-minute window, a backend failing more than 10 % of its calls,
//! sessions above 80 % of `sessions.max_sessions`, memory above 85 %, more than 50 cells
//! waiting to be evaluated. Each is a key, layered like every other key.
//!
//! A crossed threshold is an *episode*: it is logged as a warning once, when it starts, and
//! once more (at info) when it ends; while it lasts, health is `degraded` with its reason.
//! The state is shared by the background check and every on-demand reading (health, metrics,
//! `server_stats`), so however often health is read an episode logs once.
//!
//! Two thresholds of the guide have no counterpart: thread-pool use (backend calls are
//! asynchronous; there is no pool to fill) and "low throughput during peak hours" (the server
//! cannot know the peak hours; throughput is reported for dashboards to judge). The error
//! rates are only judged once the window holds `min_window_requests` calls, so that one
//! failure among the first calls after start-up is not an episode.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::health::{Health, Status};
use super::window::Rate;

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

/// What the thresholds are judged on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    /// p95 of the evaluations in the window, if there were any.
    pub evaluation_p95: Option<Duration>,
    /// Tool calls in the window.
    pub calls: Rate,
    /// Calls per backend in the window.
    pub backends: Vec<(String, Rate)>,
    /// Sessions alive and their limit, when the store could be read.
    pub sessions: Option<(usize, usize)>,
    /// Memory in use, percent, when known.
    pub memory_used_percent: Option<f64>,
    /// Cells waiting or running in evaluations.
    pub queue_depth: u64,
}

/// A threshold crossed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Breach {
    /// Which threshold: `evaluation_latency`, `error_rate`, `backend_error_rate`,
    /// `session_capacity`, `memory` or `queue_depth`.
    pub alert: &'static str,
    /// What it is about, for per-backend alerts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The value read.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// A sentence for people.
    pub message: String,
}

impl Breach {
    /// The episode's identity: the alert and its subject.
    fn key(&self) -> String {
        match &self.subject {
            Some(subject) => format!("{}/{subject}", self.alert),
            None => self.alert.to_owned(),
        }
    }
}

impl AlertSettings {
    /// Every threshold `reading` crosses.
    pub fn breaches(&self, reading: &Reading) -> Vec<Breach> {
        let mut found = Vec::new();
        if !self.enabled {
            return found;
        }
        let window = self.window.as_secs();
        if let Some(p95) = reading.evaluation_p95
            && p95 > self.evaluation_p95
        {
            found.push(Breach {
                alert: "evaluation_latency",
                subject: None,
                value: p95.as_secs_f64(),
                threshold: self.evaluation_p95.as_secs_f64(),
                message: format!(
                    "evaluation p95 is {:.1} s over the last {window} s (threshold {} s)",
                    p95.as_secs_f64(),
                    self.evaluation_p95.as_secs_f64()
                ),
            });
        }
        let judged = |rate: &Rate| rate.requests >= self.min_window_requests;
        let percent = |rate: &Rate| rate.error_ratio() * 100.0;
        if judged(&reading.calls) && percent(&reading.calls) > self.error_rate_percent {
            found.push(Breach {
                alert: "error_rate",
                subject: None,
                value: percent(&reading.calls),
                threshold: self.error_rate_percent,
                message: format!(
                    "{} of {} tool calls failed over the last {window} s ({:.1} %, threshold {} %)",
                    reading.calls.errors,
                    reading.calls.requests,
                    percent(&reading.calls),
                    self.error_rate_percent
                ),
            });
        }
        for (backend, rate) in &reading.backends {
            if judged(rate) && percent(rate) > self.backend_error_rate_percent {
                found.push(Breach {
                    alert: "backend_error_rate",
                    subject: Some(backend.clone()),
                    value: percent(rate),
                    threshold: self.backend_error_rate_percent,
                    message: format!(
                        "backend '{backend}' failed {} of {} calls over the last {window} s ({:.1} %, threshold {} %)",
                        rate.errors,
                        rate.requests,
                        percent(rate),
                        self.backend_error_rate_percent
                    ),
                });
            }
        }
        if let Some((active, max)) = reading.sessions {
            let used = active as f64 / max.max(1) as f64 * 100.0;
            if used > self.session_capacity_percent {
                found.push(Breach {
                    alert: "session_capacity",
                    subject: None,
                    value: used,
                    threshold: self.session_capacity_percent,
                    message: format!(
                        "{active} of {max} sessions in use ({used:.1} %, threshold {} %)",
                        self.session_capacity_percent
                    ),
                });
            }
        }
        if let Some(used) = reading.memory_used_percent
            && used > self.memory_percent
        {
            found.push(Breach {
                alert: "memory",
                subject: None,
                value: used,
                threshold: self.memory_percent,
                message: format!(
                    "memory use is {used:.1} % (threshold {} %)",
                    self.memory_percent
                ),
            });
        }
        if reading.queue_depth > self.queue_depth {
            found.push(Breach {
                alert: "queue_depth",
                subject: None,
                value: reading.queue_depth as f64,
                threshold: self.queue_depth as f64,
                message: format!(
                    "{} cells waiting or running in evaluations (threshold {})",
                    reading.queue_depth, self.queue_depth
                ),
            });
        }
        found
    }
}

/// The thresholds and the episodes under way.
pub struct Alerts {
    settings: AlertSettings,
    /// Episodes under way, by key, with their message.
    active: Mutex<BTreeMap<String, String>>,
}

impl Alerts {
    /// No episode under way.
    pub fn new(settings: AlertSettings) -> Alerts {
        Alerts {
            settings,
            active: Mutex::default(),
        }
    }

    /// The thresholds.
    pub fn settings(&self) -> &AlertSettings {
        &self.settings
    }

    /// Judges `reading`: logs a warning for each episode that starts and an info line for
    /// each that ends, and says how healthy the server is.
    pub fn check(&self, reading: &Reading) -> Health {
        let breaches = self.settings.breaches(reading);
        let mut active = self.active.lock();
        let now: BTreeMap<String, &Breach> = breaches.iter().map(|b| (b.key(), b)).collect();
        active.retain(|key, message| {
            let goes_on = now.contains_key(key);
            if !goes_on {
                tracing::info!(alert = %key, "alert recovered: {message}");
            }
            goes_on
        });
        for (key, breach) in &now {
            if !active.contains_key(key) {
                tracing::warn!(
                    alert = breach.alert,
                    subject = breach.subject.as_deref(),
                    value = breach.value,
                    threshold = breach.threshold,
                    "health degraded: {}",
                    breach.message
                );
                active.insert(key.clone(), breach.message.clone());
            }
        }
        drop(active);
        Health {
            status: if breaches.is_empty() {
                Status::Ok
            } else {
                Status::Degraded
            },
            reasons: breaches.iter().map(|b| b.message.clone()).collect(),
            alerts: breaches,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::capture::capture;

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

    fn busy() -> Reading {
        Reading {
            evaluation_p95: Some(Duration::from_secs(20)),
            calls: Rate {
                requests: 100,
                errors: 6,
            },
            backends: vec![(
                "litellm".into(),
                Rate {
                    requests: 10,
                    errors: 2,
                },
            )],
            sessions: Some((81, 100)),
            memory_used_percent: Some(90.0),
            queue_depth: 51,
        }
    }

    #[test]
    fn every_threshold_is_crossed_strictly_above_it() {
        let settings = AlertSettings::default();
        let alerts: Vec<&str> = settings.breaches(&busy()).iter().map(|b| b.alert).collect();
        assert_eq!(
            alerts,
            [
                "evaluation_latency",
                "error_rate",
                "backend_error_rate",
                "session_capacity",
                "memory",
                "queue_depth"
            ]
        );
        let at_thresholds = Reading {
            evaluation_p95: Some(Duration::from_secs(15)),
            calls: Rate {
                requests: 100,
                errors: 5,
            },
            backends: vec![(
                "litellm".into(),
                Rate {
                    requests: 10,
                    errors: 1,
                },
            )],
            sessions: Some((80, 100)),
            memory_used_percent: Some(85.0),
            queue_depth: 50,
        };
        assert!(settings.breaches(&at_thresholds).is_empty());
        // Too few calls to judge a rate.
        let few = Reading {
            calls: Rate {
                requests: 9,
                errors: 9,
            },
            ..Reading::default()
        };
        assert!(settings.breaches(&few).is_empty());
        let disabled = AlertSettings {
            enabled: false,
            ..AlertSettings::default()
        };
        assert!(disabled.breaches(&busy()).is_empty());
    }

    #[test]
    fn an_episode_warns_once_recovers_and_warns_again() {
        let alerts = Alerts::new(AlertSettings::default());
        let full = Reading {
            sessions: Some((90, 100)),
            ..Reading::default()
        };
        let calm = Reading {
            sessions: Some((10, 100)),
            ..Reading::default()
        };
        let (statuses, logs) = capture(tracing::Level::INFO, || {
            [&full, &full, &full, &calm, &calm, &full]
                .into_iter()
                .map(|reading| alerts.check(reading).status)
                .collect::<Vec<_>>()
        });
        use Status::{Degraded, Ok};
        assert_eq!(statuses, [Degraded, Degraded, Degraded, Ok, Ok, Degraded]);
        let warnings = logs.lines().filter(|l| l.contains("WARN")).count();
        let recoveries = logs
            .lines()
            .filter(|l| l.contains("alert recovered"))
            .count();
        assert_eq!((warnings, recoveries), (2, 1), "{logs}");
        assert!(
            logs.contains("90 of 100 sessions in use (90.0 %, threshold 80 %)"),
            "{logs}"
        );
        let health = alerts.check(&full);
        assert_eq!(
            health.reasons,
            ["90 of 100 sessions in use (90.0 %, threshold 80 %)"]
        );
        assert_eq!(health.alerts[0].alert, "session_capacity");
    }
}
