//! Adaptive evaluation: which calls to make next, or why to stop.
//!
//! A call asks one judge to score one criterion for a chosen subset of options in one
//! batch; it costs the same whatever the subset. Calls are spent only where they can change
//! the answer.
//!
//! 1. **First pass.** Every judge scores every criterion once, for every option without a
//!    manual score; options never judged on a criterion (added later, or whose answer was
//!    lost) are asked for next. Nothing can be compared before that.
//! 2. **Stop** when the winner's probability of being best reaches the target
//!    ([`Stop::TargetReached`]), when no call is left ([`Stop::BudgetSpent`]), or when the
//!    leader and a rival are **indistinguishable within the noise**
//!    ([`Stop::Indistinguishable`]), defined as follows. For the leader L and a rival k
//!    (a contender, below) let `d` be the difference of their totals, `s` its standard error
//!    now and `s*` the standard error it would have if *all* the remaining calls went to the
//!    cells of L and k, allocated greedily to reduce it most (the allocation is optimal for
//!    this convex, separable objective). L and k are indistinguishable when
//!    `|d| + s < z·s*` (`z` the target's normal quantile, 1.28 for 0.9): even if their true
//!    difference were one standard error larger than estimated, the whole budget could not
//!    separate them at the target confidence; with `s* = 0` (exact cells), when `d = 0`.
//!    Since P(L best) ≤ P(L beats k), the target is then out of reach. With a panel `s*`
//!    never falls below the judges' shared leaning (σ_b), so options closer than that stay
//!    indistinguishable however many calls are left.
//! 3. Otherwise **plan a round**. The contenders are the options whose probability of being
//!    best is at least `inclusion` (2 %), with the leader and the runner-up always among
//!    them; every call of the round lists them. A call costs the same however few options it
//!    lists, up to the batch size, so a call with room left lists the options next most
//!    likely to be best as well: their judgments cost nothing more and keep the rest of the
//!    ranking honest (an option wrongly left out of the contest can come back). Contenders
//!    beyond one batch make a call cost as many calls as the batches it takes. A call on
//!    criterion c by judge j is worth
//!
//!    `Σ_k π_k · (ΔV_L + ΔV_k) / (V_L + V_k)`
//!
//!    over the rivals k, where `V_o` is the variance of option o's total and `ΔV_o` what one more
//!    sample of its cell (c, j) would take off it (`w̃²·(se² − se'²)`, with the judge's effective
//!    count raised by what one of its samples of the cell has been worth — less than 1 for a cell
//!    whose scores sit at a cap): the share of the uncertainty of each contest the call removes,
//!    weighted by the rival's chance of being best (floored at 0.1 % so that a rival the draws
//!    never saw ahead still counts a little). Heavily weighted criteria, noisy cells and judges
//!    that have not yet scored a cell (for a panel) come first; exact cells are worth nothing.
//!    Calls are picked greedily, each valued as if the ones picked before it had been made, while a
//!    call is worth at least `round_share` (half) of the round's first, up to one call per
//!    criterion and judge, and within the budget.
//!
//! Budgets count calls as the evaluation makes them: a planned call listing more options than
//! the batch size costs one call per batch.

use crate::config::DEFAULT_BATCH_SIZE;

use super::assess::Assessment;
use super::evidence::Evidence;
use super::normal;

/// The planner's knobs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanSettings {
    /// Options whose probability of being best reaches this are listed in the round's calls.
    pub inclusion: f64,
    /// A call joins the round while it is worth at least this share of the round's first.
    pub round_share: f64,
    /// The most options one call lists (the evaluation's `batch_size`, by default the
    /// server's): a planned call listing more costs one call per batch.
    pub batch_size: usize,
}

impl PlanSettings {
    /// Calls it takes to list `options` options.
    pub fn cost(&self, options: usize) -> u32 {
        u32::try_from(options.div_ceil(self.batch_size.max(1))).unwrap_or(u32::MAX)
    }
}

