//! The server's tables of the configuration file: `[sessions]` (where sessions are kept, and
//! the store's limit, expiry, sweep and memory pressure, in the units people write) and
//! `[server]` (transport and address).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::store_url;

use super::{
    ConnectionLimits, HttpSettings, ScopeRule, SessionSettings, StoreDurability, Timeouts, WhenFull,
};

/// `[sessions]`. Absent keys keep [`SessionSettings::default`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsConfig {
    /// Most sessions alive at once (1–100000).
    pub max_sessions: Option<usize>,
    /// Seconds a session may stay unused before it expires (60 s to 7 days).
    pub ttl_seconds: Option<u64>,
    /// Seconds between sweeps of expired sessions (1 s to 1 day).
    pub cleanup_interval_seconds: Option<u64>,
    /// `evict-least-recent` (default) or `refuse`.
    pub when_full: Option<WhenFull>,
    /// Memory use (percent of the machine's or the container's limit) above which a sweep
    /// also removes the least recently used sessions (10–100; 100 never triggers).
    pub memory_threshold_percent: Option<u64>,
    /// Share of the sessions such a sweep removes, in percent (1–100).
    pub memory_evict_percent: Option<u64>,
    /// Where sessions are kept (`DMM_STORE`): `sqlite` (default: `sessions.db` in the data
    /// directory), `sqlite:///path.db`, `memory`, or `redis://[:password@]host:port[/db]`
    /// (`rediss://` for TLS) to share sessions between instances.
    pub store: Option<String>,
    /// Prefix of every Redis key (`DMM_STORE_NAMESPACE`), so deployments can share a Redis
    /// (1–64 letters, digits, `_`, `-`, `.`).
    pub store_namespace: Option<String>,
    /// SQLite: `normal` (default; survives crashes) or `full` (also survives power loss, at
    /// an fsync per write).
    pub store_durability: Option<StoreDurability>,
    /// Whose sessions a call sees (`DMM_SCOPE`, `--scope`): `client` (default; each MCP
    /// client keeps its own) or a name every client shares.
    pub scope: Option<ScopeRule>,
}

fn within(key: &str, value: u64, min: u64, max: u64, unit: &str) -> Result<u64, String> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "sessions.{key} = {value} is out of range; allowed: {min} to {max}{unit}"
        ))
    }
}

impl SessionsConfig {
    /// The settings, or a message naming the key, the value and what is allowed.
    pub fn settings(&self) -> Result<SessionSettings, String> {
        let defaults = SessionSettings::default();
        let seconds = |key, value: Option<u64>, min, max, default| match value {
            Some(value) => within(key, value, min, max, " seconds").map(Duration::from_secs),
            None => Ok(default),
        };
        let percent = |key, value: Option<u64>, min, default: u8| match value {
            Some(value) => within(key, value, min, 100, " percent").map(|v| v as u8),
            None => Ok(default),
        };
        Ok(SessionSettings {
            max_sessions: match self.max_sessions {
                Some(max) => within("max_sessions", max as u64, 1, 100_000, "")? as usize,
                None => defaults.max_sessions,
            },
            ttl: seconds(
                "ttl_seconds",
                self.ttl_seconds,
                60,
                7 * 86_400,
                defaults.ttl,
            )?,
            cleanup_interval: seconds(
                "cleanup_interval_seconds",
                self.cleanup_interval_seconds,
                1,
                86_400,
                defaults.cleanup_interval,
            )?,
            when_full: self.when_full.unwrap_or(defaults.when_full),
            memory_threshold_percent: percent(
                "memory_threshold_percent",
                self.memory_threshold_percent,
                10,
                defaults.memory_threshold_percent,
            )?,
            memory_evict_percent: percent(
                "memory_evict_percent",
                self.memory_evict_percent,
                1,
                defaults.memory_evict_percent,
            )?,
            store: match &self.store {
                Some(url) => checked_store(url)?,
                None => defaults.store,
            },
            namespace: match &self.store_namespace {
                Some(namespace) => checked_namespace(namespace)?,
                None => defaults.namespace,
            },
            durability: self.store_durability.unwrap_or(defaults.durability),
            scope: self.scope.clone().unwrap_or(defaults.scope),
        })
    }
}

