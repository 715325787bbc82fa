//! The pipeline end to end: `PluginNetwork::send` with constructed requests against loopback
//! mock servers, checking both what the plugin gets back and what the server received (or
//! that it received nothing).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::Credentials;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response as AxumResponse;
use axum::routing::any;
use decision_matrix_testkit::MockServer;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use super::{HttpLimits, Network, PluginNetwork, SecretStore};
use crate::plugins::bindings::http::{
    Auth, HeaderSecret, HttpError, Method, Request, Response, Sigv4,
};
use crate::plugins::grants::{Grant, HostPattern, SecretSource};

const KEY: &str = "sk-test-5b0e1f7c2d9a4e83-host-only";
const OTHER_KEY: &str = "sk-test-other-plugin-0c4d5e6f";
const PLUGIN: &str = "test-backend";
const UNSET_VAR: &str = "DMX_TEST_PIPELINE_VAR_NEVER_SET_91B4";

fn pattern(text: &str) -> HostPattern {
    text.parse().expect("host pattern")
}

fn request(method: Method, url: String) -> Request {
    Request {
        method,
        url,
        headers: Vec::new(),
        body: None,
        auth: Auth::None,
        timeout_ms: None,
    }
}

fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn store() -> SecretStore {
    SecretStore::from_values([
        ("key", SecretString::from(KEY)),
        ("other", SecretString::from(OTHER_KEY)),
    ])
}

/// A grant for `servers` with `allow_private` (they are on loopback) and the `key` secret
/// bound to the first one.
fn grant_for(servers: &[&MockServer]) -> Grant {
    let hosts: Vec<HostPattern> = servers.iter().map(|s| pattern(&s.base_url())).collect();
    Grant {
        secrets: BTreeMap::from([("key".to_owned(), vec![hosts[0].clone()])]),
        hosts,
        allow_private: true,
        config: BTreeMap::new(),
    }
}

fn plugin_with(grant: Grant, secrets: SecretStore, limits: HttpLimits) -> PluginNetwork {
    let network = Network::new(limits, secrets).expect("network");
    PluginNetwork::new(PLUGIN.to_owned(), Arc::new(grant), Arc::new(network))
}

fn plugin(grant: Grant) -> PluginNetwork {
    plugin_with(grant, store(), HttpLimits::default())
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn denied(result: Result<Response, HttpError>) -> String {
    match result {
        Err(HttpError::Denied(message)) => message,
        other => panic!("expected denied, got {other:?}"),
    }
}

fn not_granted(result: Result<Response, HttpError>) -> String {
    match result {
        Err(HttpError::SecretNotGranted(message)) => message,
        other => panic!("expected secret-not-granted, got {other:?}"),
    }
}

/// Routes by path:
/// - `/echo…`: 201, echoes method, path, headers and body; copies `authorization` and
///   `x-api-key` into response headers.
/// - `/redirect`: 302 to another host.
/// - `/slow`: answers after 10 s.
/// - `/bytes/N`: N bytes with a Content-Length.
/// - `/stream/N`: N chunks of 512 bytes, chunked, no Content-Length.
async fn handle(
    uri: Uri,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> AxumResponse {
    let path = uri.path();
    let builder = AxumResponse::builder();
    if let Some(n) = path.strip_prefix("/bytes/") {
        let n: usize = n.parse().unwrap();
        return builder.body(Body::from(vec![b'x'; n])).unwrap();
    }
    if let Some(n) = path.strip_prefix("/stream/") {
        let n: usize = n.parse().unwrap();
        let chunks = (0..n).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'y'; 512])));
        return builder
            .body(Body::from_stream(futures_util::stream::iter(chunks)))
            .unwrap();
    }
    match path {
        "/redirect" => builder
            .status(StatusCode::FOUND)
            .header("location", "http://elsewhere.example/next")
            .body(Body::empty())
            .unwrap(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            builder.body(Body::from("late")).unwrap()
        }
        _ => {
            let mut text = format!("{method} {uri}\n");
            for (name, value) in &headers {
                text.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("?")));
            }
            text.push_str(&String::from_utf8_lossy(&body));
            let echo = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none")
                    .to_owned()
            };
            builder
                .status(StatusCode::CREATED)
                .header("X-Mixed-Case", "yes")
                .header("x-echo-auth", echo("authorization"))
                .header("x-echo-api-key", echo("x-api-key"))
                .body(Body::from(text))
                .unwrap()
        }
    }
}