impl Default for PlanSettings {
    fn default() -> PlanSettings {
        PlanSettings {
            inclusion: 0.02,
            round_share: 0.5,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }
}

/// One batched call to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedCall {
    /// The criterion.
    pub criterion: usize,
    /// The judge.
    pub judge: usize,
    /// The options to list, by index (the order to list them in comes from
    /// [`call_order`](super::order::call_order)); more than the batch size make several calls.
    pub options: Vec<usize>,
}

/// Why evaluation should stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The winner's probability of being best reached the target.
    TargetReached,
    /// No call is left in the budget.
    BudgetSpent,
    /// The leader and these rivals are indistinguishable within the noise: the remaining
    /// budget cannot separate them at the target confidence.
    Indistinguishable {
        /// The leader.
        leader: usize,
        /// The rivals it cannot be told apart from.
        rivals: Vec<usize>,
    },
    /// No call can reduce the uncertainty that matters (every contender's cells are exact).
    NothingToLearn,
}

/// The planner's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Make these calls (they may run concurrently), then assess and plan again.
    Query(Vec<PlannedCall>),
    /// Stop evaluating.
    Stop(Stop),
}

/// An assessment that does not belong to the evidence it is planned with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the assessment covers {assessed} cells but the evidence has {cells}; assess the evidence the plan is for"
)]
pub struct Mismatch {
    /// Cells in the assessment.
    pub assessed: usize,
    /// Cells in the evidence.
    pub cells: usize,
}

/// The next step for `evidence`, assessed as `assessment` (an
/// [`Assessment::of`] the same evidence), with `budget` calls left.
pub fn plan(
    evidence: &Evidence,
    assessment: &Assessment,
    budget: u32,
    settings: &PlanSettings,
) -> Result<Plan, Mismatch> {
    let cells = evidence.options() * evidence.criteria();
    let consistent = assessment.cells.len() == cells
        && assessment.totals.len() == evidence.options()
        && assessment.standings.len() == evidence.options()
        && assessment
            .totals
            .iter()
            .all(|t| t.shares.len() == evidence.criteria())
        && assessment
            .cells
            .iter()
            .flatten()
            .all(|c| c.exact || c.effective_counts.len() == evidence.judges());
    if !consistent {
        return Err(Mismatch {
            assessed: assessment.cells.len(),
            cells,
        });
    }
    Ok(next_step(evidence, assessment, budget, settings))
}

fn next_step(
    evidence: &Evidence,
    assessment: &Assessment,
    budget: u32,
    settings: &PlanSettings,
) -> Plan {
    let first = first_pass(evidence);
    if !first.is_empty() {
        let mut left = budget;
        let mut affordable = Vec::new();
        for call in first {
            let cost = settings.cost(call.options.len());
            if cost > left {
                break;
            }
            left -= cost;
            affordable.push(call);
        }
        if affordable.is_empty() {
            return Plan::Stop(Stop::BudgetSpent);
        }
        return Plan::Query(affordable);
    }
    let verdict = &assessment.verdict;
    let target = assessment.settings.winner.target;
    let Some(leader) = verdict.winner else {
        return Plan::Stop(Stop::NothingToLearn);
    };
    if verdict.winner_probability >= target {
        return Plan::Stop(Stop::TargetReached);
    }
    if budget == 0 {
        return Plan::Stop(Stop::BudgetSpent);
    }
    let contenders = contenders(assessment, leader, settings.inclusion);
    let cells = CellCounts::of(evidence, assessment);
    let z = normal::quantile(target);
    let mut indistinguishable = Vec::new();
    for &k in contenders.iter().filter(|&&k| k != leader) {
        let d = total(assessment, leader) - total(assessment, k);
        let s = (assessment.totals[leader].variance + assessment.totals[k].variance).sqrt();
        // Each call on the pair costs what listing two options costs.
        let pair_calls = budget / settings.cost(2).max(1);
        let s_star = projected_sd(assessment, &cells, leader, k, pair_calls);
        let apart = if s_star > 0.0 {
            d.abs() + s >= z * s_star
        } else {
            d != 0.0
        };
        if !apart {
            indistinguishable.push(k);
        }
    }
    if !indistinguishable.is_empty() {
        return Plan::Stop(Stop::Indistinguishable {
            leader,
            rivals: indistinguishable,
        });
    }
    let (calls, priced_out) = round(
        evidence,
        assessment,
        &cells,
        leader,
        &contenders,
        budget,
        settings,
    );
    if !calls.is_empty() {
        Plan::Query(calls)
    } else if priced_out {
        Plan::Stop(Stop::BudgetSpent)
    } else {
        Plan::Stop(Stop::NothingToLearn)
    }
}

