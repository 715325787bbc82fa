//! Example third-party scoring plugin for decision-matrix: the weighted product model (WPM).
//!
//! The classic weighted product score of an option is `Π scoreⱼ ^ wⱼ`. Because a product of
//! many factors is hard to read and depends on how many criteria were scored, this plugin
//! reports the *weighted geometric mean*, `Π scoreⱼ ^ (wⱼ / Σ w)`, computed as
//! `exp(Σ wⱼ·ln scoreⱼ / Σ wⱼ)`. It ranks options exactly like the plain product when every
//! option was scored on every criterion, and it stays on the 1–10 scale of the scores.
//!
//! Unlike a weighted sum, a product does not let a great score on one criterion make up for a
//! poor one on another: every criterion multiplies in.
//!
//! Abstained and missing cells are handled by the `abstentions` parameter (default from the
//! `abstentions` config key, itself defaulting to `ignore`):
//!
//! * `ignore`: the cell is left out of the product and of `Σ w`, like the built-in weighted
//!   average does;
//! * `penalise`: the cell counts as the lowest score, 1.
//!
//! An option with nothing to multiply totals 0. The product needs positive scores and
//! non-negative weights; anything else is rejected as invalid input.

use dmx_plugin_sdk::scoring::{self, Matrix, RankedOption, ScoringStrategy, StrategyInfo};
use dmx_plugin_sdk::{PluginError, config, log};

/// JSON Schema of the accepted parameters, shown to callers by the host.
const PARAMS_SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "abstentions": {
      "type": "string",
      "enum": ["ignore", "penalise"],
      "description": "ignore: leave abstained and missing cells out; penalise: count them as the lowest score (1)"
    }
  },
  "additionalProperties": false
}"#;

/// The score an abstained or missing cell counts as with `abstentions = "penalise"`.
const LOWEST_SCORE: f64 = 1.0;

/// How abstained and missing cells enter the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abstentions {
    /// Left out of the product and of the weight sum.
    Ignore,
    /// Counted as [`LOWEST_SCORE`].
    Penalise,
}

impl Abstentions {
    fn parse(value: &str) -> Result<Self, PluginError> {
        match value.trim() {
            "ignore" => Ok(Self::Ignore),
            "penalise" | "penalize" => Ok(Self::Penalise),
            other => Err(PluginError::InvalidInput(format!(
                "abstentions must be `ignore` or `penalise`, not `{other}`"
            ))),
        }
    }
}

/// The exported strategy.
struct WeightedProduct;

impl ScoringStrategy for WeightedProduct {
    fn info() -> StrategyInfo {
        StrategyInfo {
            id: "example-weighted-product".into(),
            display_name: "Weighted product".into(),
            description: "Each option's total is the weighted geometric mean of its scores, \
                exp(sum(weight × ln score) / sum(weight)), on the 1-10 scale; a weak score is \
                not offset by a strong one. With abstentions = ignore (the default) abstained \
                and missing cells are left out of the product and the weight sum; with \
                abstentions = penalise they count as a score of 1. An option with nothing to \
                multiply totals 0."
                .into(),
            params_schema: Some(PARAMS_SCHEMA.into()),
        }
    }

    fn rank(
        matrix: Matrix,
        params: Vec<(String, String)>,
    ) -> Result<Vec<RankedOption>, PluginError> {
        rank_with(&matrix, &params, config::get("abstentions").as_deref())
    }
}

dmx_plugin_sdk::export_scoring!(WeightedProduct);

/// The whole strategy, minus the host call that reads the configured default, so that it can be
/// unit-tested on the build machine.
fn rank_with(
    matrix: &Matrix,
    params: &[(String, String)],
    configured: Option<&str>,
) -> Result<Vec<RankedOption>, PluginError> {
    let mut abstentions = configured.map_or(Ok(Abstentions::Ignore), Abstentions::parse)?;
    for (key, value) in params {
        match key.as_str() {
            "abstentions" => abstentions = Abstentions::parse(value)?,
            other => {
                return Err(PluginError::InvalidInput(format!(
                    "unknown parameter `{other}`; this strategy accepts `abstentions`"
                )));
            }
        }
    }
    matrix.check_shape()?;
    if let Some(c) = matrix.criteria.iter().find(|c| c.weight < 0.0) {
        return Err(PluginError::InvalidInput(format!(
            "criterion `{}` has a negative weight ({}); the weighted product needs weights >= 0",
            c.name, c.weight
        )));
    }
    let totals = (0..matrix.options.len())
        .map(|o| option_total(matrix, o, abstentions))
        .collect::<Result<Vec<f64>, PluginError>>()?;
    log::debug!(
        "weighted product of {} options with abstentions {abstentions:?}",
        totals.len()
    );
    Ok(scoring::rank_by_totals(&totals))
}

