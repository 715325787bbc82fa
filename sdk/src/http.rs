//! Outbound HTTP, performed by the host on the plugin's behalf.
//!
//! A plugin has no sockets. [`Request`] is the WIT `request` record with a small builder on
//! top; [`Request::send`] hands it to the host, which checks it against the operator's grants
//! (scheme, destination host, secret binding, private addresses), sends it with redirects off and
//! a time limit, and returns the buffered [`Response`]. Secrets are referenced by **name**
//! ([`Request::bearer`], [`Request::secret_header`], [`Request::aws_sigv4`]); the host injects
//! the value, so the plugin never sees it. Authentication headers set by hand
//! (`authorization`, `x-api-key`, ...) are removed by the host.
//!
//! Any HTTP status is a response, not an error; [`Response::error_for_status`] turns non-2xx
//! answers into a [`PluginError::Upstream`] with the retry hints the host's retry policy reads.
//! A failure to deliver a response at all is an [`HttpError`], which converts into
//! [`PluginError`] with `?`.
//!
//! ```no_run
//! use dmx_plugin_sdk::{http::Request, PluginError};
//!
//! fn list_models() -> Result<serde_json::Value, PluginError> {
//!     let response = Request::get("https://api.example.com/v1/models")
//!         .bearer("example-api-key")
//!         .send()?
//!         .error_for_status()?;
//!     response.json()
//! }
//! ```
//!
//! Only components that export an LLM backend may use this module: the scoring world has no
//! `http` import, and the host refuses to instantiate a scoring component that imports it.

use std::borrow::Cow;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::backend_world::decision_matrix::plugin::http as wit;
use crate::{PluginError, UpstreamError};

pub use wit::{Auth, HeaderSecret, HttpError, Method, Request, Response, Sigv4};

/// Longest excerpt of a response body copied into an error message, in bytes.
const MAX_ERROR_BODY: usize = 512;

/// Sends `request` through the host and buffers the whole response. Same as
/// [`Request::send`].
pub fn send(request: &Request) -> Result<Response, HttpError> {
    wit::send(request)
}

/// How a backend's API key reaches its provider: the bare key in a header of the provider's
/// choosing (`x-api-key`, `x-goog-api-key`), or `Authorization: Bearer`. Either way the host
/// fills in the key; the plugin only names the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyAuth {
    /// The bare key in this header (lower case).
    Header(String),
    /// `Authorization: Bearer <key>`.
    Bearer,
}

impl KeyAuth {
    /// Reads the `api-key-header` setting: a header name, where `authorization` means a
    /// bearer token; `default` when unset.
    pub fn from_setting(header: Option<String>, default: &str) -> Result<KeyAuth, PluginError> {
        let header = header.unwrap_or_else(|| default.to_owned());
        if header.eq_ignore_ascii_case("authorization") {
            return Ok(KeyAuth::Bearer);
        }
        if !is_header_name(&header) {
            return Err(PluginError::InvalidInput(format!(
                "configuration `api-key-header` = {header:?} is not a header name; allowed: a \
                 name such as {default}, or authorization for a bearer token"
            )));
        }
        Ok(KeyAuth::Header(header.to_ascii_lowercase()))
    }
}

/// Where a rejected key came from, for a 401's advice: the variable the host read it from
/// (`api-key-env`), or, with no key at all, `set` (the variables that would give one).
pub fn key_hint(api_key_env: Option<&str>, has_key: bool, set: &str) -> String {
    match api_key_env {
        Some(var) => format!("the key comes from {var}"),
        None if has_key => "check the configured key".to_owned(),
        None => format!("no key is configured: set {set}"),
    }
}

