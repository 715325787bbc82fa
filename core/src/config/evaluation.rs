//! The `[evaluation]` table of the configuration file, in the units people write (seconds,
//! counts), turned into [`EvaluationSettings`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{EvaluationSettings, Fallback};
use crate::resilience::breaker::BreakerConfig;
use crate::resilience::retry::RetryPolicy;
use crate::resilience::timeout::TimeoutConfig;

/// `[evaluation]`. Every key is optional; absent keys keep the defaults of
/// [`EvaluationSettings::default`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationConfig {
    /// Options scored per backend call; 1 disables batching.
    pub batch_size: Option<usize>,
    /// Backend calls in flight across the server.
    pub max_concurrent_calls: Option<usize>,
    /// Backend calls in flight per session.
    pub max_concurrent_per_session: Option<usize>,
    /// Backend calls in flight per backend id.
    #[serde(default)]
    pub max_concurrent_per_backend: BTreeMap<String, usize>,
    /// Requests per minute: `backend` (each of its models) or `backend/model`.
    #[serde(default)]
    pub requests_per_minute: BTreeMap<String, u32>,
    /// Attempts per cell, the first included.
    pub retry_attempts: Option<u32>,
    /// First backoff delay, doubled per retry (with jitter).
    pub retry_delay_seconds: Option<f64>,
    /// Longest backoff delay.
    pub max_retry_delay_seconds: Option<f64>,
    /// Whether a backend's circuit breaker is used.
    pub circuit_breaker: Option<bool>,
    /// Consecutive failures that open a breaker.
    pub circuit_breaker_threshold: Option<u32>,
    /// How long an open breaker refuses calls.
    pub circuit_breaker_open_seconds: Option<f64>,
    /// A fixed per-call timeout replacing the computed one.
    pub timeout_seconds: Option<f64>,
    /// Per-backend base of the computed timeout.
    #[serde(default)]
    pub timeout_base_seconds: BTreeMap<String, f64>,
    /// Generated tokens allowed per option.
    pub max_tokens_per_option: Option<u32>,
    /// Answers kept in the cache; 0 disables it.
    pub cache_entries: Option<usize>,
    /// Most memory the answers kept in the cache may take, in MiB (1–65536).
    pub cache_max_mib: Option<usize>,
    /// Backend (and model) used when a cell's own backend fails for good.
    pub fallback: Option<Fallback>,
    /// The winner's probability of being best at which evaluation stops (0 to 0.999; 0
    /// evaluates each cell once).
    pub confidence_target: Option<f64>,
}

fn seconds(key: &str, value: f64, min: f64, max: f64) -> Result<Duration, String> {
    if !(min..=max).contains(&value) {
        return Err(format!(
            "evaluation.{key} = {value} is out of range; allowed: {min} to {max} seconds"
        ));
    }
    Ok(Duration::from_secs_f64(value))
}

fn at_least(key: &str, value: usize, min: usize) -> Result<usize, String> {
    if value < min {
        return Err(format!(
            "evaluation.{key} = {value} is too small; allowed: at least {min}"
        ));
    }
    Ok(value)
}

impl EvaluationConfig {
    /// The settings, or a message naming the key, the value and what is allowed.
    pub fn settings(&self) -> Result<EvaluationSettings, String> {
        let mut s = EvaluationSettings::default();
        if let Some(v) = self.batch_size {
            s.batch_size = at_least("batch_size", v, 1)?;
        }
        if let Some(v) = self.max_concurrent_calls {
            s.max_concurrent_calls = at_least("max_concurrent_calls", v, 1)?;
        }
        if let Some(v) = self.max_concurrent_per_session {
            s.max_concurrent_per_session = at_least("max_concurrent_per_session", v, 1)?;
        }
        for (backend, &v) in &self.max_concurrent_per_backend {
            let key = format!("max_concurrent_per_backend.{backend}");
            s.max_concurrent_per_backend
                .insert(backend.clone(), at_least(&key, v, 1)?);
        }
        for (key, &rpm) in &self.requests_per_minute {
            at_least(&format!("requests_per_minute.{key}"), rpm as usize, 1)?;
        }
        s.requests_per_minute = self.requests_per_minute.clone();
        let mut retry = RetryPolicy::default();
        if let Some(v) = self.retry_attempts {
            if !(1..=10).contains(&v) {
                return Err(format!(
                    "evaluation.retry_attempts = {v} is out of range; allowed: 1 to 10"
                ));
            }
            retry.max_attempts = v;
        }
        if let Some(v) = self.retry_delay_seconds {
            retry.base_delay = seconds("retry_delay_seconds", v, 0.0, 30.0)?;
        }
        if let Some(v) = self.max_retry_delay_seconds {
            retry.max_delay = seconds("max_retry_delay_seconds", v, 0.0, 300.0)?;
        }
        s.retry = retry;
        let mut breaker = BreakerConfig::default();
        if let Some(v) = self.circuit_breaker {
            breaker.enabled = v;
        }
        if let Some(v) = self.circuit_breaker_threshold {
            breaker.failure_threshold =
                at_least("circuit_breaker_threshold", v as usize, 1)? as u32;
        }
        if let Some(v) = self.circuit_breaker_open_seconds {
            breaker.open_for = seconds("circuit_breaker_open_seconds", v, 1.0, 3600.0)?;
        }
        s.breaker = breaker;
        let mut timeouts = TimeoutConfig::default();
        if let Some(v) = self.timeout_seconds {
            timeouts.override_timeout = Some(seconds("timeout_seconds", v, 1.0, 600.0)?);
            timeouts.ceiling = timeouts.ceiling.max(Duration::from_secs_f64(v));
        }
        for (backend, &v) in &self.timeout_base_seconds {
            let key = format!("timeout_base_seconds.{backend}");
            timeouts
                .backend_bases
                .insert(backend.clone(), seconds(&key, v, 1.0, 600.0)?);
        }
        s.timeouts = timeouts;
        if let Some(v) = self.max_tokens_per_option {
            s.max_tokens_per_option = at_least("max_tokens_per_option", v as usize, 16)? as u32;
        }
        if let Some(v) = self.cache_entries {
            s.cache_entries = v;
        }
        if let Some(v) = self.cache_max_mib {
            if !(1..=65_536).contains(&v) {
                return Err(format!(
                    "evaluation.cache_max_mib = {v} is out of range; allowed: 1 to 65536 MiB"
                ));
            }
            s.cache_max_bytes = v << 20;
        }
        s.fallback = self.fallback.clone();
        if let Some(v) = self.confidence_target {
            s.confidence_target = confidence_target(v)
                .map_err(|allowed| format!("evaluation.confidence_target = {v} is {allowed}"))?;
        }
        s.validate()?;
        Ok(s)
    }
}

