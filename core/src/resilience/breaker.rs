//! Circuit breaker for one provider backend.
//!
//! # Why
//!
//! When a backend is down, every evaluation would otherwise spend its full
//! timeout and all its retries on it before failing. After
//! [`BreakerConfig::failure_threshold`] consecutive health failures the
//! breaker opens and calls fail immediately with a clear message ("circuit
//! open, next try in 42 s") for [`BreakerConfig::open_for`]; after that a
//! single probe call is let through to test whether the backend recovered.
//!
//! # Shape
//!
//! The breaker is a plain state machine: synchronous, no interior locking,
//! and no clock of its own — every method takes `now`. The host keeps one per
//! backend behind a `Mutex` (held only for the method call, never across an
//! `.await`), and tests drive time explicitly. It uses `std::time::Instant`;
//! a host test running on tokio's paused clock can pass
//! `tokio::time::Instant::now().into_std()`.
//!
//! # States
//!
//! * **Closed** — every call is admitted; counted failures accumulate, any
//!   success resets the count.
//! * **Open** — calls are rejected with the time left until the next probe.
//! * **Half-open** — entered lazily by the first [`CircuitBreaker::try_acquire`]
//!   after the open period. Exactly one probe is admitted; other calls are
//!   rejected until it reports. Probe success closes the breaker; probe
//!   failure opens it for another full period.
//!
//! # Permits
//!
//! Every admitted call gets a [`Permit`] that must be handed back exactly
//! once, to [`CircuitBreaker::on_success`], [`CircuitBreaker::on_failure`] or
//! [`CircuitBreaker::on_cancel`]. `Permit` is neither `Clone` nor `Copy`, so
//! resolving it twice does not compile.
//!
//! A permit that is never handed back (the call's future was dropped, a
//! panic, a forgotten code path) must not wedge the breaker in half-open.
//! Two mechanisms cover that:
//!
//! * the probe slot is a **lease** that expires `open_for` after the probe
//!   was admitted; the next call after that becomes a new probe. A lost
//!   probe therefore costs at most one extra open period — the same delay a
//!   failed probe would cause;
//! * [`CircuitBreaker::on_cancel`] releases the slot immediately without
//!   judging the backend, for callers that know their call was cancelled
//!   (e.g. from a drop guard).
//!
//! Results are only applied if the permit belongs to the breaker's current
//! phase (each transition and each probe admission starts a new phase).
//! Calls admitted before the breaker opened, or a probe whose lease already
//! expired, report on a backend state that is no longer current; their
//! results are ignored rather than re-opening or closing the breaker.
//!
//! # What counts as a failure
//!
//! The caller decides, and must report through
//! [`CircuitBreaker::on_failure`] only failures that say something about the
//! backend's **health**: timeouts, connection errors, 5xx, throttling that
//! survived retries. Errors caused by the request or the caller's
//! configuration — 400, 401, 403, 404, invalid model, content filtered —
//! must be reported with [`CircuitBreaker::on_success`] (the backend
//! answered) or [`CircuitBreaker::on_cancel`] (no judgement); otherwise one
//! bad API key would lock every user out of a healthy backend.

use std::time::{Duration, Instant};

/// Breaker settings for one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// When `false` the breaker admits every call and ignores all reports.
    pub enabled: bool,
    /// Consecutive health failures that open the breaker. `0` is treated as
    /// `1`.
    pub failure_threshold: u32,
    /// How long the breaker stays open before admitting a probe; also the
    /// lease of an unreported probe (see the module docs).
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    /// Enabled, 5 consecutive failures, open for 60 s (the performance
    /// guide's values).
    fn default() -> Self {
        Self {
            enabled: true,
            failure_threshold: 5,
            open_for: Duration::from_secs(60),
        }
    }
}

