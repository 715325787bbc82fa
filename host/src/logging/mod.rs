//! Logging: to stderr (stdout belongs to command output and, for the server, to JSON-RPC),
//! at the level of `[logging] level`, `RUST_LOG` or `LOG_LEVEL`, as text (default) or as one
//! JSON object per line (`[logging] format = "json"`, `DMM_LOG_FORMAT`, `--log-format`).
//! Text is coloured only when stderr is a terminal.
//!
//! Every tool call runs in a `tool_call` span (tool, session id) and every backend call in a
//! `backend_call` span (session id, criterion, backend, model); both are at info level, so
//! lines at info and finer carry them (JSON lines list them under `spans`). Prompts are never
//! logged unless `[logging] log_prompts = true` (`DMM_LOG_PROMPTS`) and the level is debug:
//! they hold what users wrote about their decisions. For the same reason rmcp's dumps of
//! every JSON-RPC message (debug level, target `rmcp::service`) are held back to info unless
//! prompts may be logged or the filter names `rmcp` itself. Secrets never reach the logs:
//! plugins only ever see secret names, and the host scrubs echoed values.
//!
//! Python's level names (`WARNING`, `CRITICAL`), which deployments of the reference server
//! set, are accepted beside tracing's; anything else must be a tracing filter directive such
//! as `decision_matrix=debug,warn`.

use std::io::IsTerminal as _;

pub use decision_matrix_core::config::{LogFormat, LoggingConfig};

/// Installs the global subscriber. Text lines are coloured only when stderr is a
/// terminal: escape codes in a file, a pipe or a log collector are noise.
pub fn init(config: &LoggingConfig) {
    let filter = config.effective_filter();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(text: &str) -> Result<String, String> {
        LoggingConfig {
            level: text.to_owned(),
            ..LoggingConfig::default()
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
    fn rmcp_message_dumps_stay_out_of_debug_logs_unless_prompts_may_be_logged() {
        let effective = |level: &str, log_prompts: bool| {
            LoggingConfig {
                level: level.to_owned(),
                log_prompts,
                ..LoggingConfig::default()
            }
            .effective_filter()
            .to_string()
        };
        assert!(effective("debug", false).contains("rmcp::service=info"));
        assert_eq!(effective("debug", true), "debug");
        assert_eq!(effective("warn", false), "warn");
        assert_eq!(effective("rmcp=debug,warn", false), "rmcp=debug,warn");
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

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn the_format_is_text_or_json_and_anything_else_says_so() {
        let parse = |text: &str| -> Result<LoggingConfig, String> {
            crate::config::Config::parse(text)
                .map(|config| config.logging)
                .map_err(|e| e.to_string())
        };
        let json = parse("[logging]\nformat = \"json\"\nlog_prompts = true").expect("valid");
        assert_eq!((json.format, json.log_prompts), (LogFormat::Json, true));
        let error = parse("[logging]\nformat = \"xml\"").unwrap_err();
        assert!(
            error.contains("logging.format") && error.contains("xml") && error.contains("`json`"),
            "{error}"
        );
    }
}

#[cfg(test)]
pub(crate) mod capture;
