//! Wall-clock time in milliseconds, the unit of every timestamp and expiry in the store.
//!
//! The wall clock (not a monotonic one) because timestamps are stored and compared across
//! restarts and processes; Redis uses its own server clock instead, so instances whose clocks
//! disagree still agree on expiry there.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 for a clock set before 1970).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
