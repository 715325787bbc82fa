//! Plugin call overhead, timed in-process on a runtime like the server's: what one call into
//! a sandboxed plugin costs the host (a fresh store and instance per call, as the server
//! makes them), and what a plugin's HTTP request costs over the same request sent with plain
//! reqwest.

use std::future::Future;
use std::time::Instant;

use axum::Router;
use axum::routing::get;
use decision_matrix::plugins::grants::Grant;
use decision_matrix_testkit::MockServer;

use super::figures::{Samples, time};
use super::plugin_host::{host, matrix_20x15, request};

/// Untimed calls before the timed ones, per path.
const WARM_UP_CALLS: usize = 200;
/// Timed calls per path.
const TIMED_CALLS: usize = 2000;

/// One way of calling, and its latencies.
pub struct PluginCall {
    pub what: &'static str,
    pub samples: Samples,
}

/// `call`, awaited one at a time, [`WARM_UP_CALLS`] times untimed and [`TIMED_CALLS`] timed.
async fn timed<F, Fut>(what: &'static str, mut call: F) -> PluginCall
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    for _ in 0..WARM_UP_CALLS {
        call().await;
    }
    let mut samples = Vec::with_capacity(TIMED_CALLS);
    for _ in 0..TIMED_CALLS {
        let started = Instant::now();
        call().await;
        samples.push(started.elapsed());
    }
    let samples = Samples::new(samples);
    eprintln!(
        "plugin call: {what}: p50 {}, p99 {}",
        time(samples.p50()),
        time(samples.p99())
    );
    PluginCall { what, samples }
}

/// A scoring plugin call, a backend plugin call without I/O, and one loopback `GET` through a
/// plugin's `http.send` and through plain reqwest, in that order.
pub async fn plugin_calls() -> Vec<PluginCall> {
    let cache = tempfile::tempdir().expect("a temporary directory");
    let server =
        MockServer::start_unrecorded(Router::new().route("/ping", get(|| async { "pong" }))).await;
    let grant: Grant = toml::from_str(&format!(
        "hosts = [\"{}\"]\nallow_private = true",
        server.base_url()
    ))
    .expect("grant");
    let (_host, catalog) = host(Some(grant), cache.path());
    let scorer = catalog
        .scorer("weighted-average")
        .expect("weighted-average");
    let backend = catalog
        .backend("fixture-adversary")
        .expect("fixture-adversary");
    let matrix = matrix_20x15();
    let echo = request("echo hi");
    let url = format!("{}/ping", server.base_url());
    let fetch = request(&format!("fetch GET {url}"));
    let direct = reqwest::Client::new();
    vec![
        timed(
            "scoring plugin (`weighted-average`, 20 × 15 matrix): instantiate + `rank`",
            || async {
                scorer.rank(matrix.clone(), Vec::new()).await.expect("rank");
            },
        )
        .await,
        timed(
            "backend plugin (adversary fixture, `echo`, no I/O): instantiate + `generate`",
            || async {
                backend.generate(echo.clone()).await.expect("echo");
            },
        )
        .await,
        timed(
            "loopback `GET` from a backend plugin through `http.send` (instantiate, grant check, send, answer)",
            || async {
                backend.generate(fetch.clone()).await.expect("fetch");
            },
        )
        .await,
        timed("the same `GET` with plain reqwest", || async {
            let response = direct.get(&url).send().await.expect("send");
            response.bytes().await.expect("body");
        })
        .await,
    ]
}
