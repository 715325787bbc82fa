//! [`Window`]: a sliding time window as a fixed ring of slots, each covering an equal slice
//! of time, so memory stays the same however much traffic passes.
//!
//! The performance guide's monitor keeps a timestamp per request and filters the list on
//! every call; at thousands of calls a minute that is memory and work proportional to the
//! traffic. Here a record lands in the slot of its time slice (a slot is reset when its
//! slice comes round again) and a reading folds the slots still inside the window. The
//! window therefore covers the current, partial slice and the `slots − 1` before it: its
//! real span is between `(slots − 1) / slots` and all of the nominal length.
//!
//! A slot is updated under a mutex: the critical section is a few additions, and the lock
//! keeps a slot's reset and its counts consistent, which separate atomics would not.

use parking_lot::Mutex;
use std::time::{Duration, Instant};

/// Counts for throughput and error rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rate {
    /// Requests.
    pub requests: u64,
    /// Of those, failed.
    pub errors: u64,
}

impl Rate {
    /// Adds one request.
    pub fn record(&mut self, ok: bool) {
        self.requests += 1;
        self.errors += u64::from(!ok);
    }

    /// Adds `other`.
    pub fn merge(mut self, other: &Rate) -> Rate {
        self.requests += other.requests;
        self.errors += other.errors;
        self
    }

    /// Errors per request (0 when there were none).
    pub fn error_ratio(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }
}

struct Slot<S> {
    /// The time slice this slot holds; `u64::MAX` before first use.
    slice: u64,
    value: S,
}

/// A sliding window of `S` values.
pub struct Window<S> {
    origin: Instant,
    slice: Duration,
    slots: Mutex<Vec<Slot<S>>>,
}

impl<S: Default> Window<S> {
    /// A window `length` long made of `slots` slices (at least one slice of at least 1 ms).
    pub fn new(length: Duration, slots: usize) -> Window<S> {
        let slots = slots.max(1);
        let slice = (length / slots as u32).max(Duration::from_millis(1));
        Window {
            origin: Instant::now(),
            slice,
            slots: Mutex::new(
                (0..slots)
                    .map(|_| Slot {
                        slice: u64::MAX,
                        value: S::default(),
                    })
                    .collect(),
            ),
        }
    }

    /// The nominal length: whole slices.
    #[cfg(test)]
    pub fn length(&self) -> Duration {
        self.slice * self.slots.lock().len() as u32
    }

    fn slice_at(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(since / self.slice.as_nanos().max(1)).unwrap_or(u64::MAX - 1)
    }

    /// Changes the value of the slice `now` falls in.
    pub fn record(&self, now: Instant, change: impl FnOnce(&mut S)) {
        let slice = self.slice_at(now);
        let mut slots = self.slots.lock();
        let count = slots.len() as u64;
        let slot = &mut slots[(slice % count) as usize];
        if slot.slice != slice {
            slot.slice = slice;
            slot.value = S::default();
        }
        change(&mut slot.value);
    }

    /// Folds the values of the slices inside the window at `now`.
    pub fn fold<A>(&self, now: Instant, init: A, mut step: impl FnMut(A, &S) -> A) -> A {
        let current = self.slice_at(now);
        let slots = self.slots.lock();
        let count = slots.len() as u64;
        slots
            .iter()
            .filter(|slot| slot.slice <= current && slot.slice + count > current)
            .fold(init, |acc, slot| step(acc, &slot.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_leave_the_window_after_its_length() {
        let window: Window<Rate> = Window::new(Duration::from_secs(60), 6);
        let start = window.origin;
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        let total = |seconds| window.fold(at(seconds), Rate::default(), Rate::merge);
        window.record(at(0), |r| r.record(true));
        window.record(at(5), |r| r.record(false));
        window.record(at(25), |r| r.record(true));
        assert_eq!(
            total(25),
            Rate {
                requests: 3,
                errors: 1
            }
        );
        assert!((total(25).error_ratio() - 1.0 / 3.0).abs() < 1e-12);
        // The slice 0..10 s leaves at 60 s; the one at 25 s stays until 80 s.
        assert_eq!(
            total(59),
            Rate {
                requests: 3,
                errors: 1
            }
        );
        assert_eq!(
            total(60),
            Rate {
                requests: 1,
                errors: 0
            }
        );
        assert_eq!(total(80), Rate::default());
        assert_eq!(Rate::default().error_ratio(), 0.0);
    }

    #[test]
    fn a_slot_coming_round_again_starts_from_nothing() {
        let window: Window<Rate> = Window::new(Duration::from_secs(3), 3);
        let start = window.origin;
        window.record(start, |r| r.record(false));
        // Three slices later the same slot holds a new slice.
        window.record(start + Duration::from_secs(3), |r| r.record(true));
        let now = start + Duration::from_secs(3);
        assert_eq!(
            window.fold(now, Rate::default(), Rate::merge),
            Rate {
                requests: 1,
                errors: 0
            }
        );
        assert_eq!(window.length(), Duration::from_secs(3));
    }

    #[test]
    fn a_time_before_the_origin_counts_as_the_first_slice() {
        let window: Window<Rate> = Window::new(Duration::from_secs(10), 10);
        let before = window.origin.checked_sub(Duration::from_secs(1));
        if let Some(before) = before {
            window.record(before, |r| r.record(true));
            assert_eq!(window.fold(before, 0, |n, r| n + r.requests), 1);
        }
    }
}
