//! `evaluate_options`: the LLMs score the cells that need it, under the session's evaluation
//! lease, saving each cell as it finishes and reporting progress as it goes.

use tokio_util::sync::CancellationToken;

use decision_matrix_core::confidence::assess::{self, Assessment};
use decision_matrix_core::confidence::plan::{self, PlanSettings, Stop};
use decision_matrix_core::confidence::session::SessionEvidence;
use decision_matrix_core::confidence::winner::WinnerSettings;
use decision_matrix_core::config::confidence_target;

use std::collections::HashSet;

use crate::domain::{Cell, CellStatus, CriterionId, OptionId, Session};
use crate::evaluation::{EvaluationReport, Plan};

use super::super::error::ToolError;
use super::super::format;
use super::super::params::EvaluateArgs;
use super::super::results::{Adaptive, Evaluated, EvaluationSummary};
use super::super::scope::Scoped;
use super::super::service::ToolResult;
use super::super::sessions::Recording;
use super::{Settled, steps};

/// What an evaluation reports while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// Another evaluation of the session holds it, in this process or another; this one waits
    /// until that evaluation ends or, if its process died, until its hold lapses.
    Waiting,
    /// Cells finished so far, of those planned.
    Cells { done: usize, planned: usize },
}

/// Where an evaluation reports its [`Update`]s.
pub type Progress<'a> = &'a mut (dyn FnMut(Update) + Send);

