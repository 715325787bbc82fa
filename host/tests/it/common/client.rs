//! rmcp's client for the MCP tests: a handler that records progress notifications, and
//! helpers that make a tool call and check its outcome.

use std::process::Stdio;
use std::sync::{Arc, Mutex};

use decision_matrix_testkit::MockServer;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
    ProgressNotificationParam,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Map, Value};

use super::server::{server_command, server_env};

/// Records the progress notifications the server sends.
#[derive(Clone, Default)]
pub struct Client {
    /// Progress notifications received, in order.
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
    /// The name it gives in `initialize`; `decision-matrix-tests` unless set.
    pub name: Option<&'static str>,
    /// Whether it declares the tasks extension (and so gets `evaluate_options` as a task).
    pub tasks: bool,
}

impl ClientHandler for Client {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().expect("lock").push(params);
    }

    fn get_info(&self) -> ClientConfig {
        let capabilities = if self.tasks {
            ClientCapabilities::builder().enable_tasks().build()
        } else {
            ClientCapabilities::default()
        };
        ClientConfig::new(
            capabilities,
            Implementation::new(self.name.unwrap_or("decision-matrix-tests"), "0"),
        )
    }
}

/// A server on stdio started with `serve` and `args`, the connected client, and the
/// server's process id.
pub async fn stdio_server(
    llm: &MockServer,
    args: &[&str],
) -> (RunningService<RoleClient, Client>, Client, u32) {
    stdio_server_for(Client::default(), llm, args).await
}

/// [`stdio_server`] connected with `handler` (a client of another name, for example).
pub async fn stdio_server_for(
    handler: Client,
    llm: &MockServer,
    args: &[&str],
) -> (RunningService<RoleClient, Client>, Client, u32) {
    spawn_stdio(handler, llm, args, &[]).await
}

/// [`stdio_server`] with the variables `env` set for the server as well.
pub async fn stdio_server_with_env(
    llm: &MockServer,
    args: &[&str],
    env: &[(&str, &str)],
) -> (RunningService<RoleClient, Client>, Client) {
    let (client, handler, _) = spawn_stdio(Client::default(), llm, args, env).await;
    (client, handler)
}

async fn spawn_stdio(
    handler: Client,
    llm: &MockServer,
    args: &[&str],
    env: &[(&str, &str)],
) -> (RunningService<RoleClient, Client>, Client, u32) {
    let mut command = server_command();
    command.arg("serve").args(args);
    server_env(&mut command, llm);
    command.envs(env.iter().copied());
    let transport = TokioChildProcess::builder(command)
        .stderr(Stdio::inherit())
        .spawn()
        .expect("server starts")
        .0;
    let pid = transport.id().expect("the server is running");
    let client = handler.clone().serve(transport).await.expect("initialize");
    (client, handler, pid)
}

/// A server on stdio started with `serve` and `args`, and the connected client.
pub async fn stdio_client_with(
    llm: &MockServer,
    args: &[&str],
) -> (RunningService<RoleClient, Client>, Client) {
    let (client, handler, _) = stdio_server(llm, args).await;
    (client, handler)
}

/// A server on stdio with the default settings.
pub async fn stdio_client(llm: &MockServer) -> (RunningService<RoleClient, Client>, Client) {
    stdio_client_with(llm, &[]).await
}

/// A client connected to the streamable HTTP endpoint `url` that keeps its connection
/// between requests, as the MCP SDKs' HTTP clients (httpx in Python, fetch in TypeScript) do.
pub async fn http_client(url: &str) -> (RunningService<RoleClient, Client>, Client) {
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
    connect_http(StreamableHttpClientTransport::with_client(
        reqwest::Client::new(),
        config,
    ))
    .await
}

/// [`http_client`] sending `Authorization: Bearer {token}`.
pub async fn http_client_with_token(
    url: &str,
    token: &str,
) -> (RunningService<RoleClient, Client>, Client) {
    http_client_as(Client::default(), url, Some(token)).await
}

/// [`http_client`] with `handler` (one that declares the tasks extension, for example),
/// sending `token` if given.
pub async fn http_client_as(
    handler: Client,
    url: &str,
    token: Option<&str>,
) -> (RunningService<RoleClient, Client>, Client) {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    let transport = StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
    let client = handler.clone().serve(transport).await.expect("initialize");
    (client, handler)
}

/// A client connected to `url` with rmcp's default HTTP client, which opens a new connection
/// for every request.
pub async fn http_client_per_request(url: &str) -> (RunningService<RoleClient, Client>, Client) {
    connect_http(StreamableHttpClientTransport::from_uri(url.to_owned())).await
}

async fn connect_http(
    transport: StreamableHttpClientTransport<reqwest::Client>,
) -> (RunningService<RoleClient, Client>, Client) {
    let handler = Client::default();
    let client = handler.clone().serve(transport).await.expect("initialize");
    (client, handler)
}

/// A `tools/call` request for `tool` with the object `args`.
pub fn request(tool: &str, args: Value) -> CallToolRequestParams {
    let params = CallToolRequestParams::new(tool.to_owned());
    match args {
        Value::Object(map) => params.with_arguments(map),
        _ => params,
    }
}

pub async fn call(
    client: &RunningService<RoleClient, Client>,
    tool: &str,
    args: Value,
) -> CallToolResult {
    client
        .call_tool(request(tool, args))
        .await
        .expect("the call reaches the server")
}

/// The structured result of a successful call.
pub async fn ok(
    client: &RunningService<RoleClient, Client>,
    tool: &str,
    args: Value,
) -> Map<String, Value> {
    let result = call(client, tool, args.clone()).await;
    assert_ne!(
        result.is_error,
        Some(true),
        "{tool}({args}) failed: {result:?}"
    );
    match result.structured_content {
        Some(Value::Object(map)) => map,
        other => panic!("{tool}: no structured content: {other:?}"),
    }
}

/// What a call answered as a JSON object: its structured content, or else its text read as
/// JSON (an error dict comes as text only).
pub fn dict(result: &CallToolResult) -> Map<String, Value> {
    if let Some(Value::Object(map)) = &result.structured_content {
        return map.clone();
    }
    let text = result
        .content
        .first()
        .and_then(|content| content.as_text())
        .map(|text| text.text.as_str())
        .unwrap_or_else(|| panic!("neither structured content nor text: {result:?}"));
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => panic!("the text is not a JSON object: {text}"),
    }
}

/// The error message of a call that must fail.
pub async fn err(client: &RunningService<RoleClient, Client>, tool: &str, args: Value) -> String {
    let result = call(client, tool, args.clone()).await;
    assert_eq!(
        result.is_error,
        Some(true),
        "{tool}({args}) should fail: {result:?}"
    );
    let content = Value::Object(dict(&result));
    assert!(content["context"].is_string(), "{content}");
    assert!(content["formatted_output"].is_string(), "{content}");
    content["error"].as_str().expect("error message").to_owned()
}