/// An HTTP field name: one or more `tchar`s (RFC 9110, section 5.6.2).
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl Request {
    /// A request with no headers, no body, no authentication and the host's default time limit.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            auth: Auth::None,
            timeout_ms: None,
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    /// A `HEAD` request.
    pub fn head(url: impl Into<String>) -> Self {
        Self::new(Method::Head, url)
    }

    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    /// A `PUT` request.
    pub fn put(url: impl Into<String>) -> Self {
        Self::new(Method::Put, url)
    }

    /// A `PATCH` request.
    pub fn patch(url: impl Into<String>) -> Self {
        Self::new(Method::Patch, url)
    }

    /// A `DELETE` request.
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new(Method::Delete, url)
    }

    /// Sets a header, replacing any header of the same name (compared case-insensitively).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        self.headers.push((name, value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Serialises `value` as the JSON body and sets `content-type: application/json`. Fails
    /// with [`PluginError::Internal`] if `value` cannot be serialised.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self, PluginError> {
        let body = serde_json::to_vec(value).map_err(|e| {
            PluginError::Internal(format!("cannot serialise the request body as JSON: {e}"))
        })?;
        Ok(self.header("content-type", "application/json").body(body))
    }

    /// Sets how the host authenticates the request.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// `Authorization: Bearer <value of the secret named secret>`, filled in by the host.
    pub fn bearer(self, secret: impl Into<String>) -> Self {
        self.auth(Auth::Bearer(secret.into()))
    }

    /// `header: prefix + <value of the secret named secret>`, filled in by the host. With
    /// `prefix == None` the header carries the bare value.
    pub fn secret_header(
        self,
        header: impl Into<String>,
        secret: impl Into<String>,
        prefix: Option<&str>,
    ) -> Self {
        self.auth(Auth::Header(HeaderSecret {
            header: header.into(),
            secret: secret.into(),
            prefix: prefix.map(str::to_owned),
        }))
    }

    /// The API key held in the host secret `secret`, sent as `auth` says.
    pub fn api_key(self, secret: impl Into<String>, auth: &KeyAuth) -> Self {
        match auth {
            KeyAuth::Header(header) => self.secret_header(header.clone(), secret, None),
            KeyAuth::Bearer => self.bearer(secret),
        }
    }

    /// [`api_key`](Self::api_key) when a key secret is named; the request as it is otherwise
    /// (a local server, or a provider that will answer 401 with advice).
    pub fn optional_api_key(self, secret: Option<&str>, auth: &KeyAuth) -> Self {
        match secret {
            Some(secret) => self.api_key(secret, auth),
            None => self,
        }
    }

    /// Has the host sign the request with AWS Signature Version 4, using the credentials secret
    /// named `credentials`.
    pub fn aws_sigv4(
        self,
        credentials: impl Into<String>,
        region: impl Into<String>,
        service: impl Into<String>,
    ) -> Self {
        self.auth(Auth::AwsSigv4(Sigv4 {
            credentials: credentials.into(),
            region: region.into(),
            service: service.into(),
        }))
    }

    /// Total time limit for the request, in whole milliseconds (at least 1, saturating at
    /// `u32::MAX`). The host caps it at its own maximum.
    pub fn timeout(mut self, limit: Duration) -> Self {
        let ms = u32::try_from(limit.as_millis()).unwrap_or(u32::MAX);
        self.timeout_ms = Some(ms.max(1));
        self
    }

    /// [`timeout`](Self::timeout) of `ms` milliseconds when set; the host's default otherwise.
    pub fn optional_timeout_ms(self, ms: Option<u32>) -> Self {
        match ms {
            Some(ms) => self.timeout(Duration::from_millis(u64::from(ms))),
            None => self,
        }
    }

    /// Sends the request through the host and buffers the whole response.
    pub fn send(&self) -> Result<Response, HttpError> {
        wit::send(self)
    }
}

