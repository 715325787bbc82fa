//! Whose sessions a call sees: its [`Scope`], and [`Scoped`], the tools' view of
//! [`Decisions`] for one scope.
//!
//! With the default SQLite store every server process of a user shares one database, and one
//! HTTP server may serve several people. A session therefore belongs to the scope of the call
//! that started it, and a call sees, lists and clears only its own scope's sessions: an id
//! from another scope is "not found", as if it did not exist.
//!
//! The scope of a call is made of two parts:
//! - who authenticated: on HTTP with several bearer tokens, each token is a scope of its own
//!   (named by a digest of the token, never the token), so users of one shared server cannot
//!   reach each other's sessions whatever else is configured;
//! - which client: by default the client's name from `initialize` over stdio (so Claude
//!   Desktop and Claude Code keep apart, while a restarted client finds its sessions again),
//!   and `http` for the stateless HTTP transport, which has no `initialize` per call; or one
//!   name for every client when `sessions.scope` (`--scope`, `DMM_SCOPE`) names one, to share
//!   on purpose.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::error::ToolError;
use super::service::Decisions;
use crate::domain::Session;
pub use decision_matrix_core::config::ScopeRule;

/// The client part of a scope on the stateless HTTP transport.
const HTTP_CLIENTS: &str = "http";

/// Which bearer token a call came with, as far as scopes care: a digest, so that neither
/// sessions nor logs ever hold the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTag(Arc<str>);

impl TokenTag {
    /// The tag of `token`.
    pub fn of(token: &str) -> TokenTag {
        let digest = Sha256::digest(token.as_bytes());
        TokenTag(hex::encode(&digest[..8]).into())
    }
}

/// The scope of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope(Arc<str>);

impl Scope {
    /// The scope of a call from `client` (its `initialize` name, if known), authenticated by
    /// `token` (if tokens are configured), under `rule`.
    pub fn of(rule: &ScopeRule, client: Option<&str>, token: Option<&TokenTag>) -> Scope {
        let clients = match rule {
            ScopeRule::Shared(name) => name.clone(),
            ScopeRule::PerClient => format!("client:{}", client.unwrap_or(HTTP_CLIENTS)),
        };
        match token {
            Some(tag) => Scope(format!("token:{}/{clients}", tag.0).into()),
            None => Scope(clients.into()),
        }
    }

    /// Whether `session` belongs to this scope.
    pub fn sees(&self, session: &Session) -> bool {
        self.owns(session.scope.as_deref())
    }

    /// Whether a session filed under `owner` belongs to this scope. Sessions saved before
    /// scopes existed (no owner) belong to every scope.
    pub fn owns(&self, owner: Option<&str>) -> bool {
        owner.is_none_or(|owner| owner == &*self.0)
    }

    /// The scope as stored with a session.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// [`Decisions`] as the tools see it for one call: every session they load or change is one
/// of the call's scope, or "not found".
pub struct Scoped<'a> {
    decisions: &'a Decisions,
    scope: Scope,
}

impl<'a> Scoped<'a> {
    /// `decisions` for calls in `scope`.
    pub fn new(decisions: &'a Decisions, scope: Scope) -> Scoped<'a> {
        Scoped { decisions, scope }
    }

    /// The call's scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Session `id` with its cells, renewing its TTL.
    pub(super) async fn session(&self, id: &str) -> Result<Session, ToolError> {
        self.limits.session_id(id)?;
        self.sessions
            .load(id)
            .await?
            .filter(|session| self.scope.sees(session))
            .ok_or_else(ToolError::session_not_found)
    }

    /// Applies `change` to session `id` and saves it (again on a fresh copy if another
    /// request changed the session meanwhile, so `change` must depend only on its argument);
    /// returns what `change` returned.
    pub(super) async fn change<T>(
        &self,
        id: &str,
        mut change: impl FnMut(&mut Session) -> Result<T, ToolError>,
    ) -> Result<T, ToolError> {
        self.limits.session_id(id)?;
        self.sessions
            .modify(id, |session| {
                if !self.scope.sees(session) {
                    return Err(ToolError::session_not_found());
                }
                change(session)
            })
            .await
    }
}

impl Deref for Scoped<'_> {
    type Target = Decisions;

    fn deref(&self) -> &Decisions {
        self.decisions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_keep_apart_unless_a_shared_scope_is_named_and_tokens_always_do() {
        let per_client = ScopeRule::PerClient;
        let desktop = Scope::of(&per_client, Some("claude-ai"), None);
        let code = Scope::of(&per_client, Some("claude-code"), None);
        assert_ne!(desktop, code);
        assert_eq!(desktop.as_str(), "client:claude-ai");
        assert_eq!(Scope::of(&per_client, None, None).as_str(), "client:http");

        let team = ScopeRule::try_from("team".to_owned()).expect("valid");
        assert_eq!(
            Scope::of(&team, Some("claude-ai"), None),
            Scope::of(&team, Some("claude-code"), None)
        );

        let (alice, bob) = (TokenTag::of("alice-token"), TokenTag::of("bob-token"));
        let a = Scope::of(&team, None, Some(&alice));
        let b = Scope::of(&team, None, Some(&bob));
        assert_ne!(
            a, b,
            "tokens are scopes of their own even with a shared name"
        );
        assert!(!a.as_str().contains("alice-token"), "{a}");
        assert_eq!(
            TokenTag::of("alice-token"),
            alice,
            "the same token, the same tag"
        );
    }

    #[test]
    fn the_rule_is_client_or_a_plain_name_and_anything_else_says_so() {
        assert_eq!(
            ScopeRule::try_from("client".to_owned()),
            Ok(ScopeRule::PerClient)
        );
        let err = ScopeRule::try_from("a b".to_owned()).unwrap_err();
        assert!(
            err.starts_with("sessions.scope = 'a b' is not valid; allowed: \"client\""),
            "{err}"
        );
        assert!(ScopeRule::try_from(String::new()).is_err());
        assert!(ScopeRule::try_from("x".repeat(65)).is_err());
    }
}
