//! The store's options from the configured [`SessionSettings`]: the limits as configured,
//! the clock the store reads, and `sessions.db` in the platform data directory for the URL
//! `sqlite`.

use std::path::PathBuf;

use decision_matrix_store::{Clock, StoreOptions};

use super::SessionSettings;

/// The options the store opens with.
pub(super) fn store_options(settings: &SessionSettings, clock: Clock) -> StoreOptions {
    StoreOptions {
        max_sessions: settings.max_sessions,
        when_full: settings.when_full,
        ttl: settings.ttl,
        namespace: settings.namespace.clone(),
        sqlite_default_path: default_sqlite_path(),
        durability: settings.durability,
        clock,
        ..StoreOptions::default()
    }
}

/// `sessions.db` in the platform data directory (as plugins use its cache directory).
fn default_sqlite_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "decision-matrix")
        .map(|dirs| dirs.data_dir().join("sessions.db"))
}
