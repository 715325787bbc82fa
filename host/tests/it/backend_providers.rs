//! The built-in `anthropic` and `gemini` backends over MCP: one session whose criteria are
//! judged by both, each against a loopback mock speaking its provider's wire format, and each
//! provider seeing only its own key.

use rmcp::RoleClient;
use rmcp::service::RunningService;
use serde_json::{Value, json};

use crate::common::client::{Client, call, dict, ok, stdio_server_with_env};
use crate::common::server::llm;
use decision_matrix_testkit::{MockServer, judge};

const ANTHROPIC_KEY: &str = "sk-ant-test-3b1f9c0d7e2a4b68";
const GEMINI_KEY: &str = "AIza-test-8c2e5a7b1d9f4036";
const OPTIONS: [&str; 3] = ["Postgres", "SQLite", "DynamoDB"];

/// Starts a session on [`OPTIONS`] judged by `backend` and `model` (the backend's default
/// model when `None`), with one criterion; returns its id.
async fn start(
    client: &RunningService<RoleClient, Client>,
    backend: &str,
    model: Option<&str>,
    criterion: &str,
) -> String {
    let mut arguments = json!({
        "topic": "Pick a database",
        "options": OPTIONS,
        "model_backend": backend,
        "initial_criteria": [{"name": criterion, "description": criterion}],
    });
    if let Some(model) = model {
        arguments["model_name"] = json!(model);
    }
    let started = ok(client, "start_decision_analysis", arguments).await;
    assert_eq!(started["model_backend"], backend);
    started["session_id"].as_str().expect("id").to_owned()
}

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

    let id = start(&client, "anthropic", None, "cost").await;
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

const GROQ_KEY: &str = "gsk-test-5d1e7a9c3b2f4068";
const AZURE_KEY: &str = "az-test-2f6b8d0c4a1e3957";
const OPENROUTER_KEY: &str = "sk-or-test-9e4c2a7b1f3d5068";
const DEEPSEEK_KEY: &str = "sk-ds-test-1a2b3c4d5e6f7081";

/// What a server without a LiteLLM proxy needs to route: no proxy address (so `litellm`'s
/// routes are in force), and each provider's address and key.
fn routed_env<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![("LITELLM_BASE_URL", "")];
    env.extend_from_slice(pairs);
    env
}

/// Azure OpenAI's chat completions: the deployment in the path, the API version in the query;
/// the judge's answer in OpenAI's format.
fn azure_router() -> axum::Router {
    async fn completions(
        axum::extract::Path(deployment): axum::extract::Path<String>,
        axum::Json(body): axum::Json<Value>,
    ) -> axum::Json<Value> {
        let mut answer = judge::openai_answer(&body);
        answer["model"] = json!(deployment);
        axum::Json(answer)
    }
    axum::Router::new().route(
        "/openai/deployments/{deployment}/chat/completions",
        axum::routing::post(completions),
    )
}

/// Every key a request carries must be its own provider's.
fn assert_only_key(mock: &MockServer, own: &str, others: &[&str]) {
    for request in mock.requests() {
        let seen = format!("{request:?}");
        assert!(seen.contains(own), "{own} missing from {seen}");
        for other in others {
            assert!(!seen.contains(other), "{other} reached {}", mock.base_url());
        }
    }
}

