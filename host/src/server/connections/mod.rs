//! HTTP/1 connections, served under limits: at most so many open at once, a time limit on
//! receiving each request head, and one on waiting idle for the next request.
//!
//! Without them a client could hold the server's memory and descriptors for free: a
//! connection that never finishes its request head (slowloris), or thousands kept alive and
//! idle, each cost a task and its buffers for as long as the client liked, and once the
//! descriptors ran out new clients waited in the listen backlog with no answer at all.
//!
//! Connections are served with hyper's HTTP/1 connection directly rather than through
//! `axum::serve`, which takes no settings. hyper has one timer of its own for these limits,
//! `header_read_timeout`, and it runs from the end of one response to the end of the next
//! request head: one limit for both the idle wait and a slow head. The two are watched here
//! instead ([`watch`]), so an idle connection may stay longer than a head may take.
//!
//! At the cap a connection is accepted only to be answered `503` and closed: that frees its
//! place in the backlog at once, and the client learns why. Each episode of refusals is
//! logged once, when it starts and when it ends; every refusal and timeout is counted in
//! [`ConnectionStats`] for `/metrics`.

pub mod watch;

use std::convert::Infallible;
use std::io::ErrorKind;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;

use self::watch::{Activity, Finishing, Timeouts, Watched};
use crate::telemetry::connections::ConnectionStats;
pub use decision_matrix_core::config::ConnectionLimits;

/// Descriptors kept for everything but incoming connections (the session store, plugin
/// files, calls to LLM backends): at least this many, or a quarter of the limit.
const RESERVED_DESCRIPTORS: u64 = 64;
/// Pause after an accept failed for want of resources (descriptors, memory), so the loop
/// does not spin while none are free.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// `configured`, lowered to what the process's descriptor limit leaves for connections.
pub fn within_descriptor_limit(configured: usize) -> usize {
    let Some(soft) = rustix::process::getrlimit(rustix::process::Resource::Nofile).current else {
        return configured;
    };
    let available = soft
        .saturating_sub(RESERVED_DESCRIPTORS.max(soft / 4))
        .max(1);
    let allowed = usize::try_from(available).unwrap_or(usize::MAX);
    if allowed < configured {
        tracing::warn!(
            configured,
            descriptor_limit = soft,
            allowed,
            "server.max_connections is more than the descriptor limit leaves for connections; \
             accepting at most {allowed} (raise the limit with `ulimit -n` or systemd's \
             LimitNOFILE= to accept more)"
        );
    }
    allowed.min(configured)
}

/// Serves `app` on every connection `listener` accepts, within `limits`, until `shutdown`
/// fires; then stops accepting, lets open requests finish and returns when every
/// connection is closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    stats: Arc<ConnectionStats>,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let closing = Arc::new(AtomicUsize::new(0));
    let tasks = TaskTracker::new();
    let mut failing = false;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                stats.accept_failed();
                if !failing {
                    tracing::warn!(%error, "accepting an HTTP connection failed; retrying (logged once until an accept succeeds)");
                    failing = true;
                }
                if !transient(error.kind()) {
                    tokio::select! {
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                        () = shutdown.cancelled() => break,
                    }
                }
                continue;
            }
        };
        if std::mem::take(&mut failing) {
            tracing::info!("accepting HTTP connections again");
        }
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            // A connection is closing: its socket is closed (its client may have seen that
            // and connected again) and its slot comes back in the same breath, without an
            // await in between. Waiting for it is not refusing a client the cap has room for.
            Err(_) if closing.load(Ordering::SeqCst) > 0 => {
                match slots.clone().acquire_owned().await {
                    Ok(slot) => slot,
                    Err(_) => break,
                }
            }
            Err(_) => {
                refuse(&stream, limits.max_connections, &stats);
                continue;
            }
        };
        // Without TCP_NODELAY, a response written in more than one segment (an event
        // stream's events, a large body) waits on the client's delayed ACK: a stall of up
        // to 40 ms per call on a kept-alive connection, the reason some clients give up
        // reusing connections at all. Answers here are small and latency-bound.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set on an accepted connection");
        }
        tasks.spawn(serve_connection(
            stream,
            app.clone(),
            limits.timeouts,
            stats.clone(),
            shutdown.clone(),
            Slot {
                permit: slot,
                closing: closing.clone(),
            },
        ));
    }
    drop(listener);
    tasks.close();
    tasks.wait().await;
}

/// Accept errors that concern one connection only (it went away before it was accepted),
/// after which the next accept may well succeed at once.
fn transient(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionAborted
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionRefused
            | ErrorKind::Interrupted
    )
}

/// Answers a connection over the cap with `503` and closes it, without waiting on it.
fn refuse(stream: &TcpStream, limit: usize, stats: &ConnectionStats) {
    if stats.refused() {
        tracing::warn!(
            limit,
            "HTTP connection limit reached: {limit} connections are open, so new ones are \
             answered 503 and closed until one ends (server.max_connections)"
        );
    }
    const BODY: &str = "the server has as many connections open as it allows; try again shortly\n";
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    // Whatever the client already sent is read first: closing a socket with unread data
    // resets the connection, and the client might lose the answer.
    let mut scratch = [0; 4096];
    let _ = stream.try_read(&mut scratch);
    // A fresh socket's send buffer is empty, so the answer fits; if it does not, the client
    // still sees the connection closed.
    let _ = stream.try_write(response.as_bytes());
}

/// A connection's place under the cap, and the count of connections between closing their
/// socket and giving their place back.
struct Slot {
    permit: OwnedSemaphorePermit,
    closing: Arc<AtomicUsize>,
}

/// Serves one connection until it closes, a time limit closes it, or shutdown has let its
/// last request finish. Holds `slot` (its place under the cap) until then.
async fn serve_connection(
    stream: TcpStream,
    app: Router,
    timeouts: Timeouts,
    stats: Arc<ConnectionStats>,
    shutdown: CancellationToken,
    slot: Slot,
) {
    stats.opened();
    let activity = Activity::new(timeouts);
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let busy = activity.request_started();
            let app = app.clone();
            async move {
                let response = match app.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                Ok::<_, Infallible>(response.map(|body| Finishing::new(body, busy)))
            }
        })
    };
    let io = TokioIo::new(Watched::new(stream, activity.clone()));
    // In a block of its own, so the connection (and its socket) is closed before its slot
    // is given back.
    let episode_over = {
        let connection = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
        let mut connection = std::pin::pin!(connection);
        let mut draining = false;
        let closed = loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "HTTP connection ended with an error");
                    }
                    break None;
                }
                () = shutdown.cancelled(), if !draining => {
                    // Idle connections close now; one serving a request closes after it.
                    connection.as_mut().graceful_shutdown();
                    draining = true;
                }
                closed = activity.expired() => break Some(closed),
            }
        };
        if let Some(closed) = closed {
            tracing::debug!(reason = ?closed, "closing an HTTP connection that ran out of time");
        }
        // Announced before the socket closes: whoever sees it closed and connects again is
        // waited for, not refused (see `serve`).
        slot.closing.fetch_add(1, Ordering::SeqCst);
        // Counted before the socket closes: whoever sees it closed sees it counted.
        stats.ended(closed)
    };
    drop(slot.permit);
    slot.closing.fetch_sub(1, Ordering::SeqCst);
    if episode_over {
        tracing::info!("below the HTTP connection limit again; accepting new connections");
    }
}

#[cfg(test)]
mod tests;
