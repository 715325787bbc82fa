//! Client-side requests-per-minute limits per (backend, model).
//!
//! # Why
//!
//! Providers enforce request quotas and answer 429 when they are exceeded.
//! Spacing our own requests is cheaper than collecting 429s and burning
//! retries (and their backoff) on them, especially when one evaluation fans
//! out several option calls to the same model at once.
//!
//! # What "N requests per minute" means here
//!
//! A limit of `rpm` lets one request through every `60 s / rpm` on average,
//! with an initial **burst of one second's worth**: `max(1, rpm / 60)`
//! requests may start back to back, after which requests are spaced by
//! `60 s / rpm`. For example:
//!
//! | rpm  | burst | steady spacing |
//! |------|-------|----------------|
//! | 30   | 1     | 2 s            |
//! | 60   | 1     | 1 s            |
//! | 600  | 10    | 100 ms         |
//! | 3000 | 50    | 20 ms          |
//!
//! We deliberately do not allow the whole minute's budget as a burst: many
//! providers state that a per-minute limit may be enforced over shorter
//! windows (60 rpm enforced as 1 request per second), so 60 requests fired
//! in the first millisecond would mostly come back as 429s. A one-second
//! burst is the same bucket such a provider keeps, so a fan-out of a few
//! parallel calls still starts immediately without tripping it. The burst
//! can be set explicitly per key (`RateLimit::with_burst`), e.g. `1` for
//! strict smoothing.
//!
//! The algorithm (GCRA) is governor's; this module only picks quotas, keys
//! limiters, and waits.
//!
//! # Clock and waiting
//!
//! Governor's own `until_ready` waits on its default clock and a
//! `futures-timer` delay, neither of which follows tokio's clock, so a host
//! test using `tokio::time::pause` would busy-loop or hang against real
//! time. Instead, [`TokioClock`] feeds governor readings of
//! `tokio::time::Instant`, and [`RateLimits::acquire`] waits with
//! `tokio::time::sleep`. In production this is the ordinary monotonic clock;
//! under paused tokio time the limiter is fully deterministic.
//! [`RateLimits::with_clock`] accepts any governor clock (tests use
//! governor's `FakeRelativeClock` with the non-blocking
//! [`RateLimits::try_acquire`]).
//!
//! # Fairness and cancellation
//!
//! Waiters on the same key queue on a FIFO `tokio::sync::Mutex`, so only the
//! head of the queue sleeps and requests are admitted in arrival order
//! instead of all waking at the same instant and racing. Nothing is
//! reserved while waiting: dropping an `acquire` future (e.g. the call's
//! timeout fired) gives up its place without consuming a request slot.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// A requests-per-minute limit with its burst size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained rate, in requests per minute.
    pub rpm: NonZeroU32,
    /// Requests that may start back to back before spacing applies; `None`
    /// means one second's worth, `max(1, rpm / 60)` (see the module docs).
    pub burst: Option<NonZeroU32>,
}

impl RateLimit {
    /// `rpm` requests per minute with the default one-second burst.
    pub fn per_minute(rpm: NonZeroU32) -> Self {
        Self { rpm, burst: None }
    }

    /// The same rate with an explicit burst size.
    #[cfg(test)]
    pub fn with_burst(self, burst: NonZeroU32) -> Self {
        Self {
            burst: Some(burst),
            ..self
        }
    }

    /// The burst actually used: the explicit one, or `max(1, rpm / 60)`.
    pub fn effective_burst(&self) -> NonZeroU32 {
        self.burst
            .unwrap_or_else(|| NonZeroU32::new(self.rpm.get() / 60).unwrap_or(NonZeroU32::MIN))
    }

    /// Average spacing between requests once the burst is used up.
    #[cfg(test)]
    pub fn interval(&self) -> Duration {
        self.quota().replenish_interval()
    }

    fn quota(&self) -> Quota {
        Quota::per_minute(self.rpm).allow_burst(self.effective_burst())
    }
}

/// The model name of an override that applies to every model of its backend.
pub const ANY_MODEL: &str = "*";

/// Identifies one rate-limited stream of requests.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RateLimitKey {
    /// Backend (plugin) name, e.g. `bedrock`.
    pub backend: String,
    /// Model identifier as passed to the backend.
    pub model: String,
}

