//! Simulated judges, and whole evaluations played against them with the planner: how the
//! method's accuracy, cost and calibration are measured. Built for the crate's tests and,
//! behind the `sim` feature, for benchmarks.
//!
//! # The noise model
//!
//! A [`Scenario`] holds true scores, integers 1–10 drawn uniformly (an exact judge would give
//! exactly these), and criteria weights drawn uniformly from 0.5 to 3. A simulated judge's
//! score for a listed option is
//!
//! `clamp(round(true + leaning + bias·lean + noise·z), 1, 10)`
//!
//! - `noise·z`: Gaussian, standard deviation `noise_sd` (1.5 by default), fresh per call;
//! - `bias·lean`: the position bias, `+bias` for the first listed option, `−bias` for the
//!   last, linear between (`lean` as in [`Position::lean`](super::evidence::Position::lean));
//!   0 for an option listed alone;
//! - `leaning`: the model's own view of the cell, fixed for the judge, uniform in
//!   `±leaning` (0 for a single judge by default; panels give each judge its own).
//!
//! Rounding and clamping are those of a judge answering on a 1–10 integer scale.

use crate::domain::{CriterionId, OptionId};

use super::assess::{Assessment, Settings};
use super::evidence::{Answer, Evidence, EvidenceError, Position};
use super::noise::Noise;
use super::order::call_order;
use super::plan::{Mismatch, Plan, PlanSettings, Stop, plan};
use super::rng::{SeededRng, derive_seed};

/// How a simulated judge errs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JudgeModel {
    /// Standard deviation of the fresh noise of each judgment.
    pub noise_sd: f64,
    /// Points added to the first listed option and taken from the last.
    pub position_bias: f64,
    /// Half-width of the judge's fixed leaning per cell.
    pub leaning: f64,
}

impl JudgeModel {
    /// A judge that gives the true score every time, whatever the order.
    pub const EXACT: JudgeModel = JudgeModel {
        noise_sd: 0.0,
        position_bias: 0.0,
        leaning: 0.0,
    };

    /// The default noisy judge: noise 1.5, position bias ±1, no leaning.
    pub const NOISY: JudgeModel = JudgeModel {
        noise_sd: 1.5,
        position_bias: 1.0,
        leaning: 0.0,
    };

    /// A panel member: the noisy judge with its own leaning of up to ±1 per cell.
    pub const PANELIST: JudgeModel = JudgeModel {
        leaning: 1.0,
        ..JudgeModel::NOISY
    };
}

/// A decision with known true scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Number of options.
    pub options: usize,
    /// Criteria weights.
    pub weights: Vec<f64>,
    /// True scores, row-major (`truth[o * criteria + c]`).
    pub truth: Vec<f64>,
}

impl Scenario {
    /// Draws `options` × `criteria` true scores (integers 1–10) and weights (0.5–3) from
    /// `seed`.
    pub fn draw(seed: u64, options: usize, criteria: usize) -> Scenario {
        let mut rng = SeededRng::new(derive_seed("scenario", &[seed]));
        let weights = (0..criteria).map(|_| rng.uniform(0.5, 3.0)).collect();
        let truth = (0..options * criteria)
            .map(|_| 1.0 + rng.below(10) as f64)
            .collect();
        Scenario {
            options,
            weights,
            truth,
        }
    }

    /// Number of criteria.
    pub fn criteria(&self) -> usize {
        self.weights.len()
    }

    /// True totals (weighted averages).
    pub fn totals(&self) -> Vec<f64> {
        let weight: f64 = self.weights.iter().sum();
        (0..self.options)
            .map(|o| {
                (0..self.criteria())
                    .map(|c| self.weights[c] * self.truth[o * self.criteria() + c])
                    .sum::<f64>()
                    / weight
            })
            .collect()
    }

    /// The best option (the first of equals) and its margin over the second best.
    pub fn best(&self) -> (usize, f64) {
        let totals = self.totals();
        let mut order: Vec<usize> = (0..self.options).collect();
        order.sort_by(|&a, &b| totals[b].total_cmp(&totals[a]).then(a.cmp(&b)));
        let margin = order
            .get(1)
            .map_or(f64::INFINITY, |&second| totals[order[0]] - totals[second]);
        (order[0], margin)
    }
}

/// A judge answering batched calls on a scenario.
#[derive(Debug, Clone)]
pub struct SimulatedJudge {
    model: JudgeModel,
    /// The fixed leaning per cell.
    leanings: Vec<f64>,
    rng: SeededRng,
}

impl SimulatedJudge {
    /// A judge of `model` for `scenario`, its leanings and noise drawn from `seed`.
    pub fn new(model: JudgeModel, scenario: &Scenario, seed: u64) -> SimulatedJudge {
        let mut rng = SeededRng::new(seed);
        let leanings = (0..scenario.truth.len())
            .map(|_| {
                if model.leaning > 0.0 {
                    rng.uniform(-model.leaning, model.leaning)
                } else {
                    0.0
                }
            })
            .collect();
        SimulatedJudge {
            model,
            leanings,
            rng,
        }
    }

