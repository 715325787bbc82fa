//! The operator's grants: which hosts and secrets each plugin may use.
//!
//! A plugin's own manifest may *ask* for hosts and secrets; only what is written here *grants*
//! them, together with what the host derives for a backend from the variables its manifest's
//! `[backend]` table names (`crate::providers`, merged in before the host starts). Everything
//! else defaults to nothing: a plugin without a grant has no network at all, and a grant
//! without `allow_private` cannot reach loopback, private or link-local addresses.
//!
//! ```toml
//! [secrets.openai]                      # secret name -> where the host reads the value
//! env = "OPENAI_API_KEY"                # or: file = "/run/secrets/openai" (trimmed)
//!                                       # or: aws = true, profile = "bedrock" (AWS credential chain)
//!
//! [grants.my-backend]                   # plugin id
//! hosts = ["https://api.openai.com", "http://127.0.0.1:11434", "https://*.example.com"]
//! allow_private = false
//! secrets = { openai = ["https://api.openai.com"] }
//! config = { base-url = "https://api.openai.com/v1" }
//! ```
//!
//! Secrets are bound to destinations, not just to plugins: a plugin granted the OpenAI key and
//! some other host must not be able to send that key to the other host. Deserializing checks
//! the syntax of each entry; [`GrantsConfig::validate`] checks the entries against each other.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use url::{Host, Url};

/// The `[secrets]` and `[grants]` tables of the host configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GrantsConfig {
    /// Secret name → where the host reads its value.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretSource>,
    /// Plugin id → what that plugin may use.
    #[serde(default)]
    pub grants: BTreeMap<String, Grant>,
}

/// What one plugin may use. [`Grant::default`] grants nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// Destinations the plugin may send requests to.
    #[serde(default)]
    pub hosts: Vec<HostPattern>,
    /// Whether destinations may resolve to loopback, private, link-local and other non-public
    /// addresses. Needed for a model server on the same machine or network (Ollama).
    #[serde(default)]
    pub allow_private: bool,
    /// Secret name → the destinations that secret may be sent to. Each destination must also be
    /// covered by `hosts`.
    #[serde(default)]
    pub secrets: BTreeMap<String, Vec<HostPattern>>,
    /// Non-secret settings the plugin reads through the `config` import.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

impl Grant {
    /// The first pattern in `hosts` that admits `url`, if any.
    pub fn host_for(&self, url: &Url) -> Option<&HostPattern> {
        self.hosts.iter().find(|pattern| pattern.matches(url))
    }
}

/// Where the host reads a secret's value. Written in TOML as exactly one of
/// `env = "VAR"`, `file = "/path"` or `aws = true` (with an optional `profile = "name"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "RawSecretSource", into = "RawSecretSource")]
pub enum SecretSource {
    /// The value of an environment variable of the host process.
    Env {
        /// Variable name.
        env: String,
    },
    /// The contents of a file, with surrounding whitespace trimmed.
    File {
        /// Path of the file.
        file: PathBuf,
    },
    /// AWS credentials from the AWS SDK's default credential chain, for SigV4 signing.
    Aws {
        /// Named profile in the shared AWS config files; `None` uses the chain's default.
        profile: Option<String>,
    },
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env { env } => write!(f, "environment variable {env}"),
            Self::File { file } => write!(f, "file {}", file.display()),
            Self::Aws { profile: None } => f.write_str("the AWS credential chain"),
            Self::Aws {
                profile: Some(profile),
            } => write!(f, "the AWS credential chain (profile '{profile}')"),
        }
    }
}

/// The TOML shape of [`SecretSource`]; the enum is what the rest of the host matches on.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawSecretSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aws: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    profile: Option<String>,
}

impl TryFrom<RawSecretSource> for SecretSource {
    type Error = String;

