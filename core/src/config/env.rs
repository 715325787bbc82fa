//! The environment variables that configure the server, as a configuration layer.
//!
//! The names are the reference server's (`DMM_*`, `MCP_*`, `LOG_LEVEL`), so a deployment
//! that configured it keeps working; where its units differ from ours (hours and minutes for
//! sessions) the value is converted. A few of its variables have no counterpart here; they
//! are recognised and reported by `config show` as without effect rather than silently
//! dropped. `DMM_ENVIRONMENT` is a layer of its own (`stage`). The backend variables
//! (`OLLAMA_HOST`, `LITELLM_*`, `OPENAI_*`, `AWS_*`, `DMM_*_MODEL`, `DMM_*_TIMEOUT_SECONDS`)
//! are read by the built-in backends (see `providers`).

use toml::Value;

use super::layers::{Layered, Source};
use crate::providers::Environment;

/// Environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "DMM_CONFIG";
/// Environment variable naming the profile.
pub const PROFILE_ENV: &str = "DMM_PROFILE";

/// How a variable's text becomes a configuration value.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A whole number.
    Integer,
    /// A whole number of attempts in total, where the reference server's 0 ("no retries")
    /// means one attempt.
    Attempts,
    /// A number.
    Number,
    /// A number in a larger unit, converted to whole seconds (3600 for hours).
    Seconds(u32),
    /// Text.
    Text,
    /// Comma-separated text.
    List,
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    Bool,
}

/// One variable and the key it sets.
struct Var {
    name: &'static str,
    key: &'static str,
    kind: Kind,
}

const fn var(name: &'static str, key: &'static str, kind: Kind) -> Var {
    Var { name, key, kind }
}

/// Applied in order: a later variable setting the same key wins (`LOG_LEVEL` over `RUST_LOG`).
const VARS: &[Var] = &[
    var(
        "DMM_MAX_SESSION_ID_LENGTH",
        "limits.max_session_id_length",
        Kind::Integer,
    ),
    var(
        "DMM_MAX_TOPIC_LENGTH",
        "limits.max_topic_length",
        Kind::Integer,
    ),
    var(
        "DMM_MAX_OPTION_NAME_LENGTH",
        "limits.max_option_name_length",
        Kind::Integer,
    ),
    var(
        "DMM_MAX_CRITERION_NAME_LENGTH",
        "limits.max_criterion_name_length",
        Kind::Integer,
    ),
    var(
        "DMM_MAX_DESCRIPTION_LENGTH",
        "limits.max_description_length",
        Kind::Integer,
    ),
    var(
        "DMM_MIN_OPTIONS_REQUIRED",
        "limits.min_options_required",
        Kind::Integer,
    ),
    var(
        "DMM_MAX_OPTIONS_ALLOWED",
        "limits.max_options_allowed",
        Kind::Integer,
    ),
    var(
        "DMM_MAX_CRITERIA_ALLOWED",
        "limits.max_criteria_allowed",
        Kind::Integer,
    ),
    var(
        "DMM_MIN_CRITERION_WEIGHT",
        "limits.min_criterion_weight",
        Kind::Number,
    ),
    var(
        "DMM_MAX_CRITERION_WEIGHT",
        "limits.max_criterion_weight",
        Kind::Number,
    ),
    var(
        "DMM_MAX_ACTIVE_SESSIONS",
        "sessions.max_sessions",
        Kind::Integer,
    ),
    var(
        "DMM_DEFAULT_SESSION_TTL_HOURS",
        "sessions.ttl_seconds",
        Kind::Seconds(3600),
    ),
    var(
        "DMM_DEFAULT_CLEANUP_INTERVAL_MINUTES",
        "sessions.cleanup_interval_seconds",
        Kind::Seconds(60),
    ),
    var("DMM_STORE", "sessions.store", Kind::Text),
    var("DMM_SCOPE", "sessions.scope", Kind::Text),
    var(
        "DMM_STORE_NAMESPACE",
        "sessions.store_namespace",
        Kind::Text,
    ),
    var(
        "DMM_MAX_RETRIES",
        "evaluation.retry_attempts",
        Kind::Attempts,
    ),
    var(
        "DMM_RETRY_DELAY_SECONDS",
        "evaluation.retry_delay_seconds",
        Kind::Number,
    ),
    var(
        "DMM_MAX_CONCURRENT_EVALUATIONS",
        "evaluation.max_concurrent_per_session",
        Kind::Integer,
    ),
    var(
        "DMM_REQUEST_TIMEOUT_SECONDS",
        "evaluation.timeout_seconds",
        Kind::Number,
    ),
    var("DMM_PLUGINS_DIR", "plugins.dir", Kind::Text),
    var("DMM_PLUGIN_CACHE_DIR", "plugins.cache_dir", Kind::Text),
    var("MCP_TRANSPORT", "server.transport", Kind::Text),
    var("MCP_HTTP_HOST", "server.host", Kind::Text),
    var("MCP_HTTP_PORT", "server.port", Kind::Integer),
    var("MCP_AUTH_TOKEN", "server.auth_token", Kind::Text),
    var("MCP_ALLOWED_HOSTS", "server.allowed_hosts", Kind::List),
    var("MCP_ALLOWED_ORIGINS", "server.allowed_origins", Kind::List),
    var(
        "DMM_INSECURE_UNAUTHENTICATED_BIND",
        "server.insecure_unauthenticated_bind",
        Kind::Bool,
    ),
    var(
        "DMM_HTTP_MAX_CONNECTIONS",
        "server.max_connections",
        Kind::Integer,
    ),
    var(
        "DMM_HTTP_HEADER_READ_TIMEOUT_SECONDS",
        "server.header_read_timeout_seconds",
        Kind::Number,
    ),
    var(
        "DMM_HTTP_IDLE_TIMEOUT_SECONDS",
        "server.idle_timeout_seconds",
        Kind::Number,
    ),
    var("RUST_LOG", "logging.level", Kind::Text),
    var("LOG_LEVEL", "logging.level", Kind::Text),
    var("DMM_LOG_FORMAT", "logging.format", Kind::Text),
    var("DMM_LOG_PROMPTS", "logging.log_prompts", Kind::Bool),
    var("DMM_ALERTS_ENABLED", "alerts.enabled", Kind::Bool),
    var(
        "DMM_ALERT_CHECK_INTERVAL_SECONDS",
        "alerts.check_interval_seconds",
        Kind::Integer,
    ),
    var(
        "DMM_ALERT_WINDOW_SECONDS",
        "alerts.window_seconds",
        Kind::Integer,
    ),
    var(
        "DMM_ALERT_MIN_WINDOW_REQUESTS",
        "alerts.min_window_requests",
        Kind::Integer,
    ),
    var(
        "DMM_ALERT_EVALUATION_P95_SECONDS",
        "alerts.evaluation_p95_seconds",
        Kind::Number,
    ),
    var(
        "DMM_ALERT_ERROR_RATE_PERCENT",
        "alerts.error_rate_percent",
        Kind::Number,
    ),
    var(
        "DMM_ALERT_BACKEND_ERROR_RATE_PERCENT",
        "alerts.backend_error_rate_percent",
        Kind::Number,
    ),
    var(
        "DMM_ALERT_SESSION_CAPACITY_PERCENT",
        "alerts.session_capacity_percent",
        Kind::Number,
    ),
    var(
        "DMM_ALERT_MEMORY_PERCENT",
        "alerts.memory_percent",
        Kind::Number,
    ),
    var("DMM_ALERT_QUEUE_DEPTH", "alerts.queue_depth", Kind::Integer),
];

