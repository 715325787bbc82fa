//! [`SessionManager`]: the live decision sessions, their limit, expiry and statistics.
//!
//! The reference server caps sessions at 10 with its configuration ignored, measures the TTL
//! from creation (an active session dies mid-use) and cleans up only lazily. Here:
//!
//! - the limit, TTL and cleanup interval come from configuration;
//! - the TTL slides: every use of a session renews it;
//! - when the limit is reached, the least recently used session is evicted or the new one is
//!   refused with a message saying so, as configured;
//! - expired sessions are removed by a background task at the cleanup interval (and are never
//!   returned in between, whether or not the task has run);
//! - when memory use passes the configured threshold (the performance guide's 80 %), a sweep
//!   also removes the least recently used share of the sessions (its 25 %), so a server near
//!   its memory limit sheds old work instead of being killed with all of it;
//! - statistics count what actually happened (created, expired, evicted, removed).
//!
//! Each session sits behind its own lock, held only for quick reads and mutations. An
//! evaluation takes the session's evaluation lock instead, so a long evaluation never blocks
//! reads of the matrix, and two evaluations of one session run one after the other (the
//! second finds the cells the first computed and bills nothing for them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::memory::{MemoryProbe, SystemMemory};
use crate::domain::Session;

/// What to do when a new session would exceed the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhenFull {
    /// Remove the least recently used session to make room.
    #[default]
    EvictLeastRecent,
    /// Refuse to create the new session.
    Refuse,
}

/// Limits and timings of the session store.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSettings {
    /// Most sessions alive at once.
    pub max_sessions: usize,
    /// A session unused for this long expires.
    pub ttl: Duration,
    /// How often expired sessions are swept.
    pub cleanup_interval: Duration,
    /// Eviction or refusal at the limit.
    pub when_full: WhenFull,
    /// Memory use, in percent, above which a sweep also evicts sessions.
    pub memory_threshold_percent: u8,
    /// Share of the sessions, in percent, that such a sweep evicts (least recently used
    /// first, at least one).
    pub memory_evict_percent: u8,
}

impl Default for SessionSettings {
    /// The performance guide's defaults: 100 sessions, one hour, swept every five minutes;
    /// above 80 % memory a quarter of the sessions go.
    fn default() -> SessionSettings {
        SessionSettings {
            max_sessions: 100,
            ttl: Duration::from_secs(3600),
            cleanup_interval: Duration::from_secs(300),
            when_full: WhenFull::EvictLeastRecent,
            memory_threshold_percent: 80,
            memory_evict_percent: 25,
        }
    }
}

/// One live session and its bookkeeping.
pub struct SessionHandle {
    session: Mutex<Session>,
    /// Held for the whole of an evaluation of this session.
    evaluating: tokio::sync::Mutex<()>,
}

impl SessionHandle {
    /// The session, locked for a quick read or change. Never held across an await.
    pub fn lock(&self) -> MutexGuard<'_, Session> {
        self.session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until no other evaluation of this session runs; evaluate while holding the guard.
    pub async fn evaluation_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.evaluating.lock().await
    }
}

struct Entry {
    handle: Arc<SessionHandle>,
    last_used: Instant,
    created: Instant,
}

/// Counters since start-up.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
    /// Most sessions alive at once.
    pub max_concurrent: usize,
    /// Sessions alive now.
    pub active_sessions: usize,
    /// When the last sweep ran (RFC 3339), if one has.
    pub last_cleanup: Option<String>,
}

/// Why a session could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Maximum number of active sessions ({max}) reached. Please try again later.")]
pub struct SessionLimitReached {
    /// The limit.
    pub max: usize,
}

struct State {
    sessions: HashMap<String, Entry>,
    stats: SessionStats,
}

/// The live sessions. Cheap to share behind an `Arc`.
pub struct SessionManager {
    settings: SessionSettings,
    state: Mutex<State>,
    memory: Box<dyn MemoryProbe>,
}

/// What a cleanup removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleanup {
    /// Sessions whose TTL ran out.
    pub expired: usize,
    /// Sessions evicted because memory use was above the threshold.
    pub evicted_for_memory: usize,
}

impl SessionManager {
    /// An empty store watching this machine's (or container's) memory.
    pub fn new(settings: SessionSettings) -> SessionManager {
        SessionManager::with_memory_probe(settings, Box::new(SystemMemory))
    }

