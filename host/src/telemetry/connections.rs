//! [`ConnectionStats`]: what the HTTP transport did with its connections (open, refused at
//! the cap, closed by a timeout), for `/metrics`.
//!
//! Kept apart from [`super::Telemetry`]: only the HTTP transport has connections, and it
//! owns these counters for as long as it listens.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Why the server closed a connection on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// No complete request head within `server.header_read_timeout_seconds`.
    HeaderTimeout,
    /// Kept alive with no new request within `server.idle_timeout_seconds`.
    IdleTimeout,
}

/// Counters of the HTTP transport's connections. Shared behind an `Arc`.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    limit: AtomicU64,
    open: AtomicU64,
    accepted: AtomicU64,
    refused: AtomicU64,
    header_timeouts: AtomicU64,
    idle_timeouts: AtomicU64,
    accept_errors: AtomicU64,
    /// Set while connections are being refused, so that each such episode is logged once.
    at_limit: AtomicBool,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionCounts {
    /// Most connections open at once.
    pub limit: u64,
    /// Open now.
    pub open: u64,
    /// Accepted since start.
    pub accepted: u64,
    /// Refused because `limit` were open.
    pub refused: u64,
    /// Closed for sending no complete request head in time.
    pub header_timeouts: u64,
    /// Closed for staying idle too long between requests.
    pub idle_timeouts: u64,
    /// Failed accepts (out of descriptors, for example).
    pub accept_errors: u64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl ConnectionStats {
    /// Counters for a transport that keeps at most `limit` connections open.
    pub fn new(limit: usize) -> ConnectionStats {
        let stats = ConnectionStats::default();
        stats
            .limit
            .store(u64::try_from(limit).unwrap_or(u64::MAX), Ordering::Relaxed);
        stats
    }

    /// A connection was accepted.
    pub fn opened(&self) {
        bump(&self.accepted);
        bump(&self.open);
    }

    /// A connection ended, by the server's timeout (`closed`) or otherwise. Returns `true`
    /// when this ends an episode of refusals (the caller logs it).
    pub fn ended(&self, closed: Option<Closed>) -> bool {
        match closed {
            Some(Closed::HeaderTimeout) => bump(&self.header_timeouts),
            Some(Closed::IdleTimeout) => bump(&self.idle_timeouts),
            None => {}
        }
        self.open.fetch_sub(1, Ordering::Relaxed);
        self.at_limit.swap(false, Ordering::Relaxed)
    }

    /// A connection was refused at the cap. Returns `true` when this starts an episode of
    /// refusals (the caller logs it).
    pub fn refused(&self) -> bool {
        bump(&self.refused);
        !self.at_limit.swap(true, Ordering::Relaxed)
    }

    /// Accepting a connection failed.
    pub fn accept_failed(&self) {
        bump(&self.accept_errors);
    }

    /// The counters now.
    pub fn counts(&self) -> ConnectionCounts {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ConnectionCounts {
            limit: read(&self.limit),
            open: read(&self.open),
            accepted: read(&self.accepted),
            refused: read(&self.refused),
            header_timeouts: read(&self.header_timeouts),
            idle_timeouts: read(&self.idle_timeouts),
            accept_errors: read(&self.accept_errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_come_in_episodes_ended_by_a_closed_connection() {
        let stats = ConnectionStats::new(1);
        stats.opened();
        assert!(stats.refused(), "the first refusal starts an episode");
        assert!(!stats.refused(), "the second continues it");
        assert!(
            stats.ended(Some(Closed::IdleTimeout)),
            "a free slot ends it"
        );
        stats.opened();
        assert!(
            !stats.ended(Some(Closed::HeaderTimeout)),
            "no episode to end"
        );
        assert_eq!(
            stats.counts(),
            ConnectionCounts {
                limit: 1,
                open: 0,
                accepted: 2,
                refused: 2,
                header_timeouts: 1,
                idle_timeouts: 1,
                accept_errors: 0,
            }
        );
    }
}
