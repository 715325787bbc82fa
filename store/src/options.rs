//! [`StoreOptions`]: the limits and settings every backend honours the same way.
//!
//! They live apart from the URL because the URL says *where* sessions are kept and these say
//! *how many and for how long*; the host fills them from its configuration whatever the
//! backend.

use std::path::PathBuf;
use std::time::Duration;

use crate::{Clock, StoreError};
pub use decision_matrix_core::config::{StoreDurability as Durability, WhenFull};

/// Limits and settings of a store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreOptions {
    /// Most live (unexpired) sessions at once.
    pub max_sessions: usize,
    /// Eviction or refusal at the limit.
    pub when_full: WhenFull,
    /// A session unused for this long expires. Sliding: every load, update and cell write
    /// renews it. Millisecond precision; between 1 ms and ten years. (Lease and cache
    /// TTLs given to the store's methods are held to the same range.)
    pub ttl: Duration,
    /// Prefix of every Redis key, so several deployments (or tests) can share one Redis.
    /// Letters, digits, `_`, `-` and `.` only. Ignored by the other backends.
    pub namespace: String,
    /// The file used for the URL `sqlite` with no path (the host passes a file in its data
    /// directory).
    pub sqlite_default_path: Option<PathBuf>,
    /// SQLite's `synchronous` setting.
    pub durability: Durability,
    /// Most entries of the evaluation cache on the memory and SQLite backends (least recently
    /// used, respectively oldest, dropped first). Redis bounds its cache by expiry and its own
    /// `maxmemory` policy.
    pub cache_capacity: usize,
    /// How long opening a Redis store may take before it is reported unavailable.
    pub connect_timeout: Duration,
    /// Where the memory and SQLite backends read the time (Redis uses its server's).
    pub clock: Clock,
}

impl Default for StoreOptions {
    /// 100 sessions, one hour, least recently used evicted, namespace `dmm`, 10 000 cache
    /// entries, 5 s to connect.
    fn default() -> StoreOptions {
        StoreOptions {
            max_sessions: 100,
            when_full: WhenFull::EvictLeastRecent,
            ttl: Duration::from_secs(3600),
            namespace: "dmm".to_owned(),
            sqlite_default_path: None,
            durability: Durability::Normal,
            cache_capacity: 10_000,
            connect_timeout: Duration::from_secs(5),
            clock: Clock::System,
        }
    }
}

impl StoreOptions {
    /// Checks the options every backend relies on.
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if self.ttl < Duration::from_millis(1) || self.ttl > LONGEST {
            return Err(StoreError::InvalidOptions {
                reason: format!(
                    "the session TTL must be between 1 ms and {} days, not {:?}",
                    LONGEST.as_secs() / 86_400,
                    self.ttl
                ),
            });
        }
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if self.namespace.is_empty()
            || self.namespace.len() > 64
            || !self.namespace.chars().all(valid_char)
        {
            return Err(StoreError::InvalidOptions {
                reason: format!(
                    "namespace {:?} must be 1 to 64 letters, digits, '_', '-' or '.'",
                    self.namespace
                ),
            });
        }
        Ok(())
    }

    /// The TTL in whole milliseconds (at least 1).
    pub(crate) fn ttl_ms(&self) -> u64 {
        duration_ms(self.ttl)
    }
}

/// The longest TTL of anything stored (ten years): far beyond any use, and small enough
/// that expiry times stay exact in Redis's Lua numbers and in SQLite's integers.
const LONGEST: Duration = Duration::from_secs(10 * 365 * 86_400);

/// `duration` in whole milliseconds, between 1 and ten years.
pub(crate) fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.min(LONGEST).as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(StoreOptions::default().validate().is_ok());
        for namespace in ["", "a:b", "a*", "has space", &"x".repeat(65)] {
            let options = StoreOptions {
                namespace: namespace.to_owned(),
                ..StoreOptions::default()
            };
            assert!(options.validate().is_err(), "{namespace:?} was accepted");
        }
        for ttl in [Duration::ZERO, Duration::from_micros(999), Duration::MAX] {
            let options = StoreOptions {
                ttl,
                ..StoreOptions::default()
            };
            assert!(options.validate().is_err(), "{ttl:?} was accepted");
        }
        assert_eq!(duration_ms(Duration::ZERO), 1);
        assert_eq!(duration_ms(Duration::from_millis(1500)), 1500);
        assert_eq!(duration_ms(Duration::MAX), duration_ms(LONGEST));
    }
}
