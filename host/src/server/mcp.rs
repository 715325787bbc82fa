//! The MCP face of [`Decisions`]: tool definitions, progress and cancellation on rmcp.
//!
//! Tool names, descriptions and parameters are the reference server's, so its users' clients
//! and prompts keep working. Results are structured content (the result struct of
//! [`super::results`], whose schema each tool publishes as its `outputSchema`) plus the same
//! JSON as text; failures are `isError` results carrying the reference server's error dict.
//!
//! Every call goes through [`McpServer::call_tool`], which reads its arguments leniently
//! against the tool's input schema ([`lenient`]: `"2"` for a number, an array as JSON text,
//! as the reference server accepts them), runs it in a `tool_call` span and records its time
//! and outcome in the telemetry (a name that is not a tool counts as `other`, so clients
//! cannot grow the label set): answered, refused for the client's input, or failed on the
//! server's side ([`super::outcome`]). The published schemas are [`schemas::publish`]ed:
//! portable, with the installed backends offered.

use std::sync::Arc;
use std::time::Instant;

use decision_matrix_core::lenient;
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::{IntoCallToolResult, ToolCallContext};
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, CustomRequest,
    CustomResult, GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, MetaObject, PaginatedRequestParams,
    ProgressNotificationParam, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
    ServerConfig,
};
use rmcp::model::{
    CancelTaskParams, CreateTaskResult, GetTaskParams, GetTaskResult, Task, UpdateTaskParams,
};
use rmcp::service::RequestContext;
use rmcp::task_manager::{TaskContext, TaskExit};
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use serde_json::Value;
use tracing::Instrument as _;

use super::error::ToolError;
use super::params::{
    AddCriterionArgs, AddOptionArgs, EvaluateArgs, ExportArgs, ListSessionsArgs, MatrixArgs,
    RemoveCriterionArgs, RemoveOptionArgs, SensitivityArgs, SessionArgs, SetScoreArgs, StartArgs,
    StrategyArgs, UpdateCriterionArgs, UpdateOptionArgs,
};
use super::results::{
    BackendList, BedrockConnection, CriterionAdded, CriterionRemoved, CriterionUpdated,
    CurrentSession, DecisionMatrix, Evaluated, Exported, MatrixResult, OptionAdded, OptionRemoved,
    OptionUpdated, PluginList, ScoreSet, Sensitivity, ServerStats, SessionList, SessionsCleared,
    Started, StrategySet,
};
use super::schemas;
use super::scope::{Scope, TokenTag};
use super::service::{Decisions, ToolResult};
use super::sessions::LEASE_TTL;
use super::tools::bedrock;
use super::tools::evaluation::Update;
use super::{outcome, prompts, resources, tasks};
use crate::plugins::PluginCatalog;
use crate::report::{self, view};
use crate::telemetry::labels::OTHER;

/// Longest session id put in a span: ids are at most 100 characters unless the limits were
/// raised, and a longer "id" is not one worth logging.
const MAX_LOGGED_SESSION_ID: usize = 128;

/// One MCP connection's handler; every connection shares the same [`Decisions`].
#[derive(Clone)]
pub struct McpServer {
    decisions: Arc<Decisions>,
    tool_router: Arc<ToolRouter<McpServer>>,
}

