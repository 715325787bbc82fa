//! [`SqliteStore`]: sessions in one SQLite file, for one machine.
//!
//! The default backend: no server to run, and a committed change survives a restart or a
//! `kill -9` (WAL journal; `synchronous=FULL` on request also survives power loss). Every
//! operation is one transaction committed before the call returns; those that read and then
//! write (create, update, cell writes, leases) start with `BEGIN IMMEDIATE`, so two processes
//! sharing the file serialise instead of failing half-way.
//!
//! One connection behind a mutex, used from `spawn_blocking`: sessions are small and
//! operations take microseconds, so a pool of readers would add complexity for no measured
//! gain. Expiry is a comparison of `last_used` with the TTL in every query, so an expired
//! session is never returned whether or not a sweep removed it.
//!
//! The file is never silently recreated: one that is not a database, is damaged, belongs to
//! another program or was written by a newer build is reported and left byte-for-byte as it
//! was.

mod files;
mod migrations;

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::options::duration_ms;
use crate::{Created, Durability, Loaded, StoreError, StoreOptions, Summary, WhenFull};

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Sessions in an SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    options: StoreOptions,
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Milliseconds as SQLite stores them (saturating).
fn sql_ms(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// A stored non-negative integer back as `u64`.
fn stored(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Maps an SQLite error: damage and non-databases to [`StoreError::Corrupt`], the rest to
/// [`StoreError::Backend`].
fn sql_error(path: &Path, action: &str, error: &rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: error.to_string(),
        },
        _ => StoreError::Backend {
            backend: format!("sqlite {}", path.display()),
            action: action.to_owned(),
            detail: error.to_string(),
        },
    }
}

/// Opens, checks and migrates the file; nothing is written to it before it is known to be
/// one of ours (or empty) at a schema this build supports.
fn open_connection(path: &Path, options: &StoreOptions) -> Result<Connection, StoreError> {
    let backend_error = |action: &str, error: &rusqlite::Error| sql_error(path, action, error);
    // Sessions are private to the user running the server from the first byte, and files
    // found with wider permissions are held to the same.
    let own_directory = options.sqlite_default_path.as_deref() == Some(path);
    files::prepare(path, own_directory).map_err(|error| StoreError::Backend {
        backend: format!("sqlite {}", path.display()),
        action: "prepare the database file and its directory".to_owned(),
        detail: error.to_string(),
    })?;
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|error| backend_error("open the database", &error))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|error| backend_error("set the busy timeout", &error))?;

    // Reading the header and schema fails on a non-database before anything is written.
    let read_identity = |conn: &Connection| -> rusqlite::Result<(u32, i32, i64)> {
        let version = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let application = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
        let objects = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))?;
        Ok((version, application, objects))
    };
    let (version, application, objects) =
        read_identity(&conn).map_err(|error| backend_error("read the database header", &error))?;
    let foreign = application != 0 && application != migrations::APPLICATION_ID
        || application == 0 && objects > 0;
    if foreign {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: "it is an SQLite database of another program, not a session store".to_owned(),
        });
    }
    if version > migrations::SUPPORTED {
        return Err(StoreError::NewerSchema {
            found: version,
            supported: migrations::SUPPORTED,
            path: path.to_path_buf(),
        });
    }

    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
        .map_err(|error| backend_error("switch to WAL mode", &error))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend {
            backend: format!("sqlite {}", path.display()),
            action: "switch to WAL mode".to_owned(),
            detail: format!(
                "the journal mode stayed {mode:?}; the file system may not support shared \
                 memory (a network share?): put the database on a local disk"
            ),
        });
    }
    let synchronous = match options.durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", synchronous)
        .and_then(|()| conn.pragma_update(None, "foreign_keys", "ON"))
        .map_err(|error| backend_error("configure the connection", &error))?;

    match migrations::migrate(&mut conn)
        .map_err(|error| backend_error("migrate the schema", &error))?
    {
        migrations::Outcome::Current => Ok(conn),
        migrations::Outcome::Newer(found) => Err(StoreError::NewerSchema {
            found,
            supported: migrations::SUPPORTED,
            path: path.to_path_buf(),
        }),
    }
}

/// Ids of live sessions that may be evicted (none is under evaluation, that is, holds a lease
/// unexpired at `now`), least recently used first, at most `limit`.
fn evictable(
    conn: &Connection,
    threshold: i64,
    now: i64,
    limit: i64,
) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare_cached(
        "SELECT id FROM sessions WHERE last_used > ?1
             AND id NOT IN (SELECT id FROM leases WHERE expires_at > ?2)
         ORDER BY touched LIMIT ?3",
    )?;
    let ids = statement.query_map(params![threshold, now, limit], |row| row.get(0))?;
    ids.collect()
}

