//! [`SessionManager`]: the decision sessions, kept in a [`Store`] (SQLite by default, memory,
//! or Redis shared by several instances), with their limit, expiry, statistics and evaluation
//! leases.
//!
//! A session holds paid-for LLM work, so it lives in the store rather than in this process:
//! it survives restarts, and with Redis every instance behind a load balancer sees the same
//! sessions. That shapes everything here:
//!
//! - each cell is its own record (`"{option_id}:{criterion_id}"`), apart from the rest of
//!   the session, so an evaluation saves every cell the moment it finishes and a crash loses
//!   at most the cells still in flight;
//! - a change is load → apply → compare-and-swap on the session's version, retried on a
//!   conflict, so concurrent writers (two clients, two instances) never lose an update;
//! - an evaluation holds the session's lease in the store, so two calls or two instances
//!   never evaluate (and bill) the same session at once;
//! - the limit, the sliding TTL and least-recently-used eviction are the store's, the same on
//!   every backend; the counters are the store's too, so statistics add up across instances.
//!
//! A store failure is an explicit error naming the store, never a silent fallback to memory.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use decision_matrix_store::{Durability, Store, StoreError, StoreOptions};
use serde::Serialize;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::decoded::{self, DecodedSessions, Stored};
use super::error::ToolError;
use super::memory::{MemoryProbe, SystemMemory};
use crate::domain::{Cell, CellStatus, CriterionId, OptionId, Session};

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

/// How hard an SQLite store works to keep a committed change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreDurability {
    /// Survives the process crashing or being killed; a power loss may lose the last
    /// commits.
    #[default]
    Normal,
    /// Also survives a power loss, at the cost of an fsync per write.
    Full,
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
    /// Memory use, in percent, above which a sweep also evicts sessions (memory store only).
    pub memory_threshold_percent: u8,
    /// Share of the sessions, in percent, that such a sweep evicts (least recently used
    /// first, at least one).
    pub memory_evict_percent: u8,
    /// Where sessions are kept: a store URL (`sqlite`, `sqlite:///path.db`, `memory`,
    /// `redis://…`).
    pub store: String,
    /// Prefix of the Redis keys.
    pub namespace: String,
    /// SQLite durability.
    pub durability: StoreDurability,
}

impl Default for SessionSettings {
    /// The performance guide's defaults: 100 sessions, one hour, swept every five minutes;
    /// above 80 % memory a quarter of the sessions go. Kept in SQLite, in the data directory.
    fn default() -> SessionSettings {
        SessionSettings {
            max_sessions: 100,
            ttl: Duration::from_secs(3600),
            cleanup_interval: Duration::from_secs(300),
            when_full: WhenFull::EvictLeastRecent,
            memory_threshold_percent: 80,
            memory_evict_percent: 25,
            store: "sqlite".to_owned(),
            namespace: "dmm".to_owned(),
            durability: StoreDurability::Normal,
        }
    }
}

impl SessionSettings {
    /// The store's options: these limits, and `sessions.db` in the platform data directory
    /// for the URL `sqlite`.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            max_sessions: self.max_sessions,
            when_full: match self.when_full {
                WhenFull::EvictLeastRecent => decision_matrix_store::WhenFull::EvictLeastRecent,
                WhenFull::Refuse => decision_matrix_store::WhenFull::Refuse,
            },
            ttl: self.ttl,
            namespace: self.namespace.clone(),
            sqlite_default_path: default_sqlite_path(),
            durability: match self.durability {
                StoreDurability::Normal => Durability::Normal,
                StoreDurability::Full => Durability::Full,
            },
            ..StoreOptions::default()
        }
    }
}

/// `sessions.db` in the platform data directory (as plugins use its cache directory).
fn default_sqlite_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "decision-matrix")
        .map(|dirs| dirs.data_dir().join("sessions.db"))
}

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
    /// When this instance last swept (RFC 3339), if it has.
    pub last_cleanup: Option<String>,
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
const CREATED: &str = "sessions_created";
const EXPIRED: &str = "sessions_expired";
const EVICTED: &str = "sessions_evicted";
const EVICTED_FOR_MEMORY: &str = "sessions_evicted_for_memory";
const CLEANED: &str = "sessions_cleaned";

