//! [`MemoryStore`]: sessions kept in this process only.
//!
//! For throwaway use (tests, a one-off run) where losing everything at exit is fine. It keeps
//! the exact semantics of the durable backends (limits, sliding expiry, versions, leases) so
//! the host behaves the same whichever backend it runs on. One mutex guards everything; every
//! operation is a short in-memory change, so nothing waits on it for long.

use parking_lot::{Mutex, MutexGuard};
use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroUsize;
use std::time::Duration;

use lru::LruCache;

use crate::options::duration_ms;
use crate::{Created, Loaded, StoreError, StoreOptions, Summary, WhenFull};

/// Sessions, cells, leases, cache and counters in a mutex.
pub struct MemoryStore {
    options: StoreOptions,
    state: Mutex<State>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

struct Entry {
    version: u64,
    created_at: u64,
    last_used: u64,
    /// Order of use, for least-recently-used eviction (ties in `last_used` are common).
    touched: u64,
    body: Vec<u8>,
    cells: BTreeMap<String, Vec<u8>>,
}

struct Lease {
    owner: String,
    expires_at: u64,
}

struct Cached {
    body: Vec<u8>,
    expires_at: u64,
}

struct State {
    sessions: HashMap<String, Entry>,
    /// Last value handed out for [`Entry::touched`].
    touches: u64,
    leases: HashMap<String, Lease>,
    cache: Option<LruCache<[u8; 32], Cached>>,
    counters: BTreeMap<String, u64>,
}

impl State {
    fn touch(&mut self) -> u64 {
        self.touches += 1;
        self.touches
    }

    /// The live session `id`, if any.
    fn live(&mut self, id: &str, now: u64, ttl: u64) -> Option<&mut Entry> {
        self.sessions
            .get_mut(id)
            .filter(|entry| is_live(entry, now, ttl))
    }

    /// Ids of live sessions that may be evicted (none is under evaluation, that is, holds an
    /// unexpired lease), least recently used first.
    fn evictable(&self, now: u64, ttl: u64) -> Vec<String> {
        let leased = |id: &str| self.leases.get(id).is_some_and(|l| l.expires_at > now);
        let mut live: Vec<(&String, &Entry)> = self
            .sessions
            .iter()
            .filter(|(id, entry)| is_live(entry, now, ttl) && !leased(id))
            .collect();
        live.sort_by_key(|(_, entry)| entry.touched);
        live.into_iter().map(|(id, _)| id.clone()).collect()
    }

    fn remove_expired(&mut self, now: u64, ttl: u64) -> Vec<String> {
        let mut expired: Vec<(u64, String)> = self
            .sessions
            .iter()
            .filter(|(_, entry)| !is_live(entry, now, ttl))
            .map(|(id, entry)| (entry.touched, id.clone()))
            .collect();
        expired.sort();
        for (_, id) in &expired {
            self.sessions.remove(id);
        }
        expired.into_iter().map(|(_, id)| id).collect()
    }
}

fn is_live(entry: &Entry, now: u64, ttl: u64) -> bool {
    now.saturating_sub(entry.last_used) < ttl
}

impl MemoryStore {
    /// An empty store.
    pub(crate) fn new(options: StoreOptions) -> MemoryStore {
        // Not `LruCache::new`, which allocates room for every entry up front: with the
        // default capacity that is 280 KB, whether or not anything is ever cached.
        let cache = NonZeroUsize::new(options.cache_capacity).map(|capacity| {
            let mut cache = LruCache::unbounded();
            cache.resize(capacity);
            cache
        });
        MemoryStore {
            options,
            state: Mutex::new(State {
                sessions: HashMap::new(),
                touches: 0,
                leases: HashMap::new(),
                cache,
                counters: BTreeMap::new(),
            }),
        }
    }

    /// The options in force.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    fn ttl(&self) -> u64 {
        self.options.ttl_ms()
    }