impl Response {
    /// A response built in memory, with header names lower-cased as the host delivers them.
    /// For unit tests of code that interprets responses.
    pub fn new(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
                .collect(),
            body: body.into(),
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text. Fails with a non-retryable [`PluginError::Upstream`] when it is
    /// not valid UTF-8.
    pub fn text(&self) -> Result<&str, PluginError> {
        std::str::from_utf8(&self.body).map_err(|e| {
            PluginError::Upstream(UpstreamError {
                status: Some(self.status),
                message: format!("response body is not UTF-8: {e}"),
                retryable: false,
                retry_after_ms: None,
            })
        })
    }

    /// The body as text, with invalid UTF-8 replaced by U+FFFD.
    pub fn text_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// Parses the body as JSON. Fails with a non-retryable [`PluginError::Upstream`] naming the
    /// problem when the body is not the expected JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            PluginError::Upstream(UpstreamError {
                status: Some(self.status),
                message: format!(
                    "HTTP {}: response is not the expected JSON ({e}): {}",
                    self.status,
                    excerpt(&self.text_lossy())
                ),
                retryable: false,
                retry_after_ms: None,
            })
        })
    }

    /// How long the server asked the caller to wait, from `retry-after-ms` (milliseconds) or
    /// `retry-after` (seconds). HTTP dates are not interpreted.
    pub fn retry_after_ms(&self) -> Option<u64> {
        let parse = |v: &str| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
        };
        if let Some(ms) = self.header("retry-after-ms").and_then(parse) {
            return Some(ms as u64);
        }
        self.header("retry-after")
            .and_then(parse)
            .map(|s| (s * 1000.0) as u64)
    }

    /// Describes this response as a failure of the provider: status, the provider's own error
    /// message when the body carries one (`error.message`, `message`, `error`, `detail`),
    /// otherwise an excerpt of the body, whether a retry may help (see
    /// [`is_retryable_status`]) and the server's retry delay.
    pub fn upstream_error(&self) -> UpstreamError {
        let text = self.text_lossy();
        let detail = provider_message(&text).unwrap_or_else(|| excerpt(&text).into_owned());
        let message = if detail.is_empty() {
            format!("HTTP {}", self.status)
        } else {
            format!("HTTP {}: {detail}", self.status)
        };
        UpstreamError {
            status: Some(self.status),
            message,
            retryable: is_retryable_status(self.status),
            retry_after_ms: self.retry_after_ms(),
        }
    }

    /// Passes 2xx responses through and turns every other status into
    /// [`PluginError::Upstream`] built by [`Response::upstream_error`].
    pub fn error_for_status(self) -> Result<Self, PluginError> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(PluginError::Upstream(self.upstream_error()))
        }
    }
}

/// `text` as one URL path segment: RFC 3986's unreserved characters kept, every other byte
/// percent-encoded, so a model or deployment name with `/`, `:` or spaces cannot change the
/// path it is put in.
pub fn path_segment(text: &str) -> String {
    let mut segment = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            segment.push(char::from(byte));
        } else {
            segment.push_str(&format!("%{byte:02X}"));
        }
    }
    segment
}

/// Whether a request that got this status may succeed if sent again later: 408, 425, 429 and
/// 5xx other than 501 and 505.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 425 | 429)
        || ((500..600).contains(&status) && !matches!(status, 501 | 505))
}

/// The provider's error message from a JSON error body, if it has one.
fn provider_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let candidates = [
        value.pointer("/error/message"),
        value.get("message"),
        value.get("Message"),
        value.get("error"),
        value.get("detail"),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(|v| v.as_str())
        .map(|s| excerpt(s).into_owned())
}

/// At most [`MAX_ERROR_BODY`] bytes of `text`, cut at a character boundary, trimmed.
fn excerpt(text: &str) -> Cow<'_, str> {
    let text = text.trim();
    if text.len() <= MAX_ERROR_BODY {
        return Cow::Borrowed(text);
    }
    let mut end = MAX_ERROR_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