/// Calls still missing from the first pass.
fn first_pass(evidence: &Evidence) -> Vec<PlannedCall> {
    let mut calls = Vec::new();
    for c in 0..evidence.criteria() {
        let open: Vec<usize> = (0..evidence.options())
            .filter(|&o| {
                evidence
                    .cell(o, c)
                    .is_some_and(|cell| cell.manual.is_none())
            })
            .collect();
        if open.is_empty() {
            continue;
        }
        let mut covered = false;
        for judge in 0..evidence.panel(c) {
            if evidence.calls_by(c, judge) == 0 {
                calls.push(PlannedCall {
                    criterion: c,
                    judge,
                    options: open.clone(),
                });
                covered = true;
            }
        }
        if covered {
            continue;
        }
        let unjudged: Vec<usize> = open
            .into_iter()
            .filter(|&o| {
                evidence
                    .cell(o, c)
                    .is_some_and(|cell| cell.samples.is_empty() && cell.abstentions == 0)
            })
            .collect();
        if !unjudged.is_empty() {
            let judge = (0..evidence.panel(c))
                .min_by_key(|&j| evidence.calls_by(c, j))
                .unwrap_or(0);
            calls.push(PlannedCall {
                criterion: c,
                judge,
                options: unjudged,
            });
        }
    }
    calls
}

fn total(assessment: &Assessment, o: usize) -> f64 {
    assessment.totals[o].total.unwrap_or(0.0)
}

/// The leader, the runner-up and every option whose probability of being best reaches
/// `inclusion`, in index order.
fn contenders(assessment: &Assessment, leader: usize, inclusion: f64) -> Vec<usize> {
    let scored = |o: usize| assessment.totals[o].total.is_some();
    let runner_up = assessment
        .standings
        .iter()
        .filter(|s| s.option != leader && scored(s.option))
        .max_by(|a, b| {
            a.probability_best
                .total_cmp(&b.probability_best)
                .then(total(assessment, a.option).total_cmp(&total(assessment, b.option)))
                .then(b.option.cmp(&a.option))
        })
        .map(|s| s.option);
    let mut out: Vec<usize> = assessment
        .standings
        .iter()
        .filter(|s| {
            s.option == leader
                || Some(s.option) == runner_up
                || (scored(s.option) && s.probability_best >= inclusion)
        })
        .map(|s| s.option)
        .collect();
    out.sort_unstable();
    out
}

/// Per cell and judge, what the samples are worth (effective counts) and what one more
/// sample would add; and which cells are exact.
struct CellCounts {
    criteria: usize,
    judges: usize,
    /// Judges scoring each criterion (`0..panels[c]`).
    panels: Vec<usize>,
    /// `counts[(o * criteria + c) * judges + j]`.
    counts: Vec<f64>,
    /// What one more sample of the same (cell, judge) adds: the judge's average worth per
    /// sample so far (capped scores are worth less), 1 for a judge new to the cell.
    worth: Vec<f64>,
    exact: Vec<bool>,
}

