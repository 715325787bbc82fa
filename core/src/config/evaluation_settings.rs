//! [`EvaluationSettings`]: how evaluations run. Defaults follow the performance guide's
//! production profile and the reference server's retry schedule; each backend's own defaults
//! (timeout base, concurrency, rate limit) come from its manifest ([`BackendDefaults`]).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::resilience::breaker::BreakerConfig;
use crate::resilience::retry::RetryPolicy;
use crate::resilience::timeout::TimeoutConfig;

/// A fallback used when a cell's own backend fails for good.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fallback {
    /// Backend plugin id.
    pub backend: String,
    /// Model; `None` means that backend's default.
    #[serde(default)]
    pub model: Option<String>,
}

/// What a backend's manifest says about running it, for values the operator's `[evaluation]`
/// does not set. `None` leaves the host's default for every backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackendDefaults {
    /// Base of the computed per-call timeout.
    pub timeout_base: Option<Duration>,
    /// Calls in flight to the backend.
    pub max_concurrent_calls: Option<usize>,
    /// Requests per minute to each of its models.
    pub requests_per_minute: Option<u32>,
}

/// Options scored per backend call unless configured (`[evaluation] batch_size`).
pub const DEFAULT_BATCH_SIZE: usize = 5;

/// How evaluations run.
#[derive(Debug, Clone)]
pub struct EvaluationSettings {
    /// Options scored per backend call (1 disables batching).
    pub batch_size: usize,
    /// Backend calls in flight across the whole server.
    pub max_concurrent_calls: usize,
    /// Backend calls in flight for one session (`DMM_MAX_CONCURRENT_EVALUATIONS`).
    pub max_concurrent_per_session: usize,
    /// Backend calls in flight per backend; backends not listed get `default_per_backend`.
    pub max_concurrent_per_backend: BTreeMap<String, usize>,
    /// See `max_concurrent_per_backend`.
    pub default_per_backend: usize,
    /// Requests per minute per backend (all its models share the budget unless a
    /// `backend/model` key says otherwise); absent means no limit.
    pub requests_per_minute: BTreeMap<String, u32>,
    /// Retries.
    pub retry: RetryPolicy,
    /// Circuit breaker per backend.
    pub breaker: BreakerConfig,
    /// Per-call timeouts.
    pub timeouts: TimeoutConfig,
    /// Maximum generated tokens for one option; a batch gets this per option plus room for
    /// the array.
    pub max_tokens_per_option: u32,
    /// Answers cached (0 disables the cache).
    pub cache_entries: usize,
    /// Most bytes the cached answers may take; the least recently used go first.
    pub cache_max_bytes: usize,
    /// Where a cell goes when its own backend fails for good.
    pub fallback: Option<Fallback>,
    /// The probability of being best at which an evaluation has a clear winner and stops
    /// spending calls (`evaluate_options`' default `confidence_target`); 0 makes one pass.
    pub confidence_target: f64,
}

impl Default for EvaluationSettings {
    fn default() -> EvaluationSettings {
        EvaluationSettings {
            batch_size: DEFAULT_BATCH_SIZE,
            max_concurrent_calls: 64,
            max_concurrent_per_session: 10,
            max_concurrent_per_backend: BTreeMap::new(),
            default_per_backend: 16,
            requests_per_minute: BTreeMap::new(),
            retry: RetryPolicy::default(),
            breaker: BreakerConfig::default(),
            timeouts: TimeoutConfig::default(),
            max_tokens_per_option: 1024,
            cache_entries: 10_000,
            cache_max_bytes: 64 << 20,
            fallback: None,
            confidence_target: 0.9,
        }
    }
}

impl EvaluationSettings {
    /// These settings with each backend's manifest defaults filled in where the operator set
    /// no value for that backend.
    pub fn with_backend_defaults<'a>(
        mut self,
        backends: impl IntoIterator<Item = (&'a str, &'a BackendDefaults)>,
    ) -> EvaluationSettings {
        for (id, defaults) in backends {
            if let Some(limit) = defaults.max_concurrent_calls {
                self.max_concurrent_per_backend
                    .entry(id.to_owned())
                    .or_insert(limit);
            }
            if let Some(rpm) = defaults.requests_per_minute {
                self.requests_per_minute.entry(id.to_owned()).or_insert(rpm);
            }
            // Timeout bases are matched ignoring case, so an operator's `Bedrock` is `bedrock`.
            let operator_set = self
                .timeouts
                .backend_bases
                .keys()
                .any(|name| name.eq_ignore_ascii_case(id));
            if let (Some(base), false) = (defaults.timeout_base, operator_set) {
                self.timeouts.backend_bases.insert(id.to_owned(), base);
            }
        }
        self
    }

    /// Concurrent calls allowed to `backend`.
    pub fn per_backend(&self, backend: &str) -> usize {
        self.max_concurrent_per_backend
            .get(backend)
            .copied()
            .unwrap_or(self.default_per_backend)
            .max(1)
    }

    /// Token budget for a call scoring `options` options.
    pub fn max_tokens(&self, options: usize) -> u32 {
        if options <= 1 {
            return self.max_tokens_per_option;
        }
        let per_option = self.max_tokens_per_option.min(512);
        let options = u32::try_from(options).unwrap_or(u32::MAX);
        per_option.saturating_mul(options).saturating_add(256)
    }

    /// Checks the values that have no safe meaning.
    pub fn validate(&self) -> Result<(), String> {
        if self.batch_size == 0 {
            return Err("batch_size must be at least 1".to_owned());
        }
        if self.max_concurrent_calls == 0 || self.max_concurrent_per_session == 0 {
            return Err("concurrency limits must be at least 1".to_owned());
        }
        if self.retry.max_attempts == 0 {
            return Err("retry attempts must be at least 1".to_owned());
        }
        if self.requests_per_minute.values().any(|&rpm| rpm == 0) {
            return Err("requests_per_minute must be at least 1 where given".to_owned());
        }
        if self.timeouts.ceiling < Duration::from_secs(1) {
            return Err("the per-call timeout ceiling must be at least 1 s".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_defaults_fill_in_only_what_the_operator_left_out() {
        let mut settings = EvaluationSettings::default();
        settings.max_concurrent_per_backend.insert("a".into(), 2);
        settings
            .timeouts
            .backend_bases
            .insert("A".into(), Duration::from_secs(5));
        let defaults = BackendDefaults {
            timeout_base: Some(Duration::from_secs(30)),
            max_concurrent_calls: Some(8),
            requests_per_minute: Some(60),
        };
        let settings = settings.with_backend_defaults([("a", &defaults), ("b", &defaults)]);
        assert_eq!(settings.per_backend("a"), 2);
        assert_eq!(settings.per_backend("b"), 8);
        assert_eq!(settings.per_backend("c"), 16);
        assert_eq!(settings.timeouts.base_for("a"), Duration::from_secs(5));
        assert_eq!(settings.timeouts.base_for("b"), Duration::from_secs(30));
        assert_eq!(settings.requests_per_minute["a"], 60);
        let none = EvaluationSettings::default()
            .with_backend_defaults([("a", &BackendDefaults::default())]);
        assert!(none.max_concurrent_per_backend.is_empty());
        assert!(none.timeouts.backend_bases.is_empty());
        assert!(none.requests_per_minute.is_empty());
    }
}
