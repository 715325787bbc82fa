//! [`StdioTransport`]: the MCP service's transport over standard input and output, one
//! JSON-RPC message per line, answering the lines that are not messages (see [`triage`]).
//!
//! Every line written goes through one writer task, in order, so a response, a
//! notification and an error answer never interleave on stdout. The queue to it is
//! bounded: a client that stops reading stdout while it keeps writing garbage holds the
//! reader back instead of growing a backlog of error answers.
//!
//! [`triage`]: super::triage

use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::ErrorCode;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use super::lines::{Line, Lines};
use super::triage::{Triage, error_line, triage};

/// Longest message accepted, in bytes: as rmcp's stdio transport and its HTTP client allow.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Lines waiting for the writer.
const QUEUE: usize = 64;
/// How long closing waits for queued lines to be written (a client that stopped reading
/// must not keep the server from exiting).
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// One line for stdout, and who waits to hear it was written.
struct Outgoing {
    line: Vec<u8>,
    written: Option<oneshot::Sender<std::io::Result<()>>>,
}

/// Newline-delimited JSON-RPC on a reader and a writer.
pub struct StdioTransport<R> {
    lines: Lines<R>,
    queue: mpsc::Sender<Outgoing>,
    /// An answer to a bad line not yet queued (queued first by the next `receive`).
    pending: Option<String>,
    writer: Option<tokio::task::JoinHandle<()>>,
}

impl<R: AsyncRead + Unpin + Send> StdioTransport<R> {
    /// A transport reading `input` and writing `output`. Spawns the writer task.
    pub fn new<W: AsyncWrite + Unpin + Send + 'static>(input: R, output: W) -> StdioTransport<R> {
        let (queue, outgoing) = mpsc::channel(QUEUE);
        let writer = tokio::spawn(write_lines(output, outgoing));
        StdioTransport {
            lines: Lines::new(input, MAX_MESSAGE_BYTES),
            queue,
            pending: None,
            writer: Some(writer),
        }
    }
}

async fn write_lines<W: AsyncWrite + Unpin>(mut output: W, mut queue: mpsc::Receiver<Outgoing>) {
    while let Some(Outgoing { line, written }) = queue.recv().await {
        let result = async {
            output.write_all(&line).await?;
            output.flush().await
        }
        .await;
        match written {
            Some(waiting) => {
                let _ = waiting.send(result);
            }
            None => {
                if let Err(error) = result {
                    tracing::debug!(%error, "could not answer a malformed line on stdout");
                }
            }
        }
    }
    let _ = output.shutdown().await;
}

impl<R: AsyncRead + Unpin + Send> rmcp::transport::Transport<RoleServer> for StdioTransport<R> {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let queue = self.queue.clone();
        async move {
            let mut line = serde_json::to_vec(&item).map_err(std::io::Error::other)?;
            line.push(b'\n');
            let (written, done) = oneshot::channel();
            let closed =
                || std::io::Error::new(std::io::ErrorKind::NotConnected, "stdout is closed");
            queue
                .send(Outgoing {
                    line,
                    written: Some(written),
                })
                .await
                .map_err(|_| closed())?;
            done.await.map_err(|_| closed())?
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            if let Some(answer) = &self.pending {
                // `reserve` gives up nothing if this call is cancelled: the answer stays
                // pending until it has a place in the queue.
                let place = self.queue.reserve().await.ok()?;
                let mut line = answer.clone().into_bytes();
                line.push(b'\n');
                place.send(Outgoing {
                    line,
                    written: None,
                });
                self.pending = None;
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
                Triage::Answer(answer) => self.pending = Some(answer),
                Triage::Ignore => {}
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        // Closing the queue lets the writer finish what is queued, then shut stdout.
        let (closed, _) = mpsc::channel(1);
        self.queue = closed;
        if let Some(writer) = self.writer.take() {
            let _ = tokio::time::timeout(CLOSE_WAIT, writer).await;
        }
        Ok(())
    }
}