/// The reference server's variables that change nothing here, and why.
pub const WITHOUT_EFFECT: &[(&str, &str)] = &[
    (
        "DMM_LRU_EVICTION_BATCH_SIZE",
        "sessions are evicted one at a time, least recently used first",
    ),
    (
        "DMM_DEFAULT_MAX_SESSIONS",
        "unused by the reference server too; the limit is DMM_MAX_ACTIVE_SESSIONS",
    ),
    (
        "DMM_COT_TIMEOUT_SECONDS",
        "there is no separate chain-of-thought pass; see evaluation.timeout_seconds",
    ),
    (
        "DMM_COT_SUMMARY_TIMEOUT_SECONDS",
        "there is no separate chain-of-thought pass",
    ),
    (
        "DMM_DEFAULT_TEMPERATURE",
        "unused by the reference server too; criteria inherit the session's temperature",
    ),
    (
        "DMM_DEBUG_MODE",
        "only changed warnings in the reference server; set LOG_LEVEL=debug",
    ),
    ("DMM_CONFIG_VERSION", "informational"),
];

/// Adds every variable that is set as a layer; a value of the wrong kind is an error naming
/// the variable, its value and what is expected.
pub fn apply(env: &Environment, layered: &mut Layered) -> Result<(), String> {
    for var in VARS {
        let Some(text) = env.get(var.name) else {
            continue;
        };
        let value = convert(text, var.kind).map_err(|expected| {
            format!(
                "{} = '{text}' is not {expected} (it sets {})",
                var.name, var.key
            )
        })?;
        layered.set(var.key, value, &Source::Env(var.name.to_owned()));
    }
    Ok(())
}

/// The reference server's variables without effect that are set.
pub fn without_effect(env: &Environment) -> impl Iterator<Item = (&'static str, &'static str)> {
    WITHOUT_EFFECT
        .iter()
        .copied()
        .filter(|(name, _)| env.get(name).is_some())
}

