//! The scoring side: the [`ScoringStrategy`] trait, the types of the `scoring` interface and
//! helpers shared by strategies.
//!
//! A strategy is a pure function from a scored decision matrix to a ranking. Its world has no
//! network: a component that exports only a strategy does not import `http`, so the host can
//! instantiate it without any network capability.
//!
//! ```no_run
//! use dmx_plugin_sdk::scoring::{self, Cell, Matrix, RankedOption, ScoringStrategy, StrategyInfo};
//! use dmx_plugin_sdk::PluginError;
//!
//! /// Ranks options by how many criteria they were scored on.
//! struct Coverage;
//!
//! impl ScoringStrategy for Coverage {
//!     fn info() -> StrategyInfo {
//!         StrategyInfo {
//!             id: "coverage".into(),
//!             display_name: "Coverage".into(),
//!             description: "Counts scored cells; abstentions and missing cells count 0.".into(),
//!             params_schema: None,
//!         }
//!     }
//!
//!     fn rank(matrix: Matrix, params: Vec<(String, String)>) -> Result<Vec<RankedOption>, PluginError> {
//!         scoring::reject_params(&params)?;
//!         matrix.check_shape()?;
//!         let totals: Vec<f64> = (0..matrix.options.len())
//!             .map(|o| matrix.row(o).iter().filter(|c| matches!(c, Cell::Scored(_))).count() as f64)
//!             .collect();
//!         Ok(scoring::rank_by_totals(&totals))
//!     }
//! }
//!
//! dmx_plugin_sdk::export_scoring!(Coverage);
//! ```

use crate::bindings::scoring_world::exports::decision_matrix::plugin::scoring as wit;

pub use wit::{Cell, Criterion, Matrix, RankedOption, StrategyInfo};

use crate::PluginError;

/// A scoring strategy, exported with [`crate::export_scoring!`].
///
/// Every call runs in a fresh instance, and the strategy should be a pure function of its
/// input. The SDK installs its [`log`] forwarder before each call.
pub trait ScoringStrategy {
    /// Static facts about the strategy. Must not do heavy work.
    fn info() -> StrategyInfo;

    /// Ranks every option of `matrix`, best first; the result holds each option exactly once.
    /// `params` are the strategy's parameters as given by the caller; reject the ones you do
    /// not know with [`PluginError::InvalidInput`].
    fn rank(
        matrix: Matrix,
        params: Vec<(String, String)>,
    ) -> Result<Vec<RankedOption>, PluginError>;
}

/// Bridges the author's trait to the generated one; [`crate::export_scoring!`] relies on it.
impl<T: ScoringStrategy> wit::Guest for T {
    fn info() -> StrategyInfo {
        crate::log_init();
        <T as ScoringStrategy>::info()
    }

    fn rank(m: Matrix, params: Vec<(String, String)>) -> Result<Vec<RankedOption>, PluginError> {
        crate::log_init();
        <T as ScoringStrategy>::rank(m, params)
    }
}

impl Matrix {
    /// A matrix with placeholder names, for a strategy's tests: one criterion per weight
    /// (`criterion 0`, `criterion 1`, …) and as many options (`option 0`, …) as `cells` fills,
    /// row by row: each option's cells in criterion order, as the host sends them.
    ///
    /// ```
    /// use dmx_plugin_sdk::scoring::{Cell, Matrix};
    ///
    /// let m = Matrix::with_placeholder_names(
    ///     &[2.0, 1.0],
    ///     vec![Cell::Scored(8.0), Cell::Abstained, Cell::Scored(5.0), Cell::Missing],
    /// );
    /// assert_eq!(m.options, ["option 0", "option 1"]);
    /// assert_eq!(m.criteria[1].name, "criterion 1");
    /// assert_eq!(m.row(1), [Cell::Scored(5.0), Cell::Missing]);
    /// ```
    pub fn with_placeholder_names(weights: &[f64], cells: Vec<Cell>) -> Matrix {
        let options = cells.len() / weights.len().max(1);
        Matrix {
            options: (0..options).map(|i| format!("option {i}")).collect(),
            criteria: weights
                .iter()
                .enumerate()
                .map(|(i, &weight)| Criterion {
                    name: format!("criterion {i}"),
                    weight,
                })
                .collect(),
            cells,
        }
    }