impl CellCounts {
    fn of(evidence: &Evidence, assessment: &Assessment) -> CellCounts {
        let judges = evidence.judges();
        let cells = evidence.options() * evidence.criteria();
        let mut counts = vec![0.0; cells * judges];
        let mut worth = vec![1.0; cells * judges];
        let mut exact = vec![false; cells];
        for (i, (_, _, cell)) in evidence.iter().enumerate() {
            exact[i] = cell.manual.is_some();
            let Some(summary) = assessment.cells.get(i).and_then(Option::as_ref) else {
                continue;
            };
            for (j, &effective) in summary.effective_counts.iter().enumerate().take(judges) {
                let n = cell.samples.iter().filter(|s| s.judge == j).count();
                counts[i * judges + j] = effective;
                if n > 0 {
                    worth[i * judges + j] = effective / n as f64;
                }
            }
        }
        CellCounts {
            criteria: evidence.criteria(),
            panels: (0..evidence.criteria())
                .map(|c| evidence.panel(c))
                .collect(),
            judges,
            counts,
            worth,
            exact,
        }
    }

    fn cell(&self, o: usize, c: usize) -> usize {
        o * self.criteria + c
    }
}

/// What one more sample from `judge` would take off the variance of option `o`'s total
/// through its cell on `c`, given extra samples `extra` already planned for the cell.
fn reduction(
    assessment: &Assessment,
    cells: &CellCounts,
    extra: &[usize],
    o: usize,
    c: usize,
    judge: usize,
) -> f64 {
    let cell = cells.cell(o, c);
    let share = assessment.totals[o].shares[c];
    if cells.exact[cell] || share == 0.0 {
        return 0.0;
    }
    let range = cell * cells.judges..(cell + 1) * cells.judges;
    let mut counts: Vec<f64> = cells.counts[range.clone()]
        .iter()
        .zip(&cells.worth[range.clone()])
        .zip(&extra[range])
        .map(|((n, w), &x)| n + w * x as f64)
        .collect();
    let Some(before) = assessment.noise.cell_variance(&counts) else {
        return 0.0;
    };
    counts[judge] += cells.worth[cell * cells.judges + judge];
    let after = assessment.noise.cell_variance(&counts).unwrap_or(before);
    share * share * (before - after).max(0.0)
}

/// The options a call on criterion `c` lists: the contenders, then, while the batch has
/// room, the other options by their probability of being best (then their totals). Cells a
/// person scored are left out: there is nothing to ask.
fn listing(
    evidence: &Evidence,
    assessment: &Assessment,
    cells: &CellCounts,
    contenders: &[usize],
    c: usize,
    batch_size: usize,
) -> Vec<usize> {
    let open = |o: usize| !cells.exact[cells.cell(o, c)];
    let mut listed: Vec<usize> = contenders.iter().copied().filter(|&o| open(o)).collect();
    let mut others: Vec<usize> = (0..evidence.options())
        .filter(|&o| open(o) && !contenders.contains(&o) && assessment.totals[o].total.is_some())
        .collect();
    others.sort_by(|&a, &b| {
        let p = |o: usize| assessment.standings[o].probability_best;
        p(b).total_cmp(&p(a))
            .then(total(assessment, b).total_cmp(&total(assessment, a)))
            .then(a.cmp(&b))
    });
    let room = batch_size.saturating_sub(listed.len());
    listed.extend(others.into_iter().take(room));
    listed.sort_unstable();
    listed
}

