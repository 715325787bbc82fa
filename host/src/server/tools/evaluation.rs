//! `evaluate_options`: the LLMs score the cells that need it, under the session's evaluation
//! lease, saving each cell as it finishes and reporting progress as it goes.

use tokio_util::sync::CancellationToken;

use crate::domain::Session;
use crate::evaluation::Plan;

use super::super::error::ToolError;
use super::super::format;
use super::super::params::EvaluateArgs;
use super::super::results::{Evaluated, EvaluationSummary};
use super::super::scope::Scoped;
use super::super::service::ToolResult;
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
            .evaluate_leased(&id, args.force, lease.stop_token(), progress)
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

    /// The evaluation proper, under the session's lease.
    async fn evaluate_leased(
        &self,
        id: &str,
        force: bool,
        cancel: CancellationToken,
        progress: Progress<'_>,
    ) -> ToolResult<Evaluated> {
        // Planned from the session as it is now that this call holds the lease: the cells a
        // previous evaluation saved are not computed again.
        let session = self.session(id).await?;
        prerequisites(&session)?;
        let plan = Plan::new(&session, force);
        drop(session);
        let planned = plan.cells();
        let mut done = 0;
        if planned > 0 {
            progress(Update::Cells { done: 0, planned });
        }
        // The engine reports cells from a synchronous callback; a writer task saves them,
        // each batch being whatever finished since the last write.
        let (cells, mut finished) = tokio::sync::mpsc::unbounded_channel();
        let writer = tokio::spawn({
            let (sessions, id) = (self.sessions.clone(), id.to_owned());
            async move {
                let mut failure = None;
                while let Some(first) = finished.recv().await {
                    let mut batch = vec![first];
                    while let Ok(more) = finished.try_recv() {
                        batch.push(more);
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
            .run(plan, cancel, |result| {
                let _ = cells.send((result.option, result.criterion, result.cell));
                done += 1;
                progress(Update::Cells { done, planned });
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
        let session = if report.cancelled {
            self.session(id).await?
        } else {
            self.sessions
                .modify(id, |session| {
                    session.evaluations_run += 1;
                    Ok(session.clone())
                })
                .await?
        };
        let errors = report.failures.clone();
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
        let (options, criteria) = (session.options().len(), session.criteria().len());
        let message = if report.cancelled {
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
            llm_calls: report.calls,
            cache_hits: report.cache_hits,
            input_tokens: u64::from(report.tokens.input),
            output_tokens: u64::from(report.tokens.output),
        };
        Ok(Evaluated {
            session_id: session.id.clone(),
            evaluation_complete: !report.cancelled && errors.is_empty(),
            cancelled: report.cancelled,
            formatted_output: format::evaluation_complete(&session, &summary, &report),
            summary,
            errors: (!errors.is_empty()).then_some(errors),
            message,
            next_steps: steps(&["get_decision_matrix - See the complete results"]),
        })
    }
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
