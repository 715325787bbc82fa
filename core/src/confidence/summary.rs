//! A cell's value with its standard error: what the ranking is computed from.
//!
//! Each judge's samples of the cell, corrected for their places, give that judge's
//! [`Estimate`]; the cell's value is the plain mean over the judges who scored it, so a judge
//! asked more often does not get more say over the panel's leanings. Its variance is the
//! [`Noise::cell_variance`] for the judges' effective sample counts: `σ_w/√n` for one judge,
//! plus the judges' leaning `σ_b/√J` for a panel. A manual score is exact: standard error 0.

use super::estimate::{Estimate, sum_of_squares};
use super::evidence::CellEvidence;
use super::noise::Noise;
use super::position::PositionEffect;

/// One cell, summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct CellSummary {
    /// The cell's value on the 1–10 scale (position effect removed).
    pub value: f64,
    /// The standard error of `value`: 0 for exact cells.
    pub standard_error: f64,
    /// Samples behind the value.
    pub count: usize,
    /// Judges behind the value.
    pub judges: usize,
    /// Sample standard deviation of the corrected samples of all judges (0 below two).
    pub spread: f64,
    /// A person set the value.
    pub exact: bool,
    /// Per judge, what its samples are worth as uncapped samples (0 for a judge without
    /// samples; empty for exact cells).
    pub effective_counts: Vec<f64>,
}

impl CellSummary {
    /// Summarises `cell`, scored by a panel of `judges`; `None` when it holds no score (no
    /// samples, or abstentions only).
    pub fn of(
        cell: &CellEvidence,
        judges: usize,
        effect: &PositionEffect,
        noise: &Noise,
    ) -> Option<CellSummary> {
        if let Some(score) = cell.manual {
            let e = Estimate::exact(score);
            return Some(CellSummary {
                value: e.value,
                standard_error: 0.0,
                count: e.count,
                judges: 0,
                spread: 0.0,
                exact: true,
                effective_counts: Vec::new(),
            });
        }
        let mut counts = vec![0.0f64; judges];
        let mut values = Vec::new();
        for (judge, count) in counts.iter_mut().enumerate() {
            let (scores, corrections) = judge_samples(cell, judge, effect);
            if let Some(e) = Estimate::from_scores(&scores, &corrections, noise.within_sd) {
                *count = e.effective_count;
                values.push(e.value);
            }
        }
        if values.is_empty() {
            return None;
        }
        let all: Vec<f64> = cell
            .samples
            .iter()
            .map(|s| effect.correct(s.score, s.position.lean()))
            .collect();
        let spread = if all.len() > 1 {
            (sum_of_squares(&all) / (all.len() - 1) as f64).sqrt()
        } else {
            0.0
        };
        let variance = noise.cell_variance(&counts)?;
        Some(CellSummary {
            value: values.iter().sum::<f64>() / values.len() as f64,
            standard_error: variance.sqrt(),
            count: all.len(),
            judges: values.len(),
            spread,
            exact: false,
            effective_counts: counts,
        })
    }
}

/// `judge`'s scores of `cell` and the position corrections of their places.
pub fn judge_samples(
    cell: &CellEvidence,
    judge: usize,
    effect: &PositionEffect,
) -> (Vec<f64>, Vec<f64>) {
    cell.samples
        .iter()
        .filter(|s| s.judge == judge)
        .map(|s| (s.score, effect.per_lean * s.position.lean()))
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::super::evidence::{Position, Sample};
    use super::super::noise::NoisePrior;
    use super::*;

    fn sample(score: f64, judge: usize, index: u32, of: u32) -> Sample {
        Sample {
            score,
            judge,
            position: Position { index, of },
        }
    }

    fn noise(within: f64, between: f64) -> Noise {
        Noise {
            within_sd: within,
            between_sd: between,
            ..Noise::prior(NoisePrior::default())
        }
    }

    #[test]
    fn one_judge_mean_with_standard_error_over_root_n() {
        let cell = CellEvidence {
            samples: vec![sample(6.0, 0, 0, 3), sample(8.0, 0, 2, 3)],
            ..CellEvidence::default()
        };
        let s = CellSummary::of(&cell, 1, &PositionEffect::NONE, &noise(1.5, 0.0)).unwrap();
        assert_eq!(s.value, 7.0);
        assert!((s.standard_error - 1.5 / 2f64.sqrt()).abs() < 1e-12);
        assert_eq!((s.count, s.judges, s.exact), (2, 1, false));
        assert!((s.spread - 2f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn the_position_effect_is_removed_before_averaging() {
        // Listed first (lean +1) it scored 8, last (lean −1) 6; with b = 1 both are 7.
        let cell = CellEvidence {
            samples: vec![sample(8.0, 0, 0, 2), sample(6.0, 0, 1, 2)],
            ..CellEvidence::default()
        };
        let effect = PositionEffect {
            per_lean: 1.0,
            ..PositionEffect::NONE
        };
        let s = CellSummary::of(&cell, 1, &effect, &noise(1.0, 0.0)).unwrap();
        assert_eq!((s.value, s.spread), (7.0, 0.0));
    }

    #[test]
    fn a_panel_averages_judges_not_samples() {
        // Judge 0 said 9 three times, judge 1 said 5 once: the value is 7, not 8.
        let cell = CellEvidence {
            samples: vec![
                sample(9.0, 0, 0, 1),
                sample(9.0, 0, 0, 1),
                sample(9.0, 0, 0, 1),
                sample(5.0, 1, 0, 1),
            ],
            ..CellEvidence::default()
        };
        let s = CellSummary::of(&cell, 2, &PositionEffect::NONE, &noise(1.2, 0.6)).unwrap();
        assert_eq!(s.value, 7.0);
        // 0.36/2 + (1.44/3 + 1.44/1)/4.
        let expected = 0.36 / 2.0 + (1.44 / 3.0 + 1.44) / 4.0;
        assert!((s.standard_error.powi(2) - expected).abs() < 1e-12);
        assert_eq!((s.count, s.judges), (4, 2));
    }

    #[test]
    fn manual_scores_are_exact_and_abstentions_are_no_scores() {
        let manual = CellEvidence {
            manual: Some(4.0),
            samples: vec![sample(9.0, 0, 0, 1)],
            abstentions: 0,
        };
        let s = CellSummary::of(&manual, 1, &PositionEffect::NONE, &noise(1.5, 0.0)).unwrap();
        assert_eq!((s.value, s.standard_error, s.exact), (4.0, 0.0, true));
        let abstained = CellEvidence {
            abstentions: 2,
            ..CellEvidence::default()
        };
        assert_eq!(
            CellSummary::of(&abstained, 1, &PositionEffect::NONE, &noise(1.5, 0.0)),
            None
        );
    }
}
