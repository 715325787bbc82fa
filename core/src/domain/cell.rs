//! One cell of the matrix: how one option fared on one criterion, and where that came from.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::judgment::{Judgment, Summary, Verdict, summarise};
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

impl Tokens {
    /// The counts of two calls together; unknown only when both are.
    pub fn sum(a: Option<Tokens>, b: Option<Tokens>) -> Option<Tokens> {
        match (a, b) {
            (None, None) => None,
            (a, b) => {
                let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
                Some(Tokens {
                    input: a.input.saturating_add(b.input),
                    output: a.output.saturating_add(b.output),
                })
            }
        }
    }
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
    /// The session's panel of judges when it has one (every judge's settings); empty for a
    /// single judge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub panel: Vec<EvaluatorSettings>,
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
    /// Every judgment of the cell, oldest first; the status, justification, backend and
    /// model above are derived from them ([`judgment`](super::judgment) says how). Empty for
    /// manual cells, failures, and cells saved before judgments were kept (see
    /// [`Cell::judgments`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<Judgment>,
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
            samples: Vec::new(),
        }
    }

    /// A cell judged once: `judgment`, at the costs given, computed from `basis`.
    pub fn judged(
        judgment: Judgment,
        tokens: Option<Tokens>,
        latency_ms: u64,
        attempts: u32,
        basis: Basis,
    ) -> Cell {
        let mut cell = Cell {
            status: CellStatus::Abstained,
            justification: String::new(),
            backend: None,
            model: None,
            tokens,
            latency_ms,
            attempts,
            at: judgment.at,
            basis: Some(basis),
            samples: vec![judgment],
        };
        cell.derive();
        cell
    }

    /// The cell's judgments. A cell saved before judgments were kept stands for one judgment
    /// of unknown place in the first round; manual and failed cells have none.
    pub fn judgments(&self) -> Cow<'_, [Judgment]> {
        if !self.samples.is_empty() {
            return Cow::Borrowed(&self.samples);
        }
        let verdict = match self.status {
            CellStatus::Scored { score } => Verdict::Scored { score },
            CellStatus::Abstained => Verdict::Abstained,
            CellStatus::Failed { .. } | CellStatus::Manual { .. } => return Cow::Borrowed(&[]),
        };
        Cow::Owned(vec![Judgment {
            verdict,
            justification: self.justification.clone(),
            backend: self.backend.clone().unwrap_or_default(),
            model: self.model.clone(),
            judge: 0,
            place: None,
            round: 0,
            at: self.at,
        }])
    }

    /// The value, spread and counts of the cell's judgments; `None` for manual and failed
    /// cells.
    pub fn summary(&self) -> Option<Summary> {
        summarise(&self.judgments())
    }

    /// Adds the judgments of `replicate`, a later evaluation of the same cell on the same
    /// basis, and the costs it took. A replicate that failed adds its costs only: the
    /// judgments already made stand.
    pub fn add_replicate(&mut self, replicate: Cell) {
        self.tokens = Tokens::sum(self.tokens, replicate.tokens);
        self.latency_ms = self.latency_ms.saturating_add(replicate.latency_ms);
        self.attempts = self.attempts.saturating_add(replicate.attempts);
        if replicate.samples.is_empty() {
            return;
        }
        let mut samples = self.judgments().into_owned();
        samples.extend(replicate.samples);
        self.samples = samples;
        self.at = replicate.at;
        self.derive();
    }

    /// Sets the status, justification, backend and model from the judgments.
    fn derive(&mut self) {
        let Some(summary) = summarise(&self.samples) else {
            return;
        };
        self.status = match summary.value {
            Some(score) => CellStatus::Scored { score },
            None => CellStatus::Abstained,
        };
        if let Some(judgment) = self.samples.get(summary.representative) {
            self.justification.clone_from(&judgment.justification);
            self.backend = Some(judgment.backend.clone());
            self.model.clone_from(&judgment.model);
        }
    }
}
