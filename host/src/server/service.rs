//! [`Decisions`]: what each tool does, independent of the MCP plumbing.
//!
//! Every method takes the tool's arguments and returns the result dict (a JSON object with the
//! reference server's keys plus ours, and `formatted_output`) or a [`ToolError`]. The MCP
//! adapter ([`super::mcp`]) and the command line call the same methods.
//!
//! Decisions made where the reference server is silent or wrong:
//! - criteria inherit the session's backend, model and temperature unless given;
//! - every input is validated before anything is created or changed;
//! - a backend or strategy that is not loaded is refused, naming the ones that are;
//! - `evaluate_options` computes only missing, failed or outdated cells (`force` redoes all),
//!   reports failed cells as errors, and is an error itself when no cell could be computed;
//! - the matrix before any evaluation says so instead of announcing a "close race" at 0.0.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::analysis::{self, Analysis, AnalysisCache};
use crate::domain::{
    CellState, CellStatus, CriterionSpec, CriterionUpdate, Limits, Score, Session, SessionDefaults,
};
use crate::evaluation::{Evaluator, Plan};
use crate::plugins::PluginCatalog;
use crate::plugins::call::PluginInstances;
use crate::telemetry::Telemetry;

use super::error::{ToolError, now_rfc3339, rfc3339};
use super::export;
use super::format;
use super::params::{
    AddCriterionArgs, AddOptionArgs, EvaluateArgs, ExportArgs, RemoveCriterionArgs,
    RemoveOptionArgs, SensitivityArgs, SessionArgs, SetScoreArgs, StartArgs, StrategyArgs,
    UpdateCriterionArgs, UpdateOptionArgs,
};
use super::sessions::SessionManager;
use super::stopping::Stopping;

/// A tool's result dict.
pub type ToolResult = Result<Map<String, Value>, ToolError>;

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

/// The state every tool works on.
pub struct Decisions {
    sessions: Arc<SessionManager>,
    evaluator: Evaluator,
    catalog: Arc<PluginCatalog>,
    analyses: AnalysisCache,
    limits: Limits,
    default_backend: String,
    bedrock: BedrockTarget,
    stopping: Stopping,
    telemetry: Arc<Telemetry>,
    plugin_instances: Option<PluginInstances>,
}

