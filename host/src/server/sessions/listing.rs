//! A scope's sessions: listed a page at a time, the most recent first, and cleared.
//!
//! A store may hold thousands of sessions of many scopes. A listing reads only what it needs
//! of each: the store's own creation time for the order, and the session's scope, read
//! without decoding the rest of it; only the sessions of the page are decoded in full.

use decision_matrix_store::Summary;
use serde::Deserialize;

use super::SessionManager;
use super::housekeeping::CLEANED;
use crate::domain::Session;
use crate::server::decoded::Stored;
use crate::server::error::ToolError;
use crate::server::scope::Scope;

/// Where a page of sessions ends, for the next page to start after: the creation time the
/// store keeps and the session id, which together order every session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    created_at: u64,
    id: String,
}

impl Cursor {
    /// The cursor's text, as `list_sessions` returns it.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at, self.id)
    }

    /// A cursor from its text; `None` when it is not one [`Cursor::encode`] made.
    pub fn decode(text: &str) -> Option<Cursor> {
        let (created_at, id) = text.split_once('.')?;
        Some(Cursor {
            created_at: created_at.parse().ok()?,
            id: id.to_owned(),
        })
        .filter(|cursor| !cursor.id.is_empty())
    }

    fn of(summary: &Summary) -> Cursor {
        Cursor {
            created_at: summary.created_at,
            id: summary.id.clone(),
        }
    }
}

/// One page of a scope's sessions.
#[derive(Debug, Clone)]
pub struct Page {
    /// The sessions, the most recently created first, without their cells.
    pub sessions: Vec<Session>,
    /// How many sessions the scope has in all.
    pub total: usize,
    /// Where the next page starts, when there is one.
    pub next: Option<Cursor>,
}

/// The part of a stored session a listing needs; the rest is skipped unread.
#[derive(Deserialize)]
struct Owner {
    #[serde(default)]
    scope: Option<String>,
}

impl SessionManager {
    /// The live sessions of `scope`, the most recently created first (ties by id), as store
    /// summaries; neither renews them. Sessions that cannot be read are left out.
    async fn summaries(&self, scope: &Scope) -> Result<Vec<Summary>, ToolError> {
        let mut summaries = self.store.list().await.map_err(|e| self.failure(e))?;
        summaries.retain(
            |summary| match serde_json::from_slice::<Owner>(&summary.body) {
                Ok(owner) => scope.owns(owner.scope.as_deref()),
                Err(error) => {
                    tracing::warn!(
                        session = summary.id,
                        "unreadable session not listed: {error}"
                    );
                    false
                }
            },
        );
        summaries.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(summaries)
    }

    /// Up to `limit` sessions of `scope` after `after` (from the start without one).
    pub async fn page(
        &self,
        scope: &Scope,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page, ToolError> {
        let summaries = self.summaries(scope).await?;
        let total = summaries.len();
        let start = after.map_or(0, |after| {
            summaries.partition_point(|s| (s.created_at, &s.id) >= (after.created_at, &after.id))
        });
        let end = start.saturating_add(limit).min(total);
        let mut sessions = Vec::with_capacity(end - start);
        for summary in &summaries[start..end] {
            match serde_json::from_slice::<Session>(&summary.body) {
                Ok(session) => sessions.push(session),
                Err(error) => {
                    tracing::warn!(
                        session = summary.id,
                        "unreadable session not listed: {error}"
                    )
                }
            }
        }
        let next = (end < total).then(|| Cursor::of(&summaries[end - 1]));
        Ok(Page {
            sessions,
            total,
            next,
        })
    }

    /// The most recently created live session of `scope`, with its cells (not renewed by
    /// this look).
    pub async fn current(&self, scope: &Scope) -> Result<Option<Session>, ToolError> {
        for summary in self.summaries(scope).await? {
            if let Some(loaded) = self
                .store
                .peek(&summary.id)
                .await
                .map_err(|e| self.failure(e))?
            {
                let stored = Stored::from(loaded);
                return self.decode(&summary.id, &stored).map(Some);
            }
        }
        Ok(None)
    }

    /// Removes every session of `scope`; returns how many there were.
    pub async fn clear(&self, scope: &Scope) -> Result<usize, ToolError> {
        let mut cleared = 0;
        for summary in self.summaries(scope).await? {
            if self
                .store
                .delete(&summary.id)
                .await
                .map_err(|e| self.failure(e))?
            {
                cleared += 1;
            }
        }
        self.decoded.clear();
        self.count(CLEANED, cleared).await;
        Ok(cleared)
    }
}

#[cfg(test)]
mod tests {
    use super::super::WhenFull;
    use super::super::testing::{manager, session, tick};
    use super::*;
    use crate::server::scope::ScopeRule;

    fn scope(client: &str) -> Scope {
        Scope::of(&ScopeRule::PerClient, Some(client), None)
    }

    async fn add(sessions: &SessionManager, id: &str, owner: Option<&Scope>) {
        let mut new = session(id);
        new.scope = owner.map(|s| s.as_str().to_owned());
        sessions.insert(&new).await.expect("room");
        tick(sessions);
    }

    #[tokio::test]
    async fn each_scope_lists_finds_and_clears_only_its_own_sessions() {
        let sessions = manager(10, WhenFull::Refuse).await;
        let (desktop, code) = (scope("desktop"), scope("code"));
        add(&sessions, "d1", Some(&desktop)).await;
        add(&sessions, "c1", Some(&code)).await;
        add(&sessions, "d2", Some(&desktop)).await;
        add(&sessions, "old", None).await;

        let ids = |page: Page| page.sessions.into_iter().map(|s| s.id).collect::<Vec<_>>();
        let listed = sessions.page(&desktop, None, 10).await.expect("lists");
        assert_eq!(listed.total, 3);
        assert_eq!(ids(listed), ["old", "d2", "d1"], "most recent first");
        let current = sessions.current(&code).await.expect("reads").expect("one");
        assert_eq!(
            current.id, "old",
            "a session from before scopes is everyone's"
        );

        assert_eq!(sessions.clear(&code).await.expect("clears"), 2);
        assert_eq!(
            ids(sessions.page(&desktop, None, 10).await.expect("lists")),
            ["d2", "d1"],
            "the other scope's sessions survive its neighbour's clear"
        );
        assert!(sessions.current(&code).await.expect("reads").is_none());
    }

    #[tokio::test]
    async fn pages_follow_their_cursor_to_the_end() {
        let sessions = manager(20, WhenFull::Refuse).await;
        let mine = scope("me");
        for n in 0..7 {
            add(&sessions, &format!("s{n}"), Some(&mine)).await;
        }
        let mut seen = Vec::new();
        let mut after = None;
        for _ in 0..10 {
            let page = sessions
                .page(&mine, after.as_ref(), 3)
                .await
                .expect("lists");
            assert_eq!(page.total, 7);
            seen.extend(page.sessions.into_iter().map(|s| s.id));
            match page.next {
                Some(next) => {
                    let text = next.encode();
                    after = Some(Cursor::decode(&text).expect("round trip"));
                }
                None => break,
            }
        }
        assert_eq!(seen, ["s6", "s5", "s4", "s3", "s2", "s1", "s0"]);
        assert_eq!(Cursor::decode("nonsense"), None);
        assert_eq!(Cursor::decode("12."), None);
    }
}
