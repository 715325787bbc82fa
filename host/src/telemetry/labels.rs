//! [`LabelSet`]: per-label statistics (per tool, per backend) in a set of bounded size.
//!
//! Tools are a fixed set, but backends are whatever plugins the operator installed, and every
//! label value is a series Prometheus keeps forever; so the set holds at most `capacity`
//! labels and counts the rest together under [`OTHER`]. A lookup takes a read lock and scans
//! a short vector (a few dozen entries at most, faster than hashing the name); only the first
//! use of a label takes the write lock and allocates.

use parking_lot::RwLock;

/// The label that stands for every label past the capacity.
pub const OTHER: &str = "other";

/// Statistics `T` per label.
pub struct LabelSet<T> {
    capacity: usize,
    entries: RwLock<Vec<(Box<str>, T)>>,
    overflow: T,
    make: Box<dyn Fn() -> T + Send + Sync>,
}

impl<T> LabelSet<T> {
    /// A set of at most `capacity` labels, each starting as `make()`.
    pub fn new(capacity: usize, make: impl Fn() -> T + Send + Sync + 'static) -> LabelSet<T> {
        LabelSet {
            capacity,
            entries: RwLock::new(Vec::new()),
            overflow: make(),
            make: Box::new(make),
        }
    }

    /// Calls `use_stats` with the statistics of `label`, adding the label on first use (or
    /// using [`OTHER`] when the set is full).
    pub fn with<R>(&self, label: &str, use_stats: impl FnOnce(&T) -> R) -> R {
        {
            let entries = self.entries.read();
            if let Some((_, stats)) = entries.iter().find(|(name, _)| &**name == label) {
                return use_stats(stats);
            }
        }
        let mut entries = self.entries.write();
        if let Some(index) = entries.iter().position(|(name, _)| &**name == label) {
            return use_stats(&entries[index].1);
        }
        if entries.len() >= self.capacity || label == OTHER {
            return use_stats(&self.overflow);
        }
        entries.push((label.into(), (self.make)()));
        let (_, stats) = &entries[entries.len() - 1];
        use_stats(stats)
    }

    /// Calls `visit` for every label in order of first use, then for [`OTHER`].
    pub fn each(&self, mut visit: impl FnMut(&str, &T)) {
        let entries = self.entries.read();
        for (name, stats) in entries.iter() {
            visit(name, stats);
        }
        visit(OTHER, &self.overflow);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    fn count(set: &LabelSet<AtomicU64>) -> Vec<(String, u64)> {
        let mut seen = Vec::new();
        set.each(|name, n| seen.push((name.to_owned(), n.load(Ordering::Relaxed))));
        seen
    }

    #[test]
    fn labels_past_the_capacity_are_counted_as_other() {
        let set = LabelSet::new(2, AtomicU64::default);
        for label in ["a", "b", "a", "c", "d", "other"] {
            set.with(label, |n| n.fetch_add(1, Ordering::Relaxed));
        }
        assert_eq!(
            count(&set),
            [
                ("a".to_owned(), 2),
                ("b".to_owned(), 1),
                ("other".to_owned(), 3)
            ]
        );
    }
}
