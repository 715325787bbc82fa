//! [`ToolError`]: the error every tool returns, in the reference server's envelope.
//!
//! Clients written for the reference server read `error` (and `context`) from the result
//! dict; ours sends the same dict, but as an MCP `isError` result so a client also knows,
//! without reading it, that the call failed.

use std::collections::BTreeMap;

use decision_matrix_core::lenient::Mismatch;
use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::ValidationError;

/// A failed tool call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolError {
    /// What was wrong and what is allowed.
    pub error: String,
    /// The category (`"Invalid topic"`, `"Session retrieval"`, ...).
    pub context: String,
    /// When (RFC 3339, UTC).
    pub timestamp: String,
    /// The same, as markdown.
    pub formatted_output: String,
    /// Keys particular to the tool (`errors`, `status`, `suggestion`, ...). A `BTreeMap`, not
    /// a `serde_json::Map`: that one keeps insertion order and is three times the size, and
    /// every `Result` carrying this error would pay for it.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl ToolError {
    /// An error with a context.
    pub fn new(context: impl Into<String>, error: impl Into<String>) -> ToolError {
        let (context, error) = (context.into(), error.into());
        let formatted_output =
            format!("## ❌ Error Encountered\n\n**Issue**: {error}\n\n**Context**: {context}\n");
        ToolError {
            error,
            context,
            timestamp: now_rfc3339(),
            formatted_output,
            extra: BTreeMap::new(),
        }
    }

    /// The session id is unknown or its session expired.
    pub fn session_not_found() -> ToolError {
        ToolError::new("Session retrieval", "Session not found or expired")
    }
}

impl From<ValidationError> for ToolError {
    fn from(error: ValidationError) -> ToolError {
        ToolError::new(error.context, error.message)
    }
}

/// Arguments of the wrong type: the message names the parameter, what was given and what is
/// allowed, and `parameter` says which it is (`initial_criteria[0].weight`).
impl From<Mismatch> for ToolError {
    fn from(mismatch: Mismatch) -> ToolError {
        let mut error = ToolError::new("Invalid arguments", mismatch.to_string());
        error
            .extra
            .insert("parameter".to_owned(), mismatch.parameter.into());
        error
    }
}

/// Now, as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// `at` as RFC 3339.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
