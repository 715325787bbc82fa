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
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rmcp::ErrorData;
use rmcp::RoleServer;
use rmcp::model::{DetailedTask, Task};
use rmcp::service::RequestContext;
use rmcp::task_manager::{TaskContext, TaskFuture, TaskManager, TaskOptions};

use super::scope::Scope;

/// How long a task may run, and how long its result is kept after it ends. The manager
/// fails a task still running after this, so it is far beyond an evaluation's length (a
/// 20 × 15 matrix on a slow model takes minutes); an hour is ample to come back for a result.
pub const TASK_TTL: Duration = Duration::from_secs(60 * 60);

/// The most tasks the server counts at once: each is counted for twice [`TASK_TTL`] from its
/// start, the longest the manager may keep it (running, then its result). Each waits for its
/// session's evaluation lease and keeps its result; without a bound, a client could pile up
/// tasks faster than they end. Past it, calls run as plain calls.
pub const MAX_TASKS: usize = 1000;

/// How often a client is asked to poll.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The server's tasks and whose each is.
#[derive(Default)]
pub struct Tasks {
    manager: TaskManager,
    /// Each task's scope and when it started.
    owners: Mutex<HashMap<String, (Scope, Instant)>>,
}

impl Tasks {
    /// Starts `operation` as a task owned by `scope`; returns the task as created, or `None`
    /// when the server already holds [`MAX_TASKS`] tasks (the call then runs as a plain call,
    /// which the extension allows: the server decides per request).
    pub fn spawn(
        &self,
        scope: Scope,
        status: String,
        operation: impl FnOnce(TaskContext) -> TaskFuture,
    ) -> Option<Task> {
        let mut owners = self.owners.lock();
        // Tasks the manager has surely forgotten go first.
        owners.retain(|_, (_, started)| started.elapsed() < TASK_TTL * 2);
        if owners.len() >= MAX_TASKS {
            return None;
        }
        let options = TaskOptions::new()
            .with_ttl_ms(TASK_TTL.as_millis() as u64)
            .with_poll_interval_ms(POLL_INTERVAL.as_millis() as u64)
            .with_status_message(status);
        let task = self.manager.spawn(options, operation);
        owners.insert(task.task_id.clone(), (scope, Instant::now()));
        Some(task)
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
            Some((owner, _)) if owner == scope => Ok(()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::scope::ScopeRule;
    use rmcp::model::CallToolResult;

    fn scope(client: &str) -> Scope {
        Scope::of(&ScopeRule::PerClient, Some(client), None)
    }

    fn instant(tasks: &Tasks, owner: &Scope) -> Option<Task> {
        tasks.spawn(owner.clone(), "starting".to_owned(), |_| {
            Box::pin(async { Ok(CallToolResult::success(Vec::new())) })
        })
    }

    #[tokio::test]
    async fn a_task_is_only_its_scopes() {
        let tasks = Tasks::default();
        let (alice, bob) = (scope("alice"), scope("bob"));
        let task = instant(&tasks, &alice).expect("room for a task");
        assert!(tasks.get(&alice, &task.task_id).is_ok());
        for refused in [
            tasks.get(&bob, &task.task_id).map(drop),
            tasks.cancel(&bob, &task.task_id),
            tasks.update(&bob, &task.task_id),
        ] {
            let error = refused.expect_err("another scope's task");
            assert!(error.message.contains("unknown task"), "{error:?}");
        }
        assert!(tasks.get(&alice, "no-such-task").is_err());
    }

    #[tokio::test]
    async fn past_the_bound_calls_are_not_made_tasks() {
        let tasks = Tasks::default();
        let owner = scope("alice");
        for _ in 0..MAX_TASKS {
            assert!(instant(&tasks, &owner).is_some());
        }
        assert!(
            instant(&tasks, &owner).is_none(),
            "finished tasks are kept, and count"
        );
    }
}
