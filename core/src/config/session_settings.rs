//! The session store's limits and timings, as the host configures them (the host turns them
//! into the store's options, with the clock the store reads).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ScopeRule;

/// What to do when a new session would exceed `sessions.max_sessions`. Written
/// `evict-least-recent` or `refuse` in configuration files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhenFull {
    /// Remove the least recently used live session(s) to make room.
    #[default]
    EvictLeastRecent,
    /// Refuse the new session with the store's `Full` error.
    Refuse,
}

/// How hard SQLite works to keep a committed change. Written `normal` or `full` in
/// configuration files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreDurability {
    /// `synchronous=NORMAL` in WAL mode: a committed change survives the process crashing or
    /// being killed; a power loss may lose the last few commits (never corrupts the file).
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit also survives a power loss, at the cost of an fsync
    /// per commit.
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
    /// Whose sessions a call sees: each MCP client its own, or one scope shared on purpose.
    pub scope: ScopeRule,
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
        }
    }
}
