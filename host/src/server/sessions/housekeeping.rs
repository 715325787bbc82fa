//! Housekeeping: statistics counters, the sweep of expired sessions, and eviction under
//! memory pressure.

use std::sync::Arc;
use std::time::Duration;

use decision_matrix_store::Store;
use serde::Serialize;
use time::OffsetDateTime;

use super::SessionManager;
use crate::server::error::ToolError;
use crate::server::timestamp;

/// Counters since deployment (shared by every instance of a Redis store), with what this
/// instance sees now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SessionStats {
    /// Sessions created.
    pub sessions_created: u64,
    /// Sessions removed because their TTL ran out.
    pub sessions_expired: u64,
    /// Sessions removed to make room for a new one or because memory ran short.
    pub sessions_evicted: u64,
    /// Of those, sessions removed because memory use passed the threshold.
    pub sessions_evicted_for_memory: u64,
    /// Sessions removed for any reason (expired, evicted, cleared).
    pub sessions_cleaned: u64,
    /// Most sessions alive at once, as this instance has seen.
    pub max_concurrent: usize,
    /// Sessions alive now.
    pub active_sessions: usize,
    /// When this instance last swept, or opened the store if it has not swept yet (as the
    /// reference server has it: never null), in the form of [`timestamp::iso`].
    pub last_cleanup: String,
}

/// What a cleanup removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleanup {
    /// Sessions whose TTL ran out.
    pub expired: usize,
    /// Sessions evicted because memory use was above the threshold.
    pub evicted_for_memory: usize,
}

/// Counter names in the store.
pub(super) const CREATED: &str = "sessions_created";
pub(super) const EXPIRED: &str = "sessions_expired";
pub(super) const EVICTED: &str = "sessions_evicted";
const EVICTED_FOR_MEMORY: &str = "sessions_evicted_for_memory";
pub(super) const CLEANED: &str = "sessions_cleaned";

impl SessionManager {
    /// The counters, with the number of live sessions.
    pub async fn stats(&self) -> Result<SessionStats, ToolError> {
        let counters = self.store.counters().await.map_err(|e| self.failure(e))?;
        let active = self.store.count().await.map_err(|e| self.failure(e))?;
        let counter = |name: &str| counters.get(name).copied().unwrap_or(0);
        let mut local = self.local.lock();
        local.max_concurrent = local.max_concurrent.max(active);
        Ok(SessionStats {
            sessions_created: counter(CREATED),
            sessions_expired: counter(EXPIRED),
            sessions_evicted: counter(EVICTED),
            sessions_evicted_for_memory: counter(EVICTED_FOR_MEMORY),
            sessions_cleaned: counter(CLEANED),
            max_concurrent: local.max_concurrent,
            active_sessions: active,
            last_cleanup: local.last_cleanup.clone(),
        })
    }

    /// Removes expired sessions now and, for the memory store when memory use is above the
    /// threshold, the least recently used share of the rest. (Sessions in SQLite or Redis
    /// take none of this process's memory: evicting them would destroy work and free
    /// nothing.)
    pub async fn cleanup(&self) -> Result<Cleanup, ToolError> {
        let expired = self
            .store
            .sweep_expired()
            .await
            .map_err(|e| self.failure(e))?;
        self.count(EXPIRED, expired.len()).await;
        self.count(CLEANED, expired.len()).await;
        let mut evicted_for_memory = 0;
        let used = match *self.store {
            Store::Memory(_) => self.memory.used_percent(),
            _ => None,
        };
        if let Some(used) = used
            && used > f64::from(self.settings.memory_threshold_percent)
        {
            let live = self.store.count().await.map_err(|e| self.failure(e))?;
            if live > 0 {
                let share = usize::from(self.settings.memory_evict_percent);
                let count = (live * share).div_ceil(100).max(1);
                let evicted = self
                    .store
                    .evict_least_recent(count)
                    .await
                    .map_err(|e| self.failure(e))?;
                evicted_for_memory = evicted.len();
                for name in [EVICTED, EVICTED_FOR_MEMORY, CLEANED] {
                    self.count(name, evicted_for_memory).await;
                }
                tracing::warn!(
                    used_percent = used,
                    threshold_percent = self.settings.memory_threshold_percent,
                    evicted = evicted_for_memory,
                    remaining = live - evicted_for_memory,
                    "memory use above the threshold: least recently used sessions evicted"
                );
            }
        }
        self.local.lock().last_cleanup = self.now();
        Ok(Cleanup {
            expired: expired.len(),
            evicted_for_memory,
        })
    }