    /// Checks that `cells` holds exactly `options × criteria` entries and that every weight and
    /// score is a finite number.
    pub fn check_shape(&self) -> Result<(), PluginError> {
        let expected = self.options.len().checked_mul(self.criteria.len());
        if expected != Some(self.cells.len()) {
            return Err(PluginError::InvalidInput(format!(
                "matrix has {} cells but {} options × {} criteria need {}",
                self.cells.len(),
                self.options.len(),
                self.criteria.len(),
                self.options.len().saturating_mul(self.criteria.len()),
            )));
        }
        if let Some(c) = self.criteria.iter().find(|c| !c.weight.is_finite()) {
            return Err(PluginError::InvalidInput(format!(
                "criterion `{}` has a non-finite weight ({})",
                c.name, c.weight
            )));
        }
        for (i, cell) in self.cells.iter().enumerate() {
            if let Cell::Scored(s) = cell
                && !s.is_finite()
            {
                let (o, c) = (i / self.criteria.len(), i % self.criteria.len());
                return Err(PluginError::InvalidInput(format!(
                    "score of option `{}` on criterion `{}` is not a finite number ({s})",
                    self.options[o], self.criteria[c].name
                )));
            }
        }
        Ok(())
    }

    /// Checks that no criterion has a negative weight. For strategies whose arithmetic needs
    /// weights ≥ 0 (exponents, shares of a whole, points); run [`Matrix::check_shape`] first so
    /// that every weight is already known to be finite.
    pub fn check_weights_non_negative(&self) -> Result<(), PluginError> {
        match self.criteria.iter().find(|c| c.weight < 0.0) {
            None => Ok(()),
            Some(c) => Err(PluginError::InvalidInput(format!(
                "criterion `{}` has a negative weight ({}); this strategy needs weights of 0 \
                 or more",
                c.name, c.weight
            ))),
        }
    }

    /// The criteria weights, in criteria order.
    pub fn weights(&self) -> Vec<f64> {
        self.criteria.iter().map(|c| c.weight).collect()
    }

    /// The cells as plain numbers, row-major like `cells`: `Some(score)` for a scored cell,
    /// `None` for an abstained or missing one. Strategies keep their arithmetic on this view so
    /// that it is free of the WIT types.
    pub fn scores(&self) -> Vec<Option<f64>> {
        self.cells.iter().map(Cell::score).collect()
    }

    /// The cells of option `option`, one per criterion, in criteria order. Empty when the index
    /// is out of range or the matrix is malformed (see [`Matrix::check_shape`]).
    pub fn row(&self, option: usize) -> &[Cell] {
        let n = self.criteria.len();
        option
            .checked_mul(n)
            .and_then(|start| self.cells.get(start..start.checked_add(n)?))
            .unwrap_or(&[])
    }

    /// The cell of option `option` on criterion `criterion`, if both indices are in range.
    pub fn cell(&self, option: usize, criterion: usize) -> Option<Cell> {
        if criterion >= self.criteria.len() {
            return None;
        }
        self.row(option).get(criterion).copied()
    }
}

impl Cell {
    /// The score, when the cell was scored.
    pub fn score(&self) -> Option<f64> {
        match self {
            Cell::Scored(s) => Some(*s),
            Cell::Abstained | Cell::Missing => None,
        }
    }
}

/// Fails with [`PluginError::InvalidInput`] when `params` is not empty. For strategies that
/// take no parameters.
pub fn reject_params(params: &[(String, String)]) -> Result<(), PluginError> {
    match params.first() {
        None => Ok(()),
        Some((key, _)) => Err(PluginError::InvalidInput(format!(
            "unknown parameter `{key}`: this strategy takes no parameters"
        ))),
    }
}

