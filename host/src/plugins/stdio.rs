//! A guest's stdout and stderr, turned into `tracing` events tagged with the plugin id.
//!
//! Plugins have no terminal; what they print is diagnostics for the operator. Output is split
//! into lines, and each call may emit at most [`MAX_BYTES_PER_CALL`], so a plugin that prints
//! in a loop cannot flood the log. A line is scrubbed of the plugin's secrets whole, before it
//! is cut into pieces for the log, so no piece boundary can split a secret out of sight.

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use super::net::PluginNetwork;

/// Output one call may write to the log; the rest is dropped with one notice.
pub const MAX_BYTES_PER_CALL: usize = 64 * 1024;
/// A line longer than this is logged in pieces.
const MAX_LINE: usize = 4096;
/// Lines kept for error reports (a Rust panic prints its message over two or three lines).
const RECENT_LINES: usize = 8;

/// Which of the guest's streams.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    /// Logged at `info`.
    Stdout,
    /// Logged at `warn`.
    Stderr,
}

/// A WASI output stream that writes lines to `tracing`.
#[derive(Clone)]
pub struct GuestOutput {
    inner: Arc<Mutex<LineSink>>,
}

struct LineSink {
    plugin: Arc<str>,
    stream: Stream,
    /// Whose secrets to scrub; `None` for plugins without a network, which have none.
    network: Option<PluginNetwork>,
    pending: Vec<u8>,
    written: usize,
    truncated: bool,
    recent: VecDeque<String>,
}

impl GuestOutput {
    /// A stream for `plugin`'s `stream`, scrubbed of the secrets of `network`.
    pub fn new(plugin: Arc<str>, stream: Stream, network: Option<PluginNetwork>) -> GuestOutput {
        GuestOutput {
            inner: Arc::new(Mutex::new(LineSink {
                plugin,
                stream,
                network,
                pending: Vec::new(),
                written: 0,
                truncated: false,
                recent: VecDeque::new(),
            })),
        }
    }

    /// The last few non-empty lines written, oldest first, including a pending partial line;
    /// scrubbed.
    pub fn recent_lines(&self) -> Vec<String> {
        let sink = self.inner.lock();
        let mut lines: Vec<String> = sink.recent.iter().cloned().collect();
        if !sink.pending.is_empty() {
            lines.push(sink.scrubbed(&sink.pending));
        }
        lines
    }

    fn write_bytes(&self, bytes: &[u8]) {
        self.inner.lock().push(bytes);
    }
}

impl LineSink {
    fn push(&mut self, mut bytes: &[u8]) {
        if self.truncated {
            return;
        }
        let room = MAX_BYTES_PER_CALL.saturating_sub(self.written);
        if bytes.len() > room {
            bytes = &bytes[..room];
            self.truncated = true;
        }
        self.written += bytes.len();
        // Only the new bytes can hold a newline: what was pending had none.
        let mut unsearched = self.pending.len();
        self.pending.extend_from_slice(bytes);
        while let Some(offset) = self.pending[unsearched..].iter().position(|&b| b == b'\n') {
            let end = unsearched + offset;
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.emit(&line[..line.len() - 1]);
            unsearched = 0;
        }
        if self.truncated {
            self.flush_pending();
            tracing::warn!(
                target: "plugin",
                plugin = %self.plugin,
                "plugin output over {MAX_BYTES_PER_CALL} bytes in one call; the rest is dropped"
            );
        }
    }

    fn flush_pending(&mut self) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.emit(&rest);
        }
    }

    fn scrubbed(&self, bytes: &[u8]) -> String {
        let text = String::from_utf8_lossy(bytes);
        match &self.network {
            Some(network) => network.scrub(&text).into_owned(),
            None => text.into_owned(),
        }
    }

    fn emit(&mut self, line: &[u8]) {
        let line = self.scrubbed(line);
        let line = line.trim_end_matches('\r');
        let mut rest = line;
        while !rest.is_empty() {
            let mut end = rest.len().min(MAX_LINE);
            while !rest.is_char_boundary(end) {
                end -= 1;
            }
            let (piece, after) = rest.split_at(end);
            self.log(piece);
            rest = after;
        }
    }

    fn log(&mut self, line: &str) {
        if !line.trim().is_empty() {
            if self.recent.len() == RECENT_LINES {
                self.recent.pop_front();
            }
            self.recent.push_back(line.to_owned());
        }
        match self.stream {
            Stream::Stdout => {
                tracing::info!(target: "plugin", plugin = %self.plugin, stream = "stdout", "{line}")
            }
            Stream::Stderr => {
                tracing::warn!(target: "plugin", plugin = %self.plugin, stream = "stderr", "{line}")
            }
        }
    }
}

impl Drop for LineSink {
    fn drop(&mut self) {
        self.flush_pending();
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.write_bytes(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Writes never block: the sink only appends to memory and emits lines.
        Ok(MAX_LINE)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink() -> LineSink {
        LineSink {
            plugin: Arc::from("p"),
            stream: Stream::Stdout,
            network: None,
            pending: Vec::new(),
            written: 0,
            truncated: false,
            recent: VecDeque::new(),
        }
    }

    #[test]
    fn complete_lines_leave_nothing_pending() {
        let mut s = sink();
        s.push(b"one\ntwo\nthr");
        assert_eq!(s.pending, b"thr");
        s.push(b"ee\n");
        assert!(s.pending.is_empty());
    }

    #[test]
    fn output_is_capped_per_call() {
        let mut s = sink();
        for _ in 0..100 {
            s.push(&[b'x'; 4096]);
        }
        assert!(s.truncated);
        assert_eq!(s.written, MAX_BYTES_PER_CALL);
        assert!(s.pending.is_empty());
    }

    #[test]
    fn a_secret_is_scrubbed_even_split_across_writes_and_pieces() {
        use crate::plugins::grants::Grant;
        use crate::plugins::net::{HttpLimits, Network, SecretStore};
        use secrecy::SecretString;
        use std::collections::BTreeMap;

        const KEY: &str = "sk-stdio-3f2a9c41d0e8b7";
        let secrets = SecretStore::from_values([("key", SecretString::from(KEY))]);
        let network = Network::new(HttpLimits::default(), secrets).expect("network");
        let grant = Grant {
            secrets: BTreeMap::from([("key".to_owned(), Vec::new())]),
            ..Grant::default()
        };
        let mut s = sink();
        s.network = Some(PluginNetwork::new(
            "p".to_owned(),
            Arc::new(grant),
            Arc::new(network),
        ));
        // The key straddles the 4 KiB piece boundary and arrives in two writes.
        let (head, tail) = KEY.split_at(9);
        s.push(&[b'x'; MAX_LINE - 4]);
        s.push(head.as_bytes());
        s.push(format!("{tail} and again {KEY}\npartial {head}").as_bytes());
        s.push(tail.as_bytes());
        let lines = GuestOutput {
            inner: Arc::new(Mutex::new(s)),
        }
        .recent_lines();
        let all = lines.concat();
        assert!(!all.contains(KEY), "{all}");
        assert!(!all.contains(tail), "{all}");
        assert_eq!(all.matches("[REDACTED]").count(), 3, "{all}");
    }
}