/// Proof that a call was admitted; resolve it exactly once with
/// [`CircuitBreaker::on_success`], [`CircuitBreaker::on_failure`] or
/// [`CircuitBreaker::on_cancel`] on the breaker that issued it.
#[must_use = "a permit must be resolved with on_success, on_failure or on_cancel"]
#[derive(Debug, PartialEq, Eq)]
pub struct Permit {
    kind: PermitKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PermitKind {
    /// Issued by a disabled breaker; reports are ignored.
    Bypass,
    /// Issued while closed, in the given phase.
    Normal { phase: u64 },
    /// The half-open probe of the given phase.
    Probe { phase: u64 },
}

impl Permit {
    /// Whether this call is the half-open probe, whose result decides if the
    /// breaker closes. Useful for logging.
    pub fn is_probe(&self) -> bool {
        matches!(self.kind, PermitKind::Probe { .. })
    }
}

/// A call was refused because the breaker is open or a probe is in flight.
///
/// The message does not name the backend (the breaker does not know it);
/// the host wraps it, e.g. "backend bedrock is failing; circuit open, next
/// try in 42 s".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "circuit {}, next try in {} s",
    if *.probe_in_flight { "half-open with a probe in flight" } else { "open" },
    whole_seconds_up(*.retry_in)
)]
pub struct Rejected {
    /// Time until a call may be admitted again. While a probe is in flight
    /// this is when its lease expires: an upper bound, since the probe may
    /// report earlier.
    pub retry_in: Duration,
    /// `true` when rejected because the half-open probe has not reported
    /// yet, `false` when the breaker is open.
    pub probe_in_flight: bool,
}

/// Round up so a message never says "next try in 0 s" while time remains.
fn whole_seconds_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Observable phase of a breaker, for metrics and status output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerStatus {
    /// Admitting all calls.
    Closed,
    /// Rejecting calls; a probe will be admitted after `retry_in`.
    Open {
        /// Time left in the open period.
        retry_in: Duration,
    },
    /// The open period is over; the next call is (or has been admitted as)
    /// the probe.
    HalfOpen {
        /// Whether a probe is currently admitted and has not reported (and
        /// its lease has not expired).
        probe_in_flight: bool,
    },
}

impl BreakerStatus {
    /// Stable lowercase label for metrics: `closed`, `open` or `half_open`.
    pub fn as_str(&self) -> &'static str {
        match self {
            BreakerStatus::Closed => "closed",
            BreakerStatus::Open { .. } => "open",
            BreakerStatus::HalfOpen { .. } => "half_open",
        }
    }
}

/// Snapshot of a breaker for observability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerState {
    /// Current phase.
    pub status: BreakerStatus,
    /// Counted failures since the last success (or since the breaker was
    /// created).
    pub consecutive_failures: u32,
    /// When the current outage began: the moment the breaker last went from
    /// closed to open. Unchanged by re-opening after a failed probe; `None`
    /// while closed.
    pub opened_at: Option<Instant>,
}

/// Internal phase. Start instants rather than deadlines are stored so that
/// no `Instant + Duration` can overflow, whatever `open_for` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed,
    Open {
        since: Instant,
    },
    /// `probe_since` is when the current probe was admitted, if one is
    /// outstanding.
    HalfOpen {
        probe_since: Option<Instant>,
    },
}

/// Circuit breaker for one backend. See the module docs.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    phase: Phase,
    /// Incremented on every transition and every probe admission; permits
    /// from an older value are stale and their reports ignored.
    phase_id: u64,
    consecutive_failures: u32,
    opened_at: Option<Instant>,
}

