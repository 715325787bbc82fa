//! The standard normal distribution: density, distribution function, tail, quantile and
//! inverse Mills ratio — for the censored readings of [`estimate`](super::estimate) and the
//! planner's pairwise separations ("how many standard errors apart must two options be for the
//! target confidence").

use std::sync::OnceLock;

use super::rng::SeededRng;

/// φ(x), the density.
pub fn density(x: f64) -> f64 {
    const SCALE: f64 = 0.398_942_280_401_432_7; // 1/√(2π)
    SCALE * (-0.5 * x * x).exp()
}

/// 1 − Φ(x), computed directly so that it keeps its relative accuracy far into the tail
/// (where 1 − Φ(x) would round to 0).
pub fn upper_tail(x: f64) -> f64 {
    if x >= 0.0 {
        0.5 * erfc(x / std::f64::consts::SQRT_2)
    } else {
        1.0 - 0.5 * erfc(-x / std::f64::consts::SQRT_2)
    }
}

/// The inverse Mills ratio λ(x) = φ(x) / (1 − Φ(x)): the mean of a standard normal deviate
/// known to exceed `x`. Beyond x = 5, where both terms of the ratio head for underflow
/// together, Laplace's continued fraction `x + 1/(x + 2/(x + 3/(x + …)))` is used instead.
pub fn inverse_mills(x: f64) -> f64 {
    if x > 5.0 {
        let mut tail = x;
        for k in (1..=40).rev() {
            tail = x + f64::from(k) / tail;
        }
        return tail;
    }
    density(x) / upper_tail(x)
}

/// Φ(x), the probability that a standard normal deviate is at most `x`. Absolute error below
/// 2·10⁻⁷, plenty for confidence levels quoted to two digits.
pub fn cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let tail = 0.5 * erfc(x.abs() / std::f64::consts::SQRT_2);
    if x >= 0.0 { 1.0 - tail } else { tail }
}

/// The `p`-quantile: the `x` with Φ(x) = p. Infinite at 0 and 1; NaN outside [0, 1].
pub fn quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    // Φ is increasing, so bisection on [-40, 40] cannot miss; 80 halvings reach the
    // resolution of a double, and the cost is irrelevant next to a Monte Carlo run.
    let (mut low, mut high) = (-40.0_f64, 40.0_f64);
    for _ in 0..80 {
        let middle = 0.5 * (low + high);
        if cdf(middle) < p {
            low = middle;
        } else {
            high = middle;
        }
    }
    0.5 * (low + high)
}

/// Draws a standard normal deviate from `rng` by table lookup: the `TABLE` quantiles
/// Φ⁻¹((i + ½)/TABLE) are computed once, and a draw picks one uniformly. The deviates are
/// those of a normal distribution discretised to 4,096 equally likely values (truncated at
/// ±3.7), which changes no probability that a few thousand draws can resolve, at a fraction of
/// the cost of Box–Muller in unoptimised builds.
pub fn draw(rng: &mut SeededRng) -> f64 {
    static QUANTILES: OnceLock<Vec<f64>> = OnceLock::new();
    let table = QUANTILES.get_or_init(|| {
        (0..TABLE)
            .map(|i| quantile((i as f64 + 0.5) / TABLE as f64))
            .collect()
    });
    table[(rng.next_u64() >> (64 - TABLE_BITS)) as usize]
}

const TABLE_BITS: u32 = 12;
const TABLE: usize = 1 << TABLE_BITS;

/// The complementary error function for `z ≥ 0`, by the Chebyshev-fitted exponential form
/// of Numerical Recipes (fractional error below 1.2·10⁻⁷ everywhere).
fn erfc(z: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.5 * z);
    const C: [f64; 10] = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ];
    // Horner's scheme from the highest coefficient down.
    let polynomial = C.iter().rev().fold(0.0, |acc, &c| acc * t + c);
    t * (-z * z + polynomial).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_matches_tabulated_values() {
        // Values from standard normal tables.
        let table = [
            (0.0, 0.5),
            (1.0, 0.841_344_7),
            (-1.0, 0.158_655_3),
            (1.281_551_6, 0.9),
            (1.959_964, 0.975),
            (-2.326_347_9, 0.01),
            (3.0, 0.998_650_1),
        ];
        for (x, p) in table {
            assert!((cdf(x) - p).abs() < 2e-7, "Φ({x}) = {} not {p}", cdf(x));
        }
    }

    #[test]
    fn tails_and_mills_ratio() {
        assert!((density(0.0) - 0.398_942_28).abs() < 1e-8);
        // 1 − Φ(5) = 2.866516·10⁻⁷, to 1 part in 10⁶.
        assert!((upper_tail(5.0) / 2.866_516e-7 - 1.0).abs() < 1e-5);
        assert!((upper_tail(-1.0) - 0.841_344_7).abs() < 2e-7);
        // λ(0) = 2φ(0) = 0.7979; λ(x) ≈ x for large x; both branches meet at 5.
        assert!((inverse_mills(0.0) - 0.797_884_6).abs() < 1e-6);
        assert!((inverse_mills(5.0) - inverse_mills(5.000_000_1)).abs() < 1e-6);
        assert!((inverse_mills(-6.0)).abs() < 1e-7);
        assert!((inverse_mills(30.0) - 30.033).abs() < 1e-3);
    }

    #[test]
    fn table_draws_have_unit_moments() {
        let mut rng = SeededRng::new(1);
        let n = 40_000;
        let xs: Vec<f64> = (0..n).map(|_| draw(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        assert!(mean.abs() < 0.02, "{mean}");
        assert!((var - 1.0).abs() < 0.03, "{var}");
        let beyond = xs.iter().filter(|x| **x > 1.281_551_6).count() as f64 / n as f64;
        assert!((beyond - 0.1).abs() < 0.005, "{beyond}");
    }

    #[test]
    fn quantile_inverts_cdf() {
        assert!((quantile(0.9) - 1.281_551_6).abs() < 1e-5);
        assert!((quantile(0.5)).abs() < 1e-6);
        assert!((quantile(0.05) + 1.644_853_6).abs() < 1e-5);
        assert_eq!(quantile(1.0), f64::INFINITY);
        assert_eq!(quantile(0.0), f64::NEG_INFINITY);
        assert!(quantile(1.5).is_nan());
    }
}