impl RateLimitKey {
    /// Key for `model` on `backend`. Names are matched exactly
    /// (case-sensitive), as the host passes them to [`RateLimits::acquire`].
    pub fn new(backend: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            backend: backend.into(),
            model: model.into(),
        }
    }
}

/// A governor clock reading `tokio::time::Instant`, so rate limiting follows
/// tokio's (possibly paused) clock. Readings are nanoseconds since the clock
/// was created.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock whose zero is now. Create it inside the runtime whose clock it
    /// should follow (this matters only for paused test runtimes).
    pub fn new() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        // Saturate instead of governor's panicking conversion; 584 years of
        // uptime are not a concern, a panic path in a limiter is.
        let elapsed = self.origin.elapsed().as_nanos();
        Nanos::new(u64::try_from(elapsed).unwrap_or(u64::MAX))
    }
}

type DirectLimiter<C> =
    RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// backend -> model -> `T`. Nested so lookups by `&str` need no allocation.
type ByKey<T> = HashMap<String, HashMap<String, T>>;

/// State for one (backend, model).
struct KeyLimiter<C: Clock> {
    limiter: DirectLimiter<C>,
    /// FIFO queue of `acquire` callers; see the module docs.
    queue: tokio::sync::Mutex<()>,
}

/// Requests-per-minute limits for every (backend, model) the host calls.
///
/// Share it (e.g. in an `Arc`) across all calls. Limiters are created
/// lazily on first use of a key and kept for the life of the value; the key
/// space is the configured backends times the models they are asked for,
/// which is small.
pub struct RateLimits<C: Clock + Clone = TokioClock> {
    default: Option<RateLimit>,
    overrides: ByKey<RateLimit>,
    /// A std mutex: it is only held to look up or insert, never across an
    /// `.await`.
    limiters: Mutex<ByKey<Arc<KeyLimiter<C>>>>,
    clock: C,
}

impl<C: Clock + Clone> std::fmt::Debug for RateLimits<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("default", &self.default)
            .field("overrides", &self.overrides)
            .finish_non_exhaustive()
    }
}

impl RateLimits<TokioClock> {
    /// Limits with an optional default rpm for every key (default burst) and
    /// per-key overrides, which win over the default. With no default, keys
    /// without an override are not limited.
    ///
    /// If an override key appears twice, the last one wins.
    pub fn new(
        default_rpm: Option<NonZeroU32>,
        overrides: impl IntoIterator<Item = (RateLimitKey, RateLimit)>,
    ) -> Self {
        Self::from_limits(default_rpm.map(RateLimit::per_minute), overrides)
    }

    /// Like [`RateLimits::new`] but with a full [`RateLimit`] (including
    /// burst) as the default.
    pub fn from_limits(
        default: Option<RateLimit>,
        overrides: impl IntoIterator<Item = (RateLimitKey, RateLimit)>,
    ) -> Self {
        Self::with_clock(default, overrides, TokioClock::new())
    }

    /// Wait until a request to `model` on `backend` may be sent, and return
    /// how long that took (zero when no limit applies or capacity was
    /// available).
    ///
    /// Returns immediately when no limit is configured for the key.
    /// Cancel-safe: dropping the future consumes no request slot.
    pub async fn acquire(&self, backend: &str, model: &str) -> Duration {
        let Some(key) = self.key_limiter(backend, model) else {
            return Duration::ZERO;
        };
        let started = tokio::time::Instant::now();
        // Waiting counts only when this call had to queue behind another or sleep: a free
        // slot answers zero, as documented, and is not reported as a wait.
        let mut waited = false;
        let _turn = match key.queue.try_lock() {
            Ok(turn) => turn,
            Err(_) => {
                waited = true;
                key.queue.lock().await
            }
        };
        while let Err(not_until) = key.limiter.check() {
            waited = true;
            tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
        }
        if waited {
            started.elapsed()
        } else {
            Duration::ZERO
        }
    }
}

