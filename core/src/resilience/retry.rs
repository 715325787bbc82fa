//! Retry policy for provider calls: how long to wait before the next attempt,
//! and when to stop trying.
//!
//! # Why this shape
//!
//! The policy is pure and synchronous: it never sleeps and never reads a
//! clock. The caller owns the loop (and the `tokio::time::sleep`), so the
//! same policy serves plugins with different error types, is trivially
//! testable, and cannot hide a wait inside a lock or a cancelled future.
//! Randomness is injected as a [`fastrand::Rng`] so tests can seed it.
//!
//! # Backoff
//!
//! The un-jittered delay after failed attempt `n` (1-based) is
//! `base_delay · 2^(n-1)`, capped at `max_delay`. With the defaults
//! (3 attempts, 1 s base) that is 1 s then 2 s — the reference server's
//! schedule.
//!
//! # Jitter: "equal jitter"
//!
//! With jitter on, the delay is drawn uniformly from `[d/2, d]` where `d` is
//! the capped exponential delay ("equal jitter"), rather than from `[0, d]`
//! ("full jitter"). Reasons:
//!
//! * The typical burst of failures here comes from one process fanning out
//!   several option evaluations to the same provider at once; they fail
//!   together (e.g. a 429 or 503) and would retry together. Any jitter
//!   de-synchronises them; full jitter is not needed for that.
//! * With only two retries by default, full jitter can pick a delay near
//!   zero and hit an overloaded provider again immediately, wasting one of
//!   very few attempts. Equal jitter keeps at least half the backoff, so
//!   the schedule never becomes more aggressive than half the reference
//!   server's 1 s / 2 s.
//! * The delay is never above the un-jittered value, so `max_delay` remains
//!   a true upper bound.
//!
//! # Retry-After
//!
//! A provider's `Retry-After` hint wins when it is longer than the computed
//! delay: we never retry sooner than the provider asked. A hint longer than
//! [`RetryPolicy::max_retry_after`] makes [`RetryPolicy::decide`] give up
//! instead ([`GiveUpReason::RetryAfterTooLong`]): an interactive tool call
//! should fail fast with a clear reason rather than sit silently for
//! minutes.
//!
//! # What is retryable
//!
//! The caller classifies errors (`retryable: bool`): typically timeouts,
//! connection failures, 429 and 5xx are retryable, while 400/401/403/404 and
//! other request or credential problems are not, since repeating an
//! identical request cannot fix them.

use std::time::Duration;

/// Retry and backoff settings for one kind of provider call.
///
/// All fields are public so the host can fill them from configuration;
/// every combination of values is accepted (see the field docs for how
/// degenerate values behave), so there is no validation step to forget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total number of attempts, including the first one. `1` means "never
    /// retry". `0` is treated as `1`: a call is always attempted once.
    pub max_attempts: u32,
    /// Delay after the first failed attempt, before jitter. Doubled after
    /// every further failure. A zero base means "retry immediately" (unless
    /// the provider sent a `Retry-After`).
    pub base_delay: Duration,
    /// Upper bound on the computed (exponential, jittered) delay. It does not
    /// cap a provider's `Retry-After`; see [`RetryPolicy::max_retry_after`].
    pub max_delay: Duration,
    /// Whether to apply "equal jitter" (uniform in `[d/2, d]`) to the
    /// computed delay. See the module docs for why equal rather than full
    /// jitter.
    pub jitter: bool,
    /// Longest provider `Retry-After` we are willing to honour. A longer
    /// hint means [`RetryPolicy::decide`] gives up rather than wait.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, 1 s base delay, 30 s maximum delay, jitter on, and
    /// `Retry-After` honoured up to 60 s.
    ///
    /// Attempts and base delay match the reference server (which retried
    /// after 1 s and then 2 s); jitter is added so parallel calls that fail
    /// together do not retry together.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            jitter: true,
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// What the caller should do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Sleep for this long, then make the next attempt.
    Retry(Duration),
    /// Stop and surface the last error, with this explanation.
    GiveUp(GiveUpReason),
}

