//! Outbound HTTP for plugins: the host side of the `http` import.
//!
//! A plugin has no sockets. It hands the host a [`Request`](crate::plugins::bindings::http::Request)
//! naming its secrets, and [`PluginNetwork::send`] decides, in a fixed order, whether and how
//! that request leaves the machine:
//!
//! 1. URL syntax (`policy`): absolute `http`/`https` URL with a host, no user info.
//! 2. Scheme: `https`, or `http` where an `http://` host pattern grants it.
//! 3. Host allow-list: scheme, host and port must match one of the grant's `hosts`.
//! 4. Secret grant: the secret named in `auth` must be granted to this plugin *for this
//!    destination*, and be of the right kind (a value for bearer/header, AWS credentials for
//!    SigV4).
//! 5. Address class (`decision_matrix_core::address`): loopback, private, link-local and other non-public
//!    addresses need `allow_private`. IP literals are checked here; host names are checked by
//!    the strict client's resolver (`resolver`) at connection time, on the very addresses
//!    the socket will use, so DNS rebinding cannot get around it.
//! 6. Secret values: the URL, headers and body must not spell (raw or in a common encoding,
//!    [`secret_forms`]) the value of one of the plugin's secrets that is not bound to this
//!    destination ([`scrub`]).
//! 7. Credentials (`headers`): guest-set `authorization`, `proxy-authorization`,
//!    `x-api-key`, `cookie`, `x-amz-*` and `host` headers (and framing headers) are dropped;
//!    the host injects the secret (`secrets`) or signs with SigV4 (`sigv4`).
//! 8. Send with redirects off, no proxy, connect/read timeouts and the request's total time
//!    limit; read the body up to the size cap; scrub this plugin's secrets, in every spelling,
//!    from headers and body ([`scrub`]); hand back lower-case header names.
//!
//! Each refusal is a typed `http-error` whose message names the grant line that would allow
//! the request, and is logged once at `warn` with `plugin`, `url` (without query) and
//! `reason`.
//!
//! # Why two clients
//!
//! reqwest takes its DNS resolver per client, not per request, so the address policy has to
//! be fixed when a client is built. [`Network`] therefore holds exactly two: a *strict* one
//! whose resolver drops every non-public address, used for grants without `allow_private`,
//! and an *open* one with the system resolver, for grants with it. One client per grant would
//! split the connection pool for no gain; one client for everything would need a per-request
//! policy reqwest cannot express, and would let a strict plugin reuse a pooled connection
//! that a permissive plugin opened to a private address. With two, each pool only ever holds
//! connections its own policy allowed.

mod headers;
mod network;
mod pipeline;
mod policy;
mod resolver;
pub(crate) mod scrub;
mod secret_forms;
mod secrets;
mod sigv4;

#[cfg(test)]
mod tests;

pub use decision_matrix_core::address::{AddressClass, classify};
pub use decision_matrix_core::config::HttpLimits;
pub use network::{Network, NetworkError};
pub use pipeline::PluginNetwork;
pub use scrub::REDACTED;
pub use secrets::{SecretError, SecretStore};
