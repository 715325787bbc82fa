//! The TOPSIS arithmetic, free of WIT bindings so it runs in host-target unit tests.
//!
//! TOPSIS (Hwang & Yoon, 1981) scales each criterion's column, weights it, takes the best and
//! the worst weighted value of every column as the ideal and the anti-ideal option, and scores
//! each option by its closeness `D⁻ / (D⁺ + D⁻)`, where `D⁺` and `D⁻` are its Euclidean
//! distances to the ideal and to the anti-ideal. The closeness is 1 at the ideal and 0 at the
//! anti-ideal.
//!
//! A cost criterion is handled by swapping its ideal and anti-ideal (the lowest weighted value
//! is the ideal). Libraries that instead flip the normalised column (`1 − r` for vector,
//! `(max − x) / (max − min)` for min-max) reach the same distances, because the flip is a
//! reflection: it moves every value and both reference points alike.
//!
//! Abstained and missing cells carry no value, so they are left out of everything they would
//! otherwise enter: the column's norm or range, its ideal and anti-ideal, and the option's two
//! distances. An option is thus measured only on the criteria it was scored on.

/// How each criterion's scored values are scaled before weighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalization {
    /// `x / √(Σ x²)` over the column: classic TOPSIS.
    #[default]
    Vector,
    /// `(x − min) / (max − min)` over the column: pymcdm's default for TOPSIS.
    MinMax,
}

/// Whether a higher or a lower value is better on a criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Higher is better: the scores the server collects.
    #[default]
    Benefit,
    /// Lower is better (a price, a risk), for matrices that hold raw measurements.
    Cost,
}

/// One criterion's scaling, fitted to the values scored on it.
#[derive(Debug, Clone, Copy)]
enum Scale {
    /// Divide by the column's Euclidean norm.
    Vector { norm: f64 },
    /// Shift by the column's minimum and divide by its range.
    MinMax { min: f64, range: f64 },
}

impl Scale {
    fn fit(normalization: Normalization, values: impl Iterator<Item = f64> + Clone) -> Scale {
        match normalization {
            // `hypot` rather than `sqrt(Σ x²)`: no overflow for large raw measurements.
            Normalization::Vector => Scale::Vector {
                norm: values.fold(0.0, f64::hypot),
            },
            Normalization::MinMax => {
                let min = values.clone().fold(f64::INFINITY, f64::min);
                let max = values.fold(f64::NEG_INFINITY, f64::max);
                Scale::MinMax {
                    min,
                    range: max - min,
                }
            }
        }
    }

    /// The scaled value. A column without spread (all values 0 for vector, all equal for
    /// min-max) maps to 0: its ideal and anti-ideal coincide, so it adds nothing to either
    /// distance whatever the constant.
    fn apply(self, x: f64) -> f64 {
        match self {
            Scale::Vector { norm } if norm > 0.0 => x / norm,
            Scale::MinMax { min, range } if range > 0.0 => (x - min) / range,
            _ => 0.0,
        }
    }
}

/// The closeness given to an option that has scored cells but sits at the ideal and the
/// anti-ideal at once (`D⁺ = D⁻ = 0`): every criterion it was scored on has no spread between
/// the options, or weighs 0. It is neither nearer one end nor the other, so it gets the middle.
pub const UNDECIDED: f64 = 0.5;

