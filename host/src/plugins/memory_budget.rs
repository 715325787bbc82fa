//! The memory all plugin calls in flight may hold together.
//!
//! Each call's linear memory is capped on its own ([`PluginLimits`](super::limits::PluginLimits)),
//! but calls run in parallel: 16 calls at 200 MiB each would hold 3.2 GiB. The budget counts
//! the linear memory of every live call instance; a call whose growth would take the total
//! past the budget is refused that growth, which stops it with a clear, retryable error
//! ([`CallError::MemoryBudget`](super::CallError::MemoryBudget)) while the calls already
//! running finish. Refusing rather than waiting is deliberate: a call waiting for memory
//! while holding its own could wait on another that waits on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The shared budget. Cheap to clone; every clone draws on the same total.
#[derive(Debug, Clone)]
pub struct MemoryBudget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    total: usize,
    in_use: AtomicUsize,
}

/// What one call holds of the budget; given back when dropped (when the call's store is).
#[derive(Debug)]
pub struct Reservation {
    budget: MemoryBudget,
    held: usize,
}

impl MemoryBudget {
    /// A budget of `total` bytes.
    pub fn new(total: usize) -> MemoryBudget {
        MemoryBudget {
            inner: Arc::new(Inner {
                total,
                in_use: AtomicUsize::new(0),
            }),
        }
    }

    /// The budget in bytes.
    pub fn total(&self) -> usize {
        self.inner.total
    }

    /// Bytes held by calls in flight.
    pub fn in_use(&self) -> usize {
        self.inner.in_use.load(Ordering::Relaxed)
    }

    /// An empty reservation for one call.
    pub fn reservation(&self) -> Reservation {
        Reservation {
            budget: self.clone(),
            held: 0,
        }
    }

    fn take(&self, bytes: usize) -> bool {
        let total = self.inner.total;
        self.inner
            .in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&after| after <= total)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.inner.in_use.fetch_sub(bytes, Ordering::AcqRel);
    }
}

impl Reservation {
    /// Grows this call's share from `current` to `desired` bytes of linear memory; `false`
    /// (and nothing taken) when the budget cannot cover the growth.
    pub fn grow(&mut self, current: usize, desired: usize) -> bool {
        let growth = desired.saturating_sub(current);
        if self.budget.take(growth) {
            self.held += growth;
            true
        } else {
            false
        }
    }

    /// Bytes this call holds.
    pub fn held(&self) -> usize {
        self.held
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.give_back(self.held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn calls_share_the_total_and_give_it_back_when_they_end() {
        let budget = MemoryBudget::new(100 * MIB);
        let mut first = budget.reservation();
        let mut second = budget.reservation();
        assert!(first.grow(0, 60 * MIB));
        assert!(!second.grow(0, 60 * MIB), "60 + 60 is over 100");
        assert_eq!(second.held(), 0, "a refused growth takes nothing");
        assert!(second.grow(0, 40 * MIB), "exactly the rest fits");
        assert_eq!(budget.in_use(), 100 * MIB);
        drop(first);
        assert_eq!(budget.in_use(), 40 * MIB);
        assert!(second.grow(40 * MIB, 100 * MIB));
        drop(second);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn growth_is_counted_from_the_current_size() {
        let budget = MemoryBudget::new(10 * MIB);
        let mut call = budget.reservation();
        assert!(call.grow(0, 4 * MIB));
        assert!(call.grow(4 * MIB, 10 * MIB));
        assert!(!call.grow(10 * MIB, 11 * MIB));
        assert_eq!(call.held(), 10 * MIB);
    }
}
