//! The SQLite schema, as an ordered list of migrations numbered by `PRAGMA user_version`.
//!
//! A file records the number of migrations applied to it. Opening applies the missing ones
//! in one transaction, so a file is never left half-migrated; a file with a number above
//! [`SUPPORTED`] was written by a newer build and is refused rather than misread. Migrations
//! are only ever appended: an applied one must never change.

use rusqlite::{Connection, TransactionBehavior};

/// Marks files made by this crate (`PRAGMA application_id`, "DMMS").
pub(super) const APPLICATION_ID: i32 = 0x444D_4D53;

/// Migration `n` (1-based) brings a file from schema version `n - 1` to `n`.
const MIGRATIONS: &[&str] = &[
    // 1: sessions, their cells, evaluation leases, the evaluation cache and counters.
    // `touched` orders sessions by use (several uses can share one millisecond).
    "PRAGMA application_id = 1145916755;
     CREATE TABLE sessions (
         id TEXT PRIMARY KEY NOT NULL,
         version INTEGER NOT NULL,
         created_at INTEGER NOT NULL,
         last_used INTEGER NOT NULL,
         touched INTEGER NOT NULL,
         body BLOB NOT NULL
     ) STRICT;
     CREATE INDEX sessions_by_last_used ON sessions (last_used);
     CREATE INDEX sessions_by_touched ON sessions (touched);
     CREATE TABLE cells (
         session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
         key TEXT NOT NULL,
         body BLOB NOT NULL,
         PRIMARY KEY (session_id, key)
     ) STRICT;
     CREATE TABLE leases (
         id TEXT PRIMARY KEY NOT NULL,
         owner TEXT NOT NULL,
         expires_at INTEGER NOT NULL
     ) STRICT;
     CREATE TABLE cache (
         key BLOB PRIMARY KEY NOT NULL,
         body BLOB NOT NULL,
         stored_at INTEGER NOT NULL,
         expires_at INTEGER NOT NULL
     ) STRICT;
     CREATE INDEX cache_by_expiry ON cache (expires_at);
     CREATE INDEX cache_by_age ON cache (stored_at);
     CREATE TABLE counters (
         name TEXT PRIMARY KEY NOT NULL,
         value INTEGER NOT NULL
     ) STRICT;",
];

/// The newest schema version this build knows.
pub(super) const SUPPORTED: u32 = MIGRATIONS.len() as u32;

/// What a migration run found.
pub(super) enum Outcome {
    /// The file is at [`SUPPORTED`] now.
    Current,
    /// The file is newer than this build; nothing was changed.
    Newer(u32),
}

/// Applies the migrations `conn`'s file lacks, in one immediate transaction (so two
/// processes opening a new file at once do not both migrate it).
pub(super) fn migrate(conn: &mut Connection) -> rusqlite::Result<Outcome> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: u32 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > SUPPORTED {
        return Ok(Outcome::Newer(found));
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
    }
    tx.commit()?;
    Ok(Outcome::Current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_migration_sets_the_application_id() {
        assert_eq!(APPLICATION_ID, 1_145_916_755);
        let mut conn = Connection::open_in_memory().expect("in-memory database");
        assert!(matches!(migrate(&mut conn), Ok(Outcome::Current)));
        let id: i32 = conn
            .pragma_query_value(None, "application_id", |row| row.get(0))
            .expect("application_id");
        assert_eq!(id, APPLICATION_ID);
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .expect("user_version");
        assert_eq!(version, SUPPORTED);
        // Applying again changes nothing.
        assert!(matches!(migrate(&mut conn), Ok(Outcome::Current)));
    }
}
