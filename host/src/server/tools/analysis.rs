//! The ranked matrix (`get_decision_matrix`), how robust its winner is
//! (`analyze_sensitivity`) and the matrix as JSON, CSV or markdown (`export_matrix`).

use std::sync::Arc;

use crate::analysis::{self, Analysis};
use crate::domain::{Cell, CellState, CellStatus, CriterionUpdate, Session};
use crate::report;

use decision_matrix_core::confidence::acceptability::WeightRange;

use super::super::confidence::{self, Assessed};
use super::super::error::ToolError;
use super::super::export;
use super::super::format;
use super::super::params::{ExportArgs, SensitivityArgs, SessionArgs};
use super::super::results::{
    ByName, Contribution, CriterionSensitivity, DecisionMatrix, Exported, InsufficientData,
    InsufficientStatus, MatrixCell, MatrixResult, RankedMatrix, RankedOption, Ranking, Sensitivity,
    SessionInfo, WhatIf, WinnerChange,
};
use super::super::scope::Scoped;
use super::super::service::ToolResult;
use super::super::timestamp;
use super::Settled;

/// What `export_matrix` writes.
const EXPORT_FORMATS: [&str; 5] = ["json", "csv", "markdown", "html", "svg"];

const NOT_AVAILABLE: &str = "Score not available";
const INSUFFICIENT_DATA: &str = "Need both options and criteria to generate matrix";
const ABSTAINED: &str = "Abstained - criterion not applicable";