/// Each option's TOPSIS closeness, in option order: a number from 0 to 1, or 0 for an option
/// without any scored cell (as every built-in strategy ranks an unscored option last), or
/// [`UNDECIDED`] when both of its distances are 0.
///
/// `cells` is row-major (`option * weights.len() + criterion`) and must hold
/// `options × weights.len()` entries of finite numbers, as `Matrix::check_shape` guarantees;
/// `weights` must be non-negative and `directions` must have one entry per criterion (a
/// missing entry counts as a benefit). Weights are divided by their sum, as TOPSIS
/// prescribes; all-zero weights make every distance 0.
pub fn closeness(
    options: usize,
    weights: &[f64],
    directions: &[Direction],
    normalization: Normalization,
    cells: &[Option<f64>],
) -> Vec<f64> {
    debug_assert_eq!(options.checked_mul(weights.len()), Some(cells.len()));
    debug_assert_eq!(directions.len(), weights.len());
    if weights.is_empty() {
        // `chunks_exact(0)` would panic; without criteria nothing is scored.
        return vec![0.0; options];
    }
    let rows: Vec<&[Option<f64>]> = cells.chunks_exact(weights.len()).collect();
    let weight_sum: f64 = weights.iter().sum();

    // The weighted, scaled matrix (same layout as `rows`) and each column's ideal and
    // anti-ideal value. A column nobody was scored on has neither; no option looks at it.
    let mut weighted: Vec<Vec<Option<f64>>> = vec![vec![None; weights.len()]; rows.len()];
    let mut ideal = vec![0.0; weights.len()];
    let mut anti_ideal = vec![0.0; weights.len()];
    for (c, &weight) in weights.iter().enumerate() {
        let column = rows.iter().map(|row| row[c]);
        let scale = Scale::fit(normalization, column.clone().flatten());
        let share = if weight_sum > 0.0 {
            weight / weight_sum
        } else {
            0.0
        };
        let mut lowest = f64::INFINITY;
        let mut highest = f64::NEG_INFINITY;
        for (o, cell) in column.enumerate() {
            if let Some(x) = cell {
                let v = share * scale.apply(x);
                weighted[o][c] = Some(v);
                lowest = lowest.min(v);
                highest = highest.max(v);
            }
        }
        (ideal[c], anti_ideal[c]) = match directions.get(c).copied().unwrap_or_default() {
            Direction::Benefit => (highest, lowest),
            Direction::Cost => (lowest, highest),
        };
    }

    weighted
        .iter()
        .map(|row| {
            let mut to_ideal = 0.0;
            let mut to_anti_ideal = 0.0;
            let mut scored = false;
            for (c, v) in row.iter().enumerate() {
                if let Some(v) = v {
                    scored = true;
                    to_ideal += (v - ideal[c]).powi(2);
                    to_anti_ideal += (v - anti_ideal[c]).powi(2);
                }
            }
            let (d_plus, d_minus) = (to_ideal.sqrt(), to_anti_ideal.sqrt());
            if !scored {
                0.0
            } else if d_plus + d_minus == 0.0 {
                UNDECIDED
            } else {
                d_minus / (d_plus + d_minus)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{Benefit, Cost};

    const ABSTAIN: Option<f64> = None;

    fn scored(rows: &[&[f64]]) -> Vec<Option<f64>> {
        rows.iter()
            .flat_map(|r| r.iter().copied().map(Some))
            .collect()
    }

    fn assert_close(got: &[f64], want: &[f64], tolerance: f64) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= tolerance, "{got:?} vs {want:?}");
        }
    }

    /// The usage example of the pymcdm README (version 1.0.3, "2 criteria, 4 alternative"):
    /// `TOPSIS()` with its default min-max normalisation, weights 0.5 and 0.5, types
    /// `[1, -1]` (the second criterion is a cost). Published preferences 0.6126, 0.0, 0.7829,
    /// 1.0 (ranks 3, 4, 2, 1).
    #[test]
    fn pymcdm_readme_example() {
        let cells = scored(&[&[4.0, 4.0], &[1.0, 5.0], &[3.0, 2.0], &[4.0, 2.0]]);
        let c = closeness(
            4,
            &[0.5, 0.5],
            &[Benefit, Cost],
            Normalization::MinMax,
            &cells,
        );
        assert_close(&c, &[0.6126, 0.0, 0.7829, 1.0], 5e-5);
    }

    /// The example of pymcdm's current README and documentation ("3 criteria, 4 alternative"),
    /// min-max normalisation, weights 0.3, 0.5, 0.2, types `[1, -1, 1]`. Published
    /// preferences 0.4689, 0.2554, 0.765, 0.7466 (ranks 3, 4, 1, 2).
    #[test]
    fn pymcdm_three_criteria_example() {
        let cells = scored(&[
            &[4.0, 4.0, 0.2],
            &[1.0, 5.0, 0.5],
            &[3.0, 2.0, 0.3],
            &[4.0, 3.0, 0.5],
        ]);
        let c = closeness(
            4,
            &[0.3, 0.5, 0.2],
            &[Benefit, Cost, Benefit],
            Normalization::MinMax,
            &cells,
        );
        assert_close(&c, &[0.4689, 0.2554, 0.7650, 0.7466], 5e-5);
    }

    /// Tzeng & Huang, "Multiple Attribute Decision Making: Methods and Applications" (CRC
    /// Press, 2011), as used by scikit-criteria's `test_TOPSIS_tzeng2011multiple`: three
    /// benefit criteria, weights 0.3, 0.4, 0.3, vector normalisation (our defaults). Published
    /// similarities 0.5037, 0.6581, 0.7482, 0.3340 (ranks 3, 2, 1, 4).
    #[test]
    fn tzeng_huang_vector_example() {
        let cells = scored(&[
            &[5.0, 8.0, 4.0],
            &[7.0, 6.0, 8.0],
            &[8.0, 8.0, 6.0],
            &[7.0, 4.0, 6.0],
        ]);
        let c = closeness(
            4,
            &[0.3, 0.4, 0.3],
            &[Benefit; 3],
            Normalization::Vector,
            &cells,
        );
        assert_close(&c, &[0.5037, 0.6581, 0.7482, 0.3340], 5e-5);
    }

    #[test]
    fn weights_are_shares_of_their_sum() {
        // Scaling every weight by the same factor changes nothing.
        let cells = scored(&[&[5.0, 8.0, 4.0], &[7.0, 6.0, 8.0], &[8.0, 8.0, 6.0]]);
        let a = closeness(
            3,
            &[0.3, 0.4, 0.3],
            &[Benefit; 3],
            Normalization::Vector,
            &cells,
        );
        let b = closeness(
            3,
            &[3.0, 4.0, 3.0],
            &[Benefit; 3],
            Normalization::Vector,
            &cells,
        );
        assert_close(&a, &b, 1e-12);
    }

    #[test]
    fn ideal_and_anti_ideal_options_score_one_and_zero() {
        // Option 0 is best on both criteria and option 2 worst on both.
        let cells = scored(&[&[9.0, 8.0], &[5.0, 5.0], &[2.0, 1.0]]);
        for normalization in [Normalization::Vector, Normalization::MinMax] {
            let c = closeness(3, &[1.0, 2.0], &[Benefit; 2], normalization, &cells);
            assert_eq!((c[0], c[2]), (1.0, 0.0), "{normalization:?}");
            assert!(c[1] > 0.0 && c[1] < 1.0, "{c:?}");
        }
    }

    #[test]
    fn abstentions_are_left_out_of_norms_ideals_and_distances() {
        // Option 0 abstained on the second criterion. Left out, it is compared on the first
        // criterion alone, where it is the ideal: closeness 1. The second column's norm, ideal
        // and anti-ideal come from options 1 and 2 only, as the hand computation below shows.
        let with_gap = [
            Some(9.0),
            ABSTAIN,
            Some(5.0),
            Some(5.0),
            Some(2.0),
            Some(1.0),
        ];
        let c = closeness(
            3,
            &[1.0, 1.0],
            &[Benefit; 2],
            Normalization::Vector,
            &with_gap,
        );
        assert_eq!(c[0], 1.0);
        // Had option 0 been scored 1 instead, it would be pulled away from the ideal.
        let filled = scored(&[&[9.0, 1.0], &[5.0, 5.0], &[2.0, 1.0]]);
        let f = closeness(
            3,
            &[1.0, 1.0],
            &[Benefit; 2],
            Normalization::Vector,
            &filled,
        );
        assert!(f[0] < 1.0, "{f:?}");
        // Options 1 and 2 alone on the second column, by hand: norm √26 (5² + 1²).
        let first_norm = (81.0f64 + 25.0 + 4.0).sqrt();
        let second_norm = 26f64.sqrt();
        let v = |x: f64, norm: f64| 0.5 * x / norm;
        let (ideal, anti) = (
            (v(9.0, first_norm), v(5.0, second_norm)),
            (v(2.0, first_norm), v(1.0, second_norm)),
        );
        let d = |a: (f64, f64), b: (f64, f64)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
        let option1 = (v(5.0, first_norm), v(5.0, second_norm));
        let want = d(option1, anti) / (d(option1, ideal) + d(option1, anti));
        assert!((c[1] - want).abs() < 1e-12, "{c:?} vs {want}");
        assert_eq!(c[2], 0.0);
    }

    #[test]
    fn unscored_options_total_zero_and_flat_ones_sit_in_the_middle() {
        // Option 1 has no score at all: 0. Everyone scored the same: no spread anywhere, so
        // both distances are 0 and the scored options get the middle value.
        let cells = [Some(6.0), Some(3.0), ABSTAIN, ABSTAIN, Some(6.0), Some(3.0)];
        for normalization in [Normalization::Vector, Normalization::MinMax] {
            let c = closeness(3, &[1.0, 1.0], &[Benefit; 2], normalization, &cells);
            assert_eq!(c, vec![UNDECIDED, 0.0, UNDECIDED], "{normalization:?}");
        }
        // All weights 0: nothing separates the options either.
        let c = closeness(
            2,
            &[0.0],
            &[Benefit],
            Normalization::Vector,
            &[Some(1.0), Some(9.0)],
        );
        assert_eq!(c, vec![UNDECIDED, UNDECIDED]);
        // A flat criterion beside a discriminating one adds 0 to every distance, so it
        // changes nothing.
        let flat = scored(&[&[9.0, 4.0], &[1.0, 4.0]]);
        let c = closeness(2, &[1.0, 1.0], &[Benefit; 2], Normalization::MinMax, &flat);
        assert_eq!(c, vec![1.0, 0.0]);
        // Zero scores make a zero vector norm, handled like no spread.
        let zeros = scored(&[&[0.0], &[0.0]]);
        let c = closeness(2, &[1.0], &[Benefit], Normalization::Vector, &zeros);
        assert_eq!(c, vec![UNDECIDED, UNDECIDED]);
    }

    #[test]
    fn cost_criteria_swap_ideal_and_anti_ideal() {
        // On a single cost criterion the lowest value is best.
        let cells = scored(&[&[3.0], &[8.0], &[5.0]]);
        for normalization in [Normalization::Vector, Normalization::MinMax] {
            let c = closeness(3, &[1.0], &[Cost], normalization, &cells);
            assert_eq!((c[0], c[1]), (1.0, 0.0), "{normalization:?}");
        }
    }

    #[test]
    fn empty_inputs() {
        assert_eq!(
            closeness(2, &[], &[], Normalization::Vector, &[]),
            vec![0.0, 0.0]
        );
        assert!(closeness(0, &[1.0], &[Benefit], Normalization::MinMax, &[]).is_empty());
    }

    #[test]
    fn closeness_stays_within_zero_and_one() {
        let weights = [0.1, 2.5, 10.0];
        let cells: Vec<Option<f64>> = (0..60)
            .map(|i| (i % 11 != 3).then(|| f64::from((i * 7) % 10 + 1)))
            .collect();
        for normalization in [Normalization::Vector, Normalization::MinMax] {
            for c in closeness(
                20,
                &weights,
                &[Benefit, Cost, Benefit],
                normalization,
                &cells,
            ) {
                assert!((0.0..=1.0).contains(&c), "{c}");
            }
        }
    }
}
