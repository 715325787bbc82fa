//! The method's quality, measured on 100 seeded decisions (seeds 0–99) of 6 options × 4
//! weighted criteria per judge setup, with the planner's defaults. Deterministic given the
//! seeds: these are properties of the algorithm, not timings.
//!
//! The targets set for the method, and what it reaches:
//!
//! | setup | measure | target | seeds 0–99 | seeds 0–8,999 |
//! |---|---|---|---|---|
//! | one judge, ≤ 18 calls | top-1 accuracy | ≥ 0.85 | 0.75 | 0.82 |
//! | | calls per decision | ≤ 18 | 13.8 (max 18) | 13.0 |
//! | | declared clear winner right | ≥ 0.95 | 0.93 | 0.95 |
//! | | clear winner when true margin ≥ 0.5 | ≥ 0.80 | 0.59 | 0.75 |
//! | | Brier score of the winner's probability | ≤ 0.12 | 0.130 | 0.112 |
//! | panel of three, ≤ 36 calls | top-1 accuracy | ≥ 0.88 | 0.88 | 0.85 (seeds 0–2,999) |
//! | | Brier score | ≤ 0.09 | 0.078 | 0.094 (seeds 0–2,999) |
//! | exact judge, ≤ 12 calls | right / clear | all | all / all but one exact tie | same |
//!
//! The single-judge targets are not reached, and on average the panel's are not either: they sit at
//! the limit of what the calls can tell. An oracle that knows which two options are truly best and
//! spends every call of the budget on their cells, spread over the criteria in proportion to their
//! weights, picks the better of the two 86 % of the time with one judge and 18 calls (20,000
//! simulated decisions with the same noise, rounding and caps, and no position bias at all) and
//! 87 % with the panel and 36 calls (normal approximation): a third of these decisions are won by
//! less than half a point, which 18 judgments of noise 1.5 per option cannot resolve reliably. The
//! assertions below hold the targets where they are met and otherwise the measured level, so that a
//! regression fails; each says which.

use super::assess::Settings;
use super::plan::{PlanSettings, Stop};
use super::simulate::{JudgeModel, Outcome, Scenario, play};

const DECISIONS: u64 = 100;

/// What 100 decisions came to.
#[derive(Debug)]
struct Report {
    /// Share of decisions whose recommendation is truly best.
    accuracy: f64,
    /// Mean calls per decision.
    mean_calls: f64,
    /// Most calls of any decision.
    max_calls: u32,
    /// Share of decisions with a declared clear winner.
    clear_share: f64,
    /// Share of declared clear winners that are truly best.
    clear_precision: f64,
    /// Share of decisions with a true margin of at least 0.5 that declared a clear winner.
    clear_when_apart: f64,
    /// Mean squared error of the winner's probability against being right.
    brier: f64,
}

fn play_all(judges: &[JudgeModel], budget: u32) -> Vec<Outcome> {
    (0..DECISIONS)
        .map(|seed| {
            let scenario = Scenario::draw(seed, 6, 4);
            play(
                &scenario,
                judges,
                budget,
                seed,
                &Settings::default(),
                &PlanSettings::default(),
            )
            .expect("simulated calls are valid")
        })
        .collect()
}

fn report(outcomes: &[Outcome]) -> Report {
    let n = outcomes.len() as f64;
    let share = |hit: &dyn Fn(&Outcome) -> bool, among: &dyn Fn(&Outcome) -> bool| {
        let base: Vec<&Outcome> = outcomes.iter().filter(|o| among(o)).collect();
        if base.is_empty() {
            return 1.0;
        }
        base.iter().filter(|o| hit(o)).count() as f64 / base.len() as f64
    };
    Report {
        accuracy: share(&|o| o.correct, &|_| true),
        mean_calls: outcomes.iter().map(|o| f64::from(o.calls)).sum::<f64>() / n,
        max_calls: outcomes.iter().map(|o| o.calls).max().unwrap_or(0),
        clear_share: share(&|o| o.clear_winner, &|_| true),
        clear_precision: share(&|o| o.correct, &|o| o.clear_winner),
        clear_when_apart: share(&|o| o.clear_winner, &|o| o.true_margin >= 0.5),
        brier: outcomes
            .iter()
            .map(|o| (o.winner_probability - if o.correct { 1.0 } else { 0.0 }).powi(2))
            .sum::<f64>()
            / n,
    }
}

#[test]
fn one_noisy_judge() {
    let r = report(&play_all(&[JudgeModel::NOISY], 18));
    println!("one noisy judge: {r:#?}");
    // Target met.
    assert!(r.max_calls <= 18, "{r:#?}");
    assert!(r.mean_calls <= 18.0, "{r:#?}");
    // Targets not met (accuracy 0.85, precision 0.95, clear when apart 0.80, Brier 0.12):
    // the measured level on these seeds.
    assert!(r.accuracy >= 0.75, "{r:#?}");
    assert!(r.clear_precision >= 0.93, "{r:#?}");
    assert!(r.clear_when_apart >= 0.58, "{r:#?}");
    assert!(r.brier <= 0.13, "{r:#?}");
}

#[test]
fn a_panel_of_three_leaning_judges() {
    let r = report(&play_all(&[JudgeModel::PANELIST; 3], 36));
    println!("panel of three: {r:#?}");
    // Targets met on these seeds (on average over 3,000 seeds they are not: 0.85 and 0.094).
    assert!(r.accuracy >= 0.88, "{r:#?}");
    assert!(r.brier <= 0.09, "{r:#?}");
    assert!(r.max_calls <= 36, "{r:#?}");
}

#[test]
fn an_exact_judge() {
    let outcomes = play_all(&[JudgeModel::EXACT], 12);
    let r = report(&outcomes);
    println!("exact judge: {r:#?}");
    // Targets met: every winner right, within 12 calls, and a clear winner whenever there is
    // one to declare. Two options with equal true totals (seed 65 has one such pair) are
    // not a clear win for either: that decision stops as indistinguishable, at probability ½.
    assert_eq!(r.accuracy, 1.0, "{r:#?}");
    assert!(r.max_calls <= 12, "{r:#?}");
    assert!(r.clear_share >= 0.99, "{r:#?}");
    for o in &outcomes {
        if o.true_margin > 0.0 {
            assert!(o.clear_winner, "{o:?}");
        } else {
            assert!(matches!(o.stop, Stop::Indistinguishable { .. }), "{o:?}");
        }
    }
}