    /// See [`crate::Store::create`].
    pub(crate) fn create(&self, id: &str, body: &[u8]) -> Result<Created, StoreError> {
        let now = self.options.clock.now_ms();
        let ttl = self.ttl();
        let mut state = self.state();
        if state.live(id, now, ttl).is_some() {
            return Err(StoreError::Exists { id: id.to_owned() });
        }
        let max = self.options.max_sessions;
        let live = state
            .sessions
            .values()
            .filter(|entry| is_live(entry, now, ttl))
            .count();
        if live >= max && (self.options.when_full == WhenFull::Refuse || max == 0) {
            // Nothing changes, so expired sessions stay for the sweep to report.
            return Err(StoreError::Full { max });
        }
        let mut evicted = Vec::new();
        if live >= max {
            let excess = live + 1 - max;
            evicted = state.evictable(now, ttl);
            if evicted.len() < excess {
                // Every session that could make room is being evaluated.
                return Err(StoreError::Full { max });
            }
            evicted.truncate(excess);
        }
        let expired = state.remove_expired(now, ttl);
        for victim in &evicted {
            state.sessions.remove(victim);
            state.leases.remove(victim);
        }
        let touched = state.touch();
        state.sessions.insert(
            id.to_owned(),
            Entry {
                version: 1,
                created_at: now,
                last_used: now,
                touched,
                body: body.to_vec(),
                cells: BTreeMap::new(),
            },
        );
        Ok(Created { evicted, expired })
    }

    /// See [`crate::Store::load`] (`renew`) and [`crate::Store::peek`].
    pub(crate) fn load(&self, id: &str, renew: bool) -> Option<Loaded> {
        let now = self.options.clock.now_ms();
        let ttl = self.ttl();
        let mut state = self.state();
        let touched = if renew { Some(state.touch()) } else { None };
        let entry = state.live(id, now, ttl)?;
        if let Some(touched) = touched {
            entry.last_used = now;
            entry.touched = touched;
        }
        Some(Loaded {
            version: entry.version,
            created_at: entry.created_at,
            last_used: entry.last_used,
            body: entry.body.clone(),
            cells: entry
                .cells
                .iter()
                .map(|(key, body)| (key.clone(), body.clone()))
                .collect(),
        })
    }

    /// See [`crate::Store::update`].
    pub(crate) fn update(
        &self,
        id: &str,
        expected_version: u64,
        body: &[u8],
    ) -> Result<u64, StoreError> {
        let now = self.options.clock.now_ms();
        let ttl = self.ttl();
        let mut state = self.state();
        let touched = state.touch();
        let Some(entry) = state.live(id, now, ttl) else {
            return Err(StoreError::NotFound { id: id.to_owned() });
        };
        if entry.version != expected_version {
            return Err(StoreError::Conflict {
                id: id.to_owned(),
                current: entry.version,
            });
        }
        entry.version += 1;
        entry.body = body.to_vec();
        entry.last_used = now;
        entry.touched = touched;
        Ok(entry.version)
    }

    /// See [`crate::Store::put_cells`].
    pub(crate) fn put_cells(
        &self,
        id: &str,
        cells: &[(String, Vec<u8>)],
    ) -> Result<(), StoreError> {
        let now = self.options.clock.now_ms();
        let ttl = self.ttl();
        let mut state = self.state();
        let touched = state.touch();
        let Some(entry) = state.live(id, now, ttl) else {
            return Err(StoreError::NotFound { id: id.to_owned() });
        };
        for (key, body) in cells {
            entry.cells.insert(key.clone(), body.clone());
        }
        entry.last_used = now;
        entry.touched = touched;
        Ok(())
    }

    /// See [`crate::Store::remove_cells`].
    pub(crate) fn remove_cells(&self, id: &str, keys: &[String]) -> usize {
        let now = self.options.clock.now_ms();
        let ttl = self.ttl();
        let mut state = self.state();
        let Some(entry) = state.live(id, now, ttl) else {
            return 0;
        };
        keys.iter()
            .filter(|key| entry.cells.remove(key.as_str()).is_some())
            .count()
    }

    /// See [`crate::Store::delete`].
    pub(crate) fn delete(&self, id: &str) -> bool {
        let now = self.options.clock.now_ms();
        let ttl = self.ttl();
        let mut state = self.state();
        state.leases.remove(id);
        state
            .sessions
            .remove(id)
            .is_some_and(|entry| is_live(&entry, now, ttl))
    }

    /// See [`crate::Store::list`].
    pub(crate) fn list(&self) -> Vec<Summary> {
        let now = self.options.clock.now_ms();
        let ttl = self.ttl();
        let state = self.state();
        let mut live: Vec<(&String, &Entry)> = state
            .sessions
            .iter()
            .filter(|(_, entry)| is_live(entry, now, ttl))
            .collect();
        live.sort_by_key(|(_, entry)| std::cmp::Reverse(entry.touched));
        live.into_iter()
            .map(|(id, entry)| Summary {
                id: id.clone(),
                version: entry.version,
                created_at: entry.created_at,
                last_used: entry.last_used,
                body: entry.body.clone(),
            })
            .collect()
    }

