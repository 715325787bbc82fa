//! Long evaluations as MCP tasks (the `io.modelcontextprotocol/tasks` extension).
//!
//! A real model takes minutes on a large matrix, longer than some hosts wait for one tool
//! call. A call that declares the tasks extension in its request's capabilities gets
//! `evaluate_options` as a task: the
//! call answers at once with the task's id, the evaluation runs on, `tasks/get` reports
//! its progress (the same words as the progress notifications) and, once it ends, its
//! result; `tasks/cancel` stops it the way a cancelled call does, keeping the cells already
//! scored. A call that does not declare it gets the ordinary result.
//!
//! The tasks live in the server process, shared by every connection, so a client that
//! reconnects (or a stateless HTTP client, whose every request is a connection) reads its
//! task by id. A task belongs to the scope that created it: another scope's `tasks/get` or
//! `tasks/cancel` is told the task does not exist, as it is told of another's session.
//! rmcp's [`TaskManager`] keeps the state; this module adds the owners and the policy.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use rmcp::ErrorData;
use rmcp::RoleServer;
use rmcp::model::{DetailedTask, Task};
use rmcp::service::RequestContext;
use rmcp::task_manager::{TaskContext, TaskFuture, TaskManager, TaskOptions};

use super::scope::Scope;

/// How long a task may run, and how long its result is kept after it ends. The manager
/// fails a task still running after this, so it is far beyond any evaluation's length.
pub const TASK_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// How often a client is asked to poll.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The server's tasks and whose each is.
#[derive(Default)]
pub struct Tasks {
    manager: TaskManager,
    owners: Mutex<HashMap<String, Scope>>,
}

impl Tasks {
    /// Starts `operation` as a task owned by `scope`; returns the task as created.
    pub fn spawn(
        &self,
        scope: Scope,
        status: String,
        operation: impl FnOnce(TaskContext) -> TaskFuture,
    ) -> Task {
        let options = TaskOptions::new()
            .with_ttl_ms(TASK_TTL.as_millis() as u64)
            .with_poll_interval_ms(POLL_INTERVAL.as_millis() as u64)
            .with_status_message(status);
        let task = self.manager.spawn(options, operation);
        let mut owners = self.owners.lock();
        // Owners of tasks the manager has forgotten (their retention ended) go too.
        owners.retain(|id, _| self.manager.get_task(id).is_ok());
        owners.insert(task.task_id.clone(), scope);
        task
    }

    /// `tasks/get` for a caller in `scope`.
    pub fn get(&self, scope: &Scope, task_id: &str) -> Result<DetailedTask, ErrorData> {
        self.check_owner(scope, task_id)?;
        self.manager.get_task(task_id)
    }

    /// `tasks/cancel` for a caller in `scope`.
    pub fn cancel(&self, scope: &Scope, task_id: &str) -> Result<(), ErrorData> {
        self.check_owner(scope, task_id)?;
        self.manager.cancel_task(task_id)
    }

    /// `tasks/update`: the server's tasks never ask for input, so there is nothing to
    /// answer; the task must still be the caller's.
    pub fn update(&self, scope: &Scope, task_id: &str) -> Result<(), ErrorData> {
        self.check_owner(scope, task_id)?;
        self.manager
            .update_task(task_id, std::iter::empty::<(String, serde_json::Value)>())
    }

    fn check_owner(&self, scope: &Scope, task_id: &str) -> Result<(), ErrorData> {
        match self.owners.lock().get(task_id) {
            Some(owner) if owner == scope => Ok(()),
            _ => Err(ErrorData::invalid_params(
                format!("unknown task: {task_id}"),
                None,
            )),
        }
    }
}

/// Whether this request declares the tasks extension in its own capabilities (its `_meta`),
/// as the extension asks. A declaration at `initialize` alone does not count: clients
/// declare it there without handling a task in place of a result (the MCP Inspector's
/// command line, for one).
pub fn wanted(context: &RequestContext<RoleServer>) -> bool {
    context
        .meta
        .client_capabilities()
        .is_some_and(|capabilities| capabilities.supports_tasks())
}
