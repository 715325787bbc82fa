//! The transports: stdio (what MCP clients launch) and streamable HTTP.
//!
//! On stdio, stdout carries only JSON-RPC; logs go to stderr. Over HTTP the MCP endpoint is
//! `/mcp` (rmcp's streamable HTTP service, which also rejects foreign `Host` headers and,
//! when configured, foreign `Origin`s: DNS-rebinding protection), `/healthz` answers without
//! authentication (load balancers and orchestrators probe it), `/metrics` gives the
//! Prometheus text, and an optional bearer token guards `/mcp` and `/metrics` (the metrics
//! show how the server is used; scrapers can send a token).
//!
//! Connections are served under limits (see [`super::connections`]): how many may be open,
//! how long a request head may take and how long a kept-alive connection may stay idle.
//!
//! `/healthz` answers 200 whether the status is `ok` or `degraded`: a degraded server still
//! serves, and taking it out of rotation would move its load onto the others. The body says
//! which, with the reasons.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::ServiceExt as _;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::Decisions;
use super::connections::{self, ConnectionLimits};
use super::mcp::McpServer;
use super::scope::TokenTag;
use crate::telemetry::connections::ConnectionStats;
pub use decision_matrix_core::config::HttpSettings;

/// Serves one client on stdin/stdout until it disconnects or `shutdown` fires.
pub async fn serve_stdio(
    decisions: Arc<Decisions>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (input, output) = super::stdio::streams();
    let running = McpServer::new(decisions)
        .serve(super::stdio::StdioTransport::new(input, output))
        .await
        .context("starting the stdio transport")?;
    let cancel = running.cancellation_token();
    tokio::select! {
        result = running.waiting() => {
            result.context("serving stdio")?;
        }
        () = shutdown.cancelled() => cancel.cancel(),
    }
    Ok(())
}

/// The HTTP application: `/mcp`, `/metrics` (with the counters of `connections`) and
/// `/healthz`.
pub fn http_app(
    decisions: Arc<Decisions>,
    settings: &HttpSettings,
    connections: Arc<ConnectionStats>,
    shutdown: CancellationToken,
) -> Router {
    // Stateless: the server never speaks to a client outside a call, so an MCP session per
    // client would only add a worker and an event stream per request, and would pin each
    // client to one instance behind a load balancer. Every request stands alone; a call that
    // reports progress answers with an event stream (its notifications, then its result),
    // any other with plain JSON. A client that cancels or goes away stops its call.
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(settings.allowed_hosts.clone())
        .with_cancellation_token(shutdown.child_token());
    if !settings.allowed_origins.is_empty() {
        config = config.with_allowed_origins(settings.allowed_origins.clone());
    }
    let handlers = decisions.clone();
    let service = StreamableHttpService::new(
        move || Ok(McpServer::new(handlers.clone())),
        LocalSessionManager::default().into(),
        config,
    );
    let mut mcp = Router::new().nest_service("/mcp", service).route(
        "/metrics",
        axum::routing::get(move |decisions| metrics(decisions, connections)),
    );
    if !settings.bearer_tokens.is_empty() {
        let tokens: Arc<[String]> = settings.bearer_tokens.clone().into();
        mcp = mcp.layer(middleware::from_fn_with_state(tokens, require_bearer));
    }
    Router::new()
        .route("/healthz", axum::routing::get(healthz))
        .merge(mcp)
        .with_state(decisions)
}

/// `{"status": "ok"|"degraded", "reasons": [...], "alerts": [...], ...}`.
async fn healthz(State(decisions): State<Arc<Decisions>>) -> axum::Json<serde_json::Value> {
    let snapshot = decisions.observe().await;
    axum::Json(serde_json::json!({
        "status": snapshot.health.status,
        "reasons": snapshot.health.reasons,
        "alerts": snapshot.health.alerts,
        "version": snapshot.version,
        "uptime_seconds": snapshot.uptime_seconds,
        "active_sessions": snapshot.sessions.active,
        "max_sessions": snapshot.sessions.max,
        "evaluation_queue_depth": snapshot.evaluation_queue_depth,
    }))
}

/// The Prometheus text of every metric.
async fn metrics(
    State(decisions): State<Arc<Decisions>>,
    connections: Arc<ConnectionStats>,
) -> Response {
    let snapshot = decisions.observe().await;
    let mut text = crate::telemetry::prometheus::render(&snapshot);
    text.push_str(&crate::telemetry::prometheus::render_connections(
        &connections.counts(),
    ));
    (
        [(
            header::CONTENT_TYPE,
            crate::telemetry::prometheus::CONTENT_TYPE,
        )],
        text,
    )
        .into_response()
}

/// Lets through a request bearing one of `tokens`, tagged with that token (for its
/// session scope); refuses any other.
async fn require_bearer(
    State(tokens): State<Arc<[String]>>,
    mut request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    // Compared in constant time, with every token: which one matched must not show in the
    // time taken either.
    let matched = given.and_then(|given| {
        tokens.iter().fold(None, |found, token| {
            found.or(constant_time_eq(given, token).then_some(token))
        })
    });
    if let Some(token) = matched {
        request.extensions_mut().insert(TokenTag::of(token));
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "missing or invalid bearer token",
        )
            .into_response()
    }
}

/// Whether `given` is `token`, in a time that depends only on their lengths.
fn constant_time_eq(given: &str, token: &str) -> bool {
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Serves HTTP on `settings.addr` until `shutdown` fires, then finishes open requests.
///
/// The connection cap is lowered to fit the process's descriptor limit (with a warning).
pub async fn serve_http(
    decisions: Arc<Decisions>,
    settings: HttpSettings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .with_context(|| format!("listening on {}", settings.addr))?;
    let local = listener.local_addr().context("reading the bound address")?;
    // Tests and scripts read the port from here when they asked for port 0.
    tracing::info!(address = %local, "MCP streamable HTTP at http://{local}/mcp");
    eprintln!("listening on http://{local}/mcp");
    if !local.ip().is_loopback() && settings.bearer_tokens.is_empty() {
        // Only reachable with `--insecure-unauthenticated-bind` (see `ServerConfig`).
        tracing::warn!(
            address = %local,
            "INSECURE: listening beyond loopback with no token; anyone who reaches this port can use every session"
        );
        eprintln!(
            "WARNING: INSECURE: {local} accepts MCP calls from anyone who reaches it (no --auth-token)"
        );
    }
    let limits = ConnectionLimits {
        max_connections: connections::within_descriptor_limit(settings.connections.max_connections),
        ..settings.connections
    };
    let stats = Arc::new(ConnectionStats::new(limits.max_connections));
    let app = http_app(decisions, &settings, stats.clone(), shutdown.clone());
    connections::serve(listener, app, limits, stats, shutdown).await;
    Ok(())
}