impl McpServer {
    /// The scope of a call: its client's name from `initialize` and, over HTTP, the tag of
    /// the bearer token it came with.
    fn scope_of(&self, context: &RequestContext<RoleServer>) -> Scope {
        let client = context.peer.peer_info();
        let token = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<TokenTag>());
        Scope::of(
            self.decisions.scope_rule(),
            client.as_ref().map(|info| info.client_info.name.as_str()),
            token,
        )
    }

    /// A handler over `decisions`.
    pub fn new(decisions: Arc<Decisions>) -> McpServer {
        McpServer {
            tool_router: McpServer::published_tools(&decisions.catalog),
            decisions,
        }
    }

    /// The tool table with the schemas as published for `catalog`'s backends. The stateless
    /// HTTP transport makes a handler per request, so the table (20 tools with their
    /// generated schemas) is built once and shared; only a process serving another set of
    /// backends (tests do) builds it again.
    fn published_tools(catalog: &PluginCatalog) -> Arc<ToolRouter<McpServer>> {
        type Published = (Vec<String>, Arc<ToolRouter<McpServer>>);
        static TOOLS: parking_lot::Mutex<Option<Published>> = parking_lot::const_mutex(None);
        // A route's provider (`litellm:groq`) is reached through its backend's model names,
        // so the schemas offer the backends alone.
        let backends = || {
            catalog
                .backends()
                .map(|b| b.descriptor().manifest.id.as_str())
                .filter(|id| !id.contains(':'))
        };
        let mut tools = TOOLS.lock();
        if let Some((built_for, router)) = tools.as_ref()
            && built_for.iter().map(String::as_str).eq(backends())
        {
            return router.clone();
        }
        let mut router = McpServer::tool_router();
        schemas::publish(&mut router, &backends().collect::<Vec<_>>());
        link_view(&mut router);
        let router = Arc::new(router);
        *tools = Some((backends().map(str::to_owned).collect(), router.clone()));
        router
    }
}

/// The tools whose results the decision view draws: the matrix, an evaluation's (the view
/// reads the matrix it produced) and the sensitivity's (its sliders call that tool).
const VIEWED_TOOLS: [&str; 3] = [
    "get_decision_matrix",
    "evaluate_options",
    "analyze_sensitivity",
];

/// Names the decision view in the `_meta.ui.resourceUri` of [`VIEWED_TOOLS`], so hosts of
/// the MCP Apps extension render their results with it; other hosts ignore the key.
fn link_view(router: &mut ToolRouter<McpServer>) {
    for name in VIEWED_TOOLS {
        if let Some(route) = router.map.get_mut(name) {
            route
                .attr
                .meta
                .get_or_insert_with(MetaObject::new)
                .0
                .insert(
                    "ui".to_owned(),
                    serde_json::json!({ "resourceUri": view::URI }),
                );
        }
    }
}

/// A tool's outcome as rmcp takes it. Each tool's return type names `Result<Json<T>, _>` in
/// full: that is how `#[tool]` finds `T`, whose schema it publishes as the `outputSchema`.
fn reply<T>(outcome: ToolResult<T>) -> Result<Json<T>, ToolError> {
    outcome.map(Json)
}

/// How far an evaluation is, in the words of its progress notifications and task status.
fn progress_message(update: Update) -> String {
    match update {
        Update::Waiting => format!(
            "waiting for another evaluation of this session to finish (one whose server \
             stopped lets go within {} s)",
            LEASE_TTL.as_secs()
        ),
        Update::Cells { done, planned } => format!("{done}/{planned} cells evaluated"),
    }
}

/// `evaluate_options`' result: the evaluation, or the task it runs as.
enum EvaluateReply {
    Done(Evaluated),
    Task(Task),
}

impl IntoCallToolResult for EvaluateReply {
    fn into_call_tool_result(self) -> Result<CallToolResponse, ErrorData> {
        match self {
            EvaluateReply::Done(evaluated) => Json(evaluated).into_call_tool_result(),
            EvaluateReply::Task(task) => Ok(CallToolResponse::Task(CreateTaskResult::new(task))),
        }
    }
}

/// `evaluate_options` run as a task: its status says how far it is, `tasks/cancel` stops it
/// as a cancelled call stops (the cells scored so far are kept) and the task ends
/// `cancelled`; otherwise it ends with the result the call would have returned, an
/// `isError` one included.
async fn evaluate_as_task(
    decisions: Arc<Decisions>,
    scope: Scope,
    args: EvaluateArgs,
    task: TaskContext,
) -> Result<CallToolResult, TaskExit> {
    let cancel = tokio_util::sync::CancellationToken::new();
    let on_cancel = tokio::spawn({
        let (task, cancel) = (task.clone(), cancel.clone());
        async move {
            task.cancelled().await;
            cancel.cancel();
        }
    });
    let mut progress = |update: Update| task.set_status_message(progress_message(update));
    let outcome = decisions
        .scoped(scope)
        .evaluate(args, cancel, &mut progress)
        .await;
    on_cancel.abort();
    if task.is_cancel_requested() && outcome.as_ref().is_ok_and(|e| e.cancelled) {
        return Err(TaskExit::Cancelled);
    }
    let mut response = reply(outcome).into_call_tool_result();
    outcome::settle(&mut response);
    match response? {
        CallToolResponse::Complete(result) => Ok(result),
        _ => Err(TaskExit::Error(ErrorData::internal_error(
            "the evaluation did not end with a result",
            None,
        ))),
    }
}

