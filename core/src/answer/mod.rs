//! Turning a model's free-form answer to a scoring prompt into a [`Verdict`].
//!
//! Models are asked for strict JSON, but what comes back varies: the JSON may
//! be fenced, wrapped in prose, carry trailing commas, use a string for the
//! score, be cut off by the token limit, or be replaced by a plain
//! `SCORE: 7` line. Every answer that still says clearly what the model meant
//! should count, and every answer that does not should fail with a message a
//! person can act on ([`Malformed`]'s `Display`), never with a guess.
//!
//! # Order of interpretation (single answers)
//!
//! 1. **JSON.** Candidates are tried in this order: the whole text, the body
//!    of each ```` ``` ```` fence, then every balanced `{…}`/`[…]` span in
//!    the prose. The span scan knows about JSON strings and escapes, so
//!    `"uses {curly} braces"` or `"say \"}\""` inside a justification cannot
//!    end a span early. An object counts when it has a score, status or
//!    justification field; an array holding exactly one such object, or an
//!    object wrapping exactly one such object, counts too. The first
//!    candidate that yields a usable verdict wins; if every candidate of the
//!    right shape is unusable, the first one's error is returned, and the
//!    line format is *not* consulted, because the model did answer in JSON
//!    and its JSON is what it meant.
//! 2. **Truncated JSON.** If no complete candidate fits, an object cut off
//!    at the end of the text is closed artificially: inside a justification
//!    string the text is kept and marked with `…`; anywhere else it is cut
//!    back to the last complete member. A score is never read from a number
//!    that touches the cut, since `1` might be the start of `10`.
//! 3. **Line format.** `SCORE: 7`, `Score: 7/10`, `**Score:** 8`,
//!    `Rating: 6`, with `Justification:`/`Reasoning:`/`Rationale:`/
//!    `Explanation:` blocks. A label at the start of a line is authoritative
//!    (`SCORE: high` is an error); a `score:` label in the middle of a line
//!    counts only when a number or abstention token follows it. The first
//!    label at a line start wins over any mid-line one; among those, the
//!    first wins.
//! 4. **Abstention markers** (`NO_RESPONSE`, `[NO_RESPONSE]`,
//!    `status: abstain`, `"status": "abstain"`), only when nothing above
//!    produced a score. Unlike the reference server, the words "abstain" or
//!    "not applicable" in prose are not markers, and no marker overrides an
//!    explicit score.
//! 5. Otherwise [`Malformed::NoScore`].
//!
//! # Field decisions
//!
//! - `status` of `abstain`/`abstained`/`not_applicable` wins over any score
//!   in the same object: the model explicitly said the criterion does not
//!   apply, and a number next to that is more likely a placeholder than a
//!   judgement. In the line format it is the other way round (rule 4): a
//!   stray marker in prose is weaker evidence than a `SCORE:` line.
//! - `status: "error"` is [`Malformed::ModelReportedError`]. Other status
//!   values (including `"scored"`) are ignored and the score decides.
//! - A `null` score is an abstention; a *missing* score (with no abstain
//!   status) is [`Malformed::MissingScore`].
//! - Scores are clamped to 1–10. Strings such as `"8/10"` or
//!   `"8 out of 10"` count; any other denominator is rejected rather than
//!   rescaled, because the prompt asked for 1–10 and a rescale would guess.
//! - Keys are matched exactly first, then ASCII-case-insensitively.
//! - Justifications are trimmed and cut to [`MAX_JUSTIFICATION_CHARS`]
//!   characters (ending in `…` when cut); a blank or missing one becomes
//!   [`NO_JUSTIFICATION`] rather than an error, because the score is the
//!   part the caller cannot do without.
//!
//! # Batch answers
//!
//! [`parse_batch`] looks for an array of option objects (directly, or as the
//! only array-of-objects value of a wrapper object such as
//! `{"evaluations": [...]}`), using the same candidate order. If none is
//! complete, it collects every separate `{…}` object carrying an `option`
//! key, which also recovers the complete objects of an array cut off by the
//! token limit; a final partial object is kept when it still has its
//! `option` key (its entry then reports whatever its fields allow, often a
//! missing score). An entry whose JSON itself is invalid cannot be
//! attributed to an option and is dropped; the caller sees it as missing.
//! The line format is not supported for batches: nothing in it ties a score
//! to an option reliably enough.
//!
//! # Cost
//!
//! Answers are small, but hostile shapes (thousands of `{`) must not make
//! parsing quadratic. Balanced spans that are skipped are never rescanned,
//! and rescanning from inside a failed span is limited to a fixed number of
//! attempts, so the work is a constant multiple of the text length.
//!
//! An answer in exactly the requested shape (nearly all of them, with structured output) is
//! read by a typed fast path first, which reaches the same verdict without building a JSON
//! tree; anything else goes the way described above.

