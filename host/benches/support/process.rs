//! The `decision-matrix serve` process under test, its clients, and what `/proc` tells about
//! it.

use std::future::Future;
use std::time::Duration;

use decision_matrix_testkit::MockServer;
use rmcp::RoleClient;
use rmcp::service::RunningService;
use serde_json::{Map, Value};

use super::{client, server};

/// The longest any single call, start or stop may take: a guard against a hung run, long
/// enough for an evaluation that waits out backend timeouts and retries.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// rmcp's client, connected to a server.
pub type Client = RunningService<RoleClient, client::Client>;

/// `future`, or a panic naming `what` after [`TIMEOUT`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {TIMEOUT:?}"))
}

/// The structured result of a call that must succeed.
pub async fn call(client: &Client, tool: &str, args: Value) -> Map<String, Value> {
    within(tool, client::ok(client, tool, args)).await
}

/// The structured result of a call, or what went wrong with it (the server's error, a
/// transport failure, or no answer within [`TIMEOUT`]), for runs that count failures instead
/// of stopping at the first.
pub async fn try_call(
    client: &Client,
    tool: &str,
    args: Value,
) -> Result<Map<String, Value>, String> {
    let request = client.call_tool(client::request(tool, args));
    let result = match tokio::time::timeout(TIMEOUT, request).await {
        Err(_) => return Err(format!("no answer within {TIMEOUT:?}")),
        Ok(Err(error)) => return Err(format!("transport: {error}")),
        Ok(Ok(result)) => result,
    };
    let content = client::dict(&result);
    if result.is_error == Some(true) {
        let message = content
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        return Err(format!("tool error: {message}"));
    }
    Ok(content)
}

/// A `/proc/<pid>/status` field given in kB (`VmHWM`, `VmRSS`), in bytes.
pub fn status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|error| panic!("/proc/{pid}/status: {error}"));
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in kB"));
    kib * 1024
}

/// How clients reach the server.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Stdio,
    /// Streamable HTTP, each client keeping its connection between requests (as the MCP
    /// SDKs' clients do).
    Http,
    /// Streamable HTTP with rmcp's default client, which opens a connection per request.
    HttpConnectionPerCall,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Stdio => "stdio",
            Transport::Http => "HTTP",
            Transport::HttpConnectionPerCall => "HTTP, a connection per call",
        }
    }
}

/// A server process and its connected clients.
pub struct Server {
    pub clients: Vec<Client>,
    pub pid: u32,
    /// The HTTP server's process; a stdio server's belongs to its client.
    http: Option<tokio::process::Child>,
}

impl Server {
    /// A server on `transport`, started with the extra `serve` arguments `args`, with
    /// `clients` clients, each on its own connection (stdio serves one).
    pub async fn start(
        transport: Transport,
        clients: usize,
        llm: &MockServer,
        args: &[&str],
    ) -> Server {
        match transport {
            Transport::Stdio => {
                assert_eq!(clients, 1, "a stdio server has one client");
                let (client, _, pid) = within("start-up", client::stdio_server(llm, args)).await;
                Server {
                    clients: vec![client],
                    pid,
                    http: None,
                }
            }
            Transport::Http | Transport::HttpConnectionPerCall => {
                let (child, url) = server::http_server(llm, args).await;
                let mut connected = Vec::with_capacity(clients);
                for _ in 0..clients {
                    let client = if transport == Transport::Http {
                        within("initialize", client::http_client(&url)).await
                    } else {
                        within("initialize", client::http_client_per_request(&url)).await
                    };
                    connected.push(client.0);
                }
                Server {
                    clients: connected,
                    pid: child.id().expect("the server is running"),
                    http: Some(child),
                }
            }
        }
    }

    /// The server's peak resident set so far (`VmHWM`), in bytes.
    pub fn peak_memory(&self) -> u64 {
        status_bytes(self.pid, "VmHWM")
    }

    /// The server's resident set now (`VmRSS`), in bytes.
    pub fn resident(&self) -> u64 {
        status_bytes(self.pid, "VmRSS")
    }

    /// The server's resident set now, by what it is (the binary, the heap, stacks, other
    /// files), largest first, from `/proc/<pid>/smaps`; for telling where peak memory goes.
    pub fn resident_breakdown(&self) -> Vec<(String, u64)> {
        let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", self.pid))
            .expect("the server's /proc smaps");
        let exe = std::fs::read_link(format!("/proc/{}/exe", self.pid)).ok();
        let mut totals = std::collections::BTreeMap::<String, u64>::new();
        let mut kind = String::new();
        for line in smaps.lines() {
            let mut fields = line.split_whitespace();
            let first = fields.next().unwrap_or_default();
            if first.contains('-') && !first.ends_with(':') {
                // A mapping's header: range, perms, offset, dev, inode, path.
                let path = fields.nth(4).unwrap_or_default();
                kind = match path {
                    "" => "anonymous (allocator arenas, wasm memories and stacks)".to_owned(),
                    "[stack]" => "main thread stack".to_owned(),
                    _ if exe.as_deref().is_some_and(|exe| exe.as_os_str() == path) => {
                        "the decision-matrix binary".to_owned()
                    }
                    other => other.to_owned(),
                };
            } else if first == "Rss:" {
                let kib: u64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                *totals.entry(kind.clone()).or_default() += kib * 1024;
            }
        }
        let mut totals: Vec<_> = totals.into_iter().filter(|(_, b)| *b > 0).collect();
        totals.sort_by_key(|(_, bytes)| std::cmp::Reverse(*bytes));
        totals
    }

    /// CPU time the server process has used so far (user and system), from
    /// `/proc/<pid>/stat`.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .expect("the server's /proc stat");
        // Fields after the command name, which is in parentheses and may contain spaces;
        // utime and stime are the 14th and 15th fields of the line.
        let after_name = stat.rsplit_once(')').expect("stat has a command name").1;
        let ticks: u64 = after_name
            .split_whitespace()
            .skip(11)
            .take(2)
            .map(|field| field.parse::<u64>().expect("utime and stime are numbers"))
            .sum();
        // The kernel reports in clock ticks, 100 per second on Linux.
        Duration::from_millis(ticks * 10)
    }

    /// The `server_stats` tool's answer, through the first client.
    pub async fn stats(&self) -> Map<String, Value> {
        call(&self.clients[0], "server_stats", Value::Object(Map::new())).await
    }

    /// The client `index`, counting round the clients.
    pub fn client(&self, index: usize) -> &Client {
        &self.clients[index % self.clients.len()]
    }

    /// Kills an HTTP server with SIGKILL, as a crash or the OOM killer would, and waits for
    /// it to be gone; its clients stay connected to nothing.
    pub async fn kill(&mut self) -> std::process::ExitStatus {
        let child = self.http.as_mut().expect("kill serves HTTP servers");
        child.start_kill().expect("SIGKILL");
        within("the killed server exits", child.wait())
            .await
            .expect("wait for the killed server")
    }

    /// Disconnects the clients (which ends a stdio server) and stops an HTTP server.
    pub async fn stop(self) {
        for client in self.clients {
            let _ = within("closing a client", client.cancel()).await;
        }
        if let Some(mut child) = self.http {
            within("stopping the server", child.kill())
                .await
                .expect("stop the server");
        }
    }
}
