//! Ranking a session with its scoring strategy plugin, the recommendation sentence, and the
//! weight sensitivity returned with every matrix.
//!
//! Strategies are plugins ([`crate::plugins::ScoringPlugin`]); this module turns a session into
//! the plugin's matrix and the plugin's answer into [`Analysis`]. Sensitivity is closed-form
//! for the weighted average ([`crate::domain::sensitivity`]) and a numeric search through the
//! strategy itself otherwise ([`numeric`]).

mod cache;
pub mod numeric;

use std::sync::Arc;

pub use cache::{AnalysisCache, AnalysisInput};

use crate::domain::ranking::{Ranked, recommendation};
use crate::domain::sensitivity::{CriticalChange, weighted_average_sensitivity};
use crate::domain::{CellState, Limits, Session};
use crate::plugins::bindings::scoring_export::{Cell, Criterion, Matrix};
use crate::plugins::{CallError, PluginCatalog, ScoringPlugin};

/// The strategy whose sensitivity has a closed form.
pub const WEIGHTED_AVERAGE: &str = "weighted-average";

/// A ranked session.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// The strategy used.
    pub strategy: String,
    /// Best first; `option` indexes the session's options.
    pub ranking: Vec<Ranked>,
    /// The one-line recommendation.
    pub recommendation: String,
    /// Per criterion (session order): the smallest weight change that changes the winner,
    /// `None` when no allowed weight does. Empty when nothing is scored.
    pub sensitivity: Vec<Option<CriticalChange>>,
}

/// Why a session could not be ranked.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The session names a strategy that is not loaded.
    #[error("unknown scoring strategy '{requested}'; available: {available}")]
    UnknownStrategy {
        /// What the session asked for.
        requested: String,
        /// What is loaded.
        available: String,
    },
    /// The plugin failed.
    #[error(transparent)]
    Plugin(#[from] CallError),
    /// The plugin's answer breaks the contract (not every option exactly once).
    #[error("scoring strategy '{strategy}' returned an invalid ranking: {problem}")]
    InvalidRanking {
        /// The strategy.
        strategy: String,
        /// What is wrong.
        problem: String,
    },
}

/// The plugin's view of `session` with `weights` in place of the criteria's own.
pub fn plugin_matrix(session: &Session, weights: &[f64]) -> Matrix {
    let cells = session
        .options()
        .iter()
        .flat_map(|o| {
            session.criteria().iter().map(move |c| {
                let cell = match session.cell_state(o.id, c.id) {
                    CellState::Fresh(cell) | CellState::Stale(cell) => Some(cell),
                    CellState::Missing => None,
                };
                match cell.map(|cell| (&cell.status, cell.status.score())) {
                    Some((_, Some(score))) => Cell::Scored(score.get()),
                    Some((crate::domain::CellStatus::Abstained, None)) => Cell::Abstained,
                    _ => Cell::Missing,
                }
            })
        })
        .collect();
    Matrix {
        options: session.options().iter().map(|o| o.name.clone()).collect(),
        criteria: session
            .criteria()
            .iter()
            .zip(weights)
            .map(|(c, &weight)| Criterion {
                name: c.name.clone(),
                weight,
            })
            .collect(),
        cells,
    }
}

/// Runs `plugin` on `matrix` and checks the contract.
pub async fn rank_with(
    plugin: &ScoringPlugin,
    matrix: Matrix,
) -> Result<Vec<Ranked>, AnalysisError> {
    let options = matrix.options.len();
    let ranked = plugin.rank(matrix, Vec::new()).await?;
    let invalid = |problem: String| AnalysisError::InvalidRanking {
        strategy: plugin.descriptor().manifest.id.clone(),
        problem,
    };
    let mut seen = vec![false; options];
    for r in &ranked {
        let index = r.option_index as usize;
        match seen.get_mut(index) {
            Some(slot) if !*slot => *slot = true,
            Some(_) => return Err(invalid(format!("option {index} appears twice"))),
            None => return Err(invalid(format!("option index {index} out of range"))),
        }
        if !r.total.is_finite() {
            return Err(invalid(format!("option {index} has total {}", r.total)));
        }
    }
    if ranked.len() != options {
        return Err(invalid(format!(
            "{} of {options} options ranked",
            ranked.len()
        )));
    }
    Ok(ranked
        .into_iter()
        .map(|r| Ranked {
            option: r.option_index as usize,
            total: r.total,
            rank: r.rank,
        })
        .collect())
}

/// What ranking `session` with its strategy feeds the plugin.
pub fn input(session: &Session) -> AnalysisInput {
    let weights: Vec<f64> = session.criteria().iter().map(|c| c.weight).collect();
    AnalysisInput {
        strategy: session.strategy.clone(),
        matrix: plugin_matrix(session, &weights),
    }
}

/// Ranks `session` with its strategy and computes the sensitivity.
pub async fn analyse(
    catalog: &PluginCatalog,
    session: &Session,
    limits: &Limits,
) -> Result<Analysis, AnalysisError> {
    analyse_input(catalog, session, input(session), limits).await
}

/// [`analyse`], answered from `cache` when session `session.id` was last analysed from the
/// same input.
pub async fn analyse_cached(
    cache: &AnalysisCache,
    catalog: &PluginCatalog,
    session: &Session,
    limits: &Limits,
) -> Result<Arc<Analysis>, AnalysisError> {
    let input = input(session);
    if let Some(analysis) = cache.get(&session.id, &input) {
        return Ok(analysis);
    }
    let analysis = Arc::new(analyse_input(catalog, session, input.clone(), limits).await?);
    cache.put(&session.id, input, analysis.clone());
    Ok(analysis)
}

/// Ranks `session`, whose plugin view is `input`, and computes the sensitivity.
async fn analyse_input(
    catalog: &PluginCatalog,
    session: &Session,
    input: AnalysisInput,
    limits: &Limits,
) -> Result<Analysis, AnalysisError> {
    let strategy = input.strategy.as_str();
    let plugin = catalog
        .scorer(strategy)
        .ok_or_else(|| AnalysisError::UnknownStrategy {
            requested: strategy.to_owned(),
            available: catalog
                .scorers()
                .map(|s| s.descriptor().manifest.id.clone())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let weights: Vec<f64> = input.matrix.criteria.iter().map(|c| c.weight).collect();
    let ranking = rank_with(plugin, input.matrix).await?;
    let scores = session.score_matrix();
    let names: Vec<&str> = session.options().iter().map(|o| o.name.as_str()).collect();
    let sentence = recommendation(&ranking, &names, scores.any_scored());
    let sensitivity = if !scores.any_scored() {
        Vec::new()
    } else if strategy == WEIGHTED_AVERAGE {
        weighted_average_sensitivity(
            &scores,
            limits.min_criterion_weight,
            limits.max_criterion_weight,
        )
    } else {
        numeric::sensitivity(plugin, session, &weights, &ranking, limits).await?
    };
    Ok(Analysis {
        strategy: input.strategy,
        ranking,
        recommendation: sentence,
        sensitivity,
    })
}
