//! [`Decisions`]: the state every tool works on, and what the tools share: loading and
//! changing a session, checking a backend or strategy name, ranking a session.
//!
//! The tools themselves are in [`super::tools`], a module per group, each a method of
//! [`Decisions`] (or, for tools on sessions, of [`Scoped`], its view for one caller's
//! scope) that takes the tool's arguments and returns its result struct
//! ([`super::results`]) or a [`ToolError`]. The MCP adapter ([`super::mcp`]) and the command
//! line call the same methods.

use std::sync::Arc;

use crate::analysis::{self, Analysis, AnalysisCache};
use crate::domain::{Limits, Session};
use crate::evaluation::Evaluator;
use crate::plugins::PluginCatalog;
use crate::plugins::builtin::session_defaults;
use crate::plugins::call::PluginInstances;
use crate::telemetry::Telemetry;

use super::error::ToolError;
use super::scope::{Scope, ScopeRule, Scoped};
use super::sessions::SessionManager;
use super::stopping::Stopping;
use super::tasks::Tasks;

/// A tool's outcome: its result struct, or the error dict.
pub type ToolResult<T> = Result<T, ToolError>;

/// The state every tool works on.
pub struct Decisions {
    pub(super) sessions: Arc<SessionManager>,
    pub(super) evaluator: Evaluator,
    pub(super) catalog: Arc<PluginCatalog>,
    pub(super) analyses: AnalysisCache,
    pub(super) limits: Limits,
    pub(super) default_backend: String,
    pub(super) stopping: Stopping,
    pub(super) telemetry: Arc<Telemetry>,
    pub(super) plugin_instances: Option<PluginInstances>,
    pub(super) tasks: Tasks,
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
            default_backend: session_defaults().backend,
            stopping: Stopping::default(),
            telemetry: evaluator.telemetry().clone(),
            plugin_instances: None,
            tasks: Tasks::default(),
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

    /// The session store.
    pub fn sessions(&self) -> &Arc<SessionManager> {
        &self.sessions
    }

    /// Evaluations running as MCP tasks, and their results.
    pub fn tasks(&self) -> &Tasks {
        &self.tasks
    }

    /// The switch that cancels evaluations when the server stops.
    pub fn stopping(&self) -> &Stopping {
        &self.stopping
    }

    /// The tools' view of these decisions for calls in `scope`.
    pub fn scoped(&self, scope: Scope) -> Scoped<'_> {
        Scoped::new(self, scope)
    }

    /// How the scope of a call is chosen.
    pub fn scope_rule(&self) -> &ScopeRule {
        &self.sessions.settings().scope
    }

    /// Refuses a backend that is not loaded, naming those that are.
    pub(super) fn check_backend(&self, backend: &str) -> Result<(), ToolError> {
        if self.catalog.backend(backend).is_some() {
            return Ok(());
        }
        let known: Vec<&str> = self
            .catalog
            .backends()
            .map(|b| b.descriptor().manifest.id.as_str())
            .collect();
        Err(ToolError::invalid(
            "Invalid model backend",
            format!(
                "Invalid model backend: '{backend}' is not available; choose one of: {}",
                known.join(", ")
            ),
        ))
    }

    /// Refuses a scoring strategy that is not loaded, naming those that are.
    pub(super) fn check_strategy(&self, strategy: &str) -> Result<(), ToolError> {
        if self.catalog.scorer(strategy).is_some() {
            return Ok(());
        }
        let known: Vec<&str> = self
            .catalog
            .scorers()
            .map(|s| s.descriptor().manifest.id.as_str())
            .collect();
        Err(ToolError::invalid(
            "Invalid strategy",
            format!(
                "Invalid strategy: '{strategy}' is not available; choose one of: {}",
                known.join(", ")
            ),
        ))
    }

    /// `session` ranked by its strategy (from the cache while its input is unchanged),
    /// errors filed under `context`.
    pub(super) async fn analyse(
        &self,
        session: &Session,
        context: &str,
    ) -> Result<Arc<Analysis>, ToolError> {
        analysis::analyse_cached(&self.analyses, &self.catalog, session, &self.limits)
            .await
            .map_err(|e| ToolError::new(context, e.to_string()))
    }
}
