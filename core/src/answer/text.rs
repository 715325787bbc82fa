//! Text helpers: justifications cut to size, and short excerpts for error messages.

use super::*;

pub(super) fn normalise_justification(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return NO_JUSTIFICATION.to_owned();
    }
    if text.char_indices().nth(MAX_JUSTIFICATION_CHARS).is_none() {
        return text.to_owned();
    }
    let kept = prefix_chars(text, MAX_JUSTIFICATION_CHARS - 1);
    format!("{}…", kept.trim_end())
}

/// At most `count` characters of `text`, cut on a character boundary.
pub(super) fn prefix_chars(text: &str, count: usize) -> &str {
    match text.char_indices().nth(count) {
        Some((end, _)) => text.get(..end).unwrap_or(text),
        None => text,
    }
}

/// A short, single-line quotation of `text` for error messages.
pub(super) fn excerpt(text: &str) -> String {
    let text = text.trim();
    let head: String = prefix_chars(text, EXCERPT_CHARS)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if head.len() < text.len() {
        format!("{}…", head.trim_end())
    } else {
        head
    }
}

pub(super) fn quoted(text: &str) -> String {
    format!("\"{}\"", excerpt(text))
}
