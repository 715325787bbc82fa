//! Weight sensitivity: for each criterion, the smallest change of its weight that changes the
//! winner (Triantaphyllou & Sánchez's "critical criterion" measure, for the weighted average).
//!
//! Closed form: with every other weight fixed, an option's weighted average as a function of
//! criterion k's weight x is `(A + x·s) / (B + x)` when it was scored on k and the constant
//! `A / B` when not. Two such totals are equal where a quadratic in x vanishes, so the points
//! where the order of two options can change are roots of that quadratic; the winner changes
//! first at the root nearest the current weight beyond which someone else ranks first. Only
//! weights the session accepts are considered.

use super::matrix::ScoreMatrix;
use super::ranking::{rank, weighted_average_totals};

/// The smallest weight change of one criterion that changes the winner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CriticalChange {
    /// The weight now.
    pub current: f64,
    /// The weight at which the winner changes (a tie exactly there; past it, `new_winner`
    /// ranks first).
    pub threshold: f64,
    /// `threshold - current`.
    pub delta: f64,
    /// `delta / current`.
    pub relative: f64,
    /// Index of the option that wins past the threshold.
    pub new_winner: usize,
}

/// For each criterion, the critical change within `[min_weight, max_weight]`, or `None` when
/// no weight in that range changes the winner. Empty when there is no winner to change (no
/// option or no score).
pub fn weighted_average_sensitivity(
    matrix: &ScoreMatrix,
    min_weight: f64,
    max_weight: f64,
) -> Vec<Option<CriticalChange>> {
    let winner = |weights: &[f64]| -> Option<usize> {
        let m = ScoreMatrix {
            weights: weights.to_vec(),
            cells: matrix.cells.clone(),
        };
        rank(&weighted_average_totals(&m)).first().map(|r| r.option)
    };
    let Some(current_winner) = winner(&matrix.weights) else {
        return Vec::new();
    };
    if !matrix.any_scored() {
        return Vec::new();
    }
    (0..matrix.criteria())
        .map(|k| {
            let current = matrix.weights[k];
            let mut best: Option<CriticalChange> = None;
            for root in crossing_points(matrix, k) {
                if !(min_weight..=max_weight).contains(&root) || root == current {
                    continue;
                }
                // Just past the root, away from the current weight, is where the order has
                // changed; a small relative step stays clear of neighbouring roots.
                let step = (root - current).signum() * 1e-9 * root.abs().max(1.0);
                let past = (root + step).clamp(min_weight, max_weight);
                let mut weights = matrix.weights.clone();
                weights[k] = past;
                let Some(next) = winner(&weights) else {
                    continue;
                };
                if next == current_winner {
                    continue;
                }
                let delta = root - current;
                if best.is_none_or(|b| delta.abs() < b.delta.abs()) {
                    best = Some(CriticalChange {
                        current,
                        threshold: root,
                        delta,
                        relative: delta / current,
                        new_winner: next,
                    });
                }
            }
            best
        })
        .collect()
}

/// `a + b·x`.
#[derive(Clone, Copy)]
struct Linear(f64, f64);

/// The weights of criterion `k` at which two options' totals are equal, for every pair.
fn crossing_points(matrix: &ScoreMatrix, k: usize) -> Vec<f64> {
    // Each option's total as numerator / denominator, both linear in x.
    let fractions: Vec<(Linear, Linear)> = (0..matrix.options())
        .map(|o| {
            let (a, b) = (0..matrix.criteria())
                .filter(|&c| c != k)
                .filter_map(|c| matrix.cell(o, c).map(|s| (s, matrix.weights[c])))
                .fold((0.0, 0.0), |(a, b), (s, w)| (a + s * w, b + w));
            match matrix.cell(o, k) {
                Some(s) => (Linear(a, s), Linear(b, 1.0)),
                // Not scored on k: a constant total (0 when nothing is scored).
                None if b > 0.0 => (Linear(a, 0.0), Linear(b, 0.0)),
                None => (Linear(0.0, 0.0), Linear(1.0, 0.0)),
            }
        })
        .collect();
    let mut roots = Vec::new();
    for (i, (ni, di)) in fractions.iter().enumerate() {
        for (nj, dj) in &fractions[i + 1..] {
            // ni·dj − nj·di = 0, a quadratic c0 + c1·x + c2·x².
            let c0 = ni.0 * dj.0 - nj.0 * di.0;
            let c1 = ni.0 * dj.1 + ni.1 * dj.0 - nj.0 * di.1 - nj.1 * di.0;
            let c2 = ni.1 * dj.1 - nj.1 * di.1;
            roots.extend(solve_quadratic(c0, c1, c2));
        }
    }
    roots
}