/// Attempts of a change that keeps meeting concurrent changes before it gives up.
const CONFLICT_ATTEMPTS: u32 = 32;

/// How long an evaluation lease lasts unless renewed (every third of it). Short, so that the
/// lease of a process killed mid-evaluation frees the session soon; long enough that a
/// renewal delayed by a busy store does not lose it.
pub(crate) const LEASE_TTL: Duration = Duration::from_secs(15);

/// Longest wait for another evaluation of the same session to finish.
const LEASE_WAIT: Duration = Duration::from_secs(600);

/// Statistics this instance keeps itself.
#[derive(Default)]
struct Local {
    max_concurrent: usize,
    last_cleanup: Option<String>,
}

/// The sessions, in their store. Share it behind an `Arc`.
pub struct SessionManager {
    settings: SessionSettings,
    store: Arc<Store>,
    memory: Box<dyn MemoryProbe>,
    local: Mutex<Local>,
    /// This process's lease owner prefix: no two processes share one.
    owner: String,
    leases: AtomicU64,
    /// Sessions already decoded, by the bytes they were decoded from.
    decoded: DecodedSessions,
}

/// The key of a cell's record. A score a person set has a key of its own (`m:` first) that
/// evaluations never write, and it wins over the evaluated record of the same cell on load:
/// an evaluation saving its cells at the moment a person sets one cannot overwrite the
/// person's score.
fn cell_key(o: OptionId, c: CriterionId, cell: &Cell) -> String {
    if matches!(cell.status, CellStatus::Manual { .. }) {
        manual_key(o, c)
    } else {
        evaluated_key(o, c)
    }
}

fn evaluated_key(o: OptionId, c: CriterionId) -> String {
    format!("{}:{}", o.0, c.0)
}

fn manual_key(o: OptionId, c: CriterionId) -> String {
    format!("m:{}:{}", o.0, c.0)
}

/// The cell a record key names, and whether it is a person's score.
fn parse_cell_key(key: &str) -> Option<(OptionId, CriterionId, bool)> {
    let (manual, key) = match key.strip_prefix("m:") {
        Some(rest) => (true, rest),
        None => (false, key),
    };
    let (o, c) = key.split_once(':')?;
    Some((
        OptionId(o.parse().ok()?),
        CriterionId(c.parse().ok()?),
        manual,
    ))
}

type Cells = BTreeMap<(OptionId, CriterionId), Cell>;

impl SessionManager {
    /// Opens the store `settings.store` names, watching this machine's (or container's)
    /// memory.
    pub async fn open(settings: SessionSettings) -> Result<SessionManager, StoreError> {
        SessionManager::open_with_memory_probe(settings, Box::new(SystemMemory::detect())).await
    }