    fn try_from(raw: RawSecretSource) -> Result<Self, String> {
        const SHAPE: &str =
            "a secret needs exactly one of env = \"VAR\", file = \"/path\" or aws = true";
        let aws = raw.aws == Some(true);
        if raw.profile.is_some() && !aws {
            return Err("profile is only allowed together with aws = true".to_owned());
        }
        match (raw.env, raw.file, aws) {
            (Some(env), None, false) if !env.is_empty() => Ok(Self::Env { env }),
            (None, Some(file), false) if !file.as_os_str().is_empty() => Ok(Self::File { file }),
            (None, None, true) => Ok(Self::Aws {
                profile: raw.profile,
            }),
            _ => Err(SHAPE.to_owned()),
        }
    }
}

impl From<SecretSource> for RawSecretSource {
    fn from(source: SecretSource) -> Self {
        match source {
            SecretSource::Env { env } => Self {
                env: Some(env),
                ..Self::default()
            },
            SecretSource::File { file } => Self {
                file: Some(file),
                ..Self::default()
            },
            SecretSource::Aws { profile } => Self {
                aws: Some(true),
                profile,
                ..Self::default()
            },
        }
    }
}

/// A destination a plugin may reach: scheme, host (exact or `*.` subdomains) and port.
///
/// Written `scheme://host[:port]`, e.g. `https://api.openai.com`, `http://127.0.0.1:11434`,
/// `https://*.example.com`. The port defaults to the scheme's (443, 80). Host names are
/// compared case-insensitively after IDNA normalisation, the same way request URLs are
/// normalised, so `https://BÜCHER.example` and `https://xn--bcher-kva.example` are one host.
/// `*.example.com` matches any subdomain of `example.com` at any depth, but not
/// `example.com` itself: grant the apex separately if the plugin needs it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPattern {
    scheme: Scheme,
    host: PatternHost,
    port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum PatternHost {
    /// One host: a domain (lower-case, ASCII) or an IP address.
    Exact(Host<String>),
    /// Every strict subdomain of this domain (lower-case, ASCII).
    Subdomains(String),
}

/// Why a host pattern could not be parsed. The message quotes the pattern and says what a
/// valid one looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid host pattern '{pattern}': {reason}")]
pub struct HostPatternError {
    pattern: String,
    reason: String,
}

impl HostPatternError {
    fn new(pattern: &str, reason: impl Into<String>) -> Self {
        Self {
            pattern: pattern.to_owned(),
            reason: reason.into(),
        }
    }
}

impl HostPattern {
    /// The pattern for exactly the origin of `url` (scheme, host and port), if `url` is an
    /// `http`/`https` URL with a host. Used to suggest the grant line for a denied request.
    pub fn for_origin(url: &Url) -> Option<Self> {
        let scheme = match url.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return None,
        };
        let host = url.host()?.to_owned();
        let port = url.port_or_known_default()?;
        Some(Self {
            scheme,
            host: PatternHost::Exact(host),
            port,
        })
    }

    /// `"http"` or `"https"`.
    pub fn scheme(&self) -> &'static str {
        self.scheme.as_str()
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether this is a `*.` subdomain pattern.
    pub fn is_wildcard(&self) -> bool {
        matches!(self.host, PatternHost::Subdomains(_))
    }

    /// Whether `url` (already parsed, so its host is normalised) is a destination this pattern
    /// admits. Paths, queries and user info of `url` are not considered.
    pub fn matches(&self, url: &Url) -> bool {
        if url.scheme() != self.scheme.as_str() || url.port_or_known_default() != Some(self.port) {
            return false;
        }
        match (&self.host, url.host()) {
            (PatternHost::Exact(Host::Domain(want)), Some(Host::Domain(got))) => want == got,
            (PatternHost::Exact(Host::Ipv4(want)), Some(Host::Ipv4(got))) => *want == got,
            (PatternHost::Exact(Host::Ipv6(want)), Some(Host::Ipv6(got))) => *want == got,
            (PatternHost::Subdomains(base), Some(Host::Domain(got))) => is_subdomain(got, base),
            _ => false,
        }
    }

    /// Whether every destination `other` admits is also admitted by `self`.
    pub fn covers(&self, other: &HostPattern) -> bool {
        if self.scheme != other.scheme || self.port != other.port {
            return false;
        }
        match (&self.host, &other.host) {
            (PatternHost::Exact(want), PatternHost::Exact(got)) => want == got,
            (PatternHost::Subdomains(base), PatternHost::Exact(Host::Domain(got))) => {
                is_subdomain(got, base)
            }
            (PatternHost::Subdomains(base), PatternHost::Subdomains(got)) => {
                got == base || is_subdomain(got, base)
            }
            _ => false,
        }
    }
}