impl CircuitBreaker {
    /// A closed breaker with the given settings.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            phase: Phase::Closed,
            phase_id: 0,
            consecutive_failures: 0,
            opened_at: None,
        }
    }

    /// The settings this breaker was created with.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// Ask to make a call at `now`.
    ///
    /// Closed: always admitted. Open: rejected with the remaining open time,
    /// until it has elapsed; then this call becomes the half-open probe.
    /// Half-open: admitted as the probe if no probe is outstanding (or the
    /// outstanding one's lease expired), otherwise rejected.
    pub fn try_acquire(&mut self, now: Instant) -> Result<Permit, Rejected> {
        if !self.config.enabled {
            return Ok(Permit {
                kind: PermitKind::Bypass,
            });
        }
        match self.phase {
            Phase::Closed => Ok(Permit {
                kind: PermitKind::Normal {
                    phase: self.phase_id,
                },
            }),
            Phase::Open { since } => match self.remaining(since, now) {
                Some(retry_in) => Err(Rejected {
                    retry_in,
                    probe_in_flight: false,
                }),
                None => Ok(self.admit_probe(now)),
            },
            Phase::HalfOpen {
                probe_since: Some(since),
            } => match self.remaining(since, now) {
                Some(retry_in) => Err(Rejected {
                    retry_in,
                    probe_in_flight: true,
                }),
                // The previous probe never reported within its lease; assume
                // it was lost and let this call probe instead.
                None => Ok(self.admit_probe(now)),
            },
            Phase::HalfOpen { probe_since: None } => Ok(self.admit_probe(now)),
        }
    }

    /// Report that the admitted call succeeded — or failed for a reason that
    /// says nothing bad about the backend's health (see the module docs).
    ///
    /// Resets the consecutive-failure count; a probe's success closes the
    /// breaker.
    pub fn on_success(&mut self, permit: Permit, now: Instant) {
        let _ = now; // Part of the uniform API; success needs no timestamp.
        if !self.is_current(&permit) {
            return;
        }
        self.consecutive_failures = 0;
        if permit.is_probe() {
            self.transition(Phase::Closed);
            self.opened_at = None;
        }
    }

    /// Report that the admitted call failed in a way that indicates the
    /// backend is unhealthy (timeout, connection error, 5xx, ...).
    ///
    /// While closed this opens the breaker once the consecutive count reaches
    /// the threshold; a probe's failure re-opens it for another `open_for`.
    pub fn on_failure(&mut self, permit: Permit, now: Instant) {
        if !self.is_current(&permit) {
            return;
        }
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let trip =
            permit.is_probe() || self.consecutive_failures >= self.config.failure_threshold.max(1);
        if trip {
            if self.phase == Phase::Closed {
                self.opened_at = Some(now);
            }
            self.transition(Phase::Open { since: now });
        }
    }

    /// Report that the admitted call ended without a verdict on the backend
    /// (cancelled, client went away, shutting down).
    ///
    /// For a probe this frees the half-open slot at once, so the next call
    /// probes instead of waiting for the lease to expire. For other permits
    /// it does nothing.
    pub fn on_cancel(&mut self, permit: Permit, now: Instant) {
        let _ = now; // Part of the uniform API; cancellation needs no timestamp.
        if self.is_current(&permit) && permit.is_probe() {
            self.phase = Phase::HalfOpen { probe_since: None };
        }
    }

    /// Snapshot for metrics and status output, as seen at `now`.
    ///
    /// Transitions happen lazily in [`CircuitBreaker::try_acquire`]; this
    /// reports what the breaker would do at `now` (an elapsed open period
    /// shows as half-open, an expired probe lease as no probe in flight)
    /// without changing anything.
    pub fn state(&self, now: Instant) -> BreakerState {
        let status = if !self.config.enabled {
            BreakerStatus::Closed
        } else {
            match self.phase {
                Phase::Closed => BreakerStatus::Closed,
                Phase::Open { since } => match self.remaining(since, now) {
                    Some(retry_in) => BreakerStatus::Open { retry_in },
                    None => BreakerStatus::HalfOpen {
                        probe_in_flight: false,
                    },
                },
                Phase::HalfOpen { probe_since } => BreakerStatus::HalfOpen {
                    probe_in_flight: probe_since
                        .is_some_and(|since| self.remaining(since, now).is_some()),
                },
            }
        };
        BreakerState {
            status,
            consecutive_failures: self.consecutive_failures,
            opened_at: self.opened_at,
        }
    }

    /// Time left of an `open_for` period that started at `since`, or `None`
    /// if it is over. A `now` earlier than `since` (a caller mixing clocks)
    /// counts as no time elapsed, keeping the breaker conservative.
    fn remaining(&self, since: Instant, now: Instant) -> Option<Duration> {
        let left = self
            .config
            .open_for
            .saturating_sub(now.saturating_duration_since(since));
        (!left.is_zero()).then_some(left)
    }

    fn admit_probe(&mut self, now: Instant) -> Permit {
        self.transition(Phase::HalfOpen {
            probe_since: Some(now),
        });
        Permit {
            kind: PermitKind::Probe {
                phase: self.phase_id,
            },
        }
    }

    fn transition(&mut self, phase: Phase) {
        self.phase = phase;
        // Wrapping is harmless: a permit would have to survive 2^64
        // transitions to be mistaken for a current one.
        self.phase_id = self.phase_id.wrapping_add(1);
    }

    /// Whether a report for `permit` should affect the breaker.
    fn is_current(&self, permit: &Permit) -> bool {
        if !self.config.enabled {
            return false;
        }
        match (permit.kind, self.phase) {
            (PermitKind::Bypass, _) => false,
            (PermitKind::Normal { phase }, Phase::Closed) => phase == self.phase_id,
            (PermitKind::Probe { phase }, Phase::HalfOpen { .. }) => phase == self.phase_id,
            _ => false,
        }
    }
}