/// `get_decision_matrix`'s result: the matrix as structured content and JSON text, as every
/// tool's, then the chart as a PNG image when `include_chart` asked for it.
struct MatrixReply {
    result: MatrixResult,
    /// The chart, base64.
    chart: Option<String>,
}

impl IntoCallToolResult for MatrixReply {
    fn into_call_tool_result(self) -> Result<CallToolResponse, ErrorData> {
        let mut response = Json(self.result).into_call_tool_result()?;
        if let (Some(png), CallToolResponse::Complete(result)) = (self.chart, &mut response) {
            result.content.push(ContentBlock::image(png, "image/png"));
        }
        Ok(response)
    }
}

/// The chart of `matrix` as a PNG image, base64, as image content carries it.
fn chart_png(matrix: &DecisionMatrix) -> Result<String, ToolError> {
    use base64::Engine as _;
    let png = report::png::rasterise(&report::svg::chart(matrix))
        .map_err(|error| ToolError::new("Chart", error.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(png))
}

/// A failure is an `isError` result carrying the error dict, marked with whose fault it is
/// for the telemetry (the mark is removed before the client gets it).
///
/// The dict is the result's text, as JSON, and not its structured content: TypeScript SDK
/// clients (the MCP Inspector, desktop apps) check structured content against the tool's
/// `outputSchema` even in an error, and would show that check's complaint instead of the
/// error. Python SDK clients read the same JSON from the text.
impl IntoCallToolResult for ToolError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, ErrorData> {
        let text = serde_json::to_string(&self).unwrap_or_else(|_| self.error.clone());
        let result = CallToolResult::error(vec![ContentBlock::text(text)]);
        Ok(outcome::mark(result, self.fault).into())
    }
}