impl Scoped<'_> {
    /// `evaluate_options`: scores the cells that need it, reporting progress after each
    /// cell and saving each as it finishes; stops at `cancel`, keeping the cells already
    /// done.
    ///
    /// It holds the session's evaluation lease throughout, so no other call or instance
    /// evaluates (and bills) the same session meanwhile; a second evaluation waits, then
    /// plans from the session as the first left it and bills nothing for its cells.
    pub async fn evaluate(
        &self,
        args: EvaluateArgs,
        cancel: CancellationToken,
        progress: Progress<'_>,
    ) -> ToolResult<Evaluated> {
        let id = args.session_id.clone();
        let mode = Mode::of(&args, self.evaluator.settings().confidence_target)?;
        prerequisites(&self.session(&id).await?)?;
        let (cancel, _running) = self.stopping.evaluation(cancel);
        let Some(lease) = self
            .sessions
            .lease(&id, &cancel, &mut || progress(Update::Waiting))
            .await?
        else {
            return Err(ToolError::invalid(
                "Evaluation cancelled",
                "Evaluation cancelled while another evaluation of this session was running; \
                 nothing was computed",
            ));
        };
        let started = std::time::Instant::now();
        let outcome = self
            .evaluate_leased(&id, args.force, mode, lease.stop_token(), progress)
            .await;
        let lost = lease.was_lost();
        lease.release().await;
        self.telemetry.evaluation(started.elapsed());
        if lost {
            // Another instance holds the session now and computes what this one left; the
            // cells finished here are saved, the rest are not computed twice.
            return Err(ToolError::new(
                "Evaluation lease lost",
                format!(
                    "Session {id} was taken over by another evaluation (this server could not \
                     keep its hold on it); this evaluation stopped and kept the cells it had \
                     finished. Call get_decision_matrix for the results, or evaluate_options \
                     again once the other evaluation is done."
                ),
            ));
        }
        outcome
    }

    /// The evaluation proper, under the session's lease: the first pass over the cells
    /// that need it, then replicate rounds as `mode` asks.
    async fn evaluate_leased(
        &self,
        id: &str,
        force: bool,
        mode: Mode,
        cancel: CancellationToken,
        progress: Progress<'_>,
    ) -> ToolResult<Evaluated> {
        // Planned from the session as it is now that this call holds the lease: the cells a
        // previous evaluation saved are not computed again.
        let session = self.session(id).await?;
        prerequisites(&session)?;
        let batch_size = self.evaluator.settings().batch_size;
        let plan = Plan::new(&session, force);
        let one_pass = saturate(Plan::new(&session, true).calls(batch_size));
        drop(session);
        let mut run = Run {
            cancel,
            progress,
            done: 0,
            planned: 0,
        };
        let planned = plan.cells();
        let first_calls = saturate(plan.calls(batch_size));
        let report = self.run_round(id, plan, false, &mut run).await?;
        let errors = report.failures.clone();
        let first_failed = report.failed.clone();
        let computed = report.scored + report.abstained;
        // Cells this run settled; fewer than planned when it was cancelled.
        let settled = computed + errors.len();
        if planned > 0 && computed == 0 && !errors.is_empty() && !report.cancelled {
            let mut error = ToolError::new(
                "Evaluation error",
                format!(
                    "Evaluation failed: no cell could be scored ({} failed). First failure: {}",
                    errors.len(),
                    errors[0]
                ),
            );
            error.extra.insert("errors".into(), errors.clone().into());
            return Err(error);
        }
        let mut totals = report;
        let adaptive = if totals.cancelled {
            mode.summary(
                mode.budget(one_pass),
                first_calls,
                "cancelled",
                CANCELLED.to_owned(),
            )
        } else {
            self.replicate_rounds(id, mode, one_pass, first_calls, &mut run, &mut totals)
                .await?
        };
        let cancelled = totals.cancelled;
        let calls = totals.calls;
        let session = self
            .sessions
            .modify(id, |session| {
                session.llm_calls = session.llm_calls.saturating_add(calls);
                if !cancelled {
                    session.evaluations_run += 1;
                }
                Ok(session.clone())
            })
            .await?;
        // A cell the first pass failed that a later round scored is no longer an error.
        let errors: Vec<String> = errors
            .into_iter()
            .zip(&first_failed)
            .filter(|(_, (o, c))| {
                matches!(
                    session.cell(*o, *c).map(|cell| &cell.status),
                    Some(CellStatus::Failed { .. }) | None
                )
            })
            .map(|(error, _)| error)
            .collect();
        let (options, criteria) = (session.options().len(), session.criteria().len());
        let message = if cancelled {
            format!(
                "Evaluation cancelled after {settled} of {planned} cells; finished cells are kept"
            )
        } else {
            format!("Evaluated {options} options across {criteria} criteria")
        };
        // The matrix as this call leaves it, as the reference server (which recomputes every
        // cell on each call) counts it: a client checking `successful_scores ==
        // total_evaluations` reads a second call on an unchanged session as the success it
        // is. What this call itself did is `cells_computed` and `cells_reused`.
        let matrix = Settled::of(&session);
        let cells = options * criteria;
        let summary = EvaluationSummary {
            options_evaluated: options,
            criteria_used: criteria,
            total_evaluations: cells,
            successful_scores: matrix.scored,
            abstentions: matrix.abstained,
            errors: errors.len(),
            cells_computed: settled,
            cells_reused: cells.saturating_sub(planned),
            llm_calls: totals.calls,
            cache_hits: totals.cache_hits,
            input_tokens: u64::from(totals.tokens.input),
            output_tokens: u64::from(totals.tokens.output),
        };
        Ok(Evaluated {
            session_id: session.id.clone(),
            evaluation_complete: !cancelled && errors.is_empty(),
            cancelled,
            formatted_output: format::evaluation_complete(&session, &summary, &totals),
            summary,
            errors: (!errors.is_empty()).then_some(errors),
            message,
            next_steps: steps(&["get_decision_matrix - See the complete results"]),
            adaptive,
        })
    }

    /// The rounds after the first pass: planned from the evidence until the target is
    /// reached (or the budget spent, or the leaders are indistinguishable), or a fixed
    /// number of replicates. Their calls and tokens are added to `totals`.
    async fn replicate_rounds(
        &self,
        id: &str,
        mode: Mode,
        one_pass: u32,
        first_calls: u32,
        run: &mut Run<'_>,
        totals: &mut EvaluationReport,
    ) -> Result<Adaptive, ToolError> {
        let batch_size = self.evaluator.settings().batch_size;
        let budget = mode.budget(one_pass);
        let mut spent = first_calls;
        let mut rounds = 0u32;
        let mut judgments = 0usize;
        let mut replicate_errors = Vec::new();
        // Each round makes at least one call, so the budget bounds the rounds; a fixed
        // number of replicates is bounded by itself.
        let most_rounds = budget.max(mode.fixed_rounds()).saturating_add(2);
        let mut stop = None;
        while rounds < most_rounds {
            if run.cancel.is_cancelled() {
                stop = Some(("cancelled", CANCELLED.to_owned()));
                break;
            }
            let session = self.session(id).await?;
            let next = match mode {
                Mode::SinglePass => Next::Stop("single_pass", SINGLE_PASS.to_owned()),
                Mode::Replicates { n, .. } => match short_of(&session, n) {
                    calls if calls.is_empty() => Next::Stop(
                        "replicates_done",
                        format!("Every cell has {n} judgments, as asked."),
                    ),
                    calls => Next::Calls(calls),
                },
                Mode::Target { target, .. } => {
                    planned_round(&session, target, budget.saturating_sub(spent), batch_size)
                }
            };
            let calls = match next {
                Next::Stop(name, reason) => {
                    stop = Some((name, reason));
                    break;
                }
                Next::Calls(calls) => calls,
            };
            let mut plan = Plan::replicates(&session, &calls);
            drop(session);
            // The planner keeps within the budget, counting batches as calls; this guard
            // keeps any round, planned or fixed, from going past it.
            while plan.calls(batch_size) > budget.saturating_sub(spent) as usize {
                plan.criteria.pop();
            }
            if plan.criteria.is_empty() {
                stop = Some(("budget_spent", BUDGET_SPENT.to_owned()));
                break;
            }
            spent = spent.saturating_add(saturate(plan.calls(batch_size)));
            rounds += 1;
            let report = self.run_round(id, plan, true, run).await?;
            let added = report.scored + report.abstained;
            judgments += added;
            replicate_errors.extend(report.failures.iter().cloned());
            totals.calls += report.calls;
            totals.cache_hits += report.cache_hits;
            totals.tokens.input = totals.tokens.input.saturating_add(report.tokens.input);
            totals.tokens.output = totals.tokens.output.saturating_add(report.tokens.output);
            if report.cancelled {
                totals.cancelled = true;
                stop = Some(("cancelled", CANCELLED.to_owned()));
                break;
            }
            if added == 0 {
                stop = Some((
                    "replicates_failed",
                    "A round of replicates got no usable answer; the evaluation stopped rather \
                     than spend more calls on a failing backend. The cells keep their earlier \
                     judgments."
                        .to_owned(),
                ));
                break;
            }
        }
        let (stopped, reason) = stop.unwrap_or_else(|| ("budget_spent", BUDGET_SPENT.to_owned()));
        let mut summary = mode.summary(budget, spent, stopped, reason);
        summary.rounds = rounds;
        summary.replicate_judgments = judgments;
        summary.replicate_errors = replicate_errors;
        Ok(summary)
    }

    /// Runs `plan` (replicates or not), saving each cell as it finishes.
    async fn run_round(
        &self,
        id: &str,
        plan: Plan,
        replicates: bool,
        run: &mut Run<'_>,
    ) -> Result<EvaluationReport, ToolError> {
        let cells_planned = plan.cells();
        if cells_planned > 0 {
            run.planned += cells_planned;
            run.report();
        }
        // The engine reports cells from a synchronous callback; a writer task saves them,
        // each batch being whatever finished since the last write.
        let (cells, mut finished) = tokio::sync::mpsc::unbounded_channel();
        let writer = tokio::spawn({
            let (sessions, id) = (self.sessions.clone(), id.to_owned());
            async move {
                let mut failure = None;
                // A fresh evaluation replaces a cell with its first judgment; the panel's
                // other judges of the same cell, in whatever order they finish, add to it.
                let mut replaced = HashSet::new();
                let mut recording = |(o, c, cell): (OptionId, CriterionId, Cell)| {
                    let how = if replicates || !replaced.insert((o, c)) {
                        Recording::Add
                    } else {
                        Recording::Replace
                    };
                    (o, c, cell, how)
                };
                while let Some(first) = finished.recv().await {
                    let mut batch = vec![recording(first)];
                    while let Ok(more) = finished.try_recv() {
                        batch.push(recording(more));
                    }
                    if failure.is_none()
                        && let Err(error) = sessions.record_cells(&id, batch).await
                    {
                        failure = Some(error);
                    }
                }
                failure
            }
        });
        let report = self
            .evaluator
            .run(plan, run.cancel.clone(), |result| {
                let _ = cells.send((result.option, result.criterion, result.cell));
                run.done += 1;
                run.report();
            })
            .await;
        drop(cells);
        // Every cell reported is saved before the call answers.
        let unsaved = writer.await.map_err(|error| {
            ToolError::new(
                "Session store",
                format!("saving the evaluated cells failed: {error}"),
            )
        })?;
        if let Some(mut error) = unsaved {
            error.error = format!("Evaluated cells could not be saved: {}", error.error);
            return Err(error);
        }
        Ok(report)
    }
}