/// `url` if the session store understands it; the message shows it without its password.
fn checked_store(url: &str) -> Result<String, String> {
    let url = url.trim();
    // The bare `sqlite` is accepted: its file is only known when the store opens.
    let reason = match store_url::parse(url, Some(Path::new("sessions.db"))) {
        Ok(_) => return Ok(url.to_owned()),
        Err(store_url::UrlError::Invalid { reason, .. }) => reason,
        Err(other) => other.to_string(),
    };
    Err(format!(
        "sessions.store = '{}' is not valid ({reason}); allowed: \"sqlite\", \"sqlite:///absolute/path.db\", \"sqlite:relative/path.db\", \"memory\", \"redis://[:password@]host:port[/db]\" or \"rediss://...\"",
        store_url::redact_url(url)
    ))
}

fn checked_namespace(namespace: &str) -> Result<String, String> {
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if (1..=64).contains(&namespace.len()) && namespace.chars().all(valid) {
        Ok(namespace.to_owned())
    } else {
        Err(format!(
            "sessions.store_namespace = '{namespace}' is not valid; allowed: 1 to 64 letters, digits, '_', '-' or '.'"
        ))
    }
}

impl From<&SessionSettings> for SessionsConfig {
    /// Every key set, as `config show` prints the effective values.
    fn from(settings: &SessionSettings) -> SessionsConfig {
        SessionsConfig {
            max_sessions: Some(settings.max_sessions),
            ttl_seconds: Some(settings.ttl.as_secs()),
            cleanup_interval_seconds: Some(settings.cleanup_interval.as_secs()),
            when_full: Some(settings.when_full),
            memory_threshold_percent: Some(settings.memory_threshold_percent.into()),
            memory_evict_percent: Some(settings.memory_evict_percent.into()),
            store: Some(settings.store.clone()),
            store_namespace: Some(settings.namespace.clone()),
            store_durability: Some(settings.durability),
            scope: Some(settings.scope.clone()),
        }
    }
}

/// How MCP clients reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// JSON-RPC on stdin/stdout: what MCP clients launch.
    #[default]
    Stdio,
    /// Streamable HTTP at `/mcp`.
    #[serde(alias = "streamable-http")]
    Http,
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// `stdio` or `http` (`MCP_TRANSPORT`).
    pub transport: Transport,
    /// HTTP: IP address to listen on (`MCP_HTTP_HOST`).
    pub host: String,
    /// HTTP: port; 0 picks a free one and prints it (`MCP_HTTP_PORT`).
    pub port: u16,
    /// HTTP: bearer token required on `/mcp` (`MCP_AUTH_TOKEN`); several, separated by
    /// commas, give each user a token of their own and each token its own sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    /// HTTP: accepted `Host` header values (`MCP_ALLOWED_HOSTS`).
    pub allowed_hosts: Vec<String>,
    /// HTTP: accepted `Origin` values; empty accepts any (`MCP_ALLOWED_ORIGINS`).
    pub allowed_origins: Vec<String>,
    /// HTTP: listen on a non-loopback address with no token, letting anyone who reaches the
    /// port use the server (`DMM_INSECURE_UNAUTHENTICATED_BIND`). Off by default: such a
    /// bind is refused at start. For a server behind a proxy that authenticates on its own.
    pub insecure_unauthenticated_bind: bool,
    /// HTTP: most connections open at once; more are answered `503` and closed
    /// (`DMM_HTTP_MAX_CONNECTIONS`; 1–100000, lowered to fit the descriptor limit).
    pub max_connections: usize,
    /// HTTP: seconds a client has to send a complete request head, from connecting or from
    /// the first byte of its next request (`DMM_HTTP_HEADER_READ_TIMEOUT_SECONDS`; 0.1–3600).
    pub header_read_timeout_seconds: f64,
    /// HTTP: seconds a kept-alive connection may wait for its next request
    /// (`DMM_HTTP_IDLE_TIMEOUT_SECONDS`; 0.1–3600).
    pub idle_timeout_seconds: f64,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        let http = HttpSettings::default();
        ServerConfig {
            transport: Transport::Stdio,
            host: http.addr.ip().to_string(),
            port: http.addr.port(),
            auth_token: None,
            allowed_hosts: http.allowed_hosts,
            allowed_origins: http.allowed_origins,
            insecure_unauthenticated_bind: false,
            max_connections: http.connections.max_connections,
            header_read_timeout_seconds: http.connections.timeouts.header_read.as_secs_f64(),
            idle_timeout_seconds: http.connections.timeouts.idle.as_secs_f64(),
        }
    }
}

