//! The decision drawn, against the built binary: the MCP App view as hosts find it
//! (capability, the tools' `_meta.ui`, the `ui://` resource), the standalone HTML and SVG
//! exports checked against the matrix they draw, the PNG chart `include_chart` returns, and
//! `evaluate_options` as an MCP task over HTTP (create, poll, cancel keeping finished cells,
//! resume from a new connection, result, and another client's task unknown).
//!
//! The view in a real browser is `view_browser`.

use crate::common;

use std::time::Duration;

use base64::Engine as _;
use common::client::{Client, err, http_client_as, ok, request, stdio_client};
use common::server::{gated_llm, http_server, llm};
use rmcp::RoleClient;
use rmcp::model::{
    CallToolResponse, CancelTaskParams, ClientCapabilities, ContentBlock, GetTaskParams,
    GetTaskResult, ReadResourceRequestParams, RequestMetaObject, ResourceContents, TaskPayload,
    TaskStatus,
};
use rmcp::service::RunningService;
use serde_json::{Map, Value, json};

const VIEW_URI: &str = "ui://decision-matrix/decision.html";
const VIEW_MIME: &str = "text/html;profile=mcp-app";
const VIEWED_TOOLS: [&str; 3] = [
    "get_decision_matrix",
    "evaluate_options",
    "analyze_sensitivity",
];

type Mcp = RunningService<RoleClient, Client>;

/// A scored session on three options and two criteria, the topic and an option written to
/// break out of HTML and XML if they were not escaped; returns its id.
async fn scored_session(client: &Mcp) -> String {
    let started = ok(
        client,
        "start_decision_analysis",
        json!({
            "topic": "Pick </script><script>alert(1)</script> & \"a\" <db>",
            "options": ["Postgres", "SQLite", "Dynamo<DB> & co"],
            "model_backend": "litellm",
            "initial_criteria": [
                {"name": "cost", "description": "Total cost of ownership", "weight": 2.0},
                {"name": "latency", "description": "Query latency", "weight": 1.0},
            ],
        }),
    )
    .await;
    let id = started["session_id"].as_str().expect("id").to_owned();
    ok(client, "evaluate_options", json!({"session_id": id})).await;
    id
}

/// A score as the pictures write it: `7`, `7.5` (one decimal).
fn shown(score: &Value) -> String {
    match score.as_f64() {
        Some(score) if score.fract() == 0.0 => format!("{score:.0}"),
        Some(score) => format!("{:.1}", (score * 10.0).round() / 10.0),
        None => "no score".to_owned(),
    }
}