impl Scoped<'_> {
    /// `get_decision_matrix`: the ranked matrix, or what the session lacks for one.
    pub async fn matrix(&self, args: SessionArgs) -> ToolResult<MatrixResult> {
        let session = self.session(&args.session_id).await?;
        if let Some(lacking) = insufficient_data(&session) {
            return Ok(MatrixResult::Insufficient(lacking));
        }
        let analysis = self.analyse(&session, "Matrix generation").await?;
        let confidence = self.confidence(&session);
        Ok(MatrixResult::Ranked(Box::new(RankedMatrix {
            formatted_output: format::decision_matrix(&session, &analysis, confidence.as_ref()),
            matrix: decision_matrix(&session, &analysis, confidence.as_ref()),
        })))
    }

    /// What the judgments of `session` say about its winner.
    fn confidence(&self, session: &Session) -> Option<Assessed> {
        confidence::assess(session, self.evaluator.settings().confidence_target)
    }

    /// Session `id` and its analysis, for the export, which needs options and criteria.
    async fn ranked_matrix(&self, id: &str) -> Result<(Session, Arc<Analysis>), ToolError> {
        let session = self.session(id).await?;
        if insufficient_data(&session).is_some() {
            let mut error = ToolError::invalid("Insufficient data", INSUFFICIENT_DATA);
            error
                .extra
                .insert("status".into(), "insufficient_data".into());
            return Err(error);
        }
        let analysis = self.analyse(&session, "Matrix generation").await?;
        Ok((session, analysis))
    }

    /// `analyze_sensitivity`: per criterion, the weight that changes the winner; with
    /// `weights`, the ranking those weights would give. Changes nothing.
    pub async fn sensitivity(&self, args: SensitivityArgs) -> ToolResult<Sensitivity> {
        let session = self.session(&args.session_id).await?;
        let current = self.analyse(&session, "Sensitivity analysis").await?;
        let confidence = self.confidence(&session);
        let what_if = match args.weights {
            Some(weights) => Some(self.what_if(&session, &current, weights).await?),
            None => None,
        };
        let acceptability = match &args.weight_ranges {
            Some(ranges) => {
                let ranges = self.weight_ranges(&session, ranges)?;
                Some(
                    confidence::acceptability(&session, &ranges).map_err(|error| {
                        ToolError::new("Sensitivity analysis", error.to_string())
                    })?,
                )
            }
            None => None,
        };
        Ok(Sensitivity {
            session_id: session.id.clone(),
            strategy: current.strategy.clone(),
            rankings: ranked_options(&session, &current, confidence.as_ref()),
            recommendation: confidence.as_ref().map_or_else(
                || current.recommendation.clone(),
                |c| c.recommendation(&current.recommendation),
            ),
            sensitivity: sensitivity_list(&session, &current),
            criteria_weights: criteria_weights(&session),
            formatted_output: format::sensitivity(&session, &current, acceptability.as_deref()),
            what_if,
            acceptability,
        })
    }

    /// One weight range per criterion of `session`: `given` by name, each criterion's own
    /// weight where not given. Each range must lie within the weights the session accepts.
    fn weight_ranges(
        &self,
        session: &Session,
        given: &indexmap::IndexMap<String, [f64; 2]>,
    ) -> Result<Vec<WeightRange>, ToolError> {
        for name in given.keys() {
            session.criterion(name)?;
        }
        session
            .criteria()
            .iter()
            .map(|criterion| match given.get(&criterion.name) {
                None => Ok(WeightRange::fixed(criterion.weight)),
                Some(&[low, high]) => {
                    self.limits.weight(low)?;
                    self.limits.weight(high)?;
                    if low > high {
                        return Err(ToolError::invalid(
                            "Invalid weight range",
                            format!(
                                "Invalid weight range for '{}': [{low}, {high}] is backwards; \
                                 give [low, high] with low at most high",
                                criterion.name
                            ),
                        ));
                    }
                    Ok(WeightRange { low, high })
                }
            })
            .collect()
    }

    /// The ranking `session` would have with `weights`, beside `current`'s.
    async fn what_if(
        &self,
        session: &Session,
        current: &Analysis,
        weights: ByName<f64>,
    ) -> Result<WhatIf, ToolError> {
        let mut what_if = session.clone();
        for (name, weight) in &weights {
            what_if.update_criterion(
                name,
                CriterionUpdate {
                    weight: Some(*weight),
                    ..CriterionUpdate::default()
                },
                &self.limits,
            )?;
        }
        // Not cached: the what-if is not the session's state.
        let analysis = analysis::analyse(&self.catalog, &what_if, &self.limits)
            .await
            .map_err(|e| ToolError::new("Sensitivity analysis", e.to_string()))?;
        let winner = |analysis: &Analysis| analysis.ranking.first().map(|r| r.option);
        Ok(WhatIf {
            rankings: ranked_options(&what_if, &analysis, self.confidence(&what_if).as_ref()),
            winner_changes: winner(&analysis) != winner(current),
            recommendation: analysis.recommendation,
            weights,
        })
    }

    /// `export_matrix`: the matrix as JSON, CSV or markdown text.
    pub async fn export(&self, args: ExportArgs) -> ToolResult<Exported> {
        let format_name = args
            .format
            .as_deref()
            .unwrap_or("json")
            .to_ascii_lowercase();
        if !EXPORT_FORMATS.contains(&format_name.as_str()) {
            return Err(ToolError::invalid(
                "Invalid format",
                format!("Invalid format: '{format_name}'; choose json, csv, markdown, html or svg"),
            ));
        }
        let (session, analysis) = self.ranked_matrix(&args.session_id).await?;
        let confidence = self.confidence(&session);
        let confidence = confidence.as_ref();
        let content = match format_name.as_str() {
            "csv" => export::csv(&session, &analysis, confidence),
            "markdown" => format::decision_matrix(&session, &analysis, confidence),
            "html" => report::view::standalone(&decision_matrix(&session, &analysis, confidence)),
            "svg" => report::svg::chart(&decision_matrix(&session, &analysis, confidence)),
            _ => serde_json::to_string_pretty(&decision_matrix(&session, &analysis, confidence))
                .map_err(|error| {
                    ToolError::new("Export", format!("the matrix as JSON failed: {error}"))
                })?,
        };
        let formatted_output = match format_name.as_str() {
            // A page of script and style is no reading in a chat; say what it is instead.
            "html" => format!(
                "A standalone HTML report of the decision ({} KB, no network needed) is in \
                 `content`: save it as a .html file and open it in a browser.\n",
                content.len().div_ceil(1024)
            ),
            "markdown" => format!("```md\n{content}\n```\n"),
            fence => format!("```{fence}\n{content}\n```\n"),
        };
        Ok(Exported {
            formatted_output,
            session_id: args.session_id,
            format: format_name,
            content,
        })
    }
}

/// What `session` lacks for a matrix, the way the reference server says it; `None` when it
/// has options and criteria.
fn insufficient_data(session: &Session) -> Option<InsufficientData> {
    let (options, criteria) = (session.options().len(), session.criteria().len());
    if options > 0 && criteria > 0 {
        return None;
    }
    let next_steps = vec![
        (options == 0).then(|| "Add options to evaluate".to_owned()),
        (criteria == 0).then(|| "Add evaluation criteria".to_owned()),
        Some("Run evaluation".to_owned()),
        Some("Generate matrix".to_owned()),
    ];
    Some(InsufficientData {
        session_id: session.id.clone(),
        topic: session.topic.clone(),
        formatted_output: format::insufficient_data(INSUFFICIENT_DATA, &next_steps),
        error: INSUFFICIENT_DATA.to_owned(),
        status: InsufficientStatus::InsufficientData,
        has_options: options > 0,
        has_criteria: criteria > 0,
        options_count: options,
        criteria_count: criteria,
        next_steps,
    })
}