/// Maps a failed delivery to the error a plugin export returns:
///
/// * `timeout` and `connection` become a retryable [`PluginError::Upstream`] without status;
/// * `body-too-large` becomes a non-retryable [`PluginError::Upstream`];
/// * `denied`, `secret-not-granted` and `invalid-request` become [`PluginError::Internal`]:
///   retrying cannot help, the operator's grants or the plugin must change. The message keeps
///   the host's explanation, which names the missing grant.
impl From<HttpError> for PluginError {
    fn from(error: HttpError) -> Self {
        let upstream = PluginError::upstream;
        match error {
            HttpError::Timeout => upstream("the request timed out".to_owned(), true),
            HttpError::Connection(m) => upstream(format!("connection failed: {m}"), true),
            HttpError::BodyTooLarge(limit) => upstream(
                format!("the response was larger than the host's limit of {limit} bytes"),
                false,
            ),
            HttpError::Denied(m) => {
                PluginError::Internal(format!("request denied by the host: {m}"))
            }
            HttpError::SecretNotGranted(m) => {
                PluginError::Internal(format!("secret not granted by the host: {m}"))
            }
            HttpError::InvalidRequest(m) => {
                PluginError::Internal(format!("invalid http request: {m}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_hint_names_the_variable_or_what_to_set() {
        assert_eq!(
            key_hint(Some("GROQ_API_KEY"), true, "GROQ_API_KEY"),
            "the key comes from GROQ_API_KEY"
        );
        assert_eq!(key_hint(None, true, "X"), "check the configured key");
        assert_eq!(
            key_hint(None, false, "A_KEY or B_KEY"),
            "no key is configured: set A_KEY or B_KEY"
        );
    }

    #[test]
    fn optional_key_and_timeout_apply_only_when_set() {
        let plain = Request::get("https://x.example/");
        let auth = KeyAuth::Header("api-key".into());
        assert_eq!(plain.clone().optional_api_key(None, &auth), plain);
        assert_eq!(plain.clone().optional_timeout_ms(None), plain);
        let keyed = plain.clone().optional_api_key(Some("azure-key"), &auth);
        assert_eq!(keyed, plain.clone().api_key("azure-key", &auth));
        assert_eq!(plain.optional_timeout_ms(Some(1500)).timeout_ms, Some(1500));
    }

    #[test]
    fn a_path_segment_keeps_unreserved_characters_only() {
        assert_eq!(path_segment("gpt-4o_mini.2~x"), "gpt-4o_mini.2~x");
        assert_eq!(
            path_segment("us.anthropic/claude:0 é"),
            "us.anthropic%2Fclaude%3A0%20%C3%A9"
        );
        assert_eq!(path_segment("../x"), "..%2Fx");
    }

    #[test]
    fn the_key_header_setting_names_a_header_or_bearer() {
        assert_eq!(
            KeyAuth::from_setting(None, "x-api-key"),
            Ok(KeyAuth::Header("x-api-key".into()))
        );
        assert_eq!(
            KeyAuth::from_setting(Some("X-Goog-Api-Key".into()), "x-api-key"),
            Ok(KeyAuth::Header("x-goog-api-key".into()))
        );
        assert_eq!(
            KeyAuth::from_setting(Some("Authorization".into()), "x-api-key"),
            Ok(KeyAuth::Bearer)
        );
        let refused = KeyAuth::from_setting(Some("x api key".into()), "x-api-key");
        assert!(
            matches!(&refused, Err(PluginError::InvalidInput(m)) if m.contains("such as x-api-key")),
            "{refused:?}"
        );
    }

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn builder_sets_fields() {
        let req = Request::post("https://api.example.com/v1/chat")
            .header("Content-Type", "text/plain")
            .json(&serde_json::json!({"a": 1}))
            .unwrap()
            .bearer("key")
            .timeout(Duration::from_secs(2));
        assert_eq!(req.method, Method::Post);
        assert_eq!(
            req.headers,
            vec![("content-type".to_string(), "application/json".to_string())]
        );
        assert_eq!(req.body.as_deref(), Some(&br#"{"a":1}"#[..]));
        assert_eq!(req.auth, Auth::Bearer("key".into()));
        assert_eq!(req.timeout_ms, Some(2000));
    }

    #[test]
    fn error_for_status_reads_provider_message_and_retry_hints() {
        let r = response(
            429,
            &[("Retry-After", "2")],
            r#"{"error":{"message":"slow down"}}"#,
        );
        match r.error_for_status() {
            Err(PluginError::Upstream(e)) => {
                assert_eq!(e.status, Some(429));
                assert_eq!(e.message, "HTTP 429: slow down");
                assert!(e.retryable);
                assert_eq!(e.retry_after_ms, Some(2000));
            }
            other => panic!("unexpected {other:?}"),
        }
        let r = response(401, &[], "nope");
        match r.error_for_status() {
            Err(PluginError::Upstream(e)) => {
                assert!(!e.retryable);
                assert_eq!(e.message, "HTTP 401: nope");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(response(204, &[], "").error_for_status().is_ok());
    }

    #[test]
    fn json_and_text() {
        let r = response(
            200,
            &[("content-type", "application/json")],
            r#"{"x":[1,2]}"#,
        );
        let v: serde_json::Value = r.json().unwrap();
        assert_eq!(v["x"][1], 2);
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert!(matches!(
            response(200, &[], "{").json::<serde_json::Value>(),
            Err(PluginError::Upstream(_))
        ));
        assert_eq!(response(200, &[], "hé").text().unwrap(), "hé");
    }

    #[test]
    fn http_errors_map_to_plugin_errors() {
        assert!(matches!(
            PluginError::from(HttpError::Timeout),
            PluginError::Upstream(UpstreamError {
                retryable: true,
                ..
            })
        ));
        assert!(matches!(
            PluginError::from(HttpError::Denied("host".into())),
            PluginError::Internal(m) if m.contains("host")
        ));
    }
}
