//! The session store's limits and timings, as the host configures them.

use std::path::PathBuf;
use std::time::Duration;

use decision_matrix_store::{Clock, StoreOptions};

use crate::server::scope::ScopeRule;

/// Eviction or refusal at the limit, and SQLite's durability: the store's own settings,
/// named as the configuration file names them.
pub use decision_matrix_store::{Durability as StoreDurability, WhenFull};

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
    /// Whose sessions a call sees: each MCP client its own, or one scope shared on purpose.
    pub scope: ScopeRule,
    /// Where the memory and SQLite stores read the time; tests move a manual one.
    pub clock: Clock,
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
            scope: ScopeRule::PerClient,
            clock: Clock::System,
        }
    }
}

impl SessionSettings {
    /// The store's options: these limits, and `sessions.db` in the platform data directory
    /// for the URL `sqlite`.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            max_sessions: self.max_sessions,
            when_full: self.when_full,
            ttl: self.ttl,
            namespace: self.namespace.clone(),
            sqlite_default_path: default_sqlite_path(),
            durability: self.durability,
            clock: self.clock.clone(),
            ..StoreOptions::default()
        }
    }
}

/// `sessions.db` in the platform data directory (as plugins use its cache directory).
fn default_sqlite_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "decision-matrix")
        .map(|dirs| dirs.data_dir().join("sessions.db"))
}
