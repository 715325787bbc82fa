//! `sessions.scope`: how the client part of a call's session scope is chosen (the host's
//! `server::scope` explains scopes).

use serde::{Deserialize, Serialize};

/// The value of `sessions.scope` that keeps each client apart (the default).
pub const PER_CLIENT: &str = "client";

/// How the client part of a call's scope is chosen (`sessions.scope`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ScopeRule {
    /// Each MCP client by its name (`client`).
    #[default]
    PerClient,
    /// Every client in the one named scope.
    Shared(String),
}

impl TryFrom<String> for ScopeRule {
    type Error = String;

    fn try_from(value: String) -> Result<ScopeRule, String> {
        let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if value == PER_CLIENT {
            Ok(ScopeRule::PerClient)
        } else if (1..=64).contains(&value.len()) && value.chars().all(valid) {
            Ok(ScopeRule::Shared(value))
        } else {
            Err(format!(
                "sessions.scope = '{value}' is not valid; allowed: \"{PER_CLIENT}\" (each MCP client keeps its own sessions) or a name of 1 to 64 letters, digits, '_', '-' or '.' that every client shares"
            ))
        }
    }
}

impl From<ScopeRule> for String {
    fn from(rule: ScopeRule) -> String {
        match rule {
            ScopeRule::PerClient => PER_CLIENT.to_owned(),
            ScopeRule::Shared(name) => name,
        }
    }
}
