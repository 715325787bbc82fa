//! The pure checks of the pipeline: which URL a plugin may reach, with which secret, at which
//! IP literal. No I/O, so each rule is tested on its own.
//!
//! Every refusal says which grant line would allow the request. The operator reading the error
//! should be able to copy the suggestion into the config file, so the suggested patterns are
//! the exact canonical origin of the request and table names are valid TOML keys.

use std::net::IpAddr;

use url::{Host, Url};

use super::classify;
use crate::plugins::bindings::http::HttpError;
use crate::plugins::grants::{Grant, HostPattern, toml_key};

/// Parses the guest's URL and rejects forms the host never sends. Returns the URL with its
/// fragment removed (fragments are never sent; keeping them would only leak into logs).
pub(crate) fn parse_url(text: &str) -> Result<Url, HttpError> {
    let mut url = Url::parse(text)
        .map_err(|e| HttpError::InvalidRequest(format!("invalid URL '{text}': {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HttpError::InvalidRequest(format!(
            "unsupported URL scheme '{}': only https (and http where granted) can be requested",
            url.scheme()
        )));
    }
    if url.host().is_none() {
        return Err(HttpError::InvalidRequest(format!(
            "URL '{text}' has no host"
        )));
    }
    // reqwest turns user info into an `Authorization: Basic` header, which would be a way
    // around the rule that authentication only goes through `auth`.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(HttpError::InvalidRequest(
            "URLs with a user name or password are not allowed; authenticate through `auth`"
                .to_owned(),
        ));
    }
    url.set_fragment(None);
    Ok(url)
}

/// The URL without query (which may carry tokens) or fragment, for logs.
pub(crate) fn redacted_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// `scheme://host:port`, always with the port, so the operator sees exactly which port a
/// request was refused for.
fn origin_with_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or_default();
    format!("{}://{host}:{port}", url.scheme())
}

fn suggestion(url: &Url) -> String {
    HostPattern::for_origin(url)
        .map(|pattern| pattern.to_string())
        .unwrap_or_else(|| origin_with_port(url))
}

/// Scheme and host allow-list: the URL must match one of the grant's host patterns. Plain
/// `http` is refused with its own message so an operator who granted the `https` origin sees
/// why the `http` one fails.
pub(crate) fn check_destination(plugin: &str, grant: &Grant, url: &Url) -> Result<(), HttpError> {
    let table = format!("[grants.{}]", toml_key(plugin));
    if url.scheme() == "http"
        && !grant
            .hosts
            .iter()
            .any(|p| p.scheme() == "http" && p.matches(url))
    {
        let mut secure = url.clone();
        let https_granted = secure.set_scheme("https").is_ok() && grant.host_for(&secure).is_some();
        let hint = if https_granted {
            format!(" ({} is granted: use https)", origin_with_port(&secure))
        } else {
            String::new()
        };
        return Err(HttpError::Denied(format!(
            "plugin '{plugin}' may not use plain http for {}; grant it with hosts = [\"{}\"] \
             under {table}{hint}",
            origin_with_port(url),
            suggestion(url),
        )));
    }
    if grant.host_for(url).is_none() {
        return Err(HttpError::Denied(format!(
            "plugin '{plugin}' may not reach {}; grant it with hosts = [\"{}\"] under {table}",
            origin_with_port(url),
            suggestion(url),
        )));
    }
    Ok(())
}

/// The named secret must be granted to this plugin *for this destination*; this is what stops
/// a plugin sending one provider's key to another host it may also reach.
pub(crate) fn check_secret(
    plugin: &str,
    grant: &Grant,
    secret: &str,
    url: &Url,
) -> Result<(), HttpError> {
    let table = format!("[grants.{}].secrets", toml_key(plugin));
    let bound = grant.secrets.get(secret);
    if bound.is_some_and(|destinations| destinations.iter().any(|d| d.matches(url))) {
        return Ok(());
    }
    let example = format!("{} = [\"{}\"]", toml_key(secret), suggestion(url));
    let message = match bound {
        None => format!(
            "secret '{secret}' is not granted to plugin '{plugin}'; add it under {table}, \
             e.g. {example}"
        ),
        Some(_) => format!(
            "secret '{secret}' is not granted to plugin '{plugin}' for {}; add it under \
             {table}, e.g. {example}",
            origin_with_port(url)
        ),
    };
    Err(HttpError::SecretNotGranted(message))
}

