//! The built server's HTTP connection limits, met as an attacker meets them: a request head
//! sent too slowly, connections kept alive and idle, more connections than the cap. Each is
//! closed or refused, logged once per episode and counted in `/metrics`, while clients
//! already connected keep working. Limits are set through the environment, with short time
//! limits; the tests wait for what a client sees.

use crate::common;

use std::time::Duration;

use common::server::{
    StderrLines, http_server_with, listening, llm, server_binary_override, server_env,
};
use decision_matrix_testkit::raw_http::{HANG_GUARD, RawHttp};

/// `127.0.0.1:PORT` of the server's `http://127.0.0.1:PORT/mcp`.
fn address(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned()
}

/// The value of the unlabelled sample `name`, or of `name{label}`, in Prometheus text.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok())?
        })
        .unwrap_or_else(|| panic!("{series} in\n{text}"))
}

/// Waits until some stderr line contains `needle`; returns how many do.
async fn logged(lines: &StderrLines, needle: &str) -> usize {
    let count = || {
        lines
            .lock()
            .expect("lines")
            .iter()
            .filter(|line| line.contains(needle))
            .count()
    };
    let wait = async {
        while count() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(HANG_GUARD, wait)
        .await
        .unwrap_or_else(|_| panic!("'{needle}' never logged"));
    count()
}

#[tokio::test]
async fn slow_heads_are_closed_and_connections_over_the_cap_refused_counted_and_logged() {
    let llm = llm().await;
    let (_server, url, stderr) = http_server_with(
        &llm,
        &[],
        &[
            ("DMM_HTTP_MAX_CONNECTIONS", "3"),
            ("DMM_HTTP_HEADER_READ_TIMEOUT_SECONDS", "0.2"),
            ("DMM_HTTP_IDLE_TIMEOUT_SECONDS", "3600"),
        ],
    )
    .await;
    let addr = address(&url);
    let mut first = RawHttp::connect(&addr).await;
    first.get_ok("/healthz").await;

    // Slowloris: a head that never ends, and a connection that never says anything.
    let mut slow = RawHttp::connect(&addr).await;
    slow.write(b"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: app")
        .await;
    let mut silent = RawHttp::connect(&addr).await;
    slow.closed().await;
    silent.closed().await;

    let mut second = RawHttp::connect(&addr).await;
    let mut third = RawHttp::connect(&addr).await;
    second.get_ok("/healthz").await;
    third.get_ok("/healthz").await;
    for _ in 0..2 {
        let mut over = RawHttp::connect(&addr).await;
        over.send_get("/healthz").await;
        let refused = over.response().await;
        assert_eq!(refused.status, "HTTP/1.1 503 Service Unavailable");
        over.closed().await;
    }
    assert_eq!(
        logged(&stderr, "HTTP connection limit reached").await,
        1,
        "one warning per episode: {:?}",
        stderr.lock().expect("lines")
    );

    let metrics = first.get_ok("/metrics").await;
    assert_eq!(
        sample(&metrics, "decision_matrix_http_connections_open"),
        3.0
    );
    assert_eq!(
        sample(&metrics, "decision_matrix_http_connections_limit"),
        3.0
    );
    assert_eq!(
        sample(&metrics, "decision_matrix_http_connections_refused_total"),
        2.0
    );
    assert_eq!(
        sample(
            &metrics,
            "decision_matrix_http_connections_closed_total{reason=\"header_timeout\"}"
        ),
        2.0
    );
    // The clients already connected were served throughout.
    second.get_ok("/healthz").await;
    third.get_ok("/healthz").await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_and_counted() {
    let llm = llm().await;
    let (_server, url, _) =
        http_server_with(&llm, &[], &[("DMM_HTTP_IDLE_TIMEOUT_SECONDS", "0.2")]).await;
    let addr = address(&url);
    let mut idle = RawHttp::connect(&addr).await;
    idle.get_ok("/healthz").await;
    idle.closed().await;
    let mut scraper = RawHttp::connect(&addr).await;
    let metrics = scraper.get_ok("/metrics").await;
    assert_eq!(
        sample(
            &metrics,
            "decision_matrix_http_connections_closed_total{reason=\"idle_timeout\"}"
        ),
        1.0
    );
}

/// With few file descriptors (`ulimit -n 128`), the server used to accept until none were
/// left, and new clients then waited in the listen backlog with no answer at all. The cap
/// is now lowered to what the limit leaves for connections (128 less 64 kept for the rest),
/// with a warning at start, and a client beyond it is answered 503 at once.
#[tokio::test]
async fn with_few_descriptors_the_cap_is_lowered_and_the_excess_answered_at_once() {
    let llm = llm().await;
    let binary =
        server_binary_override().unwrap_or_else(|| env!("CARGO_BIN_EXE_decision-matrix").into());
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg("ulimit -n 128 && exec \"$0\" serve --transport http --port 0")
        .arg(binary);
    server_env(&mut command, &llm);
    let (_server, url, stderr) = listening(command).await;
    logged(
        &stderr,
        "more than the descriptor limit leaves for connections",
    )
    .await;
    let addr = address(&url);

    let mut clients = Vec::new();
    for _ in 0..64 {
        let mut client = RawHttp::connect(&addr).await;
        client.get_ok("/healthz").await;
        clients.push(client);
    }
    let mut over = RawHttp::connect(&addr).await;
    over.send_get("/healthz").await;
    assert_eq!(
        over.response().await.status,
        "HTTP/1.1 503 Service Unavailable"
    );
    let metrics = clients[0].get_ok("/metrics").await;
    assert_eq!(
        sample(&metrics, "decision_matrix_http_connections_limit"),
        64.0
    );
    assert_eq!(
        sample(&metrics, "decision_matrix_http_connections_open"),
        64.0
    );
}
