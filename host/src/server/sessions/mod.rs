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
//!
//! Here: the manager and its reads and changes. Apart: [`settings`] (limits and timings),
//! [`listing`] (a scope's sessions, page by page, and clearing them), [`records`] (how a
//! session and its cells map to store records), [`housekeeping`]
//! (statistics, expiry sweeps, memory pressure) and [`lease`] (one evaluation per session).

mod housekeeping;
mod lease;
mod listing;
#[cfg(test)]
mod migration_tests;
mod records;
mod store_options;
#[cfg(test)]
mod testing;

use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use decision_matrix_store::{Clock, Store, StoreError};

use super::decoded::{self, DecodedSessions, Stored};
use super::error::ToolError;
use super::memory::{MemoryProbe, SystemMemory};
use crate::domain::{Cell, CriterionId, OptionId, Session};
use housekeeping::{CLEANED, CREATED, EVICTED, EXPIRED};
use records::{Cells, evaluated_key, manual_key};

pub use decision_matrix_core::config::{SessionSettings, StoreDurability, WhenFull};
pub use housekeeping::SessionStats;
pub(crate) use lease::LEASE_TTL;
pub use listing::Cursor;

/// Attempts of a change that keeps meeting concurrent changes before it gives up.
const CONFLICT_ATTEMPTS: u32 = 32;

/// Statistics this instance keeps itself.
struct Local {
    max_concurrent: usize,
    /// When this instance last swept, or opened the store.
    last_cleanup: String,
}

/// The sessions, in their store. Share it behind an `Arc`.
pub struct SessionManager {
    settings: SessionSettings,
    /// Where the store and the sweeps read the time; tests move a manual one.
    clock: Clock,
    store: Arc<Store>,
    memory: Box<dyn MemoryProbe>,
    local: Mutex<Local>,
    /// This process's lease owner prefix: no two processes share one.
    owner: String,
    leases: AtomicU64,
    /// Sessions already decoded, by the bytes they were decoded from.
    decoded: DecodedSessions,
}

impl SessionManager {
    /// Opens the store `settings.store` names, watching this machine's (or container's)
    /// memory.
    pub async fn open(settings: SessionSettings) -> Result<SessionManager, StoreError> {
        let memory = Box::new(SystemMemory::detect());
        SessionManager::open_with(settings, memory, Clock::System).await
    }

    /// Opens the store, watching memory through `memory` and reading the time from `clock`.
    pub async fn open_with(
        settings: SessionSettings,
        memory: Box<dyn MemoryProbe>,
        clock: Clock,
    ) -> Result<SessionManager, StoreError> {
        let options = store_options::store_options(&settings, clock.clone());
        let store = Arc::new(Store::open(&settings.store, options).await?);
        let mut manager = SessionManager {
            settings,
            clock,
            store,
            memory,
            local: Mutex::new(Local {
                max_concurrent: 0,
                last_cleanup: String::new(),
            }),
            owner: uuid::Uuid::new_v4().simple().to_string(),
            leases: AtomicU64::new(0),
            decoded: DecodedSessions::new(decoded::CAPACITY),
        };
        manager.local.get_mut().last_cleanup = manager.now();
        Ok(manager)
    }

    /// The settings in force.
    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    /// The clock the store and the sweeps read.
    pub fn clock(&self) -> &Clock {
        &self.clock
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
            let mut local = self.local.lock();
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
        cells: Vec<(OptionId, CriterionId, Cell, Recording)>,
    ) -> Result<usize, ToolError> {
        let Some((_, stored, mut session)) = self.fetch(id).await? else {
            return Err(ToolError::session_not_found());
        };
        let mut accepted: Vec<((OptionId, CriterionId), Cell)> = Vec::with_capacity(cells.len());
        for (o, c, cell, recording) in cells {
            let recorded = match recording {
                Recording::Replace => session.record(o, c, cell),
                Recording::Add => session.record_replicate(o, c, cell),
            };
            // What is saved is the cell as the session now holds it (a replicate's
            // judgments joined to the earlier ones).
            if recorded && let Some(cell) = session.cell(o, c) {
                accepted.push(((o, c), cell.clone()));
            }
        }
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
}

/// How an evaluated cell joins the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recording {
    /// In place of what the cell held ([`Session::record`]): the first judgment of an
    /// evaluation that computes the cell afresh.
    Replace,
    /// Beside the judgments it holds ([`Session::record_replicate`]): a replicate, or
    /// another judge of the panel in the same evaluation.
    Add,
}

/// A short, jittered pause before retrying a change that met a concurrent one: growing a
/// little with each attempt so that contending writers spread out.
async fn backoff(attempt: u32) {
    let base = 1u64 << attempt.min(5);
    tokio::time::sleep(Duration::from_millis(base + fastrand::u64(0..=base * 2))).await;
}

#[cfg(test)]
mod tests {
    use super::testing::{evaluated_cell, manager, session, tick};
    use super::*;
    use time::OffsetDateTime;

    use crate::domain::{CellStatus, Limits, Score};

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

    #[tokio::test]
    async fn evicts_the_least_recently_used_or_refuses() {
        let sessions = manager(2, WhenFull::EvictLeastRecent).await;
        sessions.insert(&session("one")).await.expect("room");
        tick(&sessions);
        sessions.insert(&session("two")).await.expect("room");
        tick(&sessions);
        assert!(sessions.load("one").await.expect("loads").is_some());
        tick(&sessions);
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
            .record_cells("s", vec![(o, c, evaluated, Recording::Replace)])
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
}