/// Through `model_backend: "litellm"`, as a LiteLLM user writes them (Anthropic, Gemini,
/// Groq, OpenRouter naming an Anthropic model, an Azure OpenAI deployment): each model string's
/// provider prefix picks the provider, which gets the model name without the prefix and its
/// own key, and no other.
#[tokio::test]
async fn litellm_model_strings_reach_each_provider_with_its_own_key() {
    let openai = llm().await;
    let anthropic = MockServer::start(judge::anthropic_router()).await;
    let gemini = MockServer::start(judge::gemini_router()).await;
    let groq = MockServer::start(judge::openai_router(std::time::Duration::ZERO)).await;
    let openrouter = MockServer::start(judge::openai_router(std::time::Duration::ZERO)).await;
    let azure = MockServer::start(azure_router()).await;
    let azure_base = azure.base_url();
    let anthropic_base = anthropic.base_url();
    let gemini_base = gemini.base_url();
    let groq_base = format!("{}/v1", groq.base_url());
    let openrouter_base = format!("{}/v1", openrouter.base_url());
    let env = routed_env(&[
        ("ANTHROPIC_API_BASE", &anthropic_base),
        ("ANTHROPIC_API_KEY", ANTHROPIC_KEY),
        ("GEMINI_API_BASE", &gemini_base),
        ("GEMINI_API_KEY", GEMINI_KEY),
        ("GROQ_API_BASE", &groq_base),
        ("GROQ_API_KEY", GROQ_KEY),
        ("OPENROUTER_API_BASE", &openrouter_base),
        ("OPENROUTER_API_KEY", OPENROUTER_KEY),
        ("AZURE_API_BASE", &azure_base),
        ("AZURE_API_KEY", AZURE_KEY),
        ("AZURE_API_VERSION", "2025-01-01-preview"),
    ]);
    let (client, _) = stdio_server_with_env(&openai, &[], &env).await;

    let id = start(
        &client,
        "litellm",
        Some("anthropic/claude-sonnet-4-6"),
        "cost",
    )
    .await;
    for (criterion, model) in [
        ("latency", "gemini/gemini-2.5-flash"),
        ("risk", "groq/llama-3.3-70b-versatile"),
        // Names Anthropic's model, but goes to OpenRouter with OpenRouter's key.
        ("support", "openrouter/anthropic/claude-sonnet-4-6"),
        ("security", "azure/gpt-4o-prod"),
    ] {
        ok(
            &client,
            "add_criterion",
            json!({"session_id": id, "name": criterion, "description": criterion,
                   "model_backend": "litellm", "model_name": model}),
        )
        .await;
    }

    let evaluated = ok(&client, "evaluate_options", json!({"session_id": id})).await;
    assert_eq!(
        evaluated["summary"]["successful_scores"], 15,
        "{evaluated:?}"
    );
    let matrix = ok(&client, "get_decision_matrix", json!({"session_id": id})).await;
    for option in OPTIONS {
        for criterion in ["cost", "latency", "risk", "support", "security"] {
            assert_eq!(
                matrix["matrix"][option][criterion]["raw_score"],
                json!(judge::expected_score(criterion, option)),
                "{option} on {criterion}"
            );
        }
    }

    let models = |mock: &MockServer| -> Vec<String> {
        mock.requests()
            .iter()
            .map(|r| {
                let body: Value = serde_json::from_slice(&r.body).unwrap_or_default();
                body["model"].as_str().unwrap_or_default().to_owned()
            })
            .collect()
    };
    assert!(models(&anthropic).iter().all(|m| m == "claude-sonnet-4-6"));
    assert!(!anthropic.requests().is_empty());
    assert!(
        gemini
            .requests()
            .iter()
            .all(|r| r.uri.path() == "/v1beta/models/gemini-2.5-flash:generateContent")
    );
    assert!(!models(&groq).is_empty());
    assert!(models(&groq).iter().all(|m| m == "llama-3.3-70b-versatile"));
    assert!(
        models(&openrouter)
            .iter()
            .all(|m| m == "anthropic/claude-sonnet-4-6")
    );
    for request in groq.requests() {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {GROQ_KEY}").as_str())
        );
        let body: Value = serde_json::from_slice(&request.body).expect("JSON");
        assert_eq!(body["response_format"]["type"], "json_object");
    }
    assert!(!azure.requests().is_empty());
    for request in azure.requests() {
        assert_eq!(
            request.uri.to_string(),
            "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2025-01-01-preview"
        );
        assert_eq!(request.header("api-key"), Some(AZURE_KEY));
        assert_eq!(request.header("authorization"), None);
    }
    let keys = [
        ANTHROPIC_KEY,
        GEMINI_KEY,
        GROQ_KEY,
        OPENROUTER_KEY,
        AZURE_KEY,
        "test-key",
    ];
    for (mock, own) in [
        (&anthropic, ANTHROPIC_KEY),
        (&gemini, GEMINI_KEY),
        (&groq, GROQ_KEY),
        (&openrouter, OPENROUTER_KEY),
        (&azure, AZURE_KEY),
    ] {
        let others: Vec<&str> = keys.iter().copied().filter(|k| *k != own).collect();
        assert_only_key(mock, own, &others);
    }
    assert!(
        openai.requests().is_empty(),
        "nothing went to the proxy mock"
    );

    // Each provider is listed as a backend of its own, with where it points.
    let listed = ok(&client, "list_backends", json!({})).await;
    let groq_entry = listed["backends"]
        .as_array()
        .expect("backends")
        .iter()
        .find(|b| b["id"] == "litellm:groq")
        .expect("litellm:groq listed");
    assert!(
        groq_entry["description"]
            .as_str()
            .is_some_and(|d| d.contains(&groq.base_url())),
        "{groq_entry}"
    );
    client.cancel().await.expect("close");
}