/// For IP-literal URLs: the address class, if the grant does not allow it. Host names are
/// checked by the strict client's resolver, which reqwest bypasses for literals.
pub(crate) fn check_ip_literal(plugin: &str, grant: &Grant, url: &Url) -> Result<(), HttpError> {
    if grant.allow_private {
        return Ok(());
    }
    let addr: IpAddr = match url.host() {
        Some(Host::Ipv4(v4)) => v4.into(),
        Some(Host::Ipv6(v6)) => v6.into(),
        _ => return Ok(()),
    };
    let class = classify(addr);
    if class.is_public() {
        return Ok(());
    }
    Err(private_denied(
        plugin,
        url,
        &format!("{addr} is {}", class.describe()),
    ))
}

/// The `denied` error for a destination whose address class needs `allow_private`. `what`
/// says which address and why, e.g. "localhost resolves to 127.0.0.1, a loopback address".
pub(crate) fn private_denied(plugin: &str, url: &Url, what: &str) -> HttpError {
    HttpError::Denied(format!(
        "plugin '{plugin}' may not reach {}: {what}; set allow_private = true under \
         [grants.{}] to allow it",
        origin_with_port(url),
        toml_key(plugin)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(hosts: &[&str]) -> Grant {
        Grant {
            hosts: hosts.iter().map(|h| h.parse().unwrap()).collect(),
            ..Grant::default()
        }
    }

    fn url(text: &str) -> Url {
        parse_url(text).unwrap()
    }

    fn denied(result: Result<(), HttpError>) -> String {
        match result {
            Err(HttpError::Denied(message)) => message,
            other => panic!("expected denied, got {other:?}"),
        }
    }

    fn not_granted(result: Result<(), HttpError>) -> String {
        match result {
            Err(HttpError::SecretNotGranted(message)) => message,
            other => panic!("expected secret-not-granted, got {other:?}"),
        }
    }

    #[test]
    fn url_syntax_is_checked_first() {
        for (text, expected) in [
            ("not a url", "invalid URL"),
            ("ftp://example.com/", "unsupported URL scheme 'ftp'"),
            ("file:///etc/passwd", "unsupported URL scheme 'file'"),
            ("https://user:pw@example.com/", "user name or password"),
            ("https://user@example.com/", "user name or password"),
        ] {
            match parse_url(text) {
                Err(HttpError::InvalidRequest(message)) => {
                    assert!(message.contains(expected), "{text}: {message}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        assert_eq!(
            url("https://a.example/p?q=1#frag").as_str(),
            "https://a.example/p?q=1"
        );
    }

    #[test]
    fn unknown_host_names_the_grant_line() {
        let g = grant(&["https://api.openai.com"]);
        assert_eq!(
            denied(check_destination(
                "x",
                &g,
                &url("https://evil.example/steal?k=v")
            )),
            "plugin 'x' may not reach https://evil.example:443; grant it with \
             hosts = [\"https://evil.example\"] under [grants.x]"
        );
        check_destination("x", &g, &url("https://api.openai.com/v1/chat")).unwrap();
    }

    #[test]
    fn plain_http_needs_an_http_pattern() {
        let g = grant(&["https://api.openai.com"]);
        let message = denied(check_destination("x", &g, &url("http://api.openai.com/")));
        assert!(
            message.contains("may not use plain http for http://api.openai.com:80"),
            "{message}"
        );
        assert!(
            message.ends_with(
                "hosts = [\"http://api.openai.com\"] under [grants.x] \
                 (https://api.openai.com:443 is granted: use https)"
            ),
            "{message}"
        );
        let message = denied(check_destination("x", &g, &url("http://other.example/")));
        assert!(message.ends_with("under [grants.x]"), "{message}");
        let g = grant(&["http://127.0.0.1:11434"]);
        check_destination("x", &g, &url("http://127.0.0.1:11434/api")).unwrap();
    }

    #[test]
    fn port_must_match() {
        let g = grant(&["http://127.0.0.1:11434"]);
        let message = denied(check_destination("x", &g, &url("http://127.0.0.1:11435/")));
        assert!(message.contains("http://127.0.0.1:11435"), "{message}");
        assert!(
            message.contains("hosts = [\"http://127.0.0.1:11435\"]"),
            "{message}"
        );
    }

    #[test]
    fn wildcard_grants_subdomains_but_not_apex() {
        let g = grant(&["https://*.example.com"]);
        check_destination("x", &g, &url("https://a.example.com/")).unwrap();
        check_destination("x", &g, &url("https://a.b.example.com/")).unwrap();
        denied(check_destination("x", &g, &url("https://example.com/")));
        denied(check_destination(
            "x",
            &g,
            &url("https://example.com.evil.example/"),
        ));
    }

    #[test]
    fn odd_plugin_ids_get_quoted_table_names() {
        let message = denied(check_destination(
            "a.b",
            &Grant::default(),
            &url("https://h.example/"),
        ));
        assert!(message.ends_with("under [grants.\"a.b\"]"), "{message}");
    }

    #[test]
    fn secrets_are_bound_to_destinations() {
        let mut g = grant(&["https://api.openai.com", "https://other.example"]);
        g.secrets.insert(
            "openai".into(),
            vec!["https://api.openai.com".parse().unwrap()],
        );
        check_secret("x", &g, "openai", &url("https://api.openai.com/v1")).unwrap();
        assert_eq!(
            not_granted(check_secret(
                "x",
                &g,
                "openai",
                &url("https://other.example/")
            )),
            "secret 'openai' is not granted to plugin 'x' for https://other.example:443; add it \
             under [grants.x].secrets, e.g. openai = [\"https://other.example\"]"
        );
        let message = not_granted(check_secret(
            "x",
            &g,
            "anthropic",
            &url("https://api.openai.com/"),
        ));
        assert!(
            message.starts_with("secret 'anthropic' is not granted to plugin 'x';"),
            "{message}"
        );
    }

    #[test]
    fn ip_literals_need_allow_private() {
        let g = grant(&["http://127.0.0.1:8080", "http://[::ffff:127.0.0.1]:8080"]);
        assert_eq!(
            denied(check_ip_literal("x", &g, &url("http://127.0.0.1:8080/"))),
            "plugin 'x' may not reach http://127.0.0.1:8080: 127.0.0.1 is a loopback address; \
             set allow_private = true under [grants.x] to allow it"
        );
        let message = denied(check_ip_literal(
            "x",
            &g,
            &url("http://[::ffff:127.0.0.1]:8080/"),
        ));
        assert!(
            message.contains("::ffff:127.0.0.1 is a loopback address"),
            "{message}"
        );
        let message = denied(check_ip_literal("x", &g, &url("http://169.254.169.254/")));
        assert!(message.contains("link-local"), "{message}");
        // Decimal and hex IPv4 forms are normalised by the URL parser before the check.
        denied(check_ip_literal("x", &g, &url("http://2130706433/")));
        denied(check_ip_literal("x", &g, &url("http://0x7f.1/")));
        check_ip_literal("x", &g, &url("http://8.8.8.8/")).unwrap();
        check_ip_literal("x", &g, &url("http://localhost/")).unwrap();

        let open = Grant {
            allow_private: true,
            ..g
        };
        check_ip_literal("x", &open, &url("http://127.0.0.1:8080/")).unwrap();
    }
}
