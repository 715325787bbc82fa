//! The DNS resolver of the strict client: resolves with the system resolver and drops every
//! non-public address.
//!
//! Filtering here, inside the connector, rather than in a separate look-up before the request,
//! means the addresses that were checked are the addresses the socket connects to. A name
//! whose records change between a check and the connection (DNS rebinding) cannot slip a
//! private address past it, and no second look-up is paid per request.

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::{AddressClass, classify};

/// Resolves names like the system resolver, keeping only [`AddressClass::Public`] addresses.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PublicOnlyResolver;

/// Every address a name resolved to was refused. Carried through reqwest's error chain so the
/// pipeline can turn it into a `denied` that names the address and the grant to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host} resolves to {addr}, {class}")]
pub(crate) struct BlockedAddress {
    /// The name that was resolved.
    pub host: String,
    /// The first address it resolved to.
    pub addr: IpAddr,
    /// Why that address was refused.
    pub class: AddressClass,
}

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: reqwest replaces it with the URL's port.
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = keep_public(&host, resolved)?;
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The public addresses of `resolved`, or the reason there are none.
pub(crate) fn keep_public(
    host: &str,
    resolved: Vec<SocketAddr>,
) -> Result<Vec<SocketAddr>, BlockedAddress> {
    let first = resolved.first().copied();
    let allowed: Vec<SocketAddr> = resolved
        .into_iter()
        .filter(|addr| classify(addr.ip()).is_public())
        .collect();
    match (allowed.is_empty(), first) {
        (false, _) => Ok(allowed),
        (true, Some(first)) => Err(BlockedAddress {
            host: host.to_owned(),
            addr: first.ip(),
            class: classify(first.ip()),
        }),
        // The system resolver reports "no records" as an error, not an empty list; treat an
        // empty list the same way rather than letting the connector invent a failure.
        (true, None) => Err(BlockedAddress {
            host: host.to_owned(),
            addr: IpAddr::from([0, 0, 0, 0]),
            class: AddressClass::Unspecified,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sock(text: &str) -> SocketAddr {
        SocketAddr::new(text.parse().unwrap(), 0)
    }

    #[test]
    fn keeps_public_and_drops_the_rest() {
        let kept = keep_public(
            "mixed.example",
            vec![
                sock("127.0.0.1"),
                sock("8.8.8.8"),
                sock("fd00::1"),
                sock("2606:4700::1"),
            ],
        )
        .unwrap();
        assert_eq!(kept, vec![sock("8.8.8.8"), sock("2606:4700::1")]);
    }

    #[test]
    fn all_blocked_names_the_first_address() {
        let err = keep_public("localhost", vec![sock("::1"), sock("127.0.0.1")]).unwrap_err();
        assert_eq!(err.addr, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(
            err.to_string(),
            "localhost resolves to ::1, a loopback address"
        );
    }

    #[tokio::test]
    async fn localhost_is_refused() {
        let name: Name = "localhost".parse().unwrap();
        let err = match PublicOnlyResolver.resolve(name).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(err) => err,
        };
        let blocked = err
            .downcast_ref::<BlockedAddress>()
            .expect("a BlockedAddress");
        assert_eq!(blocked.class, AddressClass::Loopback);
    }
}