/// Removes sessions (cells follow by cascade) and their leases.
fn remove_sessions(conn: &Connection, ids: &[String]) -> rusqlite::Result<()> {
    let mut session = conn.prepare_cached("DELETE FROM sessions WHERE id = ?1")?;
    let mut lease = conn.prepare_cached("DELETE FROM leases WHERE id = ?1")?;
    for id in ids {
        session.execute([id])?;
        lease.execute([id])?;
    }
    Ok(())
}

/// Removes expired sessions; returns their ids, least recently used first.
fn remove_expired(conn: &Connection, threshold: i64) -> rusqlite::Result<Vec<String>> {
    let expired: Vec<String> = {
        let mut statement =
            conn.prepare_cached("SELECT id FROM sessions WHERE last_used <= ?1 ORDER BY touched")?;
        let ids = statement.query_map([threshold], |row| row.get(0))?;
        ids.collect::<rusqlite::Result<_>>()?
    };
    conn.prepare_cached("DELETE FROM sessions WHERE last_used <= ?1")?
        .execute([threshold])?;
    Ok(expired)
}

/// The next value of the use order.
fn next_touch(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT coalesce(max(touched), 0) + 1 FROM sessions")?
        .query_row([], |row| row.get(0))
}

impl SqliteStore {
    /// Opens (creating and migrating when needed) the database at `path`.
    pub(crate) async fn open(
        path: PathBuf,
        options: StoreOptions,
    ) -> Result<SqliteStore, StoreError> {
        let opened = {
            let path = path.clone();
            let options = options.clone();
            tokio::task::spawn_blocking(move || open_connection(&path, &options)).await
        };
        let conn = opened.map_err(|error| StoreError::Backend {
            backend: format!("sqlite {}", path.display()),
            action: "open the database".to_owned(),
            detail: error.to_string(),
        })??;
        Ok(SqliteStore {
            path,
            options,
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options in force.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// `sqlite /path/to/file.db (WAL)`.
    pub fn describe(&self) -> String {
        format!("sqlite {} (WAL)", self.path.display())
    }

    /// Runs `work` on the connection in a blocking thread; `action` names it in errors.
    async fn run<T, F>(&self, action: &'static str, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, Now) -> Result<T, Failure> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let ttl = self.options.ttl_ms();
        let time = self.options.clock.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock();
            // The time once the connection is ours, so waiting for it never ages a session.
            let clock = Now {
                now: time.now_ms(),
                ttl,
            };
            work(&mut conn, clock)
        })
        .await;
        match joined {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(Failure::Store(error))) => Err(error),
            Ok(Err(Failure::Sql(error))) => Err(sql_error(&self.path, action, &error)),
            Err(error) => Err(StoreError::Backend {
                backend: self.describe(),
                action: action.to_owned(),
                detail: error.to_string(),
            }),
        }
    }

