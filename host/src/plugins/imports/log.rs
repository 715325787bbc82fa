//! `log` import: guest log records become `tracing` events under the `plugin` target.
//!
//! A plugin logging in a loop must not flood the operator's log, so each call has a budget:
//! at most [`MAX_RECORDS_PER_CALL`] records and [`MAX_BYTES_PER_CALL`] bytes of messages, the
//! same as it may print to stdout (see [`super::super::stdio`]). The record that crosses the
//! byte budget is cut to fit; the rest are dropped with one notice.

use super::super::bindings::log::{Host, Level};
use super::super::state::CallState;
use super::super::stdio;

/// Records one call may write.
const MAX_RECORDS_PER_CALL: u32 = 1_000;
/// Bytes of messages one call may write: as much as its stdout.
const MAX_BYTES_PER_CALL: usize = stdio::MAX_BYTES_PER_CALL;
/// Longest message kept, in bytes; longer ones are cut at a character boundary.
const MAX_MESSAGE_BYTES: usize = 8 * 1024;

/// What one call has logged so far.
#[derive(Debug, Default)]
pub struct LogBudget {
    records: u32,
    bytes: usize,
    spent: bool,
}

impl LogBudget {
    /// How many bytes of a message of `len` bytes may be logged: all of it, part of it when
    /// it crosses the budget, or `None` once the budget is spent (the first refusal warns).
    fn admit(&mut self, len: usize, plugin: &str) -> Option<usize> {
        let room = MAX_BYTES_PER_CALL - self.bytes;
        if !self.spent && self.records < MAX_RECORDS_PER_CALL && room > 0 {
            self.records += 1;
            let taken = len.min(room);
            self.bytes += taken;
            return Some(taken);
        }
        if !std::mem::replace(&mut self.spent, true) {
            tracing::warn!(target: "plugin", plugin,
                "plugin wrote over {MAX_RECORDS_PER_CALL} log records or {MAX_BYTES_PER_CALL} bytes of them in one call; the rest are dropped");
        }
        None
    }
}

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
        // Scrubbed whole, then cut: a cut first could leave the start of a secret behind.
        let message = self.context.scrub(&message);
        let message = truncate(&message, MAX_MESSAGE_BYTES);
        let Some(allowed) = self.log_budget.admit(message.len(), &self.context.label) else {
            return;
        };
        let message = truncate(message, allowed);
        let target = self.context.scrub(&target);
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
    use std::sync::Arc;

    use super::*;
    use crate::logging::capture::capture;
    use crate::plugins::limits::PluginLimits;
    use crate::plugins::memory_budget::MemoryBudget;
    use crate::plugins::state::PluginContext;

    #[test]
    fn a_call_logs_at_most_its_byte_budget() {
        let mut state = CallState::new(
            Arc::new(PluginContext {
                label: Arc::from("flood@1"),
                config: Default::default(),
                network: None,
                limits: PluginLimits {
                    memory_bytes: 1 << 20,
                    cpu: std::time::Duration::from_secs(1),
                    wall: std::time::Duration::from_secs(1),
                },
            }),
            MemoryBudget::new(1 << 20).reservation(),
        );
        let ((), logs) = capture(tracing::Level::INFO, || {
            for _ in 0..1_000 {
                state.log(Level::Info, "m".into(), "x".repeat(8 * 1024));
            }
        });
        let logged: usize = logs.matches('x').count();
        assert_eq!(logged, MAX_BYTES_PER_CALL, "the budget, to the byte");
        assert!(logs.len() < 2 * MAX_BYTES_PER_CALL, "{} bytes", logs.len());
        assert_eq!(logs.matches("the rest are dropped").count(), 1);
    }

    #[test]
    fn the_record_budget_still_holds_for_short_records() {
        let mut budget = LogBudget::default();
        let admitted = (0..5_000)
            .filter(|_| budget.admit(3, "p").is_some())
            .count();
        assert_eq!(admitted, MAX_RECORDS_PER_CALL as usize);
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
