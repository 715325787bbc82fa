//! Lines on stdio that are not well-formed requests, written raw to the built server as a
//! careless or hostile client would: each gets its JSON-RPC error on stdout, and the session
//! goes on. rmcp alone answered none of the lines that are not JSON, so their senders waited
//! forever, and answered a `tools/call` with unreadable arguments "method not found".

use crate::common;

use std::process::Stdio;

use common::server::{llm, server_command, server_env};
use decision_matrix_testkit::raw_http::HANG_GUARD;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

struct Server {
    _child: Child,
    input: ChildStdin,
    output: Lines<BufReader<ChildStdout>>,
}

impl Server {
    async fn write(&mut self, line: &[u8]) {
        self.input.write_all(line).await.expect("write");
        self.input.write_all(b"\n").await.expect("write");
    }

    async fn send(&mut self, message: Value) {
        self.write(message.to_string().as_bytes()).await;
    }

    /// The next line the server writes, as JSON.
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(HANG_GUARD, self.output.next_line())
            .await
            .expect("the server answers")
            .expect("read")
            .expect("the server is still running");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"))
    }

    /// Checks the server still answers, with a `ping` of id `id`.
    async fn alive(&mut self, id: &str) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": "ping"}))
            .await;
        let pong = self.next().await;
        assert_eq!(pong["id"], id, "{pong}");
        assert!(pong.get("result").is_some(), "{pong}");
    }
}

async fn start() -> (Server, decision_matrix_testkit::MockServer) {
    let llm = llm().await;
    let mut command = server_command();
    command
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    server_env(&mut command, &llm);
    let mut child = command.spawn().expect("server starts");
    let input = child.stdin.take().expect("stdin");
    let output = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let server = Server {
        _child: child,
        input,
        output,
    };
    (server, llm)
}

/// `code` and `id` of an error response.
fn error_of(response: &Value) -> (i64, Value) {
    let code = response["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("an error response: {response}"));
    (code, response["id"].clone())
}

#[tokio::test]
async fn every_malformed_line_gets_its_json_rpc_error_and_the_session_goes_on() {
    let (mut server, _llm) = start().await;
    // Even before initialisation, a line that is not JSON is answered.
    server.write(b"NaN").await;
    assert_eq!(error_of(&server.next().await), (-32700, Value::Null));

    server
        .send(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}}),
        )
        .await;
    assert_eq!(server.next().await["id"], 1);
    server
        .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;

    let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    let big_number = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_sessions","arguments":{"x":1e309}}}"#;
    let not_utf8 = b"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"\xff\"}";
    let parse_errors: [&[u8]; 5] = [
        b"NaN",
        b"1e309",
        big_number.as_bytes(),
        deep.as_bytes(),
        not_utf8,
    ];
    for (i, line) in parse_errors.into_iter().enumerate() {
        server.write(line).await;
        let answer = server.next().await;
        assert_eq!(
            error_of(&answer),
            (-32700, Value::Null),
            "line {i}: {answer}"
        );
        server.alive(&format!("after-parse-error-{i}")).await;
    }

    // Over 16 MiB on one line.
    let mut huge =
        b"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\",\"params\":{\"pad\":\"".to_vec();
    huge.resize(16 * 1024 * 1024 + 100, b'a');
    huge.extend_from_slice(b"\"}}");
    server.write(&huge).await;
    let answer = server.next().await;
    assert_eq!(error_of(&answer), (-32600, Value::Null), "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("16 MiB")),
        "{answer}"
    );
    server.alive("after-huge").await;

    for (line, id) in [
        (r#"[{"jsonrpc":"2.0","id":5,"method":"ping"}]"#, Value::Null),
        (r#""ping""#, Value::Null),
        (r#"{"jsonrpc":"2.0","id":6}"#, json!(6)),
        (
            r#"{"jsonrpc":"1.0","id":"seven","method":"ping"}"#,
            json!("seven"),
        ),
    ] {
        server.write(line.as_bytes()).await;
        let answer = server.next().await;
        assert_eq!(error_of(&answer), (-32600, id), "{line}: {answer}");
    }
    server.alive("after-invalid-requests").await;

    server
        .send(
            json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {
            "name": "list_sessions", "arguments": [1, 2]}}),
        )
        .await;
    let answer = server.next().await;
    assert_eq!(error_of(&answer), (-32602, json!(8)), "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("tools/call"), "{message}");

    // Notifications are never answered, however malformed: the next line is the pong.
    server
        .write(br#"{"jsonrpc":"2.0","method":"notifications/made-up","params":[1]}"#)
        .await;
    server.alive("after-notification").await;
}