/// The matrix of `session` ranked by `analysis`.
fn decision_matrix(
    session: &Session,
    analysis: &Analysis,
    confidence: Option<&Assessed>,
) -> DecisionMatrix {
    let cells = session.options().len() * session.criteria().len();
    DecisionMatrix {
        session_id: session.id.clone(),
        topic: session.topic.clone(),
        strategy: analysis.strategy.clone(),
        matrix: cell_table(session),
        rankings: rankings(session, analysis, confidence),
        recommendation: confidence.map_or_else(
            || analysis.recommendation.clone(),
            |c| c.recommendation(&analysis.recommendation),
        ),
        criteria_weights: criteria_weights(session),
        sensitivity: sensitivity_list(session, analysis),
        evaluation_timestamp: timestamp::now(),
        session_info: SessionInfo {
            created_at: timestamp::iso(session.created_at),
            evaluations_run: session.evaluations_run,
            total_options: session.options().len(),
            total_criteria: session.criteria().len(),
            cells,
            cells_scored: Settled::of(session).scored,
        },
        confidence: confidence.map(|c| c.report.clone()),
    }
}

/// The matrix's `matrix`: option → criterion → the cell's score, status and justification.
fn cell_table(session: &Session) -> ByName<ByName<MatrixCell>> {
    session
        .options()
        .iter()
        .map(|option| {
            let row = session
                .criteria()
                .iter()
                .map(|criterion| {
                    let (cell, stale) = match session.cell_state(option.id, criterion.id) {
                        CellState::Fresh(cell) => (Some(cell), false),
                        CellState::Stale(cell) => (Some(cell), true),
                        CellState::Missing => (None, false),
                    };
                    let score = cell.and_then(|c| c.status.score()).map(|s| s.get());
                    let justification = match cell.map(|c| &c.status) {
                        None => NOT_AVAILABLE.to_owned(),
                        Some(CellStatus::Abstained) => ABSTAINED.to_owned(),
                        Some(CellStatus::Failed { reason }) => {
                            format!("Evaluation failed: {reason}")
                        }
                        Some(_) => cell.map(|c| c.justification.clone()).unwrap_or_default(),
                    };
                    let summary = cell.and_then(Cell::summary);
                    let entry = MatrixCell {
                        raw_score: score,
                        weighted_score: score.map(|s| s * criterion.weight),
                        justification,
                        status: cell.map_or("missing", |c| c.status.name()).to_owned(),
                        stale,
                        samples: summary.map_or(0, |s| s.scores + s.abstentions),
                        spread: summary.and_then(|s| s.spread),
                    };
                    (criterion.name.clone(), entry)
                })
                .collect();
            (option.name.clone(), row)
        })
        .collect()
}

/// The matrix's `rankings`: best first, each with its per-criterion breakdown (failed and
/// missing cells left out).
fn rankings(session: &Session, analysis: &Analysis, confidence: Option<&Assessed>) -> Vec<Ranking> {
    ranked_options(session, analysis, confidence)
        .into_iter()
        .zip(&analysis.ranking)
        .map(|(ranked, r)| {
            let option = &session.options()[r.option];
            let breakdown = session
                .criteria()
                .iter()
                .filter_map(|criterion| {
                    let cell = session.cell(option.id, criterion.id)?;
                    if matches!(cell.status, CellStatus::Failed { .. }) {
                        return None;
                    }
                    let score = cell.status.score().map(|s| s.get());
                    Some(Contribution {
                        criterion: criterion.name.clone(),
                        weight: criterion.weight,
                        raw_score: score,
                        weighted_score: score.map(|s| s * criterion.weight),
                        justification: cell.justification.clone(),
                        abstained: matches!(cell.status, CellStatus::Abstained),
                    })
                })
                .collect();
            Ranking { ranked, breakdown }
        })
        .collect()
}

/// Every option of `session`, best first, as `analysis` ranks them.
fn ranked_options(
    session: &Session,
    analysis: &Analysis,
    confidence: Option<&Assessed>,
) -> Vec<RankedOption> {
    analysis
        .ranking
        .iter()
        .map(|r| {
            let odds = confidence.and_then(|c| c.odds.get(r.option));
            RankedOption {
                option: session.options()[r.option].name.clone(),
                weighted_total: r.total,
                rank: r.rank,
                probability_best: odds.map(|o| o.probability_best),
                rank_interval: odds.and_then(|o| o.rank_interval),
            }
        })
        .collect()
}

/// Criterion → weight, in the order added.
fn criteria_weights(session: &Session) -> ByName<f64> {
    session
        .criteria()
        .iter()
        .map(|c| (c.name.clone(), c.weight))
        .collect()
}