#[tool_router]
impl McpServer {
    #[tool(
        description = "When facing multiple options and need structured evaluation - create a decision matrix to systematically compare choices across weighted criteria"
    )]
    async fn start_decision_analysis(
        &self,
        Extension(scope): Extension<Scope>,
        Parameters(args): Parameters<StartArgs>,
    ) -> Result<Json<Started>, ToolError> {
        reply(self.decisions.scoped(scope).start(args).await)
    }

    #[tool(
        description = "When you identify another factor to consider - add evaluation criteria with weights to structure your decision analysis"
    )]
    async fn add_criterion(
        &self,
        Extension(scope): Extension<Scope>,
        Parameters(args): Parameters<AddCriterionArgs>,
    ) -> Result<Json<CriterionAdded>, ToolError> {
        reply(self.decisions.scoped(scope).add_criterion(args).await)
    }

    #[tool(
        description = "When ready to score your options systematically - run parallel evaluation where each criterion scores every option independently",
        output_schema = rmcp::handler::server::common::schema_for_output::<Evaluated>()
    )]
    async fn evaluate_options(
        &self,
        Parameters(args): Parameters<EvaluateArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<EvaluateReply, ToolError> {
        let scope = self.scope_of(&context);
        if tasks::wanted(&context) {
            let (decisions, owner, task_args) =
                (self.decisions.clone(), scope.clone(), args.clone());
            let task =
                self.decisions
                    .tasks()
                    .spawn(scope.clone(), "starting".to_owned(), move |task| {
                        Box::pin(evaluate_as_task(decisions, owner, task_args, task))
                    });
            if let Some(task) = task {
                return Ok(EvaluateReply::Task(task));
            }
        }
        let token = context.meta.get_progress_token();
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Update>();
        // Notifications go out from their own task: the engine's per-cell callback is
        // synchronous, and a slow client must not slow the evaluation down.
        let forward = token.map(|token| {
            let peer = context.peer.clone();
            tokio::spawn(async move {
                while let Some(update) = receiver.recv().await {
                    let mut note = ProgressNotificationParam::new(token.clone(), 0.0)
                        .with_message(progress_message(update));
                    if let Update::Cells { done, planned } = update {
                        note.progress = done as f64;
                        note.total = Some(planned as f64);
                    }
                    if peer.notify_progress(note).await.is_err() {
                        return;
                    }
                }
            })
        });
        let mut progress = move |update: Update| {
            let _ = sender.send(update);
        };
        let outcome = self
            .decisions
            .scoped(scope)
            .evaluate(args, context.ct.clone(), &mut progress)
            .await;
        drop(progress);
        if let Some(forward) = forward {
            // Every progress notification precedes the result.
            let _ = forward.await;
        }
        Ok(EvaluateReply::Done(outcome?))
    }

    #[tool(
        description = "When you need the complete picture - see the scored matrix with weighted totals, rankings, and clear recommendations",
        output_schema = rmcp::handler::server::common::schema_for_output::<MatrixResult>())]
    async fn get_decision_matrix(
        &self,
        Extension(scope): Extension<Scope>,
        Parameters(args): Parameters<MatrixArgs>,
    ) -> Result<MatrixReply, ToolError> {
        let include_chart = args.include_chart.unwrap_or(false);
        let result = self
            .decisions
            .scoped(scope)
            .matrix(SessionArgs {
                session_id: args.session_id,
            })
            .await?;
        let chart = match (&result, include_chart) {
            (MatrixResult::Ranked(ranked), true) => Some(chart_png(&ranked.matrix)?),
            _ => None,
        };
        Ok(MatrixReply { result, chart })
    }

    #[tool(
        description = "When new alternatives emerge during analysis - add additional options to your existing decision matrix"
    )]
    async fn add_option(
        &self,
        Extension(scope): Extension<Scope>,
        Parameters(args): Parameters<AddOptionArgs>,
    ) -> Result<Json<OptionAdded>, ToolError> {
        reply(self.decisions.scoped(scope).add_option(args).await)
    }

    #[tool(
        description = "List your active decision analysis sessions, the most recent first, a page at a time (limit, default 100; cursor from next_cursor)"
    )]
    async fn list_sessions(
        &self,
        Extension(scope): Extension<Scope>,
        Parameters(args): Parameters<ListSessionsArgs>,
    ) -> Result<Json<SessionList>, ToolError> {
        reply(self.decisions.scoped(scope).list_sessions(args).await)
    }

    #[tool(description = "Clear all active decision analysis sessions")]
    async fn clear_all_sessions(
        &self,
        Extension(scope): Extension<Scope>,
    ) -> Result<Json<SessionsCleared>, ToolError> {
        reply(self.decisions.scoped(scope).clear_all_sessions().await)
    }

    #[tool(
        description = "Quick check of your most recent analysis session - see topic and status without remembering session ID"
    )]
    async fn current_session(
        &self,
        Extension(scope): Extension<Scope>,
    ) -> Result<Json<CurrentSession>, ToolError> {
        reply(self.decisions.scoped(scope).current_session().await)
    }

    #[tool(
        description = "Test AWS Bedrock connectivity and configuration for debugging connection issues"
    )]
    async fn test_aws_bedrock_connection(&self) -> Result<Json<BedrockConnection>, ToolError> {
        reply(bedrock::test_connection(&self.decisions.catalog).await)
    }

    #[tool(
        description = "Rename an option or change its description; only its cells are evaluated again by the next evaluate_options"
    )]
    async fn update_option(
        &self,
        Extension(scope): Extension<Scope>,
        Parameters(args): Parameters<UpdateOptionArgs>,
    ) -> Result<Json<OptionUpdated>, ToolError> {
        reply(self.decisions.scoped(scope).update_option(args).await)
    }

    #[tool(
        description = "Remove an option and its scores from a decision (at least 2 options remain)"
    )]
    async fn remove_option(
        &self,
        Extension(scope): Extension<Scope>,
        Parameters(args): Parameters<RemoveOptionArgs>,
    ) -> Result<Json<OptionRemoved>, ToolError> {
        reply(self.decisions.scoped(scope).remove_option(args).await)
    }

    #[tool(
        description = "Change a criterion: a new weight re-ranks at once without re-evaluating; other changes make its cells evaluated again"
    )]
    async fn update_criterion(
        &self,
        Extension(scope): Extension<Scope>,
        Parameters(args): Parameters<UpdateCriterionArgs>,
    ) -> Result<Json<CriterionUpdated>, ToolError> {
        reply(self.decisions.scoped(scope).update_criterion(args).await)
    }

    #[tool(description = "Remove a criterion and its scores from a decision")]
    async fn remove_criterion(
        &self,
        Extension(scope): Extension<Scope>,
        Parameters(args): Parameters<RemoveCriterionArgs>,
    ) -> Result<Json<CriterionRemoved>, ToolError> {
        reply(self.decisions.scoped(scope).remove_criterion(args).await)
    }

    #[tool(
        description = "Override one cell with your own score (1-10), kept by every later evaluation; a null score clears the override"
    )]
    async fn set_score(
        &self,
        Extension(scope): Extension<Scope>,
        Parameters(args): Parameters<SetScoreArgs>,
    ) -> Result<Json<ScoreSet>, ToolError> {
        reply(self.decisions.scoped(scope).set_score(args).await)
    }

    #[tool(
        description = "Choose how a decision is ranked: weighted-average (default), weighted-product, topsis, rank-sum, or an installed strategy plugin"
    )]
    async fn set_strategy(
        &self,
        Extension(scope): Extension<Scope>,
        Parameters(args): Parameters<StrategyArgs>,
    ) -> Result<Json<StrategySet>, ToolError> {
        reply(self.decisions.scoped(scope).set_strategy(args).await)
    }

    #[tool(
        description = "How robust is the winner: for each criterion, the weight change that would change it; optionally the ranking under what-if weights (nothing is changed)"
    )]
    async fn analyze_sensitivity(
        &self,
        Extension(scope): Extension<Scope>,
        Parameters(args): Parameters<SensitivityArgs>,
    ) -> Result<Json<Sensitivity>, ToolError> {
        reply(self.decisions.scoped(scope).sensitivity(args).await)
    }

    #[tool(
        description = "Export a decision matrix as JSON, CSV or markdown text, a standalone HTML report (opens offline in a browser), or an SVG chart"
    )]
    async fn export_matrix(
        &self,
        Extension(scope): Extension<Scope>,
        Parameters(args): Parameters<ExportArgs>,
    ) -> Result<Json<Exported>, ToolError> {
        reply(self.decisions.scoped(scope).export(args).await)
    }

    #[tool(
        description = "Server health and metrics: status with reasons, throughput and error rate over the recent window, calls, errors and p50/p90/p95/p99 latency per tool and per backend, circuit breakers, sessions, queue and plugin instances"
    )]
    async fn server_stats(&self) -> Result<Json<ServerStats>, ToolError> {
        reply(self.decisions.server_stats().await)
    }

    #[tool(description = "List the LLM backends a decision can use")]
    async fn list_backends(&self) -> Result<Json<BackendList>, ToolError> {
        reply(self.decisions.list_backends())
    }

    #[tool(
        description = "List the loaded plugins (LLM backends and scoring strategies) and any that failed to load"
    )]
    async fn list_plugins(&self) -> Result<Json<PluginList>, ToolError> {
        reply(self.decisions.list_plugins())
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for McpServer {
    /// Routes the call to its tool, in a `tool_call` span, and records it.
    async fn call_tool(
        &self,
        mut request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let started = Instant::now();
        let route = self.tool_router.get(&request.name);
        // The router's own name: no allocation, and only names of real tools.
        let tool: &str = route.map_or(OTHER, |tool| tool.name.as_ref());
        let span = tracing::info_span!("tool_call", tool, session_id = tracing::field::Empty);
        if let Some(id) = request
            .arguments
            .as_ref()
            .and_then(|arguments| arguments.get("session_id"))
            .and_then(Value::as_str)
            .filter(|id| id.len() <= MAX_LOGGED_SESSION_ID)
        {
            span.record("session_id", id);
        }
        // Arguments of the wrong type are refused here, naming the parameter, rather than
        // by the deserializer, whose message names no parameter.
        let read = route.map_or(Ok(()), |route| {
            lenient::coerce(&route.input_schema, request.arguments.as_mut())
        });
        let mut outcome = match read {
            Ok(()) => {
                let mut context = context;
                context.extensions.insert(self.scope_of(&context));
                let call = ToolCallContext::new(self, request, context);
                self.tool_router.call(call).instrument(span.clone()).await
            }
            Err(mismatch) => ToolError::from(mismatch).into_call_tool_result(),
        };
        let ended = outcome::settle(&mut outcome);
        let elapsed = started.elapsed();
        self.decisions.telemetry().tool_call(tool, elapsed, ended);
        span.in_scope(|| {
            tracing::debug!(
                elapsed_us = elapsed.as_micros() as u64,
                outcome = ?ended,
                "tool call finished"
            );
        });
        outcome
    }

    fn get_info(&self) -> ServerConfig {
        let mut capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_prompts()
            .enable_tasks()
            .build();
        // The MCP Apps extension: the decision view, as `text/html;profile=mcp-app`.
        capabilities.extensions.get_or_insert_default().insert(
            view::EXTENSION.to_owned(),
            [("mimeTypes".to_owned(), serde_json::json!([view::MIME_TYPE]))]
                .into_iter()
                .collect(),
        );
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(
                "decision-matrix",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "Structured decision analysis: start_decision_analysis with a topic and 2-20 \
                 options, add_criterion for each weighted criterion, evaluate_options to have \
                 LLMs score every option on every criterion, then get_decision_matrix for the \
                 ranked matrix with justifications. Each session's matrix is also a resource \
                 (decision-matrix://sessions/{session_id}/matrix.json or .md), and the \
                 guided_decision prompt walks through a decision step by step. Hosts that \
                 render MCP Apps show the matrix, the ranking and weight sliders beside \
                 get_decision_matrix, evaluate_options and analyze_sensitivity.",
            )
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let scoped = self.decisions.scoped(self.scope_of(&context));
        resources::list(&scoped, request.and_then(|r| r.cursor).as_deref()).await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(
            resources::templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let scoped = self.decisions.scoped(self.scope_of(&context));
        resources::read(&scoped, &request.uri).await.map(Into::into)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(prompts::list()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        prompts::get(&request.name, request.arguments.as_ref()).map(Into::into)
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        let task = self
            .decisions
            .tasks()
            .get(&self.scope_of(&context), &request.task_id)?;
        Ok(GetTaskResult::new(task))
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.decisions
            .tasks()
            .cancel(&self.scope_of(&context), &request.task_id)
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.decisions
            .tasks()
            .update(&self.scope_of(&context), &request.task_id)
    }

    /// A request rmcp could not read as any method's: the server has no custom methods, so
    /// it is an MCP method with params that do not fit (`-32602`) or an unknown one.
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        Err(super::bad_params::error(&request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::CallOutcome;

    /// Every tool publishes the schema of its result: an object, as MCP clients of every
    /// protocol version accept it, describing at least the keys every result has.
    #[test]
    fn every_tool_publishes_an_output_schema() {
        let tools = McpServer::tool_router().list_all();
        assert_eq!(tools.len(), 20, "{:?}", tools.iter().map(|t| &t.name));
        for tool in tools {
            let schema = tool
                .output_schema
                .as_deref()
                .unwrap_or_else(|| panic!("{} has no outputSchema", tool.name));
            assert_eq!(
                schema.get("type"),
                Some(&Value::from("object")),
                "{}",
                tool.name
            );
            let properties = schema
                .get("properties")
                .and_then(Value::as_object)
                .unwrap_or_else(|| panic!("{} lists no properties", tool.name));
            // `clear_all_sessions` is the one result without markdown, as in the reference.
            if tool.name != "clear_all_sessions" {
                assert!(
                    properties.contains_key("formatted_output"),
                    "{}: {:?}",
                    tool.name,
                    properties.keys()
                );
            }
        }
    }

    /// `get_decision_matrix` answers the ranked matrix or, before the session has criteria,
    /// what it lacks: its schema is an object that is one of the two.
    #[test]
    fn the_matrix_schema_is_the_matrix_or_what_the_session_lacks() {
        let tools = McpServer::tool_router().list_all();
        let schema = tools
            .iter()
            .find(|tool| tool.name == "get_decision_matrix")
            .and_then(|tool| tool.output_schema.as_deref())
            .expect("get_decision_matrix has an outputSchema");
        let variants: Vec<&str> = schema["anyOf"]
            .as_array()
            .expect("anyOf")
            .iter()
            .filter_map(|variant| variant["$ref"].as_str())
            .collect();
        assert_eq!(
            variants,
            ["#/$defs/RankedMatrix", "#/$defs/InsufficientData"]
        );
        let lacking = &schema["$defs"]["InsufficientData"]["required"];
        for key in [
            "session_id",
            "topic",
            "error",
            "status",
            "has_options",
            "has_criteria",
            "options_count",
            "criteria_count",
            "next_steps",
            "formatted_output",
        ] {
            assert!(
                lacking.as_array().is_some_and(|r| r.contains(&key.into())),
                "{key}: {lacking}"
            );
        }
    }

    /// Where `value`, a schema, writes a list of types (`"type": [...]`), at any depth.
    fn type_lists(value: &Value, at: &str, found: &mut Vec<String>) {
        match value {
            Value::Object(members) => {
                if members.get("type").is_some_and(Value::is_array) {
                    found.push(at.to_owned());
                }
                for (key, member) in members {
                    type_lists(member, &format!("{at}.{key}"), found);
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    type_lists(item, &format!("{at}[{index}]"), found);
                }
            }
            _ => {}
        }
    }

    /// Where the schemas of `router` write a list of types.
    fn type_lists_in(router: &ToolRouter<McpServer>) -> Vec<String> {
        let mut found = Vec::new();
        for tool in router.list_all() {
            let input = Value::Object(tool.input_schema.as_ref().clone());
            type_lists(&input, &format!("{}.inputSchema", tool.name), &mut found);
            if let Some(output) = &tool.output_schema {
                let output = Value::Object(output.as_ref().clone());
                type_lists(&output, &format!("{}.outputSchema", tool.name), &mut found);
            }
        }
        found
    }

    /// Clients that read one type per schema (the MCP Inspector's argument conversion,
    /// Gemini's function declarations) can read every published schema.
    #[test]
    fn no_published_schema_has_a_list_of_types() {
        let mut router = McpServer::tool_router();
        assert!(
            !type_lists_in(&router).is_empty(),
            "the generator writes nullable values as lists of types, which this test finds"
        );
        schemas::publish(&mut router, &["bedrock", "litellm"]);
        let found = type_lists_in(&router);
        assert!(found.is_empty(), "{found:#?}");

        let property = |tool: &str, name: &str| {
            let tool = router.get(tool).unwrap_or_else(|| panic!("{tool}"));
            tool.input_schema["properties"][name].clone()
        };
        assert_eq!(
            property("add_criterion", "temperature")["anyOf"][1],
            serde_json::json!({"type": "null"})
        );
        for tool in ["start_decision_analysis", "add_criterion"] {
            assert_eq!(
                property(tool, "model_backend")["anyOf"][0]["enum"],
                serde_json::json!(["bedrock", "litellm"]),
                "{tool}"
            );
        }
        assert_eq!(
            property("update_criterion", "model_backend")["anyOf"][0]["enum"],
            serde_json::json!(["bedrock", "litellm", ""])
        );
    }

    #[test]
    fn a_failure_is_an_error_result_carrying_the_error_dict() {
        let mut error = ToolError::new("Invalid weight", "Invalid weight: must be 0.1-10");
        error.extra.insert("status".into(), Value::from("x"));
        let mut outcome = error.clone().into_call_tool_result();
        assert_eq!(outcome::settle(&mut outcome), CallOutcome::ServerError);
        let Ok(CallToolResponse::Complete(result)) = outcome else {
            panic!("a complete result");
        };
        assert_eq!(result.is_error, Some(true));
        assert_eq!(result.structured_content, None, "not the tool's result");
        let text = result.content[0].as_text().expect("text").text.clone();
        let content: Value = serde_json::from_str(&text).expect("the dict as JSON");
        assert_eq!(content["error"], error.error);
        assert_eq!(content["context"], "Invalid weight");
        assert_eq!(content["status"], "x");
        assert!(content["formatted_output"].is_string());
    }
}
