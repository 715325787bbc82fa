//! Plugin platform benchmarks: the cost of a plugin call (and of a built-in's first call), of
//! the host's HTTP pipeline, and of start-up with a cold and a warm compile cache.
//!
//! Run with `cargo bench -p decision-matrix --bench plugins`; BENCHMARKS.md records results.

#[path = "support/plugin_host.rs"]
mod plugin_host;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use decision_matrix::plugins::bindings::http::{Auth, Method, Request as HttpRequest};
use decision_matrix::plugins::grants::Grant;
use decision_matrix::plugins::net::{HttpLimits, Network, PluginNetwork, SecretStore};
use decision_matrix_testkit::MockServer;
use plugin_host::{host, matrix_20x15, request};

fn runtime(threads: Threads) -> tokio::runtime::Runtime {
    match threads {
        Threads::Multi => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
        Threads::Current => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    }
    .expect("runtime")
}

/// The server's runtime (two workers), or one thread for client and mock server, which takes
/// cross-thread wake-ups out of the comparison and leaves the CPU work.
#[derive(Clone, Copy, Debug)]
enum Threads {
    Multi,
    Current,
}

fn plugin_calls(c: &mut Criterion) {
    let rt = runtime(Threads::Multi);
    let cache = tempfile::tempdir().expect("tempdir");
    let (_host, catalog) = host(None, cache.path());
    let scorer = catalog
        .scorer("weighted-average")
        .expect("weighted-average")
        .clone();
    let backend = catalog
        .backend("fixture-adversary")
        .expect("fixture-adversary")
        .clone();

    let matrix = matrix_20x15();
    c.bench_function("scoring/weighted-average 20x15 (instantiate + rank)", |b| {
        b.to_async(&rt)
            .iter(|| async { scorer.rank(matrix.clone(), Vec::new()).await.expect("rank") })
    });
    c.bench_function("backend/echo (instantiate + generate, no I/O)", |b| {
        b.to_async(&rt)
            .iter(|| async { backend.generate(request("echo hi")).await.expect("echo") })
    });
}

/// What a built-in's first call costs on top of a later one: it maps the compile cache entry
/// and links the component, which start-up did and then dropped (see `plugins::deferred`).
fn first_call(c: &mut Criterion) {
    let rt = runtime(Threads::Multi);
    let cache = tempfile::tempdir().expect("tempdir");
    drop(host(None, cache.path()));
    let mut group = c.benchmark_group("first call");
    group.bench_function(
        "scoring/weighted-average info, first call after start-up",
        |b| {
            b.to_async(&rt).iter_batched(
                || host(None, cache.path()),
                |(host, catalog)| async move {
                    let scorer = catalog
                        .scorer("weighted-average")
                        .expect("weighted-average");
                    scorer.info().await.expect("info");
                    (host, catalog)
                },
                BatchSize::PerIteration,
            )
        },
    );
    let (_host, catalog) = host(None, cache.path());
    let scorer = catalog
        .scorer("weighted-average")
        .expect("weighted-average")
        .clone();
    rt.block_on(scorer.info()).expect("first call");
    group.bench_function("scoring/weighted-average info, later call", |b| {
        b.to_async(&rt)
            .iter(|| async { scorer.info().await.expect("info") })
    });
    group.finish();
}

/// One GET to a loopback server three ways: from a plugin through `http.send`, through the
/// host pipeline without a plugin, and with a plain reqwest client. Host overhead is the
/// first minus the last.
fn http_overhead(c: &mut Criterion) {
    for threads in [Threads::Multi, Threads::Current] {
        let rt = runtime(threads);
        let cache = tempfile::tempdir().expect("tempdir");
        let server = rt.block_on(MockServer::start(
            Router::new().route("/ping", get(|| async { "pong" })),
        ));
        let grant_text = format!("hosts = [\"{}\"]\nallow_private = true", server.base_url());
        let grant: Grant = toml::from_str(&grant_text).expect("grant");
        let (_host, catalog) = host(Some(grant.clone()), cache.path());
        let backend = catalog
            .backend("fixture-adversary")
            .expect("fixture-adversary")
            .clone();
        let url = format!("{}/ping", server.base_url());
        let label = format!("{threads:?}").to_lowercase();

        let fetch = request(&format!("fetch GET {url}"));
        c.bench_function(&format!("http/{label}-thread/plugin http.send"), |b| {
            b.to_async(&rt)
                .iter(|| async { backend.generate(fetch.clone()).await.expect("fetch") })
        });

        let network =
            Arc::new(Network::new(HttpLimits::default(), SecretStore::default()).expect("network"));
        let pipeline = PluginNetwork::new("bench".to_owned(), Arc::new(grant), network);
        let host_request = HttpRequest {
            method: Method::Get,
            url: url.clone(),
            headers: Vec::new(),
            body: None,
            auth: Auth::None,
            timeout_ms: None,
        };
        c.bench_function(
            &format!("http/{label}-thread/host pipeline, no wasm"),
            |b| {
                b.to_async(&rt)
                    .iter(|| async { pipeline.send(host_request.clone()).await.expect("send") })
            },
        );

        let direct = reqwest::Client::new();
        c.bench_function(&format!("http/{label}-thread/direct reqwest"), |b| {
            b.to_async(&rt).iter(|| async {
                let response = direct.get(&url).send().await.expect("send");
                response.bytes().await.expect("body")
            })
        });
    }
}

/// Process start to "plugins ready": `plugins list` loads and pre-instantiates every plugin.
fn startup(c: &mut Criterion) {
    let empty_plugins = tempfile::tempdir().expect("tempdir");
    let run = |cache: &Path| {
        let status = Command::new(env!("CARGO_BIN_EXE_decision-matrix"))
            .args(["plugins", "list"])
            .env_remove("DMM_CONFIG")
            .env("DMM_PLUGINS_DIR", empty_plugins.path())
            .env("DMM_PLUGIN_CACHE_DIR", cache)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run");
        assert!(status.success());
    };
    let mut group = c.benchmark_group("startup");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("plugins ready, empty compile cache", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("tempdir"),
            |dir| run(&dir.path().join("cache")),
            BatchSize::PerIteration,
        )
    });
    let warm = tempfile::tempdir().expect("tempdir");
    run(&warm.path().join("cache"));
    group.bench_function("plugins ready, warm compile cache", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                run(&warm.path().join("cache"));
            }
            start.elapsed()
        })
    });
    group.finish();
}

criterion_group!(benches, plugin_calls, first_call, http_overhead, startup);
criterion_main!(benches);