/// `value` seconds of `server.{key}` if within 0.1 s to an hour.
fn http_timeout(key: &str, value: f64) -> Result<Duration, String> {
    if (0.1..=3600.0).contains(&value) {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(format!(
            "server.{key} = {value} is out of range; allowed: 0.1 to 3600 seconds"
        ))
    }
}

impl ServerConfig {
    /// The HTTP transport's settings, or a message naming the key that is wrong.
    pub fn http_settings(&self) -> Result<HttpSettings, String> {
        let ip: IpAddr = self.host.parse().map_err(|_| {
            format!(
                "server.host = '{}' is not an IP address; allowed: an IPv4 or IPv6 address such as 127.0.0.1 or 0.0.0.0",
                self.host
            )
        })?;
        let tokens: Vec<String> = match &self.auth_token {
            Some(text) => text.split(',').map(|t| t.trim().to_owned()).collect(),
            None => Vec::new(),
        };
        if tokens.iter().any(String::is_empty) {
            return Err(
                "server.auth_token is empty or has an empty entry; allowed: a non-empty token, or several separated by commas"
                    .to_owned(),
            );
        }
        // The allowed-hosts check stops browsers (DNS rebinding), not other clients: any
        // program can send `Host: 127.0.0.1`. Off loopback, only a token keeps strangers out.
        if !ip.is_loopback() && self.auth_token.is_none() && !self.insecure_unauthenticated_bind {
            return Err(format!(
                "server.host = '{ip}' listens beyond this machine, and no token is set: anyone who \
                 reaches the port could read and run every session. Set a bearer token with \
                 --auth-token TOKEN (or MCP_AUTH_TOKEN; for example MCP_AUTH_TOKEN=$(openssl rand -hex 32)), \
                 listen on 127.0.0.1, or, behind a proxy that authenticates on its own, pass \
                 --insecure-unauthenticated-bind"
            ));
        }
        if !(1..=100_000).contains(&self.max_connections) {
            return Err(format!(
                "server.max_connections = {} is out of range; allowed: 1 to 100000",
                self.max_connections
            ));
        }
        Ok(HttpSettings {
            addr: SocketAddr::new(ip, self.port),
            allowed_hosts: self.allowed_hosts.clone(),
            allowed_origins: self.allowed_origins.clone(),
            bearer_tokens: tokens,
            connections: ConnectionLimits {
                max_connections: self.max_connections,
                timeouts: Timeouts {
                    header_read: http_timeout(
                        "header_read_timeout_seconds",
                        self.header_read_timeout_seconds,
                    )?,
                    idle: http_timeout("idle_timeout_seconds", self.idle_timeout_seconds)?,
                },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_keys_keep_the_defaults() {
        assert_eq!(
            SessionsConfig::default().settings(),
            Ok(SessionSettings::default())
        );
        let settings = SessionSettings::default();
        assert_eq!(
            SessionsConfig::from(&settings).settings(),
            Ok(settings),
            "effective values round-trip"
        );
    }

    #[test]
    fn values_are_checked_with_a_message_naming_the_key() {
        let config: SessionsConfig =
            toml::from_str("max_sessions = 500\nttl_seconds = 1800\nwhen_full = \"refuse\"")
                .expect("valid");
        let settings = config.settings().expect("in range");
        assert_eq!(settings.max_sessions, 500);
        assert_eq!(settings.ttl, Duration::from_secs(1800));
        assert_eq!(settings.when_full, WhenFull::Refuse);
        let too_short = SessionsConfig {
            ttl_seconds: Some(5),
            ..SessionsConfig::default()
        };
        assert_eq!(
            too_short.settings().unwrap_err(),
            "sessions.ttl_seconds = 5 is out of range; allowed: 60 to 604800 seconds"
        );
        let too_eager = SessionsConfig {
            memory_threshold_percent: Some(5),
            ..SessionsConfig::default()
        };
        assert_eq!(
            too_eager.settings().unwrap_err(),
            "sessions.memory_threshold_percent = 5 is out of range; allowed: 10 to 100 percent"
        );
        assert!(toml::from_str::<SessionsConfig>("when_full = \"panic\"").is_err());
    }

    #[test]
    fn store_keys_are_checked_and_never_echo_a_password() {
        let config: SessionsConfig = toml::from_str(
            "store = \"redis://127.0.0.1:6379/2\"\nstore_namespace = \"team-a\"\nstore_durability = \"full\"",
        )
        .expect("valid");
        let settings = config.settings().expect("valid");
        assert_eq!(settings.store, "redis://127.0.0.1:6379/2");
        assert_eq!(settings.namespace, "team-a");
        assert_eq!(settings.durability, StoreDurability::Full);
        assert_eq!(SessionSettings::default().store, "sqlite");

        let bad = SessionsConfig {
            store: Some("postgres://:hunter2@db/x".into()),
            ..SessionsConfig::default()
        };
        let message = bad.settings().unwrap_err();
        assert!(
            message.starts_with("sessions.store = 'postgres://:***@db/x' is not valid"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("allowed: \"sqlite\""), "{message}");

        let spaced = SessionsConfig {
            store_namespace: Some("a b".into()),
            ..SessionsConfig::default()
        };
        assert_eq!(
            spaced.settings().unwrap_err(),
            "sessions.store_namespace = 'a b' is not valid; allowed: 1 to 64 letters, digits, '_', '-' or '.'"
        );
        assert!(toml::from_str::<SessionsConfig>("store_durability = \"paranoid\"").is_err());
    }

    #[test]
    fn server_defaults_are_the_reference_address_and_bad_hosts_are_named() {
        let config = ServerConfig::default();
        assert_eq!(config.http_settings(), Ok(HttpSettings::default()));
        let parsed: ServerConfig =
            toml::from_str("transport = \"streamable-http\"").expect("alias");
        assert_eq!(parsed.transport, Transport::Http);
        let named = ServerConfig {
            host: "localhost".into(),
            ..ServerConfig::default()
        };
        assert!(
            named
                .http_settings()
                .unwrap_err()
                .starts_with("server.host = 'localhost' is not an IP address")
        );
    }

    #[test]
    fn an_open_bind_needs_a_token_or_the_named_opt_out() {
        for host in ["0.0.0.0", "::", "192.168.1.10"] {
            let open = ServerConfig {
                host: host.into(),
                ..ServerConfig::default()
            };
            let message = open.http_settings().unwrap_err();
            assert!(
                message.contains("no token is set") && message.contains("--auth-token"),
                "{message}"
            );
            let with_token = ServerConfig {
                auth_token: Some("t0ken".into()),
                ..open.clone()
            };
            assert!(with_token.http_settings().is_ok(), "{host} with a token");
            let opted_out = ServerConfig {
                insecure_unauthenticated_bind: true,
                ..open
            };
            assert!(opted_out.http_settings().is_ok(), "{host} opted out");
        }
        for host in ["127.0.0.1", "::1", "127.0.0.2"] {
            let local = ServerConfig {
                host: host.into(),
                ..ServerConfig::default()
            };
            assert!(local.http_settings().is_ok(), "{host} is loopback");
        }
    }

    #[test]
    fn connection_limits_are_read_and_checked() {
        let parsed: ServerConfig = toml::from_str(
            "max_connections = 64\nheader_read_timeout_seconds = 2.5\nidle_timeout_seconds = 90",
        )
        .expect("valid");
        let limits = parsed.http_settings().expect("in range").connections;
        assert_eq!(limits.max_connections, 64);
        assert_eq!(limits.timeouts.header_read, Duration::from_millis(2500));
        assert_eq!(limits.timeouts.idle, Duration::from_secs(90));
        let none = ServerConfig {
            max_connections: 0,
            ..ServerConfig::default()
        };
        assert_eq!(
            none.http_settings().unwrap_err(),
            "server.max_connections = 0 is out of range; allowed: 1 to 100000"
        );
        let forever = ServerConfig {
            idle_timeout_seconds: 86_400.0,
            ..ServerConfig::default()
        };
        assert_eq!(
            forever.http_settings().unwrap_err(),
            "server.idle_timeout_seconds = 86400 is out of range; allowed: 0.1 to 3600 seconds"
        );
        let never = ServerConfig {
            header_read_timeout_seconds: f64::NAN,
            ..ServerConfig::default()
        };
        assert!(never.http_settings().is_err());
    }
}