use serde_json::{Map, Value};

mod batch;
mod fields;
mod json;
pub mod kept;
mod lines;
mod single;
mod strict;
#[cfg(test)]
mod tests;
mod text;

use batch::*;
use fields::*;
use json::*;
use lines::*;
use single::*;
use text::*;

/// Longest justification kept, in characters, including the `…` that marks
/// a cut.
pub const MAX_JUSTIFICATION_CHARS: usize = 2000;

/// Justification recorded when the model gave none.
pub const NO_JUSTIFICATION: &str = "No justification provided";

/// Longest piece of an answer quoted in an error message, in characters.
const EXCERPT_CHARS: usize = 80;

/// Rescans from inside a failed span; this bound is what keeps the span
/// search linear on inputs such as ten thousand `{`.
const MAX_RESCANS: usize = 16;

/// Fenced blocks looked at; more than this is not a real answer.
const MAX_FENCES: usize = 16;

/// How far past a mid-line `score:` label a value is looked for, so that a
/// line full of labels cannot make the line scan quadratic.
const MIDLINE_VALUE_WINDOW: usize = 48;

const SCORE_KEYS: &[&str] = &["score", "rating"];
const JUSTIFICATION_KEYS: &[&str] = &["justification", "reasoning", "rationale", "explanation"];
/// Where a model that reports an error tends to put its reason, after the
/// justification fields.
const ERROR_MESSAGE_KEYS: &[&str] = &["error", "message"];
const STATUS_KEY: &str = "status";
/// `option` is what the prompt asks for; the others are near misses a model
/// could plausibly make. Generic names like `id` are left out because
/// wrapper objects use them too.
const OPTION_KEYS: &[&str] = &["option", "option_id", "option_key"];

/// `abstained` must come before `abstain`: the shorter token would match
/// first and then fail the word-boundary check on the trailing `d`.
const ABSTAIN_TOKENS: &[&str] = &[
    "[no_response]",
    "no_response",
    "not applicable",
    "not_applicable",
    "abstained",
    "abstain",
    "n/a",
    "na",
];

/// What the model concluded for one option on one criterion.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The model gave a score.
    Scored {
        /// Finite and within 1–10 (out-of-range answers are clamped).
        score: f64,
        /// Trimmed, at most [`MAX_JUSTIFICATION_CHARS`] characters, never
        /// empty.
        justification: String,
    },
    /// The model said the criterion does not apply to this option.
    Abstained {
        /// Trimmed, at most [`MAX_JUSTIFICATION_CHARS`] characters, never
        /// empty.
        justification: String,
    },
}

impl Verdict {
    /// The score, or `None` for an abstention.
    pub fn score(&self) -> Option<f64> {
        match self {
            Verdict::Scored { score, .. } => Some(*score),
            Verdict::Abstained { .. } => None,
        }
    }

    /// The justification, whichever kind of verdict this is.
    pub fn justification(&self) -> &str {
        match self {
            Verdict::Scored { justification, .. } | Verdict::Abstained { justification } => {
                justification
            }
        }
    }
}