async fn mock() -> MockServer {
    MockServer::start(Router::new().route("/{*path}", any(handle))).await
}

#[tokio::test]
async fn allowed_request_round_trip() {
    let server = mock().await;
    let net = plugin(grant_for(&[&server]));
    let mut req = request(
        Method::Post,
        format!("{}/echo?q=1#fragment", server.base_url()),
    );
    req.headers = headers(&[("Content-Type", "text/plain"), ("X-Custom", "kept")]);
    req.body = Some(b"hello body".to_vec());
    let response = net.send(req).await.expect("response");

    assert_eq!(response.status, 201);
    assert_eq!(header(&response, "x-mixed-case"), Some("yes"));
    assert!(
        response
            .headers
            .iter()
            .all(|(name, _)| *name == name.to_ascii_lowercase())
    );
    let text = String::from_utf8(response.body).unwrap();
    assert!(text.starts_with("POST /echo?q=1\n"), "{text}");
    assert!(text.ends_with("hello body"), "{text}");

    let received = server.requests();
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(got.method, "POST");
    assert_eq!(got.uri, "/echo?q=1");
    assert_eq!(got.header("content-type"), Some("text/plain"));
    assert_eq!(got.header("x-custom"), Some("kept"));
    assert_eq!(got.header("accept-encoding"), Some("identity"));
    assert_eq!(got.body, "hello body");
}

#[tokio::test]
async fn every_method_arrives() {
    let server = mock().await;
    let net = plugin(grant_for(&[&server]));
    let methods = [
        (Method::Get, "GET"),
        (Method::Head, "HEAD"),
        (Method::Post, "POST"),
        (Method::Put, "PUT"),
        (Method::Patch, "PATCH"),
        (Method::Delete, "DELETE"),
    ];
    for (method, _) in methods {
        let response = net
            .send(request(method, format!("{}/echo", server.base_url())))
            .await
            .expect("response");
        assert_eq!(response.status, 201);
    }
    let received: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.method.to_string())
        .collect();
    assert_eq!(received, methods.map(|(_, name)| name.to_owned()));
}

