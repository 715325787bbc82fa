//! The built `decision-matrix serve` binary as MCP clients reach it, scored by a loopback
//! OpenAI-compatible judge: shared by the tests that drive it with rmcp's client and with the
//! official Python SDK's.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use decision_matrix_testkit::{MockServer, judge};
use serde_json::Value;

/// The nine tools of the Python reference server, which every client of it may call.
pub const REFERENCE_TOOLS: [&str; 9] = [
    "start_decision_analysis",
    "add_criterion",
    "add_option",
    "evaluate_options",
    "get_decision_matrix",
    "list_sessions",
    "clear_all_sessions",
    "current_session",
    "test_aws_bedrock_connection",
];

/// An OpenAI-compatible chat completions endpoint answering every scoring prompt correctly.
async fn openai_judge(Json(body): Json<Value>) -> Json<Value> {
    Json(judge::openai_answer(&body))
}

/// The judge on a free loopback port.
pub async fn llm() -> MockServer {
    MockServer::start(axum::Router::new().route("/v1/chat/completions", post(openai_judge))).await
}

/// A judge that never answers prompts about the criterion `slow` while `hang` is set.
async fn hanging_judge(
    State(hang): State<Arc<AtomicBool>>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let (system, _) = judge::openai_prompt(&body);
    if judge::criterion_of(&system) == "slow" && hang.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(600)).await;
    }
    Json(judge::openai_answer(&body))
}

/// The judge, except that it hangs on the criterion `slow` until the returned flag is
/// cleared.
pub async fn hanging_llm() -> (MockServer, Arc<AtomicBool>) {
    let hang = Arc::new(AtomicBool::new(true));
    let llm = MockServer::start(
        axum::Router::new()
            .route("/v1/chat/completions", post(hanging_judge))
            .with_state(hang.clone()),
    )
    .await;
    (llm, hang)
}

/// A judge that holds prompts about the criterion `slow` until the gate is opened.
async fn gated_judge(
    State(gate): State<tokio::sync::watch::Receiver<bool>>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let (system, _) = judge::openai_prompt(&body);
    if judge::criterion_of(&system) == "slow" {
        let mut gate = gate.clone();
        // A closed channel (the test is over) lets the prompt through as well.
        let _ = gate.wait_for(|open| *open).await;
    }
    Json(judge::openai_answer(&body))
}

/// The judge, except that it holds prompts about the criterion `slow` until `true` is sent
/// on the returned gate.
pub async fn gated_llm() -> (MockServer, tokio::sync::watch::Sender<bool>) {
    let (open, gate) = tokio::sync::watch::channel(false);
    let llm = MockServer::start(
        axum::Router::new()
            .route("/v1/chat/completions", post(gated_judge))
            .with_state(gate),
    )
    .await;
    (llm, open)
}

/// The server binary `DMM_SERVER_BINARY` names, if any, to run instead of the one Cargo built
/// with these tests. (A benchmark's build of the server carries the features the
/// dev-dependencies add, so it is not the binary `cargo build --release` makes; the variable
/// lets the benchmarks measure that one.)
pub fn server_binary_override() -> Option<std::ffi::OsString> {
    std::env::var_os("DMM_SERVER_BINARY").filter(|path| !path.is_empty())
}

/// The server binary: [`server_binary_override`], or the one Cargo built with these tests.
pub fn server_binary() -> std::ffi::OsString {
    server_binary_override().unwrap_or_else(|| env!("CARGO_BIN_EXE_decision-matrix").into())
}

/// The command that starts [`server_binary`]. `DMM_SERVER_WRAPPER`, when set, is a command
/// line to run it under (a profiler, `valgrind`), split at spaces: `link/record-code-order`
/// uses it to see which functions the server runs.
pub fn server_command() -> tokio::process::Command {
    let binary = server_binary();
    let wrapper = std::env::var("DMM_SERVER_WRAPPER").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut command = tokio::process::Command::new(program);
            command.args(words).arg(binary);
            command
        }
        None => tokio::process::Command::new(binary),
    }
}

/// The environment the server runs with: the litellm backend pointed at `llm`, nothing read
/// from this machine's AWS profile, plugin compile cache shared by these tests, sessions in
/// memory.
pub fn server_env(command: &mut tokio::process::Command, llm: &MockServer) {
    // Nothing of the developer's own configuration may leak into the server under test.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("DMM_") || name.starts_with("MCP_") {
            command.env_remove(name.as_ref());
        }
    }
    command
        .env("LITELLM_BASE_URL", format!("{}/v1", llm.base_url()))
        .env("LITELLM_API_KEY", "test-key")
        .env("AWS_REGION", "us-east-1")
        .env(
            "DMM_PLUGIN_CACHE_DIR",
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp-plugin-cache"),
        )
        .env("LOG_LEVEL", "warn")
        // Health must not depend on how full this machine's memory is.
        .env("DMM_ALERT_MEMORY_PERCENT", "100")
        // Never the developer's data directory: tests that need a durable or shared store
        // name one after this.
        .env("DMM_STORE", "memory")
        .kill_on_drop(true);
}

/// Every line a server wrote on stderr so far.
pub type StderrLines = Arc<std::sync::Mutex<Vec<String>>>;

/// A server on HTTP at a free port, and the child process (killed on drop).
pub async fn http_server(llm: &MockServer, extra: &[&str]) -> (tokio::process::Child, String) {
    let (child, url, _) = http_server_with(llm, extra, &[]).await;
    (child, url)
}

/// A server on HTTP at a free port started with `extra` arguments and `env` variables (over
/// [`server_env`]'s), the child process (killed on drop), and its stderr as it comes.
pub async fn http_server_with(
    llm: &MockServer,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (tokio::process::Child, String, StderrLines) {
    let mut command = server_command();
    command
        .args(["serve", "--transport", "http", "--port", "0"])
        .args(extra);
    server_env(&mut command, llm);
    for (name, value) in env {
        command.env(name, value);
    }
    listening(command).await
}

/// The server `command` starts (its stdio set here), once it listens: the child process
/// (killed on drop), its URL, and its stderr as it comes.
pub async fn listening(
    mut command: tokio::process::Command,
) -> (tokio::process::Child, String, StderrLines) {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("server starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    let seen = StderrLines::default();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read stderr") {
            seen.lock().expect("lines").push(line.clone());
            if let Some(url) = line.strip_prefix("listening on ") {
                return url.to_owned();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server listens within a minute");
    // Keep draining stderr so the server never blocks on a full pipe.
    let keep = seen.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            keep.lock().expect("lines").push(line);
        }
    });
    (child, url, seen)
}
