//! `log` import: guest log records become `tracing` events under the `plugin` target.

use super::super::bindings::log::{Host, Level};
use super::super::state::CallState;

/// Records one call may write; further records are dropped (a plugin logging in a loop
/// cannot flood the operator's log).
const MAX_RECORDS_PER_CALL: u32 = 1_000;
/// Longest message kept, in bytes; longer ones are cut at a character boundary.
const MAX_MESSAGE_BYTES: usize = 8 * 1024;

impl Host for CallState {
    fn enabled(&mut self, level: Level) -> bool {
        match level {
            Level::Trace => tracing::enabled!(target: "plugin", tracing::Level::TRACE),
            Level::Debug => tracing::enabled!(target: "plugin", tracing::Level::DEBUG),
            Level::Info => tracing::enabled!(target: "plugin", tracing::Level::INFO),
            Level::Warn => tracing::enabled!(target: "plugin", tracing::Level::WARN),
            Level::Error => tracing::enabled!(target: "plugin", tracing::Level::ERROR),
        }
    }

    fn log(&mut self, level: Level, target: String, message: String) {
        self.log_records += 1;
        if self.log_records > MAX_RECORDS_PER_CALL {
            if self.log_records == MAX_RECORDS_PER_CALL + 1 {
                tracing::warn!(target: "plugin", plugin = %self.context.label,
                    "plugin wrote over {MAX_RECORDS_PER_CALL} log records in one call; the rest are dropped");
            }
            return;
        }
        let message = self.context.scrub(truncate(&message, MAX_MESSAGE_BYTES));
        let target = truncate(&target, 128);
        let plugin = &*self.context.label;
        match level {
            Level::Trace => {
                tracing::trace!(target: "plugin", plugin = %plugin, module = target, "{message}")
            }
            Level::Debug => {
                tracing::debug!(target: "plugin", plugin = %plugin, module = target, "{message}")
            }
            Level::Info => {
                tracing::info!(target: "plugin", plugin = %plugin, module = target, "{message}")
            }
            Level::Warn => {
                tracing::warn!(target: "plugin", plugin = %plugin, module = target, "{message}")
            }
            Level::Error => {
                tracing::error!(target: "plugin", plugin = %plugin, module = target, "{message}")
            }
        }
    }
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