/// One provider down leaves the others evaluating: breakers are per provider, and the open
/// one names the provider.
#[tokio::test]
async fn one_provider_down_leaves_the_others_evaluating() {
    let openai = llm().await;
    let groq = MockServer::start(axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(|| async {
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(
                    json!({"error": {"message": "over capacity", "type": "internal_server_error"}}),
                ),
            )
        }),
    ))
    .await;
    let deepseek = MockServer::start(judge::openai_router(std::time::Duration::ZERO)).await;
    let groq_base = format!("{}/v1", groq.base_url());
    let deepseek_base = format!("{}/v1", deepseek.base_url());
    let env = routed_env(&[
        ("GROQ_API_BASE", &groq_base),
        ("GROQ_API_KEY", GROQ_KEY),
        ("DEEPSEEK_API_BASE", &deepseek_base),
        ("DEEPSEEK_API_KEY", DEEPSEEK_KEY),
    ]);
    let args = [
        "--set",
        "evaluation.retry_attempts=1",
        "--set",
        "evaluation.circuit_breaker_threshold=1",
    ];
    let (client, _) = stdio_server_with_env(&openai, &args, &env).await;
    let id = start(
        &client,
        "litellm",
        Some("groq/llama-3.3-70b-versatile"),
        "risk",
    )
    .await;
    // Nothing scored is an error result, as the Python server's.
    let failed = call(&client, "evaluate_options", json!({"session_id": id})).await;
    assert_eq!(failed.is_error, Some(true));
    let failure = dict(&failed)["error"].to_string();
    assert!(
        failure.contains("litellm:groq") && failure.contains("503"),
        "{failure}"
    );

    // Groq's breaker is open now; DeepSeek, through the same backend, is not held by it.
    ok(
        &client,
        "add_criterion",
        json!({"session_id": id, "name": "cost", "description": "Total cost",
               "model_backend": "litellm", "model_name": "deepseek/deepseek-chat"}),
    )
    .await;
    let evaluated = ok(&client, "evaluate_options", json!({"session_id": id})).await;
    assert_eq!(
        evaluated["summary"]["successful_scores"], 3,
        "{evaluated:?}"
    );
    let matrix = ok(&client, "get_decision_matrix", json!({"session_id": id})).await;
    for option in OPTIONS {
        assert_eq!(
            matrix["matrix"][option]["cost"]["raw_score"],
            json!(judge::expected_score("cost", option))
        );
        let risk = matrix["matrix"][option]["risk"].to_string();
        assert!(
            risk.contains("litellm:groq"),
            "the failure names the provider: {risk}"
        );
    }

    // A provider with no address says which variable gives it one.
    ok(
        &client,
        "add_criterion",
        json!({"session_id": id, "name": "security", "description": "Security",
               "model_backend": "litellm", "model_name": "azure/gpt-4o-prod"}),
    )
    .await;
    let evaluated = call(&client, "evaluate_options", json!({"session_id": id})).await;
    let errors = dict(&evaluated)["errors"].to_string();
    assert!(
        errors.contains("security")
            && errors.contains("set AZURE_API_BASE or AZURE_OPENAI_ENDPOINT"),
        "{errors}"
    );
    client.cancel().await.expect("close");
}
