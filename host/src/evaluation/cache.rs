//! [`CompletionCache`]: answers to identical requests, so asking again does not bill again.
//!
//! Two requests are identical when backend, model, temperature, token limit and the whole
//! prompt (system, user, schema) are. Only answers that parsed completely are stored: a
//! malformed answer must be asked again, not replayed. What is stored is the answer as the
//! evaluation keeps it (its verdicts, `answer::kept`), not the model's raw text, and the
//! cache is bounded both by entry count and by bytes, least recently used first: a model (or
//! a hostile backend) answering megabytes cannot grow the server by them.
//!
//! When sessions are shared through Redis, so are answers ([`SharedCache`]): an instance asked
//! what another already paid for replays that answer. The shared layer sits behind the local
//! one and never fails an evaluation: an unreachable or unreadable entry is a miss.

use parking_lot::Mutex;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use decision_matrix_store::Store;

use sha2::{Digest, Sha256};

use super::backend::{Completion, CompletionRequest};

/// Identity of a request: a SHA-256 over everything that shapes the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// The key of `request` sent to `backend` in `round` of its criterion. Rounds after the
    /// first have keys of their own: a replicate is a new judgment, never the replay of an
    /// earlier one that happened to list its options in the same order.
    pub fn new(backend: &str, request: &CompletionRequest, round: u32) -> CacheKey {
        let mut hash = Sha256::new();
        // Length-prefixed fields, so ("ab", "c") and ("a", "bc") differ.
        let mut field = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(bytes);
        };
        field(backend.as_bytes());
        field(request.model.as_deref().unwrap_or("").as_bytes());
        field(&[u8::from(request.model.is_some())]);
        field(&request.temperature.to_bits().to_le_bytes());
        field(&request.max_tokens.to_le_bytes());
        field(request.prompt.system.as_bytes());
        field(request.prompt.user.as_bytes());
        field(request.prompt.schema.as_bytes());
        // Absent in the first round, so keys kept before rounds existed still match.
        if round > 0 {
            field(&round.to_le_bytes());
        }
        CacheKey(hash.finalize().into())
    }
}

/// Answers shared with other instances through the session store.
#[derive(Debug, Clone)]
pub struct SharedCache {
    /// The store (Redis, in practice: the only one other instances see).
    pub store: Arc<Store>,
    /// How long a shared answer is kept.
    pub ttl: Duration,
}

/// A bounded in-memory cache of completions, optionally backed by a [`SharedCache`].
pub struct CompletionCache {
    entries: Option<Mutex<Entries>>,
    max_bytes: usize,
    shared: Option<SharedCache>,
}

/// The answers, and the bytes they take.
struct Entries {
    answers: lru::LruCache<CacheKey, Completion>,
    bytes: usize,
}

/// What an answer costs the cache: its text and model name, with the key and bookkeeping.
fn cost(completion: &Completion) -> usize {
    completion.text.len() + completion.model.len() + 128
}

impl CompletionCache {
    /// A cache of at most `capacity` answers taking at most `max_bytes`; a capacity of 0
    /// disables caching.
    #[cfg(test)]
    pub fn new(capacity: usize, max_bytes: usize) -> CompletionCache {
        CompletionCache::with_shared(capacity, max_bytes, None)
    }

    /// Like [`CompletionCache::new`], also reading and writing `shared` (unless caching is
    /// disabled).
    pub fn with_shared(
        capacity: usize,
        max_bytes: usize,
        shared: Option<SharedCache>,
    ) -> CompletionCache {
        CompletionCache {
            // Grown as answers arrive: `LruCache::new` would allocate room for every entry
            // at once (280 KB at the default capacity).
            entries: NonZeroUsize::new(capacity).map(|capacity| {
                let mut answers = lru::LruCache::unbounded();
                answers.resize(capacity);
                Mutex::new(Entries { answers, bytes: 0 })
            }),
            max_bytes,
            shared,
        }
    }

    /// The answer to `key` from this process's cache, else from the shared one (kept here
    /// too from then on).
    pub async fn lookup(&self, key: &CacheKey) -> Option<Completion> {
        if let Some(hit) = self.get(key) {
            return Some(hit);
        }
        let shared = self.shared.as_ref().filter(|_| self.enabled())?;
        let bytes = match shared.store.cache_get(&key.0).await {
            Ok(bytes) => bytes?,
            Err(error) => {
                tracing::warn!("shared answer cache not read: {error}");
                return None;
            }
        };
        let completion: Completion = serde_json::from_slice(&bytes).ok()?;
        self.put(*key, completion.clone());
        Some(completion)
    }

    /// Stores an answer that parsed completely, here and in the shared cache.
    pub async fn keep(&self, key: CacheKey, completion: Completion) {
        if let Some(shared) = self.shared.as_ref().filter(|_| self.enabled())
            && let Ok(bytes) = serde_json::to_vec(&completion)
            && let Err(error) = shared.store.cache_put(&key.0, &bytes, shared.ttl).await
        {
            tracing::warn!("shared answer cache not written: {error}");
        }
        self.put(key, completion);
    }

    /// Whether answers are kept at all; when not, requests need no key.
    pub fn enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// The stored answer to `key`, if any.
    pub fn get(&self, key: &CacheKey) -> Option<Completion> {
        let entries = self.entries.as_ref()?;
        entries.lock().answers.get(key).cloned()
    }

