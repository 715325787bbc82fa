//! The `ollama` backend's destination: `OLLAMA_HOST`, read the way Ollama reads it.
//!
//! Ollama accepts `host`, `host:port`, `scheme://host`, `scheme://host:port` and a path
//! prefix for servers behind a reverse proxy, with IPv6 hosts in brackets. Without a scheme
//! the scheme is `http` and the port 11434; with `http://` or `https://` and no port, the
//! scheme's port. Unset means `http://localhost:11434`. `0.0.0.0` (the address people give
//! the server to listen on every interface) means this machine, as it does for Ollama's own
//! client.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::Url;

use super::{BuiltinBackend, Environment, ProviderError, base_url_setting, grant_for, timeout_ms};

const VAR: &str = "OLLAMA_HOST";
const DEFAULT_PORT: u16 = 11434;
const DEFAULT_MODEL: &str = "llama3.1:8b";

/// The backend's grant and settings.
pub(super) fn derive(env: &Environment) -> Result<BuiltinBackend, ProviderError> {
    let raw = env.get(VAR).unwrap_or("");
    let url = base_url(raw)?;
    let mut sources = Vec::new();
    if !raw.is_empty() {
        sources.push(("base-url".to_owned(), VAR.to_owned()));
    }
    let mut config = BTreeMap::from([("base-url".to_owned(), base_url_setting(&url))]);
    let model = match env.get("DMM_OLLAMA_MODEL") {
        Some(model) => {
            sources.push(("default-model".into(), "DMM_OLLAMA_MODEL".into()));
            model
        }
        None => DEFAULT_MODEL,
    };
    config.insert("default-model".into(), model.to_owned());
    let (timeout, source) = timeout_ms(env, "DMM_OLLAMA_TIMEOUT_SECONDS", 60, 10..=600)?;
    config.insert("timeout-ms".into(), timeout);
    sources.extend(source);
    Ok(BuiltinBackend {
        id: "ollama",
        grant: grant_for(VAR, &url, None, config)?,
        secrets: BTreeMap::new(),
        sources,
    })
}

/// `OLLAMA_HOST` as a base URL.
fn base_url(raw: &str) -> Result<Url, ProviderError> {
    let error = |problem: &str| ProviderError::new(VAR, raw, problem);
    let (scheme, rest, default_port) = match raw.split_once("://") {
        None => ("http", raw, DEFAULT_PORT),
        Some(("http", rest)) => ("http", rest, 80),
        Some(("https", rest)) => ("https", rest, 443),
        Some(_) => return Err(error("the scheme must be http or https")),
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = split_host_port(authority).map_err(|p| error(&p))?;
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
    Url::parse(&text).map_err(|e| error(&format!("not a valid address ({e})")))
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

    fn url(raw: &str) -> String {
        base_url(raw).unwrap().to_string()
    }

    #[test]
    fn accepts_every_form_ollama_accepts() {
        for (raw, expected) in [
            ("", "http://localhost:11434/"),
            ("127.0.0.1", "http://127.0.0.1:11434/"),
            ("0.0.0.0", "http://127.0.0.1:11434/"),
            ("0.0.0.0:11500", "http://127.0.0.1:11500/"),
            (":11500", "http://localhost:11500/"),
            ("gpu-box:8080", "http://gpu-box:8080/"),
            ("http://gpu-box", "http://gpu-box/"),
            ("https://ollama.example.com", "https://ollama.example.com/"),
            (
                "https://ollama.example.com:8443/ollama",
                "https://ollama.example.com:8443/ollama",
            ),
            ("[::1]:11434", "http://[::1]:11434/"),
            ("::1", "http://[::1]:11434/"),
            ("[::]", "http://[::1]:11434/"),
        ] {
            assert_eq!(url(raw), expected, "OLLAMA_HOST={raw}");
        }
    }

    #[test]
    fn rejects_what_ollama_cannot_use_naming_the_variable() {
        for raw in ["ftp://h", "h:port", "h:70000", "[::1", "[::1]x"] {
            let err = base_url(raw).unwrap_err();
            assert!(err.to_string().starts_with("OLLAMA_HOST = "), "{err}");
        }
    }

    #[test]
    fn loopback_gets_allow_private_for_that_host_only() {
        let backend = derive(&Environment::from_pairs([(
            "OLLAMA_HOST",
            "127.0.0.1:11500",
        )]))
        .unwrap();
        assert!(backend.grant.allow_private);
        assert_eq!(backend.grant.hosts.len(), 1);
        assert_eq!(backend.grant.hosts[0].to_string(), "http://127.0.0.1:11500");
        assert_eq!(backend.grant.config["base-url"], "http://127.0.0.1:11500");
        let remote = derive(&Environment::from_pairs([(
            "OLLAMA_HOST",
            "https://ollama.example.com",
        )]))
        .unwrap();
        assert!(!remote.grant.allow_private);
    }

    #[test]
    fn model_and_timeout_come_from_the_reference_variables() {
        let backend = derive(&Environment::from_pairs([
            ("DMM_OLLAMA_MODEL", "qwen3:8b"),
            ("DMM_OLLAMA_TIMEOUT_SECONDS", "120"),
        ]))
        .unwrap();
        assert_eq!(backend.grant.config["default-model"], "qwen3:8b");
        assert_eq!(backend.grant.config["timeout-ms"], "120000");
        let err = derive(&Environment::from_pairs([(
            "DMM_OLLAMA_TIMEOUT_SECONDS",
            "5",
        )]))
        .unwrap_err();
        assert!(err.to_string().contains("10 to 600"), "{err}");
    }
}