impl<C: Clock + Clone> RateLimits<C> {
    /// Limits driven by a custom governor clock. With a clock that does not
    /// follow tokio time (e.g. governor's `FakeRelativeClock`) use
    /// [`RateLimits::try_acquire`]; `acquire` is only offered for
    /// [`TokioClock`] because it sleeps on tokio's timer.
    pub fn with_clock(
        default: Option<RateLimit>,
        overrides: impl IntoIterator<Item = (RateLimitKey, RateLimit)>,
        clock: C,
    ) -> Self {
        let mut by_backend: ByKey<RateLimit> = HashMap::new();
        for (key, limit) in overrides {
            by_backend
                .entry(key.backend)
                .or_default()
                .insert(key.model, limit);
        }
        Self {
            default,
            overrides: by_backend,
            limiters: Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// The limit that applies to `model` on `backend`, if any: its override,
    /// else the backend's [`ANY_MODEL`] override (each model still gets its
    /// own budget), else the default.
    pub fn limit_for(&self, backend: &str, model: &str) -> Option<RateLimit> {
        self.overrides
            .get(backend)
            .and_then(|models| models.get(model).or_else(|| models.get(ANY_MODEL)))
            .copied()
            .or(self.default)
    }

    /// Take a request slot now if one is free; otherwise return how long
    /// until one will be (without waiting or reserving it).
    ///
    /// Does not queue behind callers waiting in [`RateLimits::acquire`].
    #[cfg(test)]
    pub fn try_acquire(&self, backend: &str, model: &str) -> Result<(), Duration> {
        match self.key_limiter(backend, model) {
            None => Ok(()),
            Some(key) => key
                .limiter
                .check()
                .map_err(|not_until| not_until.wait_time_from(self.clock.now())),
        }
    }

    /// The limiter for a key, created on first use; `None` if unlimited.
    fn key_limiter(&self, backend: &str, model: &str) -> Option<Arc<KeyLimiter<C>>> {
        let limit = self.limit_for(backend, model)?;
        // The map is only ever inserted into, so its contents stay valid even
        // if another thread panicked while holding the lock.
        let mut limiters = self.limiters.lock();
        let models = match limiters.get_mut(backend) {
            Some(models) => models,
            None => limiters.entry(backend.to_owned()).or_default(),
        };
        if let Some(existing) = models.get(model) {
            return Some(Arc::clone(existing));
        }
        let created = Arc::new(KeyLimiter {
            limiter: RateLimiter::direct_with_clock(limit.quota(), self.clock.clone()),
            queue: tokio::sync::Mutex::new(()),
        });
        models.insert(model.to_owned(), Arc::clone(&created));
        Some(created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::{FakeRelativeClock, Reference};

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("non-zero in test")
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// 600 rpm (one per 100 ms) with no burst.
    fn strict_600() -> RateLimit {
        RateLimit::per_minute(nz(600)).with_burst(nz(1))
    }

    fn fake(
        default: Option<RateLimit>,
        overrides: Vec<(RateLimitKey, RateLimit)>,
    ) -> (RateLimits<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (
            RateLimits::with_clock(default, overrides, clock.clone()),
            clock,
        )
    }

    /// Acquire `n` slots on the fake clock, advancing it by exactly the
    /// reported wait each time; returns the fake time of each admission.
    fn admit_times(
        limits: &RateLimits<FakeRelativeClock>,
        clock: &FakeRelativeClock,
        backend: &str,
        model: &str,
        n: usize,
    ) -> Vec<Duration> {
        let start = clock.now();
        let mut times = Vec::new();
        while times.len() < n {
            match limits.try_acquire(backend, model) {
                Ok(()) => times.push(clock.now().duration_since(start).into()),
                Err(wait) => {
                    assert!(!wait.is_zero(), "a refusal must ask for a real wait");
                    clock.advance(wait);
                }
            }
        }
        times
    }

    #[test]
    fn default_burst_is_one_seconds_worth() {
        assert_eq!(RateLimit::per_minute(nz(1)).effective_burst(), nz(1));
        assert_eq!(RateLimit::per_minute(nz(30)).effective_burst(), nz(1));
        assert_eq!(RateLimit::per_minute(nz(60)).effective_burst(), nz(1));
        assert_eq!(RateLimit::per_minute(nz(119)).effective_burst(), nz(1));
        assert_eq!(RateLimit::per_minute(nz(600)).effective_burst(), nz(10));
        assert_eq!(RateLimit::per_minute(nz(3000)).effective_burst(), nz(50));
        assert_eq!(strict_600().effective_burst(), nz(1));
        assert_eq!(RateLimit::per_minute(nz(60)).interval(), ms(1000));
        assert_eq!(RateLimit::per_minute(nz(600)).interval(), ms(100));
    }

    #[test]
    fn fake_clock_spacing_at_600_rpm_burst_1() {
        let (limits, clock) = fake(Some(strict_600()), vec![]);
        let times = admit_times(&limits, &clock, "bedrock", "claude", 5);
        assert_eq!(times, vec![ms(0), ms(100), ms(200), ms(300), ms(400)]);
    }

    #[test]
    fn refusal_reports_remaining_wait() {
        let (limits, clock) = fake(Some(strict_600()), vec![]);
        assert_eq!(limits.try_acquire("b", "m"), Ok(()));
        assert_eq!(limits.try_acquire("b", "m"), Err(ms(100)));
        clock.advance(ms(30));
        assert_eq!(limits.try_acquire("b", "m"), Err(ms(70)));
        clock.advance(ms(70));
        assert_eq!(limits.try_acquire("b", "m"), Ok(()));
    }

    #[test]
    fn sixty_rpm_does_not_fire_sixty_at_once() {
        let (limits, clock) = fake(Some(RateLimit::per_minute(nz(60))), vec![]);
        let times = admit_times(&limits, &clock, "openai", "gpt", 4);
        assert_eq!(times, vec![ms(0), ms(1000), ms(2000), ms(3000)]);
    }

    #[test]
    fn default_burst_then_steady_spacing() {
        let (limits, clock) = fake(Some(RateLimit::per_minute(nz(600))), vec![]);
        let times = admit_times(&limits, &clock, "litellm", "m", 12);
        assert!(times[..10].iter().all(|t| t.is_zero()), "{times:?}");
        assert_eq!(times[10], ms(100));
        assert_eq!(times[11], ms(200));
    }

    #[test]
    fn idle_time_refills_the_burst() {
        let (limits, clock) = fake(Some(RateLimit::per_minute(nz(600))), vec![]);
        admit_times(&limits, &clock, "b", "m", 10);
        assert!(limits.try_acquire("b", "m").is_err());
        clock.advance(Duration::from_secs(1));
        let times = admit_times(&limits, &clock, "b", "m", 10);
        assert!(times.iter().all(|t| t.is_zero()), "{times:?}");
    }

    #[test]
    fn different_keys_are_independent() {
        let (limits, _clock) = fake(Some(strict_600()), vec![]);
        assert_eq!(limits.try_acquire("bedrock", "a"), Ok(()));
        assert!(limits.try_acquire("bedrock", "a").is_err());
        // Same backend, other model; same model, other backend.
        assert_eq!(limits.try_acquire("bedrock", "b"), Ok(()));
        assert_eq!(limits.try_acquire("litellm", "a"), Ok(()));
        assert!(limits.try_acquire("bedrock", "b").is_err());
        assert!(limits.try_acquire("litellm", "a").is_err());
    }

    #[test]
    fn no_limit_configured_never_refuses() {
        let (limits, _clock) = fake(None, vec![]);
        for _ in 0..10_000 {
            assert_eq!(limits.try_acquire("ollama", "llama3"), Ok(()));
        }
        assert_eq!(limits.limit_for("ollama", "llama3"), None);
    }

    #[test]
    fn override_wins_over_default_and_applies_without_one() {
        let slow = RateLimit::per_minute(nz(6)).with_burst(nz(1));
        let key = RateLimitKey::new("bedrock", "claude");

        let (limits, _clock) = fake(Some(strict_600()), vec![(key.clone(), slow)]);
        assert_eq!(limits.limit_for("bedrock", "claude"), Some(slow));
        assert_eq!(limits.limit_for("bedrock", "other"), Some(strict_600()));
        assert_eq!(limits.try_acquire("bedrock", "claude"), Ok(()));
        assert_eq!(
            limits.try_acquire("bedrock", "claude"),
            Err(Duration::from_secs(10))
        );

        let (limits, _clock) = fake(None, vec![(key, slow)]);
        assert_eq!(limits.limit_for("bedrock", "other"), None);
        assert_eq!(limits.try_acquire("bedrock", "claude"), Ok(()));
        assert!(limits.try_acquire("bedrock", "claude").is_err());
        for _ in 0..100 {
            assert_eq!(limits.try_acquire("bedrock", "other"), Ok(()));
        }
    }

    #[test]
    fn duplicate_override_last_wins() {
        let key = RateLimitKey::new("b", "m");
        let (limits, _clock) = fake(
            None,
            vec![
                (key.clone(), RateLimit::per_minute(nz(1))),
                (key, strict_600()),
            ],
        );
        assert_eq!(limits.limit_for("b", "m"), Some(strict_600()));
    }

    #[test]
    fn limits_are_shareable_and_acquire_is_send() {
        fn shareable<T: Send + Sync>() {}
        fn send<T: Send>(_: &T) {}
        shareable::<RateLimits>();
        let limits = RateLimits::new(Some(nz(60)), []);
        // The host spawns evaluation calls on a multi-threaded runtime.
        send(&limits.acquire("b", "m"));
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_no_limit_returns_zero() {
        let limits = RateLimits::new(None, []);
        for _ in 0..100 {
            assert_eq!(limits.acquire("ollama", "m").await, Duration::ZERO);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_spaces_requests_on_paused_tokio_time() {
        let limits = RateLimits::from_limits(Some(strict_600()), []);
        let start = tokio::time::Instant::now();
        let mut waited = Vec::new();
        let mut admitted = Vec::new();
        for _ in 0..5 {
            waited.push(limits.acquire("bedrock", "m").await);
            admitted.push(start.elapsed());
        }
        assert_eq!(waited[0], Duration::ZERO);
        for pair in admitted.windows(2) {
            assert!(pair[1] - pair[0] >= ms(100), "{admitted:?}");
        }
        assert!(waited[1..].iter().all(|w| *w >= ms(100)), "{waited:?}");
        assert!(admitted[4] >= ms(400), "{admitted:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_are_spaced() {
        let limits = Arc::new(RateLimits::from_limits(Some(strict_600()), []));
        let start = tokio::time::Instant::now();
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let limits = Arc::clone(&limits);
                tokio::spawn(async move {
                    limits.acquire("b", "m").await;
                    start.elapsed()
                })
            })
            .collect();
        let mut admitted = Vec::new();
        for task in tasks {
            admitted.push(task.await.expect("task completes"));
        }
        admitted.sort();
        for pair in admitted.windows(2) {
            assert!(pair[1] - pair[0] >= ms(100), "{admitted:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn cancelled_acquire_consumes_no_slot() {
        let limits = RateLimits::from_limits(Some(strict_600()), []);
        let start = tokio::time::Instant::now();
        limits.acquire("b", "m").await;
        let gave_up = tokio::time::timeout(ms(50), limits.acquire("b", "m")).await;
        assert!(gave_up.is_err(), "should still be waiting at 50 ms");
        // The next caller gets the 100 ms slot the cancelled one never took.
        limits.acquire("b", "m").await;
        let at = start.elapsed();
        assert!(at >= ms(100) && at < ms(200), "{at:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_keys_are_independent() {
        let limits = RateLimits::from_limits(Some(strict_600()), []);
        assert_eq!(limits.acquire("b", "m1").await, Duration::ZERO);
        assert_eq!(limits.acquire("b", "m2").await, Duration::ZERO);
        assert_eq!(limits.acquire("c", "m1").await, Duration::ZERO);
    }

    /// Real clock: only lower bounds, which the limiter guarantees whatever
    /// the scheduling delays; no upper bounds on wall time.
    #[tokio::test]
    async fn real_clock_spacing_lower_bound() {
        let limits = RateLimits::from_limits(Some(strict_600()), []);
        let start = std::time::Instant::now();
        let mut before = Vec::new();
        let mut after = Vec::new();
        for _ in 0..5 {
            before.push(start.elapsed());
            limits.acquire("bedrock", "m").await;
            after.push(start.elapsed());
        }
        // Admission i happens >= 100 ms after admission i-1, which happened
        // after `before[i-1]`. (99 ms absorbs the clock's nanosecond
        // truncation.)
        for i in 1..5 {
            assert!(after[i] - before[i - 1] >= ms(99), "{before:?} {after:?}");
        }
        assert!(after[4] - before[0] >= ms(399), "{before:?} {after:?}");
    }
}