/// The calls of the next round, greedily, and whether a call worth making was left out
/// because it cost more calls than were left.
fn round(
    evidence: &Evidence,
    assessment: &Assessment,
    cells: &CellCounts,
    leader: usize,
    contenders: &[usize],
    budget: u32,
    settings: &PlanSettings,
) -> (Vec<PlannedCall>, bool) {
    let criteria = cells.criteria;
    let judges = cells.judges;
    let rivals: Vec<usize> = contenders
        .iter()
        .copied()
        .filter(|&k| k != leader)
        .collect();
    let listings: Vec<Vec<usize>> = (0..criteria)
        .map(|c| {
            listing(
                evidence,
                assessment,
                cells,
                contenders,
                c,
                settings.batch_size,
            )
        })
        .collect();
    let mut extra = vec![0usize; cells.counts.len()];
    let mut variance: Vec<f64> = assessment.totals.iter().map(|t| t.variance).collect();
    let mut picked: Vec<PlannedCall> = Vec::new();
    let mut spent = 0u32;
    let mut first_value = None;
    let mut priced_out = false;
    loop {
        let mut best: Option<(f64, usize, usize)> = None;
        for (c, listed) in listings.iter().enumerate() {
            let affordable = spent.saturating_add(settings.cost(listed.len())) <= budget;
            for j in 0..cells.panels[c] {
                if picked.iter().any(|p| p.criterion == c && p.judge == j) {
                    continue;
                }
                let lead = reduction(assessment, cells, &extra, leader, c, j);
                let value: f64 = rivals
                    .iter()
                    .map(|&k| {
                        let pair = variance[leader] + variance[k];
                        if pair <= 0.0 {
                            return 0.0;
                        }
                        let gain = lead + reduction(assessment, cells, &extra, k, c, j);
                        assessment.standings[k].probability_best.max(1e-3) * gain / pair
                    })
                    .sum();
                if value > 0.0 && !affordable {
                    priced_out = true;
                } else if value > 0.0 && best.is_none_or(|(v, _, _)| value > v) {
                    best = Some((value, c, j));
                }
            }
        }
        let Some((value, c, j)) = best else {
            break;
        };
        let first = *first_value.get_or_insert(value);
        if value < settings.round_share * first {
            break;
        }
        for &o in &listings[c] {
            variance[o] -= reduction(assessment, cells, &extra, o, c, j);
            extra[cells.cell(o, c) * judges + j] += 1;
        }
        spent += settings.cost(listings[c].len());
        picked.push(PlannedCall {
            criterion: c,
            judge: j,
            options: listings[c].clone(),
        });
    }
    let priced_out = priced_out && picked.is_empty();
    (picked, priced_out)
}

