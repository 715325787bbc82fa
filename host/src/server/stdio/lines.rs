//! Newline-delimited messages read from a stream, each at most so many bytes.
//!
//! A line longer than the limit is never held in memory: its bytes are dropped as they
//! arrive, and the reader reports it once, when its newline has been seen (so the next line
//! starts clean). Reading is safe to cancel at any await: a partial line stays in the reader
//! and the next call goes on with it, which matters because the MCP service polls its
//! transport inside a `select!`.

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// What the next read found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A whole line, without its newline.
    Complete(&'a [u8]),
    /// A line over the limit, now skipped to its end.
    TooLong,
    /// The stream ended (a last line without a newline is dropped: it may be cut short).
    End,
}

/// Lines of `R`, each at most `max` bytes.
pub struct Lines<R> {
    reader: BufReader<R>,
    line: Vec<u8>,
    max: usize,
    /// Within a line over the limit, until its newline.
    skipping: bool,
    /// A complete line is in `line`, to clear before reading on.
    returned: bool,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    /// Lines of `reader`, each at most `max` bytes.
    pub fn new(reader: R, max: usize) -> Lines<R> {
        Lines {
            reader: BufReader::new(reader),
            line: Vec::new(),
            max,
            skipping: false,
            returned: false,
        }
    }

    /// The next line.
    pub async fn next(&mut self) -> std::io::Result<Line<'_>> {
        if std::mem::take(&mut self.returned) {
            self.line.clear();
        }
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                return Ok(Line::End);
            }
            // Everything from here to `consume` runs without an await, so a cancelled call
            // never loses bytes it has read.
            let newline = available.iter().position(|&byte| byte == b'\n');
            let taken = newline.map_or(available.len(), |at| at + 1);
            let body = &available[..newline.unwrap_or(available.len())];
            let fits = !self.skipping && self.line.len() + body.len() <= self.max;
            if fits {
                self.line.extend_from_slice(body);
            } else {
                self.line.clear();
                self.skipping = true;
            }
            self.reader.consume(taken);
            if newline.is_some() {
                if std::mem::take(&mut self.skipping) {
                    return Ok(Line::TooLong);
                }
                self.returned = true;
                return Ok(Line::Complete(&self.line));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn all(input: &[u8], max: usize) -> Vec<Result<String, &'static str>> {
        let mut lines = Lines::new(input, max);
        let mut out = Vec::new();
        loop {
            match lines.next().await.expect("read") {
                Line::Complete(line) => out.push(Ok(String::from_utf8_lossy(line).into_owned())),
                Line::TooLong => out.push(Err("too long")),
                Line::End => return out,
            }
        }
    }

    #[tokio::test]
    async fn lines_over_the_limit_are_skipped_whole_and_reported_once() {
        let mut input = b"short\n".to_vec();
        input.extend(vec![b'x'; 100]);
        input.extend(b"\n1234\n12345\n\nlast without newline");
        assert_eq!(
            all(&input, 4).await,
            [
                Err("too long"),
                Err("too long"),
                Ok("1234".to_owned()),
                Err("too long"),
                Ok(String::new()),
            ]
        );
    }

    #[tokio::test]
    async fn a_line_split_across_reads_is_put_back_together() {
        let (mut writer, reader) = tokio::io::duplex(4);
        let feed = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt as _;
            writer
                .write_all(b"{\"a\":1}\n{\"b\":")
                .await
                .expect("write");
            writer.write_all(b"2}\n").await.expect("write");
        });
        let mut lines = Lines::new(reader, 64);
        assert_eq!(
            lines.next().await.expect("read"),
            Line::Complete(b"{\"a\":1}")
        );
        assert_eq!(
            lines.next().await.expect("read"),
            Line::Complete(b"{\"b\":2}")
        );
        feed.await.expect("fed");
        assert_eq!(lines.next().await.expect("read"), Line::End);
    }
}
