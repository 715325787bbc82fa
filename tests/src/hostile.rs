//! Servers that plugin sandbox tests and the fault bench aim plugins at: one that shows a
//! plugin exactly what it sent, one that echoes its key back encoded, one whose answer is too
//! large to accept, one that redirects to the cloud metadata address, and one that holds its
//! answer until the test lets it go.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{any, get};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use tokio::sync::Notify;

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

/// The encodings [`encoding_echo_server`] answers in, one path each.
pub const ECHO_ENCODINGS: &[&str] = &[
    "raw",
    "base64",
    "base64url",
    "basic-base64",
    "hex",
    "hex-upper",
    "percent",
    "json-unicode",
    "json-slash",
    "reversed",
];

/// `token` as [`encoding_echo_server`] echoes it at path `encoding`; `None` for an encoding
/// not in [`ECHO_ENCODINGS`].
pub fn echo_encoded(encoding: &str, token: &str) -> Option<String> {
    Some(match encoding {
        "raw" => token.to_owned(),
        "base64" => STANDARD.encode(format!("Bearer {token}")),
        "base64url" => URL_SAFE_NO_PAD.encode(token),
        "basic-base64" => STANDARD.encode(format!("user:{token}")),
        "hex" => hex::encode(token),
        "hex-upper" => hex::encode_upper(token),
        "percent" => {
            percent_encoding::utf8_percent_encode(token, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
        }
        "json-unicode" => token
            .chars()
            .map(|c| format!("\\u{:04X}", c as u32))
            .collect(),
        "json-slash" => token.replace('/', "\\/"),
        "reversed" => token.chars().rev().collect(),
        _ => return None,
    })
}

/// Answers `/{encoding}` with the request's bearer token spelled as [`echo_encoded`] says,
/// in a JSON body and an `x-echo` header, as an API reflecting its request might.
pub async fn encoding_echo_server() -> MockServer {
    MockServer::start(Router::new().route(
        "/{encoding}",
        any(
            |Path(encoding): Path<String>, headers: HeaderMap| async move {
                let token = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or("");
                let Some(echoed) = echo_encoded(&encoding, token) else {
                    return (StatusCode::NOT_FOUND, HeaderMap::new(), String::new());
                };
                let mut reply = HeaderMap::new();
                if let Ok(value) = HeaderValue::from_str(&echoed) {
                    reply.insert("x-echo", value);
                }
                (
                    StatusCode::OK,
                    reply,
                    format!("{{\"received\":\"{echoed}\"}}"),
                )
            },
        ),
    ))
    .await
}

/// A server whose `/gate` answers only once the test calls [`Gate::open`]; [`Gate::arrived`]
/// resolves when a request is waiting there. Any other path answers at once.
pub async fn gated_server() -> (MockServer, Gate) {
    let gate = Gate {
        arrived: Arc::new(Notify::new()),
        open: Arc::new(Notify::new()),
    };
    let inside = gate.clone();
    let server = MockServer::start(
        Router::new()
            .route(
                "/gate",
                get(move || async move {
                    inside.arrived.notify_one();
                    inside.open.notified().await;
                    "through the gate"
                }),
            )
            .route("/{*path}", get(|| async { "open" })),
    )
    .await;
    (server, gate)
}

/// The test's side of [`gated_server`].
#[derive(Clone)]
pub struct Gate {
    arrived: Arc<Notify>,
    open: Arc<Notify>,
}

impl Gate {
    /// Resolves once a request waits at `/gate` (at once if one already arrived).
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }

    /// Lets the waiting request (or the next one) through.
    pub fn open(&self) {
        self.open.notify_one();
    }
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
