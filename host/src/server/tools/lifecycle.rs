//! Session lifecycle: `start_decision_analysis`, `list_sessions`, `current_session` and
//! `clear_all_sessions`.

use time::OffsetDateTime;

use crate::domain::{CriterionSpec, Session, SessionDefaults};

use super::super::error::ToolError;
use super::super::format;
use super::super::params::{JudgeArgs, ListSessionsArgs, StartArgs};
use super::super::results::{
    CurrentDetails, CurrentSession, NoSession, SessionList, SessionStatus, SessionSummary,
    SessionsCleared, Started,
};
use super::super::scope::Scoped;
use super::super::service::ToolResult;
use super::super::sessions::Cursor;
use super::super::timestamp;
use super::{criterion_names, option_names, steps};

/// Sessions a `list_sessions` page holds unless it asks for another number.
const DEFAULT_PAGE: u32 = 100;
/// The most a page may hold.
const MAX_PAGE: u32 = 1000;

impl Scoped<'_> {
    /// `start_decision_analysis`.
    pub async fn start(&self, args: StartArgs) -> ToolResult<Started> {
        let backend = args
            .model_backend
            .clone()
            .unwrap_or_else(|| self.default_backend.clone());
        self.check_backend(&backend)?;
        if let Some(strategy) = &args.strategy {
            self.check_strategy(strategy)?;
        }
        let judges = JudgeArgs::panel(args.judges.as_deref(), args.temperature);
        for judge in &judges {
            self.check_backend(&judge.backend)?;
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
                judges,
            },
            &self.limits,
            OffsetDateTime::now_utc(),
        )?;
        if let Some(strategy) = args.strategy {
            session.strategy = strategy;
        }
        session.scope = Some(self.scope().as_str().to_owned());
        let formatted_output = format::session_created(&session);
        self.sessions.insert(&session).await?;
        let mut message = format!(
            "Decision analysis initialized with {} options",
            args.options.len()
        );
        if !criteria_added.is_empty() {
            message.push_str(&format!(" and {} criteria", criteria_added.len()));
        }
        Ok(Started {
            session_id: session.id,
            topic: session.topic,
            options: args.options,
            criteria_added,
            model_backend: backend,
            model_name: args.model_name,
            temperature: args.temperature,
            strategy: session.strategy,
            message,
            next_steps: steps(&[
                "add_criterion - Add evaluation criteria",
                "evaluate_options - Run the analysis",
                "get_decision_matrix - See results",
            ]),
            formatted_output,
        })
    }

    /// `list_sessions`: a page of the caller's sessions, the most recent first.
    pub async fn list_sessions(&self, args: ListSessionsArgs) -> ToolResult<SessionList> {
        let limit = args.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ToolError::invalid(
                "Invalid limit",
                format!(
                    "Invalid limit: {limit}; allowed: 1 to {MAX_PAGE} (default {DEFAULT_PAGE})"
                ),
            ));
        }
        let after = match args.cursor.as_deref() {
            Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
                ToolError::invalid(
                    "Invalid cursor",
                    "Invalid cursor: pass the next_cursor of the previous list_sessions result, unchanged",
                )
            })?),
            None => None,
        };
        let page = self
            .sessions
            .page(self.scope(), after.as_ref(), limit as usize)
            .await?;
        let sessions: Vec<SessionSummary> = page
            .sessions
            .iter()
            .map(|session| summary(session, SessionStatus::Setup))
            .collect();
        let stats = self.sessions.stats().await?;
        let formatted_output =
            format::sessions_list(&sessions, page.total, page.next.is_some(), &stats);
        Ok(SessionList {
            total_active: page.total,
            sessions,
            has_more: page.next.is_some(),
            next_cursor: page.next.map(|cursor| cursor.encode()),
            stats,
            formatted_output,
        })
    }

    /// `clear_all_sessions`: the caller's sessions.
    pub async fn clear_all_sessions(&self) -> ToolResult<SessionsCleared> {
        let cleared = self.sessions.clear(self.scope()).await?;
        self.analyses.clear();
        Ok(SessionsCleared {
            cleared,
            message: format!("Cleared {cleared} active sessions"),
            stats: self.sessions.stats().await?,
        })
    }

    /// `current_session`: the most recently used session.
    pub async fn current_session(&self) -> ToolResult<CurrentSession> {
        let Some(session) = self.sessions.current(self.scope()).await? else {
            return Ok(CurrentSession {
                current: None,
                session: Some(NoSession),
                message: "No active sessions found".to_owned(),
                formatted_output: ToolError::new("No current session", "No active sessions")
                    .formatted_output,
            });
        };
        Ok(CurrentSession {
            current: Some(CurrentDetails {
                summary: summary(&session, SessionStatus::Pending),
                model_backend: session.defaults.backend.clone(),
                model_name: session.defaults.model.clone(),
            }),
            session: None,
            message: format!("Current session: {}", session.topic),
            formatted_output: format::session_summary(&session),
        })
    }
}

/// A session in `list_sessions` and `current_session`; `unevaluated` is what the tool calls a
/// session no evaluation has run on.
fn summary(session: &Session, unevaluated: SessionStatus) -> SessionSummary {
    SessionSummary {
        session_id: session.id.clone(),
        topic: session.topic.clone(),
        created_at: timestamp::iso(session.created_at),
        options: option_names(session),
        criteria: criterion_names(session),
        evaluations_run: session.evaluations_run,
        strategy: session.strategy.clone(),
        status: if session.evaluations_run > 0 {
            SessionStatus::Evaluated
        } else {
            unevaluated
        },
    }
}
