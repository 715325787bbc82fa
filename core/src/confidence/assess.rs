//! [`Assessment`]: everything the evidence says, computed in one pass: the position effect,
//! the noise, each cell's value and standard error, the agreement of the judgments, each
//! option's standing and the verdict.
//!
//! The order matters. The noise is first estimated from the raw replicates, only to size the
//! shrinkage of the position effect; the position effect is then removed from every sample
//! and the noise estimated again from the corrected ones (one degree of freedom fewer when
//! the effect was fitted), and the cells are summarised from the corrected samples.

use super::alpha::interval_alpha;
use super::estimate::Reading;
use super::evidence::Evidence;
use super::noise::{JudgeGroup, Noise, NoisePrior};
use super::position::PositionEffect;
use super::summary::{CellSummary, judge_samples};
use super::winner::{OptionTotal, Standing, Verdict, WinnerSettings, option_totals, standings};

/// The assumptions and knobs of an assessment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// What is assumed about the noise before replicates.
    pub noise_prior: NoisePrior,
    /// Prior standard deviation of the position effect, points per unit of lean (τ).
    pub position_prior_sd: f64,
    /// The Monte Carlo and the verdict's thresholds.
    pub winner: WinnerSettings,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            noise_prior: NoisePrior::default(),
            position_prior_sd: 1.0,
            winner: WinnerSettings::default(),
        }
    }
}

/// What the evidence says.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The settings it was made with.
    pub settings: Settings,
    /// The position effect that was removed.
    pub position: PositionEffect,
    /// The noise model.
    pub noise: Noise,
    /// Row-major cell summaries (`cells[o * criteria + c]`); `None` for a cell without score.
    pub cells: Vec<Option<CellSummary>>,
    /// Krippendorff's interval alpha of the raw judgments, cells as units and every judgment
    /// as a coding; `None` when undefined.
    pub reliability: Option<f64>,
    /// Each option's total and the weights behind it.
    pub totals: Vec<OptionTotal>,
    /// Each option's standing.
    pub standings: Vec<Standing>,
    /// The verdict.
    pub verdict: Verdict,
}

impl Assessment {
    /// Assesses `evidence`.
    pub fn of(evidence: &Evidence, settings: &Settings) -> Assessment {
        let prior = settings.noise_prior;
        let raw_noise = Noise::pooled_plain(&groups(evidence, &PositionEffect::NONE), prior);
        let position =
            PositionEffect::estimate(evidence, raw_noise.within_sd, settings.position_prior_sd);
        let fitted = if position.leverage > 0.0 { 1.0 } else { 0.0 };
        let noise = Noise::pooled(&groups(evidence, &position), prior, fitted);
        let cells: Vec<Option<CellSummary>> = evidence
            .iter()
            .map(|(_, _, cell)| CellSummary::of(cell, evidence.judges(), &position, &noise))
            .collect();
        let units: Vec<Vec<f64>> = evidence
            .iter()
            .filter(|(_, _, cell)| cell.manual.is_none())
            .map(|(_, _, cell)| cell.samples.iter().map(|s| s.score).collect())
            .collect();
        let totals = option_totals(&cells, evidence.weights());
        let standings = standings(&totals, noise.effective_df, &settings.winner);
        let verdict = Verdict::of(&standings, &settings.winner);
        Assessment {
            settings: *settings,
            position,
            noise,
            cells,
            reliability: interval_alpha(&units),
            totals,
            standings,
            verdict,
        }
    }

    /// The summary of option `o`'s cell on criterion `c`.
    pub fn cell(&self, o: usize, c: usize) -> Option<&CellSummary> {
        let criteria = self.totals.first().map_or(0, |t| t.shares.len());
        if c >= criteria {
            return None;
        }
        self.cells.get(o * criteria + c).and_then(Option::as_ref)
    }
}