    /// Scores criterion `c` for the `listed` options, in that order.
    ///
    /// # Panics
    ///
    /// If `c` or a listed option is outside the scenario it was made for.
    pub fn answer(&mut self, scenario: &Scenario, c: usize, listed: &[usize]) -> Vec<f64> {
        let of = u32::try_from(listed.len()).unwrap_or(u32::MAX);
        (0u32..)
            .zip(listed)
            .map(|(index, &o)| {
                let cell = o * scenario.criteria() + c;
                let lean = Position { index, of }.lean();
                let noise = if self.model.noise_sd > 0.0 {
                    self.model.noise_sd * self.rng.normal()
                } else {
                    0.0
                };
                let raw = scenario.truth[cell]
                    + self.leanings[cell]
                    + self.model.position_bias * lean
                    + noise;
                raw.round().clamp(1.0, 10.0)
            })
            .collect()
    }
}

/// Why a simulated evaluation could not be played.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlayError {
    /// The scenario or a call was invalid.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    /// The planner was given an assessment of other evidence.
    #[error(transparent)]
    Plan(#[from] Mismatch),
}

/// How one simulated decision went.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The recommended option.
    pub chosen: Option<usize>,
    /// The truly best option.
    pub true_winner: usize,
    /// Its true margin over the second best.
    pub true_margin: f64,
    /// Whether the recommendation is truly best (an option tied with the best counts).
    pub correct: bool,
    /// Calls made.
    pub calls: u32,
    /// Whether a clear winner was declared.
    pub clear_winner: bool,
    /// The recommended option's probability of being best.
    pub winner_probability: f64,
    /// Why evaluation stopped.
    pub stop: Stop,
    /// The noise measured at the end.
    pub noise: Noise,
    /// The position effect measured at the end, points per unit of lean.
    pub position_effect: f64,
}

/// Plays one evaluation of `scenario` by a panel of `judges` with at most `budget` calls:
/// the planner's first pass (per criterion and judge, all options, in batches of
/// `plan_settings.batch_size`), then planned rounds until it stops. Call orders come from
/// [`call_order`] with the session id `simulated-{seed}`; judges' noise and the Monte Carlo
/// are seeded from `seed` too.
pub fn play(
    scenario: &Scenario,
    judges: &[JudgeModel],
    budget: u32,
    seed: u64,
    settings: &Settings,
    plan_settings: &PlanSettings,
) -> Result<Outcome, PlayError> {
    let session = format!("simulated-{seed}");
    let mut panel: Vec<SimulatedJudge> = judges
        .iter()
        .enumerate()
        .map(|(j, &model)| SimulatedJudge::new(model, scenario, derive_seed(&session, &[j as u64])))
        .collect();
    let mut evidence = Evidence::new(scenario.options, &scenario.weights, judges.len())?;
    // The loop needs probabilities only; rank intervals are not reported.
    let settings = Settings {
        winner: super::winner::WinnerSettings {
            seed: derive_seed(&session, &[u64::MAX]),
            rank_intervals: false,
            ..settings.winner
        },
        ..*settings
    };
    let mut calls = 0u32;
    // Every round but the last makes at least one call, so budget + 2 rounds always suffice.
    for _ in 0..=budget + 1 {
        let assessment = Assessment::of(&evidence, &settings);
        let step = plan(
            &evidence,
            &assessment,
            budget.saturating_sub(calls),
            plan_settings,
        )?;
        let planned = match step {
            Plan::Query(planned) => planned,
            Plan::Stop(stop) => return Ok(outcome(scenario, &assessment, calls, stop)),
        };
        for call in planned {
            let ids: Vec<OptionId> = call.options.iter().map(|&o| option_id(o)).collect();
            let criterion = CriterionId(u32::try_from(call.criterion).unwrap_or(u32::MAX));
            let listed: Vec<usize> =
                call_order(&session, criterion, evidence.calls(call.criterion), &ids)
                    .into_iter()
                    .map(|id| id.0 as usize)
                    .collect();
            // As the server does: the drawn order, cut into batches, one call each.
            for batch in listed.chunks(plan_settings.batch_size.max(1)) {
                let scores = panel[call.judge].answer(scenario, call.criterion, batch);
                let answers: Vec<Answer> = scores.into_iter().map(Answer::Score).collect();
                evidence.record_call(call.criterion, call.judge, batch, &answers)?;
                calls += 1;
            }
        }
    }
    let assessment = Assessment::of(&evidence, &settings);
    Ok(outcome(scenario, &assessment, calls, Stop::BudgetSpent))
}