/// `name` is a strict subdomain of `base` (both lower-case ASCII).
fn is_subdomain(name: &str, base: &str) -> bool {
    name.len() > base.len() + 1
        && name.ends_with(base)
        && name.as_bytes()[name.len() - base.len() - 1] == b'.'
}

impl FromStr for HostPattern {
    type Err = HostPatternError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason: &str| HostPatternError::new(input, reason);
        let text = input.trim();
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(error(
                "expected scheme://host[:port], e.g. https://api.example.com",
            ));
        };
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            _ => return Err(error("the scheme must be http or https")),
        };
        // A lone trailing slash is how many people write an origin; anything after it is a path.
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '\\']) {
            return Err(error(
                "a host pattern has no path, query or fragment; write only scheme://host[:port]",
            ));
        }
        if authority.contains('@') {
            return Err(error("a host pattern has no user name or password"));
        }
        let (wildcard, host_port) = match authority.strip_prefix("*.") {
            Some(base) => (true, base),
            None => (false, authority),
        };
        if host_port.contains('*') {
            return Err(error(
                "a wildcard is only allowed as the whole first label, as in https://*.example.com",
            ));
        }
        if host_port.is_empty() || host_port.starts_with(':') {
            return Err(error("the host is missing"));
        }
        // Let `url` normalise the host exactly as it will normalise request URLs (IDNA, case,
        // IPv4 forms such as 0x7f.1, IPv6 compression), so that matching compares like with like.
        let parsed = Url::parse(&format!("{}://{host_port}/", scheme.as_str()))
            .map_err(|e| error(&format!("{e}")))?;
        let host = parsed.host().ok_or_else(|| error("the host is missing"))?;
        let port = parsed.port().unwrap_or(scheme.default_port());
        let host = if wildcard {
            match host {
                Host::Domain(base) if base.contains('.') => {
                    PatternHost::Subdomains(base.to_owned())
                }
                Host::Domain(_) => {
                    return Err(error(
                        "a wildcard over a single label (such as *.com) would grant too much; \
                         name at least two labels, as in https://*.example.com",
                    ));
                }
                _ => return Err(error("a wildcard cannot be combined with an IP address")),
            }
        } else {
            PatternHost::Exact(host.to_owned())
        };
        Ok(Self { scheme, host, port })
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        match &self.host {
            PatternHost::Exact(host) => write!(f, "{host}")?,
            PatternHost::Subdomains(base) => write!(f, "*.{base}")?,
        }
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

impl TryFrom<String> for HostPattern {
    type Error = HostPatternError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<HostPattern> for String {
    fn from(pattern: HostPattern) -> Self {
        pattern.to_string()
    }
}

impl Serialize for HostPattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HostPattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One inconsistency found by [`GrantsConfig::problems`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantProblem {
    /// A grant names a secret that has no `[secrets.<name>]` entry.
    #[error(
        "[grants.{}] grants secret '{secret}', but no [secrets.{}] says where to read it",
        toml_key(.plugin),
        toml_key(.secret)
    )]
    UndefinedSecret {
        /// Plugin id of the grant.
        plugin: String,
        /// Secret name.
        secret: String,
    },
    /// A secret is bound to a destination the plugin may not reach.
    #[error(
        "[grants.{}] binds secret '{secret}' to {destination}, which is not covered by its hosts; \
         add \"{destination}\" to hosts or remove it from the secret",
        toml_key(.plugin)
    )]
    SecretHostNotGranted {
        /// Plugin id of the grant.
        plugin: String,
        /// Secret name.
        secret: String,
        /// The destination the secret is bound to.
        destination: HostPattern,
    },
    /// A secret is granted with an empty destination list, which can never be used.
    #[error(
        "[grants.{}] grants secret '{secret}' to no destination; list the hosts it may be sent to",
        toml_key(.plugin)
    )]
    SecretWithoutDestination {
        /// Plugin id of the grant.
        plugin: String,
        /// Secret name.
        secret: String,
    },
}

