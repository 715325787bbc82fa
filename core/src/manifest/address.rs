//! How a backend's destination is written: `[backend.destination] address` in `plugin.toml`.
//!
//! Users give a destination the way their tools take it. An OpenAI-style base URL is a full
//! URL (`http://127.0.0.1:4000/v1`); Ollama's `OLLAMA_HOST` also takes `host`, `host:port`,
//! `scheme://host`, `scheme://host:port` and a path prefix for servers behind a reverse proxy,
//! with IPv6 hosts in brackets. A manifest names the form its variables use, and the host reads
//! both the variables and the manifest's own default with it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Deserialize;
use url::Url;

/// The form a destination is written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressForm {
    /// An `http://` or `https://` URL with a host, without credentials, query or fragment.
    #[default]
    Url,
    /// A URL, or `host[:port][/path]` as Ollama's `OLLAMA_HOST` takes it: without a scheme the
    /// scheme is `http` and the port the destination's `default_port`; with `http://` or
    /// `https://` and no port, the scheme's port. An empty host means `localhost`, and
    /// `0.0.0.0` or `::` (addresses people give a server to listen on everywhere) mean this
    /// machine, as they do for Ollama's own client.
    HostPort,
}

impl AddressForm {
    /// Reads `raw` in this form; `default_port` is used by [`AddressForm::HostPort`] when
    /// `raw` has neither scheme nor port. The error says what is wrong and what is allowed.
    pub fn parse(self, raw: &str, default_port: u16) -> Result<Url, String> {
        match self {
            AddressForm::Url => base_url(raw),
            AddressForm::HostPort => host_port(raw, default_port),
        }
    }
}

/// `raw` as a base URL for a plugin: http or https, a host, no credentials, query or fragment.
fn base_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw)
        .map_err(|e| format!("not a URL ({e}); expected e.g. http://127.0.0.1:4000/v1"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("expected an http:// or https:// URL with a host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "user:password@ in the URL is not supported; use the API key variable".to_owned(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("a base URL cannot carry a query or fragment".to_owned());
    }
    Ok(url)
}

/// `raw` in any of the forms of [`AddressForm::HostPort`].
fn host_port(raw: &str, default_port: u16) -> Result<Url, String> {
    let (scheme, rest, default_port) = match raw.split_once("://") {
        None => ("http", raw, default_port),
        Some(("http", rest)) => ("http", rest, 80),
        Some(("https", rest)) => ("https", rest, 443),
        Some(_) => return Err("the scheme must be http or https".to_owned()),
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = split_host_port(authority)?;
    let host = match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) if ip.is_unspecified() => "127.0.0.1".to_owned(),
        Ok(IpAddr::V6(ip)) if ip.is_unspecified() => format!("[{}]", Ipv6Addr::LOCALHOST),
        Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
        Ok(IpAddr::V4(ip)) => Ipv4Addr::to_string(&ip),
        Err(_) if host.is_empty() => "localhost".to_owned(),
        Err(_) => host.to_owned(),
    };
    let port = port.unwrap_or(default_port);
    let text = format!("{scheme}://{host}:{port}/{path}");
    Url::parse(&text).map_err(|e| format!("not a valid address ({e})"))
}

/// Splits `host[:port]`, `[v6][:port]` or a bare IPv6 address.
fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let parse_port = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("the port {p:?} is not a number from 0 to 65535"))
    };
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| "an IPv6 address opened with [ is not closed with ]".to_owned())?;
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(parse_port(port)?))),
                None => Err("expected :port after the bracketed IPv6 address".into()),
            },
        };
    }
    if authority.parse::<Ipv6Addr>().is_ok() {
        return Ok((authority, None));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Ok((host, Some(parse_port(port)?))),
        None => Ok((authority, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(
            AddressForm::Url
                .parse("http://127.0.0.1:4000/v1", 0)
                .is_ok()
        );
        for (bad, problem) in [
            ("127.0.0.1:4000", "not a URL"),
            ("ftp://x", "expected an http:// or https://"),
            ("http://u:p@h/v1", "user:password@"),
            ("http://h/v1?x=1", "query or fragment"),
            ("nonsense", "not a URL"),
        ] {
            let err = AddressForm::Url.parse(bad, 0).unwrap_err();
            assert!(err.contains(problem), "{bad}: {err}");
        }
    }

    #[test]
    fn host_port_forms_fill_in_scheme_and_port() {
        let url = |raw| AddressForm::HostPort.parse(raw, 8080).unwrap().to_string();
        assert_eq!(url(""), "http://localhost:8080/");
        assert_eq!(url("box"), "http://box:8080/");
        assert_eq!(url("https://box"), "https://box/");
        assert_eq!(url("0.0.0.0:9"), "http://127.0.0.1:9/");
        assert!(AddressForm::HostPort.parse("h:port", 8080).is_err());
    }
}