    /// See [`crate::Store::create`].
    pub(crate) async fn create(&self, id: &str, body: &[u8]) -> Result<Created, StoreError> {
        let id = id.to_owned();
        let body = body.to_vec();
        let max = self.options.max_sessions;
        let refuse = self.options.when_full == WhenFull::Refuse;
        self.run("create a session", move |conn, clock| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let exists = tx
                .prepare_cached("SELECT 1 FROM sessions WHERE id = ?1 AND last_used > ?2")?
                .query_row(params![id, clock.threshold()], |_| Ok(()))
                .optional()?
                .is_some();
            if exists {
                return Err(StoreError::Exists { id }.into());
            }
            let live: i64 = tx
                .prepare_cached("SELECT count(*) FROM sessions WHERE last_used > ?1")?
                .query_row([clock.threshold()], |row| row.get(0))?;
            let live = usize::try_from(live).unwrap_or(usize::MAX);
            if live >= max && (refuse || max == 0) {
                // Nothing changes, so expired sessions stay for the sweep to report.
                return Err(StoreError::Full { max }.into());
            }
            let mut evicted = Vec::new();
            if live >= max {
                let excess = live + 1 - max;
                let limit = i64::try_from(excess).unwrap_or(i64::MAX);
                evicted = evictable(&tx, clock.threshold(), sql_ms(clock.now), limit)?;
                if evicted.len() < excess {
                    // Every session that could make room is being evaluated.
                    return Err(StoreError::Full { max }.into());
                }
            }
            let expired = remove_expired(&tx, clock.threshold())?;
            remove_sessions(&tx, &evicted)?;
            let touched = next_touch(&tx)?;
            let now = sql_ms(clock.now);
            tx.prepare_cached(
                "INSERT INTO sessions (id, version, created_at, last_used, touched, body)
                 VALUES (?1, 1, ?2, ?2, ?3, ?4)",
            )?
            .execute(params![id, now, touched, body])?;
            tx.commit()?;
            Ok(Created { evicted, expired })
        })
        .await
    }

    /// See [`crate::Store::load`] and [`crate::Store::peek`].
    pub(crate) async fn load(&self, id: &str, renew: bool) -> Result<Option<Loaded>, StoreError> {
        let id = id.to_owned();
        self.run("load a session", move |conn, clock| {
            let behavior = if renew {
                TransactionBehavior::Immediate
            } else {
                TransactionBehavior::Deferred
            };
            let tx = conn.transaction_with_behavior(behavior)?;
            let row = tx
                .prepare_cached(
                    "SELECT version, created_at, last_used, body FROM sessions
                     WHERE id = ?1 AND last_used > ?2",
                )?
                .query_row(params![id, clock.threshold()], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, Vec<u8>>(3)?,
                    ))
                })
                .optional()?;
            let Some((version, created_at, mut last_used, body)) = row else {
                return Ok(None);
            };
            if renew {
                let touched = next_touch(&tx)?;
                last_used = sql_ms(clock.now);
                tx.prepare_cached(
                    "UPDATE sessions SET last_used = ?2, touched = ?3 WHERE id = ?1",
                )?
                .execute(params![id, last_used, touched])?;
            }
            let cells = {
                let mut statement = tx.prepare_cached(
                    "SELECT key, body FROM cells WHERE session_id = ?1 ORDER BY key",
                )?;
                let rows = statement.query_map([&id], |row| Ok((row.get(0)?, row.get(1)?)))?;
                rows.collect::<rusqlite::Result<Vec<(String, Vec<u8>)>>>()?
            };
            tx.commit()?;
            Ok(Some(Loaded {
                version: stored(version),
                created_at: stored(created_at),
                last_used: stored(last_used),
                body,
                cells,
            }))
        })
        .await
    }

    /// See [`crate::Store::update`].
    pub(crate) async fn update(
        &self,
        id: &str,
        expected_version: u64,
        body: &[u8],
    ) -> Result<u64, StoreError> {
        let id = id.to_owned();
        let body = body.to_vec();
        self.run("update a session", move |conn, clock| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: Option<i64> = tx
                .prepare_cached("SELECT version FROM sessions WHERE id = ?1 AND last_used > ?2")?
                .query_row(params![id, clock.threshold()], |row| row.get(0))
                .optional()?;
            let Some(current) = current.map(stored) else {
                return Err(StoreError::NotFound { id }.into());
            };
            if current != expected_version {
                return Err(StoreError::Conflict { id, current }.into());
            }
            let touched = next_touch(&tx)?;
            let version = current + 1;
            tx.prepare_cached(
                "UPDATE sessions SET version = ?2, body = ?3, last_used = ?4, touched = ?5
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                sql_ms(version),
                body,
                sql_ms(clock.now),
                touched
            ])?;
            tx.commit()?;
            Ok(version)
        })
        .await
    }

    /// See [`crate::Store::put_cells`].
    pub(crate) async fn put_cells(
        &self,
        id: &str,
        cells: &[(String, Vec<u8>)],
    ) -> Result<(), StoreError> {
        let id = id.to_owned();
        let cells = cells.to_vec();
        self.run("write cells", move |conn, clock| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let touched = next_touch(&tx)?;
            let renewed = tx
                .prepare_cached(
                    "UPDATE sessions SET last_used = ?2, touched = ?3
                     WHERE id = ?1 AND last_used > ?4",
                )?
                .execute(params![id, sql_ms(clock.now), touched, clock.threshold()])?;
            if renewed == 0 {
                return Err(StoreError::NotFound { id }.into());
            }
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO cells (session_id, key, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT (session_id, key) DO UPDATE SET body = excluded.body",
                )?;
                for (key, body) in &cells {
                    insert.execute(params![id, key, body])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// See [`crate::Store::remove_cells`].
    pub(crate) async fn remove_cells(
        &self,
        id: &str,
        keys: &[String],
    ) -> Result<usize, StoreError> {
        let id = id.to_owned();
        let keys = keys.to_vec();
        self.run("remove cells", move |conn, _| {
            let tx = conn.transaction()?;
            let mut removed = 0;
            {
                let mut delete =
                    tx.prepare_cached("DELETE FROM cells WHERE session_id = ?1 AND key = ?2")?;
                for key in &keys {
                    removed += delete.execute(params![id, key])?;
                }
            }
            tx.commit()?;
            Ok(removed)
        })
        .await
    }

    /// See [`crate::Store::delete`].
    pub(crate) async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.run("delete a session", move |conn, clock| {
            let tx = conn.transaction()?;
            let live = tx
                .prepare_cached("SELECT 1 FROM sessions WHERE id = ?1 AND last_used > ?2")?
                .query_row(params![id, clock.threshold()], |_| Ok(()))
                .optional()?
                .is_some();
            remove_sessions(&tx, std::slice::from_ref(&id))?;
            tx.commit()?;
            Ok(live)
        })
        .await
    }

    /// See [`crate::Store::list`].
    pub(crate) async fn list(&self) -> Result<Vec<Summary>, StoreError> {
        self.run("list sessions", move |conn, clock| {
            let mut statement = conn.prepare_cached(
                "SELECT id, version, created_at, last_used, body FROM sessions
                 WHERE last_used > ?1 ORDER BY touched DESC",
            )?;
            let rows = statement.query_map([clock.threshold()], |row| {
                Ok(Summary {
                    id: row.get(0)?,
                    version: stored(row.get(1)?),
                    created_at: stored(row.get(2)?),
                    last_used: stored(row.get(3)?),
                    body: row.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<Summary>>>()?)
        })
        .await
    }

    /// See [`crate::Store::count`].
    pub(crate) async fn count(&self) -> Result<usize, StoreError> {
        self.run("count sessions", move |conn, clock| {
            let live: i64 = conn
                .prepare_cached("SELECT count(*) FROM sessions WHERE last_used > ?1")?
                .query_row([clock.threshold()], |row| row.get(0))?;
            Ok(usize::try_from(live).unwrap_or(0))
        })
        .await
    }

    /// See [`crate::Store::clear`].
    pub(crate) async fn clear(&self) -> Result<usize, StoreError> {
        self.run("clear sessions", move |conn, clock| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let live: i64 = tx
                .prepare_cached("SELECT count(*) FROM sessions WHERE last_used > ?1")?
                .query_row([clock.threshold()], |row| row.get(0))?;
            tx.execute_batch("DELETE FROM cells; DELETE FROM sessions; DELETE FROM leases;")?;
            tx.commit()?;
            Ok(usize::try_from(live).unwrap_or(0))
        })
        .await
    }

    /// See [`crate::Store::sweep_expired`]; also drops expired leases and cache entries, and
    /// the oldest cache entries beyond [`StoreOptions::cache_capacity`].
    pub(crate) async fn sweep_expired(&self) -> Result<Vec<String>, StoreError> {
        let capacity = i64::try_from(self.options.cache_capacity).unwrap_or(i64::MAX);
        self.run("sweep expired sessions", move |conn, clock| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let expired = remove_expired(&tx, clock.threshold())?;
            let now = sql_ms(clock.now);
            tx.prepare_cached("DELETE FROM leases WHERE expires_at <= ?1")?
                .execute([now])?;
            tx.prepare_cached("DELETE FROM cache WHERE expires_at <= ?1")?
                .execute([now])?;
            tx.prepare_cached(
                "DELETE FROM cache WHERE key IN
                 (SELECT key FROM cache ORDER BY stored_at DESC LIMIT -1 OFFSET ?1)",
            )?
            .execute([capacity])?;
            tx.commit()?;
            Ok(expired)
        })
        .await
    }

    /// See [`crate::Store::evict_least_recent`].
    pub(crate) async fn evict_least_recent(&self, count: usize) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(count).unwrap_or(i64::MAX);
        self.run("evict sessions", move |conn, clock| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let victims = evictable(&tx, clock.threshold(), sql_ms(clock.now), limit)?;
            remove_sessions(&tx, &victims)?;
            tx.commit()?;
            Ok(victims)
        })
        .await
    }

    /// See [`crate::Store::try_lease`].
    pub(crate) async fn try_lease(
        &self,
        id: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        let owner = owner.to_owned();
        let ttl = duration_ms(ttl);
        self.run("take a lease", move |conn, clock| {
            let taken = conn
                .prepare_cached(
                    "INSERT INTO leases (id, owner, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET owner = excluded.owner,
                         expires_at = excluded.expires_at
                     WHERE leases.expires_at <= ?4",
                )?
                .execute(params![
                    id,
                    owner,
                    sql_ms(clock.now.saturating_add(ttl)),
                    sql_ms(clock.now)
                ])?;
            Ok(taken == 1)
        })
        .await
    }

    /// See [`crate::Store::renew_lease`].
    pub(crate) async fn renew_lease(
        &self,
        id: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        let owner = owner.to_owned();
        let ttl = duration_ms(ttl);
        self.run("renew a lease", move |conn, clock| {
            let renewed = conn
                .prepare_cached(
                    "UPDATE leases SET expires_at = ?3
                     WHERE id = ?1 AND owner = ?2 AND expires_at > ?4",
                )?
                .execute(params![
                    id,
                    owner,
                    sql_ms(clock.now.saturating_add(ttl)),
                    sql_ms(clock.now)
                ])?;
            Ok(renewed == 1)
        })
        .await
    }

    /// See [`crate::Store::release_lease`].
    pub(crate) async fn release_lease(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        let owner = owner.to_owned();
        self.run("release a lease", move |conn, clock| {
            let tx = conn.transaction()?;
            let held = tx
                .prepare_cached(
                    "SELECT 1 FROM leases WHERE id = ?1 AND owner = ?2 AND expires_at > ?3",
                )?
                .query_row(params![id, owner, sql_ms(clock.now)], |_| Ok(()))
                .optional()?
                .is_some();
            tx.prepare_cached("DELETE FROM leases WHERE id = ?1 AND owner = ?2")?
                .execute(params![id, owner])?;
            tx.commit()?;
            Ok(held)
        })
        .await
    }

    /// See [`crate::Store::cache_get`].
    pub(crate) async fn cache_get(&self, key: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        let key = *key;
        self.run("read the cache", move |conn, clock| {
            Ok(conn
                .prepare_cached("SELECT body FROM cache WHERE key = ?1 AND expires_at > ?2")?
                .query_row(params![key, sql_ms(clock.now)], |row| row.get(0))
                .optional()?)
        })
        .await
    }

    /// See [`crate::Store::cache_put`].
    pub(crate) async fn cache_put(
        &self,
        key: &[u8; 32],
        body: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let key = *key;
        let body = body.to_vec();
        let ttl = duration_ms(ttl);
        self.run("write the cache", move |conn, clock| {
            conn.prepare_cached(
                "INSERT INTO cache (key, body, stored_at, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key) DO UPDATE SET body = excluded.body,
                     stored_at = excluded.stored_at, expires_at = excluded.expires_at",
            )?
            .execute(params![
                key,
                body,
                sql_ms(clock.now),
                sql_ms(clock.now.saturating_add(ttl))
            ])?;
            Ok(())
        })
        .await
    }

    /// See [`crate::Store::add_counter`].
    pub(crate) async fn add_counter(&self, name: &str, delta: u64) -> Result<(), StoreError> {
        let name = name.to_owned();
        let delta = sql_ms(delta);
        self.run("add to a counter", move |conn, _| {
            conn.prepare_cached(
                "INSERT INTO counters (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            )?
            .execute(params![name, delta])?;
            Ok(())
        })
        .await
    }

    /// See [`crate::Store::counters`].
    pub(crate) async fn counters(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        self.run("read counters", move |conn, _| {
            let mut statement = conn.prepare_cached("SELECT name, value FROM counters")?;
            let rows = statement.query_map([], |row| {
                Ok((row.get::<_, String>(0)?, stored(row.get(1)?)))
            })?;
            Ok(rows.collect::<rusqlite::Result<BTreeMap<String, u64>>>()?)
        })
        .await
    }
}

/// The time of an operation and the TTL it applies.
#[derive(Clone, Copy)]
struct Now {
    now: u64,
    ttl: u64,
}

impl Now {
    /// Sessions last used at or before this are expired.
    fn threshold(self) -> i64 {
        sql_ms(self.now).saturating_sub(sql_ms(self.ttl))
    }
}

/// What an operation on the connection failed with.
enum Failure {
    /// An outcome of the operation itself (not found, conflict, full).
    Store(StoreError),
    /// SQLite failed.
    Sql(rusqlite::Error),
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        Failure::Store(error)
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Failure {
        Failure::Sql(error)
    }
}
