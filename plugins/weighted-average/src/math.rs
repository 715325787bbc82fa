//! The weighted-average arithmetic, free of WIT bindings so it runs in host-target unit tests.
//!
//! Sums are accumulated in criteria order, like the reference implementation, so totals match
//! it bit for bit. Checking the input and turning totals into ranks is the SDK's job
//! (`Matrix::check_shape`, `scoring::rank_by_totals`), shared with the other strategies.

/// Each option's weighted average, in option order.
///
/// `cells` is row-major (`option * weights.len() + criterion`) and must hold
/// `options × weights.len()` entries of finite numbers, as `Matrix::check_shape` guarantees.
/// `None` is an abstained or missing cell, which is left out of both the numerator and the
/// denominator. An option without any scored cell (or whose scored cells weigh 0 in total)
/// gets 0.0.
pub fn totals(options: usize, weights: &[f64], cells: &[Option<f64>]) -> Vec<f64> {
    debug_assert_eq!(options.checked_mul(weights.len()), Some(cells.len()));
    if weights.is_empty() {
        // `chunks_exact(0)` would panic; without criteria nothing is scored.
        return vec![0.0; options];
    }
    cells
        .chunks_exact(weights.len())
        .map(|row| {
            let mut weighted_sum = 0.0;
            let mut total_weight = 0.0;
            for (score, weight) in row.iter().zip(weights) {
                if let Some(score) = score {
                    weighted_sum += score * weight;
                    total_weight += weight;
                }
            }
            if total_weight == 0.0 {
                0.0
            } else {
                weighted_sum / total_weight
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(f64) -> Option<f64> = Some;
    const ABSTAIN: Option<f64> = None;

    #[test]
    fn weighted_average_of_scored_cells() {
        // Weights 2 and 1: (8·2 + 5·1) / 3 = 7, (6·2 + 9·1) / 3 = 7, (4·2 + 4·1) / 3 = 4.
        let weights = [2.0, 1.0];
        let cells = [S(8.0), S(5.0), S(6.0), S(9.0), S(4.0), S(4.0)];
        assert_eq!(totals(3, &weights, &cells), vec![7.0, 7.0, 4.0]);
    }

    #[test]
    fn same_arithmetic_as_the_reference() {
        // The reference accumulates `score * weight` and `weight` in criteria order.
        let weights = [0.3, 1.7, 2.9];
        let scores = [7.0, 8.5, 3.0];
        let cells: Vec<Option<f64>> = scores.iter().copied().map(Some).collect();
        let mut num = 0.0;
        let mut den = 0.0;
        for (s, w) in scores.iter().zip(weights) {
            num += s * w;
            den += w;
        }
        assert_eq!(
            totals(1, &weights, &cells)[0].to_bits(),
            (num / den).to_bits()
        );
    }

    #[test]
    fn abstentions_leave_numerator_and_denominator() {
        // Option 0: scored 9 on one criterion only → 9. Option 1: 8 everywhere → 8.
        let weights = [1.0, 5.0, 2.0];
        let cells = [ABSTAIN, S(9.0), ABSTAIN, S(8.0), S(8.0), S(8.0)];
        assert_eq!(totals(2, &weights, &cells), vec![9.0, 8.0]);
    }

    #[test]
    fn no_scored_cell_totals_zero() {
        assert_eq!(
            totals(2, &[1.0, 1.0], &[ABSTAIN, ABSTAIN, S(3.0), ABSTAIN]),
            vec![0.0, 3.0]
        );
        // A zero total weight also gives 0 rather than NaN.
        assert_eq!(totals(1, &[0.0], &[S(5.0)]), vec![0.0]);
        // No criteria at all.
        assert_eq!(totals(2, &[], &[]), vec![0.0, 0.0]);
        // No options at all.
        assert!(totals(0, &[1.0], &[]).is_empty());
    }
}
