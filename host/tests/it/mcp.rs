//! The MCP server as its users reach it: the built `decision-matrix serve` binary, driven by
//! rmcp's client over stdio and over streamable HTTP. Cells are scored by the real `litellm`
//! plugin against a loopback OpenAI-compatible mock that judges fairly
//! (`decision_matrix_testkit::judge`), so every score in a matrix can be checked.

use crate::common;

mod results;

use std::time::Duration;

use common::client::{Client, err, http_client, ok, request, stdio_client};
use common::server::{REFERENCE_TOOLS, hanging_llm, http_server, llm};
use decision_matrix_testkit::judge;
use rmcp::RoleClient;
use rmcp::service::RunningService;
use serde_json::{Map, Value, json};

/// Progress went out per cell of the first evaluation, in order, up to every cell done, then
/// per judgment of its replicate rounds, the total growing as each round was planned; each
/// later evaluation that had something to do reported from 0 to its own total.
fn assert_progress_to(handler: &Client, cells: usize) {
    let progress: Vec<(f64, Option<f64>)> = handler
        .progress
        .lock()
        .expect("lock")
        .iter()
        .map(|p| (p.progress, p.total))
        .collect();
    crate::common::assert_honest_progress(&progress, cells, "workflow");
}

const OPTIONS: [&str; 3] = ["Postgres", "SQLite", "DynamoDB"];

/// Starts a session on [`OPTIONS`] scored by litellm, with `criteria`; returns its id.
async fn start_on_options(client: &RunningService<RoleClient, Client>, criteria: Value) -> String {
    let started = ok(
        client,
        "start_decision_analysis",
        json!({
            "topic": "Pick a database",
            "options": OPTIONS,
            "model_backend": "litellm",
            "initial_criteria": criteria,
        }),
    )
    .await;
    started["session_id"].as_str().expect("id").to_owned()
}