impl Default for CircuitBreaker {
    /// A closed breaker with [`BreakerConfig::default`].
    fn default() -> Self {
        Self::new(BreakerConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN_FOR: Duration = Duration::from_secs(60);

    fn breaker(threshold: u32) -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            enabled: true,
            failure_threshold: threshold,
            open_for: OPEN_FOR,
        })
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// Fail `n` calls, each admitted and reported at `now`.
    fn fail_n(b: &mut CircuitBreaker, n: u32, now: Instant) {
        for _ in 0..n {
            let p = b.try_acquire(now).expect("admitted while closed");
            b.on_failure(p, now);
        }
    }

    /// Open the breaker at `t0` and return the instant the open period ends.
    fn open_at(b: &mut CircuitBreaker, t0: Instant) -> Instant {
        fail_n(b, b.config().failure_threshold, t0);
        assert!(matches!(b.state(t0).status, BreakerStatus::Open { .. }));
        t0 + OPEN_FOR
    }

    #[test]
    fn defaults_match_performance_guide() {
        let c = BreakerConfig::default();
        assert!(c.enabled);
        assert_eq!(c.failure_threshold, 5);
        assert_eq!(c.open_for, secs(60));
        assert_eq!(CircuitBreaker::default().config(), &c);
    }

    #[test]
    fn new_breaker_is_closed() {
        let t0 = Instant::now();
        let b = breaker(5);
        assert_eq!(
            b.state(t0),
            BreakerState {
                status: BreakerStatus::Closed,
                consecutive_failures: 0,
                opened_at: None,
            }
        );
    }

    #[test]
    fn opens_exactly_at_threshold() {
        let t0 = Instant::now();
        let mut b = breaker(5);
        fail_n(&mut b, 4, t0);
        let s = b.state(t0);
        assert_eq!(s.status, BreakerStatus::Closed);
        assert_eq!(s.consecutive_failures, 4);

        let t1 = t0 + secs(1);
        fail_n(&mut b, 1, t1);
        let s = b.state(t1);
        assert_eq!(s.status, BreakerStatus::Open { retry_in: OPEN_FOR });
        assert_eq!(s.consecutive_failures, 5);
        assert_eq!(s.opened_at, Some(t1));
    }

    #[test]
    fn zero_threshold_behaves_as_one() {
        let t0 = Instant::now();
        let mut b = breaker(0);
        fail_n(&mut b, 1, t0);
        assert!(matches!(b.state(t0).status, BreakerStatus::Open { .. }));
    }

    #[test]
    fn rejects_while_open_with_time_left() {
        let t0 = Instant::now();
        let mut b = breaker(3);
        open_at(&mut b, t0);

        let err = b.try_acquire(t0 + secs(18)).expect_err("open");
        assert_eq!(
            err,
            Rejected {
                retry_in: secs(42),
                probe_in_flight: false
            }
        );
        assert_eq!(err.to_string(), "circuit open, next try in 42 s");

        let err = b
            .try_acquire(t0 + OPEN_FOR - Duration::from_millis(1))
            .expect_err("still open 1 ms before the end");
        assert_eq!(err.retry_in, Duration::from_millis(1));
        // Rounded up: never "0 s" while still waiting.
        assert_eq!(err.to_string(), "circuit open, next try in 1 s");
    }

    #[test]
    fn success_resets_consecutive_count() {
        let t0 = Instant::now();
        let mut b = breaker(3);
        fail_n(&mut b, 2, t0);
        let p = b.try_acquire(t0).expect("closed");
        b.on_success(p, t0);
        assert_eq!(b.state(t0).consecutive_failures, 0);

        // Two more failures are not enough: the count started again.
        fail_n(&mut b, 2, t0);
        assert_eq!(b.state(t0).status, BreakerStatus::Closed);
        fail_n(&mut b, 1, t0);
        assert!(matches!(b.state(t0).status, BreakerStatus::Open { .. }));
    }