/// The (cell, judge) groups of samples as readings with the position effect removed, for
/// pooling the noise.
fn groups(evidence: &Evidence, position: &PositionEffect) -> Vec<JudgeGroup> {
    let mut out = Vec::new();
    for (i, (_, _, cell)) in evidence.iter().enumerate() {
        if cell.manual.is_some() {
            continue;
        }
        for judge in 0..evidence.judges() {
            let (scores, corrections) = judge_samples(cell, judge, position);
            if scores.is_empty() {
                continue;
            }
            out.push(JudgeGroup {
                cell: i,
                judge,
                readings: scores
                    .iter()
                    .zip(&corrections)
                    .map(|(&x, &k)| Reading::of(x, k))
                    .collect(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::evidence::Answer;
    use super::*;

    fn scores(xs: &[f64]) -> Vec<Answer> {
        xs.iter().map(|&x| Answer::Score(x)).collect()
    }

    #[test]
    fn a_first_pass_uses_the_prior_noise() {
        let mut e = Evidence::new(2, &[1.0, 1.0], 1).unwrap();
        e.record_call(0, 0, &[0, 1], &scores(&[9.0, 3.0])).unwrap();
        e.record_call(1, 0, &[1, 0], &scores(&[4.0, 8.0])).unwrap();
        let a = Assessment::of(&e, &Settings::default());
        assert_eq!(a.noise.within_sd, 1.5);
        // No replicates: nothing is known of the position effect beyond its prior.
        assert_eq!((a.position.per_lean, a.position.leverage), (0.0, 0.0));
        // Option 0: (9 + 8)/2 = 8.5, se 1.5·√(1/4 + 1/4).
        assert_eq!(a.totals[0].total, Some(8.5));
        assert!((a.standings[0].standard_error - 1.5 * 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(a.verdict.winner, Some(0));
        // 8.5 − 3.5 = 5 points at sd 1.5: certain.
        assert!(a.verdict.clear_winner);
        assert_eq!(a.reliability, None);
        assert_eq!(a.cell(1, 1).map(|c| c.value), Some(4.0));
        assert_eq!(a.cell(1, 2), None);
    }

    #[test]
    fn an_exact_judge_is_recognised_from_its_replicates() {
        // Three options, two criteria, each call repeated three times with the same scores
        // in rotating orders: no spread, so σ̂_w = 0 and a 0.05-point lead is certain.
        let mut e = Evidence::new(3, &[1.0, 1.0], 1).unwrap();
        let truth = [[7.0, 6.0], [6.0, 7.1], [5.0, 5.0]];
        let score = |o: usize, c: usize| truth[o][c];
        for round in 0..3 {
            for c in 0..2 {
                let listed: Vec<usize> = (0..3).map(|i| (i + round) % 3).collect();
                let answers: Vec<Answer> =
                    listed.iter().map(|&o| Answer::Score(score(o, c))).collect();
                e.record_call(c, 0, &listed, &answers).unwrap();
            }
        }
        let a = Assessment::of(&e, &Settings::default());
        assert_eq!(a.noise.within_sd, 0.0);
        assert_eq!(a.verdict.winner, Some(1));
        assert_eq!(a.verdict.winner_probability, 1.0);
        assert_eq!(a.reliability, Some(1.0));
    }

    #[test]
    fn manual_cells_stay_exact_and_out_of_the_noise() {
        let mut e = Evidence::new(2, &[1.0], 1).unwrap();
        e.record_call(0, 0, &[0, 1], &scores(&[5.0, 6.0])).unwrap();
        e.record_call(0, 0, &[1, 0], &scores(&[2.0, 9.0])).unwrap();
        e.set_manual(0, 0, 8.0).unwrap();
        let a = Assessment::of(&e, &Settings::default());
        let manual = a.cell(0, 0).unwrap();
        assert!(manual.exact && manual.value == 8.0 && manual.standard_error == 0.0);
        assert!(manual.effective_counts.is_empty());
        // Only option 1's replicates count: one group with 1 df.
        assert_eq!(a.noise.replicate_df, 0.0);
    }
}
