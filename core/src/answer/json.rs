//! Finding JSON in an answer: the whole text, fences, balanced spans, and objects cut off
//! by the token limit, in that order, without quadratic rescans.

use super::*;

/// Calls `accept` on each JSON candidate in priority order until it returns
/// a result. Also returns the spans that were still open at the end of the
/// text, for callers that try to repair truncated answers.
pub(super) fn walk_json<T>(
    text: &str,
    mut accept: impl FnMut(&Value) -> Option<T>,
) -> (Option<T>, Vec<Unclosed>) {
    let whole = text.trim();
    if whole.starts_with(['{', '['])
        && let Some(value) = parse_json(whole)
        && let Some(result) = accept(&value)
    {
        return (Some(result), Vec::new());
    }
    for block in fenced_blocks(text) {
        if let Some(value) = parse_json(block)
            && let Some(result) = accept(&value)
        {
            return (Some(result), Vec::new());
        }
    }
    let mut unclosed = Vec::new();
    let mut spans = Spans::new(text, b"{[");
    while let Some(found) = spans.next() {
        match found {
            Found::Span { start, slice } => match parse_json(slice) {
                Some(value) => {
                    if let Some(result) = accept(&value) {
                        return (Some(result), unclosed);
                    }
                }
                // Prose like `[see {"score": 7}]` hides valid JSON inside
                // an invalid span.
                None => spans.descend(start),
            },
            Found::Unclosed(span) => unclosed.push(span),
        }
    }
    (None, unclosed)
}

/// Strict JSON, or JSON with trailing commas removed (a frequent model
/// slip that serde_json rightly rejects).
pub(super) fn parse_json(text: &str) -> Option<Value> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    serde_json::from_str(text)
        .ok()
        .or_else(|| strip_trailing_commas(text).and_then(|fixed| serde_json::from_str(&fixed).ok()))
}

/// `text` without commas that directly precede `}` or `]` outside strings;
/// `None` when there were none.
pub(super) fn strip_trailing_commas(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            out.push(c);
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            // Only the whitespace run right after this comma is looked at,
            // so the pass stays linear.
            ',' if text
                .get(i + 1..)
                .is_some_and(|rest| rest.trim_start().starts_with(['}', ']'])) =>
            {
                changed = true;
            }
            _ => out.push(c),
        }
    }
    changed.then_some(out)
}

/// The bodies of ```` ``` ```` fences, without the info string; an unclosed
/// fence runs to the end of the text.
pub(super) fn fenced_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while blocks.len() < MAX_FENCES {
        let Some((_, after_open)) = rest.split_once("```") else {
            break;
        };
        let (body, after_close) = after_open.split_once("```").unwrap_or((after_open, ""));
        blocks.push(without_info_string(body));
        if after_close.is_empty() {
            break;
        }
        rest = after_close;
    }
    blocks
}

pub(super) fn without_info_string(body: &str) -> &str {
    match body.split_once('\n') {
        Some((first, remainder))
            if first
                .trim()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '.')) =>
        {
            remainder
        }
        _ => body,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Bracket {
    Curly,
    Square,
}

impl Bracket {
    fn closer(self) -> char {
        match self {
            Bracket::Curly => '}',
            Bracket::Square => ']',
        }
    }
}

pub(super) struct Frame {
    bracket: Bracket,
    /// In an object, whether the next string is a key.
    expect_key: bool,
    /// Byte range of the last key read in this object, to tell which field
    /// a string cut off by truncation belongs to.
    key: Option<(usize, usize)>,
}

#[derive(Clone, Copy)]
pub(super) enum Escape {
    None,
    /// Just after a backslash at this byte.
    Backslash(usize),
    /// Inside `\uXXXX` starting at this byte, with this many digits to go.
    Unicode(usize, u8),
}

pub(super) struct OpenString {
    /// Where the string's content starts, if it is an object key.
    key_start: Option<usize>,
    escape: Escape,
}

/// A span that was still open at the end of the text, with what is needed
/// to close it artificially.
pub(super) struct Unclosed {
    start: usize,
    /// Where the text can be cut so that everything before is complete
    /// JSON members (after an opening bracket, before a comma, after a
    /// closing bracket or a value string).
    last_cut: usize,
    /// What closes every bracket open at the end; by construction the same
    /// as at `last_cut`, since every push and pop moves `last_cut`.
    closers: String,
    /// When the text ends inside a justification string: where its content
    /// can be cut without leaving half an escape.
    open_justification: Option<usize>,
}

pub(super) enum Scan {
    Balanced {
        end: usize,
    },
    /// A closing bracket that does not match.
    Broken,
    Unclosed(Unclosed),
}

