//! Session scopes against the built binary: two MCP clients on one SQLite file, and two
//! bearer tokens on one HTTP server, each see, list and clear only their own sessions; a
//! restarted client finds its sessions again; a shared scope shares on purpose; and
//! `list_sessions` pages through many sessions.

use crate::common;

use common::client::{Client, err, http_client_with_token, ok, stdio_server_for};
use common::server::{http_server, llm};
use rmcp::RoleClient;
use rmcp::service::RunningService;
use serde_json::{Map, Value, json};

type Mcp = RunningService<RoleClient, Client>;

async fn as_client(name: &'static str, store: &str, extra: &[&str]) -> Mcp {
    let llm = llm().await;
    let handler = Client {
        name: Some(name),
        ..Client::default()
    };
    let mut args = vec!["--store", store];
    args.extend_from_slice(extra);
    stdio_server_for(handler, &llm, &args).await.0
}

async fn start(client: &Mcp, topic: &str) -> String {
    let started = ok(
        client,
        "start_decision_analysis",
        json!({"topic": topic, "options": ["a", "b"], "model_backend": "litellm"}),
    )
    .await;
    started["session_id"].as_str().expect("id").to_owned()
}

fn listed(result: &Map<String, Value>) -> Vec<String> {
    result["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| s["session_id"].as_str().expect("id").to_owned())
        .collect()
}

/// What `other` can do with `mine`'s session `id`: nothing, as if it did not exist.
async fn cannot_reach(other: &Mcp, id: &str) {
    let listed_there = ok(other, "list_sessions", json!({})).await;
    assert!(
        !listed(&listed_there).contains(&id.to_owned()),
        "{listed_there:?}"
    );
    let current = ok(other, "current_session", json!({})).await;
    assert_ne!(current.get("session_id"), Some(&json!(id)), "{current:?}");
    for (tool, args) in [
        ("get_decision_matrix", json!({"session_id": id})),
        ("add_option", json!({"session_id": id, "option_name": "c"})),
        ("export_matrix", json!({"session_id": id})),
    ] {
        let error = err(other, tool, args).await;
        assert!(error.contains("not found"), "{tool}: {error}");
    }
}

#[tokio::test]
async fn two_clients_on_one_store_keep_their_sessions_apart_and_find_them_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = format!("sqlite://{}", dir.path().join("sessions.db").display());

    let desktop = as_client("desktop-app", &store, &[]).await;
    let code = as_client("code-app", &store, &[]).await;
    let mine = start(&desktop, "Desktop's decision").await;
    let theirs = start(&code, "Code's decision").await;
    cannot_reach(&code, &mine).await;
    cannot_reach(&desktop, &theirs).await;

    let cleared = ok(&code, "clear_all_sessions", json!({})).await;
    assert_eq!(cleared["cleared"], 1, "only its own: {cleared:?}");
    desktop.cancel().await.expect("stops");

    // The same client, restarted, finds its session; the cleared one is gone for good.
    let desktop = as_client("desktop-app", &store, &[]).await;
    let list = ok(&desktop, "list_sessions", json!({})).await;
    assert_eq!(listed(&list), std::slice::from_ref(&mine));
    assert_eq!(list["total_active"], 1);
    let current = ok(&desktop, "current_session", json!({})).await;
    assert_eq!(current["session_id"], json!(mine));
    ok(
        &desktop,
        "add_option",
        json!({"session_id": mine, "option_name": "c"}),
    )
    .await;

    // Named on purpose, a scope is shared by every client.
    let one = as_client("one-app", &store, &["--scope", "team"]).await;
    let other = as_client("other-app", &store, &["--scope", "team"]).await;
    let shared = start(&one, "The team's decision").await;
    assert_eq!(
        listed(&ok(&other, "list_sessions", json!({})).await),
        std::slice::from_ref(&shared)
    );
    ok(
        &other,
        "add_option",
        json!({"session_id": shared, "option_name": "c"}),
    )
    .await;
    cannot_reach(&desktop, &shared).await;
}

#[tokio::test]
async fn each_bearer_token_sees_only_its_own_sessions() {
    let llm = llm().await;
    let (_server, url) = http_server(&llm, &["--auth-token", "token-of-alice,token-of-bob"]).await;
    let (alice, _) = http_client_with_token(&url, "token-of-alice").await;
    let (bob, _) = http_client_with_token(&url, "token-of-bob").await;

    let hers = start(&alice, "Alice's decision").await;
    let his = start(&bob, "Bob's decision").await;
    cannot_reach(&bob, &hers).await;
    cannot_reach(&alice, &his).await;
    let cleared = ok(&bob, "clear_all_sessions", json!({})).await;
    assert_eq!(cleared["cleared"], 1);
    assert_eq!(
        listed(&ok(&alice, "list_sessions", json!({})).await),
        [hers]
    );
}

#[tokio::test]
async fn list_sessions_pages_the_most_recent_first() {
    let client = as_client("pager", "memory", &[]).await;
    let mut started = Vec::new();
    for n in 0..5 {
        started.push(start(&client, &format!("decision {n}")).await);
    }
    started.reverse();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let mut args = json!({"limit": 2});
        if let Some(cursor) = &cursor {
            args["cursor"] = json!(cursor);
        }
        let page = ok(&client, "list_sessions", args).await;
        assert_eq!(page["total_active"], 5);
        seen.extend(listed(&page));
        match page.get("next_cursor").and_then(Value::as_str) {
            Some(next) => {
                assert_eq!(page["has_more"], true);
                cursor = Some(next.to_owned());
            }
            None => {
                assert_eq!(page["has_more"], false);
                break;
            }
        }
    }
    assert_eq!(seen, started, "every session once, the most recent first");

    let everything = ok(&client, "list_sessions", json!({})).await;
    assert_eq!(listed(&everything), started, "the default page holds 100");
    let error = err(&client, "list_sessions", json!({"limit": 0})).await;
    assert!(error.contains("allowed: 1 to 1000"), "{error}");
    let error = err(&client, "list_sessions", json!({"cursor": "made-up"})).await;
    assert!(error.contains("next_cursor"), "{error}");
}
