//! [`Judgment`]: one model's answer for one cell, kept so a cell can be judged several times
//! and its value, spread and number of samples derived from every answer rather than the
//! last one.
//!
//! LLM judges are noisy: the same prompt scores differently from run to run, and the option
//! listed first in a batch scores higher. A cell that keeps only one answer cannot show how
//! far to trust it; one that keeps each answer with where the option stood in the list lets
//! the confidence module (`crate::confidence`) measure the noise and remove the position
//! effect.
//!
//! # The estimator
//!
//! A cell's value is the **mean** of its scores. The judges answer on a bounded 1–10 scale,
//! so no single answer can drag the mean far (the usual reason to prefer a median or a
//! trimmed mean); with the few samples a cell gets (one to five), a median of integer scores
//! moves in steps of half a point and throws away most of what a replicate adds, and the
//! standard errors the confidence module computes are those of a mean. Abstentions carry no
//! score: a cell is abstained when more of its judgments abstained than scored.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::score::Score;

/// What a judge answered for a cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// A score.
    Scored {
        /// The score.
        score: Score,
    },
    /// The criterion does not apply to the option.
    Abstained,
}

/// Where an option stood in the list of a batched call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// 0 for the first listed option.
    pub index: u32,
    /// How many options the call listed.
    pub of: u32,
}

/// One judgment of one cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgment {
    /// The answer.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The judge's reasoning.
    pub justification: String,
    /// The backend that answered.
    pub backend: String,
    /// The model that answered, as the provider named it.
    pub model: Option<String>,
    /// Which judge of the criterion's panel (0 for a session's single judge).
    #[serde(default)]
    pub judge: u32,
    /// Where the option stood in the call's list; `None` when not recorded (cells saved
    /// before judgments were kept).
    #[serde(default)]
    pub place: Option<Place>,
    /// The criterion's round the call belonged to: 0 for the first pass, then 1, 2, ... for
    /// replicates.
    #[serde(default)]
    pub round: u32,
    /// When the answer arrived.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl Judgment {
    /// The score, unless the judge abstained.
    pub fn score(&self) -> Option<f64> {
        match self.verdict {
            Verdict::Scored { score } => Some(score.get()),
            Verdict::Abstained => None,
        }
    }
}

/// What a cell's judgments come to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// The cell's value: the mean score, or `None` when the cell is abstained.
    pub value: Option<Score>,
    /// The sample standard deviation of the scores; `None` with fewer than two.
    pub spread: Option<f64>,
    /// How many judgments gave a score.
    pub scores: usize,
    /// How many judgments abstained.
    pub abstentions: usize,
    /// Which judgment best stands for the cell: the score nearest the value (the latest of
    /// equally near ones), or the latest abstention for an abstained cell.
    pub representative: usize,
}

/// The value, spread and counts of `judgments`; `None` when there are none.
pub fn summarise(judgments: &[Judgment]) -> Option<Summary> {
    if judgments.is_empty() {
        return None;
    }
    let scores: Vec<f64> = judgments.iter().filter_map(Judgment::score).collect();
    let abstentions = judgments.len() - scores.len();
    if scores.is_empty() || abstentions > scores.len() {
        return Some(Summary {
            value: None,
            spread: None,
            scores: scores.len(),
            abstentions,
            representative: judgments
                .iter()
                .rposition(|j| j.score().is_none())
                .unwrap_or(judgments.len() - 1),
        });
    }
    let n = scores.len() as f64;
    let mean = scores.iter().sum::<f64>() / n;
    let spread = (scores.len() > 1).then(|| {
        let squares: f64 = scores.iter().map(|s| (s - mean).powi(2)).sum();
        (squares / (n - 1.0)).sqrt()
    });
    let mut representative = 0;
    let mut nearest = f64::INFINITY;
    for (i, judgment) in judgments.iter().enumerate() {
        if let Some(score) = judgment.score() {
            let distance = (score - mean).abs();
            if distance <= nearest {
                nearest = distance;
                representative = i;
            }
        }
    }
    Some(Summary {
        // The mean of scores in 1–10 lies in 1–10.
        value: Score::clamped(mean),
        spread,
        scores: scores.len(),
        abstentions,
        representative,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn judged(score: Option<f64>, reason: &str) -> Judgment {
        Judgment {
            verdict: match score {
                Some(s) => Verdict::Scored {
                    score: Score::new(s).expect("in range"),
                },
                None => Verdict::Abstained,
            },
            justification: reason.to_owned(),
            backend: "b".to_owned(),
            model: None,
            judge: 0,
            place: None,
            round: 0,
            at: datetime!(2026-01-01 00:00 UTC),
        }
    }

    #[test]
    fn the_value_is_the_mean_and_the_representative_the_nearest_score() {
        let s = summarise(&[
            judged(Some(6.0), "a"),
            judged(Some(9.0), "b"),
            judged(Some(7.0), "c"),
        ])
        .expect("summary");
        assert!((s.value.expect("value").get() - 22.0 / 3.0).abs() < 1e-12);
        assert!((s.spread.expect("spread") - (7.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!((s.scores, s.abstentions, s.representative), (3, 0, 2));
    }

    #[test]
    fn one_score_has_no_spread() {
        let s = summarise(&[judged(Some(4.0), "a")]).expect("summary");
        assert_eq!(s.value.map(Score::get), Some(4.0));
        assert_eq!(s.spread, None);
    }

    #[test]
    fn abstentions_carry_no_score_and_win_only_a_majority() {
        let mixed = summarise(&[judged(None, "n/a"), judged(Some(8.0), "a")]).expect("s");
        assert_eq!(mixed.value.map(Score::get), Some(8.0));
        assert_eq!((mixed.scores, mixed.abstentions), (1, 1));
        let abstained =
            summarise(&[judged(None, "x"), judged(Some(8.0), "a"), judged(None, "y")]).expect("s");
        assert_eq!(abstained.value, None);
        assert_eq!(abstained.representative, 2);
        assert_eq!(summarise(&[]), None);
    }

    #[test]
    fn judgments_saved_without_judge_place_or_round_read_as_the_first_pass() {
        let json = r#"{"verdict":"scored","score":7.0,"justification":"ok","backend":"b",
            "model":"m","at":"2026-01-01T00:00:00Z"}"#;
        let j: Judgment = serde_json::from_str(json).expect("reads");
        assert_eq!((j.judge, j.place, j.round), (0, None, 0));
        assert_eq!(j.score(), Some(7.0));
    }
}
