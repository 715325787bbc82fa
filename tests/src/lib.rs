//! Test support shared by decision-matrix's integration and end-to-end tests.
//!
//! [`MockServer`] is a real HTTP/1.1 server on `127.0.0.1:0` that records every request it
//! receives, so a test can assert both what a plugin got back and that a denied request
//! never left the host. [`redis_server::RedisServer`] is a real `redis-server` on loopback,
//! shared by the store's tests and the host's multi-instance tests. [`faults::FaultyJudge`]
//! is the test judge failing a chosen share of calls, as providers do, and [`hostile`] holds
//! the servers sandbox tests aim plugins at; [`noisy_judge`] errs as real judges do (noise,
//! position bias, a leaning per model). [`raw_http`] speaks HTTP/1.1 over a bare
//! socket, as connection-limit tests need. [`plugins_dir`] builds the test fixture plugins
//! and lays them out with the built-ins as a plugins directory.

pub mod faults;
pub mod hostile;
pub mod judge;
pub mod noisy_judge;
#[path = "../../host/build/plugin_build.rs"]
pub mod plugin_build;
mod plugin_dir;
pub mod raw_http;
pub mod redis_server;
pub mod sigv4;

pub use plugin_dir::plugins_dir;

use parking_lot::Mutex;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request as the mock server received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Request method.
    pub method: Method,
    /// Path and query.
    pub uri: Uri,
    /// Headers as received.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
    /// When the request arrived (before its body was read).
    pub at: std::time::Instant,
}

impl RecordedRequest {
    /// A header's value as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A loopback HTTP server running an axum router, recording requests.
pub struct MockServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    task: JoinHandle<()>,
}

impl MockServer {
    /// Starts `router` on `127.0.0.1` at a free port.
    pub async fn start(router: Router) -> MockServer {
        let requests: Arc<Mutex<Vec<RecordedRequest>>> = Arc::default();
        let app = router.layer(middleware::from_fn_with_state(requests.clone(), record));
        Self::serve(app, requests).await
    }

    /// Like [`MockServer::start`], without recording requests: for benchmarks, where
    /// recording would cost time and grow without bound. [`MockServer::requests`] stays empty.
    pub async fn start_unrecorded(router: Router) -> MockServer {
        Self::serve(router, Arc::default()).await
    }

    async fn serve(app: Router, requests: Arc<Mutex<Vec<RecordedRequest>>>) -> MockServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MockServer {
            addr,
            requests,
            task,
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().clone()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(requests): State<Arc<Mutex<Vec<RecordedRequest>>>>,
    request: Request,
    next: Next,
) -> Response {
    let at = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    requests.lock().push(RecordedRequest {
        method: parts.method.clone(),
        uri: parts.uri.clone(),
        headers: parts.headers.clone(),
        body: bytes.clone(),
        at,
    });
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}
