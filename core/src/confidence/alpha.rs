//! Krippendorff's alpha with the interval metric: how far the judgments of a decision agree
//! beyond what chance would give.
//!
//! Units are cells; coders are judges or judge replicates (each call is one coding), and any
//! coder may be missing from any unit. alpha = 1 − D_o / D_e, with the interval difference
//! (v − v')²:
//!
//! - D_o, the observed disagreement, averages the squared differences between the values of
//!   the same unit, each unit's pairs weighted by 1 / (m_u − 1) (m_u values in the unit);
//! - D_e, the expected disagreement, averages the squared differences between all pairable
//!   values regardless of unit.
//!
//! Only units with at least two values are pairable; a unit with one value says nothing about
//! agreement and is left out entirely. Both sums reduce to sums of squares about a mean
//! (Σ_{i≠j} (v_i − v_j)² = 2n·Σ(v_i − v̄)²), so the computation is linear in the number of
//! values.
//!
//! Reading it (Krippendorff): alpha ≥ 0.800 reliable; 0.667 to 0.800 for tentative
//! conclusions only; below 0.667 the judgments are not reliable. alpha is 1 when every unit's
//! values agree exactly, 0 when they agree no better than values paired at random, and
//! negative when they disagree systematically.

use super::estimate::sum_of_squares;

/// Interval alpha over `units`, each the values coded for one unit (missing codings simply
/// absent). `None` when it is undefined: no unit has two values, or all pairable values are
/// equal so there is no variation to agree about.
pub fn interval_alpha<U: AsRef<[f64]>>(units: &[U]) -> Option<f64> {
    let pairable = || {
        units
            .iter()
            .map(AsRef::as_ref)
            .filter(|values| values.len() >= 2)
    };
    let n: usize = pairable().map(<[f64]>::len).sum();
    if n < 2 {
        return None;
    }
    let within: f64 = pairable()
        .map(|values| {
            let m = values.len() as f64;
            // Σ_{i≠j} (v_i − v_j)² / (m − 1), over the ordered pairs of the unit.
            2.0 * m * sum_of_squares(values) / (m - 1.0)
        })
        .sum();
    let all: Vec<f64> = pairable().flatten().copied().collect();
    let n = n as f64;
    let observed = within / n;
    let expected = 2.0 * n * sum_of_squares(&all) / (n * (n - 1.0));
    if expected <= 0.0 {
        return None;
    }
    Some(1.0 - observed / expected)
}

/// Interval alpha over a coders × units table (`table[coder][unit]`, `None` for a missing
/// coding), the layout of published examples. Rows may differ in length; a short row is
/// missing its last units.
pub fn interval_alpha_table(table: &[Vec<Option<f64>>]) -> Option<f64> {
    let units = table.iter().map(Vec::len).max().unwrap_or(0);
    let columns: Vec<Vec<f64>> = (0..units)
        .map(|u| {
            table
                .iter()
                .filter_map(|row| row.get(u).copied().flatten())
                .collect()
        })
        .collect();
    interval_alpha(&columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: Option<f64> = None;

    fn row(values: &[Option<f64>]) -> Vec<Option<f64>> {
        values.to_vec()
    }

    /// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section D: four
    /// observers, twelve units, missing values; unit 12 has a single value and is not
    /// pairable. Published: interval alpha = 0.849 (D_o = 0.433, D_e = 2.872 on 40 pairable
    /// values).
    #[test]
    fn krippendorff_2011_four_coders_twelve_units() {
        let s = Some;
        let table = vec![
            row(&[
                s(1.),
                s(2.),
                s(3.),
                s(3.),
                s(2.),
                s(1.),
                s(4.),
                s(1.),
                s(2.),
                N,
                N,
                N,
            ]),
            row(&[
                s(1.),
                s(2.),
                s(3.),
                s(3.),
                s(2.),
                s(2.),
                s(4.),
                s(1.),
                s(2.),
                s(5.),
                N,
                s(3.),
            ]),
            row(&[
                N,
                s(3.),
                s(3.),
                s(3.),
                s(2.),
                s(3.),
                s(4.),
                s(2.),
                s(2.),
                s(5.),
                s(1.),
                N,
            ]),
            row(&[
                s(1.),
                s(2.),
                s(3.),
                s(3.),
                s(2.),
                s(4.),
                s(4.),
                s(1.),
                s(2.),
                s(5.),
                s(1.),
                N,
            ]),
        ];
        let alpha = interval_alpha_table(&table).unwrap();
        assert!((alpha - 0.849).abs() < 5e-4, "{alpha}");
        // Exactly 1 − (13/30) / (112/39) = 0.849107...
        assert!((alpha - (1.0 - (13.0 / 30.0) / (112.0 / 39.0))).abs() < 1e-12);
    }

    /// The three-coder, fifteen-unit example of the Wikipedia article on Krippendorff's
    /// alpha; interval alpha 0.811 (0.810845 to six places).
    #[test]
    fn three_coders_fifteen_units() {
        let s = Some;
        let table = vec![
            row(&[
                N,
                N,
                N,
                N,
                N,
                s(3.),
                s(4.),
                s(1.),
                s(2.),
                s(1.),
                s(1.),
                s(3.),
                s(3.),
                N,
                s(3.),
            ]),
            row(&[
                s(1.),
                N,
                s(2.),
                s(1.),
                s(3.),
                s(3.),
                s(4.),
                s(3.),
                N,
                N,
                N,
                N,
                N,
                N,
                N,
            ]),
            row(&[
                N,
                N,
                s(2.),
                s(1.),
                s(3.),
                s(4.),
                s(4.),
                N,
                s(2.),
                s(1.),
                s(1.),
                s(3.),
                s(3.),
                N,
                s(4.),
            ]),
        ];
        let alpha = interval_alpha_table(&table).unwrap();
        assert!((alpha - 0.810_845).abs() < 5e-7, "{alpha}");
    }

    #[test]
    fn perfect_agreement_is_one() {
        let units = vec![
            vec![1.0, 1.0, 1.0],
            vec![5.0, 5.0],
            vec![9.0, 9.0, 9.0, 9.0],
        ];
        assert_eq!(interval_alpha(&units), Some(1.0));
    }

    #[test]
    fn nothing_pairable_is_undefined() {
        let units = vec![vec![1.0], vec![5.0], vec![]];
        assert_eq!(interval_alpha(&units), None);
        assert_eq!(interval_alpha::<Vec<f64>>(&[]), None);
        // Pairable but without any variation: nothing to agree about.
        assert_eq!(interval_alpha(&[vec![4.0, 4.0], vec![4.0, 4.0]]), None);
    }

    #[test]
    fn unpairable_units_do_not_count() {
        let base = vec![vec![1.0, 2.0], vec![6.0, 7.0], vec![9.0, 9.0]];
        let mut extended = base.clone();
        extended.push(vec![3.0]);
        assert_eq!(interval_alpha(&base), interval_alpha(&extended));
    }

    #[test]
    fn systematic_disagreement_is_negative() {
        // Within each unit the values are as far apart as across units.
        let units = vec![vec![1.0, 10.0], vec![10.0, 1.0], vec![1.0, 10.0]];
        assert!(interval_alpha(&units).unwrap() < 0.0);
    }
}
