//! The limits over loopback, with raw sockets as an attacker would hold them. Time limits
//! are short, and every test waits for what a client can see (a closed connection, an
//! answer); the long timeouts around those waits only keep a broken build from hanging.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use decision_matrix_testkit::raw_http::{HANG_GUARD, RawHttp};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::watch::Timeouts;
use super::{ConnectionLimits, serve};
use crate::telemetry::connections::{ConnectionCounts, ConnectionStats};

const SHORT: Duration = Duration::from_millis(200);
const LONG: Duration = Duration::from_secs(3600);

/// A request handler that holds its answer until the test lets it go.
#[derive(Default)]
struct Gate {
    entered: Notify,
    open: Notify,
}

impl Gate {
    async fn entered(&self) {
        tokio::time::timeout(HANG_GUARD, self.entered.notified())
            .await
            .expect("the request reaches its handler");
    }
}

struct Server {
    addr: String,
    stats: Arc<ConnectionStats>,
    gate: Arc<Gate>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

async fn start(max_connections: usize, header_read: Duration, idle: Duration) -> Server {
    let gate = Arc::new(Gate::default());
    let app = {
        let gate = gate.clone();
        axum::Router::new()
            .route("/ping", get(|| async { "pong" }))
            .route(
                "/wait",
                get(move || async move {
                    gate.entered.notify_one();
                    gate.open.notified().await;
                    "done"
                }),
            )
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    let stats = Arc::new(ConnectionStats::new(max_connections));
    let shutdown = CancellationToken::new();
    let limits = ConnectionLimits {
        max_connections,
        timeouts: Timeouts { header_read, idle },
    };
    let task = tokio::spawn(serve(
        listener,
        app,
        limits,
        stats.clone(),
        shutdown.clone(),
    ));
    Server {
        addr,
        stats,
        gate,
        shutdown,
        task,
    }
}

impl Server {
    async fn connect(&self) -> RawHttp {
        RawHttp::connect(&self.addr).await
    }

    fn counts(&self) -> ConnectionCounts {
        self.stats.counts()
    }

    /// Waits until `done` holds of the counters.
    async fn counted(&self, done: impl Fn(&ConnectionCounts) -> bool) {
        let wait = async {
            while !done(&self.counts()) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(HANG_GUARD, wait)
            .await
            .unwrap_or_else(|_| panic!("counters never got there: {:?}", self.counts()));
    }
}

#[tokio::test]
async fn a_request_head_that_never_completes_is_closed_after_the_header_timeout() {
    let server = start(8, SHORT, LONG).await;
    let mut slow = server.connect().await;
    slow.write(b"GET /ping HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: a")
        .await;
    let mut silent = server.connect().await;
    slow.closed().await;
    silent.closed().await;
    let counts = server.counts();
    assert_eq!((counts.header_timeouts, counts.idle_timeouts), (2, 0));

    // A client that finishes its head in time is answered.
    let mut prompt = server.connect().await;
    assert_eq!(prompt.get_ok("/ping").await, "pong");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let server = start(8, LONG, SHORT).await;
    let mut client = server.connect().await;
    assert_eq!(client.get_ok("/ping").await, "pong");
    // Kept alive: a second request on the same connection is answered too.
    assert_eq!(client.get_ok("/ping").await, "pong");
    client.closed().await;
    let counts = server.counts();
    assert_eq!((counts.header_timeouts, counts.idle_timeouts), (0, 1));
    assert_eq!(counts.open, 0);
}

#[tokio::test]
async fn a_request_being_served_outlives_both_time_limits() {
    let server = start(8, SHORT, SHORT).await;
    let mut busy = server.connect().await;
    busy.send_get("/wait").await;
    server.gate.entered().await;
    // A connection opened after the request started, and closed for its header timeout,
    // shows that the request has been in flight for longer than either limit.
    let mut silent = server.connect().await;
    silent.closed().await;
    server.gate.open.notify_one();
    let response = busy.response().await;
    assert_eq!(
        (response.status.as_str(), response.body.as_str()),
        ("HTTP/1.1 200 OK", "done")
    );
    let counts = server.counts();
    assert_eq!((counts.header_timeouts, counts.idle_timeouts), (1, 0));
}

#[tokio::test]
async fn at_the_cap_new_connections_are_refused_and_open_ones_keep_working() {
    let server = start(2, LONG, LONG).await;
    let mut first = server.connect().await;
    let mut second = server.connect().await;
    assert_eq!(first.get_ok("/ping").await, "pong");
    assert_eq!(second.get_ok("/ping").await, "pong");

    for _ in 0..3 {
        let mut over = server.connect().await;
        over.send_get("/ping").await;
        let response = over.response().await;
        assert_eq!(response.status, "HTTP/1.1 503 Service Unavailable");
        assert!(
            response
                .body
                .contains("as many connections open as it allows"),
            "{response:?}"
        );
        over.closed().await;
    }
    let counts = server.counts();
    assert_eq!((counts.open, counts.refused, counts.accepted), (2, 3, 2));

    assert_eq!(first.get_ok("/ping").await, "pong");
    assert_eq!(second.get_ok("/ping").await, "pong");

    // Once a connection ends, its place is free again.
    drop(first);
    server.counted(|counts| counts.open == 1).await;
    let mut third = server.connect().await;
    assert_eq!(third.get_ok("/ping").await, "pong");
    assert_eq!(server.counts().refused, 3);
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish_and_closes_idle_connections() {
    let server = start(8, LONG, LONG).await;
    let mut idle = server.connect().await;
    assert_eq!(idle.get_ok("/ping").await, "pong");
    let mut busy = server.connect().await;
    busy.send_get("/wait").await;
    server.gate.entered().await;

    server.shutdown.cancel();
    idle.closed().await;
    assert!(!server.task.is_finished(), "a request is still in flight");
    server.gate.open.notify_one();
    assert_eq!(busy.response().await.body, "done");
    tokio::time::timeout(HANG_GUARD, server.task)
        .await
        .expect("the server stops")
        .expect("joined");
    assert!(
        tokio::net::TcpStream::connect(&server.addr).await.is_err(),
        "no longer listening"
    );
}
