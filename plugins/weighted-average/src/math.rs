//! The weighted-average arithmetic, free of WIT bindings so it runs in host-target unit tests.
//!
//! Sums are accumulated in criteria order, like the reference implementation, so totals match
//! it bit for bit.

use std::cmp::Ordering;

/// Why a matrix cannot be ranked. Indices refer to the matrix as given.
#[derive(Debug, Clone, PartialEq)]
pub enum InputError {
    /// `cells` does not hold `options × criteria` entries.
    Shape {
        cells: usize,
        options: usize,
        criteria: usize,
    },
    /// A criterion's weight is NaN or infinite.
    Weight { criterion: usize, weight: f64 },
    /// A scored cell holds NaN or infinity.
    Score {
        option: usize,
        criterion: usize,
        score: f64,
    },
}

/// One option's place in the ranking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    /// Index of the option in the input.
    pub option: u32,
    /// Its weighted average.
    pub total: f64,
    /// 1-based competition rank.
    pub rank: u32,
}

/// Checks the input and returns each option's weighted average, in option order.
///
/// `cells` is row-major (`option * weights.len() + criterion`); `None` is an abstained or
/// missing cell, which is left out of both the numerator and the denominator. An option without
/// any scored cell (or whose scored cells weigh 0 in total) gets 0.0.
pub fn totals(
    options: usize,
    weights: &[f64],
    cells: &[Option<f64>],
) -> Result<Vec<f64>, InputError> {
    let criteria = weights.len();
    if options.checked_mul(criteria) != Some(cells.len()) {
        return Err(InputError::Shape {
            cells: cells.len(),
            options,
            criteria,
        });
    }
    if let Some((criterion, &weight)) = weights.iter().enumerate().find(|(_, w)| !w.is_finite()) {
        return Err(InputError::Weight { criterion, weight });
    }
    if let Some((i, score)) = cells
        .iter()
        .enumerate()
        .find_map(|(i, c)| c.filter(|s| !s.is_finite()).map(|s| (i, s)))
    {
        return Err(InputError::Score {
            option: i / criteria,
            criterion: i % criteria,
            score,
        });
    }
    if criteria == 0 {
        return Ok(vec![0.0; options]);
    }
    Ok(cells
        .chunks_exact(criteria)
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
        .collect())
}

/// Ranks options by total: a stable sort by descending total (equal totals keep option order),
/// with competition ranks where equal totals share the better rank ("1, 2, 2, 4").
pub fn rank_totals(totals: &[f64]) -> Vec<Ranked> {
    let mut order: Vec<usize> = (0..totals.len()).collect();
    order.sort_by(|&a, &b| best_first(totals[a], totals[b]));
    let mut ranked: Vec<Ranked> = Vec::with_capacity(order.len());
    for (position, &option) in order.iter().enumerate() {
        let total = totals[option];
        let rank = match ranked.last() {
            Some(prev) if best_first(prev.total, total) == Ordering::Equal => prev.rank,
            _ => index_u32(position + 1),
        };
        ranked.push(Ranked {
            option: index_u32(option),
            total,
            rank,
        });
    }
    ranked
}

/// [`totals`] followed by [`rank_totals`].
pub fn rank(
    options: usize,
    weights: &[f64],
    cells: &[Option<f64>],
) -> Result<Vec<Ranked>, InputError> {
    totals(options, weights, cells).map(|t| rank_totals(&t))
}

/// Orders totals from best to worst. Totals are finite for valid input; should sums overflow,
/// NaN goes last so the ordering stays total.
fn best_first(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (false, false) => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
        (a_nan, b_nan) => a_nan.cmp(&b_nan),
    }
}

