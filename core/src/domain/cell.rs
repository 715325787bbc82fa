//! One cell of the matrix: how one option fared on one criterion, and where that came from.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::score::Score;

/// What a cell holds.
///
/// A failed evaluation is its own state, never an abstention: the reference server showed
/// backend outages as "criterion not applicable", which silently changed rankings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CellStatus {
    /// The evaluator scored the option.
    Scored {
        /// The score.
        score: Score,
    },
    /// The evaluator decided the criterion does not apply to the option.
    Abstained,
    /// No usable answer after every retry; the cell counts as missing and is evaluated again
    /// by the next evaluation.
    Failed {
        /// Why, in words a person can act on.
        reason: String,
    },
    /// A person set the score; evaluation never overwrites it.
    Manual {
        /// The score.
        score: Score,
    },
}

impl CellStatus {
    /// The score that counts in totals: scored and manual cells only.
    pub fn score(&self) -> Option<Score> {
        match self {
            CellStatus::Scored { score } | CellStatus::Manual { score } => Some(*score),
            CellStatus::Abstained | CellStatus::Failed { .. } => None,
        }
    }

    /// The status name used in results (`scored`, `abstained`, `failed`, `manual`).
    pub fn name(&self) -> &'static str {
        match self {
            CellStatus::Scored { .. } => "scored",
            CellStatus::Abstained => "abstained",
            CellStatus::Failed { .. } => "failed",
            CellStatus::Manual { .. } => "manual",
        }
    }
}

/// Token counts reported by the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tokens {
    /// Prompt tokens.
    pub input: u32,
    /// Generated tokens.
    pub output: u32,
}

/// The backend settings an evaluation used. A cell whose settings differ from the ones its
/// criterion would use now is stale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluatorSettings {
    /// Backend plugin id (`bedrock`, `litellm`, `ollama`, or a plugin's).
    pub backend: String,
    /// Requested model; `None` means the backend's default.
    pub model: Option<String>,
    /// Sampling temperature.
    pub temperature: f64,
}

/// The inputs a cell was computed from, compared against the current ones to find stale
/// cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Basis {
    /// The option's revision when the cell was computed.
    pub option_revision: u64,
    /// The criterion's revision when the cell was computed.
    pub criterion_revision: u64,
    /// The backend settings used.
    pub settings: EvaluatorSettings,
}

/// One cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// What the cell holds.
    #[serde(flatten)]
    pub status: CellStatus,
    /// The evaluator's reasoning (or the person's note for a manual score).
    pub justification: String,
    /// The backend that answered (the fallback's, when the criterion's own backend failed);
    /// `None` for manual cells.
    pub backend: Option<String>,
    /// The model that answered, as the provider named it; `None` for manual cells and
    /// failures before any answer.
    pub model: Option<String>,
    /// Token counts, when reported (summed over every attempt).
    pub tokens: Option<Tokens>,
    /// Wall time spent on the cell, retries and waits included, in milliseconds.
    pub latency_ms: u64,
    /// Backend calls made for the cell (a batched call counts for each of its cells).
    pub attempts: u32,
    /// When the cell was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What the cell was computed from; `None` for manual cells.
    pub basis: Option<Basis>,
}

impl Cell {
    /// A score a person set.
    pub fn manual(score: Score, note: String, at: OffsetDateTime) -> Cell {
        Cell {
            status: CellStatus::Manual { score },
            justification: note,
            backend: None,
            model: None,
            tokens: None,
            latency_ms: 0,
            attempts: 0,
            at,
            basis: None,
        }
    }
}
