//! A guest's stdout and stderr, turned into `tracing` events tagged with the plugin id.
//!
//! Plugins have no terminal; what they print is diagnostics for the operator. Output is split
//! into lines, and each call may emit at most [`MAX_BYTES_PER_CALL`], so a plugin that prints
//! in a loop cannot flood the log.

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Output one call may write to the log; the rest is dropped with one notice.
pub const MAX_BYTES_PER_CALL: usize = 64 * 1024;
/// A line longer than this is emitted in pieces.
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
    pending: Vec<u8>,
    written: usize,
    truncated: bool,
    recent: VecDeque<String>,
}

impl GuestOutput {
    /// A stream for `plugin`'s `stream`.
    pub fn new(plugin: Arc<str>, stream: Stream) -> GuestOutput {
        GuestOutput {
            inner: Arc::new(Mutex::new(LineSink {
                plugin,
                stream,
                pending: Vec::new(),
                written: 0,
                truncated: false,
                recent: VecDeque::new(),
            })),
        }
    }

    /// The last few non-empty lines written, oldest first, including a pending partial line.
    pub fn recent_lines(&self) -> Vec<String> {
        let sink = self.inner.lock();
        let mut lines: Vec<String> = sink.recent.iter().cloned().collect();
        if !sink.pending.is_empty() {
            lines.push(String::from_utf8_lossy(&sink.pending).into_owned());
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
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.emit(&line[..line.len() - 1]);
        }
        while self.pending.len() >= MAX_LINE {
            let piece: Vec<u8> = self.pending.drain(..MAX_LINE).collect();
            self.emit(&piece);
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

    fn emit(&mut self, line: &[u8]) {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches('\r');
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
}
