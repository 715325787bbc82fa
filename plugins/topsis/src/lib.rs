//! The built-in `topsis` scoring strategy: TOPSIS, the Technique for Order of Preference by
//! Similarity to Ideal Solution.
//!
//! Where the weighted average and product look at each option on its own, TOPSIS measures
//! every option against the best and the worst values any option reached on each criterion,
//! and reports how close it is to the former and far from the latter (0 to 1). The arithmetic
//! lives in [`math`] and the parameters in [`params`]; neither touches the WIT bindings, so
//! both are unit-tested on the build machine:
//!
//! ```text
//! cd plugins && cargo test --target x86_64-unknown-linux-gnu -p topsis
//! ```

mod math;
mod params;

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::scoring::{self, Matrix, RankedOption, ScoringStrategy, StrategyInfo};

/// The exported strategy.
struct Topsis;

impl ScoringStrategy for Topsis {
    fn info() -> StrategyInfo {
        StrategyInfo {
            id: "topsis".into(),
            display_name: "TOPSIS (closeness to the ideal option)".into(),
            description: "Each criterion's scores are vector-normalised (divided by the \
                column's Euclidean norm) and multiplied by the criterion's share of the total \
                weight; the best and worst value of every column form the ideal and the \
                anti-ideal option. An option's total is its closeness D- / (D+ + D-), from 0 to \
                1, where D+ and D- are its distances to the ideal and the anti-ideal. Abstained \
                and missing cells are left out of the column's norm, of its ideal and \
                anti-ideal and of the option's distances, so an option is measured on the \
                criteria it was scored on; an option with no scored cell totals 0, and one that \
                is at the ideal and the anti-ideal at once (no spread on its criteria) totals \
                0.5. Parameters: normalization = vector (default) or minmax; types = one 1 \
                (benefit, the default) or -1 (cost) per criterion, comma-separated. Options are \
                ranked by descending total, equal totals share a rank and keep the order in \
                which the options were added."
                .into(),
            params_schema: Some(params::SCHEMA.into()),
        }
    }

    fn rank(
        matrix: Matrix,
        params: Vec<(String, String)>,
    ) -> Result<Vec<RankedOption>, PluginError> {
        let settings = params::parse(&params, matrix.criteria.len())?;
        matrix.check_shape()?;
        matrix.check_weights_non_negative()?;
        let totals = math::closeness(
            matrix.options.len(),
            &matrix.weights(),
            &settings.directions,
            settings.normalization,
            &matrix.scores(),
        );
        Ok(scoring::rank_by_totals(&totals))
    }
}

dmx_plugin_sdk::export_scoring!(Topsis);

#[cfg(test)]
mod tests {
    use super::*;
    use dmx_plugin_sdk::scoring::Cell;

    /// Every cell scored: one row of scores per option.
    fn matrix(weights: &[f64], rows: &[&[f64]]) -> Matrix {
        let cells = rows.concat().into_iter().map(Cell::Scored).collect();
        Matrix::with_placeholder_names(weights, cells)
    }

    fn ranks(r: &[RankedOption]) -> Vec<(u32, u32)> {
        r.iter().map(|r| (r.option_index, r.rank)).collect()
    }

    #[test]
    fn pymcdm_readme_example_through_the_trait() {
        // pymcdm 1.0.3 README: preferences 0.6126, 0.0, 0.7829, 1.0 and ranks 3, 4, 2, 1.
        let m = matrix(
            &[0.5, 0.5],
            &[&[4.0, 4.0], &[1.0, 5.0], &[3.0, 2.0], &[4.0, 2.0]],
        );
        let params = vec![
            ("normalization".to_string(), "minmax".to_string()),
            ("types".to_string(), "1,-1".to_string()),
        ];
        let r = Topsis::rank(m, params).unwrap();
        assert_eq!(ranks(&r), vec![(3, 1), (2, 2), (0, 3), (1, 4)]);
        let by_option = |o: u32| r.iter().find(|x| x.option_index == o).map(|x| x.total);
        for (o, want) in [(0, 0.6126), (1, 0.0), (2, 0.7829), (3, 1.0)] {
            let got = by_option(o).expect("every option is ranked");
            assert!((got - want).abs() < 5e-5, "option {o}: {got}");
        }
    }

    #[test]
    fn defaults_rank_the_tzeng_huang_example() {
        // Tzeng & Huang (2011): similarities 0.5037, 0.6581, 0.7482, 0.3340, ranks 3, 2, 1, 4.
        let m = matrix(
            &[0.3, 0.4, 0.3],
            &[
                &[5.0, 8.0, 4.0],
                &[7.0, 6.0, 8.0],
                &[8.0, 8.0, 6.0],
                &[7.0, 4.0, 6.0],
            ],
        );
        let r = Topsis::rank(m, Vec::new()).unwrap();
        assert_eq!(ranks(&r), vec![(2, 1), (1, 2), (0, 3), (3, 4)]);
    }

    #[test]
    fn equal_rows_share_a_rank_and_unscored_options_come_last() {
        let mut m = matrix(
            &[1.0, 1.0],
            &[&[7.0, 3.0], &[2.0, 9.0], &[7.0, 3.0], &[1.0, 1.0]],
        );
        m.cells[6] = Cell::Abstained;
        m.cells[7] = Cell::Missing;
        let r = Topsis::rank(m, Vec::new()).unwrap();
        // Options 0 and 2 are identical, so their totals are too; option 3 has no score.
        let order = ranks(&r);
        assert_eq!(order[3], (3, 4));
        let zero = order.iter().position(|&(o, _)| o == 0).expect("ranked");
        assert_eq!(order[zero + 1], (2, order[zero].1));
        assert_eq!(r[3].total, 0.0);
    }

    #[test]
    fn rejects_invalid_input_and_params() {
        let ok = matrix(&[1.0, 1.0], &[&[1.0, 2.0]]);
        let invalid = |m: &Matrix, params: &[(&str, &str)]| {
            let params = params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            match Topsis::rank(m.clone(), params) {
                Err(PluginError::InvalidInput(msg)) => msg,
                other => panic!("expected invalid input, got {other:?}"),
            }
        };
        assert!(invalid(&ok, &[("types", "1")]).contains("2 criteria"));
        assert!(invalid(&ok, &[("normalisation", "vector")]).contains("unknown parameter"));
        let mut negative = ok.clone();
        negative.criteria[1].weight = -2.0;
        assert!(invalid(&negative, &[]).contains("`criterion 1`"));
        let mut infinite = ok.clone();
        infinite.cells[0] = Cell::Scored(f64::INFINITY);
        assert!(invalid(&infinite, &[]).contains("`option 0`"));
        let short = Matrix {
            cells: Vec::new(),
            ..ok
        };
        assert!(invalid(&short, &[]).contains("need 2"));
    }

    #[test]
    fn info_publishes_the_params_schema() {
        let info = Topsis::info();
        assert_eq!(info.id, "topsis");
        assert!(info.description.contains("Abstained"));
        assert_eq!(info.params_schema.as_deref(), Some(params::SCHEMA));
    }
}