    /// Stores an answer that parsed completely, making room by the least recently used;
    /// an answer larger than the whole budget is not stored.
    pub fn put(&self, key: CacheKey, completion: Completion) {
        let Some(entries) = &self.entries else {
            return;
        };
        let size = cost(&completion);
        if size > self.max_bytes {
            return;
        }
        let mut entries = entries.lock();
        entries.bytes += size;
        // `push` hands back the answer it replaced or, at the entry cap, the one it evicted.
        if let Some((_, gone)) = entries.answers.push(key, completion) {
            entries.bytes -= cost(&gone);
        }
        while entries.bytes > self.max_bytes {
            let Some((_, gone)) = entries.answers.pop_lru() else {
                break;
            };
            entries.bytes -= cost(&gone);
        }
    }

    /// Number of stored answers.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries
            .as_ref()
            .map_or(0, |entries| entries.lock().answers.len())
    }

    /// Bytes the stored answers take, as the budget counts them.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.entries
            .as_ref()
            .map_or(0, |entries| entries.lock().bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::super::prompt::Prompt;
    use super::*;

    fn request(user: &str, temperature: f64) -> CompletionRequest {
        CompletionRequest {
            model: None,
            prompt: Prompt {
                system: "s".to_owned(),
                user: user.to_owned(),
                schema: "{}",
            },
            temperature,
            max_tokens: 100,
        }
    }

    fn completion(text: &str) -> Completion {
        Completion {
            text: text.to_owned(),
            model: "m".to_owned(),
            tokens: None,
        }
    }

    #[test]
    fn keys_separate_everything_that_shapes_the_answer() {
        let base = CacheKey::new("ollama", &request("u", 0.1), 0);
        assert_eq!(base, CacheKey::new("ollama", &request("u", 0.1), 0));
        assert_ne!(base, CacheKey::new("litellm", &request("u", 0.1), 0));
        assert_ne!(base, CacheKey::new("ollama", &request("u", 0.0), 0));
        assert_ne!(base, CacheKey::new("ollama", &request("v", 0.1), 0));
        let mut named = request("u", 0.1);
        named.model = Some(String::new());
        assert_ne!(base, CacheKey::new("ollama", &named, 0));
        assert_ne!(base, CacheKey::new("ollama", &request("u", 0.1), 1));
        assert_ne!(
            CacheKey::new("ollama", &request("u", 0.1), 1),
            CacheKey::new("ollama", &request("u", 0.1), 2)
        );
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let cache = CompletionCache::new(2, 1 << 20);
        let keys: Vec<CacheKey> = ["a", "b", "c"]
            .iter()
            .map(|u| CacheKey::new("x", &request(u, 0.0), 0))
            .collect();
        cache.put(keys[0], completion("A"));
        cache.put(keys[1], completion("B"));
        assert!(cache.get(&keys[0]).is_some());
        cache.put(keys[2], completion("C"));
        assert!(cache.get(&keys[1]).is_none());
        assert_eq!(cache.get(&keys[0]).map(|c| c.text), Some("A".to_owned()));
        assert_eq!(cache.len(), 2);
        assert!(CompletionCache::new(0, 1 << 20).get(&keys[0]).is_none());
    }

    /// Bounded by bytes as well as entries: large answers push out the least recently used,
    /// one larger than the budget is not kept, and the count of bytes stays exact.
    #[test]
    fn the_byte_budget_evicts_the_least_recently_used() {
        let big = |c: char| completion(&c.to_string().repeat(400));
        let each = cost(&big('a'));
        let cache = CompletionCache::new(100, each * 2);
        let keys: Vec<CacheKey> = ["a", "b", "c", "d"]
            .iter()
            .map(|u| CacheKey::new("x", &request(u, 0.0), 0))
            .collect();
        cache.put(keys[0], big('a'));
        cache.put(keys[1], big('b'));
        assert!(cache.get(&keys[0]).is_some());
        cache.put(keys[2], big('c'));
        assert!(
            cache.get(&keys[1]).is_none(),
            "b was the least recently used"
        );
        assert_eq!((cache.len(), cache.bytes()), (2, each * 2));
        cache.put(keys[0], completion("small"));
        assert_eq!(
            cache.bytes(),
            each + cost(&completion("small")),
            "a replaced"
        );
        cache.put(keys[3], completion(&"x".repeat(each * 2)));
        assert!(cache.get(&keys[3]).is_none(), "larger than the budget");
        assert_eq!(cache.len(), 2);
    }

    #[tokio::test]
    async fn answers_kept_by_one_instance_are_found_by_another_through_the_store() {
        let store = Arc::new(
            Store::open("memory", decision_matrix_store::StoreOptions::default())
                .await
                .expect("opens"),
        );
        let shared = || {
            Some(SharedCache {
                store: store.clone(),
                ttl: Duration::from_secs(60),
            })
        };
        let (one, two) = (
            CompletionCache::with_shared(10, 1 << 20, shared()),
            CompletionCache::with_shared(10, 1 << 20, shared()),
        );
        let key = CacheKey::new("x", &request("u", 0.0), 0);
        assert_eq!(two.lookup(&key).await, None);
        one.keep(key, completion("A")).await;
        assert_eq!(two.lookup(&key).await, Some(completion("A")));
        assert_eq!(two.len(), 1, "kept locally once found");
        let disabled = CompletionCache::with_shared(0, 1 << 20, shared());
        assert_eq!(disabled.lookup(&key).await, None, "0 disables sharing too");
    }
}