    /// An empty store watching memory through `memory`.
    pub fn with_memory_probe(
        settings: SessionSettings,
        memory: Box<dyn MemoryProbe>,
    ) -> SessionManager {
        SessionManager {
            settings,
            state: Mutex::new(State {
                sessions: HashMap::new(),
                stats: SessionStats::default(),
            }),
            memory,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds `session` (already validated), making room or refusing as configured. Returns
    /// the ids of sessions evicted for it.
    pub fn insert(&self, session: Session) -> Result<Vec<String>, SessionLimitReached> {
        let now = Instant::now();
        let mut state = self.state();
        self.sweep(&mut state, now);
        let mut evicted = Vec::new();
        while state.sessions.len() >= self.settings.max_sessions {
            if self.settings.when_full == WhenFull::Refuse || self.settings.max_sessions == 0 {
                return Err(SessionLimitReached {
                    max: self.settings.max_sessions,
                });
            }
            let oldest = least_recent(&state, 1);
            if oldest.is_empty() {
                break;
            }
            evict(&mut state, &oldest);
            evicted.extend(oldest);
        }
        let id = session.id.clone();
        state.sessions.insert(
            id,
            Entry {
                handle: Arc::new(SessionHandle {
                    session: Mutex::new(session),
                    evaluating: tokio::sync::Mutex::new(()),
                }),
                last_used: now,
                created: now,
            },
        );
        state.stats.sessions_created += 1;
        state.stats.max_concurrent = state.stats.max_concurrent.max(state.sessions.len());
        Ok(evicted)
    }

    /// The session `id`, renewing its TTL; `None` when there is none or it has expired.
    pub fn get(&self, id: &str) -> Option<Arc<SessionHandle>> {
        let now = Instant::now();
        let mut state = self.state();
        if self.expired(state.sessions.get(id)?, now) {
            self.remove_expired(&mut state, id);
            return None;
        }
        let entry = state.sessions.get_mut(id)?;
        entry.last_used = now;
        Some(entry.handle.clone())
    }

    /// Every live session, most recently created last.
    pub fn list(&self) -> Vec<Arc<SessionHandle>> {
        let now = Instant::now();
        let mut state = self.state();
        self.sweep(&mut state, now);
        let mut entries: Vec<&Entry> = state.sessions.values().collect();
        entries.sort_by_key(|entry| entry.created);
        entries.iter().map(|entry| entry.handle.clone()).collect()
    }

    /// The most recently created live session.
    pub fn current(&self) -> Option<Arc<SessionHandle>> {
        self.list().pop()
    }

    /// Removes every session; returns how many there were.
    pub fn clear(&self) -> usize {
        let mut state = self.state();
        let cleared = state.sessions.len();
        state.sessions.clear();
        state.stats.sessions_cleaned += cleared as u64;
        cleared
    }

    /// The counters, with the number of live sessions.
    pub fn stats(&self) -> SessionStats {
        let state = self.state();
        SessionStats {
            active_sessions: state.sessions.len(),
            ..state.stats.clone()
        }
    }

    /// Removes expired sessions now and, when memory use is above the threshold, the least
    /// recently used share of the rest.
    pub fn cleanup(&self) -> Cleanup {
        let now = Instant::now();
        let used = self.memory.used_percent();
        let mut state = self.state();
        let expired = self.sweep(&mut state, now);
        let mut evicted_for_memory = 0;
        if let Some(used) = used
            && used > f64::from(self.settings.memory_threshold_percent)
            && !state.sessions.is_empty()
        {
            let share = usize::from(self.settings.memory_evict_percent);
            let count = (state.sessions.len() * share).div_ceil(100).max(1);
            let oldest = least_recent(&state, count);
            evict(&mut state, &oldest);
            state.stats.sessions_evicted_for_memory += oldest.len() as u64;
            evicted_for_memory = oldest.len();
            tracing::warn!(
                used_percent = used,
                threshold_percent = self.settings.memory_threshold_percent,
                evicted = evicted_for_memory,
                remaining = state.sessions.len(),
                "memory use above the threshold: least recently used sessions evicted"
            );
        }
        state.stats.last_cleanup = OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .ok();
        Cleanup {
            expired,
            evicted_for_memory,
        }
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
                let removed = manager.cleanup();
                if removed.expired > 0 {
                    tracing::info!(removed = removed.expired, "expired sessions removed");
                }
            }
        })
    }

    fn expired(&self, entry: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(entry.last_used) >= self.settings.ttl
    }

    fn remove_expired(&self, state: &mut State, id: &str) {
        if state.sessions.remove(id).is_some() {
            state.stats.sessions_expired += 1;
            state.stats.sessions_cleaned += 1;
        }
    }

    fn sweep(&self, state: &mut State, now: Instant) -> usize {
        let expired: Vec<String> = state
            .sessions
            .iter()
            .filter(|(_, entry)| self.expired(entry, now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            self.remove_expired(state, id);
        }
        expired.len()
    }
}

/// The ids of the `count` least recently used sessions, least recent first.
fn least_recent(state: &State, count: usize) -> Vec<String> {
    let mut entries: Vec<(&String, &Entry)> = state.sessions.iter().collect();
    entries.sort_by_key(|(_, entry)| (entry.last_used, entry.created));
    entries
        .into_iter()
        .take(count)
        .map(|(id, _)| id.clone())
        .collect()
}