#[tokio::test]
async fn the_view_is_advertised_linked_and_readable() {
    let llm = llm().await;
    let (client, _) = stdio_client(&llm).await;

    let info = client.peer_info().expect("initialized");
    let extensions = info
        .capabilities
        .extensions
        .as_ref()
        .expect("extensions advertised");
    assert_eq!(
        extensions["io.modelcontextprotocol/ui"]["mimeTypes"],
        json!([VIEW_MIME])
    );

    let tools = client.list_all_tools().await.expect("tools");
    for tool in &tools {
        let linked = tool
            .meta
            .as_ref()
            .and_then(|meta| meta.0.get("ui"))
            .and_then(|ui| ui.get("resourceUri"))
            .and_then(Value::as_str);
        if VIEWED_TOOLS.contains(&tool.name.as_ref()) {
            assert_eq!(linked, Some(VIEW_URI), "{}", tool.name);
        } else {
            assert_eq!(linked, None, "{} names no view", tool.name);
        }
    }

    let listed = client.list_resources(None).await.expect("resources");
    let first = listed.resources.first().expect("the view is listed");
    assert_eq!(first.uri, VIEW_URI);
    assert_eq!(first.mime_type.as_deref(), Some(VIEW_MIME));

    let read = client
        .read_resource(ReadResourceRequestParams::new(VIEW_URI))
        .await
        .expect("the view reads");
    let [
        ResourceContents::TextResourceContents {
            uri,
            mime_type,
            text,
            meta,
        },
    ] = read.contents.as_slice()
    else {
        panic!("one text content: {:?}", read.contents);
    };
    assert_eq!(uri, VIEW_URI);
    assert_eq!(mime_type.as_deref(), Some(VIEW_MIME));
    assert!(
        text.to_ascii_lowercase().starts_with("<!doctype html>"),
        "{}",
        &text[..40]
    );
    assert!(text.contains(r#"<script type="application/json" id="decision-data">null</script>"#));
    let ui = &meta.as_ref().expect("_meta").0["ui"];
    assert_eq!(ui["prefersBorder"], true);
    assert_eq!(ui["csp"], json!({}), "the page needs no outside domain");
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn the_html_and_svg_exports_draw_the_matrix() {
    let llm = llm().await;
    let (client, _) = stdio_client(&llm).await;
    let id = scored_session(&client).await;
    let matrix = ok(&client, "get_decision_matrix", json!({"session_id": id})).await;

    // HTML: the view's page with the matrix in it, which no name can break out of.
    let html = ok(
        &client,
        "export_matrix",
        json!({"session_id": id, "format": "html"}),
    )
    .await;
    assert!(
        html["formatted_output"]
            .as_str()
            .is_some_and(|text| text.contains("standalone HTML report") && text.len() < 300),
        "{}",
        html["formatted_output"]
    );
    let page = html["content"].as_str().expect("html");
    assert!(page.to_ascii_lowercase().starts_with("<!doctype html>"));
    assert!(
        !page.contains("alert(1)</script>"),
        "the topic ended a script"
    );
    assert_eq!(
        page.matches("</script>").count(),
        2,
        "the data's and the code's"
    );
    let opening = r#"<script type="application/json" id="decision-data">"#;
    let data = page
        .split_once(opening)
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map(|(data, _)| data)
        .expect("the data element");
    let data: Value = serde_json::from_str(data).expect("the data is JSON");
    for key in [
        "topic",
        "matrix",
        "rankings",
        "criteria_weights",
        "confidence",
    ] {
        assert_eq!(data["matrix"][key], matrix[key], "{key}");
    }

    // SVG: well-formed XML, a titled cell per option and criterion with its score.
    let svg = ok(
        &client,
        "export_matrix",
        json!({"session_id": id, "format": "svg"}),
    )
    .await;
    let svg = svg["content"].as_str().expect("svg");
    let document = resvg::usvg::roxmltree::Document::parse(svg).expect("well-formed XML");
    let titles: Vec<&str> = document
        .descendants()
        .filter(|node| node.has_tag_name("title"))
        .filter_map(|node| node.text())
        .collect();
    let cells = matrix["matrix"].as_object().expect("matrix");
    for (option, row) in cells {
        for (criterion, cell) in row.as_object().expect("row") {
            let expected = format!("{option} on {criterion}: {}", shown(&cell["raw_score"]));
            assert!(
                titles.iter().any(|title| title.starts_with(&expected)),
                "no cell titled {expected:?} in {titles:?}"
            );
        }
    }
    assert!(titles[0].contains("</script>"), "the topic kept whole");

    let bad = err(
        &client,
        "export_matrix",
        json!({"session_id": id, "format": "pdf"}),
    )
    .await;
    assert!(bad.contains("json, csv, markdown, html or svg"), "{bad}");
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn include_chart_adds_the_chart_as_a_png_image() {
    let llm = llm().await;
    let (client, _) = stdio_client(&llm).await;
    let id = scored_session(&client).await;

    let plain = client
        .call_tool(request("get_decision_matrix", json!({"session_id": id})))
        .await
        .expect("matrix");
    assert_eq!(plain.content.len(), 1, "text only unless asked");

    let charted = client
        .call_tool(request(
            "get_decision_matrix",
            json!({"session_id": id, "include_chart": true}),
        ))
        .await
        .expect("matrix");
    // The same matrix (computed again, so at another time).
    let without_time = |result: &rmcp::model::CallToolResult| {
        let mut matrix = result.structured_content.clone().expect("structured");
        matrix["evaluation_timestamp"] = Value::Null;
        matrix
    };
    assert_eq!(without_time(&charted), without_time(&plain));
    let images: Vec<_> = charted
        .content
        .iter()
        .filter_map(|content| match content {
            ContentBlock::Image(image) => Some(image),
            _ => None,
        })
        .collect();
    let [image] = images.as_slice() else {
        panic!("one image: {:?}", charted.content);
    };
    assert_eq!(image.mime_type, "image/png");
    let png = base64::engine::general_purpose::STANDARD
        .decode(&image.data)
        .expect("base64");
    let pixmap = resvg::tiny_skia::Pixmap::decode_png(&png).expect("a PNG");
    // The SVG's size, twice.
    let svg = ok(
        &client,
        "export_matrix",
        json!({"session_id": id, "format": "svg"}),
    )
    .await;
    let svg = svg["content"].as_str().expect("svg");
    let tree = resvg::usvg::Tree::from_str(svg, &resvg::usvg::Options::default()).expect("svg");
    assert_eq!(
        (pixmap.width(), pixmap.height()),
        (
            tree.size().width() as u32 * 2,
            tree.size().height() as u32 * 2
        )
    );
    client.cancel().await.expect("close");
}

/// Request metadata declaring the tasks extension, as a client of the stateless protocol
/// sends with each request (the HTTP transport keeps nothing from `initialize`).
fn declaring_tasks() -> Option<RequestMetaObject> {
    let mut meta = RequestMetaObject::default();
    meta.set_client_capabilities(ClientCapabilities::builder().enable_tasks().build());
    Some(meta)
}

/// Task `id` as `tasks/get` reads it.
async fn get_task(client: &Mcp, id: &str) -> Result<GetTaskResult, rmcp::ServiceError> {
    let mut params = GetTaskParams::new(id.to_owned());
    params.meta = declaring_tasks();
    client.get_task(params).await
}

/// `tasks/cancel` of task `id`.
async fn cancel_task(client: &Mcp, id: &str) -> Result<(), rmcp::ServiceError> {
    let mut params = CancelTaskParams::new(id.to_owned());
    params.meta = declaring_tasks();
    client.cancel_task(params).await
}

/// Polls task `id` until `done` holds for it, for at most 30 s.
async fn poll_until(
    client: &Mcp,
    id: &str,
    done: impl Fn(&GetTaskResult) -> bool,
) -> GetTaskResult {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let task = get_task(client, id).await.expect("tasks/get");
            if done(&task) {
                return task;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the task got there within 30 s")
}

/// Starts `evaluate_options` on `session` as a task; returns the task's id.
async fn evaluation_task(client: &Mcp, session: &str) -> String {
    let mut params = request("evaluate_options", json!({"session_id": session}));
    params.meta = declaring_tasks();
    let response = client.call_tool_once(params).await.expect("tools/call");
    let CallToolResponse::Task(created) = response else {
        panic!("a task, since the client declared the extension: {response:?}");
    };
    assert_eq!(created.task.status, TaskStatus::Working);
    created.task.task_id
}

#[tokio::test]
async fn evaluate_options_runs_as_a_task_for_clients_that_ask() {
    let (llm, gate) = gated_llm().await;
    let (_server, url) = http_server(&llm, &["--auth-token", "alice,bob"]).await;
    // It declares the extension at `initialize` too; only each request's declaration counts.
    let tasking = Client {
        tasks: true,
        ..Client::default()
    };
    let (alice, _) = http_client_as(tasking.clone(), &url, Some("alice")).await;

    let started = ok(
        &alice,
        "start_decision_analysis",
        json!({
            "topic": "Pick a database",
            "options": ["Postgres", "SQLite", "DynamoDB"],
            "model_backend": "litellm",
            "initial_criteria": [
                {"name": "cost", "description": "Total cost of ownership"},
                {"name": "slow", "description": "A criterion the judge holds back"},
            ],
        }),
    )
    .await;
    let session = started["session_id"].as_str().expect("id").to_owned();

    // The call answers at once; the task reports the evaluation's progress.
    let first = evaluation_task(&alice, &session).await;
    let working = poll_until(&alice, &first, |task| {
        task.task
            .task
            .status_message
            .as_deref()
            .is_some_and(|message| message.starts_with("3/6 cells"))
    })
    .await;
    assert_eq!(working.task.task.status, TaskStatus::Working);

    // Another token's client cannot see or cancel it.
    let (bob, _) = http_client_as(tasking.clone(), &url, Some("bob")).await;
    let foreign = get_task(&bob, &first).await;
    assert!(
        format!("{foreign:?}").contains("unknown task"),
        "{foreign:?}"
    );
    let foreign = cancel_task(&bob, &first).await;
    assert!(foreign.is_err(), "{foreign:?}");

    // Cancelled: the task ends so, and the cells it finished are kept.
    cancel_task(&alice, &first).await.expect("tasks/cancel");
    let cancelled = poll_until(&alice, &first, |task| {
        task.task.task.status != TaskStatus::Working
    })
    .await;
    assert_eq!(cancelled.task.task.status, TaskStatus::Cancelled);
    let matrix = ok(
        &alice,
        "get_decision_matrix",
        json!({"session_id": session}),
    )
    .await;
    for option in ["Postgres", "SQLite", "DynamoDB"] {
        assert_eq!(matrix["matrix"][option]["cost"]["status"], "scored");
        assert_eq!(matrix["matrix"][option]["slow"]["status"], "missing");
    }

    // Resumed: a second task computes the rest; a new connection reads its result.
    let second = evaluation_task(&alice, &session).await;
    alice.cancel().await.expect("close");
    gate.send(true).expect("open the gate");
    let (again, _) = http_client_as(tasking, &url, Some("alice")).await;
    let done = poll_until(&again, &second, |task| {
        task.task.task.status != TaskStatus::Working
    })
    .await;
    assert_eq!(done.task.task.status, TaskStatus::Completed);
    let TaskPayload::Completed { result } = &done.task.payload else {
        panic!("a result: {:?}", done.task.payload);
    };
    let evaluated: &Map<String, Value> = result["structuredContent"]
        .as_object()
        .unwrap_or_else(|| panic!("the evaluation's result: {result:?}"));
    assert_eq!(evaluated["evaluation_complete"], true);
    assert_eq!(evaluated["summary"]["cells_computed"], 3);
    assert!(
        done.task
            .task
            .status_message
            .as_deref()
            .is_some_and(|message| message.ends_with("cells evaluated")),
        "{:?}",
        done.task.task.status_message
    );

    // A client that does not ask gets the plain call, as before.
    let (plain, _) = http_client_as(Client::default(), &url, Some("alice")).await;
    let direct = ok(
        &plain,
        "evaluate_options",
        json!({"session_id": session, "force": true}),
    )
    .await;
    assert_eq!(direct["evaluation_complete"], true);
    for client in [again, bob, plain] {
        client.cancel().await.expect("close");
    }
}

/// A declaration at `initialize` alone gets the plain result (clients declare it there
/// without handling tasks); the request's own declaration gets a task, over stdio as well.
#[tokio::test]
async fn only_a_request_that_declares_the_extension_gets_a_task() {
    let llm = llm().await;
    let handler = Client {
        tasks: true,
        ..Client::default()
    };
    let (client, _, _) = common::client::stdio_server_for(handler, &llm, &[]).await;
    let started = ok(
        &client,
        "start_decision_analysis",
        json!({"topic": "t", "options": ["a", "b"], "model_backend": "litellm",
               "initial_criteria": [{"name": "cost", "description": "Cost"}]}),
    )
    .await;
    let session = started["session_id"].as_str().expect("id");
    let plain = ok(
        &client,
        "evaluate_options",
        json!({"session_id": session, "force": true}),
    )
    .await;
    assert_eq!(plain["evaluation_complete"], true);

    let task = evaluation_task(&client, session).await;
    let done = poll_until(&client, &task, |task| {
        task.task.task.status != TaskStatus::Working
    })
    .await;
    assert_eq!(done.task.task.status, TaskStatus::Completed);
    client.cancel().await.expect("close");
}
