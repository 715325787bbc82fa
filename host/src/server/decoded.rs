//! [`DecodedSessions`]: sessions already decoded, reused while their stored bytes are the
//! same.
//!
//! Every tool call loads its session from the store, and turning the stored JSON (the
//! session's body and each of its cells) back into a [`Session`] cost more than the rest of
//! a typical call. The store hands back the bytes either way, so the bytes themselves are
//! the key: a session whose body and cells compare equal to those decoded last time is that
//! same session, whichever process or instance wrote it. Nothing ever needs invalidating,
//! and a stale entry can only cost a decode, never a wrong answer. Comparing the bytes is
//! a `memcmp` of a few kilobytes; decoding them parses every string and number again.
//!
//! A change ([`SessionManager::modify`](super::SessionManager::modify)) records the bytes it
//! wrote, so the read that usually follows it decodes nothing either.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use decision_matrix_store::Loaded;
use lru::LruCache;

use crate::domain::Session;

/// How many sessions stay decoded: enough for every session a handful of clients work on at
/// once; a session's entry is about twice its stored size.
pub const CAPACITY: usize = 32;

/// A session as it was stored: its body and its cells, by key, in key order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stored {
    /// The session without its cells.
    pub body: Vec<u8>,
    /// Each cell's record, in key order.
    pub cells: Vec<(String, Vec<u8>)>,
}

impl From<Loaded> for Stored {
    fn from(loaded: Loaded) -> Stored {
        Stored {
            body: loaded.body,
            cells: loaded.cells,
        }
    }
}

impl Stored {
    /// The stored form after a change that wrote `changed` cells and removed the cells
    /// keyed `removed` (and whatever body `self` holds): what loading the session would now
    /// return, unless someone else wrote meanwhile (and then the bytes differ, and the entry
    /// is simply not used).
    pub fn after_change(mut self, changed: &[(String, Vec<u8>)], removed: &[String]) -> Stored {
        let mut cells: BTreeMap<String, Vec<u8>> =
            std::mem::take(&mut self.cells).into_iter().collect();
        for key in removed {
            cells.remove(key);
        }
        for (key, cell) in changed {
            cells.insert(key.clone(), cell.clone());
        }
        Stored {
            body: self.body,
            cells: cells.into_iter().collect(),
        }
    }
}

struct Entry {
    stored: Stored,
    session: Session,
}

/// Decoded sessions by id, least recently used dropped first.
pub struct DecodedSessions {
    entries: Mutex<LruCache<String, Entry>>,
}

impl DecodedSessions {
    /// A cache of at most `capacity` sessions (at least one).
    pub fn new(capacity: usize) -> DecodedSessions {
        DecodedSessions {
            entries: Mutex::new(LruCache::new(
                NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    /// The session `id` decoded from exactly `stored`, if it was decoded before.
    pub fn get(&self, id: &str, stored: &Stored) -> Option<Session> {
        let mut entries = self.entries.lock();
        let entry = entries.get(id)?;
        (entry.stored == *stored).then(|| entry.session.clone())
    }

    /// Remembers that `stored` decodes to `session`.
    pub fn put(&self, id: &str, stored: Stored, session: &Session) {
        let entry = Entry {
            stored,
            session: session.clone(),
        };
        self.entries.lock().put(id.to_owned(), entry);
    }

    /// Forgets every session.
    pub fn clear(&self) {
        self.entries.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Limits;
    use crate::plugins::builtin::session_defaults;

    fn session(topic: &str) -> Session {
        Session::new(
            "s1".to_owned(),
            topic.to_owned(),
            vec![("A".to_owned(), None), ("B".to_owned(), None)],
            Vec::new(),
            session_defaults(),
            &Limits::default(),
            time::OffsetDateTime::now_utc(),
        )
        .expect("a valid session")
    }

    fn stored(body: &str, cells: &[(&str, &str)]) -> Stored {
        Stored {
            body: body.as_bytes().to_vec(),
            cells: cells
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
                .collect(),
        }
    }

    #[test]
    fn a_session_is_reused_only_for_the_same_bytes() {
        let cache = DecodedSessions::new(4);
        let first = stored("{body}", &[("0:0", "{cell}")]);
        cache.put("s1", first.clone(), &session("first"));
        let hit = cache.get("s1", &first).expect("same bytes");
        assert_eq!(hit.topic, "first");
        assert!(
            cache
                .get("s1", &stored("{other}", &[("0:0", "{cell}")]))
                .is_none()
        );
        assert!(
            cache
                .get("s1", &stored("{body}", &[("0:0", "{new}")]))
                .is_none()
        );
        assert!(cache.get("s1", &stored("{body}", &[])).is_none());
        assert!(
            cache.get("s2", &first).is_none(),
            "another id never matches"
        );
        cache.clear();
        assert!(cache.get("s1", &first).is_none());
    }

    #[test]
    fn the_bytes_after_a_change_are_what_a_load_returns() {
        let before = stored("{v1}", &[("0:0", "a"), ("0:1", "b"), ("1:0", "c")]);
        let after = Stored {
            body: b"{v2}".to_vec(),
            ..before
        }
        .after_change(
            &[
                ("0:1".to_owned(), b"B".to_vec()),
                ("m:0:0".to_owned(), b"M".to_vec()),
            ],
            &["1:0".to_owned(), "m:1:0".to_owned()],
        );
        assert_eq!(
            after,
            stored("{v2}", &[("0:0", "a"), ("0:1", "B"), ("m:0:0", "M")])
        );
    }

    #[test]
    fn the_least_recently_used_session_goes_first() {
        let cache = DecodedSessions::new(2);
        let bytes = stored("{}", &[]);
        for id in ["a", "b"] {
            cache.put(id, bytes.clone(), &session(id));
        }
        assert!(cache.get("a", &bytes).is_some());
        cache.put("c", bytes.clone(), &session("c"));
        assert!(cache.get("b", &bytes).is_none());
        assert!(cache.get("a", &bytes).is_some());
        assert!(cache.get("c", &bytes).is_some());
    }
}
