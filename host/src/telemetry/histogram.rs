//! Latency histograms with fixed log-scale buckets: [`Histogram`] (shared, lock-free) and
//! [`Distribution`] (plain counts: a snapshot, or one slot of a sliding window).
//!
//! Why fixed buckets rather than stored samples (as the performance guide's monitor keeps)
//! or an HDR/t-digest crate: recording must cost a few atomic additions and no allocation,
//! memory must not grow with traffic, and Prometheus wants cumulative buckets anyway. The 48
//! bounds grow by a factor of √2 from 0.1 ms to about 20 minutes, which covers a sub-
//! millisecond tool call and the longest evaluation alike in 400 bytes per histogram.
//!
//! Percentiles are estimated as the geometric middle of the bucket holding the wanted rank
//! (never above the largest value seen; the last rank is the largest value itself). A bucket's bounds differ by √2, so an estimate is
//! within a factor of 2^¼ of the true value: at most 19 % off (less in practice: values are
//! spread over the bucket). Values above the last bound are reported as the largest seen.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in microseconds: 100 µs × √2ᵏ, rounded.
pub const BOUNDS_MICROS: [u64; 48] = [
    100, 141, 200, 283, 400, 566, 800, 1131, 1600, 2263, 3200, 4525, 6400, 9051, 12800, 18102,
    25600, 36204, 51200, 72408, 102400, 144815, 204800, 289631, 409600, 579262, 819200, 1158524,
    1638400, 2317048, 3276800, 4634095, 6553600, 9268190, 13107200, 18536380, 26214400, 37072760,
    52428800, 74145520, 104857600, 148291040, 209715200, 296582080, 419430400, 593164160,
    838860800, 1186328320,
];

/// Buckets, the last one (above every bound) included.
pub const BUCKETS: usize = BOUNDS_MICROS.len() + 1;

/// The percentiles reported everywhere: p50, p90, p95, p99.
#[cfg(test)]
pub const PERCENTILES: [f64; 4] = [0.50, 0.90, 0.95, 0.99];

fn micros(value: Duration) -> u64 {
    u64::try_from(value.as_micros()).unwrap_or(u64::MAX)
}

/// The bucket `value` (µs) falls in: the first whose bound is not below it.
fn bucket_of(value: u64) -> usize {
    BOUNDS_MICROS.partition_point(|&bound| bound < value)
}

/// A histogram many threads record into without locking.
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    sum_micros: AtomicU64,
    max_micros: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
            max_micros: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Records one value: three relaxed atomic operations.
    pub fn record(&self, value: Duration) {
        let value = micros(value);
        self.buckets[bucket_of(value)].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(value, Ordering::Relaxed);
        self.max_micros.fetch_max(value, Ordering::Relaxed);
    }

    /// The counts now. Concurrent records may land in some fields and not yet in others; a
    /// scrape is never more than one value off.
    pub fn snapshot(&self) -> Distribution {
        Distribution {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
            sum_micros: self.sum_micros.load(Ordering::Relaxed),
            max_micros: self.max_micros.load(Ordering::Relaxed),
        }
    }
}

/// Counts per bucket, with the sum and the largest value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    /// Values per bucket (not cumulative); the last counts values above every bound.
    pub buckets: [u64; BUCKETS],
    /// Sum of the values, in microseconds.
    pub sum_micros: u64,
    /// The largest value, in microseconds.
    pub max_micros: u64,
}

impl Default for Distribution {
    fn default() -> Distribution {
        Distribution {
            buckets: [0; BUCKETS],
            sum_micros: 0,
            max_micros: 0,
        }
    }
}

impl Distribution {
    /// Adds one value.
    pub fn record(&mut self, value: Duration) {
        let value = micros(value);
        self.buckets[bucket_of(value)] += 1;
        self.sum_micros = self.sum_micros.saturating_add(value);
        self.max_micros = self.max_micros.max(value);
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Distribution) {
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.sum_micros = self.sum_micros.saturating_add(other.sum_micros);
        self.max_micros = self.max_micros.max(other.max_micros);
    }

    /// How many values.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// The sum of the values.
    pub fn sum(&self) -> Duration {
        Duration::from_micros(self.sum_micros)
    }

    /// The largest value.
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_micros)
    }

    /// The `q` quantile (0 < q ≤ 1) within the bound in the module docs; `None` when empty.
    pub fn percentile(&self, q: f64) -> Option<Duration> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        // The rank of the wanted value, 1-based, as the guide's monitor takes it.
        let rank = ((q.clamp(0.0, 1.0) * count as f64).ceil() as u64).clamp(1, count);
        if rank == count {
            // The last rank is the largest value, which is known exactly.
            return Some(self.max());
        }
        let mut seen = 0;
        for (index, &in_bucket) in self.buckets.iter().enumerate() {
            seen += in_bucket;
            if seen < rank {
                continue;
            }
            let Some(&upper) = BOUNDS_MICROS.get(index) else {
                return Some(self.max());
            };
            let lower = match index {
                0 => upper as f64 / std::f64::consts::SQRT_2,
                _ => BOUNDS_MICROS[index - 1] as f64,
            };
            let middle = (lower * upper as f64).sqrt().round() as u64;
            return Some(Duration::from_micros(middle.min(self.max_micros)));
        }
        Some(self.max())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(value: f64) -> Duration {
        Duration::from_secs_f64(value / 1000.0)
    }

    #[test]
    fn bounds_grow_by_the_square_root_of_two() {
        for pair in BOUNDS_MICROS.windows(2) {
            let ratio = pair[1] as f64 / pair[0] as f64;
            assert!((ratio - std::f64::consts::SQRT_2).abs() < 0.01, "{pair:?}");
        }
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(100), 0);
        assert_eq!(bucket_of(101), 1);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_of_a_uniform_spread_are_within_the_documented_bound() {
        let histogram = Histogram::default();
        // 1..=1000 ms: the true p-quantile is p × 1000 ms.
        for i in 1..=1000 {
            histogram.record(ms(f64::from(i)));
        }
        let distribution = histogram.snapshot();
        assert_eq!(distribution.count(), 1000);
        assert_eq!(distribution.sum(), ms(500_500.0));
        assert_eq!(distribution.max(), ms(1000.0));
        let bound = 2f64.powf(0.25);
        for q in PERCENTILES {
            let estimate = distribution.percentile(q).expect("not empty").as_secs_f64();
            let truth = q;
            let ratio = estimate / truth;
            assert!(
                (1.0 / bound..=bound).contains(&ratio),
                "p{q}: {estimate} vs {truth}"
            );
        }
    }

    #[test]
    fn one_value_is_its_own_percentile_and_empty_has_none() {
        let mut distribution = Distribution::default();
        assert_eq!(distribution.percentile(0.5), None);
        distribution.record(ms(3.0));
        // The last rank is the largest value: a single sample is reported exactly.
        assert_eq!(distribution.percentile(0.99), Some(ms(3.0)));
        // Beyond the last bound: the largest value.
        distribution.record(Duration::from_secs(3600));
        assert_eq!(
            distribution.percentile(1.0),
            Some(Duration::from_secs(3600))
        );
    }

    #[test]
    fn merging_adds_counts_sums_and_keeps_the_largest() {
        let mut a = Distribution::default();
        a.record(ms(1.0));
        let mut b = Distribution::default();
        b.record(ms(10.0));
        b.record(ms(10.0));
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.sum(), ms(21.0));
        assert_eq!(a.max(), ms(10.0));
        let p50 = a.percentile(0.5).expect("not empty").as_secs_f64() * 1000.0;
        assert!((8.0..=10.0).contains(&p50), "{p50}");
    }
}