impl From<&EvaluationSettings> for EvaluationConfig {
    /// Every key set to the value in force, as `config show` prints it. `timeout_seconds`
    /// stays absent when timeouts are computed.
    fn from(s: &EvaluationSettings) -> EvaluationConfig {
        EvaluationConfig {
            batch_size: Some(s.batch_size),
            max_concurrent_calls: Some(s.max_concurrent_calls),
            max_concurrent_per_session: Some(s.max_concurrent_per_session),
            max_concurrent_per_backend: s.max_concurrent_per_backend.clone(),
            requests_per_minute: s.requests_per_minute.clone(),
            retry_attempts: Some(s.retry.max_attempts),
            retry_delay_seconds: Some(s.retry.base_delay.as_secs_f64()),
            max_retry_delay_seconds: Some(s.retry.max_delay.as_secs_f64()),
            circuit_breaker: Some(s.breaker.enabled),
            circuit_breaker_threshold: Some(s.breaker.failure_threshold),
            circuit_breaker_open_seconds: Some(s.breaker.open_for.as_secs_f64()),
            timeout_seconds: s.timeouts.override_timeout.map(|t| t.as_secs_f64()),
            timeout_base_seconds: s
                .timeouts
                .backend_bases
                .iter()
                .map(|(backend, base)| (backend.clone(), base.as_secs_f64()))
                .collect(),
            max_tokens_per_option: Some(s.max_tokens_per_option),
            cache_entries: Some(s.cache_entries),
            cache_max_mib: Some(s.cache_max_bytes >> 20),
            fallback: s.fallback.clone(),
            confidence_target: Some(s.confidence_target),
        }
    }
}

/// `value` if it is a confidence target: 0 (one pass) or a probability below 1 (certainty
/// is never reached, so 1 would spend every budget); otherwise what is allowed.
pub fn confidence_target(value: f64) -> Result<f64, &'static str> {
    if (0.0..=0.999).contains(&value) {
        Ok(value)
    } else {
        Err("out of range; allowed: 0 (evaluate each cell once) to 0.999")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_is_the_defaults() {
        let settings = EvaluationConfig::default().settings().expect("valid");
        assert_eq!(settings.batch_size, 5);
        assert_eq!(settings.retry.max_attempts, 3);
        assert!(settings.breaker.enabled);
    }

    #[test]
    fn values_are_converted_and_bad_ones_named() {
        let config: EvaluationConfig = toml::from_str(
            r#"
            batch_size = 1
            requests_per_minute = { bedrock = 20, "litellm/gpt-4o" = 500 }
            retry_attempts = 5
            timeout_seconds = 90
            fallback = { backend = "ollama", model = "llama3.1:8b" }
            "#,
        )
        .expect("parses");
        let settings = config.settings().expect("valid");
        assert_eq!(settings.batch_size, 1);
        assert_eq!(settings.requests_per_minute["bedrock"], 20);
        assert_eq!(
            settings.timeouts.override_timeout,
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            settings.fallback.map(|f| f.backend),
            Some("ollama".to_owned())
        );

        let bad = EvaluationConfig {
            retry_attempts: Some(0),
            ..EvaluationConfig::default()
        };
        assert_eq!(
            bad.settings().unwrap_err(),
            "evaluation.retry_attempts = 0 is out of range; allowed: 1 to 10"
        );
        let bad = EvaluationConfig {
            batch_size: Some(0),
            ..EvaluationConfig::default()
        };
        assert!(bad.settings().unwrap_err().contains("batch_size = 0"));
        assert!(toml::from_str::<EvaluationConfig>("batch = 2").is_err());
    }
}
