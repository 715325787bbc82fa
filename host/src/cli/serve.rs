//! `decision-matrix serve`: loads the plugins, builds the evaluation engine and the session
//! store, and serves MCP until the client leaves or the process is asked to stop.
//!
//! Stopping (Ctrl-C, SIGTERM) cancels in-flight evaluations, which keep the cells they
//! finished and answer their clients, then closes the transports.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::engine::Engine;
use crate::config::Config;
use crate::plugins::grants::GrantsConfig;
use crate::providers::DerivedBackend;
use crate::server::{Decisions, Transport, transport};

/// Runs the server; returns the exit code.
pub async fn serve(
    config: &Config,
    grants: GrantsConfig,
    backends: &[DerivedBackend],
) -> anyhow::Result<i32> {
    // Settings that refuse to start (an open bind, say) are checked before any work is done.
    let http = match config.server.transport {
        Transport::Stdio => None,
        Transport::Http => Some(config.server.http_settings().map_err(anyhow::Error::msg)?),
    };
    let engine = Engine::start(config, grants, backends).await?;
    let decisions = engine.decisions.clone();
    let cleanup = decisions.sessions().spawn_cleanup();
    let alerts = decisions.spawn_alert_checks();

    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(decisions.clone(), shutdown.clone()));
    let result = match http {
        None => transport::serve_stdio(decisions, shutdown).await,
        Some(http) => transport::serve_http(decisions, http, shutdown).await,
    };
    cleanup.abort();
    alerts.abort();
    drop(engine);
    result.map(|()| 0)
}

/// How long a stop waits for cancelled evaluations to answer their clients.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Time for answers handed to the transport to reach the wire: rmcp has no "flushed"
/// signal, and closing the transport at once loses a response queued a moment before.
const FLUSH_GRACE: Duration = Duration::from_millis(250);

/// On Ctrl-C or SIGTERM: cancels the evaluations in flight, lets them answer their clients
/// (they keep the cells they finished), then closes the transports.
async fn stop_on_signal(decisions: Arc<Decisions>, transports: CancellationToken) {
    signalled().await;
    let stopping = decisions.stopping();
    tracing::info!(
        running = stopping.running(),
        "stopping: cancelling evaluations in flight"
    );
    let had_running = stopping.running() > 0;
    stopping.stop();
    if tokio::time::timeout(STOP_GRACE, stopping.drained())
        .await
        .is_err()
    {
        tracing::warn!(
            running = stopping.running(),
            "evaluations still running after {STOP_GRACE:?}; closing anyway"
        );
    }
    if had_running {
        tokio::time::sleep(FLUSH_GRACE).await;
    }
    transports.cancel();
}

async fn signalled() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
