//! The line format (`SCORE: 7`, `Justification: ...`) and abstention markers.

use super::*;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Label {
    Score,
    Justification,
}

pub(super) const LABEL_WORDS: &[(Label, &str)] = &[
    (Label::Score, "score"),
    (Label::Score, "rating"),
    (Label::Justification, "justification"),
    (Label::Justification, "reasoning"),
    (Label::Justification, "rationale"),
    (Label::Justification, "explanation"),
];

pub(super) struct Line {
    start: usize,
    /// End of the content, before any `\r\n`.
    end: usize,
    /// Start of the next line.
    next: usize,
    /// A label at the start of the line, and where its value starts.
    label: Option<(Label, usize)>,
}

/// A score found in the text, and the bytes to leave out of an unlabelled
/// justification.
pub(super) struct ScoreMatch {
    score: Result<ScoreText, String>,
    start: usize,
    end: usize,
    /// Whether `start..end` is a whole line, label and all.
    whole_line: bool,
}

pub(super) fn parse_score_lines(text: &str) -> Option<Result<Verdict, Malformed>> {
    // ASCII lowercasing keeps byte offsets, so ranges carry over to `text`.
    let lower = text.to_ascii_lowercase();
    let lines = split_lines(text, &lower);
    let found = anchored_score(text, &lines).or_else(|| midline_score(text, &lower, &lines))?;
    let score = match found.score {
        Ok(score) => score,
        Err(given) => return Some(Err(Malformed::ScoreNotANumber { given })),
    };

    let block = lines
        .iter()
        .enumerate()
        .find_map(|(index, line)| match line.label {
            Some((Label::Justification, offset)) => {
                let end = lines
                    .iter()
                    .skip(index + 1)
                    .find(|later| later.label.is_some())
                    .map_or(text.len(), |later| later.start);
                Some((line.start + offset, end))
            }
            _ => None,
        })
        .unwrap_or((0, text.len()));
    let justification = if found.start >= block.0 && found.end <= block.1 {
        let before = text
            .get(block.0..found.start)
            .unwrap_or_default()
            .trim_end();
        let after = text
            .get(found.end..block.1)
            .unwrap_or_default()
            .trim_start();
        // A removed line leaves a line break; a removed `score: 8` inside a
        // sentence leaves a word gap.
        let gap = if found.whole_line { "\n" } else { " " };
        match (before.is_empty(), after.is_empty()) {
            (false, false) => format!("{before}{gap}{after}"),
            _ => format!("{before}{after}"),
        }
    } else {
        text.get(block.0..block.1).unwrap_or_default().to_owned()
    };
    Some(Ok(verdict(score, normalise_justification(&justification))))
}

pub(super) fn split_lines(text: &str, lower: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = 0;
    for piece in text.split_inclusive('\n') {
        let next = start + piece.len();
        let end = start + piece.trim_end_matches(['\n', '\r']).len();
        let label = lower.get(start..end).and_then(line_label);
        lines.push(Line {
            start,
            end,
            next,
            label,
        });
        start = next;
    }
    lines
}

/// A label such as `**Score:**` or `- Justification:` at the start of a
/// (lowercased) line, and the offset of its value.
pub(super) fn line_label(line: &str) -> Option<(Label, usize)> {
    let body = line.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, '*' | '_' | '#' | '>' | '-' | '•')
    });
    let (label, word) = LABEL_WORDS
        .iter()
        .find(|(_, word)| body.starts_with(word))?;
    let value = after_label(body.get(word.len()..)?)?;
    Some((*label, line.len() - value.len()))
}

/// What follows the colon of a label, with emphasis markers skipped; `None`
/// when the word is not followed by a colon (`Scores`, `scored`).
pub(super) fn after_label(rest: &str) -> Option<&str> {
    rest.trim_start_matches(['*', '_', ' ', '\t'])
        .strip_prefix(':')
        .map(|value| value.trim_start_matches(['*', '_', ' ', '\t']))
}

pub(super) fn anchored_score(text: &str, lines: &[Line]) -> Option<ScoreMatch> {
    let line = lines
        .iter()
        .find(|line| matches!(line.label, Some((Label::Score, _))))?;
    let (_, offset) = line.label?;
    let value = text.get(line.start + offset..line.end)?;
    let score = match lenient_score(value) {
        Some((score, _)) => Ok(score),
        None if value.trim().is_empty() => Err("nothing".to_owned()),
        None => Err(quoted(value)),
    };
    Some(ScoreMatch {
        score,
        start: line.start,
        end: line.next,
        whole_line: true,
    })
}

/// A `score: 7` inside a line. Unlike a label at the start of a line, a
/// mid-line one counts only when a readable value follows, since prose can
/// say "score:" in passing.
pub(super) fn midline_score(text: &str, lower: &str, lines: &[Line]) -> Option<ScoreMatch> {
    lines.iter().find_map(|line| {
        let line_lower = lower.get(line.start..line.end)?;
        line_lower.char_indices().find_map(|(i, _)| {
            let rest = line_lower.get(i..)?;
            let word = ["score", "rating"]
                .into_iter()
                .find(|word| rest.starts_with(word))?;
            let glued = line_lower
                .get(..i)?
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            if glued {
                return None;
            }
            let value = after_label(rest.get(word.len()..)?)?;
            let value_start = line.start + line_lower.len() - value.len();
            let window = prefix_chars(text.get(value_start..line.end)?, MIDLINE_VALUE_WINDOW);
            let (score, used) = lenient_score(window)?;
            Some(ScoreMatch {
                score: Ok(score),
                start: line.start + i,
                end: value_start + used,
                whole_line: false,
            })
        })
    })
}

pub(super) fn has_abstain_marker(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if lower.contains("no_response") {
        return true;
    }
    lower.match_indices("status").any(|(i, word)| {
        lower
            .get(i + word.len()..)
            .map(|rest| rest.trim_start_matches(['"', '\'']).trim_start())
            .and_then(|rest| rest.strip_prefix(':'))
            .is_some_and(|value| {
                value
                    .trim_start()
                    .trim_start_matches(['"', '\''])
                    .starts_with("abstain")
            })
    })
}