    #[test]
    fn half_open_admits_exactly_one_probe() {
        let t0 = Instant::now();
        let mut b = breaker(2);
        let t_end = open_at(&mut b, t0);
        assert_eq!(
            b.state(t_end).status,
            BreakerStatus::HalfOpen {
                probe_in_flight: false
            }
        );

        let probe = b.try_acquire(t_end).expect("probe admitted");
        assert!(probe.is_probe());
        assert_eq!(
            b.state(t_end).status,
            BreakerStatus::HalfOpen {
                probe_in_flight: true
            }
        );
        for dt in [0, 1, 30, 59] {
            let err = b
                .try_acquire(t_end + secs(dt))
                .expect_err("probe in flight");
            assert!(err.probe_in_flight);
            assert_eq!(err.retry_in, OPEN_FOR - secs(dt));
        }
        assert_eq!(
            b.try_acquire(t_end + secs(30))
                .expect_err("probe in flight")
                .to_string(),
            "circuit half-open with a probe in flight, next try in 30 s"
        );
        b.on_success(probe, t_end + secs(59));
    }

    #[test]
    fn probe_success_closes() {
        let t0 = Instant::now();
        let mut b = breaker(2);
        let t_end = open_at(&mut b, t0);
        let probe = b.try_acquire(t_end).expect("probe");
        b.on_success(probe, t_end + secs(5));
        assert_eq!(
            b.state(t_end + secs(5)),
            BreakerState {
                status: BreakerStatus::Closed,
                consecutive_failures: 0,
                opened_at: None,
            }
        );
        // Fully closed again: concurrent calls are admitted.
        let a = b.try_acquire(t_end + secs(6)).expect("closed");
        let c = b.try_acquire(t_end + secs(6)).expect("closed");
        assert!(!a.is_probe() && !c.is_probe());
        b.on_success(a, t_end + secs(7));
        b.on_success(c, t_end + secs(7));
    }

    #[test]
    fn probe_failure_reopens_for_another_period() {
        let t0 = Instant::now();
        let mut b = breaker(2);
        let t_end = open_at(&mut b, t0);
        let probe = b.try_acquire(t_end).expect("probe");
        let t_fail = t_end + secs(10);
        b.on_failure(probe, t_fail);

        let s = b.state(t_fail);
        assert_eq!(s.status, BreakerStatus::Open { retry_in: OPEN_FOR });
        assert_eq!(s.consecutive_failures, 3);
        // The outage began at the first trip, not at the re-open.
        assert_eq!(s.opened_at, Some(t0));

        let err = b.try_acquire(t_fail + secs(20)).expect_err("re-opened");
        assert_eq!(err.retry_in, secs(40));
        assert!(!err.probe_in_flight);
        // After the second period a new probe is admitted.
        assert!(b.try_acquire(t_fail + OPEN_FOR).expect("probe").is_probe());
    }

