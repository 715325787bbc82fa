//! `decision-matrix serve`: loads the plugins, builds the evaluation engine and the session
//! store, and serves MCP until the client leaves or the process is asked to stop.
//!
//! Stopping (Ctrl-C, SIGTERM) cancels in-flight evaluations, which keep the cells they
//! finished and answer their clients, then closes the transports.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::evaluation::{Backend, Backends, Evaluator};
use crate::plugins::grants::GrantsConfig;
use crate::plugins::{PluginCatalog, PluginHost};
use crate::providers::BuiltinBackend;
use crate::server::transport;
use crate::server::{BedrockTarget, Decisions, SessionManager, Transport};

/// Runs the server; returns the exit code.
pub async fn serve(
    config: &Config,
    grants: GrantsConfig,
    builtins: &[BuiltinBackend],
) -> anyhow::Result<i32> {
    let settings = config
        .evaluation
        .settings()
        .map_err(|e| anyhow::anyhow!("in [evaluation]: {e}"))?;
    config
        .limits
        .validate()
        .map_err(|e| anyhow::anyhow!("in [limits]: {e}"))?;
    let host = PluginHost::new(config.plugins.clone(), grants)?;
    let catalog = Arc::new(PluginCatalog::load(
        &host,
        host.settings().plugins_dir().as_deref(),
    ));
    for failure in catalog.failures() {
        tracing::warn!("plugin not loaded: {failure}");
    }
    let backends: Backends = catalog
        .backends()
        .map(|b| {
            (
                b.descriptor().manifest.id.clone(),
                Arc::new(b.clone()) as Arc<dyn Backend>,
            )
        })
        .collect::<BTreeMap<_, _>>();
    let evaluator = Evaluator::new(backends, settings);
    let session_settings = config
        .sessions
        .settings()
        .map_err(|e| anyhow::anyhow!("in [sessions]: {e}"))?;
    let sessions = Arc::new(SessionManager::new(session_settings));
    let cleanup = sessions.spawn_cleanup();
    let decisions = Arc::new(
        Decisions::new(sessions, evaluator, catalog, config.limits.clone())
            .with_bedrock(bedrock_target(builtins)),
    );

    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(decisions.clone(), shutdown.clone()));
    let result = match config.server.transport {
        Transport::Stdio => transport::serve_stdio(decisions, shutdown).await,
        Transport::Http => {
            let http = config.server.http_settings().map_err(anyhow::Error::msg)?;
            transport::serve_http(decisions, http, shutdown).await
        }
    };
    cleanup.abort();
    drop(host);
    result.map(|()| 0)
}

fn bedrock_target(builtins: &[BuiltinBackend]) -> BedrockTarget {
    let config = builtins
        .iter()
        .find(|b| b.id == "bedrock")
        .map(|b| &b.grant.config);
    let get = |key: &str| config.and_then(|c| c.get(key)).cloned().unwrap_or_default();
    BedrockTarget {
        region: get("region"),
        model: get("default-model"),
    }
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