/// Follows brackets from the opener at `start`, skipping JSON strings.
pub(super) fn scan_span(text: &str, start: usize) -> Scan {
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut string: Option<OpenString> = None;
    let mut last_cut = start;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if let Some(open) = string.as_mut() {
            match open.escape {
                Escape::Backslash(at) => {
                    open.escape = if b == b'u' {
                        Escape::Unicode(at, 4)
                    } else {
                        Escape::None
                    };
                }
                Escape::Unicode(at, left) => {
                    open.escape = if left > 1 {
                        Escape::Unicode(at, left - 1)
                    } else {
                        Escape::None
                    };
                }
                Escape::None => match b {
                    b'\\' => open.escape = Escape::Backslash(i),
                    b'"' => {
                        match (open.key_start, stack.last_mut()) {
                            (Some(key_start), Some(frame)) => frame.key = Some((key_start, i)),
                            _ => last_cut = i + 1,
                        }
                        string = None;
                    }
                    _ => {}
                },
            }
            continue;
        }
        match b {
            b'{' | b'[' => {
                let bracket = if b == b'{' {
                    Bracket::Curly
                } else {
                    Bracket::Square
                };
                stack.push(Frame {
                    bracket,
                    expect_key: bracket == Bracket::Curly,
                    key: None,
                });
                last_cut = i + 1;
            }
            b'}' | b']' => {
                let want = if b == b'}' {
                    Bracket::Curly
                } else {
                    Bracket::Square
                };
                match stack.pop() {
                    Some(frame) if frame.bracket == want => {}
                    _ => return Scan::Broken,
                }
                if stack.is_empty() {
                    return Scan::Balanced { end: i + 1 };
                }
                last_cut = i + 1;
            }
            b'"' => {
                let is_key = stack
                    .last()
                    .is_some_and(|frame| frame.bracket == Bracket::Curly && frame.expect_key);
                string = Some(OpenString {
                    key_start: is_key.then_some(i + 1),
                    escape: Escape::None,
                });
            }
            b':' => {
                if let Some(frame) = stack.last_mut() {
                    frame.expect_key = false;
                }
            }
            b',' => {
                if let Some(frame) = stack.last_mut() {
                    frame.expect_key = frame.bracket == Bracket::Curly;
                }
                last_cut = i;
            }
            _ => {}
        }
    }
    if stack.is_empty() {
        return Scan::Broken;
    }
    let open_justification = string
        .filter(|open| open.key_start.is_none())
        .and_then(|open| {
            let (key_start, key_end) = stack.last()?.key?;
            let key = text.get(key_start..key_end)?;
            if !JUSTIFICATION_KEYS
                .iter()
                .any(|name| key.trim().eq_ignore_ascii_case(name))
            {
                return None;
            }
            Some(match open.escape {
                Escape::None => text.len(),
                Escape::Backslash(at) | Escape::Unicode(at, _) => at,
            })
        });
    Scan::Unclosed(Unclosed {
        start,
        last_cut,
        closers: stack
            .iter()
            .rev()
            .map(|frame| frame.bracket.closer())
            .collect(),
        open_justification,
    })
}

/// Ways of closing a truncated span, most informative first.
pub(super) fn repairs(text: &str, span: &Unclosed) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(cut) = span.open_justification
        && let Some(prefix) = text.get(span.start..cut)
    {
        out.push(format!("{prefix}…\"{}", span.closers));
    }
    if let Some(prefix) = text.get(span.start..span.last_cut) {
        out.push(format!("{prefix}{}", span.closers));
    }
    out
}

pub(super) enum Found<'a> {
    Span { start: usize, slice: &'a str },
    Unclosed(Unclosed),
}

/// Successive bracket spans of a text, left to right.
///
/// A balanced span is skipped whole unless the caller asks to look inside
/// it; looking inside, or past a span that never closes, costs one rescan
/// from the budget, which bounds the total work.
pub(super) struct Spans<'a> {
    text: &'a str,
    openers: &'static [u8],
    pos: usize,
    rescans_left: usize,
}

impl<'a> Spans<'a> {
    pub(super) fn new(text: &'a str, openers: &'static [u8]) -> Self {
        Spans {
            text,
            openers,
            pos: 0,
            rescans_left: MAX_RESCANS,
        }
    }

    pub(super) fn next(&mut self) -> Option<Found<'a>> {
        loop {
            let rest = self.text.as_bytes().get(self.pos..)?;
            let start = self.pos + rest.iter().position(|b| self.openers.contains(b))?;
            match scan_span(self.text, start) {
                Scan::Balanced { end } => {
                    self.pos = end;
                    if let Some(slice) = self.text.get(start..end) {
                        return Some(Found::Span { start, slice });
                    }
                }
                Scan::Broken => self.rescan_or_stop(start),
                Scan::Unclosed(span) => {
                    self.rescan_or_stop(start);
                    return Some(Found::Unclosed(span));
                }
            }
        }
    }

    /// Looks inside the balanced span starting at `start` instead of past
    /// it, while the budget lasts.
    pub(super) fn descend(&mut self, start: usize) {
        if self.rescans_left > 0 {
            self.rescans_left -= 1;
            self.pos = start + 1;
        }
    }

    /// After a span that failed, everything up to the end of the text was
    /// already scanned once; go back inside only while the budget lasts.
    fn rescan_or_stop(&mut self, start: usize) {
        if self.rescans_left > 0 {
            self.rescans_left -= 1;
            self.pos = start + 1;
        } else {
            self.pos = self.text.len();
        }
    }
}
