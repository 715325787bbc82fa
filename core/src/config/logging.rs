//! `[logging]`: the level (or filter directives) and format of the server's log lines, read
//! and checked here; the host installs the subscriber.

use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// `[logging]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// A level (`error`, `warn`, `info`, `debug`, `trace`, `off`) or a filter directive.
    pub level: String,
    /// `text` (default) or `json`.
    pub format: LogFormat,
    /// Log each backend prompt at debug level (default false: prompts carry users' text).
    pub log_prompts: bool,
}

impl Default for LoggingConfig {
    fn default() -> LoggingConfig {
        LoggingConfig {
            level: "warn".to_owned(),
            format: LogFormat::Text,
            log_prompts: false,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people: one line per event, spans before the message.
    #[default]
    Text,
    /// For machines: one JSON object per line with `timestamp`, `level`, `fields`, `target`,
    /// `span` (the innermost) and `spans` (all, outermost first).
    Json,
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

    /// The filter the subscriber uses: [`LoggingConfig::filter`], with rmcp's message dumps
    /// (which carry users' text) held back unless prompts may be logged or the filter names
    /// `rmcp`. Falls back to `warn` if the level is invalid (the configuration check reports
    /// it).
    pub fn effective_filter(&self) -> EnvFilter {
        let filter = self.filter().unwrap_or_else(|_| EnvFilter::new("warn"));
        let verbose = filter
            .max_level_hint()
            .is_some_and(|hint| hint >= LevelFilter::DEBUG);
        if self.log_prompts || !verbose || self.level.contains("rmcp") {
            return filter;
        }
        match "rmcp::service=info".parse() {
            Ok(directive) => filter.add_directive(directive),
            Err(_) => filter,
        }
    }
}