    /// Now on the store's clock, in the form of [`timestamp::iso`].
    pub(super) fn now(&self) -> String {
        let now_ms = i128::from(self.clock.now_ms());
        let now = OffsetDateTime::from_unix_timestamp_nanos(now_ms * 1_000_000)
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        timestamp::iso(now)
    }

    /// Sweeps at the cleanup interval until the returned task is aborted or the manager is
    /// dropped.
    pub fn spawn_cleanup(self: &Arc<SessionManager>) -> tokio::task::JoinHandle<()> {
        let manager = Arc::downgrade(self);
        let period = self
            .settings
            .cleanup_interval
            .max(Duration::from_millis(10));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(manager) = manager.upgrade() else {
                    return;
                };
                match manager.cleanup().await {
                    Ok(removed) if removed.expired > 0 => {
                        tracing::info!(removed = removed.expired, "expired sessions removed");
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!("session cleanup failed: {}", error.error),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use parking_lot::Mutex;

    use super::super::WhenFull;
    use super::super::testing::{FakeMemory, clock, open, session, settings, tick};
    use super::*;
    use decision_matrix_store::ManualClock;

    #[tokio::test]
    async fn memory_pressure_evicts_the_least_recently_used_quarter() {
        let used = Arc::new(Mutex::new(Some(50.0)));
        let sessions = SessionManager::open_with(
            settings(100, WhenFull::EvictLeastRecent, Duration::from_secs(600)),
            Box::new(FakeMemory(used.clone())),
            ManualClock::at_system_time().into(),
        )
        .await
        .expect("opens");
        for n in 0..10 {
            sessions
                .insert(&session(&format!("s{n}")))
                .await
                .expect("room");
            tick(&sessions);
        }
        // Using s0 makes s1..s3 the least recently used.
        assert!(sessions.load("s0").await.expect("loads").is_some());
        assert_eq!(
            sessions.cleanup().await.expect("sweeps"),
            Cleanup::default()
        );

        *used.lock() = Some(85.0);
        let removed = sessions.cleanup().await.expect("sweeps");
        assert_eq!(removed.evicted_for_memory, 3, "a quarter of 10, rounded up");
        for gone in ["s1", "s2", "s3"] {
            assert!(
                sessions.load(gone).await.expect("loads").is_none(),
                "{gone} evicted"
            );
        }
        let stats = sessions.stats().await.expect("stats");
        assert_eq!(
            (
                stats.sessions_evicted,
                stats.sessions_evicted_for_memory,
                stats.active_sessions
            ),
            (3, 3, 7)
        );
    }

    /// On paused time and the store's manual clock: nothing sleeps, and the sweep's timing
    /// cannot race the session's expiry.
    #[tokio::test(start_paused = true)]
    async fn idle_sessions_expire_and_the_sweep_counts_them() {
        let sessions = Arc::new(
            open(settings(5, WhenFull::Refuse, Duration::from_secs(60)))
                .await
                .expect("opens"),
        );
        // Before any sweep, the last cleanup is when the store was opened: never null.
        let opened = sessions.stats().await.expect("stats").last_cleanup;
        assert_eq!(opened, sessions.now());
        sessions.insert(&session("idle")).await.expect("room");
        sessions.insert(&session("used")).await.expect("room");
        let task = sessions.spawn_cleanup();
        clock(&sessions).advance(Duration::from_secs(40));
        assert!(sessions.load("used").await.expect("loads").is_some());
        clock(&sessions).advance(Duration::from_secs(21));
        // Two sweep intervals of (paused) time: the sweep has run.
        tokio::time::sleep(sessions.settings().cleanup_interval * 2).await;
        let stats = sessions.stats().await.expect("stats");
        task.abort();
        assert_eq!((stats.sessions_expired, stats.active_sessions), (1, 1));
        // The sweep's time, on the store's clock, which has not moved since.
        assert_eq!(stats.last_cleanup, sessions.now());
        assert_ne!(stats.last_cleanup, opened);
        assert!(sessions.load("idle").await.expect("loads").is_none());
        assert!(sessions.load("used").await.expect("loads").is_some());
    }
}