/// Why [`RetryPolicy::decide`] chose not to retry.
///
/// It implements [`std::error::Error`] so the host can attach it as
/// context to the final provider error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GiveUpReason {
    /// The error cannot be fixed by repeating the request (bad request,
    /// bad credentials, ...), as classified by the caller.
    #[error("the error is not retryable")]
    NotRetryable,
    /// Every allowed attempt has been used.
    #[error("all retry attempts were used")]
    AttemptsExhausted,
    /// The provider asked us to wait longer than
    /// [`RetryPolicy::max_retry_after`]; carries the requested wait.
    #[error("the provider asked to retry after {} s, longer than we are willing to wait", .0.as_secs_f64().ceil())]
    RetryAfterTooLong(Duration),
}

impl RetryPolicy {
    /// Delay to wait after failed attempt number `attempt` (1-based; `0` is
    /// treated as `1`), honouring a provider `Retry-After` hint when it is
    /// longer than the computed backoff.
    ///
    /// This does not apply [`RetryPolicy::max_retry_after`] or the attempt
    /// limit; use [`RetryPolicy::decide`] for the full decision. The hint is
    /// returned as-is when it wins, so the caller never retries sooner than
    /// the provider asked.
    ///
    /// Never panics or overflows, whatever the attempt number or durations.
    pub fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        rng: &mut fastrand::Rng,
    ) -> Duration {
        let backoff = self.backoff(attempt, rng);
        match retry_after {
            Some(hint) => backoff.max(hint),
            None => backoff,
        }
    }

    /// Decide whether to retry after failed attempt number `attempt`
    /// (1-based; `0` is treated as `1`) and, if so, how long to wait.
    ///
    /// Checks, in order: `retryable` (else
    /// [`GiveUpReason::NotRetryable`]), remaining attempts (else
    /// [`GiveUpReason::AttemptsExhausted`]), and the `Retry-After` hint
    /// against [`RetryPolicy::max_retry_after`] (else
    /// [`GiveUpReason::RetryAfterTooLong`]). The order matters for the
    /// message: a non-retryable error is reported as such even on the last
    /// attempt, and a too-long hint is only reported when a retry would
    /// otherwise have happened.
    pub fn decide(
        &self,
        attempt: u32,
        retryable: bool,
        retry_after: Option<Duration>,
        rng: &mut fastrand::Rng,
    ) -> RetryDecision {
        if !retryable {
            return RetryDecision::GiveUp(GiveUpReason::NotRetryable);
        }
        if attempt.max(1) >= self.max_attempts.max(1) {
            return RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted);
        }
        if let Some(hint) = retry_after
            && hint > self.max_retry_after
        {
            return RetryDecision::GiveUp(GiveUpReason::RetryAfterTooLong(hint));
        }
        RetryDecision::Retry(self.delay(attempt, retry_after, rng))
    }

    /// Capped exponential backoff for `attempt`, with equal jitter if
    /// enabled.
    fn backoff(&self, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
        let doublings = attempt.max(1) - 1;
        // Double step by step and stop as soon as the cap is reached: exact
        // for every base (no float rounding, no overflowing `2^n`), and the
        // loop is bounded by ~95 iterations because a non-zero Duration
        // reaches any cap (or overflows) after that many doublings, however
        // large `attempt` is. A zero base stays zero.
        let mut uncapped = self.base_delay;
        for _ in 0..doublings {
            if uncapped >= self.max_delay || uncapped.is_zero() {
                break;
            }
            uncapped = uncapped.checked_mul(2).unwrap_or(Duration::MAX);
        }
        let capped = uncapped.min(self.max_delay);
        if self.jitter {
            equal_jitter(capped, rng)
        } else {
            capped
        }
    }
}

