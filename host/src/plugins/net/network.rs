//! The shared HTTP clients, their limits and the secret store.

use std::fmt;
use std::sync::Arc;

use reqwest::redirect::Policy;
use rustls_platform_verifier::BuilderVerifierExt;

use super::HttpLimits;
use super::resolver::PublicOnlyResolver;
use super::secrets::SecretStore;

/// The HTTP clients could not be built (in practice: the TLS backend failed to initialise).
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The platform's certificate verifier or the protocol versions could not be set up.
    #[error("could not set up TLS for plugins: {0}")]
    Tls(#[source] rustls::Error),
    /// reqwest refused the configuration.
    #[error("could not build the HTTP client for plugins: {0}")]
    Client(#[source] reqwest::Error),
}

/// Everything the plugins' outbound HTTP shares: connection pools, limits, secrets.
///
/// Built once per host and shared by every [`PluginNetwork`](super::PluginNetwork) through
/// an `Arc`, so connections to a provider are reused across plugins and calls.
pub struct Network {
    /// For grants without `allow_private`: resolves through [`PublicOnlyResolver`].
    strict: reqwest::Client,
    /// For grants with `allow_private`: the system resolver, unfiltered.
    open: reqwest::Client,
    limits: HttpLimits,
    secrets: SecretStore,
}

impl Network {
    /// Builds the two clients. Secrets are not read here; see [`SecretStore`].
    pub fn new(limits: HttpLimits, secrets: SecretStore) -> Result<Network, NetworkError> {
        let tls = tls_config()?;
        let strict = client_builder(&limits, tls.clone())
            .dns_resolver(Arc::new(PublicOnlyResolver))
            .build()
            .map_err(NetworkError::Client)?;
        let open = client_builder(&limits, tls)
            .build()
            .map_err(NetworkError::Client)?;
        Ok(Network {
            strict,
            open,
            limits,
            secrets,
        })
    }

    /// The limits every request is held to.
    pub fn limits(&self) -> &HttpLimits {
        &self.limits
    }

    /// The host's secrets.
    pub fn secrets(&self) -> &SecretStore {
        &self.secrets
    }

    /// The client whose resolver enforces the grant's address policy.
    pub(crate) fn client(&self, allow_private: bool) -> &reqwest::Client {
        if allow_private {
            &self.open
        } else {
            &self.strict
        }
    }
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("limits", &self.limits)
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

/// The TLS configuration both clients share, as reqwest would build it for each: the platform's
/// verifier and roots, TLS 1.2 and 1.3, HTTP/2 or HTTP/1.1 by ALPN.
///
/// Built once because reading the roots is most of the server's start-up: on Debian, the
/// verifier reads every root twice (the bundle and the directory of single certificates),
/// nearly 900 system calls and 5 ms for each client built with reqwest's own.
fn tls_config() -> Result<rustls::ClientConfig, NetworkError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(NetworkError::Tls)?
        .with_platform_verifier()
        .map_err(NetworkError::Tls)?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

fn client_builder(limits: &HttpLimits, tls: rustls::ClientConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        // A redirect would be a request to a destination nobody checked (and reqwest skips the
        // resolver for IP literals, so a redirect to 127.0.0.1 would pass unfiltered). The
        // plugin gets the 3xx and decides; a new request goes through every check again.
        .redirect(Policy::none())
        // A proxy from the environment would receive every request, secrets included, without
        // being in any grant; and the address checks would apply to the proxy, not the target.
        .no_proxy()
        .connect_timeout(limits.connect_timeout)
        .read_timeout(limits.read_timeout)
        .user_agent(concat!("decision-matrix/", env!("CARGO_PKG_VERSION")))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::server::Acceptor;
    use tokio::net::TcpListener;
    use tokio_rustls::LazyConfigAcceptor;

    use super::super::PluginNetwork;
    use super::*;
    use crate::plugins::bindings::http::{Auth, HttpError, Method, Request};
    use crate::plugins::grants::Grant;

    /// A loopback TLS server whose certificate no system trusts: what the client offered in
    /// its hello (ALPN), and the client's verdict on the certificate.
    #[tokio::test]
    async fn https_verifies_the_certificate_and_offers_http2() {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("a certificate");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let server_config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![made.cert.der().clone()], key)
            .expect("server config");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.expect("accept");
            let start = LazyConfigAcceptor::new(Acceptor::default(), stream)
                .await
                .expect("a client hello");
            let offered: Vec<Vec<u8>> = start
                .client_hello()
                .alpn()
                .map(|protocols| protocols.map(<[u8]>::to_vec).collect())
                .unwrap_or_default();
            // The client aborts the handshake once it has seen the certificate.
            let _ = start.into_stream(Arc::new(server_config)).await;
            offered
        });

        let url = format!("https://localhost:{port}/");
        let grant = Grant {
            hosts: vec![url.parse().expect("host pattern")],
            allow_private: true,
            ..Grant::default()
        };
        let network = Network::new(
            HttpLimits::default(),
            SecretStore::from_values(Vec::<(String, secrecy::SecretString)>::new()),
        )
        .expect("network");
        let plugin = PluginNetwork::new("tls-test".to_owned(), Arc::new(grant), Arc::new(network));
        let result = plugin
            .send(Request {
                method: Method::Get,
                url,
                headers: Vec::new(),
                body: None,
                auth: Auth::None,
                timeout_ms: None,
            })
            .await;

        match result {
            Err(HttpError::Connection(message)) => assert!(
                message.to_lowercase().contains("certificate"),
                "the refusal names the certificate: {message}"
            ),
            other => panic!("an untrusted certificate must be refused, got {other:?}"),
        }
        let offered = server.await.expect("the server task");
        assert_eq!(offered, [b"h2".to_vec(), b"http/1.1".to_vec()]);
    }
}
