//! Logging: to stderr (stdout belongs to command output and, for the server, to JSON-RPC),
//! at the level of `[logging] level`, `RUST_LOG` or `LOG_LEVEL`.
//!
//! Python's level names (`WARNING`, `CRITICAL`), which deployments of the reference server
//! set, are accepted beside tracing's; anything else must be a tracing filter directive such
//! as `decision_matrix=debug,warn`.

use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;

/// `[logging]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// A level (`error`, `warn`, `info`, `debug`, `trace`, `off`) or a filter directive.
    pub level: String,
}

impl Default for LoggingConfig {
    fn default() -> LoggingConfig {
        LoggingConfig {
            level: "warn".to_owned(),
        }
    }
}

const LEVELS: [(&str, &str); 9] = [
    ("off", "off"),
    ("error", "error"),
    ("critical", "error"),
    ("fatal", "error"),
    ("warn", "warn"),
    ("warning", "warn"),
    ("info", "info"),
    ("debug", "debug"),
    ("trace", "trace"),
];

impl LoggingConfig {
    /// The filter, or a message naming the key, the value and what is allowed.
    pub fn filter(&self) -> Result<EnvFilter, String> {
        let level = self.level.trim();
        let directive = LEVELS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(level))
            .map(|(_, directive)| (*directive).to_owned());
        let is_directive = level.contains('=') || level.contains(',');
        let invalid = || {
            format!(
                "logging.level = '{level}' is not a level or filter; allowed: error, warn, info, debug, trace, off, or directives such as decision_matrix=debug,warn"
            )
        };
        match directive {
            Some(directive) => EnvFilter::try_new(directive).map_err(|_| invalid()),
            None if is_directive => EnvFilter::try_new(level).map_err(|_| invalid()),
            None => Err(invalid()),
        }
    }

    /// Installs the global subscriber. Falls back to `warn` if the level is invalid (the
    /// configuration check reports it).
    pub fn init(&self) {
        let filter = self.filter().unwrap_or_else(|_| EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(text: &str) -> Result<String, String> {
        LoggingConfig {
            level: text.to_owned(),
        }
        .filter()
        .map(|filter| filter.to_string())
    }

    #[test]
    fn python_and_tracing_level_names_are_accepted() {
        assert_eq!(level("WARNING").as_deref(), Ok("warn"));
        assert_eq!(level("CRITICAL").as_deref(), Ok("error"));
        assert_eq!(level("debug").as_deref(), Ok("debug"));
        assert_eq!(
            level("decision_matrix=debug,warn").as_deref(),
            Ok("decision_matrix=debug,warn")
        );
    }

    #[test]
    fn anything_else_names_what_is_allowed() {
        assert!(
            level("loud")
                .unwrap_err()
                .starts_with("logging.level = 'loud' is not a level or filter; allowed: error")
        );
    }
}
