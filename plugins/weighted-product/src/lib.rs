//! The built-in `weighted-product` scoring strategy: the weighted product model (WPM, also
//! called multiplicative exponential weighting).
//!
//! Where the weighted average lets a strong score make up for a weak one, a product does not:
//! every criterion multiplies in, so a 1 on one criterion drags the total down whatever the
//! other scores are. The strategy reports the weighted geometric mean over each option's scored
//! cells (see [`math`]) so that totals stay on the 1–10 scale and abstentions neither help nor
//! hurt, as with the weighted average.
//!
//! Logarithms need positive scores and exponents that are shares of a whole need non-negative
//! weights; anything else is rejected as invalid input rather than turned into NaN.

mod math;

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::scoring::{self, Matrix, RankedOption, ScoringStrategy, StrategyInfo};

/// The exported strategy.
struct WeightedProduct;

impl ScoringStrategy for WeightedProduct {
    fn info() -> StrategyInfo {
        StrategyInfo {
            id: "weighted-product".into(),
            display_name: "Weighted product".into(),
            description: "Each option's total is the weighted geometric mean of its scores, \
                product(score ^ (weight / sum(weight))), on the 1-10 scale (the weighted \
                product model): a weak score is not made up for by a strong one. Abstained and \
                missing cells are left out of the product and of the weight sum, so they \
                neither help nor hurt; an option with no scored cell totals 0. Scores must be \
                above 0 and weights 0 or more. Options are ranked by descending total, equal \
                totals share a rank and keep the order in which the options were added."
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
        matrix.check_weights_non_negative()?;
        check_positive_scores(&matrix)?;
        let totals = math::totals(matrix.options.len(), &matrix.weights(), &matrix.scores());
        Ok(scoring::rank_by_totals(&totals))
    }
}

dmx_plugin_sdk::export_scoring!(WeightedProduct);

/// Fails on the first scored cell at or below 0, whose logarithm does not exist. Session scores
/// are 1–10, so only a caller outside the usual flow hits this.
fn check_positive_scores(matrix: &Matrix) -> Result<(), PluginError> {
    for (o, option) in matrix.options.iter().enumerate() {
        for (cell, criterion) in matrix.row(o).iter().zip(&matrix.criteria) {
            if let Some(score) = cell.score()
                && score <= 0.0
            {
                return Err(PluginError::InvalidInput(format!(
                    "option `{option}` scored {score} on criterion `{}`; the weighted product \
                     needs scores above 0",
                    criterion.name
                )));
            }
        }
    }
    Ok(())
}

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
        // Totals: √(9·4) = 6, 8 (abstained on the second criterion), √(4·9) = 6 again, 0
        // (nothing scored).
        let m = Matrix::with_placeholder_names(
            &[1.0, 1.0],
            vec![
                Cell::Scored(9.0),
                Cell::Scored(4.0),
                Cell::Scored(8.0),
                Cell::Abstained,
                Cell::Scored(4.0),
                Cell::Scored(9.0),
                Cell::Missing,
                Cell::Abstained,
            ],
        );
        let r = WeightedProduct::rank(m, Vec::new()).unwrap();
        let order: Vec<(u32, u32)> = r.iter().map(|r| (r.option_index, r.rank)).collect();
        // Two terms add up the same in either order, so the two sixes tie exactly and keep
        // insertion order.
        assert_eq!(order, vec![(1, 1), (0, 2), (2, 2), (3, 4)]);
        assert!((r[0].total - 8.0).abs() < 1e-12 && (r[1].total - 6.0).abs() < 1e-12);
        assert_eq!(r[1].total, r[2].total);
        assert_eq!(r[3].total, 0.0);
    }

    #[test]
    fn rejects_what_the_product_cannot_take() {
        let msg = invalid_input(WeightedProduct::rank(
            Matrix::with_placeholder_names(&[1.0, 1.0], vec![Cell::Scored(2.0), Cell::Scored(0.0)]),
            Vec::new(),
        ));
        assert!(
            msg.contains("`option 0`") && msg.contains("`criterion 1`"),
            "{msg}"
        );
        invalid_input(WeightedProduct::rank(
            Matrix::with_placeholder_names(&[1.0], vec![Cell::Scored(-3.0)]),
            Vec::new(),
        ));
        let msg = invalid_input(WeightedProduct::rank(
            Matrix::with_placeholder_names(
                &[1.0, -1.0],
                vec![Cell::Scored(2.0), Cell::Scored(2.0)],
            ),
            Vec::new(),
        ));
        assert!(msg.contains("negative weight"), "{msg}");
    }

    #[test]
    fn rejects_malformed_input_and_params() {
        invalid_input(WeightedProduct::rank(
            Matrix::with_placeholder_names(&[f64::INFINITY], vec![Cell::Scored(2.0)]),
            Vec::new(),
        ));
        invalid_input(WeightedProduct::rank(
            Matrix::with_placeholder_names(&[1.0], vec![Cell::Scored(f64::NAN)]),
            Vec::new(),
        ));
        let short = Matrix {
            cells: vec![Cell::Scored(2.0)],
            ..Matrix::with_placeholder_names(&[1.0, 1.0], vec![Cell::Missing; 4])
        };
        let msg = invalid_input(WeightedProduct::rank(short, Vec::new()));
        assert!(msg.contains("need 4"), "{msg}");
        let msg = invalid_input(WeightedProduct::rank(
            Matrix::with_placeholder_names(&[1.0], vec![Cell::Scored(2.0)]),
            vec![("abstentions".into(), "penalise".into())],
        ));
        assert!(msg.contains("`abstentions`"), "{msg}");
        // Abstentions carry no number, so they are never out of range.
        assert!(
            WeightedProduct::rank(
                Matrix::with_placeholder_names(&[1.0], vec![Cell::Abstained]),
                Vec::new()
            )
            .is_ok()
        );
    }

    #[test]
    fn info_describes_totals_and_abstentions() {
        let info = WeightedProduct::info();
        assert_eq!(info.id, "weighted-product");
        assert!(info.description.contains("geometric mean"));
        assert!(info.description.contains("Abstained"));
        assert!(info.params_schema.is_none());
    }
}
