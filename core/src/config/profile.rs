//! Deployment profiles: the performance guide's tuned settings for development, production
//! and high-scale deployments, as a layer under the configuration file.
//!
//! A profile only sets values; the file, the environment and flags still override each of
//! them. What the guide calls `max_parallel_evaluations` is our per-session limit on backend
//! calls in flight, and `timeout_per_evaluation` the per-call timeout. Its thread-pool and
//! connection-pool sizes have no counterpart: backend calls are asynchronous (no threads to
//! size) and the HTTP client keeps a connection pool per host by itself.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use toml::Table;

/// A named set of tuned settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// Few sessions, short timeouts, no breaker, one attempt: failures show at once.
    Development,
    /// Reliability first: 500 sessions, breaker at 5 failures, 3 attempts.
    Production,
    /// Throughput first: 2000 sessions, frequent sweeps, breaker at 3 failures.
    HighScale,
}

impl Profile {
    /// Every profile, in the order the guide lists them.
    pub const ALL: [Profile; 3] = [
        Profile::Development,
        Profile::Production,
        Profile::HighScale,
    ];

    /// The profile's name as written in configuration.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Development => "development",
            Profile::Production => "production",
            Profile::HighScale => "high-scale",
        }
    }

    /// The settings the profile sets, as a configuration layer.
    pub fn layer(self) -> Table {
        let text = match self {
            Profile::Development => {
                "[sessions]\nmax_sessions = 10\nttl_seconds = 1800\ncleanup_interval_seconds = 300\n\
                 [evaluation]\nmax_concurrent_per_session = 3\ntimeout_seconds = 60.0\n\
                 circuit_breaker = false\nretry_attempts = 1\n"
            }
            Profile::Production => {
                "[sessions]\nmax_sessions = 500\nttl_seconds = 3600\ncleanup_interval_seconds = 180\n\
                 [evaluation]\nmax_concurrent_per_session = 10\ntimeout_seconds = 120.0\n\
                 circuit_breaker = true\ncircuit_breaker_threshold = 5\nretry_attempts = 3\n"
            }
            Profile::HighScale => {
                "[sessions]\nmax_sessions = 2000\nttl_seconds = 1800\ncleanup_interval_seconds = 60\n\
                 [evaluation]\nmax_concurrent_per_session = 20\ntimeout_seconds = 180.0\n\
                 circuit_breaker = true\ncircuit_breaker_threshold = 3\nretry_attempts = 2\n"
            }
        };
        // The texts above are constants checked by this module's tests.
        toml::from_str(text).unwrap_or_default()
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = String;

    fn from_str(name: &str) -> Result<Profile, String> {
        Profile::ALL
            .into_iter()
            .find(|profile| profile.name() == name)
            .ok_or_else(|| {
                format!("unknown profile '{name}'; allowed: development, production, high-scale")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn every_profile_is_a_valid_configuration_with_the_guides_numbers() {
        for profile in Profile::ALL {
            let layer = profile.layer();
            assert!(!layer.is_empty(), "{profile} parses");
            let config: Config = Config::deserialize_table(layer).expect("valid keys");
            let sessions = config.sessions.settings().expect("valid sessions");
            let evaluation = config.evaluation.settings().expect("valid evaluation");
            let (max, ttl, every, parallel, timeout, breaker, attempts) = match profile {
                Profile::Development => (10, 1800, 300, 3, 60, None, 1),
                Profile::Production => (500, 3600, 180, 10, 120, Some(5), 3),
                Profile::HighScale => (2000, 1800, 60, 20, 180, Some(3), 2),
            };
            assert_eq!(sessions.max_sessions, max);
            assert_eq!(sessions.ttl.as_secs(), ttl);
            assert_eq!(sessions.cleanup_interval.as_secs(), every);
            assert_eq!(evaluation.max_concurrent_per_session, parallel);
            assert_eq!(
                evaluation.timeouts.override_timeout.map(|t| t.as_secs()),
                Some(timeout)
            );
            assert_eq!(
                evaluation
                    .breaker
                    .enabled
                    .then_some(evaluation.breaker.failure_threshold),
                breaker
            );
            assert_eq!(evaluation.retry.max_attempts, attempts);
        }
    }

    #[test]
    fn names_round_trip_and_unknown_ones_say_what_is_allowed() {
        for profile in Profile::ALL {
            assert_eq!(profile.name().parse::<Profile>(), Ok(profile));
        }
        assert_eq!(
            "staging".parse::<Profile>().unwrap_err(),
            "unknown profile 'staging'; allowed: development, production, high-scale"
        );
    }
}
