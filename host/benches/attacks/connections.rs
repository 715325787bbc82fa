//! HTTP connections an attacker holds open: thousands kept alive and idle, and a few hundred
//! that never finish their request head (slowloris). Raw sockets, as an attacker holds them:
//! an HTTP client library would pool, retry and time out on its own.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::process::within;
use crate::support::server;
use crate::{Memory, row, table_head};

/// Connections that send one request and then stay idle.
const IDLE: usize = 3_000;
/// How long they stay idle before they are counted again: past the 30 s idle timeout.
const IDLE_WAIT: Duration = Duration::from_secs(32);
/// Connections that never finish their request head.
const SLOWLORIS: usize = 200;
/// How long they trickle, one header line a second: past the 10 s header-read timeout.
const TRICKLE_SECONDS: u64 = 12;
const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";

/// A server with default settings, and the sockets it had open before any client came.
struct Target {
    child: tokio::process::Child,
    pid: u32,
    addr: String,
    sockets_at_start: usize,
}

/// The sockets process `pid` has open (its listener, its connections).
fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the server's descriptors")
        .filter_map(Result::ok)
        .filter(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        })
        .count()
}

impl Target {
    async fn start(llm: &decision_matrix_testkit::MockServer) -> Target {
        let (child, url) = server::http_server(llm, &[]).await;
        let pid = child.id().expect("the server is running");
        let addr = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .expect("host:port")
            .to_owned();
        Target {
            child,
            pid,
            addr,
            sockets_at_start: open_sockets(pid),
        }
    }

    /// Connections the server holds open now.
    fn held(&self) -> usize {
        open_sockets(self.pid).saturating_sub(self.sockets_at_start)
    }

    fn row(&self, moment: &str) {
        row(moment, Memory::of(self.pid), &self.held().to_string());
    }

    /// Waits (up to 10 s) for the server to let go of connections its clients closed, then
    /// prints the row.
    async fn row_once_released(&self, moment: &str) {
        for _ in 0..100 {
            if self.held() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.row(moment);
    }

    async fn stop(mut self) {
        within("stopping the server", self.child.kill())
            .await
            .expect("stop the server");
    }
}

/// Connects and sends `GET /healthz`, kept alive; the connection and the answer's status code
/// (`None` when the server closed it without one).
async fn request(addr: &str) -> (TcpStream, Option<u16>) {
    let mut stream = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    stream.write_all(HEALTHZ).await.expect("write a request");
    let mut head = Vec::new();
    let mut chunk = [0; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") {
        match within("an answer", stream.read(&mut chunk)).await {
            Ok(n) if n > 0 => head.extend_from_slice(&chunk[..n]),
            _ => return (stream, None),
        }
    }
    let status = String::from_utf8_lossy(&head)
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok());
    (stream, status)
}

async fn idle(llm: &decision_matrix_testkit::MockServer) {
    let target = Target::start(llm).await;
    println!(
        "\n**Idle keep-alive connections**: {IDLE} connections, one after another, each sends `GET /healthz` and then nothing."
    );
    table_head("connections the server holds");
    target.row("started");
    let mut streams = Vec::with_capacity(IDLE);
    let (mut ok, mut refused, mut unanswered) = (0, 0, 0);
    for _ in 0..IDLE {
        let (stream, status) = request(&target.addr).await;
        match status {
            Some(200) => ok += 1,
            Some(503) => refused += 1,
            _ => unanswered += 1,
        }
        streams.push(stream);
    }
    target.row(&format!(
        "{IDLE} connected: {ok} answered 200, {refused} answered 503, {unanswered} closed unanswered"
    ));
    tokio::time::sleep(IDLE_WAIT).await;
    target.row(&format!("{} s later", IDLE_WAIT.as_secs()));
    drop(streams);
    target.row_once_released("clients closed").await;
    target.stop().await;
}

async fn slowloris(llm: &decision_matrix_testkit::MockServer) {
    let target = Target::start(llm).await;
    println!(
        "\n**Slowloris**: {SLOWLORIS} connections send a request line, then one header line a second, never the blank line that ends the head."
    );
    table_head("connections the server holds");
    target.row("started");
    let mut streams = Vec::with_capacity(SLOWLORIS);
    for _ in 0..SLOWLORIS {
        let mut stream = within("connect", TcpStream::connect(&target.addr))
            .await
            .expect("connect");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n")
            .await
            .expect("write a request line");
        streams.push(stream);
    }
    for second in 1..=TRICKLE_SECONDS {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let line = format!("x-trickle-{second}: a\r\n");
        for stream in &mut streams {
            // Fails once the server has closed the connection, which is the point.
            let _ = stream.write_all(line.as_bytes()).await;
        }
        if second == 2 || second == TRICKLE_SECONDS {
            target.row(&format!("{second} s of trickling"));
        }
    }
    drop(streams);
    target.row_once_released("clients closed").await;
    target.stop().await;
}

pub async fn attack() {
    let llm = server::llm().await;
    idle(&llm).await;
    slowloris(&llm).await;
}