fn solve_quadratic(c0: f64, c1: f64, c2: f64) -> Vec<f64> {
    const EPS: f64 = 1e-12;
    if c2.abs() < EPS {
        if c1.abs() < EPS {
            return Vec::new();
        }
        return vec![-c0 / c1];
    }
    let discriminant = c1 * c1 - 4.0 * c2 * c0;
    if discriminant < 0.0 {
        return Vec::new();
    }
    // The numerically stable form avoids cancellation when c1² ≫ 4·c2·c0.
    let q = -0.5 * (c1 + c1.signum() * discriminant.sqrt());
    let mut roots = vec![q / c2];
    if q.abs() > EPS {
        roots.push(c0 / q);
    }
    roots
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn finds_the_weight_where_the_winner_changes() {
        // A: 9 on cost, 3 on speed; B: 4 on cost, 8 on speed; weights 2 and 1, so A totals 7
        // and B 5.33. With speed's weight x: A = (18+3x)/(2+x), B = (8+8x)/(2+x), equal at
        // x = 2.
        let m = ScoreMatrix {
            weights: vec![2.0, 1.0],
            cells: vec![Some(9.0), Some(3.0), Some(4.0), Some(8.0)],
        };
        let result = weighted_average_sensitivity(&m, 0.1, 10.0);
        let speed = result[1].expect("raising speed's weight flips the winner");
        assert!((speed.threshold - 2.0).abs() < 1e-9, "{speed:?}");
        assert!((speed.delta - 1.0).abs() < 1e-9);
        assert_eq!(speed.new_winner, 1);
        // With cost's weight x: A = (9x+3)/(x+1), B = (4x+8)/(x+1), equal at x = 1.
        let cost = result[0].expect("lowering cost's weight flips the winner");
        assert!((cost.threshold - 1.0).abs() < 1e-9, "{cost:?}");
        assert!((cost.relative + 0.5).abs() < 1e-9);
    }

    #[test]
    fn dominant_winner_is_robust() {
        let m = ScoreMatrix {
            weights: vec![1.0, 1.0],
            cells: vec![Some(9.0), Some(9.0), Some(2.0), Some(3.0)],
        };
        assert_eq!(
            weighted_average_sensitivity(&m, 0.1, 10.0),
            vec![None, None]
        );
    }

    #[test]
    fn unscored_matrix_has_no_sensitivity() {
        let m = ScoreMatrix {
            weights: vec![1.0],
            cells: vec![None, None],
        };
        assert!(weighted_average_sensitivity(&m, 0.1, 10.0).is_empty());
    }

    fn arb_matrix() -> impl Strategy<Value = ScoreMatrix> {
        (2usize..6, 1usize..5).prop_flat_map(|(options, criteria)| {
            (
                proptest::collection::vec(0.1f64..=10.0, criteria),
                proptest::collection::vec(
                    proptest::option::weighted(0.85, 1.0f64..=10.0),
                    options * criteria,
                ),
            )
                .prop_map(|(weights, cells)| ScoreMatrix { weights, cells })
        })
    }

    fn winner(m: &ScoreMatrix, k: usize, w: f64) -> usize {
        let mut weights = m.weights.clone();
        weights[k] = w;
        let m = ScoreMatrix {
            weights,
            cells: m.cells.clone(),
        };
        rank(&weighted_average_totals(&m))[0].option
    }

    proptest! {
        /// Checked against brute force: the winner does not change anywhere strictly between
        /// the current weight and the reported threshold (sampled), and does change just past
        /// it; when nothing is reported, no sampled weight in range changes the winner.
        #[test]
        fn agrees_with_a_brute_force_scan(m in arb_matrix()) {
            let base = rank(&weighted_average_totals(&m))[0].option;
            let result = weighted_average_sensitivity(&m, 0.1, 10.0);
            for (k, change) in result.iter().enumerate() {
                let current = m.weights[k];
                match change {
                    Some(change) => {
                        for i in 1..50 {
                            let w = current + change.delta * f64::from(i) / 50.0;
                            let inside = (w - change.threshold).abs() > 1e-6;
                            if inside {
                                prop_assert_eq!(winner(&m, k, w), base, "k={} w={}", k, w);
                            }
                        }
                        prop_assert_ne!(winner(&m, k, change.threshold + change.delta.signum() * 1e-7), base);
                    }
                    None => {
                        for i in 0..=200 {
                            let w = 0.1 + 9.9 * f64::from(i) / 200.0;
                            prop_assert_eq!(winner(&m, k, w), base, "k={} w={}", k, w);
                        }
                    }
                }
            }
        }
    }
}
