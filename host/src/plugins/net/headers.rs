//! The request headers a plugin may set, and where the host's credentials go.
//!
//! Authentication only goes through the request's `auth`, so that the host decides which
//! secret goes where. Headers that carry credentials are dropped from what the guest sent,
//! whatever their case: a guest copying an `Authorization` header from a template must not
//! override (or be confused with) the host's. Framing and hop-by-hop headers are the host's
//! HTTP stack's business: a guest-chosen `Content-Length` or `Transfer-Encoding` could
//! desynchronise the connection.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::plugins::bindings::http::HttpError;

/// Removed because they carry credentials; only the host sets them.
const CREDENTIAL_HEADERS: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
];

/// Removed because the host's HTTP stack owns framing, routing and the connection.
const TRANSPORT_HEADERS: [&str; 9] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "trailer",
    "keep-alive",
    "proxy-connection",
];

/// Whether the host drops this guest header. Header names are lower-case once parsed.
pub(crate) fn is_reserved(name: &HeaderName) -> bool {
    let name = name.as_str();
    CREDENTIAL_HEADERS.contains(&name)
        || TRANSPORT_HEADERS.contains(&name)
        || name.starts_with("x-amz-")
}

/// The guest's headers as a header map, minus the reserved ones, plus
/// `accept-encoding: identity`.
///
/// The identity encoding matters for scrubbing: the host does not decompress, and a secret
/// echoed inside a gzip body could not be found and removed.
pub(crate) fn guest_headers(headers: &[(String, String)]) -> Result<HeaderMap, HttpError> {
    let mut map = HeaderMap::with_capacity(headers.len() + 1);
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            HttpError::InvalidRequest(format!("invalid header name '{}'", name.escape_debug()))
        })?;
        if is_reserved(&name) || name == header::ACCEPT_ENCODING {
            continue;
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| HttpError::InvalidRequest(format!("invalid value for header '{name}'")))?;
        map.append(name, value);
    }
    map.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    Ok(map)
}

/// Validates the name of the header a `header` auth puts its secret in. Framing headers are
/// refused (the secret would break the request); credential headers are fine, that is what
/// they are for.
pub(crate) fn auth_header_name(name: &str) -> Result<HeaderName, HttpError> {
    let parsed = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        HttpError::InvalidRequest(format!(
            "invalid auth header name '{}'",
            name.escape_debug()
        ))
    })?;
    if TRANSPORT_HEADERS.contains(&parsed.as_str()) {
        return Err(HttpError::InvalidRequest(format!(
            "a secret cannot be sent in the '{parsed}' header"
        )));
    }
    Ok(parsed)
}

/// Puts `prefix + value` into `name`, replacing anything the guest put there, and marks it
/// sensitive so HTTP/2 header compression never indexes it.
pub(crate) fn insert_secret(
    headers: &mut HeaderMap,
    name: HeaderName,
    prefix: &str,
    value: &str,
    secret_name: &str,
) -> Result<(), HttpError> {
    let mut text = String::with_capacity(prefix.len() + value.len());
    text.push_str(prefix);
    text.push_str(value);
    let mut header_value = HeaderValue::from_str(&text).map_err(|_| {
        // Says which secret, never what it holds.
        HttpError::InvalidRequest(format!(
            "secret '{secret_name}' (with the given prefix) is not a valid value for header \
             '{name}'"
        ))
    })?;
    header_value.set_sensitive(true);
    headers.insert(name, header_value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn credential_and_transport_headers_are_dropped_in_any_case() {
        let map = guest_headers(&pairs(&[
            ("Authorization", "Bearer guest"),
            ("PROXY-AUTHORIZATION", "x"),
            ("X-Api-Key", "guest"),
            ("Cookie", "a=b"),
            ("X-Amz-Date", "20000101T000000Z"),
            ("x-amz-security-token", "t"),
            ("Host", "evil.example"),
            ("Content-Length", "5"),
            ("Transfer-Encoding", "chunked"),
            ("Accept-Encoding", "gzip"),
            ("Content-Type", "application/json"),
            ("X-Custom", "one"),
            ("x-custom", "two"),
            ("anthropic-version", "2023-06-01"),
        ]))
        .unwrap();
        let mut names: Vec<&str> = map.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "accept-encoding",
                "anthropic-version",
                "content-type",
                "x-custom"
            ]
        );
        assert_eq!(map["accept-encoding"], "identity");
        let custom: Vec<_> = map.get_all("x-custom").iter().collect();
        assert_eq!(custom, ["one", "two"]);
    }

    #[test]
    fn malformed_headers_are_invalid_requests() {
        for list in [[("bad name", "v")], [("x-ok", "line\nbreak")]] {
            assert!(matches!(
                guest_headers(&pairs(&list)),
                Err(HttpError::InvalidRequest(_))
            ));
        }
    }

    #[test]
    fn secrets_replace_guest_values_and_are_sensitive() {
        let mut map = guest_headers(&pairs(&[("x-goog-api-key", "guest")])).unwrap();
        let name = auth_header_name("X-Goog-Api-Key").unwrap();
        insert_secret(&mut map, name, "Token ", "s3cret", "google").unwrap();
        let values: Vec<_> = map.get_all("x-goog-api-key").iter().collect();
        assert_eq!(values, ["Token s3cret"]);
        assert!(values[0].is_sensitive());
    }

    #[test]
    fn secrets_cannot_go_into_framing_headers() {
        for name in ["host", "Content-Length", "transfer-encoding"] {
            assert!(matches!(
                auth_header_name(name),
                Err(HttpError::InvalidRequest(_))
            ));
        }
        assert!(auth_header_name("x-api-key").is_ok());
    }

    #[test]
    fn invalid_secret_values_do_not_leak() {
        let mut map = HeaderMap::new();
        let err = insert_secret(
            &mut map,
            header::AUTHORIZATION,
            "Bearer ",
            "bad\nvalue",
            "k",
        )
        .unwrap_err();
        let HttpError::InvalidRequest(message) = err else {
            panic!("{err:?}")
        };
        assert!(
            !message.contains("bad") && message.contains("secret 'k'"),
            "{message}"
        );
    }
}
