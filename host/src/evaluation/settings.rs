//! [`EvaluationSettings`]: how evaluations run. Defaults follow the performance guide's
//! production profile and the reference server's retry schedule.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::resilience::breaker::BreakerConfig;
use super::resilience::retry::RetryPolicy;
use super::resilience::timeout::TimeoutConfig;

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
    /// Where a cell goes when its own backend fails for good.
    pub fallback: Option<Fallback>,
}

impl Default for EvaluationSettings {
    fn default() -> EvaluationSettings {
        EvaluationSettings {
            batch_size: 5,
            max_concurrent_calls: 64,
            max_concurrent_per_session: 10,
            max_concurrent_per_backend: BTreeMap::from([
                // Local models answer one or a few requests at a time.
                ("ollama".to_owned(), 4),
                ("bedrock".to_owned(), 10),
                ("litellm".to_owned(), 32),
            ]),
            default_per_backend: 16,
            requests_per_minute: BTreeMap::new(),
            retry: RetryPolicy::default(),
            breaker: BreakerConfig::default(),
            timeouts: TimeoutConfig::default(),
            max_tokens_per_option: 1024,
            cache_entries: 10_000,
            fallback: None,
        }
    }
}

impl EvaluationSettings {
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