fn option_id(o: usize) -> OptionId {
    OptionId(u32::try_from(o).unwrap_or(u32::MAX))
}

fn outcome(scenario: &Scenario, assessment: &Assessment, calls: u32, stop: Stop) -> Outcome {
    let (true_winner, true_margin) = scenario.best();
    let totals = scenario.totals();
    let verdict = &assessment.verdict;
    let correct = verdict
        .winner
        .is_some_and(|w| totals[w] >= totals[true_winner] - 1e-12);
    Outcome {
        chosen: verdict.winner,
        true_winner,
        true_margin,
        correct,
        calls,
        clear_winner: verdict.clear_winner,
        winner_probability: verdict.winner_probability,
        stop,
        noise: assessment.noise,
        position_effect: assessment.position.per_lean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_are_reproducible_integers_with_positive_weights() {
        let a = Scenario::draw(9, 6, 4);
        assert_eq!(a, Scenario::draw(9, 6, 4));
        assert_ne!(a, Scenario::draw(10, 6, 4));
        assert!(
            a.truth
                .iter()
                .all(|&t| t.fract() == 0.0 && (1.0..=10.0).contains(&t))
        );
        assert!(a.weights.iter().all(|&w| (0.5..3.0).contains(&w)));
    }

    #[test]
    fn best_and_margin_by_hand() {
        let s = Scenario {
            options: 3,
            weights: vec![1.0, 3.0],
            truth: vec![8.0, 4.0, 2.0, 9.0, 5.0, 5.0],
        };
        // Totals: (8 + 12)/4 = 5, (2 + 27)/4 = 7.25, 5.
        assert_eq!(s.totals(), vec![5.0, 7.25, 5.0]);
        assert_eq!(s.best(), (1, 2.25));
    }

    #[test]
    fn the_exact_judge_gives_the_truth_in_any_order() {
        let s = Scenario::draw(1, 4, 2);
        let mut judge = SimulatedJudge::new(JudgeModel::EXACT, &s, 3);
        let scores = judge.answer(&s, 1, &[3, 0, 2]);
        assert_eq!(scores, vec![s.truth[7], s.truth[1], s.truth[5]]);
    }

    #[test]
    fn position_bias_favours_the_first_and_penalises_the_last() {
        let s = Scenario {
            options: 3,
            weights: vec![1.0],
            truth: vec![5.0, 5.0, 5.0],
        };
        let biased = JudgeModel {
            noise_sd: 0.0,
            position_bias: 1.0,
            leaning: 0.0,
        };
        let mut judge = SimulatedJudge::new(biased, &s, 0);
        assert_eq!(judge.answer(&s, 0, &[2, 1, 0]), vec![6.0, 5.0, 4.0]);
        assert_eq!(judge.answer(&s, 0, &[1]), vec![5.0]);
    }

    #[test]
    fn noisy_scores_stay_on_the_scale_and_average_to_the_truth() {
        let s = Scenario {
            options: 2,
            weights: vec![1.0],
            truth: vec![10.0, 5.0],
        };
        let mut judge = SimulatedJudge::new(JudgeModel::NOISY, &s, 8);
        let mut sum = 0.0;
        for round in 0..2000 {
            let listed = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            let scores = judge.answer(&s, 0, &listed);
            assert!(scores.iter().all(|x| (1.0..=10.0).contains(x)));
            sum += scores[listed.iter().position(|&o| o == 1).unwrap_or(0)];
        }
        // Option 1 sits mid-scale, so clamping does not bias it; balanced places cancel.
        assert!((sum / 2000.0 - 5.0).abs() < 0.1);
    }

    #[test]
    fn leanings_are_fixed_per_judge() {
        let s = Scenario::draw(2, 3, 3);
        let model = JudgeModel {
            noise_sd: 0.0,
            position_bias: 0.0,
            leaning: 1.0,
        };
        let mut judge = SimulatedJudge::new(model, &s, 4);
        let first = judge.answer(&s, 0, &[0]);
        assert_eq!(first, judge.answer(&s, 0, &[0]));
    }

    #[test]
    fn an_exact_judge_finds_the_winner_quickly() {
        let s = Scenario::draw(5, 6, 4);
        let out = play(
            &s,
            &[JudgeModel::EXACT],
            12,
            5,
            &Settings::default(),
            &PlanSettings::default(),
        )
        .unwrap();
        assert!(out.correct && out.clear_winner, "{out:?}");
        assert!(out.calls <= 12);
        assert_eq!(out.chosen, Some(s.best().0));
    }

    #[test]
    fn a_play_is_deterministic_for_its_seed() {
        let s = Scenario::draw(6, 6, 4);
        let run = || {
            play(
                &s,
                &[JudgeModel::NOISY],
                18,
                6,
                &Settings::default(),
                &PlanSettings::default(),
            )
            .unwrap()
        };
        assert_eq!(run(), run());
    }
}
