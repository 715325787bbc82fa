//! [`StdioTransport`]: the MCP service's transport over standard input and output, one
//! JSON-RPC message per line, answering the lines that are not messages (see [`triage`]).
//!
//! Lines are written by whichever task has one to write (a response, a notification, the
//! answer to a bad line), under one lock, straight from that task: no hop through a writer
//! task on the way to the client. The service polls its transport inside a `select!`, so a
//! write may be cancelled half-way; what is not yet written stays queued and is written
//! first by the next writer, so lines never tear or interleave. The reader waits for its
//! answers to be written, so a client that stops reading stdout while it keeps writing
//! garbage holds the reader back instead of growing a backlog.
//!
//! [`triage`]: super::triage

use std::sync::Arc;
use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::ErrorCode;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::Mutex;

use super::lines::{Line, Lines};
use super::triage::{Triage, error_line, triage};

/// Longest message accepted, in bytes: as rmcp's stdio transport and its HTTP client allow.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// How long closing waits for queued lines to be written (a client that stopped reading
/// must not keep the server from exiting).
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Standard output and the bytes queued for it but not yet written.
struct Output<W> {
    writer: W,
    queued: Vec<u8>,
    written: usize,
}

impl<W: AsyncWrite + Unpin> Output<W> {
    /// Queues `line` and its newline.
    fn queue(&mut self, line: &[u8]) {
        self.queued.extend_from_slice(line);
        self.queued.push(b'\n');
    }

    /// Writes everything queued. Safe to cancel: each `write` either wrote its bytes, which
    /// are then marked written before the next await, or wrote nothing.
    async fn flush(&mut self) -> std::io::Result<()> {
        while self.written < self.queued.len() {
            let n = self.writer.write(&self.queued[self.written..]).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            self.written += n;
        }
        self.queued.clear();
        self.written = 0;
        self.writer.flush().await
    }
}

/// Newline-delimited JSON-RPC on a reader and a writer.
pub struct StdioTransport<R, W> {
    lines: Lines<R>,
    output: Arc<Mutex<Output<W>>>,
    /// The answer to a bad line, until it is queued.
    answer: Option<String>,
    /// An answer was queued and may not be written yet (its write was cancelled).
    unflushed: bool,
}

impl<R: AsyncRead + Unpin + Send, W: AsyncWrite + Unpin + Send + 'static> StdioTransport<R, W> {
    /// A transport reading `input` and writing `output`.
    pub fn new(input: R, output: W) -> StdioTransport<R, W> {
        StdioTransport {
            lines: Lines::new(input, MAX_MESSAGE_BYTES),
            output: Arc::new(Mutex::new(Output {
                writer: output,
                queued: Vec::new(),
                written: 0,
            })),
            answer: None,
            unflushed: false,
        }
    }
}

impl<R, W> rmcp::transport::Transport<RoleServer> for StdioTransport<R, W>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let output = self.output.clone();
        async move {
            let line = serde_json::to_vec(&item).map_err(std::io::Error::other)?;
            let mut output = output.lock().await;
            output.queue(&line);
            output.flush().await
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            // Every step here is safe to cancel: the answer stays in `self.answer` until it
            // is queued, and queued bytes are written by the next writer if not by this one.
            if self.answer.is_some() || self.unflushed {
                let mut output = self.output.lock().await;
                if let Some(answer) = self.answer.take() {
                    output.queue(answer.as_bytes());
                    self.unflushed = true;
                }
                if let Err(error) = output.flush().await {
                    tracing::debug!(%error, "could not answer a malformed line on stdout");
                    return None;
                }
                self.unflushed = false;
            }
            let verdict = match self.lines.next().await {
                Ok(Line::Complete(line)) => triage(line),
                Ok(Line::TooLong) => Triage::Answer(error_line(
                    ErrorCode::INVALID_REQUEST,
                    &format!(
                        "Invalid Request: the message is longer than {MAX_MESSAGE_BYTES} bytes (16 MiB), the most one line may hold"
                    ),
                    None,
                )),
                Ok(Line::End) => return None,
                Err(error) => {
                    tracing::error!(%error, "reading standard input failed");
                    return None;
                }
            };
            match verdict {
                Triage::Deliver(message) => return Some(*message),
                Triage::Answer(answer) => self.answer = Some(answer),
                Triage::Ignore => {}
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        let mut output = self.output.lock().await;
        let _ = tokio::time::timeout(CLOSE_WAIT, output.flush()).await;
        output.writer.shutdown().await
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt as _;
    use rmcp::transport::Transport as _;
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

    use super::*;

    #[tokio::test]
    async fn a_bad_line_is_answered_whole_even_when_its_write_is_cancelled() {
        let (mut client_in, server_in) = tokio::io::duplex(1 << 16);
        // A pipe of 16 bytes: the answer cannot be written in one go while nobody reads.
        let (server_out, client_out) = tokio::io::duplex(16);
        let mut transport = StdioTransport::new(server_in, server_out);
        client_in
            .write_all(b"NaN\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n")
            .await
            .expect("write");

        // Polled once, `receive` writes what fits of the answer and then waits on the full
        // pipe; dropping it there (as the service's `select!` may) loses nothing.
        let cut_short = transport.receive().now_or_never();
        assert!(cut_short.is_none(), "waiting on the full pipe");

        let mut answers = BufReader::new(client_out).lines();
        let (message, answer) = tokio::join!(transport.receive(), answers.next_line());
        assert!(message.is_some(), "the ping after the bad line");
        let answer: serde_json::Value =
            serde_json::from_str(&answer.expect("read").expect("a line")).expect("JSON");
        assert_eq!(answer["error"]["code"], -32700);
        assert_eq!(answer["id"], serde_json::Value::Null);
    }
}