/// Matrix sizes are far below `u32::MAX` (the WIT indices are `u32`); saturate rather than
/// panic.
fn index_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(f64) -> Option<f64> = Some;
    const ABSTAIN: Option<f64> = None;

    fn summary(r: &[Ranked]) -> Vec<(u32, f64, u32)> {
        r.iter().map(|r| (r.option, r.total, r.rank)).collect()
    }

    #[test]
    fn weighted_average_of_scored_cells() {
        // Weights 2 and 1: (8·2 + 5·1) / 3 = 7, (6·2 + 9·1) / 3 = 7, (10·2 + 1·1) / 3 = 7.
        let weights = [2.0, 1.0];
        let cells = [S(8.0), S(5.0), S(6.0), S(9.0), S(4.0), S(4.0)];
        let t = totals(3, &weights, &cells).unwrap();
        assert_eq!(t, vec![7.0, 7.0, 4.0]);
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
            totals(1, &weights, &cells).unwrap()[0].to_bits(),
            (num / den).to_bits()
        );
    }

    #[test]
    fn abstentions_leave_numerator_and_denominator() {
        // Option 0: scored 9 on one criterion only → 9. Option 1: 8 everywhere → 8.
        let weights = [1.0, 5.0, 2.0];
        let cells = [ABSTAIN, S(9.0), ABSTAIN, S(8.0), S(8.0), S(8.0)];
        let r = rank(2, &weights, &cells).unwrap();
        assert_eq!(summary(&r), vec![(0, 9.0, 1), (1, 8.0, 2)]);
    }

    #[test]
    fn no_scored_cell_totals_zero() {
        let r = rank(2, &[1.0, 1.0], &[ABSTAIN, ABSTAIN, S(3.0), ABSTAIN]).unwrap();
        assert_eq!(summary(&r), vec![(1, 3.0, 1), (0, 0.0, 2)]);
        // A zero total weight also gives 0 rather than NaN.
        assert_eq!(totals(1, &[0.0], &[S(5.0)]).unwrap(), vec![0.0]);
        // No criteria at all.
        assert_eq!(totals(2, &[], &[]).unwrap(), vec![0.0, 0.0]);
    }

    #[test]
    fn competition_ranks_and_stable_ties() {
        let r = rank_totals(&[5.0, 7.0, 7.0, 9.0, 5.0]);
        assert_eq!(
            summary(&r),
            vec![
                (3, 9.0, 1),
                (1, 7.0, 2),
                (2, 7.0, 2),
                (0, 5.0, 4),
                (4, 5.0, 4)
            ]
        );
        assert_eq!(
            summary(&rank_totals(&[1.0, 1.0, 1.0])),
            vec![(0, 1.0, 1), (1, 1.0, 1), (2, 1.0, 1)]
        );
        assert!(rank_totals(&[]).is_empty());
    }

    #[test]
    fn each_option_appears_once() {
        let weights = [1.0, 2.0, 3.0];
        let cells: Vec<Option<f64>> = (0..30)
            .map(|i| {
                if i % 7 == 0 {
                    None
                } else {
                    Some(f64::from(i % 10 + 1))
                }
            })
            .collect();
        let r = rank(10, &weights, &cells).unwrap();
        let mut seen: Vec<u32> = r.iter().map(|r| r.option).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<u32>>());
        assert!(
            r.windows(2)
                .all(|w| w[0].total >= w[1].total && w[0].rank <= w[1].rank)
        );
    }

    #[test]
    fn rejects_bad_shape() {
        assert_eq!(
            rank(2, &[1.0, 1.0], &[S(1.0); 3]),
            Err(InputError::Shape {
                cells: 3,
                options: 2,
                criteria: 2
            })
        );
    }

    #[test]
    fn rejects_non_finite_numbers() {
        assert!(matches!(
            rank(1, &[1.0, f64::INFINITY], &[S(1.0), S(1.0)]),
            Err(InputError::Weight { criterion: 1, .. })
        ));
        assert!(matches!(
            rank(2, &[1.0, 1.0], &[S(1.0), S(1.0), ABSTAIN, S(f64::NAN)]),
            Err(InputError::Score {
                option: 1,
                criterion: 1,
                ..
            })
        ));
        // NaN in an abstained cell cannot happen: abstentions carry no number.
        assert!(rank(1, &[f64::NAN], &[ABSTAIN]).is_err());
    }
}
