//! What the streamable HTTP transport is configured with: its address, who may call it, and
//! how many connections it keeps for how long.

use std::net::SocketAddr;
use std::time::Duration;

/// Streamable HTTP settings.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// `Host` header values accepted (names without a port match any port).
    pub allowed_hosts: Vec<String>,
    /// `Origin` values accepted; empty accepts any (requests without `Origin` always pass).
    pub allowed_origins: Vec<String>,
    /// Bearer tokens accepted on `/mcp`; none means no token is asked for. Each token's
    /// calls have a session scope of their own.
    pub bearer_tokens: Vec<String>,
    /// How many connections may be open and how long each may take.
    pub connections: ConnectionLimits,
}

impl Default for HttpSettings {
    /// `127.0.0.1:8081`, loopback host names only, no token: the reference server's address.
    fn default() -> HttpSettings {
        HttpSettings {
            addr: SocketAddr::from(([127, 0, 0, 1], 8081)),
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            allowed_origins: Vec::new(),
            bearer_tokens: Vec::new(),
            connections: ConnectionLimits::default(),
        }
    }
}

/// How many connections may be open and how long each may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Most connections open at once; more are answered `503` and closed.
    pub max_connections: usize,
    /// Time limits of the request head and of the idle wait.
    pub timeouts: Timeouts,
}

impl Default for ConnectionLimits {
    /// 512 connections, 10 s for a request head, 30 s idle: far more than MCP clients open,
    /// and longer than their pools keep an idle connection (4 to 5 s is usual), so a client
    /// never reuses a connection the server is closing.
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 512,
            timeouts: Timeouts {
                header_read: Duration::from_secs(10),
                idle: Duration::from_secs(30),
            },
        }
    }
}

/// The two time limits the watch enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Longest time to receive a complete request head.
    pub header_read: Duration,
    /// Longest time a kept-alive connection may wait for its next request.
    pub idle: Duration,
}