fn evict(state: &mut State, ids: &[String]) {
    for id in ids {
        if state.sessions.remove(id).is_some() {
            state.stats.sessions_evicted += 1;
            state.stats.sessions_cleaned += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Limits, SessionDefaults};

    fn session(id: &str) -> Session {
        Session::new(
            id.to_owned(),
            format!("topic {id}"),
            vec![("a".to_owned(), None), ("b".to_owned(), None)],
            Vec::new(),
            SessionDefaults::default(),
            &Limits::default(),
            OffsetDateTime::now_utc(),
        )
        .expect("valid")
    }

    fn manager(max: usize, when_full: WhenFull) -> SessionManager {
        SessionManager::new(SessionSettings {
            max_sessions: max,
            ttl: Duration::from_secs(60),
            cleanup_interval: Duration::from_secs(10),
            when_full,
            ..SessionSettings::default()
        })
    }

    /// Memory use set by the test.
    struct FakeMemory(Arc<Mutex<Option<f64>>>);

    impl MemoryProbe for FakeMemory {
        fn used_percent(&self) -> Option<f64> {
            *self.0.lock().expect("lock")
        }
    }

    #[tokio::test(start_paused = true)]
    async fn memory_pressure_evicts_the_least_recently_used_quarter() {
        let used = Arc::new(Mutex::new(Some(50.0)));
        let sessions = SessionManager::with_memory_probe(
            SessionSettings {
                max_sessions: 100,
                ttl: Duration::from_secs(600),
                ..SessionSettings::default()
            },
            Box::new(FakeMemory(used.clone())),
        );
        for n in 0..10 {
            sessions.insert(session(&format!("s{n}"))).expect("room");
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        // Using s0 makes s1..s3 the least recently used.
        assert!(sessions.get("s0").is_some());
        assert_eq!(sessions.cleanup(), Cleanup::default(), "50 % is below 80 %");

        *used.lock().expect("lock") = Some(85.0);
        let removed = sessions.cleanup();
        assert_eq!(removed.evicted_for_memory, 3, "a quarter of 10, rounded up");
        for gone in ["s1", "s2", "s3"] {
            assert!(sessions.get(gone).is_none(), "{gone} evicted");
        }
        assert!(sessions.get("s0").is_some());
        let stats = sessions.stats();
        assert_eq!(
            (
                stats.sessions_evicted,
                stats.sessions_evicted_for_memory,
                stats.active_sessions
            ),
            (3, 3, 7)
        );

        *used.lock().expect("lock") = None;
        assert_eq!(
            sessions.cleanup(),
            Cleanup::default(),
            "unknown use evicts nothing"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn evicts_the_least_recently_used() {
        let sessions = manager(2, WhenFull::EvictLeastRecent);
        sessions.insert(session("one")).expect("room");
        tokio::time::advance(Duration::from_secs(1)).await;
        sessions.insert(session("two")).expect("room");
        tokio::time::advance(Duration::from_secs(1)).await;
        // Using "one" makes "two" the least recently used.
        assert!(sessions.get("one").is_some());
        let evicted = sessions.insert(session("three")).expect("evicts");
        assert_eq!(evicted, ["two"]);
        assert!(sessions.get("two").is_none());
        let stats = sessions.stats();
        assert_eq!(
            (
                stats.sessions_created,
                stats.sessions_evicted,
                stats.active_sessions
            ),
            (3, 1, 2)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn refuses_when_configured_to() {
        let sessions = manager(1, WhenFull::Refuse);
        sessions.insert(session("one")).expect("room");
        let refused = sessions.insert(session("two")).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "Maximum number of active sessions (1) reached. Please try again later."
        );
        assert!(sessions.get("one").is_some());
        assert_eq!(sessions.stats().sessions_created, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_ttl_slides_with_use_and_expiry_is_counted() {
        let sessions = manager(5, WhenFull::Refuse);
        sessions.insert(session("kept")).expect("room");
        sessions.insert(session("idle")).expect("room");
        for _ in 0..3 {
            tokio::time::advance(Duration::from_secs(40)).await;
            assert!(sessions.get("kept").is_some(), "use renews the TTL");
        }
        assert!(sessions.get("idle").is_none(), "120 s idle > 60 s TTL");
        let stats = sessions.stats();
        assert_eq!((stats.sessions_expired, stats.active_sessions), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn the_background_sweep_removes_expired_sessions() {
        let sessions = Arc::new(manager(5, WhenFull::Refuse));
        sessions.insert(session("idle")).expect("room");
        let task = sessions.spawn_cleanup();
        tokio::time::sleep(Duration::from_secs(75)).await;
        let stats = sessions.stats();
        task.abort();
        assert_eq!((stats.sessions_expired, stats.active_sessions), (1, 0));
        assert!(stats.last_cleanup.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn current_is_the_newest_and_clear_counts() {
        let sessions = manager(5, WhenFull::Refuse);
        assert!(sessions.current().is_none());
        sessions.insert(session("old")).expect("room");
        tokio::time::advance(Duration::from_secs(1)).await;
        sessions.insert(session("new")).expect("room");
        sessions.get("old");
        let current = sessions.current().expect("one");
        assert_eq!(current.lock().id, "new");
        assert_eq!(sessions.clear(), 2);
        let stats = sessions.stats();
        assert_eq!((stats.sessions_cleaned, stats.active_sessions), (2, 0));
    }
}