fn convert(text: &str, kind: Kind) -> Result<Value, &'static str> {
    let integer = || text.parse::<i64>().map_err(|_| "a whole number");
    let number = || {
        text.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or("a number")
    };
    Ok(match kind {
        Kind::Integer => Value::Integer(integer()?),
        Kind::Attempts => Value::Integer(integer()?.max(1)),
        Kind::Number => Value::Float(number()?),
        Kind::Seconds(per_unit) => Value::Integer((number()? * f64::from(per_unit)).round() as i64),
        Kind::Text => Value::String(text.to_owned()),
        Kind::Bool => Value::Boolean(match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err("true or false"),
        }),
        Kind::List => Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::String(item.to_owned()))
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layered(pairs: &[(&str, &str)]) -> Result<Layered, String> {
        let mut layered = Layered::default();
        apply(
            &Environment::from_pairs(pairs.iter().copied()),
            &mut layered,
        )?;
        Ok(layered)
    }

    fn at<'a>(layered: &'a Layered, path: &str) -> &'a Value {
        let mut value = layered.tree().get(path.split('.').next().unwrap_or(path));
        for segment in path.split('.').skip(1) {
            value = value.and_then(|v| v.get(segment));
        }
        value.unwrap_or_else(|| panic!("{path} is set"))
    }

    #[test]
    fn reference_variables_map_to_keys_in_our_units() {
        let layered = layered(&[
            ("DMM_MAX_ACTIVE_SESSIONS", "250"),
            ("DMM_DEFAULT_SESSION_TTL_HOURS", "2"),
            ("DMM_DEFAULT_CLEANUP_INTERVAL_MINUTES", "1.5"),
            ("DMM_MAX_RETRIES", "0"),
            ("DMM_RETRY_DELAY_SECONDS", "0.5"),
            ("DMM_MIN_CRITERION_WEIGHT", "0.2"),
            ("MCP_ALLOWED_HOSTS", "example.test, localhost,"),
            ("RUST_LOG", "info"),
            ("LOG_LEVEL", "debug"),
        ])
        .expect("valid");
        assert_eq!(
            at(&layered, "sessions.max_sessions").as_integer(),
            Some(250)
        );
        assert_eq!(
            at(&layered, "sessions.ttl_seconds").as_integer(),
            Some(7200)
        );
        assert_eq!(
            at(&layered, "sessions.cleanup_interval_seconds").as_integer(),
            Some(90)
        );
        assert_eq!(
            at(&layered, "evaluation.retry_attempts").as_integer(),
            Some(1)
        );
        assert_eq!(
            at(&layered, "evaluation.retry_delay_seconds").as_float(),
            Some(0.5)
        );
        assert_eq!(
            at(&layered, "limits.min_criterion_weight").as_float(),
            Some(0.2)
        );
        assert_eq!(
            at(&layered, "server.allowed_hosts"),
            &Value::Array(vec!["example.test".into(), "localhost".into()])
        );
        assert_eq!(at(&layered, "logging.level").as_str(), Some("debug"));
        assert_eq!(
            layered.source_of("logging.level"),
            Source::Env("LOG_LEVEL".into())
        );
    }

    #[test]
    fn a_malformed_value_names_the_variable_and_what_is_expected() {
        assert_eq!(
            layered(&[("DMM_MAX_RETRIES", "three")]).unwrap_err(),
            "DMM_MAX_RETRIES = 'three' is not a whole number (it sets evaluation.retry_attempts)"
        );
        assert_eq!(
            layered(&[("DMM_RETRY_DELAY_SECONDS", "NaN")]).unwrap_err(),
            "DMM_RETRY_DELAY_SECONDS = 'NaN' is not a number (it sets evaluation.retry_delay_seconds)"
        );
    }

    #[test]
    fn logging_and_alert_variables_set_their_keys() {
        let set = layered(&[
            ("DMM_LOG_FORMAT", "json"),
            ("DMM_LOG_PROMPTS", "yes"),
            ("DMM_ALERT_QUEUE_DEPTH", "5"),
            ("DMM_ALERT_MEMORY_PERCENT", "90.5"),
        ])
        .expect("valid");
        assert_eq!(at(&set, "logging.format").as_str(), Some("json"));
        assert_eq!(at(&set, "logging.log_prompts").as_bool(), Some(true));
        assert_eq!(at(&set, "alerts.queue_depth").as_integer(), Some(5));
        assert_eq!(at(&set, "alerts.memory_percent").as_float(), Some(90.5));
        assert_eq!(
            layered(&[("DMM_LOG_PROMPTS", "maybe")]).unwrap_err(),
            "DMM_LOG_PROMPTS = 'maybe' is not true or false (it sets logging.log_prompts)"
        );
    }

    #[test]
    fn variables_without_effect_are_reported() {
        let env = Environment::from_pairs([("DMM_LRU_EVICTION_BATCH_SIZE", "10")]);
        let reported: Vec<_> = without_effect(&env).map(|(name, _)| name).collect();
        assert_eq!(reported, ["DMM_LRU_EVICTION_BATCH_SIZE"]);
    }
}
