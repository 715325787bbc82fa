//! [`Health`]: whether the server works as it should, and if not, why.
//!
//! `degraded` means a threshold of `[alerts]` is crossed: the server still answers (so
//! `/healthz` keeps answering 200, and a load balancer keeps it in rotation), but someone
//! should look. Each reason is one sentence naming the value and its threshold.

use schemars::JsonSchema;
use serde::Serialize;

use super::alerts::Breach;

/// The overall state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every threshold holds.
    Ok,
    /// Some threshold is crossed.
    Degraded,
}

impl Status {
    /// `ok` or `degraded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Degraded => "degraded",
        }
    }
}

/// The state with its reasons.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: Status,
    /// One sentence per crossed threshold.
    pub reasons: Vec<String>,
    /// The crossed thresholds with their values.
    pub alerts: Vec<Breach>,
}

impl Default for Health {
    fn default() -> Health {
        Health {
            status: Status::Ok,
            reasons: Vec::new(),
            alerts: Vec::new(),
        }
    }
}