/// The standard error the leader–rival difference would have if all `budget` calls went to
/// their cells, allocated greedily.
fn projected_sd(
    assessment: &Assessment,
    cells: &CellCounts,
    leader: usize,
    rival: usize,
    budget: u32,
) -> f64 {
    let mut extra = vec![0usize; cells.counts.len()];
    let mut variance = assessment.totals[leader].variance + assessment.totals[rival].variance;
    for _ in 0..budget {
        let mut best: Option<(f64, usize, usize)> = None;
        for c in 0..cells.criteria {
            for j in 0..cells.panels[c] {
                let gain = reduction(assessment, cells, &extra, leader, c, j)
                    + reduction(assessment, cells, &extra, rival, c, j);
                if gain > 0.0 && best.is_none_or(|(g, _, _)| gain > g) {
                    best = Some((gain, c, j));
                }
            }
        }
        let Some((gain, c, j)) = best else {
            break;
        };
        variance -= gain;
        for o in [leader, rival] {
            extra[cells.cell(o, c) * cells.judges + j] += 1;
        }
    }
    variance.max(0.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::super::assess::Settings;
    use super::super::evidence::Answer;
    use super::*;

    fn scores(xs: &[f64]) -> Vec<Answer> {
        xs.iter().map(|&x| Answer::Score(x)).collect()
    }

    fn settings() -> Settings {
        Settings::default()
    }

    fn step(e: &Evidence, a: &Assessment, budget: u32) -> Plan {
        plan(e, a, budget, &PlanSettings::default()).unwrap()
    }

    #[test]
    fn an_assessment_of_other_evidence_is_refused() {
        let small = Evidence::new(2, &[1.0], 1).unwrap();
        let large = Evidence::new(3, &[1.0], 1).unwrap();
        let a = Assessment::of(&small, &settings());
        let err = plan(&large, &a, 5, &PlanSettings::default()).unwrap_err();
        assert_eq!(
            err,
            Mismatch {
                assessed: 2,
                cells: 3
            }
        );
        assert!(
            err.to_string()
                .contains("assess the evidence the plan is for")
        );
    }

    #[test]
    fn the_first_pass_comes_first_for_every_judge() {
        let mut e = Evidence::new(3, &[1.0, 2.0], 2).unwrap();
        e.set_manual(1, 0, 5.0).unwrap();
        let a = Assessment::of(&e, &settings());
        let Plan::Query(calls) = step(&e, &a, 10) else {
            panic!("expected the first pass");
        };
        assert_eq!(calls.len(), 4);
        assert_eq!(calls[0].options, vec![0, 2]);
        assert_eq!(
            calls[1],
            PlannedCall {
                criterion: 0,
                judge: 1,
                options: vec![0, 2]
            }
        );
        assert_eq!(calls[3].options, vec![0, 1, 2]);
        // The budget caps it.
        let Plan::Query(calls) = step(&e, &a, 3) else {
            panic!("expected the first pass");
        };
        assert_eq!(calls.len(), 3);
        assert_eq!(step(&e, &a, 0), Plan::Stop(Stop::BudgetSpent));
    }

    #[test]
    fn a_clear_winner_stops() {
        let mut e = Evidence::new(2, &[1.0], 1).unwrap();
        e.record_call(0, 0, &[0, 1], &scores(&[10.0, 1.0])).unwrap();
        let a = Assessment::of(&e, &settings());
        assert!(a.verdict.clear_winner);
        assert_eq!(step(&e, &a, 5), Plan::Stop(Stop::TargetReached));
    }

    /// Four options on a light and a heavy criterion after one pass: options 0 and 1 lead
    /// together, 2 and 3 trail far behind.
    fn close_race() -> Evidence {
        let mut e = Evidence::new(4, &[1.0, 3.0], 1).unwrap();
        e.record_call(0, 0, &[0, 1, 2, 3], &scores(&[7.0, 6.0, 2.0, 1.0]))
            .unwrap();
        e.record_call(1, 0, &[3, 2, 1, 0], &scores(&[1.0, 2.0, 8.0, 7.0]))
            .unwrap();
        e
    }

    #[test]
    fn calls_go_to_the_contenders_heaviest_criterion_first() {
        let e = close_race();
        let a = Assessment::of(&e, &settings());
        assert!(!a.verdict.clear_winner);
        let Plan::Query(calls) = step(&e, &a, 10) else {
            panic!("expected calls");
        };
        // The heavy criterion removes 9 times the variance per call; the light one is worth
        // less than half of it, so the round holds one call. It lists the two trailing
        // options as well: a batch holds five, and they cost nothing more.
        assert_eq!(
            calls,
            vec![PlannedCall {
                criterion: 1,
                judge: 0,
                options: vec![0, 1, 2, 3]
            }]
        );
    }

    #[test]
    fn a_call_with_room_lists_the_next_most_likely_options() {
        let e = close_race();
        let a = Assessment::of(&e, &settings());
        let three = PlanSettings {
            batch_size: 3,
            ..PlanSettings::default()
        };
        let Plan::Query(calls) = plan(&e, &a, 10, &three).unwrap() else {
            panic!("expected calls");
        };
        // Options 2 and 3 are no contenders (a chance of being best under 2 %). Option 3's
        // scores sit at the floor of the scale, which tells less, so its chance is the larger
        // (0.30 % against 0.28 %): it fills the place left.
        assert!(a.standings[3].probability_best > a.standings[2].probability_best);
        assert!(a.standings[3].probability_best < 0.02);
        assert_eq!(calls[0].options, vec![0, 1, 3]);
        // A person's score leaves nothing to ask: the place goes to the next option.
        let mut e = close_race();
        e.set_manual(3, 1, 1.0).unwrap();
        let a = Assessment::of(&e, &settings());
        let Plan::Query(calls) = plan(&e, &a, 10, &three).unwrap() else {
            panic!("expected calls");
        };
        assert_eq!(calls[0].options, vec![0, 1, 2]);
    }

    #[test]
    fn contenders_beyond_a_batch_cost_a_call_per_batch() {
        let e = close_race();
        let a = Assessment::of(&e, &settings());
        let one = PlanSettings {
            batch_size: 1,
            ..PlanSettings::default()
        };
        // Listing the two contenders takes two calls: three calls left buy one of them.
        let Plan::Query(calls) = plan(&e, &a, 3, &one).unwrap() else {
            panic!("expected calls");
        };
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0].options, vec![0, 1]);
        // One call left cannot pay for one: the budget is spent, not the knowledge.
        assert_eq!(
            plan(&e, &a, 1, &one).unwrap(),
            Plan::Stop(Stop::BudgetSpent)
        );
        // The first pass is priced the same way.
        let fresh = Evidence::new(3, &[1.0], 1).unwrap();
        let a = Assessment::of(&fresh, &settings());
        assert_eq!(
            plan(&fresh, &a, 2, &one).unwrap(),
            Plan::Stop(Stop::BudgetSpent)
        );
        let Plan::Query(first) = plan(&fresh, &a, 3, &one).unwrap() else {
            panic!("expected the first pass");
        };
        assert_eq!(first[0].options, vec![0, 1, 2]);
    }

    #[test]
    fn no_budget_stops() {
        let e = close_race();
        let a = Assessment::of(&e, &settings());
        assert_eq!(step(&e, &a, 0), Plan::Stop(Stop::BudgetSpent));
    }

    #[test]
    fn apart_while_the_budget_could_still_separate_them() {
        // Totals 7 and 7.5 (weights 1 and 3), each cell at the prior noise 1.5: the
        // difference has s = 1.5·√(2·(1/16 + 9/16)) = 1.68. One more call on the heavy
        // criterion would bring it to s* = 1.24: z·s* = 1.59 < |d| + s = 2.18, so a single
        // call left is still worth making.
        let e = close_race();
        let a = Assessment::of(&e, &settings());
        let d = a.totals[1].total.unwrap() - a.totals[0].total.unwrap();
        assert!((d - 0.5).abs() < 1e-12);
        assert!(matches!(step(&e, &a, 1), Plan::Query(_)));
    }

    /// Two options with the same eight scores (7, 7, 5, 5 twice, each score once first and
    /// once last): equal totals, noise √(16/14) = 1.07, se of the difference 0.53.
    fn dead_heat() -> Evidence {
        let mut e = Evidence::new(2, &[1.0], 1).unwrap();
        for round in 0..8 {
            let listed = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            let high = round % 4 < 2;
            let (first, second) = if high == (listed[0] == 0) {
                (7.0, 5.0)
            } else {
                (5.0, 7.0)
            };
            e.record_call(0, 0, &listed, &scores(&[first, second]))
                .unwrap();
        }
        e
    }

    #[test]
    fn indistinguishable_when_the_budget_cannot_separate_them() {
        let e = dead_heat();
        let a = Assessment::of(&e, &settings());
        let d = a.totals[0].total.unwrap() - a.totals[1].total.unwrap();
        assert!(d.abs() < 1e-9, "{d}");
        // One call left: s* = s·√(8/9) = 0.50, and |d| + s = 0.53 < 1.28·s* = 0.65.
        assert_eq!(
            step(&e, &a, 1),
            Plan::Stop(Stop::Indistinguishable {
                leader: 0,
                rivals: vec![1]
            })
        );
        // A hundred calls could still bring s* to a quarter of s: keep going.
        assert!(matches!(step(&e, &a, 100), Plan::Query(_)));
    }

    #[test]
    fn exact_ties_are_indistinguishable_whatever_the_budget() {
        let mut tie = Evidence::new(2, &[1.0], 1).unwrap();
        tie.record_call(0, 0, &[0, 1], &scores(&[6.0, 6.0]))
            .unwrap();
        tie.set_manual(0, 0, 6.0).unwrap();
        tie.set_manual(1, 0, 6.0).unwrap();
        let a = Assessment::of(&tie, &settings());
        assert_eq!(
            step(&tie, &a, 10),
            Plan::Stop(Stop::Indistinguishable {
                leader: 0,
                rivals: vec![1]
            })
        );
    }

    #[test]
    fn replicates_that_agree_shrink_the_noise_and_indistinguishable_follows() {
        // A judge that repeats itself exactly on two options 0.05 apart, with one call left:
        // the noise is 0, so they are apart (d ≠ 0) and the winner is certain.
        let mut e = Evidence::new(2, &[1.0, 1.0], 1).unwrap();
        for round in 0..4 {
            for c in 0..2 {
                let listed = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                let truth = [[7.0, 6.1], [6.0, 7.0]];
                let answers: Vec<Answer> =
                    listed.iter().map(|&o| Answer::Score(truth[o][c])).collect();
                e.record_call(c, 0, &listed, &answers).unwrap();
            }
        }
        let a = Assessment::of(&e, &settings());
        assert_eq!(a.noise.within_sd, 0.0);
        assert_eq!(a.verdict.winner, Some(0));
        assert_eq!(step(&e, &a, 1), Plan::Stop(Stop::TargetReached));
    }

    #[test]
    fn a_panel_spreads_calls_over_judges() {
        let mut e = Evidence::new(2, &[1.0], 3).unwrap();
        e.record_call(0, 0, &[0, 1], &scores(&[7.0, 6.0])).unwrap();
        e.record_call(0, 1, &[1, 0], &scores(&[7.0, 6.0])).unwrap();
        e.record_call(0, 2, &[0, 1], &scores(&[8.0, 7.0])).unwrap();
        e.record_call(0, 0, &[1, 0], &scores(&[6.0, 8.0])).unwrap();
        let a = Assessment::of(&e, &settings());
        let Plan::Query(calls) = step(&e, &a, 10) else {
            panic!("expected calls");
        };
        // Judge 0 already has two samples of each cell, judges 1 and 2 one each: they are
        // asked first.
        let judges: Vec<usize> = calls.iter().map(|c| c.judge).collect();
        assert_eq!(judges[..2], [1, 2], "{calls:?}");
    }

    #[test]
    fn a_criterion_with_a_smaller_panel_is_asked_of_its_own_judges_only() {
        let mut e = Evidence::new(2, &[1.0, 1.0], 3).unwrap();
        e.set_panel(1, 1).unwrap();
        assert!(e.set_panel(1, 4).is_err());
        assert!(e.set_panel(1, 0).is_err());
        let a = Assessment::of(&e, &settings());
        let Plan::Query(first) = step(&e, &a, 10) else {
            panic!("expected the first pass");
        };
        let asked: Vec<(usize, usize)> = first.iter().map(|c| (c.criterion, c.judge)).collect();
        assert_eq!(asked, [(0, 0), (0, 1), (0, 2), (1, 0)]);
        for (c, j) in asked {
            let answers = if c == 0 {
                [7.0, 5.0 + j as f64]
            } else {
                [6.0, 6.5]
            };
            e.record_call(c, j, &[0, 1], &scores(&answers)).unwrap();
        }
        let a = Assessment::of(&e, &settings());
        if let Plan::Query(calls) = step(&e, &a, 10) {
            assert!(
                calls
                    .iter()
                    .all(|call| call.criterion == 0 || call.judge == 0),
                "{calls:?}"
            );
        }
    }
}