    /// See [`crate::Store::count`].
    pub(crate) fn count(&self) -> usize {
        let now = self.options.clock.now_ms();
        let ttl = self.ttl();
        self.state()
            .sessions
            .values()
            .filter(|entry| is_live(entry, now, ttl))
            .count()
    }

    /// See [`crate::Store::clear`].
    pub(crate) fn clear(&self) -> usize {
        let now = self.options.clock.now_ms();
        let ttl = self.ttl();
        let mut state = self.state();
        let live = state
            .sessions
            .values()
            .filter(|entry| is_live(entry, now, ttl))
            .count();
        state.sessions.clear();
        state.leases.clear();
        live
    }

    /// See [`crate::Store::sweep_expired`].
    pub(crate) fn sweep_expired(&self) -> Vec<String> {
        let now = self.options.clock.now_ms();
        let ttl = self.ttl();
        let mut state = self.state();
        state.leases.retain(|_, lease| lease.expires_at > now);
        if let Some(cache) = state.cache.as_mut() {
            let stale: Vec<[u8; 32]> = cache
                .iter()
                .filter(|(_, cached)| cached.expires_at <= now)
                .map(|(key, _)| *key)
                .collect();
            for key in stale {
                cache.pop(&key);
            }
        }
        state.remove_expired(now, ttl)
    }

    /// See [`crate::Store::evict_least_recent`].
    pub(crate) fn evict_least_recent(&self, count: usize) -> Vec<String> {
        let now = self.options.clock.now_ms();
        let ttl = self.ttl();
        let mut state = self.state();
        let mut victims = state.evictable(now, ttl);
        victims.truncate(count);
        for victim in &victims {
            state.sessions.remove(victim);
            state.leases.remove(victim);
        }
        victims
    }

    /// See [`crate::Store::try_lease`].
    pub(crate) fn try_lease(&self, id: &str, owner: &str, ttl: Duration) -> bool {
        let now = self.options.clock.now_ms();
        let mut state = self.state();
        if state
            .leases
            .get(id)
            .is_some_and(|lease| lease.expires_at > now)
        {
            return false;
        }
        state.leases.insert(
            id.to_owned(),
            Lease {
                owner: owner.to_owned(),
                expires_at: now.saturating_add(duration_ms(ttl)),
            },
        );
        true
    }

    /// See [`crate::Store::renew_lease`].
    pub(crate) fn renew_lease(&self, id: &str, owner: &str, ttl: Duration) -> bool {
        let now = self.options.clock.now_ms();
        let mut state = self.state();
        match state.leases.get_mut(id) {
            Some(lease) if lease.owner == owner && lease.expires_at > now => {
                lease.expires_at = now.saturating_add(duration_ms(ttl));
                true
            }
            _ => false,
        }
    }

    /// See [`crate::Store::release_lease`].
    pub(crate) fn release_lease(&self, id: &str, owner: &str) -> bool {
        let now = self.options.clock.now_ms();
        let mut state = self.state();
        match state.leases.get(id) {
            Some(lease) if lease.owner == owner => {
                let held = lease.expires_at > now;
                state.leases.remove(id);
                held
            }
            _ => false,
        }
    }

    /// See [`crate::Store::cache_get`].
    pub(crate) fn cache_get(&self, key: &[u8; 32]) -> Option<Vec<u8>> {
        let now = self.options.clock.now_ms();
        let mut state = self.state();
        let cache = state.cache.as_mut()?;
        match cache.get(key) {
            Some(cached) if cached.expires_at > now => Some(cached.body.clone()),
            Some(_) => {
                cache.pop(key);
                None
            }
            None => None,
        }
    }

    /// See [`crate::Store::cache_put`].
    pub(crate) fn cache_put(&self, key: &[u8; 32], body: &[u8], ttl: Duration) {
        let expires_at = self.options.clock.now_ms().saturating_add(duration_ms(ttl));
        if let Some(cache) = self.state().cache.as_mut() {
            cache.put(
                *key,
                Cached {
                    body: body.to_vec(),
                    expires_at,
                },
            );
        }
    }

    /// See [`crate::Store::add_counter`].
    pub(crate) fn add_counter(&self, name: &str, delta: u64) {
        let mut state = self.state();
        let value = state.counters.entry(name.to_owned()).or_insert(0);
        *value = value.saturating_add(delta);
    }

    /// See [`crate::Store::counters`].
    pub(crate) fn counters(&self) -> BTreeMap<String, u64> {
        self.state().counters.clone()
    }
}
