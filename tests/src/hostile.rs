//! Servers that plugin sandbox tests and the fault bench aim plugins at: one that shows a
//! plugin exactly what it sent, one whose answer is too large to accept, and one that
//! redirects to the cloud metadata address.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{any, get};

use crate::MockServer;

/// Size of [`huge_body_server`]'s answer: far beyond any plugin's response limit.
pub const HUGE_BODY_BYTES: usize = 20 * 1024 * 1024;

/// Answers any path with the request's headers (`name=value` lines) and then its body, and
/// echoes the `authorization` header back as `x-echo-auth` (`none` without one), so a test
/// sees what reached the wire and what a plugin could read back.
pub async fn echo_server() -> MockServer {
    MockServer::start(Router::new().route(
        "/{*path}",
        any(|headers: HeaderMap, body: axum::body::Bytes| async move {
            let mut text = String::new();
            for (name, value) in &headers {
                text.push_str(&format!("{name}={}\n", value.to_str().unwrap_or("?")));
            }
            text.push_str(&String::from_utf8_lossy(&body));
            let auth = headers
                .get("authorization")
                .cloned()
                .unwrap_or_else(|| HeaderValue::from_static("none"));
            ([("x-echo-auth", auth)], text)
        }),
    ))
    .await
}

/// Answers `GET /huge` with [`HUGE_BODY_BYTES`] bytes.
pub async fn huge_body_server() -> MockServer {
    MockServer::start(Router::new().route("/huge", get(|| async { vec![b'x'; HUGE_BODY_BYTES] })))
        .await
}

/// Answers `GET /jump` with a 302 to the cloud metadata endpoint `169.254.169.254`.
pub async fn metadata_redirect_server() -> MockServer {
    MockServer::start(Router::new().route(
        "/jump",
        get(|| async {
            (
                StatusCode::FOUND,
                [("location", "http://169.254.169.254/latest/meta-data")],
                "",
            )
        }),
    ))
    .await
}
