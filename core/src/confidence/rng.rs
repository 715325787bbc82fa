//! Seeded pseudo-random numbers: the reproducible draws behind call orders, the Monte Carlo
//! of [`winner`](super::winner) and the simulated judges.
//!
//! The generator is SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
//! generators", 2014): a 64-bit state advanced by a fixed odd increment and finished by a
//! bijective mixing function. It is written here rather than taken from a crate because the
//! orders it produces are part of what a session reproduces: the sequence for a seed must not
//! change with a dependency upgrade. Its quality (it passes BigCrush) is ample for a few
//! thousand draws per decision; it is not for anything secret.

use std::f64::consts::TAU;

/// The Weyl increment: 2^64 divided by the golden ratio, rounded to odd.
const INCREMENT: u64 = 0x9E37_79B9_7F4A_7C15;

/// The finaliser: a bijection of `u64` with strong avalanche, so consecutive states give
/// unrelated outputs.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed derived from a label (such as a session id) and numbers (such as a criterion id
/// and a round): the same inputs always give the same seed, and any change gives an
/// unrelated one.
pub fn derive_seed(label: &str, parts: &[u64]) -> u64 {
    // FNV-1a folds the label's bytes; the mixer then spreads each number over every bit.
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    for byte in label.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
    }
    let mut seed = mix(hash);
    for &part in parts {
        seed = mix(seed ^ mix(part.wrapping_add(INCREMENT)));
    }
    seed
}

/// A deterministic stream of pseudo-random numbers.
#[derive(Debug, Clone)]
pub struct SeededRng {
    state: u64,
    /// Box–Muller makes normal deviates in pairs; the second waits here.
    spare: Option<f64>,
}

impl SeededRng {
    /// A stream that starts from `seed`.
    pub fn new(seed: u64) -> SeededRng {
        SeededRng {
            state: seed,
            spare: None,
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(INCREMENT);
        mix(self.state)
    }

    /// Uniform on `[0, 1)`, with 53 random bits (every double of the form k·2⁻⁵³).
    pub fn unit(&mut self) -> f64 {
        const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
        (self.next_u64() >> 11) as f64 * SCALE
    }

    /// Uniform on `[low, high)`.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Uniform on `0..n`, without the bias of a plain modulo (Lemire's multiply-and-reject).
    /// `n` must be positive; 0 gives 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let mut product = u128::from(self.next_u64()) * u128::from(n);
        // The low half falls below 2^64 mod n for exactly the draws that would make some
        // results more likely than others; those are drawn again.
        let threshold = n.wrapping_neg() % n;
        while (product as u64) < threshold {
            product = u128::from(self.next_u64()) * u128::from(n);
        }
        (product >> 64) as u64
    }

    /// A standard normal deviate (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        if let Some(spare) = self.spare.take() {
            return spare;
        }
        // 1 − u lies in (0, 1], so the logarithm is finite.
        let radius = (-2.0 * (1.0 - self.unit()).ln()).sqrt();
        let angle = TAU * self.unit();
        self.spare = Some(radius * angle.sin());
        radius * angle.cos()
    }

    /// Puts `items` in a uniformly random order (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_different_seeds_differ() {
        let mut a = SeededRng::new(7);
        let mut b = SeededRng::new(7);
        let mut c = SeededRng::new(8);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..5).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn stream_is_pinned() {
        // The sequence is part of what sessions reproduce: a change here changes every
        // call order ever drawn. Reference values of SplitMix64 from seed 0.
        let mut rng = SeededRng::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn derived_seeds_depend_on_every_input() {
        let base = derive_seed("session", &[1, 2]);
        assert_eq!(base, derive_seed("session", &[1, 2]));
        assert_ne!(base, derive_seed("session", &[2, 1]));
        assert_ne!(base, derive_seed("Session", &[1, 2]));
        assert_ne!(base, derive_seed("session", &[1, 2, 0]));
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = SeededRng::new(3);
        let mut seen = [0u32; 6];
        for _ in 0..6000 {
            let x = rng.below(6) as usize;
            seen[x] += 1;
        }
        // Each face expects 1000; 4 standard deviations is about 130.
        assert!(seen.iter().all(|&n| (870..=1130).contains(&n)), "{seen:?}");
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.below(1), 0);
    }

    #[test]
    fn normal_deviates_have_unit_moments() {
        let mut rng = SeededRng::new(11);
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.04, "variance {var}");
        let beyond_two = xs.iter().filter(|x| x.abs() > 2.0).count() as f64 / n as f64;
        assert!((beyond_two - 0.0455).abs() < 0.006, "tails {beyond_two}");
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = SeededRng::new(5);
        let mut items: Vec<u32> = (0..20).collect();
        rng.shuffle(&mut items);
        assert_ne!(items, (0..20).collect::<Vec<_>>());
        items.sort_unstable();
        assert_eq!(items, (0..20).collect::<Vec<_>>());
    }
}
