//! Memory per session: one HTTP server made to hold [`SESSIONS`] evaluated sessions at once,
//! its resident set read before and after.
//!
//! The answer cache is off for this run so that the growth is the sessions' own (the cache
//! is bounded by `evaluation.cache_entries` whatever the number of sessions), and the mock
//! model answers at once: the evaluations' speed is not what is measured.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use super::figures::{megabytes, time};
use super::process::{Server, Transport, call};
use super::workload::{
    CRITERIA, Judge, OPTIONS, assert_fully_evaluated, one_pass, session_id, start_args,
};

/// Sessions held at once.
pub const SESSIONS: usize = 10_000;
/// Clients creating them, each on its own connection.
const CLIENTS: usize = 16;

/// What holding [`SESSIONS`] sessions cost.
pub struct Capacity {
    /// Resident set with the server warmed up and holding no session.
    pub baseline: u64,
    /// Resident set holding every session.
    pub loaded: u64,
    /// Peak resident set (`VmHWM`) over the whole run.
    pub peak: u64,
    /// Sessions the server reported active at the end.
    pub active: u64,
    /// Time to create and evaluate them all.
    pub elapsed: Duration,
}

impl Capacity {
    /// Resident bytes per session.
    pub fn per_session(&self) -> f64 {
        self.loaded.saturating_sub(self.baseline) as f64 / SESSIONS as f64
    }
}

/// Creates and evaluates one session of [`OPTIONS`] × [`CRITERIA`] on `topic`.
async fn evaluated_session(client: &super::process::Client, topic: &str) {
    let started = call(
        client,
        "start_decision_analysis",
        start_args(topic, CRITERIA),
    )
    .await;
    let id = session_id(&started);
    let evaluated = call(client, "evaluate_options", one_pass(&id)).await;
    assert_fully_evaluated(
        &evaluated,
        OPTIONS * CRITERIA,
        CRITERIA * OPTIONS.div_ceil(5),
    );
}

/// [`SESSIONS`] evaluated sessions held by one server.
pub async fn capacity(llm: &Judge) -> Capacity {
    let max_sessions = format!("sessions.max_sessions={SESSIONS}");
    let args = [
        "--set",
        max_sessions.as_str(),
        "--set",
        "evaluation.cache_entries=0",
    ];
    let server = Server::start(Transport::Http, CLIENTS, &llm.mock, &args).await;
    // Warm up every connection and the plugin instances, then start from an empty store.
    let warm_ups = server
        .clients
        .iter()
        .enumerate()
        .map(|(index, client)| async move {
            evaluated_session(client, &format!("warm-up {index}")).await;
        });
    futures_util::future::join_all(warm_ups).await;
    call(&server.clients[0], "clear_all_sessions", json!({})).await;
    let baseline = server.resident();

    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let creators = server.clients.iter().map(|client| {
        let next = &next;
        async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= SESSIONS {
                    break;
                }
                evaluated_session(client, &format!("Choose a platform, session {index}")).await;
            }
        }
    });
    futures_util::future::join_all(creators).await;
    let elapsed = started.elapsed();
    let loaded = server.resident();
    let stats = server.stats().await;
    let active = stats["sessions"]["active"].as_u64().unwrap_or(0);
    let peak = server.peak_memory();
    server.stop().await;
    let capacity = Capacity {
        baseline,
        loaded,
        peak,
        active,
        elapsed,
    };
    eprintln!(
        "{SESSIONS} sessions in {}: {active} active, resident {:.1} -> {:.1} MB, {:.1} KB per session, peak {:.1} MB",
        time(elapsed),
        megabytes(baseline),
        megabytes(loaded),
        capacity.per_session() / 1e3,
        megabytes(peak)
    );
    capacity
}
