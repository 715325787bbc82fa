//! Session storage for decision-matrix: where decision sessions live between requests.
//!
//! A decision session holds paid-for LLM work, so it should outlive the process that made it.
//! This crate keeps sessions in one of three places behind one API, [`Store`]:
//!
//! - **SQLite** (the default): one machine; survives restarts and `kill -9`;
//! - **memory**: throwaway use, gone at exit;
//! - **Redis**: several server instances behind a load balancer share sessions, evaluation
//!   leases, the evaluation cache and statistics counters.
//!
//! The store deals in opaque bytes: the host serialises its session and cells, so this crate
//! depends on none of the host's types (nor on what they pull in). Every operation is one
//! atomic unit on every backend (a transaction on SQLite, a Lua script or single command on
//! Redis), and every backend applies the same limit, sliding expiry and least-recently-used
//! rules, so the host behaves the same whichever one it runs on.
//!
//! Dispatch is an enum rather than a trait object: three known backends, async methods, no
//! boxing.

#![warn(missing_docs)]

mod clock;
mod error;
mod memory;
mod options;
mod record;
mod redis;
mod sqlite;

use std::collections::BTreeMap;
use std::time::Duration;

use decision_matrix_core::store_url::{self, Location};

pub use crate::clock::{Clock, ManualClock};
pub use crate::error::StoreError;
pub use crate::memory::MemoryStore;
pub use crate::options::{Durability, StoreOptions, WhenFull};
pub use crate::record::{Created, Loaded, Summary};
pub use crate::redis::RedisStore;
pub use crate::sqlite::SqliteStore;

/// `url` as it may be shown to people (configuration listings, logs): any user name or
/// password replaced by `***`. The URL grammar is `decision_matrix_core::store_url`, which the
/// configuration checks URLs with before start-up.
pub use decision_matrix_core::store_url::redact_url;

/// A session store: one of the backends, chosen by URL at [`Store::open`].
#[derive(Debug)]
pub enum Store {
    /// In this process only.
    Memory(MemoryStore),
    /// An SQLite file.
    Sqlite(SqliteStore),
    /// A Redis server shared by several instances.
    Redis(RedisStore),
}

impl Store {
    /// Opens the store `url` names:
    ///
    /// - `memory`;
    /// - `sqlite` (the file [`StoreOptions::sqlite_default_path`]), `sqlite:///abs/path.db`
    ///   or `sqlite:relative/path.db`;
    /// - `redis://[:password@]host:port[/db]` or `rediss://…` (TLS).
    ///
    /// An SQLite file is created (parent directories too) when missing and migrated to this
    /// build's schema; a Redis server is connected to and pinged, within
    /// [`StoreOptions::connect_timeout`]. There is never a fallback to another backend.
    pub async fn open(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        options.validate()?;
        match store_url::parse(url, options.sqlite_default_path.as_deref())? {
            Location::Memory => Ok(Store::Memory(MemoryStore::new(options))),
            Location::Sqlite(path) => SqliteStore::open(path, options).await.map(Store::Sqlite),
            Location::Redis { url, shown, secret } => {
                RedisStore::open(&url, shown, secret, options)
                    .await
                    .map(Store::Redis)
            }
        }
    }

    /// Where the data lives, for people: `memory`, `sqlite /path/sessions.db (WAL)`,
    /// `redis 127.0.0.1:6379/0 namespace dmm`. Never contains a password.
    pub fn describe(&self) -> String {
        match self {
            Store::Memory(_) => "memory".to_owned(),
            Store::Sqlite(store) => store.describe(),
            Store::Redis(store) => store.describe(),
        }
    }

    /// The options in force.
    pub fn options(&self) -> &StoreOptions {
        match self {
            Store::Memory(store) => store.options(),
            Store::Sqlite(store) => store.options(),
            Store::Redis(store) => store.options(),
        }
    }

    /// Adds the session `id` at version 1. At [`StoreOptions::max_sessions`] live sessions it
    /// evicts the least recently used ones (returned) or fails with [`StoreError::Full`], as
    /// [`StoreOptions::when_full`] says; [`StoreError::Exists`] when `id` is live already.
    /// Expired sessions are removed on the way and do not count. A session under evaluation
    /// (holding an unexpired lease) is never evicted: when no other session can make room,
    /// the store is full even if set to evict.
    pub async fn create(&self, id: &str, body: &[u8]) -> Result<Created, StoreError> {
        match self {
            Store::Memory(store) => store.create(id, body),
            Store::Sqlite(store) => store.create(id, body).await,
            Store::Redis(store) => store.create(id, body).await,
        }
    }