/// Uniform draw from `[d - floor(d/2), d]`, i.e. keep at least half of `d`.
fn equal_jitter(delay: Duration, rng: &mut fastrand::Rng) -> Duration {
    let half = delay / 2;
    let kept = delay - half;
    // Spans beyond u64 nanoseconds (~584 years) only arise from absurd
    // configuration; clamping the random part keeps the result <= `delay`.
    let span = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    kept + Duration::from_nanos(rng.u64(0..=span))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> fastrand::Rng {
        fastrand::Rng::with_seed(0x5eed)
    }

    fn no_jitter() -> RetryPolicy {
        RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        }
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn default_matches_reference_server() {
        let p = RetryPolicy::default();
        assert_eq!(p.max_attempts, 3);
        assert_eq!(p.base_delay, S(1));
        assert_eq!(p.max_delay, S(30));
        assert!(p.jitter);
        assert_eq!(p.max_retry_after, S(60));
    }

    #[test]
    fn reference_schedule_without_jitter_is_1s_then_2s_then_give_up() {
        let p = no_jitter();
        let mut r = rng();
        assert_eq!(p.decide(1, true, None, &mut r), RetryDecision::Retry(S(1)));
        assert_eq!(p.decide(2, true, None, &mut r), RetryDecision::Retry(S(2)));
        assert_eq!(
            p.decide(3, true, None, &mut r),
            RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
    }

    #[test]
    fn backoff_doubles_then_caps_at_max_delay() {
        let p = RetryPolicy {
            max_delay: S(10),
            ..no_jitter()
        };
        let mut r = rng();
        let got: Vec<_> = (1..=6).map(|a| p.delay(a, None, &mut r)).collect();
        assert_eq!(got, vec![S(1), S(2), S(4), S(8), S(10), S(10)]);
    }

    #[test]
    fn base_above_max_delay_is_capped() {
        let p = RetryPolicy {
            base_delay: S(100),
            max_delay: S(5),
            ..no_jitter()
        };
        assert_eq!(p.delay(1, None, &mut rng()), S(5));
    }

    #[test]
    fn huge_attempt_numbers_do_not_overflow() {
        for jitter in [false, true] {
            let p = RetryPolicy {
                jitter,
                ..RetryPolicy::default()
            };
            let mut r = rng();
            for attempt in [31, 32, 33, 63, 64, 65, 1000, u32::MAX - 1, u32::MAX] {
                let d = p.delay(attempt, None, &mut r);
                assert!(d <= p.max_delay, "attempt {attempt}: {d:?}");
                assert!(d >= p.max_delay / 2, "attempt {attempt}: {d:?}");
            }
        }
    }

    #[test]
    fn tiny_base_is_doubled_exactly_past_32_doublings() {
        let p = RetryPolicy {
            base_delay: Duration::from_nanos(1),
            ..no_jitter()
        };
        let mut r = rng();
        assert_eq!(p.delay(33, None, &mut r), Duration::from_nanos(1 << 32));
        assert_eq!(p.delay(35, None, &mut r), Duration::from_nanos(1 << 34));
        // 2^35 ns is about 34 s: the first value above the 30 s cap.
        assert_eq!(p.delay(36, None, &mut r), S(30));
        assert_eq!(p.delay(u32::MAX, None, &mut r), S(30));
    }

    #[test]
    fn huge_durations_do_not_overflow() {
        let p = RetryPolicy {
            max_attempts: u32::MAX,
            base_delay: Duration::MAX,
            max_delay: Duration::MAX,
            jitter: true,
            max_retry_after: Duration::MAX,
        };
        let mut r = rng();
        for attempt in [0, 1, 2, 40, u32::MAX - 1] {
            let d = p.delay(attempt, Some(Duration::MAX), &mut r);
            assert_eq!(d, Duration::MAX);
            assert!(matches!(
                p.decide(attempt, true, None, &mut r),
                RetryDecision::Retry(_)
            ));
        }
    }

    #[test]
    fn zero_base_delay_retries_immediately() {
        for jitter in [false, true] {
            let p = RetryPolicy {
                base_delay: Duration::ZERO,
                jitter,
                ..RetryPolicy::default()
            };
            let mut r = rng();
            assert_eq!(p.delay(1, None, &mut r), Duration::ZERO);
            assert_eq!(p.delay(40, None, &mut r), Duration::ZERO);
            assert_eq!(
                p.decide(1, true, None, &mut r),
                RetryDecision::Retry(Duration::ZERO)
            );
            // A provider hint still applies on top of a zero base.
            assert_eq!(p.delay(1, Some(S(3)), &mut r), S(3));
        }
    }

    #[test]
    fn zero_max_delay_means_no_computed_wait() {
        let p = RetryPolicy {
            max_delay: Duration::ZERO,
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay(2, None, &mut rng()), Duration::ZERO);
    }

    #[test]
    fn equal_jitter_stays_within_half_to_full_delay_and_varies() {
        let p = RetryPolicy::default();
        let mut r = rng();
        for attempt in 1..=6 {
            let full = no_jitter().delay(attempt, None, &mut r);
            let mut seen = std::collections::HashSet::new();
            for _ in 0..200 {
                let d = p.delay(attempt, None, &mut r);
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
                seen.insert(d);
            }
            assert!(seen.len() > 1, "jitter should vary the delay");
        }
    }

    #[test]
    fn jitter_is_reproducible_with_the_same_seed() {
        let p = RetryPolicy::default();
        let a: Vec<_> = {
            let mut r = rng();
            (1..=3).map(|n| p.delay(n, None, &mut r)).collect()
        };
        let b: Vec<_> = {
            let mut r = rng();
            (1..=3).map(|n| p.delay(n, None, &mut r)).collect()
        };
        assert_eq!(a, b);
    }

    #[test]
    fn attempt_zero_is_treated_as_first_attempt() {
        let p = no_jitter();
        let mut r = rng();
        assert_eq!(p.delay(0, None, &mut r), S(1));
        assert_eq!(p.decide(0, true, None, &mut r), RetryDecision::Retry(S(1)));
    }

    #[test]
    fn longer_retry_after_wins() {
        let p = no_jitter();
        let mut r = rng();
        assert_eq!(p.delay(1, Some(S(7)), &mut r), S(7));
        assert_eq!(
            p.decide(1, true, Some(S(7)), &mut r),
            RetryDecision::Retry(S(7))
        );
        // Sub-second precision is kept: never retry sooner than asked.
        let hint = Duration::from_millis(1500);
        assert_eq!(
            p.decide(1, true, Some(hint), &mut r),
            RetryDecision::Retry(hint)
        );
    }

    #[test]
    fn shorter_retry_after_loses_to_backoff() {
        let p = no_jitter();
        let mut r = rng();
        assert_eq!(
            p.decide(2, true, Some(Duration::from_millis(500)), &mut r),
            RetryDecision::Retry(S(2))
        );
        assert_eq!(
            p.decide(2, true, Some(Duration::ZERO), &mut r),
            RetryDecision::Retry(S(2))
        );
    }

    #[test]
    fn retry_after_wins_over_jittered_backoff() {
        let p = RetryPolicy::default();
        let mut r = rng();
        for _ in 0..100 {
            // Backoff for attempt 2 is in [1 s, 2 s]; a 2 s hint is never beaten.
            assert_eq!(p.delay(2, Some(S(2)), &mut r), S(2));
        }
    }

    #[test]
    fn retry_after_may_exceed_max_delay_up_to_the_cap() {
        let p = RetryPolicy {
            max_delay: S(5),
            ..no_jitter()
        };
        assert_eq!(
            p.decide(1, true, Some(S(60)), &mut rng()),
            RetryDecision::Retry(S(60))
        );
    }

    #[test]
    fn retry_after_longer_than_cap_gives_up() {
        let p = RetryPolicy::default();
        let hint = Duration::from_millis(60_001);
        assert_eq!(
            p.decide(1, true, Some(hint), &mut rng()),
            RetryDecision::GiveUp(GiveUpReason::RetryAfterTooLong(hint))
        );
    }

    #[test]
    fn not_retryable_gives_up_first() {
        let p = RetryPolicy::default();
        let mut r = rng();
        assert_eq!(
            p.decide(1, false, None, &mut r),
            RetryDecision::GiveUp(GiveUpReason::NotRetryable)
        );
        // Reported as not retryable even on the last attempt or with a huge hint.
        assert_eq!(
            p.decide(3, false, Some(S(3600)), &mut r),
            RetryDecision::GiveUp(GiveUpReason::NotRetryable)
        );
    }

    #[test]
    fn exhausted_attempts_win_over_too_long_retry_after() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(3, true, Some(S(3600)), &mut rng()),
            RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
    }

    #[test]
    fn single_attempt_and_zero_attempts_never_retry() {
        let mut r = rng();
        for max_attempts in [0, 1] {
            let p = RetryPolicy {
                max_attempts,
                ..RetryPolicy::default()
            };
            assert_eq!(
                p.decide(1, true, None, &mut r),
                RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted)
            );
        }
    }

    #[test]
    fn attempts_beyond_limit_stay_exhausted() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(u32::MAX, true, None, &mut rng()),
            RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
    }

    #[test]
    fn give_up_reasons_have_readable_messages() {
        assert_eq!(
            GiveUpReason::RetryAfterTooLong(Duration::from_millis(90_500)).to_string(),
            "the provider asked to retry after 91 s, longer than we are willing to wait"
        );
        assert_eq!(
            GiveUpReason::NotRetryable.to_string(),
            "the error is not retryable"
        );
        assert_eq!(
            GiveUpReason::AttemptsExhausted.to_string(),
            "all retry attempts were used"
        );
    }
}