const CANCELLED: &str = "The evaluation was cancelled; the judgments made before are kept.";
const SINGLE_PASS: &str = "Each cell was judged once, as asked (confidence_target 0).";
const BUDGET_SPENT: &str = "The call budget (max_calls) is spent; read the winner's probability \
     and the contenders in get_decision_matrix, or evaluate again to spend another budget.";

/// What the rounds of one evaluation share: its cancellation, where it reports progress,
/// and the cells done and planned so far over every round (the plan grows as rounds are
/// planned).
struct Run<'p> {
    cancel: CancellationToken,
    progress: Progress<'p>,
    done: usize,
    planned: usize,
}

impl Run<'_> {
    fn report(&mut self) {
        (self.progress)(Update::Cells {
            done: self.done,
            planned: self.planned,
        });
    }
}

/// How far an evaluation goes beyond the first pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// One judgment per cell.
    SinglePass,
    /// Every cell judged `n` times in all, within `max_calls` calls (`None`: as many as that
    /// takes).
    Replicates {
        /// Judgments per cell.
        n: u32,
        /// The budget, first pass included.
        max_calls: Option<u32>,
    },
    /// Replicates where they can change the answer, until the winner's probability of being
    /// best reaches `target` or `max_calls` calls are planned (`None`: twice one pass).
    Target {
        /// The probability to reach.
        target: f64,
        /// The budget, first pass included.
        max_calls: Option<u32>,
    },
}