/// Turns per-option totals (indexed like `matrix.options`) into a ranking: a stable sort by
/// descending total (equal totals keep option order) with competition ranks, where equal totals
/// share the better rank ("1, 2, 2, 4"). NaN totals sort last.
pub fn rank_by_totals(totals: &[f64]) -> Vec<RankedOption> {
    let mut order: Vec<usize> = (0..totals.len()).collect();
    order.sort_by(|&a, &b| descending(totals[a], totals[b]));
    let mut ranked: Vec<RankedOption> = Vec::with_capacity(order.len());
    for (position, &index) in order.iter().enumerate() {
        let rank = match ranked.last() {
            Some(prev) if descending(prev.total, totals[index]).is_eq() => prev.rank,
            _ => u32::try_from(position + 1).unwrap_or(u32::MAX),
        };
        ranked.push(RankedOption {
            option_index: u32::try_from(index).unwrap_or(u32::MAX),
            total: totals[index],
            rank,
        });
    }
    ranked
}

/// Orders totals from best to worst, NaN last.
fn descending(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (false, false) => b.partial_cmp(&a).unwrap_or(std::cmp::Ordering::Equal),
        (a_nan, b_nan) => a_nan.cmp(&b_nan),
    }
}

/// Exports `$ty`, which implements [`scoring::ScoringStrategy`](crate::scoring::ScoringStrategy),
/// as this component's `decision-matrix:plugin/scoring@0.1.0` interface.
///
/// Invoke it once, at the crate root of a `cdylib` built for `wasm32-wasip2`. The argument must
/// be a plain type name (import the type first if it lives in a module).
#[macro_export]
macro_rules! export_scoring {
    ($ty:ident) => {
        $crate::__export_scoring_plugin_impl!($ty with_types_in $crate::bindings::scoring_world);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranks(totals: &[f64]) -> Vec<(u32, u32)> {
        rank_by_totals(totals)
            .iter()
            .map(|r| (r.option_index, r.rank))
            .collect()
    }

    #[test]
    fn competition_ranks_share_the_better_rank() {
        assert_eq!(
            ranks(&[5.0, 7.0, 7.0, 9.0]),
            vec![(3, 1), (1, 2), (2, 2), (0, 4)]
        );
    }

    #[test]
    fn ties_keep_option_order_and_nan_sorts_last() {
        assert_eq!(ranks(&[f64::NAN, 1.0, 1.0]), vec![(1, 1), (2, 1), (0, 3)]);
        assert!(rank_by_totals(&[]).is_empty());
    }

    #[test]
    fn shape_is_checked() {
        let m = Matrix {
            options: vec!["a".into(), "b".into()],
            criteria: vec![Criterion {
                name: "c".into(),
                weight: 1.0,
            }],
            cells: vec![Cell::Scored(1.0)],
        };
        assert!(matches!(m.check_shape(), Err(PluginError::InvalidInput(_))));
        assert_eq!(m.row(1), &[] as &[Cell]);
        assert_eq!(m.cell(0, 0), Some(Cell::Scored(1.0)));
        assert_eq!(m.cell(0, 1), None);
    }

    #[test]
    fn plain_views_and_weight_sign() {
        let mut m = Matrix {
            options: vec!["a".into()],
            criteria: vec![
                Criterion {
                    name: "c".into(),
                    weight: 2.0,
                },
                Criterion {
                    name: "d".into(),
                    weight: 0.0,
                },
            ],
            cells: vec![Cell::Scored(3.0), Cell::Abstained],
        };
        assert_eq!(m.weights(), vec![2.0, 0.0]);
        assert_eq!(m.scores(), vec![Some(3.0), None]);
        assert!(m.check_weights_non_negative().is_ok());
        m.criteria[1].weight = -0.5;
        match m.check_weights_non_negative() {
            Err(PluginError::InvalidInput(msg)) => assert!(msg.contains("`d`"), "{msg}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