    /// The session `id` with its cells, renewing its TTL; `None` when it does not exist or
    /// has expired (whether or not a sweep removed it yet).
    pub async fn load(&self, id: &str) -> Result<Option<Loaded>, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.load(id, true)),
            Store::Sqlite(store) => store.load(id, true).await,
            Store::Redis(store) => store.load(id, true).await,
        }
    }

    /// Like [`Store::load`] without renewing the TTL or the session's place in the
    /// least-recently-used order (for listings and statistics).
    pub async fn peek(&self, id: &str) -> Result<Option<Loaded>, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.load(id, false)),
            Store::Sqlite(store) => store.load(id, false).await,
            Store::Redis(store) => store.load(id, false).await,
        }
    }

    /// Replaces the body of `id` if its version is still `expected_version`
    /// (compare-and-swap) and returns the new version; renews the TTL.
    /// [`StoreError::Conflict`] when the version moved, [`StoreError::NotFound`] when the
    /// session is gone.
    pub async fn update(
        &self,
        id: &str,
        expected_version: u64,
        body: &[u8],
    ) -> Result<u64, StoreError> {
        match self {
            Store::Memory(store) => store.update(id, expected_version, body),
            Store::Sqlite(store) => store.update(id, expected_version, body).await,
            Store::Redis(store) => store.update(id, expected_version, body).await,
        }
    }

    /// Writes one cell of `id` (insert or replace; the session version does not change);
    /// renews the TTL. [`StoreError::NotFound`] when the session is gone, and then nothing
    /// is written.
    pub async fn put_cell(&self, id: &str, key: &str, body: &[u8]) -> Result<(), StoreError> {
        self.put_cells(id, &[(key.to_owned(), body.to_vec())]).await
    }

    /// Writes several cells of `id` at once, as [`Store::put_cell`] does one.
    pub async fn put_cells(&self, id: &str, cells: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        match self {
            Store::Memory(store) => store.put_cells(id, cells),
            Store::Sqlite(store) => store.put_cells(id, cells).await,
            Store::Redis(store) => store.put_cells(id, cells).await,
        }
    }

    /// Removes the cells `keys` of `id`; returns how many there were. A session that is gone
    /// has none (0).
    pub async fn remove_cells(&self, id: &str, keys: &[String]) -> Result<usize, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.remove_cells(id, keys)),
            Store::Sqlite(store) => store.remove_cells(id, keys).await,
            Store::Redis(store) => store.remove_cells(id, keys).await,
        }
    }

    /// Removes the session `id`, its cells and its lease; whether it was live.
    pub async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.delete(id)),
            Store::Sqlite(store) => store.delete(id).await,
            Store::Redis(store) => store.delete(id).await,
        }
    }

    /// Every live session, most recently used first (bodies included, cells not).
    pub async fn list(&self) -> Result<Vec<Summary>, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.list()),
            Store::Sqlite(store) => store.list().await,
            Store::Redis(store) => store.list().await,
        }
    }

    /// How many live sessions there are.
    pub async fn count(&self) -> Result<usize, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.count()),
            Store::Sqlite(store) => store.count().await,
            Store::Redis(store) => store.count().await,
        }
    }

    /// Removes every session with its cells and leases (on Redis: of this namespace);
    /// returns how many live sessions there were. The evaluation cache and the counters
    /// stay: cached answers are keyed by content, not by session, and counters are
    /// statistics since deployment.
    pub async fn clear(&self) -> Result<usize, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.clear()),
            Store::Sqlite(store) => store.clear().await,
            Store::Redis(store) => store.clear().await,
        }
    }

    /// Removes expired sessions with their cells (and, where the backend keeps them itself,
    /// expired leases and cache entries); returns the ids of the sessions, least recently
    /// used first.
    pub async fn sweep_expired(&self) -> Result<Vec<String>, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.sweep_expired()),
            Store::Sqlite(store) => store.sweep_expired().await,
            Store::Redis(store) => store.sweep_expired().await,
        }
    }

    /// Removes the `count` least recently used live sessions, passing over those under
    /// evaluation (holding an unexpired lease); returns their ids, least recent first.
    pub async fn evict_least_recent(&self, count: usize) -> Result<Vec<String>, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.evict_least_recent(count)),
            Store::Sqlite(store) => store.evict_least_recent(count).await,
            Store::Redis(store) => store.evict_least_recent(count).await,
        }
    }

    /// Takes the evaluation lease of `id` for `owner` for `ttl`, so that no two instances
    /// evaluate (and bill) one session at once. `false` while anyone, `owner` included,
    /// holds an unexpired lease; extend a lease held with [`Store::renew_lease`].
    pub async fn try_lease(
        &self,
        id: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.try_lease(id, owner, ttl)),
            Store::Sqlite(store) => store.try_lease(id, owner, ttl).await,
            Store::Redis(store) => store.try_lease(id, owner, ttl).await,
        }
    }

    /// Extends the lease of `id` to `ttl` from now if `owner` still holds it.
    pub async fn renew_lease(
        &self,
        id: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.renew_lease(id, owner, ttl)),
            Store::Sqlite(store) => store.renew_lease(id, owner, ttl).await,
            Store::Redis(store) => store.renew_lease(id, owner, ttl).await,
        }
    }

    /// Gives up the lease of `id` if `owner` holds it (a lease taken over by another owner
    /// after it expired stays theirs); whether `owner` held it.
    pub async fn release_lease(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.release_lease(id, owner)),
            Store::Sqlite(store) => store.release_lease(id, owner).await,
            Store::Redis(store) => store.release_lease(id, owner).await,
        }
    }

    /// The cached evaluation answer under `key` (a content hash), if present and unexpired.
    pub async fn cache_get(&self, key: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.cache_get(key)),
            Store::Sqlite(store) => store.cache_get(key).await,
            Store::Redis(store) => store.cache_get(key).await,
        }
    }

    /// Caches `body` under `key` for `ttl` (shared by all instances on Redis).
    pub async fn cache_put(
        &self,
        key: &[u8; 32],
        body: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        match self {
            Store::Memory(store) => {
                store.cache_put(key, body, ttl);
                Ok(())
            }
            Store::Sqlite(store) => store.cache_put(key, body, ttl).await,
            Store::Redis(store) => store.cache_put(key, body, ttl).await,
        }
    }

    /// Adds `delta` to the statistics counter `name` (shared by all instances on Redis).
    pub async fn add_counter(&self, name: &str, delta: u64) -> Result<(), StoreError> {
        match self {
            Store::Memory(store) => {
                store.add_counter(name, delta);
                Ok(())
            }
            Store::Sqlite(store) => store.add_counter(name, delta).await,
            Store::Redis(store) => store.add_counter(name, delta).await,
        }
    }

    /// Every counter by name.
    pub async fn counters(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.counters()),
            Store::Sqlite(store) => store.counters().await,
            Store::Redis(store) => store.counters().await,
        }
    }
}