impl Mode {
    /// The mode `args` ask for, with `default_target` when they name none; an error says
    /// which argument is wrong and what is allowed.
    pub fn of(args: &EvaluateArgs, default_target: f64) -> Result<Mode, ToolError> {
        let invalid = |message: String| ToolError::invalid("Invalid evaluation", message);
        if let Some(target) = args.confidence_target {
            confidence_target(target)
                .map_err(|allowed| invalid(format!("confidence_target {target} is {allowed}")))?;
        }
        if let Some(max) = args.max_calls
            && !(1..=MAX_CALLS).contains(&max)
        {
            return Err(invalid(format!(
                "max_calls {max} is out of range; allowed: 1 to {MAX_CALLS}"
            )));
        }
        match (args.replicates, args.confidence_target) {
            (Some(n), _) if !(1..=MAX_REPLICATES).contains(&n) => Err(invalid(format!(
                "replicates {n} is out of range; allowed: 1 to {MAX_REPLICATES}"
            ))),
            (Some(_), Some(target)) if target > 0.0 => Err(invalid(
                "replicates and a confidence_target above 0 cannot be combined: give \
                 replicates for a fixed number of judgments per cell, or confidence_target \
                 to stop when the winner is clear"
                    .to_owned(),
            )),
            (Some(n), _) => Ok(Mode::Replicates {
                n,
                max_calls: args.max_calls,
            }),
            (None, target) => {
                let target = target.unwrap_or(default_target);
                if target > 0.0 {
                    Ok(Mode::Target {
                        target,
                        max_calls: args.max_calls,
                    })
                } else if args.max_calls.is_some() {
                    Err(invalid(
                        "max_calls has no effect with a confidence_target of 0, which judges \
                         each cell once: give a confidence_target above 0 or replicates"
                            .to_owned(),
                    ))
                } else {
                    Ok(Mode::SinglePass)
                }
            }
        }
    }

    /// Calls the evaluation may plan, the first pass included.
    fn budget(self, one_pass: u32) -> u32 {
        match self {
            Mode::Target { max_calls, .. } => max_calls.unwrap_or(one_pass.saturating_mul(2)),
            Mode::Replicates { n, max_calls } => max_calls.unwrap_or(one_pass.saturating_mul(n)),
            Mode::SinglePass => one_pass,
        }
    }

    fn fixed_rounds(self) -> u32 {
        match self {
            Mode::Replicates { n, .. } => n,
            Mode::SinglePass | Mode::Target { .. } => 1,
        }
    }

    fn summary(self, budget: u32, spent: u32, stopped: &str, reason: String) -> Adaptive {
        Adaptive {
            confidence_target: match self {
                Mode::Target { target, .. } => target,
                Mode::SinglePass | Mode::Replicates { .. } => 0.0,
            },
            max_calls: budget,
            calls_planned: spent,
            rounds: 0,
            replicate_judgments: 0,
            stopped: stopped.to_owned(),
            reason,
            replicate_errors: Vec::new(),
        }
    }
}

