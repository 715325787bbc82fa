//! The shared HTTP clients, their limits and the secret store.

use std::fmt;
use std::sync::Arc;

use reqwest::redirect::Policy;

use super::HttpLimits;
use super::resolver::PublicOnlyResolver;
use super::secrets::SecretStore;

/// The HTTP clients could not be built (in practice: the TLS backend failed to initialise).
#[derive(Debug, thiserror::Error)]
#[error("could not build the HTTP client for plugins: {0}")]
pub struct NetworkError(#[source] reqwest::Error);

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
        let strict = client_builder(&limits)
            .dns_resolver(Arc::new(PublicOnlyResolver))
            .build()
            .map_err(NetworkError)?;
        let open = client_builder(&limits).build().map_err(NetworkError)?;
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

fn client_builder(limits: &HttpLimits) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
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
