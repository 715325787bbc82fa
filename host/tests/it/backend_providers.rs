//! The built-in `anthropic` and `gemini` backends over MCP: one session whose criteria are
//! judged by both, each against a loopback mock speaking its provider's wire format, and each
//! provider seeing only its own key.

use serde_json::{Value, json};

use crate::common::client::{ok, stdio_server_with_env};
use crate::common::server::llm;
use decision_matrix_testkit::{MockServer, judge};

const ANTHROPIC_KEY: &str = "sk-ant-test-3b1f9c0d7e2a4b68";
const GEMINI_KEY: &str = "AIza-test-8c2e5a7b1d9f4036";
const OPTIONS: [&str; 3] = ["Postgres", "SQLite", "DynamoDB"];

#[tokio::test]
async fn a_session_judged_by_anthropic_and_gemini() {
    let openai = llm().await;
    let anthropic = MockServer::start(judge::anthropic_router()).await;
    let gemini = MockServer::start(judge::gemini_router()).await;
    let (client, _) = stdio_server_with_env(
        &openai,
        &[],
        &[
            ("ANTHROPIC_API_BASE", &anthropic.base_url()),
            ("ANTHROPIC_API_KEY", ANTHROPIC_KEY),
            ("GEMINI_API_BASE", &gemini.base_url()),
            ("GEMINI_API_KEY", GEMINI_KEY),
        ],
    )
    .await;

    let started = ok(
        &client,
        "start_decision_analysis",
        json!({
            "topic": "Pick a database",
            "options": OPTIONS,
            "model_backend": "anthropic",
            "initial_criteria": [{"name": "cost", "description": "Total cost of ownership"}],
        }),
    )
    .await;
    assert_eq!(started["model_backend"], "anthropic");
    let id = started["session_id"].as_str().expect("id").to_owned();
    ok(
        &client,
        "add_criterion",
        json!({"session_id": id, "name": "latency", "description": "Read latency",
               "model_backend": "gemini", "model_name": "gemini-2.5-flash"}),
    )
    .await;

    let evaluated = ok(&client, "evaluate_options", json!({"session_id": id})).await;
    assert_eq!(
        evaluated["summary"]["successful_scores"], 6,
        "{evaluated:?}"
    );
    assert_eq!(evaluated["summary"]["errors"], 0, "{evaluated:?}");
    let matrix = ok(&client, "get_decision_matrix", json!({"session_id": id})).await;
    for option in OPTIONS {
        for criterion in ["cost", "latency"] {
            assert_eq!(
                matrix["matrix"][option][criterion]["raw_score"],
                json!(judge::expected_score(criterion, option)),
                "{option} on {criterion}: {:?}",
                matrix["matrix"][option][criterion]
            );
        }
    }

    let to_anthropic = anthropic.requests();
    assert!(!to_anthropic.is_empty());
    for request in &to_anthropic {
        assert_eq!(request.uri.path(), "/v1/messages");
        assert_eq!(request.header("x-api-key"), Some(ANTHROPIC_KEY));
        assert!(request.header("anthropic-version").is_some());
        assert_eq!(request.header("authorization"), None);
        let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
        assert_eq!(body["model"], "claude-sonnet-4-6");
        assert!(!format!("{request:?}").contains(GEMINI_KEY));
    }
    let to_gemini = gemini.requests();
    assert!(!to_gemini.is_empty());
    for request in &to_gemini {
        assert_eq!(
            request.uri.to_string(),
            "/v1beta/models/gemini-2.5-flash:generateContent"
        );
        assert_eq!(request.header("x-goog-api-key"), Some(GEMINI_KEY));
        assert!(!format!("{request:?}").contains(ANTHROPIC_KEY));
    }
    assert!(
        openai.requests().is_empty(),
        "nothing went to the OpenAI mock"
    );
    client.cancel().await.expect("close");
}
