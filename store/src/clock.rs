//! [`Clock`]: where the memory and SQLite stores read the time, in milliseconds, the unit of
//! every timestamp and expiry in the store.
//!
//! The wall clock (not a monotonic one) because timestamps are stored and compared across
//! restarts and processes. Redis takes the time from its own server instead, so instances
//! whose clocks disagree still agree on expiry there; a [`ManualClock`] does not move it.
//!
//! Tests of expiry, leases and eviction order run on a [`ManualClock`], which moves only when
//! told, so they neither sleep nor depend on how busy the machine is.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time source of a store.
#[derive(Clone, Default)]
pub enum Clock {
    /// The system's wall clock.
    #[default]
    System,
    /// A clock that moves only when told.
    Manual(ManualClock),
}

impl Clock {
    /// Milliseconds since the Unix epoch (0 for a system clock set before 1970).
    pub fn now_ms(&self) -> u64 {
        match self {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or(0),
            Clock::Manual(clock) => clock.now_ms(),
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Clock::System => f.write_str("System"),
            Clock::Manual(clock) => write!(f, "Manual({} ms)", clock.now_ms()),
        }
    }
}

/// Two clocks are equal when they are the system clock, or the same manual clock.
impl PartialEq for Clock {
    fn eq(&self, other: &Clock) -> bool {
        match (self, other) {
            (Clock::System, Clock::System) => true,
            (Clock::Manual(a), Clock::Manual(b)) => Arc::ptr_eq(&a.0, &b.0),
            _ => false,
        }
    }
}

/// A clock for tests: it starts where it is told and moves only by [`ManualClock::advance`].
/// Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock reading `start_ms` milliseconds since the Unix epoch.
    pub fn new(start_ms: u64) -> ManualClock {
        ManualClock(Arc::new(AtomicU64::new(start_ms)))
    }

    /// A clock reading the system's time now, from then on moving only when told.
    pub fn at_system_time() -> ManualClock {
        ManualClock::new(Clock::System.now_ms())
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(by, Ordering::SeqCst);
    }

    /// The time it reads, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl From<ManualClock> for Clock {
    fn from(clock: ManualClock) -> Clock {
        Clock::Manual(clock)
    }
}