/// The weighted geometric mean of option `o`.
fn option_total(matrix: &Matrix, o: usize, abstentions: Abstentions) -> Result<f64, PluginError> {
    let mut weighted_logs = 0.0;
    let mut total_weight = 0.0;
    for (c, (cell, criterion)) in matrix.row(o).iter().zip(&matrix.criteria).enumerate() {
        let score = match (cell.score(), abstentions) {
            (Some(score), _) => score,
            (None, Abstentions::Penalise) => LOWEST_SCORE,
            (None, Abstentions::Ignore) => continue,
        };
        if score <= 0.0 {
            return Err(PluginError::InvalidInput(format!(
                "option `{}` scored {score} on criterion `{}`; the weighted product needs \
                 positive scores",
                matrix.options[o], matrix.criteria[c].name
            )));
        }
        weighted_logs += criterion.weight * score.ln();
        total_weight += criterion.weight;
    }
    Ok(if total_weight == 0.0 {
        0.0
    } else {
        (weighted_logs / total_weight).exp()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmx_plugin_sdk::scoring::Cell;

    /// One row of cells per option.
    fn matrix(weights: &[f64], rows: &[&[Cell]]) -> Matrix {
        Matrix::with_placeholder_names(weights, rows.concat())
    }

    /// `(option, total rounded to 1e-9, rank)`: `exp(ln x)` does not round-trip exactly.
    fn totals(r: &[RankedOption]) -> Vec<(u32, f64, u32)> {
        r.iter()
            .map(|r| (r.option_index, (r.total * 1e9).round() / 1e9, r.rank))
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn geometric_mean_does_not_compensate() {
        // Equal weighted averages (5.5), but the product prefers the balanced option.
        let m = matrix(
            &[1.0, 1.0],
            &[
                &[Cell::Scored(1.0), Cell::Scored(10.0)],
                &[Cell::Scored(5.0), Cell::Scored(6.0)],
            ],
        );
        let r = rank_with(&m, &[], None).unwrap();
        assert_eq!(r[0].option_index, 1);
        assert!(close(r[0].total, 30f64.sqrt()));
        assert!(close(r[1].total, 10f64.sqrt()));
    }

    #[test]
    fn weights_are_exponents() {
        // 4^(3/4) · 8^(1/4) = 2^(6/4 + 3/4) = 2^2.25
        let m = matrix(&[3.0, 1.0], &[&[Cell::Scored(4.0), Cell::Scored(8.0)]]);
        let r = rank_with(&m, &[], None).unwrap();
        assert!(close(r[0].total, 2f64.powf(2.25)));
    }

    #[test]
    fn abstentions_ignored_or_penalised() {
        let m = matrix(
            &[1.0, 1.0],
            &[
                &[Cell::Scored(9.0), Cell::Abstained],
                &[Cell::Scored(4.0), Cell::Scored(4.0)],
                &[Cell::Missing, Cell::Abstained],
            ],
        );
        let ignored = rank_with(&m, &[], None).unwrap();
        assert_eq!(
            totals(&ignored),
            vec![(0, 9.0, 1), (1, 4.0, 2), (2, 0.0, 3)]
        );
        let params = [("abstentions".to_string(), "penalise".to_string())];
        let penalised = rank_with(&m, &params, None).unwrap();
        assert_eq!(
            totals(&penalised),
            vec![(1, 4.0, 1), (0, 3.0, 2), (2, 1.0, 3)]
        );
        // The configured default applies when no parameter is given.
        assert_eq!(
            rank_with(&m, &[], Some("penalise")).unwrap()[0].option_index,
            1
        );
    }

    #[test]
    fn equal_totals_share_a_rank() {
        let m = matrix(
            &[2.0],
            &[
                &[Cell::Scored(3.0)],
                &[Cell::Scored(7.0)],
                &[Cell::Scored(3.0)],
            ],
        );
        let r = rank_with(&m, &[], None).unwrap();
        assert_eq!(totals(&r), vec![(1, 7.0, 1), (0, 3.0, 2), (2, 3.0, 2)]);
    }

    #[test]
    fn rejects_invalid_input() {
        let bad = |m: &Matrix, params: &[(String, String)]| {
            matches!(
                rank_with(m, params, None),
                Err(PluginError::InvalidInput(_))
            )
        };
        let ok = matrix(&[1.0], &[&[Cell::Scored(2.0)]]);
        assert!(bad(&ok, &[("alpha".into(), "1".into())]));
        assert!(bad(&ok, &[("abstentions".into(), "drop".into())]));
        assert!(bad(&matrix(&[1.0], &[&[Cell::Scored(0.0)]]), &[]));
        assert!(bad(&matrix(&[-1.0], &[&[Cell::Scored(2.0)]]), &[]));
        assert!(bad(&matrix(&[f64::NAN], &[&[Cell::Scored(2.0)]]), &[]));
        let short = Matrix {
            cells: Vec::new(),
            ..ok
        };
        assert!(bad(&short, &[]));
    }

    #[test]
    fn info_declares_parameters() {
        let info = WeightedProduct::info();
        assert_eq!(info.id, "example-weighted-product");
        let schema = info.params_schema.unwrap();
        assert!(schema.contains("\"abstentions\""));
    }
}