/// The reference workflow, checking every result against the judge. Returns the matrix.
async fn workflow(client: &RunningService<RoleClient, Client>) -> Map<String, Value> {
    let started = ok(
        client,
        "start_decision_analysis",
        json!({
            "topic": "Pick a database",
            "options": OPTIONS,
            "model_backend": "litellm",
            "initial_criteria": [{"name": "cost", "description": "Total cost of ownership", "weight": 2.0}],
        }),
    )
    .await;
    let id = started["session_id"].as_str().expect("id").to_owned();
    assert_eq!(started["criteria_added"], json!(["cost"]));
    assert_eq!(started["model_backend"], "litellm");

    let added = ok(
        client,
        "add_criterion",
        json!({"session_id": id, "name": "latency", "description": "Read latency", "weight": 1.5}),
    )
    .await;
    assert_eq!(added["all_criteria"], json!(["cost", "latency"]));
    assert_eq!(
        added["message"],
        "Added criterion 'latency' with weight 1.5x"
    );

    let option = ok(
        client,
        "add_option",
        json!({"session_id": id, "option_name": "Redis", "description": "In-memory"}),
    )
    .await;
    assert_eq!(option["total_options"], 4);

    let evaluated = ok(client, "evaluate_options", json!({"session_id": id})).await;
    assert_eq!(evaluated["evaluation_complete"], true, "{evaluated:?}");
    let summary = &evaluated["summary"];
    assert_eq!(summary["successful_scores"], 8);
    assert_eq!(summary["errors"], 0);
    assert_eq!(summary["abstentions"], 0);
    assert_eq!(evaluated["errors"], Value::Null);

    // The replicate round's calls list every option (their batch has room), and a judge
    // that repeats itself exactly is measured as noiseless: the winner is clear within the
    // budget. A second evaluation computes no cell again and has nothing to buy, so it calls
    // no model at all. (A second evaluation after one that stopped short spends a new budget:
    // `adaptive::a_noisy_judge_is_asked_again_in_other_orders_within_the_budget`.)
    assert_eq!(
        evaluated["adaptive"]["stopped"], "target_reached",
        "{evaluated:?}"
    );
    assert_eq!(evaluated["summary"]["llm_calls"], 4, "{evaluated:?}");
    let again = ok(client, "evaluate_options", json!({"session_id": id})).await;
    assert_eq!(again["summary"]["cells_computed"], 0, "{again:?}");
    assert_eq!(again["summary"]["llm_calls"], 0, "{again:?}");
    assert_eq!(again["adaptive"]["calls_planned"], 0, "{again:?}");

    let matrix = ok(client, "get_decision_matrix", json!({"session_id": id})).await;
    let criteria = [("cost", 2.0), ("latency", 1.5)];
    for option in OPTIONS.iter().copied().chain(["Redis"]) {
        let mut total = 0.0;
        for (criterion, weight) in criteria {
            let cell = &matrix["matrix"][option][criterion];
            let expected = judge::expected_score(criterion, option);
            assert_eq!(
                cell["raw_score"],
                json!(expected),
                "{option}/{criterion}: {cell}"
            );
            assert_eq!(
                cell["justification"],
                judge::expected_justification(criterion, option)
            );
            assert_eq!(cell["status"], "scored");
            total += expected * weight;
        }
        let ranked = matrix["rankings"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["option"] == option))
            .expect("ranked");
        let expected_total = total / 3.5;
        let got = ranked["weighted_total"].as_f64().expect("total");
        assert!(
            (got - expected_total).abs() < 1e-9,
            "{option}: {got} vs {expected_total}"
        );
    }
    assert!(
        matrix["recommendation"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    assert_eq!(matrix["session_info"]["evaluations_run"], 2);
    matrix
}

#[tokio::test]
async fn the_whole_workflow_over_stdio() {
    let llm = llm().await;
    let (client, handler) = stdio_client(&llm).await;

    let tools = client.list_all_tools().await.expect("tools");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for tool in REFERENCE_TOOLS {
        assert!(names.contains(&tool), "{tool} missing from {names:?}");
    }
    let property = |tool: &str, name: &str| {
        let tool = tools
            .iter()
            .find(|t| t.name == tool)
            .unwrap_or_else(|| panic!("{tool} listed"));
        tool.input_schema["properties"][name].clone()
    };
    let weight = property("add_criterion", "weight");
    assert_eq!(
        (weight["minimum"].as_f64(), weight["maximum"].as_f64()),
        (Some(0.1), Some(10.0))
    );
    assert!(weight["description"].is_string());
    for tool in &tools {
        let schema = tool
            .output_schema
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no outputSchema", tool.name));
        assert_eq!(schema["type"], "object", "{}: {schema:?}", tool.name);
    }
    let options = property("start_decision_analysis", "options");
    assert_eq!(
        (options["minItems"].as_u64(), options["maxItems"].as_u64()),
        (Some(2), Some(20))
    );

    let matrix = workflow(&client).await;
    let id = matrix["session_id"].as_str().expect("id");

    assert_progress_to(&handler, 8);

    let listed = ok(&client, "list_sessions", json!({})).await;
    assert_eq!(listed["total_active"], 1);
    assert_eq!(listed["sessions"][0]["status"], "evaluated");
    assert_eq!(listed["stats"]["sessions_created"], 1);
    let current = ok(&client, "current_session", json!({})).await;
    assert_eq!(current["session_id"], id);
    assert_eq!(current["model_backend"], "litellm");
    let cleared = ok(&client, "clear_all_sessions", json!({})).await;
    assert_eq!(cleared["cleared"], 1);
    let message = err(&client, "get_decision_matrix", json!({"session_id": id})).await;
    assert_eq!(message, "Session not found or expired");

    // 4 options x 2 criteria in batches of up to 5: one call per criterion for the first
    // pass, as many again for the replicate round that made the winner clear within the
    // first evaluation's budget of twice a pass, none for the second.
    assert_eq!(llm.requests().len(), 4);
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn bad_input_is_an_error_that_says_what_is_allowed() {
    let llm = llm().await;
    let (client, _) = stdio_client(&llm).await;
    let start =
        |options: Value| json!({"topic": "t", "options": options, "model_backend": "litellm"});

    assert_eq!(
        err(
            &client,
            "start_decision_analysis",
            start(json!(["only one"]))
        )
        .await,
        "Need at least 2 options to create a meaningful decision matrix"
    );
    let too_many: Vec<String> = (0..21).map(|i| format!("o{i}")).collect();
    assert_eq!(
        err(&client, "start_decision_analysis", start(json!(too_many))).await,
        "Too many options (max 20). Consider grouping similar options."
    );
    assert_eq!(
        err(
            &client,
            "start_decision_analysis",
            json!({"topic": "x".repeat(501), "options": ["a", "b"]})
        )
        .await,
        "Invalid topic: must be a non-empty string under 500 characters"
    );
    let unknown = err(
        &client,
        "start_decision_analysis",
        json!({"topic": "t", "options": ["a", "b"], "model_backend": "nope"}),
    )
    .await;
    assert!(
        unknown.contains("'nope'") && unknown.contains("litellm"),
        "{unknown}"
    );
    // A bad initial criterion leaves no session behind.
    let bad_weight = err(
        &client,
        "start_decision_analysis",
        json!({"topic": "t", "options": ["a", "b"], "model_backend": "litellm",
               "initial_criteria": [{"name": "c", "description": "d", "weight": 11}]}),
    )
    .await;
    assert!(bad_weight.contains("0.1 and 10.0"), "{bad_weight}");
    let listed = ok(&client, "list_sessions", json!({})).await;
    assert_eq!(listed["total_active"], 0);

    let id = ok(&client, "start_decision_analysis", start(json!(["a", "b"]))).await["session_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        err(
            &client,
            "add_criterion",
            json!({"session_id": id, "name": "c", "description": "d", "weight": 0.05})
        )
        .await,
        "Invalid weight: must be between 0.1 and 10.0"
    );
    ok(
        &client,
        "add_criterion",
        json!({"session_id": id, "name": "c", "description": "d", "temperature": 0.0}),
    )
    .await;
    assert_eq!(
        err(
            &client,
            "add_criterion",
            json!({"session_id": id, "name": "c", "description": "d"})
        )
        .await,
        "Criterion 'c' already exists"
    );
    assert_eq!(
        err(
            &client,
            "add_option",
            json!({"session_id": id, "option_name": "a"})
        )
        .await,
        "Option 'a' already exists"
    );
    assert_eq!(
        err(
            &client,
            "evaluate_options",
            json!({"session_id": "no-such-session"})
        )
        .await,
        "Session not found or expired"
    );
    assert_eq!(
        err(
            &client,
            "evaluate_options",
            json!({"session_id": "x".repeat(101)})
        )
        .await,
        "Invalid session ID"
    );
    // Nothing was evaluated by any of that.
    assert!(llm.requests().is_empty());
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn http_gives_the_same_results_as_stdio() {
    let llm = llm().await;
    let (mut child, url) = http_server(&llm, &[]).await;
    let (client, handler) = http_client(&url).await;
    let matrix = workflow(&client).await;
    assert_eq!(matrix["rankings"].as_array().map(Vec::len), Some(4));
    assert_progress_to(&handler, 8);
    client.cancel().await.expect("close");

    let health = reqwest::get(url.replace("/mcp", "/healthz"))
        .await
        .expect("healthz")
        .text()
        .await
        .expect("body");
    let health: Value = serde_json::from_str(&health).expect("json");
    assert_eq!(health["status"], "ok");
    child.kill().await.expect("stop the server");
}

/// Clients at once on a plugin host with two instances, evaluating two cells at a time: the
/// backend and scoring calls beyond the two wait for an instance, and every evaluation and
/// every matrix succeeds. (Instances going back to the pool in batches once made such calls
/// fail with "maximum concurrent limit of 2 for fibers reached".)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_share_a_small_plugin_pool_without_failures() {
    let llm = llm().await;
    let (mut child, url) = http_server(
        &llm,
        &[
            "--set",
            "plugins.limits.max_concurrent_calls=2",
            "--set",
            "evaluation.max_concurrent_calls=2",
        ],
    )
    .await;
    let criteria = ["cost", "speed", "safety", "support"]
        .map(|name| json!({"name": name, "description": format!("{name} matters")}));
    let clients = (0..4).map(|number| {
        let (url, criteria) = (url.clone(), criteria.clone());
        tokio::spawn(async move {
            let (client, _) = http_client(&url).await;
            for round in 0..10 {
                // A topic of its own, so that no answer comes from the cache; six options in
                // batches of five: two backend calls per criterion.
                let start = json!({
                    "topic": format!("Pick a database, client {number}, round {round}"),
                    "options": ["Postgres", "SQLite", "DynamoDB", "MySQL", "Cassandra"],
                    "model_backend": "litellm",
                    "initial_criteria": criteria,
                });
                let started = ok(&client, "start_decision_analysis", start).await;
                let session = json!({"session_id": started["session_id"]});
                let added = json!({"session_id": started["session_id"], "option_name": "Redis"});
                ok(&client, "add_option", added).await;
                let evaluated = ok(&client, "evaluate_options", session.clone()).await;
                assert_eq!(evaluated["summary"]["successful_scores"], 24);
                assert_eq!(evaluated["summary"]["errors"], 0);
                let matrix = ok(&client, "get_decision_matrix", session).await;
                assert_eq!(matrix["rankings"].as_array().map(Vec::len), Some(6));
            }
            client.cancel().await.expect("close");
        })
    });
    for client in clients.collect::<Vec<_>>() {
        client.await.expect("every call succeeds");
    }
    child.kill().await.expect("stop the server");
}

#[tokio::test]
async fn editing_manual_scores_strategies_sensitivity_and_export() {
    let llm = llm().await;
    let (client, _) = stdio_client(&llm).await;
    let id = start_on_options(
        &client,
        json!([
            {"name": "cost", "description": "Total cost of ownership", "weight": 2.0},
            {"name": "latency", "description": "Read latency"},
        ]),
    )
    .await;
    let session = json!({"session_id": id});
    // One pass per evaluation: this test counts the calls each edit costs.
    let one_pass = json!({"session_id": id, "confidence_target": 0});
    ok(&client, "evaluate_options", one_pass.clone()).await;
    let calls = llm.requests().len();
    assert_eq!(calls, 2, "one batched call per criterion");

    // A weight change re-ranks without a single new call.
    let updated = ok(
        &client,
        "update_criterion",
        json!({"session_id": id, "name": "latency", "weight": 5.0}),
    )
    .await;
    assert_eq!(updated["reevaluation_needed"], false);
    let again = ok(&client, "evaluate_options", one_pass.clone()).await;
    assert_eq!(again["summary"]["cells_computed"], 0);
    assert_eq!(llm.requests().len(), calls);

    // Renaming an option re-evaluates only its two cells.
    ok(
        &client,
        "update_option",
        json!({"session_id": id, "option_name": "SQLite", "new_name": "SQLite 3"}),
    )
    .await;
    let renamed = ok(&client, "evaluate_options", one_pass.clone()).await;
    assert_eq!(renamed["summary"]["cells_computed"], 2);
    assert_eq!(llm.requests().len(), calls + 2);
    let matrix = ok(&client, "get_decision_matrix", session.clone()).await;
    assert_eq!(
        matrix["matrix"]["SQLite 3"]["cost"]["raw_score"],
        json!(judge::expected_score("cost", "SQLite 3"))
    );

    // A manual score survives a forced re-evaluation.
    let manual = ok(
        &client,
        "set_score",
        json!({"session_id": id, "option_name": "Postgres", "criterion_name": "cost", "score": 10, "justification": "we run it already"}),
    )
    .await;
    assert_eq!(manual["status"], "manual");
    let forced = ok(
        &client,
        "evaluate_options",
        json!({"session_id": id, "force": true}),
    )
    .await;
    assert_eq!(forced["summary"]["cells_computed"], 5);
    let matrix = ok(&client, "get_decision_matrix", session.clone()).await;
    let cell = &matrix["matrix"]["Postgres"]["cost"];
    assert_eq!(
        (cell["raw_score"].as_f64(), cell["status"].as_str()),
        (Some(10.0), Some("manual"))
    );
    assert_eq!(cell["justification"], "we run it already");
    let bad = err(
        &client,
        "set_score",
        json!({"session_id": id, "option_name": "Postgres", "criterion_name": "cost", "score": 11}),
    )
    .await;
    assert!(bad.contains("between 1 and 10"), "{bad}");

    // Sensitivity, with what-if weights that change nothing in the session.
    let sensitivity = ok(
        &client,
        "analyze_sensitivity",
        json!({"session_id": id, "weights": {"latency": 0.5}}),
    )
    .await;
    assert_eq!(sensitivity["sensitivity"].as_array().map(Vec::len), Some(2));
    assert_eq!(sensitivity["what_if"]["weights"]["latency"], 0.5);
    // Rankings there are totals; the breakdown with justifications is the matrix's.
    for rankings in [
        &sensitivity["rankings"],
        &sensitivity["what_if"]["rankings"],
    ] {
        let first = &rankings[0];
        assert_eq!(first["rank"], 1, "{rankings}");
        assert!(first["weighted_total"].is_number(), "{rankings}");
        assert!(first.get("breakdown").is_none(), "{rankings}");
    }
    let weights =
        ok(&client, "get_decision_matrix", session.clone()).await["criteria_weights"].clone();
    assert_eq!(weights["latency"], 5.0);

    // Strategies.
    let topsis = ok(
        &client,
        "set_strategy",
        json!({"session_id": id, "strategy": "topsis"}),
    )
    .await;
    assert_eq!(topsis["strategy"], "topsis");
    assert_eq!(
        ok(&client, "get_decision_matrix", session.clone()).await["strategy"],
        "topsis"
    );
    let unknown = err(
        &client,
        "set_strategy",
        json!({"session_id": id, "strategy": "coin-flip"}),
    )
    .await;
    assert!(unknown.contains("rank-sum"), "{unknown}");

    // Export.
    let csv = ok(
        &client,
        "export_matrix",
        json!({"session_id": id, "format": "csv"}),
    )
    .await;
    let content = csv["content"].as_str().expect("csv");
    assert!(
        content.starts_with("option,rank,total,probability_best,cost,latency\r\n"),
        "{content}"
    );
    assert_eq!(content.lines().count(), 4);
    let exported = ok(&client, "export_matrix", session.clone()).await;
    let parsed: Value =
        serde_json::from_str(exported["content"].as_str().expect("json")).expect("valid JSON");
    assert_eq!(parsed["session_id"], id);
    let bad_format = err(
        &client,
        "export_matrix",
        json!({"session_id": id, "format": "xlsx"}),
    )
    .await;
    assert!(
        bad_format.contains("json, csv, markdown, html or svg"),
        "{bad_format}"
    );

    // Removal keeps the limits.
    ok(
        &client,
        "remove_criterion",
        json!({"session_id": id, "name": "latency"}),
    )
    .await;
    ok(
        &client,
        "remove_option",
        json!({"session_id": id, "option_name": "DynamoDB"}),
    )
    .await;
    let too_few = err(
        &client,
        "remove_option",
        json!({"session_id": id, "option_name": "Postgres"}),
    )
    .await;
    assert!(too_few.contains('2'), "{too_few}");
    let matrix = ok(&client, "get_decision_matrix", session.clone()).await;
    assert_eq!(matrix["session_info"]["total_criteria"], 1);
    assert_eq!(matrix["session_info"]["total_options"], 2);

    // What is installed.
    let backends = ok(&client, "list_backends", json!({})).await;
    let ids: Vec<&str> = backends["backends"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"litellm") && ids.contains(&"bedrock") && ids.contains(&"ollama"),
        "{ids:?}"
    );
    let plugins = ok(&client, "list_plugins", json!({})).await;
    let kinds: Vec<(&str, &str)> = plugins["plugins"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p["kind"].as_str()?)))
        .collect();
    assert!(kinds.contains(&("topsis", "scoring")), "{kinds:?}");
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn cancelling_an_evaluation_keeps_the_finished_cells() {
    let (llm, hang) = hanging_llm().await;
    let (client, _) = stdio_client(&llm).await;
    cancel_and_resume(&client, &hang).await;
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn cancelling_an_evaluation_over_http_keeps_the_finished_cells() {
    let (llm, hang) = hanging_llm().await;
    let (_server, url) = http_server(&llm, &[]).await;
    let (client, _) = http_client(&url).await;
    cancel_and_resume(&client, &hang).await;
    client.cancel().await.expect("close");
}

/// An evaluation the client gives up on stops, keeps its finished cells and lets go of the
/// session; the next one computes only what is missing. `hang` holds the model's answers on
/// the second criterion until it is cleared.
async fn cancel_and_resume(
    client: &RunningService<RoleClient, Client>,
    hang: &std::sync::atomic::AtomicBool,
) {
    let id = start_on_options(
        client,
        json!([
            {"name": "cost", "description": "Total cost of ownership"},
            {"name": "slow", "description": "A criterion the model never answers"},
        ]),
    )
    .await;
    let session = json!({"session_id": id});

    // The client gives up after two seconds: dropping the call sends `notifications/cancelled`.
    let gave_up = tokio::time::timeout(
        Duration::from_secs(2),
        client.call_tool(request("evaluate_options", session.clone())),
    )
    .await;
    assert!(
        gave_up.is_err(),
        "the evaluation should still be waiting: {gave_up:?}"
    );

    // The cells that finished are kept; the hanging ones are still to do.
    let matrix = ok(client, "get_decision_matrix", session.clone()).await;
    for option in OPTIONS {
        assert_eq!(
            matrix["matrix"][option]["cost"]["status"], "scored",
            "{option}"
        );
        assert_eq!(
            matrix["matrix"][option]["slow"]["status"], "missing",
            "{option}"
        );
    }
    assert_eq!(matrix["session_info"]["evaluations_run"], 0);

    // The cancelled evaluation has let go of the session: the next one runs at once and
    // computes only what is missing.
    hang.store(false, std::sync::atomic::Ordering::SeqCst);
    let next = tokio::time::timeout(
        Duration::from_secs(30),
        ok(client, "evaluate_options", session.clone()),
    )
    .await
    .expect("the cancelled evaluation no longer holds the session");
    assert_eq!(next["summary"]["cells_computed"], 3);
    assert_eq!(next["evaluation_complete"], true);
}

#[tokio::test]
async fn http_refuses_missing_tokens_foreign_hosts_and_foreign_origins() {
    let llm = llm().await;
    let (mut child, url) = http_server(
        &llm,
        &[
            "--auth-token",
            "s3cret-token",
            "--allowed-origins",
            "http://localhost:*",
        ],
    )
    .await;
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}});
    let http = reqwest::Client::new();
    let status = async |token: Option<&str>, header: Option<(&str, &str)>| {
        let mut request = http
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(initialize.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        request.send().await.expect("sent").status().as_u16()
    };
    let token = Some("s3cret-token");
    assert_eq!(status(None, None).await, 401);
    assert_eq!(status(Some("wrong-token!"), None).await, 401);
    assert_eq!(status(token, Some(("host", "evil.example"))).await, 403);
    assert_eq!(
        status(token, Some(("origin", "http://evil.example"))).await,
        403
    );
    assert_eq!(
        status(token, Some(("origin", "http://localhost:5173"))).await,
        200
    );
    assert_eq!(status(token, None).await, 200);
    // Health needs no token.
    let health = http
        .get(url.replace("/mcp", "/healthz"))
        .send()
        .await
        .expect("sent");
    assert_eq!(health.status().as_u16(), 200);
    child.kill().await.expect("stop the server");
}

