//! The stdio transport: standard input and output as byte streams ([`streams`]), read and
//! written one JSON-RPC message per line ([`transport::StdioTransport`], with [`lines`] for
//! bounded reading and [`triage`] for answering lines that are not messages).
//!
//! tokio's `stdin()` and `stdout()` hand every read and every write to a blocking thread, so
//! each tool call crosses threads four times before its answer leaves. MCP clients launch the
//! server with pipes on both, and a pipe can be polled by the reactor like a socket; on pipes
//! the reads and writes happen on the task that needs them. Anything else (a terminal, a file)
//! keeps tokio's blocking-thread streams, which work everywhere.

use std::fs::File;
use std::os::fd::AsFd;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::unix::pipe;

pub mod lines;
pub mod transport;
pub mod triage;

pub use transport::StdioTransport;

/// Standard input, readable without a blocking thread when it is a pipe.
pub type Input = Pin<Box<dyn AsyncRead + Send>>;
/// Standard output, writable without a blocking thread when it is a pipe.
pub type Output = Pin<Box<dyn AsyncWrite + Send>>;

/// Standard input and output for the stdio transport.
///
/// A pipe is switched to non-blocking mode; nothing else in the process reads standard input
/// or writes standard output while the transport runs (logs go to standard error).
pub fn streams() -> (Input, Output) {
    let input: Input = match duplicate(std::io::stdin().as_fd()).and_then(pipe::Receiver::from_file)
    {
        Ok(receiver) => Box::pin(receiver),
        Err(_) => Box::pin(tokio::io::stdin()),
    };
    let output: Output =
        match duplicate(std::io::stdout().as_fd()).and_then(pipe::Sender::from_file) {
            Ok(sender) => Box::pin(sender),
            Err(_) => Box::pin(tokio::io::stdout()),
        };
    (input, output)
}

/// An owned duplicate of `fd` (the standard streams themselves stay open for the process).
fn duplicate(fd: std::os::fd::BorrowedFd<'_>) -> std::io::Result<File> {
    Ok(File::from(fd.try_clone_to_owned()?))
}