impl GrantsConfig {
    /// Every inconsistency between the grants and the secret definitions, one message each;
    /// empty when the configuration is consistent. All of them are reported at once so the
    /// operator can fix the file in one pass.
    pub fn validate(&self) -> Vec<String> {
        self.problems().iter().map(ToString::to_string).collect()
    }

    /// [`GrantsConfig::validate`], as typed problems.
    pub fn problems(&self) -> Vec<GrantProblem> {
        let mut problems = Vec::new();
        for (plugin, grant) in &self.grants {
            for (secret, destinations) in &grant.secrets {
                if !self.secrets.contains_key(secret) {
                    problems.push(GrantProblem::UndefinedSecret {
                        plugin: plugin.clone(),
                        secret: secret.clone(),
                    });
                }
                if destinations.is_empty() {
                    problems.push(GrantProblem::SecretWithoutDestination {
                        plugin: plugin.clone(),
                        secret: secret.clone(),
                    });
                }
                for destination in destinations {
                    if !grant.hosts.iter().any(|host| host.covers(destination)) {
                        problems.push(GrantProblem::SecretHostNotGranted {
                            plugin: plugin.clone(),
                            secret: secret.clone(),
                            destination: destination.clone(),
                        });
                    }
                }
            }
        }
        problems
    }
}