/// The most calls `max_calls` may allow.
const MAX_CALLS: u32 = 1000;
/// The most judgments per cell `replicates` may ask for.
const MAX_REPLICATES: u32 = 10;

/// What to do after a round.
enum Next {
    /// Calls by (criterion, judge), each listing the options.
    Calls(Vec<(CriterionId, usize, Vec<OptionId>)>),
    Stop(&'static str, String),
}

/// Per criterion and judge, the options whose cell has fewer than `n` judgments by that
/// judge (cells a person scored excepted).
fn short_of(session: &Session, n: u32) -> Vec<(CriterionId, usize, Vec<OptionId>)> {
    let n = n as usize;
    let mut calls = Vec::new();
    for c in session.criteria() {
        for judge in 0..session.judges(c.id).len() {
            let options: Vec<OptionId> = session
                .options()
                .iter()
                .filter(|o| match session.cell(o.id, c.id) {
                    Some(cell) => {
                        !matches!(cell.status, CellStatus::Manual { .. })
                            && cell
                                .judgments()
                                .iter()
                                .filter(|j| j.judge as usize == judge)
                                .count()
                                < n
                    }
                    None => true,
                })
                .map(|o| o.id)
                .collect();
            if !options.is_empty() {
                calls.push((c.id, judge, options));
            }
        }
    }
    calls
}

/// The planner's next round for `session` with `budget` calls of at most `batch_size`
/// options left, or why to stop.
fn planned_round(session: &Session, target: f64, budget: u32, batch_size: usize) -> Next {
    let Some(evidence) = SessionEvidence::of(session) else {
        return Next::Stop(
            "nothing_to_learn",
            "The session has nothing to judge.".to_owned(),
        );
    };
    let settings = evidence.settings(assess::Settings {
        winner: WinnerSettings {
            target,
            rank_intervals: false,
            ..WinnerSettings::default()
        },
        ..assess::Settings::default()
    });
    let assessment = Assessment::of(&evidence.evidence, &settings);
    let step = match plan::plan(
        &evidence.evidence,
        &assessment,
        budget,
        &PlanSettings {
            batch_size,
            ..PlanSettings::default()
        },
    ) {
        Ok(step) => step,
        Err(mismatch) => {
            return Next::Stop("nothing_to_learn", format!("Planning failed: {mismatch}"));
        }
    };
    match step {
        plan::Plan::Query(calls) => Next::Calls(
            calls
                .iter()
                .map(|call| {
                    (
                        evidence.criteria[call.criterion],
                        call.judge,
                        call.options.iter().map(|&o| evidence.options[o]).collect(),
                    )
                })
                .collect(),
        ),
        plan::Plan::Stop(stop) => {
            let name = |o: usize| {
                session
                    .options()
                    .get(o)
                    .map_or_else(String::new, |x| x.name.clone())
            };
            let probability = assessment.verdict.winner_probability;
            match stop {
                Stop::TargetReached => Next::Stop(
                    "target_reached",
                    format!(
                        "{} is best with probability {:.2}, at least the target {target}.",
                        assessment.verdict.winner.map(name).unwrap_or_default(),
                        probability
                    ),
                ),
                Stop::BudgetSpent => Next::Stop("budget_spent", BUDGET_SPENT.to_owned()),
                Stop::Indistinguishable { leader, rivals } => {
                    let rivals: Vec<String> = rivals.into_iter().map(name).collect();
                    Next::Stop(
                        "indistinguishable",
                        format!(
                            "{} and {} are within the judges' noise of each other: the calls \
                             left could not tell them apart. Treat them as tied, or settle it \
                             with a manual score or a sharper criterion.",
                            name(leader),
                            rivals.join(", ")
                        ),
                    )
                }
                Stop::NothingToLearn => Next::Stop(
                    "nothing_to_learn",
                    "No further call can change the answer (the contenders' cells are exact)."
                        .to_owned(),
                ),
            }
        }
    }
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// An evaluation needs options and criteria.
fn prerequisites(session: &Session) -> Result<(), ToolError> {
    if session.options().is_empty() {
        return Err(ToolError::invalid(
            "Prerequisites",
            "No options to evaluate. Add options first.",
        ));
    }
    if session.criteria().is_empty() {
        return Err(ToolError::invalid(
            "Prerequisites",
            "No criteria defined. Add criteria first.",
        ));
    }
    Ok(())
}
