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
//!
//! Input checks and ranking come from the SDK, so every built-in strategy rejects the same bad
//! input with the same messages and ranks ties the same way.

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
        matrix.check_shape()?;
        let totals = math::totals(matrix.options.len(), &matrix.weights(), &matrix.scores());
        Ok(scoring::rank_by_totals(&totals))
    }
}

dmx_plugin_sdk::export_scoring!(WeightedAverage);

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

    fn summary(r: &[RankedOption]) -> Vec<(u32, f64, u32)> {
        r.iter()
            .map(|r| (r.option_index, r.total, r.rank))
            .collect()
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
        assert_eq!(summary(&r), vec![(1, 6.0, 1), (0, 4.0, 2)]);
    }

    #[test]
    fn competition_ranks_and_stable_ties() {
        // One criterion, so each total is the score itself.
        let scores = [5.0, 7.0, 7.0, 9.0, 5.0];
        let m = Matrix {
            options: (0..scores.len()).map(|i| format!("option {i}")).collect(),
            criteria: vec![Criterion {
                name: "only".into(),
                weight: 1.0,
            }],
            cells: scores.iter().copied().map(Cell::Scored).collect(),
        };
        let r = WeightedAverage::rank(m, Vec::new()).unwrap();
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
    }

    #[test]
    fn each_option_appears_once() {
        let options = 10;
        let criteria: Vec<Criterion> = (1..=3)
            .map(|w| Criterion {
                name: format!("c{w}"),
                weight: f64::from(w),
            })
            .collect();
        let cells = (0..30)
            .map(|i| {
                if i % 7 == 0 {
                    Cell::Abstained
                } else {
                    Cell::Scored(f64::from(i % 10 + 1))
                }
            })
            .collect();
        let m = Matrix {
            options: (0..options).map(|i| format!("option {i}")).collect(),
            criteria,
            cells,
        };
        let r = WeightedAverage::rank(m, Vec::new()).unwrap();
        let mut seen: Vec<u32> = r.iter().map(|r| r.option_index).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<u32>>());
        assert!(
            r.windows(2)
                .all(|w| w[0].total >= w[1].total && w[0].rank <= w[1].rank)
        );
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
        let mut nan_weight = matrix(vec![Cell::Abstained; 4]);
        nan_weight.criteria[0].weight = f64::NAN;
        match WeightedAverage::rank(nan_weight, Vec::new()) {
            Err(PluginError::InvalidInput(msg)) => assert!(msg.contains("`cost`"), "{msg}"),
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