/// Why an answer (or one entry of a batch answer) cannot be used.
///
/// The `Display` text is meant for the person running the evaluation: it
/// says what was wrong and quotes at most 80 characters of the offending
/// text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// The answer was empty or only whitespace.
    #[error("the answer was empty")]
    Empty,
    /// Neither JSON, a score line nor an abstention marker was found.
    #[error("no score found in the answer, which starts \"{excerpt}\"")]
    NoScore {
        /// The start of the answer.
        excerpt: String,
    },
    /// A score was given but is not a number in a form that can be read.
    #[error("the score is not a number: got {given}")]
    ScoreNotANumber {
        /// The value as given, quoted if it was a string, shortened.
        given: String,
    },
    /// A JSON answer had no score field and did not abstain.
    #[error("the answer has no score: {excerpt}")]
    MissingScore {
        /// The JSON object, shortened.
        excerpt: String,
    },
    /// The model itself said it could not evaluate (`"status": "error"`).
    #[error("the model reported that it could not evaluate this: \"{message}\"")]
    ModelReportedError {
        /// The model's stated reason, shortened.
        message: String,
    },
    /// A batch entry had no `option` key, so it cannot be attributed.
    #[error("a batch entry has no \"option\" key: {excerpt}")]
    MissingOptionKey {
        /// The entry, shortened.
        excerpt: String,
    },
    /// A batch array held something other than an object.
    #[error("a batch entry is not a JSON object: {given}")]
    NotAnObject {
        /// The entry, shortened.
        given: String,
    },
    /// A batch answer held no array of option objects, nor any separate
    /// option objects.
    #[error("no JSON array of option objects found in the answer, which starts \"{excerpt}\"")]
    NoBatchArray {
        /// The start of the answer.
        excerpt: String,
    },
}

/// The per-option results of a batch answer.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchAnswer {
    /// Option key as given by the model (trimmed; empty when it gave none)
    /// and that option's verdict, in answer order. Duplicate keys are kept,
    /// since only the caller knows which options it asked about.
    pub entries: Vec<(String, Result<Verdict, Malformed>)>,
}

/// Reads an answer to a prompt that asked for one JSON object.
///
/// See the module documentation for the order in which interpretations are
/// tried.
pub fn parse_single(text: &str) -> Result<Verdict, Malformed> {
    match strict::single(text) {
        Some(verdict) => Ok(verdict),
        None => general_single(text),
    }
}

/// [`parse_single`] without the fast path for the exact requested shape.
///
/// Public so that differential tests and the `answer_parser` fuzz target can check that the
/// fast path never changes a result; callers should use [`parse_single`].
pub fn general_single(text: &str) -> Result<Verdict, Malformed> {
    if text.trim().is_empty() {
        return Err(Malformed::Empty);
    }
    if let Some(result) = single_from_json(text) {
        return result;
    }
    if let Some(result) = parse_score_lines(text) {
        return result;
    }
    if has_abstain_marker(text) {
        return Ok(Verdict::Abstained {
            justification: normalise_justification(text),
        });
    }
    Err(Malformed::NoScore {
        excerpt: excerpt(text),
    })
}

/// Reads an answer to a prompt that asked for a JSON array with one object
/// per option.
///
/// Fails only when no option objects can be found at all; problems with
/// single entries are reported inside [`BatchAnswer::entries`].
pub fn parse_batch(text: &str) -> Result<BatchAnswer, Malformed> {
    match strict::batch(text) {
        Some(answer) => Ok(answer),
        None => general_batch(text),
    }
}

/// [`parse_batch`] without the fast path for the exact requested shape.
///
/// Public for the same reason as [`general_single`]; callers should use [`parse_batch`].
pub fn general_batch(text: &str) -> Result<BatchAnswer, Malformed> {
    if text.trim().is_empty() {
        return Err(Malformed::Empty);
    }
    let (found, _) = walk_json(text, |value| {
        batch_items(value).map(|items| items.iter().map(batch_entry).collect::<Vec<_>>())
    });
    if let Some(entries) = found {
        return Ok(BatchAnswer { entries });
    }
    let entries = separate_objects(text);
    if entries.is_empty() {
        return Err(Malformed::NoBatchArray {
            excerpt: excerpt(text),
        });
    }
    Ok(BatchAnswer { entries })
}