#[tokio::test]
async fn plain_http_is_denied_without_an_http_grant() {
    let server = mock().await;
    let port = server.addr().port();
    let grant = Grant {
        hosts: vec![pattern(&format!("https://127.0.0.1:{port}"))],
        allow_private: true,
        ..Grant::default()
    };
    let message = denied(
        plugin(grant)
            .send(request(Method::Get, format!("{}/echo", server.base_url())))
            .await,
    );
    assert!(message.contains("may not use plain http"), "{message}");
    assert!(
        message.contains(&format!("hosts = [\"http://127.0.0.1:{port}\"]")),
        "{message}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn unlisted_host_is_denied_with_the_grant_line() {
    let net = plugin(Grant::default());
    let message = denied(
        net.send(request(
            Method::Get,
            "https://evil.example/x?k=v".to_owned(),
        ))
        .await,
    );
    assert_eq!(
        message,
        "plugin 'test-backend' may not reach https://evil.example:443; grant it with \
         hosts = [\"https://evil.example\"] under [grants.test-backend]"
    );
}

#[tokio::test]
async fn port_mismatch_is_denied() {
    let server = mock().await;
    let other_port = server.addr().port().wrapping_add(1).max(1);
    let net = plugin(grant_for(&[&server]));
    let message = denied(
        net.send(request(
            Method::Get,
            format!("http://127.0.0.1:{other_port}/"),
        ))
        .await,
    );
    assert!(
        message.contains(&format!("http://127.0.0.1:{other_port}")),
        "{message}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn wildcard_grants_do_not_include_the_apex() {
    let grant = Grant {
        hosts: vec![pattern("https://*.example.com")],
        ..Grant::default()
    };
    let message = denied(
        plugin(grant)
            .send(request(Method::Get, "https://example.com/".to_owned()))
            .await,
    );
    assert!(
        message.contains("hosts = [\"https://example.com\"]"),
        "{message}"
    );
}

#[tokio::test]
async fn unknown_secret_is_not_granted() {
    let server = mock().await;
    let net = plugin(grant_for(&[&server]));
    let mut req = request(Method::Get, format!("{}/echo", server.base_url()));
    req.auth = Auth::Bearer("anthropic".to_owned());
    let message = not_granted(net.send(req).await);
    assert!(
        message.starts_with("secret 'anthropic' is not granted to plugin 'test-backend'"),
        "{message}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn granted_but_undefined_secret_is_not_granted() {
    let server = mock().await;
    let mut grant = grant_for(&[&server]);
    grant
        .secrets
        .insert("ghost".to_owned(), vec![pattern(&server.base_url())]);
    let mut req = request(Method::Get, format!("{}/echo", server.base_url()));
    req.auth = Auth::Bearer("ghost".to_owned());
    let message = not_granted(plugin(grant).send(req).await);
    assert!(
        message.contains("secret 'ghost' is not defined"),
        "{message}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn secret_bound_to_another_host_never_leaves() {
    let bound = mock().await;
    let attacker = mock().await;
    let net = plugin(grant_for(&[&bound, &attacker]));
    for auth in [
        Auth::Bearer("key".to_owned()),
        Auth::Header(HeaderSecret {
            header: "x-api-key".to_owned(),
            secret: "key".to_owned(),
            prefix: None,
        }),
    ] {
        let mut req = request(Method::Post, format!("{}/collect", attacker.base_url()));
        req.auth = auth;
        let message = not_granted(net.send(req).await);
        assert!(
            message.contains(&format!(
                "secret 'key' is not granted to plugin 'test-backend' for {}",
                attacker.base_url()
            )),
            "{message}"
        );
    }
    assert!(attacker.requests().is_empty());
    assert!(bound.requests().is_empty());
}

#[tokio::test]
async fn loopback_needs_allow_private() {
    let server = mock().await;
    let port = server.addr().port();
    let urls = [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("http://[::ffff:127.0.0.1]:{port}"),
    ];
    let grant = Grant {
        hosts: urls.iter().map(|u| pattern(u)).collect(),
        allow_private: false,
        ..Grant::default()
    };
    let net = plugin(grant);
    for url in &urls {
        let message = denied(net.send(request(Method::Get, format!("{url}/echo"))).await);
        assert!(message.contains("a loopback address"), "{url}: {message}");
        assert!(
            message.contains("set allow_private = true under [grants.test-backend]"),
            "{url}: {message}"
        );
    }
    let message = denied(
        net.send(request(Method::Get, format!("http://localhost:{port}/")))
            .await,
    );
    assert!(message.contains("localhost resolves to"), "{message}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn guest_auth_headers_are_replaced_by_the_hosts() {
    let server = mock().await;
    let net = plugin(grant_for(&[&server]));
    let mut req = request(Method::Get, format!("{}/echo", server.base_url()));
    req.headers = headers(&[
        ("Authorization", "Bearer guest-token"),
        ("X-Api-Key", "guest-key"),
        ("X-Amz-Date", "19700101T000000Z"),
        ("Cookie", "session=guest"),
        ("Proxy-Authorization", "Basic Z3Vlc3Q="),
        ("Host", "evil.example"),
        ("X-Custom", "kept"),
    ]);
    req.auth = Auth::Bearer("key".to_owned());
    net.send(req).await.expect("response");

    let got = &server.requests()[0];
    assert_eq!(
        got.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(got.headers.get_all("authorization").iter().count(), 1);
    for gone in ["x-api-key", "x-amz-date", "cookie", "proxy-authorization"] {
        assert_eq!(got.header(gone), None, "{gone}");
    }
    assert_eq!(got.header("host"), Some(server.addr().to_string().as_str()));
    assert_eq!(got.header("x-custom"), Some("kept"));
}

#[tokio::test]
async fn header_secret_with_and_without_prefix() {
    let server = mock().await;
    let net = plugin(grant_for(&[&server]));
    for (prefix, expected) in [
        (Some("Token "), format!("Token {KEY}")),
        (None, KEY.to_owned()),
    ] {
        let mut req = request(Method::Get, format!("{}/echo", server.base_url()));
        req.headers = headers(&[("Authorization", "Bearer guest")]);
        req.auth = Auth::Header(HeaderSecret {
            header: "X-Api-Key".to_owned(),
            secret: "key".to_owned(),
            prefix: prefix.map(str::to_owned),
        });
        net.send(req).await.expect("response");
        let got = server.requests().pop().unwrap();
        assert_eq!(got.header("x-api-key"), Some(expected.as_str()));
        assert_eq!(got.header("authorization"), None, "guest header stripped");
    }
}

#[tokio::test]
async fn echoed_secrets_are_redacted() {
    let server = mock().await;
    let net = plugin(grant_for(&[&server]));
    let mut req = request(Method::Get, format!("{}/echo", server.base_url()));
    req.auth = Auth::Bearer("key".to_owned());
    let response = net.send(req).await.expect("response");

    assert_eq!(header(&response, "x-echo-auth"), Some("Bearer [REDACTED]"));
    let body = String::from_utf8(response.body.clone()).unwrap();
    assert!(body.contains("authorization: Bearer [REDACTED]"), "{body}");
    let everything = format!("{:?}{body}", response.headers);
    assert!(!everything.contains(KEY));
    // The same secrets are scrubbed from plugin logs and errors.
    assert_eq!(net.scrub(&format!("log {KEY} line")), "log [REDACTED] line");
}

#[tokio::test]
async fn scrub_only_knows_this_plugins_resolved_secrets() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "sk-from-file-77aa\n").unwrap();
    let server = mock().await;
    let secrets = SecretStore::new(BTreeMap::from([(
        "key".to_owned(),
        SecretSource::File {
            file: file.path().to_owned(),
        },
    )]));
    let net = plugin_with(grant_for(&[&server]), secrets, HttpLimits::default());
    assert_eq!(
        net.scrub("sk-from-file-77aa"),
        "sk-from-file-77aa",
        "not read yet"
    );
    let mut req = request(Method::Get, format!("{}/echo", server.base_url()));
    req.auth = Auth::Bearer("key".to_owned());
    net.send(req).await.expect("response");
    assert_eq!(net.scrub("x sk-from-file-77aa"), "x [REDACTED]");

    // A literal secret that is resolved but granted to nobody here is left alone.
    let other = plugin(Grant::default());
    assert_eq!(other.scrub(OTHER_KEY), OTHER_KEY);
}

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let server = mock().await;
    let net = plugin(grant_for(&[&server]));
    let response = net
        .send(request(
            Method::Get,
            format!("{}/redirect", server.base_url()),
        ))
        .await
        .expect("response");
    assert_eq!(response.status, 302);
    assert_eq!(
        header(&response, "location"),
        Some("http://elsewhere.example/next")
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn request_timeout_is_enforced() {
    let server = mock().await;
    let net = plugin(grant_for(&[&server]));
    let mut req = request(Method::Get, format!("{}/slow", server.base_url()));
    req.timeout_ms = Some(200);
    let started = std::time::Instant::now();
    assert!(matches!(net.send(req).await, Err(HttpError::Timeout)));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn requested_timeout_is_capped_by_the_host() {
    let server = mock().await;
    let limits = HttpLimits {
        max_timeout: Duration::from_millis(200),
        ..HttpLimits::default()
    };
    let net = plugin_with(grant_for(&[&server]), store(), limits);
    let mut req = request(Method::Get, format!("{}/slow", server.base_url()));
    req.timeout_ms = Some(60_000);
    let started = std::time::Instant::now();
    assert!(matches!(net.send(req).await, Err(HttpError::Timeout)));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = mock().await;
    let limits = HttpLimits {
        max_response_bytes: 1024,
        ..HttpLimits::default()
    };
    let net = plugin_with(grant_for(&[&server]), store(), limits);
    let base = server.base_url();
    for path in ["/bytes/1025", "/stream/3"] {
        let result = net
            .send(request(Method::Get, format!("{base}{path}")))
            .await;
        assert!(
            matches!(result, Err(HttpError::BodyTooLarge(1024))),
            "{path}: {result:?}"
        );
    }
    for (path, len) in [("/bytes/1024", 1024), ("/stream/2", 1024)] {
        let response = net
            .send(request(Method::Get, format!("{base}{path}")))
            .await
            .expect(path);
        assert_eq!(response.body.len(), len, "{path}");
    }
    // A HEAD response announces the size of a body it does not carry.
    let response = net
        .send(request(Method::Head, format!("{base}/bytes/4096")))
        .await
        .expect("HEAD of a large resource");
    assert!(response.body.is_empty());
    assert_eq!(header(&response, "content-length"), Some("4096"));
}

#[tokio::test]
async fn sigv4_is_signed_on_the_host() {
    let server = mock().await;
    for session_token in [Some("session-token-3f2a"), None] {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session_token.map(str::to_owned),
            None,
            "test",
        );
        let secrets = SecretStore::default().with_aws_credentials("aws", credentials);
        let mut grant = grant_for(&[&server]);
        grant
            .secrets
            .insert("aws".to_owned(), vec![pattern(&server.base_url())]);
        let net = plugin_with(grant, secrets, HttpLimits::default());

        let mut req = request(
            Method::Post,
            format!("{}/model/anthropic.claude-v2/converse", server.base_url()),
        );
        req.headers = headers(&[
            ("Content-Type", "application/json"),
            ("Authorization", "AWS4-HMAC-SHA256 forged"),
            ("X-Amz-Date", "19700101T000000Z"),
            ("X-Amz-Security-Token", "guest-token"),
        ]);
        req.body = Some(b"{\"messages\":[]}".to_vec());
        req.auth = Auth::AwsSigv4(Sigv4 {
            credentials: "aws".to_owned(),
            region: "us-east-1".to_owned(),
            service: "bedrock".to_owned(),
        });
        let response = net.send(req).await.expect("response");
        assert_eq!(response.status, 201);
        // The secret key never appears, and neither would the token if echoed.
        assert!(
            !String::from_utf8_lossy(&response.body).contains("session-token-3f2a")
                || session_token.is_none()
        );

        let got = server.requests().pop().unwrap();
        let date = got.header("x-amz-date").expect("x-amz-date");
        assert_eq!(date.len(), 16, "{date}");
        assert_ne!(date, "19700101T000000Z");
        let authorization = got.header("authorization").expect("authorization");
        let expected_prefix = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/us-east-1/bedrock/aws4_request, SignedHeaders=",
            &date[..8]
        );
        assert!(
            authorization.starts_with(&expected_prefix),
            "{authorization}"
        );
        let (signed, signature) = authorization[expected_prefix.len()..]
            .split_once(", Signature=")
            .expect("signature");
        let signed: Vec<&str> = signed.split(';').collect();
        for name in ["content-type", "host", "x-amz-content-sha256", "x-amz-date"] {
            assert!(signed.contains(&name), "{name} in {signed:?}");
        }
        assert_eq!(signature.len(), 64);
        assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()));
        let body_hash = hex::encode(Sha256::digest(b"{\"messages\":[]}"));
        assert_eq!(got.header("x-amz-content-sha256"), Some(body_hash.as_str()));
        match session_token {
            Some(token) => {
                assert_eq!(got.header("x-amz-security-token"), Some(token));
                assert!(signed.contains(&"x-amz-security-token"));
            }
            None => assert_eq!(got.header("x-amz-security-token"), None),
        }
    }
}

#[tokio::test]
async fn secret_kinds_must_fit_the_auth() {
    let server = mock().await;
    let secrets = store().with_aws_credentials("aws", Credentials::for_tests());
    let mut grant = grant_for(&[&server]);
    grant
        .secrets
        .insert("aws".to_owned(), vec![pattern(&server.base_url())]);
    let net = plugin_with(grant, secrets, HttpLimits::default());

    let mut req = request(Method::Get, format!("{}/echo", server.base_url()));
    req.auth = Auth::Bearer("aws".to_owned());
    let message = not_granted(net.send(req).await);
    assert!(message.contains("only be used with aws-sigv4"), "{message}");

    let mut req = request(Method::Get, format!("{}/echo", server.base_url()));
    req.auth = Auth::AwsSigv4(Sigv4 {
        credentials: "key".to_owned(),
        region: "us-east-1".to_owned(),
        service: "bedrock".to_owned(),
    });
    let message = not_granted(net.send(req).await);
    assert!(message.contains("not AWS credentials"), "{message}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn unset_env_secret_names_the_variable() {
    assert!(std::env::var_os(UNSET_VAR).is_none());
    let server = mock().await;
    let secrets = SecretStore::new(BTreeMap::from([(
        "key".to_owned(),
        SecretSource::Env {
            env: UNSET_VAR.to_owned(),
        },
    )]));
    let net = plugin_with(grant_for(&[&server]), secrets, HttpLimits::default());
    let mut req = request(Method::Get, format!("{}/echo", server.base_url()));
    req.auth = Auth::Bearer("key".to_owned());
    let message = not_granted(net.send(req).await);
    assert_eq!(
        message,
        format!("secret 'key' comes from environment variable {UNSET_VAR}, which is not set")
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn connection_failures_are_connection_errors() {
    // A port that was free a moment ago; nothing listens on it.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let grant = Grant {
        hosts: vec![pattern(&format!("http://127.0.0.1:{port}"))],
        allow_private: true,
        ..Grant::default()
    };
    let result = plugin(grant)
        .send(request(
            Method::Get,
            format!("http://127.0.0.1:{port}/x?token=abc"),
        ))
        .await;
    match result {
        Err(HttpError::Connection(message)) => {
            assert!(
                message.contains(&format!("127.0.0.1:{port}/x")),
                "{message}"
            );
            assert!(!message.contains("token=abc"), "{message}");
        }
        other => panic!("expected connection error, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_requests_are_invalid() {
    let server = mock().await;
    let net = plugin(grant_for(&[&server]));
    let base = server.base_url();
    let mut zero = request(Method::Get, format!("{base}/echo"));
    zero.timeout_ms = Some(0);
    let mut bad_header = request(Method::Get, format!("{base}/echo"));
    bad_header.headers = headers(&[("bad header", "x")]);
    let mut bad_auth_header = request(Method::Get, format!("{base}/echo"));
    bad_auth_header.auth = Auth::Header(HeaderSecret {
        header: "content-length".to_owned(),
        secret: "key".to_owned(),
        prefix: None,
    });
    let userinfo = request(Method::Get, base.replace("http://", "http://user:pw@"));
    for req in [
        request(Method::Get, "no url".to_owned()),
        request(Method::Get, "ftp://127.0.0.1/".to_owned()),
        zero,
        bad_header,
        bad_auth_header,
        userinfo,
    ] {
        let url = req.url.clone();
        let result = net.send(req).await;
        assert!(
            matches!(result, Err(HttpError::InvalidRequest(_))),
            "{url}: {result:?}"
        );
    }
    assert!(server.requests().is_empty());
}