    /// Opens the store, watching memory through `memory`.
    pub async fn open_with_memory_probe(
        settings: SessionSettings,
        memory: Box<dyn MemoryProbe>,
    ) -> Result<SessionManager, StoreError> {
        let store = Arc::new(Store::open(&settings.store, settings.store_options()).await?);
        Ok(SessionManager {
            settings,
            store,
            memory,
            local: Mutex::default(),
            owner: uuid::Uuid::new_v4().simple().to_string(),
            leases: AtomicU64::new(0),
            decoded: DecodedSessions::new(decoded::CAPACITY),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    /// The store itself, for what else instances share through it (the answer cache).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Memory of the machine or container in use, percent, as this manager's probe reads it.
    pub fn memory_used_percent(&self) -> Option<f64> {
        self.memory.used_percent()
    }

    /// Where sessions are kept, for people (never with a password).
    pub fn describe(&self) -> String {
        self.store.describe()
    }

    fn local(&self) -> std::sync::MutexGuard<'_, Local> {
        self.local
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The tool error of a store failure: a gone session reads as one, a full store as the
    /// limit, anything else names the store and the cause.
    fn failure(&self, error: StoreError) -> ToolError {
        match error {
            StoreError::NotFound { .. } => ToolError::session_not_found(),
            StoreError::Full { .. } => ToolError::new("Resource limit", error.to_string()),
            other => ToolError::new(
                "Session store",
                format!("The session store ({}) failed: {other}", self.describe()),
            ),
        }
    }

    /// Adds to a statistics counter. A counter that cannot be written does not undo the
    /// change it counts, so that failure is only logged.
    async fn count(&self, name: &str, delta: usize) {
        if delta == 0 {
            return;
        }
        if let Err(error) = self.store.add_counter(name, delta as u64).await {
            tracing::warn!(counter = name, "session statistics not updated: {error}");
        }
    }

    fn unreadable(&self, id: &str, error: impl std::fmt::Display) -> ToolError {
        ToolError::new(
            "Session store",
            format!(
                "Session {id} in the session store ({}) is unreadable: {error}",
                self.describe()
            ),
        )
    }

    /// The session and its cells as the store keeps them: the session without cells, and
    /// each cell under its key.
    fn split(&self, session: &Session) -> Result<(Vec<u8>, Cells), ToolError> {
        let mut body = session.clone();
        let cells = body.take_cells();
        let body = serde_json::to_vec(&body).map_err(|e| self.unreadable(&session.id, e))?;
        Ok((body, cells))
    }

    fn encode_cells<'a>(
        &self,
        cells: impl IntoIterator<Item = ((OptionId, CriterionId), &'a Cell)>,
    ) -> Result<Vec<(String, Vec<u8>)>, ToolError> {
        cells
            .into_iter()
            .map(|((o, c), cell)| {
                serde_json::to_vec(cell)
                    .map(|body| (cell_key(o, c, cell), body))
                    .map_err(|e| self.unreadable(&cell_key(o, c, cell), e))
            })
            .collect()
    }

    /// A loaded session with its cells, decoded unless the same bytes were decoded before.
    fn decode(&self, id: &str, stored: &Stored) -> Result<Session, ToolError> {
        if let Some(session) = self.decoded.get(id, stored) {
            return Ok(session);
        }
        let session = self.parse(id, stored)?;
        self.decoded.put(id, stored.clone(), &session);
        Ok(session)
    }

    /// The session `id` renewed and loaded: its version, its stored bytes, and itself.
    async fn fetch(&self, id: &str) -> Result<Option<(u64, Stored, Session)>, ToolError> {
        let Some(loaded) = self.store.load(id).await.map_err(|e| self.failure(e))? else {
            return Ok(None);
        };
        let version = loaded.version;
        let stored = Stored::from(loaded);
        let session = self.decode(id, &stored)?;
        Ok(Some((version, stored, session)))
    }

    /// A stored session with its cells. A cell whose option or criterion is gone, or that
    /// cannot be read, is left out (the next evaluation computes it again).
    fn parse(&self, id: &str, stored: &Stored) -> Result<Session, ToolError> {
        let mut session: Session =
            serde_json::from_slice(&stored.body).map_err(|e| self.unreadable(id, e))?;
        let mut manual = Vec::new();
        for (key, body) in &stored.cells {
            let cell = serde_json::from_slice::<Cell>(body);
            match (parse_cell_key(key), cell) {
                (Some((o, c, true)), Ok(cell)) => manual.push((o, c, cell)),
                (Some((o, c, false)), Ok(cell)) => {
                    session.restore_cell(o, c, cell);
                }
                (_, Err(error)) => {
                    tracing::warn!(
                        session = id,
                        cell = key.as_str(),
                        "unreadable cell ignored: {error}"
                    )
                }
                (None, _) => {
                    tracing::warn!(
                        session = id,
                        cell = key.as_str(),
                        "unknown cell key ignored"
                    )
                }
            }
        }
        // A person's score wins over the evaluated record of the same cell.
        for (o, c, cell) in manual {
            session.restore_cell(o, c, cell);
        }
        Ok(session)
    }

    /// Adds `session` (already validated), making room or refusing as configured. Returns
    /// the ids of sessions evicted for it.
    pub async fn insert(&self, session: &Session) -> Result<Vec<String>, ToolError> {
        let (body, cells) = self.split(session)?;
        let created = self
            .store
            .create(&session.id, &body)
            .await
            .map_err(|e| self.failure(e))?;
        if !cells.is_empty() {
            let cells = self.encode_cells(cells.iter().map(|(k, v)| (*k, v)))?;
            self.store
                .put_cells(&session.id, &cells)
                .await
                .map_err(|e| self.failure(e))?;
        }
        self.count(CREATED, 1).await;
        self.count(EVICTED, created.evicted.len()).await;
        self.count(EXPIRED, created.expired.len()).await;
        self.count(CLEANED, created.evicted.len() + created.expired.len())
            .await;
        if let Ok(active) = self.store.count().await {
            let mut local = self.local();
            local.max_concurrent = local.max_concurrent.max(active);
        }
        Ok(created.evicted)
    }

    /// The session `id` with its cells, renewing its TTL; `None` when there is none or it
    /// has expired.
    pub async fn load(&self, id: &str) -> Result<Option<Session>, ToolError> {
        Ok(self.fetch(id).await?.map(|(_, _, session)| session))
    }

    /// Changes session `id` with `change` and saves it, as one update: when another writer
    /// changed the session meanwhile, it is loaded again and `change` applied again (so
    /// `change` must only depend on the session it is given). Cells `change` added, altered
    /// or removed are written as such; the others are left alone, so cells an evaluation
    /// saves meanwhile are kept.
    pub async fn modify<T>(
        &self,
        id: &str,
        mut change: impl FnMut(&mut Session) -> Result<T, ToolError>,
    ) -> Result<T, ToolError> {
        for attempt in 0..CONFLICT_ATTEMPTS {
            let Some((version, stored, mut session)) = self.fetch(id).await? else {
                return Err(ToolError::session_not_found());
            };
            let before: Cells = session.cells().map(|(k, v)| (k, v.clone())).collect();
            let value = change(&mut session)?;
            let (body, after) = self.split(&session)?;
            if body != stored.body {
                match self.store.update(id, version, &body).await {
                    Ok(_) => {}
                    Err(StoreError::Conflict { .. }) => {
                        backoff(attempt).await;
                        continue;
                    }
                    Err(error) => return Err(self.failure(error)),
                }
            }
            let changed = self.encode_cells(
                after
                    .iter()
                    .filter(|(k, v)| before.get(k) != Some(v))
                    .map(|(k, v)| (*k, v)),
            )?;
            if !changed.is_empty() {
                self.store
                    .put_cells(id, &changed)
                    .await
                    .map_err(|e| self.failure(e))?;
            }
            let removed: Vec<String> = before
                .keys()
                .filter(|k| !after.contains_key(k))
                .flat_map(|&(o, c)| [evaluated_key(o, c), manual_key(o, c)])
                .collect();
            if !removed.is_empty() {
                self.store
                    .remove_cells(id, &removed)
                    .await
                    .map_err(|e| self.failure(e))?;
            }
            let written = Stored { body, ..stored }.after_change(&changed, &removed);
            self.decoded.put(id, written, &session);
            return Ok(value);
        }
        Err(ToolError::new(
            "Session store",
            format!(
                "Session {id} kept being changed by other requests: the change was not saved \
                 after {CONFLICT_ATTEMPTS} attempts. Try again."
            ),
        ))
    }

    /// Saves evaluated cells of session `id` as [`Session::record`] accepts them (not for
    /// inputs that changed meanwhile, never over a score a person set); returns how many were
    /// saved.
    pub async fn record_cells(
        &self,
        id: &str,
        cells: Vec<(OptionId, CriterionId, Cell)>,
    ) -> Result<usize, ToolError> {
        let Some((_, stored, mut session)) = self.fetch(id).await? else {
            return Err(ToolError::session_not_found());
        };
        let accepted: Vec<((OptionId, CriterionId), Cell)> = cells
            .into_iter()
            .filter(|(o, c, cell)| session.record(*o, *c, cell.clone()))
            .map(|(o, c, cell)| ((o, c), cell))
            .collect();
        if accepted.is_empty() {
            return Ok(0);
        }
        let encoded = self.encode_cells(accepted.iter().map(|(k, v)| (*k, v)))?;
        self.store
            .put_cells(id, &encoded)
            .await
            .map_err(|e| self.failure(e))?;
        self.decoded
            .put(id, stored.after_change(&encoded, &[]), &session);
        Ok(accepted.len())
    }

    /// Every live session without its cells, the oldest first; neither renews them.
    pub async fn list(&self) -> Result<Vec<Session>, ToolError> {
        let summaries = self.store.list().await.map_err(|e| self.failure(e))?;
        let mut sessions: Vec<(u64, Session)> = summaries
            .into_iter()
            .filter_map(|summary| match serde_json::from_slice(&summary.body) {
                Ok(session) => Some((summary.created_at, session)),
                Err(error) => {
                    tracing::warn!(
                        session = summary.id,
                        "unreadable session not listed: {error}"
                    );
                    None
                }
            })
            .collect();
        sessions.sort_by(|(a, x), (b, y)| (a, &x.id).cmp(&(b, &y.id)));
        Ok(sessions.into_iter().map(|(_, session)| session).collect())
    }

    /// The most recently created live session, with its cells (not renewed by this look).
    pub async fn current(&self) -> Result<Option<Session>, ToolError> {
        let mut summaries = self.store.list().await.map_err(|e| self.failure(e))?;
        // The reference server's "current" session is the most recently created one.
        summaries.sort_by_key(|summary| std::cmp::Reverse(summary.created_at));
        for summary in summaries {
            if let Some(loaded) = self
                .store
                .peek(&summary.id)
                .await
                .map_err(|e| self.failure(e))?
            {
                let stored = Stored::from(loaded);
                return self.decode(&summary.id, &stored).map(Some);
            }
        }
        Ok(None)
    }

    /// Removes every session; returns how many there were.
    pub async fn clear(&self) -> Result<usize, ToolError> {
        let cleared = self.store.clear().await.map_err(|e| self.failure(e))?;
        self.decoded.clear();
        self.count(CLEANED, cleared).await;
        Ok(cleared)
    }

    /// The counters, with the number of live sessions.
    pub async fn stats(&self) -> Result<SessionStats, ToolError> {
        let counters = self.store.counters().await.map_err(|e| self.failure(e))?;
        let active = self.store.count().await.map_err(|e| self.failure(e))?;
        let counter = |name: &str| counters.get(name).copied().unwrap_or(0);
        let mut local = self.local();
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
        self.local().last_cleanup = OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .ok();
        Ok(Cleanup {
            expired: expired.len(),
            evicted_for_memory,
        })
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

    /// Takes the evaluation lease of session `id`, waiting (with backoff, at most ten
    /// minutes) while another evaluation holds it, and calling `waiting` once when it starts
    /// to wait; `None` when `cancel` fires first. The lease is renewed in the background
    /// until [`Lease::release`] or drop.
    pub async fn lease(
        self: &Arc<SessionManager>,
        id: &str,
        cancel: &CancellationToken,
        waiting: &mut (dyn FnMut() + Send),
    ) -> Result<Option<Lease>, ToolError> {
        let owner = format!(
            "{}-{}",
            self.owner,
            self.leases.fetch_add(1, Ordering::Relaxed)
        );
        let started = tokio::time::Instant::now();
        let mut attempt = 0;
        loop {
            if self
                .store
                .try_lease(id, &owner, LEASE_TTL)
                .await
                .map_err(|e| self.failure(e))?
            {
                break;
            }
            if started.elapsed() >= LEASE_WAIT {
                return Err(ToolError::new(
                    "Evaluation busy",
                    format!(
                        "Session {id} has been under evaluation elsewhere for over {} minutes; \
                         try again when that evaluation has finished",
                        LEASE_WAIT.as_secs() / 60
                    ),
                ));
            }
            if attempt == 0 {
                waiting();
            }
            let pause = Duration::from_millis((50u64 << attempt.min(4)) + fastrand::u64(0..50));
            attempt += 1;
            tokio::select! {
                () = cancel.cancelled() => return Ok(None),
                () = tokio::time::sleep(pause) => {}
            }
        }
        let renewal = tokio::spawn({
            let (manager, id, owner) = (self.clone(), id.to_owned(), owner.clone());
            async move {
                loop {
                    tokio::time::sleep(LEASE_TTL / 3).await;
                    match manager.store.renew_lease(&id, &owner, LEASE_TTL).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(session = id, "evaluation lease lost to another owner");
                            return;
                        }
                        Err(error) => tracing::warn!(session = id, "lease not renewed: {error}"),
                    }
                }
            }
        });
        Ok(Some(Lease {
            manager: self.clone(),
            id: id.to_owned(),
            owner,
            renewal,
            held: true,
        }))
    }
}

/// A short, jittered pause before retrying a change that met a concurrent one: growing a
/// little with each attempt so that contending writers spread out.
async fn backoff(attempt: u32) {
    let base = 1u64 << attempt.min(5);
    tokio::time::sleep(Duration::from_millis(base + fastrand::u64(0..=base * 2))).await;
}

/// A session's evaluation lease, held while it is renewed in the background. Give it back
/// with [`Lease::release`]; dropped without that (a cancelled call) it is given back by a
/// background task.
pub struct Lease {
    manager: Arc<SessionManager>,
    id: String,
    owner: String,
    renewal: tokio::task::JoinHandle<()>,
    held: bool,
}

impl Lease {
    /// Stops renewing and gives the lease back.
    pub async fn release(mut self) {
        self.renewal.abort();
        self.held = false;
        if let Err(error) = self
            .manager
            .store
            .release_lease(&self.id, &self.owner)
            .await
        {
            // It expires on its own within the lease TTL.
            tracing::warn!(session = self.id, "lease not released: {error}");
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewal.abort();
        if !self.held {
            return;
        }
        let (manager, id, owner) = (self.manager.clone(), self.id.clone(), self.owner.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = manager.store.release_lease(&id, &owner).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Limits, Score, SessionDefaults};

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

    fn settings(max: usize, when_full: WhenFull, ttl: Duration) -> SessionSettings {
        SessionSettings {
            max_sessions: max,
            ttl,
            cleanup_interval: Duration::from_millis(50),
            when_full,
            store: "memory".to_owned(),
            ..SessionSettings::default()
        }
    }

    /// A cell as an evaluation of `session`'s current inputs would save it.
    fn evaluated_cell(session: &Session, o: OptionId, c: CriterionId, score: f64) -> Cell {
        let score = Score::new(score).expect("score");
        let mut cell = Cell::manual(
            score,
            "from the model".to_owned(),
            OffsetDateTime::now_utc(),
        );
        cell.status = CellStatus::Scored { score };
        cell.basis = session.basis(o, c);
        cell
    }

    async fn manager(max: usize, when_full: WhenFull) -> SessionManager {
        SessionManager::open(settings(max, when_full, Duration::from_secs(60)))
            .await
            .expect("memory opens")
    }

    /// An evaluation that checked the session just before a person set a score, and saves
    /// its cell just after, does not overwrite the person's score; removing that score
    /// removes the evaluated record under it too.
    #[tokio::test]
    async fn a_score_set_by_a_person_wins_over_an_evaluation_saving_the_same_cell() {
        let sessions = manager(10, WhenFull::Refuse).await;
        let limits = Limits::default();
        let mut race = session("race");
        race.add_criterion(
            crate::domain::CriterionSpec {
                name: "cost".to_owned(),
                description: "Total cost".to_owned(),
                weight: 1.0,
                ..crate::domain::CriterionSpec::default()
            },
            &limits,
        )
        .expect("criterion");
        sessions.insert(&race).await.expect("inserted");
        let (o, c) = (race.options()[0].id, race.criteria()[0].id);
        let evaluated = evaluated_cell(&race, o, c, 3.0);

        let set = |score: Option<f64>| {
            let limits = limits.clone();
            move |session: &mut Session| {
                session
                    .set_manual(
                        "a",
                        "cost",
                        score.map(|s| Score::new(s).expect("score")),
                        None,
                        &limits,
                        OffsetDateTime::now_utc(),
                    )
                    .map_err(ToolError::from)
            }
        };
        sessions
            .modify("race", set(Some(9.0)))
            .await
            .expect("set by hand");
        // The evaluation's writer saves its cell as it would after its check.
        let saved = sessions
            .encode_cells([((o, c), &evaluated)])
            .expect("encoded");
        sessions
            .store
            .put_cells("race", &saved)
            .await
            .expect("saved");

        let loaded = sessions
            .load("race")
            .await
            .expect("loads")
            .expect("present");
        let cell = loaded.cell(o, c).expect("the cell");
        assert!(matches!(cell.status, CellStatus::Manual { .. }), "{cell:?}");
        assert_eq!(cell.status.score().map(|s| s.get()), Some(9.0));

        sessions.modify("race", set(None)).await.expect("unset");
        let loaded = sessions
            .load("race")
            .await
            .expect("loads")
            .expect("present");
        assert!(loaded.cell(o, c).is_none(), "{:?}", loaded.cell(o, c));
    }

    /// Memory use set by the test.
    struct FakeMemory(Arc<Mutex<Option<f64>>>);

    impl MemoryProbe for FakeMemory {
        fn used_percent(&self) -> Option<f64> {
            *self.0.lock().expect("lock")
        }
    }

    /// Lets the store's millisecond clock move on, so "least recently used" is unambiguous.
    async fn tick() {
        tokio::time::sleep(Duration::from_millis(3)).await;
    }

    #[tokio::test]
    async fn memory_pressure_evicts_the_least_recently_used_quarter() {
        let used = Arc::new(Mutex::new(Some(50.0)));
        let sessions = SessionManager::open_with_memory_probe(
            settings(100, WhenFull::EvictLeastRecent, Duration::from_secs(600)),
            Box::new(FakeMemory(used.clone())),
        )
        .await
        .expect("opens");
        for n in 0..10 {
            sessions
                .insert(&session(&format!("s{n}")))
                .await
                .expect("room");
            tick().await;
        }
        // Using s0 makes s1..s3 the least recently used.
        assert!(sessions.load("s0").await.expect("loads").is_some());
        assert_eq!(
            sessions.cleanup().await.expect("sweeps"),
            Cleanup::default()
        );

        *used.lock().expect("lock") = Some(85.0);
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

    #[tokio::test]
    async fn evicts_the_least_recently_used_or_refuses() {
        let sessions = manager(2, WhenFull::EvictLeastRecent).await;
        sessions.insert(&session("one")).await.expect("room");
        tick().await;
        sessions.insert(&session("two")).await.expect("room");
        tick().await;
        assert!(sessions.load("one").await.expect("loads").is_some());
        tick().await;
        let evicted = sessions.insert(&session("three")).await.expect("evicts");
        assert_eq!(evicted, ["two"]);
        let stats = sessions.stats().await.expect("stats");
        assert_eq!(
            (
                stats.sessions_created,
                stats.sessions_evicted,
                stats.active_sessions
            ),
            (3, 1, 2)
        );

        let refusing = manager(1, WhenFull::Refuse).await;
        refusing.insert(&session("one")).await.expect("room");
        let refused = refusing.insert(&session("two")).await.unwrap_err();
        assert_eq!(
            refused.error,
            "Maximum number of active sessions (1) reached. Please try again later."
        );
        assert_eq!(refused.context, "Resource limit");
    }

    #[tokio::test]
    async fn idle_sessions_expire_and_the_sweep_counts_them() {
        let sessions = Arc::new(
            SessionManager::open(settings(5, WhenFull::Refuse, Duration::from_millis(150)))
                .await
                .expect("opens"),
        );
        sessions.insert(&session("idle")).await.expect("room");
        let task = sessions.spawn_cleanup();
        tokio::time::sleep(Duration::from_millis(400)).await;
        let stats = sessions.stats().await.expect("stats");
        task.abort();
        assert_eq!((stats.sessions_expired, stats.active_sessions), (1, 0));
        assert!(stats.last_cleanup.is_some());
    }

    #[tokio::test]
    async fn cells_are_kept_apart_and_concurrent_changes_are_all_kept() {
        let sessions = Arc::new(manager(5, WhenFull::Refuse).await);
        sessions.insert(&session("s")).await.expect("room");
        let limits = Limits::default();
        let writers = (0..8).map(|n| {
            let sessions = sessions.clone();
            let limits = limits.clone();
            tokio::spawn(async move {
                sessions
                    .modify("s", |session| {
                        session
                            .add_option(format!("o{n}"), None, &limits)
                            .map_err(ToolError::from)
                    })
                    .await
            })
        });
        for writer in writers.collect::<Vec<_>>() {
            writer.await.expect("joins").expect("saved");
        }
        let criterion = crate::domain::CriterionSpec {
            name: "cost".into(),
            description: "Cost".into(),
            weight: 1.0,
            ..Default::default()
        };
        sessions
            .modify("s", |session| {
                session.add_criterion(criterion.clone(), &limits)?;
                session.set_manual(
                    "a",
                    "cost",
                    Score::new(7.0).ok(),
                    None,
                    &limits,
                    OffsetDateTime::now_utc(),
                )?;
                Ok(())
            })
            .await
            .expect("saved");
        let loaded = sessions.load("s").await.expect("loads").expect("live");
        assert_eq!(loaded.options().len(), 10, "every concurrent option kept");
        assert_eq!(
            loaded.cells().count(),
            1,
            "the manual cell is its own record"
        );

        sessions
            .modify("s", |session| Ok(session.remove_option("a", &limits)?))
            .await
            .expect("removed");
        let raw = sessions
            .store
            .peek("s")
            .await
            .expect("reads")
            .expect("live");
        assert!(raw.cells.is_empty(), "a removed option's cells are removed");
    }

    /// After every kind of change, the decoded session kept for the bytes the change wrote
    /// is found for the bytes the store returns, and equals decoding those bytes afresh.
    #[tokio::test]
    async fn a_change_leaves_the_session_decoded_exactly_as_stored() {
        let sessions = manager(5, WhenFull::Refuse).await;
        let limits = Limits::default();
        sessions.insert(&session("s")).await.expect("room");
        let check = async |what: &str| {
            let raw = sessions
                .store
                .peek("s")
                .await
                .expect("reads")
                .expect("live");
            let stored = Stored::from(raw);
            let cached = sessions.decoded.get("s", &stored);
            let fresh = sessions.parse("s", &stored).expect("decodes");
            assert_eq!(cached.as_ref(), Some(&fresh), "after {what}");
        };
        let criterion = crate::domain::CriterionSpec {
            name: "cost".into(),
            description: "Cost".into(),
            weight: 1.0,
            ..Default::default()
        };
        sessions
            .modify("s", |session| {
                session.add_criterion(criterion.clone(), &limits)?;
                Ok(session.add_option("c".into(), None, &limits)?)
            })
            .await
            .expect("criterion and option added");
        check("adding a criterion and an option").await;

        let current = sessions.load("s").await.expect("loads").expect("live");
        let (o, c) = (current.options()[1].id, current.criteria()[0].id);
        let evaluated = evaluated_cell(&current, o, c, 4.0);
        let saved = sessions
            .record_cells("s", vec![(o, c, evaluated)])
            .await
            .expect("recorded");
        assert_eq!(saved, 1);
        check("an evaluated cell").await;

        sessions
            .modify("s", |session| {
                Ok(session.set_manual(
                    "b",
                    "cost",
                    Score::new(9.0).ok(),
                    Some("checked by hand".into()),
                    &limits,
                    OffsetDateTime::now_utc(),
                )?)
            })
            .await
            .expect("set by hand");
        check("a score set by hand over an evaluated one").await;

        sessions
            .modify("s", |session| Ok(session.remove_option("b", &limits)?))
            .await
            .expect("removed");
        check("removing an option with cells").await;
    }

    #[tokio::test]
    async fn one_evaluation_lease_at_a_time() {
        let sessions = Arc::new(manager(5, WhenFull::Refuse).await);
        sessions.insert(&session("s")).await.expect("room");
        let cancel = CancellationToken::new();
        let mut told = 0;
        let first = sessions
            .lease("s", &cancel, &mut || told += 1)
            .await
            .expect("ok")
            .expect("held");
        assert_eq!(told, 0, "a free lease is taken without waiting");
        let waits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let waiting = tokio::spawn({
            let (sessions, cancel, waits) = (sessions.clone(), cancel.clone(), waits.clone());
            async move {
                let mut waited = || {
                    waits.fetch_add(1, Ordering::SeqCst);
                };
                sessions
                    .lease("s", &cancel, &mut waited)
                    .await
                    .map(|lease| lease.is_some())
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "the second waits for the first");
        first.release().await;
        let second = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("within bounds")
            .expect("joins");
        assert_eq!(second, Ok(true));
        assert_eq!(
            waits.load(Ordering::SeqCst),
            1,
            "told once that it waits, however many tries"
        );
    }
}
