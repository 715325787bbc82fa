//! What the store hands back: sessions, their cells and the outcome of a creation.
//!
//! Bodies are opaque bytes: the host serialises its own session and cell types, so this crate
//! never depends on them (nor on what they pull in).

/// The outcome of [`crate::Store::create`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Created {
    /// Live sessions removed to make room, least recently used first.
    pub evicted: Vec<String>,
    /// Expired sessions removed on the way (each reported once, by whichever call removed it).
    pub expired: Vec<String>,
}

/// A session as read by [`crate::Store::load`] or [`crate::Store::peek`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// 1 at creation, one more per successful update.
    pub version: u64,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_at: u64,
    /// When it was last used (created, loaded, updated or given a cell), in milliseconds
    /// since the Unix epoch; after a load this is the load's own time.
    pub last_used: u64,
    /// The session itself.
    pub body: Vec<u8>,
    /// Its cells, by key, in key order.
    pub cells: Vec<(String, Vec<u8>)>,
}

/// A live session as listed by [`crate::Store::list`] (without its cells).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Its id.
    pub id: String,
    /// 1 at creation, one more per successful update.
    pub version: u64,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_at: u64,
    /// When it was last used, in milliseconds since the Unix epoch.
    pub last_used: u64,
    /// The session itself.
    pub body: Vec<u8>,
}
