//! The built-in `weighted-average` scoring strategy.
//!
//! It reproduces the reference server's ranking exactly: per option, the weighted average of the
//! scores it received, `Σ scoreᵢ·wᵢ / Σ wᵢ`, taken over scored cells only (abstained and missing
//! cells leave both sums), then a stable sort by descending total. The arithmetic lives in
//! [`math`], which does not touch the WIT bindings, so it is unit-tested on the build machine:
//!
//! ```text
//! cd plugins && cargo test --target x86_64-unknown-linux-gnu -p weighted-average
//! ```

mod math;

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::scoring::{self, Matrix, RankedOption, ScoringStrategy, StrategyInfo};

/// The exported strategy.
struct WeightedAverage;

impl ScoringStrategy for WeightedAverage {
    fn info() -> StrategyInfo {
        StrategyInfo {
            id: "weighted-average".into(),
            display_name: "Weighted average".into(),
            description: "Each option's total is the weighted average of its scores, \
                sum(score × weight) / sum(weight), on the 1-10 scale. Abstained and missing \
                cells are left out of both sums, so they neither help nor hurt; an option with \
                no scored cell totals 0. Options are ranked by descending total, equal totals \
                share a rank and keep the order in which the options were added."
                .into(),
            params_schema: None,
        }
    }

    fn rank(
        matrix: Matrix,
        params: Vec<(String, String)>,
    ) -> Result<Vec<RankedOption>, PluginError> {
        scoring::reject_params(&params)?;
        let weights: Vec<f64> = matrix.criteria.iter().map(|c| c.weight).collect();
        let cells: Vec<Option<f64>> = matrix.cells.iter().map(|c| c.score()).collect();
        let ranking = math::rank(matrix.options.len(), &weights, &cells)
            .map_err(|e| PluginError::InvalidInput(e.describe(&matrix)))?;
        Ok(ranking
            .into_iter()
            .map(|r| RankedOption {
                option_index: r.option,
                total: r.total,
                rank: r.rank,
            })
            .collect())
    }
}

dmx_plugin_sdk::export_scoring!(WeightedAverage);

impl math::InputError {
    /// A message naming the offending option and criterion.
    fn describe(&self, matrix: &Matrix) -> String {
        let option = |i: usize| matrix.options.get(i).map_or("?", String::as_str);
        let criterion = |i: usize| matrix.criteria.get(i).map_or("?", |c| c.name.as_str());
        match *self {
            math::InputError::Shape {
                cells,
                options,
                criteria,
            } => format!(
                "the matrix has {cells} cells, but {options} options × {criteria} criteria \
                 need {}",
                options.saturating_mul(criteria)
            ),
            math::InputError::Weight {
                criterion: c,
                weight,
            } => format!(
                "the weight of criterion `{}` is not a finite number ({weight})",
                criterion(c)
            ),
            math::InputError::Score {
                option: o,
                criterion: c,
                score,
            } => format!(
                "the score of option `{}` on criterion `{}` is not a finite number ({score})",
                option(o),
                criterion(c)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmx_plugin_sdk::scoring::{Cell, Criterion};

    fn matrix(cells: Vec<Cell>) -> Matrix {
        Matrix {
            options: vec!["alpha".into(), "beta".into()],
            criteria: vec![
                Criterion {
                    name: "cost".into(),
                    weight: 2.0,
                },
                Criterion {
                    name: "speed".into(),
                    weight: 1.0,
                },
            ],
            cells,
        }
    }

    #[test]
    fn ranks_through_the_trait() {
        let m = matrix(vec![
            Cell::Scored(4.0),
            Cell::Missing,
            Cell::Scored(6.0),
            Cell::Abstained,
        ]);
        let r = WeightedAverage::rank(m, Vec::new()).unwrap();
        let got: Vec<(u32, f64, u32)> = r
            .iter()
            .map(|r| (r.option_index, r.total, r.rank))
            .collect();
        assert_eq!(got, vec![(1, 6.0, 1), (0, 4.0, 2)]);
    }

    #[test]
    fn names_the_offending_cell_and_rejects_params() {
        let m = matrix(vec![
            Cell::Scored(4.0),
            Cell::Scored(5.0),
            Cell::Scored(6.0),
            Cell::Scored(f64::INFINITY),
        ]);
        match WeightedAverage::rank(m.clone(), Vec::new()) {
            Err(PluginError::InvalidInput(msg)) => {
                assert!(msg.contains("`beta`") && msg.contains("`speed`"), "{msg}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let short = Matrix {
            cells: vec![Cell::Missing],
            ..m.clone()
        };
        match WeightedAverage::rank(short, Vec::new()) {
            Err(PluginError::InvalidInput(msg)) => assert!(msg.contains("need 4"), "{msg}"),
            other => panic!("unexpected {other:?}"),
        }
        match WeightedAverage::rank(m, vec![("alpha".into(), "1".into())]) {
            Err(PluginError::InvalidInput(msg)) => assert!(msg.contains("`alpha`"), "{msg}"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn info_describes_abstentions() {
        let info = WeightedAverage::info();
        assert_eq!(info.id, "weighted-average");
        assert!(info.description.contains("Abstained"));
        assert!(info.params_schema.is_none());
    }
}
