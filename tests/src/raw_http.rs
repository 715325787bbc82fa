//! HTTP/1.1 over a bare socket, as an attacker (or a minimal client) speaks it: requests
//! written byte by byte as the test chooses, responses read as they come, and the moment the
//! server closes the connection observed directly. For tests of connection limits, where an
//! HTTP client library would hide exactly what is under test (its own pool, retries,
//! timeouts).
//!
//! Every wait is bounded by [`HANG_GUARD`], only so that a broken server fails the test
//! instead of hanging it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest any wait here lasts before the test fails.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// One connection.
pub struct RawHttp {
    stream: TcpStream,
    /// Bytes read past the last response.
    pending: Vec<u8>,
}

/// A response: its status line and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// `HTTP/1.1 200 OK`.
    pub status: String,
    /// The body (responses here carry a `content-length`).
    pub body: String,
}

impl RawHttp {
    /// Connects to `addr` (`127.0.0.1:PORT`).
    pub async fn connect(addr: &str) -> RawHttp {
        let stream = tokio::time::timeout(HANG_GUARD, TcpStream::connect(addr))
            .await
            .expect("connected in time")
            .expect("connect");
        RawHttp {
            stream,
            pending: Vec::new(),
        }
    }

    /// Writes `bytes` as they are: a partial request, for instance.
    pub async fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Sends `GET path` (kept alive).
    pub async fn send_get(&mut self, path: &str) {
        let request = format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");
        self.write(request.as_bytes()).await;
    }

    /// Reads one response with a `content-length`.
    pub async fn response(&mut self) -> RawResponse {
        let read = async {
            loop {
                if let Some(response) = self.take_response() {
                    return response;
                }
                let mut chunk = [0; 4096];
                let n = self.stream.read(&mut chunk).await.expect("read");
                assert!(n > 0, "closed before a whole response: {:?}", self.pending);
                self.pending.extend_from_slice(&chunk[..n]);
            }
        };
        tokio::time::timeout(HANG_GUARD, read)
            .await
            .expect("a response in time")
    }

    fn take_response(&mut self) -> Option<RawResponse> {
        let end = self.pending.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&self.pending[..end]).into_owned();
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .expect("a content-length");
        let start = end + 4;
        if self.pending.len() < start + length {
            return None;
        }
        let body = String::from_utf8_lossy(&self.pending[start..start + length]).into_owned();
        self.pending.drain(..start + length);
        let status = head.lines().next().unwrap_or_default().to_owned();
        Some(RawResponse { status, body })
    }

    /// `GET path`, which must answer 200; returns the body.
    pub async fn get_ok(&mut self, path: &str) -> String {
        self.send_get(path).await;
        let response = self.response().await;
        assert_eq!(
            response.status, "HTTP/1.1 200 OK",
            "GET {path}: {response:?}"
        );
        response.body
    }

    /// Waits until the server closes the connection (end of file or reset), discarding
    /// anything it sends first.
    pub async fn closed(&mut self) {
        let wait = async {
            let mut chunk = [0; 4096];
            while let Ok(n) = self.stream.read(&mut chunk).await {
                if n == 0 {
                    return;
                }
            }
        };
        tokio::time::timeout(HANG_GUARD, wait)
            .await
            .expect("the server closes the connection in time");
    }
}