/// `key` as it must be written in a TOML table header: bare when it can be, quoted otherwise.
/// Error messages tell the operator which line to write, so the line has to be valid TOML.
pub fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare {
        key.to_owned()
    } else {
        let mut quoted = String::with_capacity(key.len() + 2);
        quoted.push('"');
        for c in key.chars() {
            match c {
                '"' => quoted.push_str("\\\""),
                '\\' => quoted.push_str("\\\\"),
                c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
                c => quoted.push(c),
            }
        }
        quoted.push('"');
        quoted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pattern(text: &str) -> HostPattern {
        text.parse()
            .unwrap_or_else(|e| panic!("{text} should parse: {e}"))
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn parses_and_prints_canonical_forms() {
        let cases = [
            ("https://api.openai.com", "https://api.openai.com", 443),
            ("https://API.OpenAI.com:443/", "https://api.openai.com", 443),
            ("HTTP://127.0.0.1:11434", "http://127.0.0.1:11434", 11434),
            ("http://localhost", "http://localhost", 80),
            ("https://*.Example.COM", "https://*.example.com", 443),
            (
                "https://*.example.com:8443",
                "https://*.example.com:8443",
                8443,
            ),
            ("http://[::1]:8080", "http://[::1]:8080", 8080),
            ("http://[::ffff:127.0.0.1]", "http://[::ffff:7f00:1]", 80),
            (
                "https://bücher.example",
                "https://xn--bcher-kva.example",
                443,
            ),
            ("http://0x7f.1:80", "http://127.0.0.1", 80),
            ("https://example.com:80", "https://example.com:80", 80),
        ];
        for (input, canonical, port) in cases {
            let parsed = pattern(input);
            assert_eq!(parsed.to_string(), canonical, "{input}");
            assert_eq!(parsed.port(), port, "{input}");
            assert_eq!(pattern(canonical), parsed, "{canonical} round trip");
        }
    }

    #[test]
    fn rejects_malformed_patterns_with_a_reason() {
        let cases = [
            ("api.openai.com", "scheme://host"),
            ("ftp://example.com", "http or https"),
            ("https://example.com/v1", "no path"),
            ("https://example.com?x=1", "no path, query"),
            ("https://example.com#frag", "no path, query"),
            ("https://user:pw@example.com", "user name"),
            ("https://", "host is missing"),
            ("https://:443", "host is missing"),
            ("https://*", "first label"),
            ("https://a.*.example.com", "first label"),
            ("https://*example.com", "first label"),
            ("https://*.com", "too much"),
            ("https://*.127.0.0.1", "IP address"),
            ("https://example.com:99999", "invalid port"),
            ("https://exa mple.com", "invalid"),
        ];
        for (input, expected) in cases {
            let err = input.parse::<HostPattern>().unwrap_err().to_string();
            assert!(err.contains(input.trim()), "{err}");
            assert!(err.contains(expected), "{input}: {err}");
        }
    }

    #[test]
    fn exact_patterns_match_scheme_host_and_port() {
        let p = pattern("https://api.openai.com");
        assert!(p.matches(&url("https://api.openai.com/v1/chat?x=1")));
        assert!(p.matches(&url("https://API.OPENAI.COM:443/")));
        assert!(!p.matches(&url("http://api.openai.com/")));
        assert!(!p.matches(&url("https://api.openai.com:8443/")));
        assert!(!p.matches(&url("https://api.openai.com.evil.example/")));
        assert!(!p.matches(&url("https://xapi.openai.com/")));
        assert!(!p.matches(&url("https://openai.com/")));

        let ip = pattern("http://127.0.0.1:11434");
        assert!(ip.matches(&url("http://127.0.0.1:11434/api/chat")));
        assert!(ip.matches(&url("http://2130706433:11434/")));
        assert!(!ip.matches(&url("http://localhost:11434/")));
        assert!(!ip.matches(&url("http://127.0.0.1/")));

        let v6 = pattern("http://[::1]:8080");
        assert!(v6.matches(&url("http://[0:0::1]:8080/")));
        assert!(!v6.matches(&url("http://[::2]:8080/")));
    }

    #[test]
    fn wildcard_matches_subdomains_only() {
        let p = pattern("https://*.example.com");
        assert!(p.matches(&url("https://a.example.com/")));
        assert!(p.matches(&url("https://a.b.example.com/")));
        assert!(p.matches(&url("https://A.Example.Com/")));
        assert!(
            !p.matches(&url("https://example.com/")),
            "apex is not included"
        );
        assert!(!p.matches(&url("https://badexample.com/")));
        assert!(!p.matches(&url("https://example.com.evil.example/")));
        assert!(!p.matches(&url("http://a.example.com/")));
        assert!(!p.matches(&url("https://a.example.com:444/")));
        assert!(!p.matches(&url("https://1.2.3.4/")));
    }

    #[test]
    fn idna_hosts_match_their_ascii_form() {
        let p = pattern("https://bücher.example");
        assert!(p.matches(&url("https://BÜCHER.example/")));
        assert!(p.matches(&url("https://xn--bcher-kva.example/")));
    }

    #[test]
    fn covers_is_consistent_with_matches() {
        let wild = pattern("https://*.example.com");
        assert!(wild.covers(&pattern("https://api.example.com")));
        assert!(wild.covers(&pattern("https://*.api.example.com")));
        assert!(wild.covers(&wild));
        assert!(!wild.covers(&pattern("https://example.com")));
        assert!(!wild.covers(&pattern("https://api.example.com:8443")));
        assert!(!wild.covers(&pattern("http://api.example.com")));
        let exact = pattern("https://api.example.com");
        assert!(exact.covers(&exact));
        assert!(!exact.covers(&wild));
    }

    const FULL: &str = r#"
        [secrets.openai]
        env = "OPENAI_API_KEY"

        [secrets.token]
        file = "/run/secrets/token"

        [secrets.bedrock]
        aws = true
        profile = "prod"

        [grants.my-backend]
        hosts = ["https://api.openai.com", "http://127.0.0.1:11434", "https://*.example.com"]
        allow_private = true
        secrets = { openai = ["https://api.openai.com"], token = ["https://a.example.com"] }
        config = { base-url = "https://api.openai.com/v1" }
    "#;

    #[test]
    fn deserializes_the_documented_shape() {
        let config: GrantsConfig = toml::from_str(FULL).unwrap();
        assert_eq!(
            config.secrets["openai"],
            SecretSource::Env {
                env: "OPENAI_API_KEY".into()
            }
        );
        assert_eq!(
            config.secrets["token"],
            SecretSource::File {
                file: "/run/secrets/token".into()
            }
        );
        assert_eq!(
            config.secrets["bedrock"],
            SecretSource::Aws {
                profile: Some("prod".into())
            }
        );
        let grant = &config.grants["my-backend"];
        assert_eq!(grant.hosts.len(), 3);
        assert!(grant.allow_private);
        assert_eq!(
            grant.secrets["openai"],
            vec![pattern("https://api.openai.com")]
        );
        assert_eq!(grant.config["base-url"], "https://api.openai.com/v1");
        assert_eq!(config.validate(), Vec::<String>::new());

        let printed = toml::to_string(&config).unwrap();
        let again: GrantsConfig = toml::from_str(&printed).unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn defaults_grant_nothing() {
        let grant = Grant::default();
        assert!(grant.hosts.is_empty() && grant.secrets.is_empty() && !grant.allow_private);
        let config: GrantsConfig = toml::from_str("[grants.x]\n").unwrap();
        assert_eq!(config.grants["x"], Grant::default());
        assert_eq!(GrantsConfig::default(), toml::from_str("").unwrap());
    }

    #[test]
    fn embeds_with_flatten_beside_other_settings() {
        #[derive(Deserialize)]
        struct Outer {
            #[allow(dead_code)]
            port: u16,
            #[serde(flatten)]
            grants: GrantsConfig,
        }
        let outer: Outer = toml::from_str(&format!("port = 1\n{FULL}")).unwrap();
        assert_eq!(outer.grants.grants.len(), 1);
    }

    #[test]
    fn rejects_unknown_fields_and_bad_sources() {
        let cases = [
            ("[grants.x]\nhost = []\n", "unknown field"),
            (
                "[grants.x]\nhosts = [\"ftp://x.example\"]\n",
                "http or https",
            ),
            ("[secrets.a]\nenv = \"A\"\nfile = \"/b\"\n", "exactly one"),
            ("[secrets.a]\n", "exactly one"),
            ("[secrets.a]\naws = false\n", "exactly one"),
            (
                "[secrets.a]\nenv = \"A\"\nprofile = \"p\"\n",
                "only allowed",
            ),
            ("[secrets.a]\nvalue = \"sk-123\"\n", "unknown field"),
            ("[other]\n", "unknown field"),
        ];
        for (text, expected) in cases {
            let err = toml::from_str::<GrantsConfig>(text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn validate_reports_every_problem() {
        let config: GrantsConfig = toml::from_str(
            r#"
            [secrets.openai]
            env = "OPENAI_API_KEY"

            [grants.a]
            hosts = ["https://api.openai.com", "https://*.example.com"]
            secrets = { openai = ["https://evil.example", "https://x.example.com"], ghost = [] }

            [grants."b.c"]
            secrets = { openai = ["https://api.openai.com"] }
            "#,
        )
        .unwrap();
        let text = config.validate();
        assert_eq!(text.len(), 4, "{text:#?}");
        assert_eq!(config.problems().len(), 4);
        assert!(text.iter().any(|t| t.contains("no [secrets.ghost]")));
        assert!(
            text.iter()
                .any(|t| t.contains("secret 'ghost' to no destination"))
        );
        assert!(
            text.iter()
                .any(|t| t.contains("[grants.a] binds secret 'openai' to https://evil.example"))
        );
        assert!(text.iter().any(|t| {
            t.contains("[grants.\"b.c\"] binds secret 'openai' to https://api.openai.com")
        }));
    }

    #[test]
    fn toml_keys_are_quoted_only_when_needed() {
        assert_eq!(toml_key("my-backend_2"), "my-backend_2");
        assert_eq!(toml_key("a.b"), "\"a.b\"");
        assert_eq!(toml_key("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(toml_key(""), "\"\"");
    }

    proptest! {
        #[test]
        fn display_round_trips(
            https in any::<bool>(),
            labels in proptest::collection::vec("[a-z][a-z0-9]{0,7}", 2..4),
            wildcard in any::<bool>(),
            port in 1u16..,
        ) {
            let scheme = if https { "https" } else { "http" };
            let star = if wildcard { "*." } else { "" };
            let text = format!("{scheme}://{star}{}:{port}", labels.join("."));
            let parsed: HostPattern = text.parse().unwrap();
            prop_assert_eq!(parsed.to_string().parse::<HostPattern>().unwrap(), parsed);
        }
    }
}
