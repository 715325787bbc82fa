//! [`ToolError`]: the error every tool returns, in the reference server's envelope.
//!
//! Clients written for the reference server read `error` (and `context`) from the result
//! dict; ours sends the same dict, but as an MCP `isError` result so a client also knows,
//! without reading it, that the call failed.
//!
//! Each error also says whose [`Fault`] it is, which clients never see: the server's health
//! is judged on its own failures, not on arguments a client got wrong.

use std::collections::BTreeMap;

use decision_matrix_core::lenient::Mismatch;
use serde::Serialize;

use super::timestamp;
use crate::domain::ValidationError;

/// Whose fault a failed tool call is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fault {
    /// The call's: invalid arguments, an unknown session, a step called before its
    /// prerequisite, a cancellation. Counted apart, never in the error rate.
    Client,
    /// The server's or what it depends on (the store, the backends, a limit of the server).
    #[default]
    Server,
}

/// A failed tool call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolError {
    /// What was wrong and what is allowed.
    pub error: String,
    /// The category (`"Invalid topic"`, `"Session retrieval"`, ...).
    pub context: String,
    /// When, as [`timestamp::iso`] writes it. (Boxed: every `Result` carrying this error
    /// pays for its size, which stays within the 128 bytes Clippy allows.)
    pub timestamp: Box<str>,
    /// The same, as markdown.
    pub formatted_output: String,
    /// Keys particular to the tool (`errors`, `status`, `suggestion`, ...). A `BTreeMap`, not
    /// a `serde_json::Map`: that one keeps insertion order and is three times the size, and
    /// every `Result` carrying this error would pay for it.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
    /// Whose fault it is (not part of the dict).
    #[serde(skip)]
    pub fault: Fault,
}

impl ToolError {
    /// An error of the server's, with a context.
    pub fn new(context: impl Into<String>, error: impl Into<String>) -> ToolError {
        let (context, error) = (context.into(), error.into());
        let formatted_output =
            format!("## ❌ Error Encountered\n\n**Issue**: {error}\n\n**Context**: {context}\n");
        ToolError {
            error,
            context,
            timestamp: timestamp::now().into(),
            formatted_output,
            extra: BTreeMap::new(),
            fault: Fault::Server,
        }
    }

    /// An error in the call itself (its arguments, the session it names, the order of
    /// steps), with a context.
    pub fn invalid(context: impl Into<String>, error: impl Into<String>) -> ToolError {
        ToolError {
            fault: Fault::Client,
            ..ToolError::new(context, error)
        }
    }

    /// The session id is unknown or its session expired.
    pub fn session_not_found() -> ToolError {
        ToolError::invalid("Session retrieval", "Session not found or expired")
    }
}

impl From<ValidationError> for ToolError {
    fn from(error: ValidationError) -> ToolError {
        ToolError::invalid(error.context, error.message)
    }
}

/// Arguments of the wrong type: the message names the parameter, what was given and what is
/// allowed, and `parameter` says which it is (`initial_criteria[0].weight`). The client's
/// fault.
impl From<Mismatch> for ToolError {
    fn from(mismatch: Mismatch) -> ToolError {
        let mut error = ToolError::invalid("Invalid arguments", mismatch.to_string());
        error
            .extra
            .insert("parameter".to_owned(), mismatch.parameter.into());
        error
    }
}