/// Standard input and output that are files, not pipes (a script feeding requests from a
/// file, say): the server reads every request, answers each on its own line and exits at the
/// end of its input.
#[tokio::test]
async fn stdio_works_on_files_as_well_as_pipes() {
    let llm = llm().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "file", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "start_decision_analysis",
            "arguments": {"topic": "Pick a tool", "options": ["saw", "drill"]}}}),
    ];
    let input = dir.path().join("requests.jsonl");
    let lines: Vec<String> = requests.iter().map(Value::to_string).collect();
    std::fs::write(&input, lines.join("\n") + "\n").expect("write the requests");
    let output = dir.path().join("answers.jsonl");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_decision-matrix"));
    command
        .arg("serve")
        .stdin(std::fs::File::open(&input).expect("open the requests"))
        .stdout(std::fs::File::create(&output).expect("create the answers"));
    common::server::server_env(&mut command, &llm);
    let status = tokio::time::timeout(Duration::from_secs(30), command.status())
        .await
        .expect("the server exits at the end of its input")
        .expect("the server runs");
    assert!(status.success(), "{status}");
    let answers: Vec<Value> = std::fs::read_to_string(&output)
        .expect("read the answers")
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is one JSON-RPC message"))
        .collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_eq!(answers[0]["id"], 1);
    assert_eq!(
        answers[0]["result"]["serverInfo"]["name"],
        "decision-matrix"
    );
    assert_eq!(answers[1]["id"], 2);
    let started = &answers[1]["result"]["structuredContent"];
    assert_eq!(started["options"], json!(["saw", "drill"]), "{started}");
}