/// Where `test_aws_bedrock_connection` reports it tested: the Bedrock backend's region and
/// default model, as derived from the environment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BedrockTarget {
    /// AWS region.
    pub region: String,
    /// Model id.
    pub model: String,
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl Decisions {
    /// Tools over `sessions`, scoring with `evaluator`, ranking with `catalog`'s strategies;
    /// metrics go where the evaluator records its backend calls.
    pub fn new(
        sessions: Arc<SessionManager>,
        evaluator: Evaluator,
        catalog: Arc<PluginCatalog>,
        limits: Limits,
    ) -> Decisions {
        Decisions {
            analyses: AnalysisCache::new(sessions.settings().max_sessions),
            sessions,
            catalog,
            limits,
            default_backend: SessionDefaults::default().backend,
            bedrock: BedrockTarget::default(),
            stopping: Stopping::default(),
            telemetry: evaluator.telemetry().clone(),
            plugin_instances: None,
            evaluator,
        }
    }

    /// Reports the plugin host's instance count in the metrics.
    pub fn with_plugin_instances(mut self, instances: PluginInstances) -> Decisions {
        self.plugin_instances = Some(instances);
        self
    }

    /// Where calls are recorded.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    /// The plugin host's instance count, when known.
    pub(super) fn plugin_instances(&self) -> Option<&PluginInstances> {
        self.plugin_instances.as_ref()
    }

    /// The evaluation engine.
    pub(super) fn evaluator(&self) -> &Evaluator {
        &self.evaluator
    }

    /// The plugins loaded.
    pub(super) fn catalog(&self) -> &PluginCatalog {
        &self.catalog
    }

    /// Sets what `test_aws_bedrock_connection` reports as tested.
    pub fn with_bedrock(mut self, bedrock: BedrockTarget) -> Decisions {
        self.bedrock = bedrock;
        self
    }

    /// The session store.
    pub fn sessions(&self) -> &Arc<SessionManager> {
        &self.sessions
    }

    /// The switch that cancels evaluations when the server stops.
    pub fn stopping(&self) -> &Stopping {
        &self.stopping
    }

    /// Session `id` with its cells, renewing its TTL.
    async fn session(&self, id: &str) -> Result<Session, ToolError> {
        self.limits.session_id(id)?;
        self.sessions
            .load(id)
            .await?
            .ok_or_else(ToolError::session_not_found)
    }

    /// Applies `change` to session `id` and saves it (again on a fresh copy if another
    /// request changed the session meanwhile, so `change` must depend only on its argument);
    /// returns what `change` returned.
    async fn change<T>(
        &self,
        id: &str,
        change: impl FnMut(&mut Session) -> Result<T, ToolError>,
    ) -> Result<T, ToolError> {
        self.limits.session_id(id)?;
        self.sessions.modify(id, change).await
    }

    fn check_backend(&self, backend: &str) -> Result<(), ToolError> {
        if self.catalog.backend(backend).is_some() {
            return Ok(());
        }
        let known: Vec<&str> = self
            .catalog
            .backends()
            .map(|b| b.descriptor().manifest.id.as_str())
            .collect();
        Err(ToolError::new(
            "Invalid model backend",
            format!(
                "Invalid model backend: '{backend}' is not available; choose one of: {}",
                known.join(", ")
            ),
        ))
    }

    fn check_strategy(&self, strategy: &str) -> Result<(), ToolError> {
        if self.catalog.scorer(strategy).is_some() {
            return Ok(());
        }
        let known: Vec<&str> = self
            .catalog
            .scorers()
            .map(|s| s.descriptor().manifest.id.as_str())
            .collect();
        Err(ToolError::new(
            "Invalid strategy",
            format!(
                "Invalid strategy: '{strategy}' is not available; choose one of: {}",
                known.join(", ")
            ),
        ))
    }

    /// `start_decision_analysis`.
    pub async fn start(&self, args: StartArgs) -> ToolResult {
        let backend = args
            .model_backend
            .clone()
            .unwrap_or_else(|| self.default_backend.clone());
        self.check_backend(&backend)?;
        if let Some(strategy) = &args.strategy {
            self.check_strategy(strategy)?;
        }
        let criteria: Vec<CriterionSpec> = args
            .initial_criteria
            .unwrap_or_default()
            .into_iter()
            .map(CriterionSpec::from)
            .collect();
        let criteria_added: Vec<String> = criteria.iter().map(|c| c.name.clone()).collect();
        let mut session = Session::new(
            uuid::Uuid::new_v4().to_string(),
            args.topic,
            args.options.iter().map(|o| (o.clone(), None)).collect(),
            criteria,
            SessionDefaults {
                backend: backend.clone(),
                model: args.model_name.clone(),
                temperature: args.temperature,
            },
            &self.limits,
            OffsetDateTime::now_utc(),
        )?;
        if let Some(strategy) = args.strategy {
            session.strategy = strategy;
        }
        let formatted_output = format::session_created(&session);
        let session_id = session.id.clone();
        let topic = session.topic.clone();
        let strategy = session.strategy.clone();
        self.sessions.insert(&session).await?;
        let mut message = format!(
            "Decision analysis initialized with {} options",
            args.options.len()
        );
        if !criteria_added.is_empty() {
            message.push_str(&format!(" and {} criteria", criteria_added.len()));
        }
        Ok(object(json!({
            "session_id": session_id,
            "topic": topic,
            "options": args.options,
            "criteria_added": criteria_added,
            "model_backend": backend,
            "model_name": args.model_name,
            "temperature": args.temperature,
            "strategy": strategy,
            "message": message,
            "next_steps": [
                "add_criterion - Add evaluation criteria",
                "evaluate_options - Run the analysis",
                "get_decision_matrix - See results",
            ],
            "formatted_output": formatted_output,
        })))
    }

    /// `add_criterion`.
    pub async fn add_criterion(&self, args: AddCriterionArgs) -> ToolResult {
        let spec = args.spec();
        self.change(&args.session_id, |session| {
            if let Some(backend) = &spec.backend {
                self.check_backend(backend)?;
            }
            session.add_criterion(spec.clone(), &self.limits)?;
            let all: Vec<&str> = session.criteria().iter().map(|c| c.name.as_str()).collect();
            Ok(object(json!({
                "session_id": session.id,
                "criterion_added": args.name,
                "description": args.description,
                "weight": args.weight,
                "total_criteria": all.len(),
                "all_criteria": all,
                "message": format!("Added criterion '{}' with weight {}x", args.name, format::py_float(args.weight)),
                "formatted_output": format::criterion_added(session, &args.name),
            })))
        })
        .await
    }

    /// `add_option`.
    pub async fn add_option(&self, args: AddOptionArgs) -> ToolResult {
        self.change(&args.session_id, |session| {
            session.add_option(
                args.option_name.clone(),
                args.description.clone(),
                &self.limits,
            )?;
            let all: Vec<&str> = session.options().iter().map(|o| o.name.as_str()).collect();
            Ok(object(json!({
                "session_id": session.id,
                "option_added": args.option_name,
                "description": args.description,
                "total_options": all.len(),
                "all_options": all,
                "message": format!("Added option '{}'", args.option_name),
                "next_steps": ["evaluate_options - Re-run evaluation to include new option"],
                "formatted_output": format::option_added(session, &args.option_name),
            })))
        })
        .await
    }

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
    ) -> ToolResult {
        let id = args.session_id.clone();
        prerequisites(&self.session(&id).await?)?;
        let (cancel, _running) = self.stopping.evaluation(cancel);
        let Some(lease) = self
            .sessions
            .lease(&id, &cancel, &mut || progress(Update::Waiting))
            .await?
        else {
            return Err(ToolError::new(
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
    ) -> ToolResult {
        // Planned from the session as it is now that this call holds the lease: the cells a
        // previous evaluation saved are not computed again.
        let session = self.session(id).await?;
        prerequisites(&session)?;
        let cells_total = session.options().len() * session.criteria().len();
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
            error.extra.insert("errors".into(), json!(errors));
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
        let summary = json!({
            "options_evaluated": options,
            "criteria_used": criteria,
            "total_evaluations": cells_total,
            "successful_scores": report.scored,
            "abstentions": report.abstained,
            "errors": errors.len(),
            "cells_computed": settled,
            "cells_reused": cells_total.saturating_sub(planned),
            "llm_calls": report.calls,
            "cache_hits": report.cache_hits,
            "input_tokens": report.tokens.input,
            "output_tokens": report.tokens.output,
        });
        Ok(object(json!({
            "session_id": session.id,
            "evaluation_complete": !report.cancelled && errors.is_empty(),
            "cancelled": report.cancelled,
            "summary": summary,
            "errors": if errors.is_empty() { Value::Null } else { json!(errors) },
            "message": message,
            "next_steps": ["get_decision_matrix - See the complete results"],
            "formatted_output": format::evaluation_complete(&session, &report),
        })))
    }

    /// `get_decision_matrix`.
    pub async fn matrix(&self, args: SessionArgs) -> ToolResult {
        let (session, analysis) = self.ranked_matrix(&args.session_id).await?;
        Ok(matrix_result(&session, &analysis))
    }

    /// `session` ranked by its strategy (from the cache while its input is unchanged),
    /// errors filed under `context`.
    async fn analyse(&self, session: &Session, context: &str) -> Result<Arc<Analysis>, ToolError> {
        analysis::analyse_cached(&self.analyses, &self.catalog, session, &self.limits)
            .await
            .map_err(|e| ToolError::new(context, e.to_string()))
    }

    /// Session `id` and its analysis, for the matrix and its export: both need options and
    /// criteria.
    async fn ranked_matrix(&self, id: &str) -> Result<(Session, Arc<Analysis>), ToolError> {
        let session = self.session(id).await?;
        if session.options().is_empty() || session.criteria().is_empty() {
            let mut error = ToolError::new(
                "Insufficient data",
                "Need both options and criteria to generate matrix",
            );
            error
                .extra
                .insert("status".into(), json!("insufficient_data"));
            return Err(error);
        }
        let analysis = self.analyse(&session, "Matrix generation").await?;
        Ok((session, analysis))
    }

    /// `list_sessions`.
    pub async fn list_sessions(&self) -> ToolResult {
        let sessions: Vec<Value> = self
            .sessions
            .list()
            .await?
            .iter()
            .map(|session| session_summary(session, "setup"))
            .collect();
        let stats = self.sessions.stats().await?;
        let formatted_output = format::sessions_list(&sessions, &stats);
        Ok(object(json!({
            "total_active": sessions.len(),
            "sessions": sessions,
            "stats": stats,
            "formatted_output": formatted_output,
        })))
    }

    /// `clear_all_sessions`.
    pub async fn clear_all_sessions(&self) -> ToolResult {
        let cleared = self.sessions.clear().await?;
        self.analyses.clear();
        Ok(object(json!({
            "cleared": cleared,
            "message": format!("Cleared {cleared} active sessions"),
            "stats": self.sessions.stats().await?,
        })))
    }

    /// `current_session`.
    pub async fn current_session(&self) -> ToolResult {
        let Some(session) = self.sessions.current().await? else {
            return Ok(object(json!({
                "session": null,
                "message": "No active sessions found",
                "formatted_output": ToolError::new("No current session", "No active sessions").formatted_output,
            })));
        };
        let mut result = object(session_summary(&session, "pending"));
        result.insert("model_backend".into(), json!(session.defaults.backend));
        result.insert("model_name".into(), json!(session.defaults.model));
        result.insert(
            "message".into(),
            json!(format!("Current session: {}", session.topic)),
        );
        result.insert(
            "formatted_output".into(),
            json!(format::session_summary(&session)),
        );
        Ok(result)
    }
}

impl Decisions {
    /// `test_aws_bedrock_connection`: a real, minimal Converse call through the Bedrock
    /// plugin, with what to fix when it fails.
    pub async fn test_bedrock(&self) -> ToolResult {
        let BedrockTarget { region, model } = self.bedrock.clone();
        let failed = |error: String, code: &str| {
            let suggestion = bedrock_suggestion(&error);
            let mut failure = ToolError::new("Bedrock test error", error);
            for (key, value) in [
                ("status", json!("error")),
                ("region", json!(region)),
                ("model_tested", json!(model)),
                ("error_code", json!(code)),
                ("suggestion", json!(suggestion)),
            ] {
                failure.extra.insert(key.into(), value);
            }
            failure
        };
        let Some(plugin) = self.catalog.backend("bedrock") else {
            return Err(failed(
                "the bedrock backend plugin is not loaded".into(),
                "NotLoaded",
            ));
        };
        match plugin.check(true).await {
            Ok(()) => Ok(object(json!({
                "status": "ok",
                "region": region,
                "model_tested": model,
                "message": "Bedrock connection successful",
                "api_version": "converse",
                "formatted_output": format!(
                    "# ✅ Bedrock Connection Test: SUCCESS\n\n- **Region**: {region}\n- **Model**: {model}\n- **API**: Converse\n"
                ),
            }))),
            Err(error) => Err(failed(error.to_string(), "ConnectionFailed")),
        }
    }
}

/// The reference server's hint for a failed Bedrock test, chosen the same way.
fn bedrock_suggestion(error: &str) -> &'static str {
    let error = error.to_lowercase();
    if error.contains("access") || error.contains("permission") {
        "Enable model access in AWS Console: Bedrock > Model access > Manage model access"
    } else if error.contains("region") {
        "Try us-east-1 or us-west-2 regions where Bedrock is available"
    } else if error.contains("credentials") {
        "Configure AWS credentials: aws configure or set AWS_PROFILE environment variable"
    } else if error.contains("throttl") {
        "Request rate limit exceeded. Wait a moment and try again"
    } else {
        "Check AWS Bedrock service status and model availability"
    }
}

/// A session in `list_sessions` and `current_session`; `unevaluated` is what the reference
/// server calls a session no evaluation has run on (`setup` in one tool, `pending` in the
/// other).
fn session_summary(session: &Session, unevaluated: &str) -> Value {
    json!({
        "session_id": session.id,
        "topic": session.topic,
        "created_at": rfc3339(session.created_at),
        "options": session.options().iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
        "criteria": session.criteria().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        "evaluations_run": session.evaluations_run,
        "strategy": session.strategy,
        "status": if session.evaluations_run > 0 { "evaluated" } else { unevaluated },
    })
}

const NOT_AVAILABLE: &str = "Score not available";
const ABSTAINED: &str = "Abstained - criterion not applicable";

/// The `get_decision_matrix` dict.
fn matrix_result(session: &Session, analysis: &Analysis) -> Map<String, Value> {
    let cells = session.options().len() * session.criteria().len();
    let scored = session
        .options()
        .iter()
        .flat_map(|o| session.criteria().iter().map(move |c| (o.id, c.id)))
        .filter(|&(o, c)| matches!(session.cell_state(o, c), CellState::Fresh(cell) if cell.status.score().is_some()))
        .count();
    let formatted_output = format::decision_matrix(session, analysis);
    object(json!({
        "session_id": session.id,
        "topic": session.topic,
        "strategy": analysis.strategy,
        "matrix": cell_table(session),
        "rankings": rankings(session, analysis),
        "recommendation": analysis.recommendation,
        "criteria_weights": criteria_weights(session),
        "sensitivity": sensitivity_list(session, analysis),
        "evaluation_timestamp": now_rfc3339(),
        "session_info": {
            "created_at": rfc3339(session.created_at),
            "evaluations_run": session.evaluations_run,
            "total_options": session.options().len(),
            "total_criteria": session.criteria().len(),
            "cells": cells,
            "cells_scored": scored,
        },
        "formatted_output": formatted_output,
    }))
}

/// The matrix's `matrix`: option → criterion → the cell's score, status and justification.
fn cell_table(session: &Session) -> Map<String, Value> {
    let mut matrix = Map::new();
    for option in session.options() {
        let mut row = Map::new();
        for criterion in session.criteria() {
            let (cell, stale) = match session.cell_state(option.id, criterion.id) {
                CellState::Fresh(cell) => (Some(cell), false),
                CellState::Stale(cell) => (Some(cell), true),
                CellState::Missing => (None, false),
            };
            let score = cell.and_then(|c| c.status.score()).map(|s| s.get());
            let justification = match cell.map(|c| &c.status) {
                None => NOT_AVAILABLE.to_owned(),
                Some(CellStatus::Abstained) => ABSTAINED.to_owned(),
                Some(CellStatus::Failed { reason }) => format!("Evaluation failed: {reason}"),
                Some(_) => cell.map(|c| c.justification.clone()).unwrap_or_default(),
            };
            row.insert(
                criterion.name.clone(),
                json!({
                    "raw_score": score,
                    "weighted_score": score.map(|s| s * criterion.weight),
                    "justification": justification,
                    "status": cell.map_or("missing", |c| c.status.name()),
                    "stale": stale,
                }),
            );
        }
        matrix.insert(option.name.clone(), Value::Object(row));
    }
    matrix
}

/// The matrix's `rankings`: best first, each with its per-criterion breakdown (failed and
/// missing cells left out).
fn rankings(session: &Session, analysis: &Analysis) -> Vec<Value> {
    analysis
        .ranking
        .iter()
        .map(|r| {
            let option = &session.options()[r.option];
            let breakdown: Vec<Value> = session
                .criteria()
                .iter()
                .filter_map(|criterion| {
                    let cell = session.cell(option.id, criterion.id)?;
                    if matches!(cell.status, CellStatus::Failed { .. }) {
                        return None;
                    }
                    let score = cell.status.score().map(|s| s.get());
                    Some(json!({
                        "criterion": criterion.name,
                        "weight": criterion.weight,
                        "raw_score": score,
                        "weighted_score": score.map(|s| s * criterion.weight),
                        "justification": cell.justification,
                        "abstained": matches!(cell.status, CellStatus::Abstained),
                    }))
                })
                .collect();
            json!({
                "option": option.name,
                "weighted_total": r.total,
                "rank": r.rank,
                "breakdown": breakdown,
            })
        })
        .collect()
}

/// Rankings without their breakdown, for `analyze_sensitivity`: the question there is which
/// weights move the order, and the cells' justifications (get_decision_matrix's) would more
/// than double the answer.
fn ranking_totals(session: &Session, analysis: &Analysis) -> Vec<Value> {
    analysis
        .ranking
        .iter()
        .map(|r| {
            json!({
                "option": session.options()[r.option].name,
                "weighted_total": r.total,
                "rank": r.rank,
            })
        })
        .collect()
}

/// The matrix's `criteria_weights`: criterion → weight.
fn criteria_weights(session: &Session) -> BTreeMap<&str, f64> {
    session
        .criteria()
        .iter()
        .map(|c| (c.name.as_str(), c.weight))
        .collect()
}

/// The matrix's `sensitivity`: per criterion, the weight at which the winner changes.
fn sensitivity_list(session: &Session, analysis: &Analysis) -> Vec<Value> {
    session
        .criteria()
        .iter()
        .zip(&analysis.sensitivity)
        .map(|(criterion, change)| match change {
            Some(change) => json!({
                "criterion": criterion.name,
                "current_weight": change.current,
                "threshold_weight": change.threshold,
                "change": change.delta,
                "relative_change": change.relative,
                "new_winner": session.options().get(change.new_winner).map(|o| o.name.as_str()),
            }),
            None => json!({"criterion": criterion.name, "threshold_weight": null}),
        })
        .collect()
}

/// Tools the reference server lacks: editing, manual scores, sensitivity, strategies, export.
impl Decisions {
    /// `update_option`: rename or re-describe; the option's cells become outdated.
    pub async fn update_option(&self, args: UpdateOptionArgs) -> ToolResult {
        let description = args.description_change();
        let name = args.new_name.clone().unwrap_or(args.option_name.clone());
        self.change(&args.session_id, |session| {
            session.update_option(
                &args.option_name,
                args.new_name.clone(),
                description.clone(),
                &self.limits,
            )?;
            Ok(object(json!({
                "session_id": session.id,
                "option_updated": name,
                "all_options": option_names(session),
                "message": format!("Updated option '{name}'; its cells will be evaluated again"),
                "next_steps": ["evaluate_options - Score the updated option"],
                "formatted_output": format::option_added(session, &name),
            })))
        })
        .await
    }

    /// `remove_option`.
    pub async fn remove_option(&self, args: RemoveOptionArgs) -> ToolResult {
        self.change(&args.session_id, |session| {
            session.remove_option(&args.option_name, &self.limits)?;
            Ok(object(json!({
                "session_id": session.id,
                "option_removed": args.option_name,
                "total_options": session.options().len(),
                "all_options": option_names(session),
                "message": format!("Removed option '{}'", args.option_name),
                "formatted_output": format!("## 🗑️ Removed Option: **{}**\n\n**Remaining**: {}\n", args.option_name, option_names(session).join(", ")),
            })))
        })
        .await
    }

    /// `update_criterion`: a weight change re-ranks without re-evaluating; other changes make
    /// the criterion's cells outdated.
    pub async fn update_criterion(&self, args: UpdateCriterionArgs) -> ToolResult {
        let update = args.update();
        let weight_only = args.new_name.is_none()
            && args.description.is_none()
            && args.custom_prompt.is_none()
            && args.model_backend.is_none()
            && args.model_name.is_none()
            && args.temperature.is_none();
        let backend = args.model_backend.clone();
        let name = args.new_name.unwrap_or(args.name.clone());
        let message = if weight_only {
            format!("Updated criterion '{name}'; rankings use the new weight, no evaluation needed")
        } else {
            format!("Updated criterion '{name}'; its cells will be evaluated again")
        };
        self.change(&args.session_id, |session| {
            if let Some(backend) = backend.as_deref().filter(|b| !b.is_empty()) {
                self.check_backend(backend)?;
            }
            session.update_criterion(&args.name, update.clone(), &self.limits)?;
            Ok(object(json!({
                "session_id": session.id,
                "criterion_updated": name,
                "all_criteria": criterion_names(session),
                "reevaluation_needed": !weight_only,
                "message": message,
                "formatted_output": format::criterion_added(session, &name),
            })))
        })
        .await
    }

    /// `remove_criterion`.
    pub async fn remove_criterion(&self, args: RemoveCriterionArgs) -> ToolResult {
        self.change(&args.session_id, |session| {
            session.remove_criterion(&args.name)?;
            Ok(object(json!({
                "session_id": session.id,
                "criterion_removed": args.name,
                "total_criteria": session.criteria().len(),
                "all_criteria": criterion_names(session),
                "message": format!("Removed criterion '{}'", args.name),
                "formatted_output": format!("## 🗑️ Removed Criterion: **{}**\n\n**Remaining**: {}\n", args.name, criterion_names(session).join(", ")),
            })))
        })
        .await
    }

    /// `set_score`: a manual score, kept by every later evaluation; `score: null` clears it.
    pub async fn set_score(&self, args: SetScoreArgs) -> ToolResult {
        let score = args
            .score
            .map(|s| {
                Score::new(s).map_err(|_| {
                    ToolError::new(
                        "Invalid score",
                        format!("Invalid score: must be between 1 and 10, got {s}"),
                    )
                })
            })
            .transpose()?;
        let now = OffsetDateTime::now_utc();
        let session_id = self
            .change(&args.session_id, |session| {
                session.set_manual(
                    &args.option_name,
                    &args.criterion_name,
                    score,
                    args.justification.clone(),
                    &self.limits,
                    now,
                )?;
                Ok(session.id.clone())
            })
            .await?;
        let message = match score {
            Some(score) => format!(
                "Set {} on {} to {} by hand; evaluations keep it",
                args.option_name,
                args.criterion_name,
                format::py_float(score.get())
            ),
            None => format!(
                "Cleared the manual score of {} on {}; the next evaluation scores it",
                args.option_name, args.criterion_name
            ),
        };
        Ok(object(json!({
            "session_id": session_id,
            "option": args.option_name,
            "criterion": args.criterion_name,
            "score": score.map(Score::get),
            "status": if score.is_some() { "manual" } else { "missing" },
            "message": message,
            "formatted_output": format!("## ✍️ {message}\n"),
        })))
    }

    /// `set_strategy`: ranks the session with another scoring strategy from now on.
    pub async fn set_strategy(&self, args: StrategyArgs) -> ToolResult {
        self.change(&args.session_id, |session| {
            self.check_strategy(&args.strategy)?;
            session.strategy = args.strategy.clone();
            Ok(object(json!({
                "session_id": session.id,
                "strategy": args.strategy,
                "message": format!("Rankings now use the '{}' strategy; scores are unchanged", args.strategy),
                "formatted_output": format!("## ⚙️ Strategy: **{}**\n", args.strategy),
            })))
        })
        .await
    }

    /// `analyze_sensitivity`: per criterion, the weight that changes the winner; with
    /// `weights`, the ranking those weights would give. Changes nothing.
    pub async fn sensitivity(&self, args: SensitivityArgs) -> ToolResult {
        let session = self.session(&args.session_id).await?;
        let current = self.analyse(&session, "Sensitivity analysis").await?;
        let mut result = object(json!({
            "session_id": session.id,
            "strategy": current.strategy,
            "rankings": ranking_totals(&session, &current),
            "recommendation": current.recommendation,
            "sensitivity": sensitivity_list(&session, &current),
            "criteria_weights": criteria_weights(&session),
        }));
        if let Some(weights) = args.weights {
            let mut what_if = session.clone();
            for (name, weight) in &weights {
                what_if.update_criterion(
                    name,
                    CriterionUpdate {
                        weight: Some(*weight),
                        ..CriterionUpdate::default()
                    },
                    &self.limits,
                )?;
            }
            // Not cached: the what-if is not the session's state.
            let analysis = analysis::analyse(&self.catalog, &what_if, &self.limits)
                .await
                .map_err(|e| ToolError::new("Sensitivity analysis", e.to_string()))?;
            let winner = |analysis: &Analysis| analysis.ranking.first().map(|r| r.option);
            result.insert(
                "what_if".into(),
                json!({
                    "weights": weights,
                    "rankings": ranking_totals(&what_if, &analysis),
                    "recommendation": analysis.recommendation,
                    "winner_changes": winner(&analysis) != winner(&current),
                }),
            );
        }
        let formatted = format::sensitivity(&session, &current);
        result.insert("formatted_output".into(), json!(formatted));
        Ok(result)
    }

    /// `export_matrix`: the matrix as JSON, CSV or markdown text.
    pub async fn export(&self, args: ExportArgs) -> ToolResult {
        let format_name = args
            .format
            .as_deref()
            .unwrap_or("json")
            .to_ascii_lowercase();
        if !["json", "csv", "markdown"].contains(&format_name.as_str()) {
            return Err(ToolError::new(
                "Invalid format",
                format!("Invalid format: '{format_name}'; choose json, csv or markdown"),
            ));
        }
        let (session, analysis) = self.ranked_matrix(&args.session_id).await?;
        let content = match format_name.as_str() {
            "csv" => export::csv(&session, &analysis),
            "markdown" => format::decision_matrix(&session, &analysis),
            _ => {
                let mut data = matrix_result(&session, &analysis);
                data.remove("formatted_output");
                serde_json::to_string_pretty(&data).unwrap_or_default()
            }
        };
        Ok(object(json!({
            "session_id": args.session_id,
            "format": format_name,
            "content": content,
            "formatted_output": format!("```{}\n{content}\n```\n", if format_name == "markdown" { "md" } else { &format_name }),
        })))
    }

    /// `list_backends`: the LLM backends loaded and whether a session can use them.
    pub fn list_backends(&self) -> ToolResult {
        let backends: Vec<Value> = self
            .catalog
            .backends()
            .map(|b| {
                let manifest = &b.descriptor().manifest;
                json!({"id": manifest.id, "version": manifest.version, "description": manifest.description})
            })
            .collect();
        let lines: Vec<String> = backends
            .iter()
            .map(|b| {
                format!(
                    "- **{}** {}",
                    b["id"].as_str().unwrap_or_default(),
                    b["version"].as_str().unwrap_or_default()
                )
            })
            .collect();
        Ok(object(json!({
            "backends": backends,
            "default_backend": self.default_backend,
            "formatted_output": format!("## 🔌 LLM Backends\n\n{}\n", lines.join("\n")),
        })))
    }

    /// `list_plugins`: every plugin loaded (backends and scoring strategies), and any that
    /// failed to load with the reason.
    pub fn list_plugins(&self) -> ToolResult {
        let plugins: Vec<Value> = self
            .catalog
            .descriptors()
            .map(|d| {
                json!({
                    "id": d.manifest.id,
                    "kind": d.manifest.kind.to_string(),
                    "version": d.manifest.version,
                    "description": d.manifest.description,
                })
            })
            .collect();
        let failures: Vec<String> = self
            .catalog
            .failures()
            .iter()
            .map(ToString::to_string)
            .collect();
        let lines: Vec<String> = plugins
            .iter()
            .map(|p| {
                format!(
                    "- **{}** ({}) {}",
                    p["id"].as_str().unwrap_or_default(),
                    p["kind"].as_str().unwrap_or_default(),
                    p["version"].as_str().unwrap_or_default()
                )
            })
            .collect();
        Ok(object(json!({
            "plugins": plugins,
            "failed": failures,
            "formatted_output": format!("## 🧩 Plugins\n\n{}\n", lines.join("\n")),
        })))
    }
}

/// An evaluation needs options and criteria.
fn prerequisites(session: &Session) -> Result<(), ToolError> {
    if session.options().is_empty() {
        return Err(ToolError::new(
            "Prerequisites",
            "No options to evaluate. Add options first.",
        ));
    }
    if session.criteria().is_empty() {
        return Err(ToolError::new(
            "Prerequisites",
            "No criteria defined. Add criteria first.",
        ));
    }
    Ok(())
}

fn option_names(session: &Session) -> Vec<String> {
    session.options().iter().map(|o| o.name.clone()).collect()
}

fn criterion_names(session: &Session) -> Vec<String> {
    session.criteria().iter().map(|c| c.name.clone()).collect()
}
