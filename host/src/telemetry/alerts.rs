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
use serde::Serialize;

use super::health::{Health, Status};
use super::window::Rate;
use decision_matrix_core::config::AlertSettings;

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

/// Every threshold of `settings` that `reading` crosses.
pub fn breaches(settings: &AlertSettings, reading: &Reading) -> Vec<Breach> {
    let mut found = Vec::new();
    if !settings.enabled {
        return found;
    }
    let window = settings.window.as_secs();
    if let Some(p95) = reading.evaluation_p95
        && p95 > settings.evaluation_p95
    {
        found.push(Breach {
            alert: "evaluation_latency",
            subject: None,
            value: p95.as_secs_f64(),
            threshold: settings.evaluation_p95.as_secs_f64(),
            message: format!(
                "evaluation p95 is {:.1} s over the last {window} s (threshold {} s)",
                p95.as_secs_f64(),
                settings.evaluation_p95.as_secs_f64()
            ),
        });
    }
    let judged = |rate: &Rate| rate.requests >= settings.min_window_requests;
    let percent = |rate: &Rate| rate.error_ratio() * 100.0;
    if judged(&reading.calls) && percent(&reading.calls) > settings.error_rate_percent {
        found.push(Breach {
            alert: "error_rate",
            subject: None,
            value: percent(&reading.calls),
            threshold: settings.error_rate_percent,
            message: format!(
                "{} of {} tool calls failed over the last {window} s ({:.1} %, threshold {} %)",
                reading.calls.errors,
                reading.calls.requests,
                percent(&reading.calls),
                settings.error_rate_percent
            ),
        });
    }
    for (backend, rate) in &reading.backends {
        if judged(rate) && percent(rate) > settings.backend_error_rate_percent {
            found.push(Breach {
                alert: "backend_error_rate",
                subject: Some(backend.clone()),
                value: percent(rate),
                threshold: settings.backend_error_rate_percent,
                message: format!(
                    "backend '{backend}' failed {} of {} calls over the last {window} s ({:.1} %, threshold {} %)",
                    rate.errors,
                    rate.requests,
                    percent(rate),
                    settings.backend_error_rate_percent
                ),
            });
        }
    }
    if let Some((active, max)) = reading.sessions {
        let used = active as f64 / max.max(1) as f64 * 100.0;
        if used > settings.session_capacity_percent {
            found.push(Breach {
                alert: "session_capacity",
                subject: None,
                value: used,
                threshold: settings.session_capacity_percent,
                message: format!(
                    "{active} of {max} sessions in use ({used:.1} %, threshold {} %)",
                    settings.session_capacity_percent
                ),
            });
        }
    }
    if let Some(used) = reading.memory_used_percent
        && used > settings.memory_percent
    {
        found.push(Breach {
            alert: "memory",
            subject: None,
            value: used,
            threshold: settings.memory_percent,
            message: format!(
                "memory use is {used:.1} % (threshold {} %)",
                settings.memory_percent
            ),
        });
    }
    if reading.queue_depth > settings.queue_depth {
        found.push(Breach {
            alert: "queue_depth",
            subject: None,
            value: reading.queue_depth as f64,
            threshold: settings.queue_depth as f64,
            message: format!(
                "{} cells waiting or running in evaluations (threshold {})",
                reading.queue_depth, settings.queue_depth
            ),
        });
    }
    found
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
        let breaches = breaches(&self.settings, reading);
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
        let alerts: Vec<&str> = breaches(&settings, &busy())
            .iter()
            .map(|b| b.alert)
            .collect();
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
        assert!(breaches(&settings, &at_thresholds).is_empty());
        // Too few calls to judge a rate.
        let few = Reading {
            calls: Rate {
                requests: 9,
                errors: 9,
            },
            ..Reading::default()
        };
        assert!(breaches(&settings, &few).is_empty());
        let disabled = AlertSettings {
            enabled: false,
            ..AlertSettings::default()
        };
        assert!(breaches(&disabled, &busy()).is_empty());
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