/// Per criterion, the weight at which the winner changes.
fn sensitivity_list(session: &Session, analysis: &Analysis) -> Vec<CriterionSensitivity> {
    session
        .criteria()
        .iter()
        .zip(&analysis.sensitivity)
        .map(|(criterion, change)| CriterionSensitivity {
            criterion: criterion.name.clone(),
            threshold_weight: change.as_ref().map(|c| c.threshold),
            change: change.as_ref().map(|change| WinnerChange {
                current_weight: change.current,
                change: change.delta,
                relative_change: change.relative,
                new_winner: session
                    .options()
                    .get(change.new_winner)
                    .map(|o| o.name.clone()),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::domain::ranking::Ranked;
    use crate::domain::sensitivity::CriticalChange;
    use crate::domain::{CriterionSpec, Limits, Score};
    use crate::plugins::builtin::session_defaults;

    /// Options and criteria added out of alphabetical order, every cell scored by hand.
    fn session() -> Session {
        let limits = Limits::default();
        let criterion = |name: &str| CriterionSpec {
            name: name.to_owned(),
            description: format!("how good at {name}"),
            weight: 2.0,
            ..CriterionSpec::default()
        };
        let mut session = Session::new(
            "s-1".to_owned(),
            "Pick one".to_owned(),
            ["Zeta", "Alpha", "Mid"]
                .map(|name| (name.to_owned(), None))
                .to_vec(),
            vec![criterion("speed"), criterion("cost")],
            session_defaults(),
            &limits,
            OffsetDateTime::UNIX_EPOCH,
        )
        .expect("a valid session");
        session
            .add_option("Beta".to_owned(), None, &limits)
            .expect("a new option");
        session
            .add_criterion(criterion("beauty"), &limits)
            .expect("a new criterion");
        for (o, option) in ["Zeta", "Alpha", "Mid", "Beta"].into_iter().enumerate() {
            for (c, criterion) in ["speed", "cost", "beauty"].into_iter().enumerate() {
                let score = Score::new((o + c + 1) as f64).expect("1-10");
                session
                    .set_manual(
                        option,
                        criterion,
                        Some(score),
                        None,
                        &limits,
                        OffsetDateTime::UNIX_EPOCH,
                    )
                    .expect("a manual score");
            }
        }
        session
    }

    fn analysis() -> Analysis {
        Analysis {
            strategy: "weighted-average".to_owned(),
            ranking: [3, 2, 1, 0]
                .into_iter()
                .enumerate()
                .map(|(place, option)| Ranked {
                    option,
                    total: 10.0 - place as f64,
                    rank: place as u32 + 1,
                })
                .collect(),
            recommendation: "Beta".to_owned(),
            sensitivity: vec![
                Some(CriticalChange {
                    current: 2.0,
                    threshold: 3.0,
                    delta: 1.0,
                    relative: 0.5,
                    new_winner: 2,
                }),
                None,
                None,
            ],
        }
    }

    /// Whether `value`'s JSON text has the keys `keys`, in that order.
    fn keys_in_order(value: &impl serde::Serialize, keys: &[&str]) -> bool {
        let text = serde_json::to_string(value).expect("serializes");
        let at: Vec<Option<usize>> = keys
            .iter()
            .map(|key| text.find(&format!("\"{key}\":")))
            .collect();
        at.iter().all(Option::is_some) && at.is_sorted()
    }

    #[test]
    fn the_matrix_lists_options_and_criteria_in_the_order_added() {
        let session = session();
        let confidence = confidence::assess(&session, 0.9);
        let matrix = decision_matrix(&session, &analysis(), confidence.as_ref());
        assert!(matrix.confidence.is_some());
        let options = ["Zeta", "Alpha", "Mid", "Beta"];
        let criteria = ["speed", "cost", "beauty"];
        assert!(keys_in_order(&matrix.matrix, &options));
        for option in options {
            assert!(keys_in_order(&matrix.matrix[option], &criteria), "{option}");
        }
        assert!(keys_in_order(&matrix.criteria_weights, &criteria));
        // The whole matrix as one text, as `export_matrix` writes it.
        assert!(keys_in_order(&matrix, &["Zeta", "Alpha", "Mid", "Beta"]));
        let sensitivity: Vec<&str> = matrix
            .sensitivity
            .iter()
            .map(|s| s.criterion.as_str())
            .collect();
        assert_eq!(sensitivity, criteria);
        let ranked: Vec<&str> = matrix
            .rankings
            .iter()
            .map(|r| r.ranked.option.as_str())
            .collect();
        assert_eq!(ranked, ["Beta", "Mid", "Alpha", "Zeta"]);
    }
}
