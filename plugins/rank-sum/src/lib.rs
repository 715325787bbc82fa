//! The built-in `rank-sum` scoring strategy: a weighted Borda count.
//!
//! Scores from different evaluators, or on criteria judged with different strictness, are not
//! always comparable in size even when their order is trustworthy. This strategy uses only the
//! order: every criterion ranks the options, and an option collects weighted Borda points for
//! the options it beats (see [`math`], which does not touch the WIT bindings and is
//! unit-tested on the build machine):
//!
//! ```text
//! cd plugins && cargo test --target x86_64-unknown-linux-gnu -p rank-sum
//! ```

mod math;

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::scoring::{self, Matrix, RankedOption, ScoringStrategy, StrategyInfo};

/// The exported strategy.
struct RankSum;

impl ScoringStrategy for RankSum {
    fn info() -> StrategyInfo {
        StrategyInfo {
            id: "rank-sum".into(),
            display_name: "Rank sum (weighted Borda count)".into(),
            description: "Each criterion ranks the options by their scores; only the order \
                counts, not the size of the differences. On a criterion an option earns one \
                point for every option it scores strictly higher than and half a point for \
                every other option with the same score (the average-rank convention), and its \
                total is sum(weight × points) over the criteria. An abstained or missing cell \
                takes no part in that criterion's ranking: the option earns no points there and \
                nobody earns a point for beating it, so abstentions cost the points the option \
                might have won; an option with no scored cell totals 0. Weights must be 0 or \
                more. Options are ranked by descending total, equal totals share a rank and \
                keep the order in which the options were added."
                .into(),
            params_schema: None,
        }
    }

    fn rank(
        matrix: Matrix,
        params: Vec<(String, String)>,
    ) -> Result<Vec<RankedOption>, PluginError> {
        scoring::reject_params(&params)?;
        matrix.check_shape()?;
        // A negative weight would turn beating an option into a penalty.
        matrix.check_weights_non_negative()?;
        let totals = math::totals(matrix.options.len(), &matrix.weights(), &matrix.scores());
        Ok(scoring::rank_by_totals(&totals))
    }
}

dmx_plugin_sdk::export_scoring!(RankSum);

#[cfg(test)]
mod tests {
    use super::*;
    use dmx_plugin_sdk::scoring::Cell;

    fn invalid_input(result: Result<Vec<RankedOption>, PluginError>) -> String {
        match result {
            Err(PluginError::InvalidInput(msg)) => msg,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn ranks_through_the_trait() {
        // Criterion 0 (weight 2): 8 > 5 = 5, option 3 abstained: points 2, 0.5, 0.5, 0.
        // Criterion 1 (weight 1): 3 < 9, options 2 and 3 not scored: points 0, 1, 0, 0.
        // Totals: 2·2 = 4, 2·0.5 + 1 = 2, 2·0.5 = 1, 0.
        let m = Matrix::with_placeholder_names(
            &[2.0, 1.0],
            vec![
                Cell::Scored(8.0),
                Cell::Scored(3.0),
                Cell::Scored(5.0),
                Cell::Scored(9.0),
                Cell::Scored(5.0),
                Cell::Missing,
                Cell::Abstained,
                Cell::Abstained,
            ],
        );
        let r = RankSum::rank(m, Vec::new()).unwrap();
        let got: Vec<(u32, f64, u32)> = r
            .iter()
            .map(|r| (r.option_index, r.total, r.rank))
            .collect();
        assert_eq!(
            got,
            vec![(0, 4.0, 1), (1, 2.0, 2), (2, 1.0, 3), (3, 0.0, 4)]
        );
    }

    #[test]
    fn equal_totals_share_a_rank_in_insertion_order() {
        // A and C tie on the only criterion, above B.
        let m = Matrix::with_placeholder_names(
            &[1.0],
            vec![Cell::Scored(7.0), Cell::Scored(2.0), Cell::Scored(7.0)],
        );
        let r = RankSum::rank(m, Vec::new()).unwrap();
        let got: Vec<(u32, f64, u32)> = r
            .iter()
            .map(|r| (r.option_index, r.total, r.rank))
            .collect();
        assert_eq!(got, vec![(0, 1.5, 1), (2, 1.5, 1), (1, 0.0, 3)]);
    }

    #[test]
    fn rejects_invalid_input_and_params() {
        let msg = invalid_input(RankSum::rank(
            Matrix::with_placeholder_names(
                &[1.0, -0.5],
                vec![Cell::Scored(2.0), Cell::Scored(2.0)],
            ),
            Vec::new(),
        ));
        assert!(msg.contains("`criterion 1`"), "{msg}");
        invalid_input(RankSum::rank(
            Matrix::with_placeholder_names(&[f64::NAN], vec![Cell::Scored(2.0)]),
            Vec::new(),
        ));
        let msg = invalid_input(RankSum::rank(
            Matrix::with_placeholder_names(&[1.0], vec![Cell::Scored(f64::NEG_INFINITY)]),
            Vec::new(),
        ));
        assert!(msg.contains("`option 0`"), "{msg}");
        let short = Matrix {
            cells: vec![Cell::Scored(1.0)],
            ..Matrix::with_placeholder_names(&[1.0, 1.0], vec![Cell::Missing; 4])
        };
        assert!(invalid_input(RankSum::rank(short, Vec::new())).contains("need 4"));
        let msg = invalid_input(RankSum::rank(
            Matrix::with_placeholder_names(&[1.0], vec![Cell::Scored(2.0)]),
            vec![("ties".into(), "min".into())],
        ));
        assert!(msg.contains("`ties`"), "{msg}");
    }

    #[test]
    fn info_describes_totals_and_abstentions() {
        let info = RankSum::info();
        assert_eq!(info.id, "rank-sum");
        assert!(info.description.contains("half a point"));
        assert!(info.description.contains("abstained"));
        assert!(info.params_schema.is_none());
    }
}
