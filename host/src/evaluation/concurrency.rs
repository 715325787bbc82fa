//! [`ConcurrencyLimits`]: how many backend calls may be in flight, server-wide, per backend and
//! per session.
//!
//! A call takes its permits narrowest first (session, then backend, then global) and every
//! call takes them in that order, so no two calls can each hold what the other waits for.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, Weak};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::EvaluationSettings;

/// The three limits.
pub struct ConcurrencyLimits {
    global: Arc<Semaphore>,
    per_session: usize,
    sessions: Mutex<HashMap<String, Weak<Semaphore>>>,
    backends: Mutex<HashMap<String, Arc<Semaphore>>>,
    settings: EvaluationSettings,
}

/// Permits held for one call; released on drop.
pub struct CallPermits {
    _session: OwnedSemaphorePermit,
    _backend: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

/// A session's share, held by an evaluation for its whole run so concurrent evaluations of
/// the same session share one limit.
#[derive(Clone)]
pub struct SessionShare(Arc<Semaphore>);

impl ConcurrencyLimits {
    /// Limits from `settings`.
    pub fn new(settings: &EvaluationSettings) -> ConcurrencyLimits {
        ConcurrencyLimits {
            global: Arc::new(Semaphore::new(settings.max_concurrent_calls)),
            per_session: settings.max_concurrent_per_session,
            sessions: Mutex::new(HashMap::new()),
            backends: Mutex::new(HashMap::new()),
            settings: settings.clone(),
        }
    }

    /// The share of `session`, created on first use and forgotten when no evaluation of the
    /// session runs.
    pub fn session(&self, session: &str) -> SessionShare {
        let mut sessions = self.sessions.lock();
        if let Some(existing) = sessions.get(session).and_then(Weak::upgrade) {
            return SessionShare(existing);
        }
        sessions.retain(|_, share| share.strong_count() > 0);
        let share = Arc::new(Semaphore::new(self.per_session));
        sessions.insert(session.to_owned(), Arc::downgrade(&share));
        SessionShare(share)
    }

    fn backend(&self, backend: &str) -> Arc<Semaphore> {
        let mut backends = self.backends.lock();
        if let Some(existing) = backends.get(backend) {
            return existing.clone();
        }
        backends
            .entry(backend.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.per_backend(backend))))
            .clone()
    }

    /// Waits for room for one call to `backend` within `share`.
    pub async fn acquire(&self, share: &SessionShare, backend: &str) -> CallPermits {
        // The semaphores are never closed, so acquiring cannot fail.
        let closed = "concurrency semaphores are never closed";
        let session = share.0.clone().acquire_owned().await.expect(closed);
        let backend = self.backend(backend).acquire_owned().await.expect(closed);
        let global = self.global.clone().acquire_owned().await.expect(closed);
        CallPermits {
            _session: session,
            _backend: backend,
            _global: global,
        }
    }

    /// Calls in flight to `backend` now.
    #[cfg(test)]
    pub fn in_flight(&self, backend: &str) -> usize {
        let limit = self.settings.per_backend(backend);
        limit - self.backend(backend).available_permits().min(limit)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[tokio::test]
    async fn per_backend_limit_holds_and_sessions_share_one_limit() {
        let settings = EvaluationSettings {
            max_concurrent_per_backend: BTreeMap::from([("slow".to_owned(), 1)]),
            max_concurrent_per_session: 2,
            ..EvaluationSettings::default()
        };
        let limits = ConcurrencyLimits::new(&settings);
        let share = limits.session("s");
        let first = limits.acquire(&share, "slow").await;
        assert_eq!(limits.in_flight("slow"), 1);
        let blocked = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            limits.acquire(&share, "slow"),
        )
        .await;
        assert!(blocked.is_err(), "a second call to a 1-call backend waits");
        drop(first);
        let _a = limits.acquire(&share, "fast").await;
        let again = limits.session("s");
        let _b = limits.acquire(&again, "fast").await;
        let third = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            limits.acquire(&again, "fast"),
        )
        .await;
        assert!(
            third.is_err(),
            "both evaluations of one session share its limit"
        );
    }
}
