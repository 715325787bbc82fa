//! The weighted product arithmetic, free of WIT bindings so it runs in host-target unit tests.
//!
//! The weighted product model multiplies `scoreⱼ ^ wⱼ` over the criteria. Raised to `1 / Σ wⱼ`
//! this is the weighted geometric mean, which ranks options the same way when they were scored
//! on the same criteria, stays on the scale of the scores (1–10), and does not shrink or grow
//! with the number of criteria an option was scored on, so options with abstentions stay
//! comparable.

/// Each option's weighted geometric mean, `Π scoreⱼ ^ (wⱼ / Σ wⱼ)`, in option order.
///
/// `cells` is row-major (`option * weights.len() + criterion`) and must hold
/// `options × weights.len()` entries, as `Matrix::check_shape` guarantees; scores must be
/// positive and weights non-negative (the caller checks both). `None` is an abstained or
/// missing cell: it is left out of the product and of `Σ wⱼ`, so it neither helps nor hurts.
/// An option without a scored cell, or whose scored cells weigh 0 in total, gets 0.0.
pub fn totals(options: usize, weights: &[f64], cells: &[Option<f64>]) -> Vec<f64> {
    debug_assert_eq!(options.checked_mul(weights.len()), Some(cells.len()));
    if weights.is_empty() {
        // `chunks_exact(0)` would panic; without criteria nothing is scored.
        return vec![0.0; options];
    }
    cells
        .chunks_exact(weights.len())
        .map(|row| {
            // Summing logarithms instead of multiplying powers keeps long rows away from
            // overflow and underflow; one division by Σw at the end, as the average does.
            let mut weighted_logs = 0.0;
            let mut total_weight = 0.0;
            for (score, weight) in row.iter().zip(weights) {
                if let Some(score) = score {
                    weighted_logs += weight * score.ln();
                    total_weight += weight;
                }
            }
            if total_weight == 0.0 {
                0.0
            } else {
                (weighted_logs / total_weight).exp()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(f64) -> Option<f64> = Some;
    const ABSTAIN: Option<f64> = None;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    /// The weighted product model example of the English Wikipedia article "Weighted product
    /// model" (three alternatives, four benefit criteria, weights 0.20, 0.15, 0.40, 0.25).
    /// The article compares alternatives by ratios: P(A1/A2) = 1.007, P(A1/A3) = 1.067,
    /// P(A2/A3) = 1.059, so A1 > A2 > A3. scikit-criteria's test of the same example
    /// (`test_WeightedProductModel_enwiki_1015567716`) publishes the log10 scores of the
    /// sum-normalised matrix, -0.50128589, -0.50448471, -0.52947246; normalisation shifts every
    /// log score by the same constant, so their differences are the log10 ratios of our totals.
    #[test]
    fn wikipedia_weighted_product_example() {
        // Weights as given in percent: the strategy divides by their sum itself.
        let weights = [20.0, 15.0, 40.0, 25.0];
        let cells = [
            S(25.0),
            S(20.0),
            S(15.0),
            S(30.0),
            S(10.0),
            S(30.0),
            S(20.0),
            S(30.0),
            S(30.0),
            S(10.0),
            S(30.0),
            S(10.0),
        ];
        let t = totals(3, &weights, &cells);
        assert!(t[0] > t[1] && t[1] > t[2], "{t:?}");
        assert!(close(t[0] / t[1], 1.007, 5e-4), "{t:?}");
        assert!(close(t[0] / t[2], 1.067, 5e-4), "{t:?}");
        assert!(close(t[1] / t[2], 1.059, 5e-4), "{t:?}");
        let published = [-0.501_285_89, -0.504_484_71, -0.529_472_46];
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            let ours = (t[a] / t[b]).log10();
            assert!(
                close(ours, published[a] - published[b], 2e-8),
                "{a}/{b}: {ours}"
            );
        }
    }

    #[test]
    fn weights_are_exponents_of_the_weight_share() {
        // 2^(1/4) · 16^(3/4) = 2^(1/4 + 3) = 2^3.25
        let t = totals(1, &[1.0, 3.0], &[S(2.0), S(16.0)]);
        assert!(close(t[0], 2f64.powf(3.25), 1e-12), "{t:?}");
    }

    #[test]
    fn a_weak_score_is_not_bought_back() {
        // Arithmetic means 5 and 3.5, but the geometric means are 3 and √12 ≈ 3.46: the
        // balanced option wins.
        let t = totals(2, &[1.0, 1.0], &[S(1.0), S(9.0), S(3.0), S(4.0)]);
        assert!(close(t[0], 3.0, 1e-12) && close(t[1], 12f64.sqrt(), 1e-12));
        assert!(t[1] > t[0]);
    }

    #[test]
    fn abstentions_leave_the_product_and_the_weight_sum() {
        // Option 0 scored only on the light criterion: its total is that score, 9.
        // Option 1 scored 8 everywhere: 8. Option 2 scored nothing: 0.
        let weights = [1.0, 5.0];
        let cells = [S(9.0), ABSTAIN, S(8.0), S(8.0), ABSTAIN, ABSTAIN];
        let t = totals(3, &weights, &cells);
        assert!(close(t[0], 9.0, 1e-12) && close(t[1], 8.0, 1e-12), "{t:?}");
        assert_eq!(t[2], 0.0);
    }

    #[test]
    fn zero_weight_and_no_criteria_total_zero() {
        assert_eq!(totals(1, &[0.0, 0.0], &[S(5.0), S(7.0)]), vec![0.0]);
        // A zero-weight criterion beside a weighted one simply does not count.
        let t = totals(1, &[0.0, 2.0], &[S(1.0), S(7.0)]);
        assert!(close(t[0], 7.0, 1e-12), "{t:?}");
        assert_eq!(totals(2, &[], &[]), vec![0.0, 0.0]);
        assert!(totals(0, &[1.0], &[]).is_empty());
    }

    #[test]
    fn a_mean_stays_between_the_lowest_and_highest_score() {
        let weights = [0.1, 2.5, 10.0];
        for a in 1..=10 {
            for b in [1, 4, 10] {
                for c in [2, 7] {
                    let row = [f64::from(a), f64::from(b), f64::from(c)];
                    let cells: Vec<Option<f64>> = row.iter().copied().map(Some).collect();
                    let t = totals(1, &weights, &cells)[0];
                    let (lo, hi) = (
                        row.iter().copied().fold(f64::INFINITY, f64::min),
                        row.iter().copied().fold(0.0, f64::max),
                    );
                    assert!(t >= lo - 1e-12 && t <= hi + 1e-12, "{row:?} → {t}");
                }
            }
        }
    }
}