    #[test]
    fn disabled_breaker_always_admits_and_ignores_reports() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(BreakerConfig {
            enabled: false,
            ..BreakerConfig::default()
        });
        for i in 0..100 {
            let p = b.try_acquire(t0 + secs(i)).expect("disabled admits");
            assert!(!p.is_probe());
            b.on_failure(p, t0 + secs(i));
        }
        assert_eq!(
            b.state(t0 + secs(100)),
            BreakerState {
                status: BreakerStatus::Closed,
                consecutive_failures: 0,
                opened_at: None,
            }
        );
    }

    #[test]
    fn dropped_probe_expires_and_another_probe_is_admitted() {
        let t0 = Instant::now();
        let mut b = breaker(2);
        let t_end = open_at(&mut b, t0);
        let lost = b.try_acquire(t_end).expect("probe");
        drop(lost); // e.g. the caller's future was cancelled

        assert!(b.try_acquire(t_end + secs(59)).is_err());
        assert_eq!(
            b.state(t_end + OPEN_FOR).status,
            BreakerStatus::HalfOpen {
                probe_in_flight: false
            }
        );
        let second = b.try_acquire(t_end + OPEN_FOR).expect("lease expired");
        assert!(second.is_probe());
        b.on_success(second, t_end + OPEN_FOR + secs(1));
        assert_eq!(
            b.state(t_end + OPEN_FOR + secs(1)).status,
            BreakerStatus::Closed
        );
    }

    #[test]
    fn cancelled_probe_frees_the_slot_immediately() {
        let t0 = Instant::now();
        let mut b = breaker(2);
        let t_end = open_at(&mut b, t0);
        let probe = b.try_acquire(t_end).expect("probe");
        b.on_cancel(probe, t_end + secs(1));
        assert_eq!(
            b.state(t_end + secs(1)).status,
            BreakerStatus::HalfOpen {
                probe_in_flight: false
            }
        );
        // No judgement was made: failures are unchanged, and the next call probes.
        assert_eq!(b.state(t_end + secs(1)).consecutive_failures, 2);
        let next = b.try_acquire(t_end + secs(1)).expect("slot free");
        assert!(next.is_probe());
        b.on_failure(next, t_end + secs(2));
    }

    #[test]
    fn cancel_of_normal_permit_changes_nothing() {
        let t0 = Instant::now();
        let mut b = breaker(3);
        fail_n(&mut b, 2, t0);
        let p = b.try_acquire(t0).expect("closed");
        b.on_cancel(p, t0);
        assert_eq!(b.state(t0).consecutive_failures, 2);
        assert_eq!(b.state(t0).status, BreakerStatus::Closed);
    }

    #[test]
    fn late_report_of_expired_probe_is_ignored() {
        let t0 = Instant::now();
        let mut b = breaker(2);
        let t_end = open_at(&mut b, t0);
        let slow = b.try_acquire(t_end).expect("probe");
        let current = b.try_acquire(t_end + OPEN_FOR).expect("lease expired");

        // The slow probe finally fails; only the current probe decides.
        b.on_failure(slow, t_end + OPEN_FOR + secs(1));
        assert!(b.try_acquire(t_end + OPEN_FOR + secs(1)).is_err());
        b.on_success(current, t_end + OPEN_FOR + secs(2));
        assert_eq!(
            b.state(t_end + OPEN_FOR + secs(2)).status,
            BreakerStatus::Closed
        );
    }

    #[test]
    fn calls_admitted_before_opening_do_not_extend_or_close_it() {
        let t0 = Instant::now();
        let mut b = breaker(2);
        let in_flight_fail = b.try_acquire(t0).expect("closed");
        let in_flight_ok = b.try_acquire(t0).expect("closed");
        fail_n(&mut b, 2, t0);

        let t1 = t0 + secs(30);
        b.on_failure(in_flight_fail, t1);
        b.on_success(in_flight_ok, t1);
        let s = b.state(t1);
        assert_eq!(s.status, BreakerStatus::Open { retry_in: secs(30) });
        assert_eq!(s.opened_at, Some(t0));
    }

    #[test]
    fn normal_permit_from_before_an_outage_is_ignored_after_recovery() {
        let t0 = Instant::now();
        let mut b = breaker(2);
        let old = b.try_acquire(t0).expect("closed");
        let t_end = open_at(&mut b, t0);
        let probe = b.try_acquire(t_end).expect("probe");
        b.on_success(probe, t_end);
        // A failure from the previous closed period does not count now.
        b.on_failure(old, t_end + secs(1));
        assert_eq!(b.state(t_end + secs(1)).consecutive_failures, 0);
    }

    #[test]
    fn clock_going_backwards_keeps_breaker_open() {
        let t0 = Instant::now() + secs(10);
        let mut b = breaker(1);
        fail_n(&mut b, 1, t0);
        let err = b.try_acquire(t0 - secs(5)).expect_err("still open");
        assert_eq!(err.retry_in, OPEN_FOR);
    }

    #[test]
    fn huge_open_for_does_not_overflow() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(BreakerConfig {
            enabled: true,
            failure_threshold: 1,
            open_for: Duration::MAX,
        });
        fail_n(&mut b, 1, t0);
        let err = b.try_acquire(t0 + secs(3600)).expect_err("open");
        assert_eq!(err.retry_in, Duration::MAX - secs(3600));
        assert!(matches!(b.state(t0).status, BreakerStatus::Open { .. }));
    }

    #[test]
    fn status_labels_are_stable() {
        assert_eq!(BreakerStatus::Closed.as_str(), "closed");
        assert_eq!(
            BreakerStatus::Open {
                retry_in: Duration::ZERO
            }
            .as_str(),
            "open"
        );
        assert_eq!(
            BreakerStatus::HalfOpen {
                probe_in_flight: true
            }
            .as_str(),
            "half_open"
        );
    }
}
