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

mod strict;

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

// ---------------------------------------------------------------------------
// Single answers

fn single_from_json(text: &str) -> Option<Result<Verdict, Malformed>> {
    let mut first_err = None;
    let (found, unclosed) = walk_json(text, |value| match read_verdict(single_object(value)?) {
        Ok(verdict) => Some(verdict),
        Err(err) => {
            first_err.get_or_insert(err);
            None
        }
    });
    if let Some(verdict) = found {
        return Some(Ok(verdict));
    }
    // A complete object that could not be used still outranks a repaired
    // one: it is what the model finished saying.
    let mut repair_err = None;
    for span in &unclosed {
        for candidate in repairs(text, span) {
            let Some(value) = parse_json(&candidate) else {
                continue;
            };
            let Some(object) = single_object(&value) else {
                continue;
            };
            match read_verdict(object) {
                Ok(verdict) => return Some(Ok(verdict)),
                Err(err) => {
                    repair_err.get_or_insert(err);
                }
            }
        }
    }
    first_err.or(repair_err).map(Err)
}

/// The object a single answer is in, if `value` has the expected shape.
fn single_object(value: &Value) -> Option<&Map<String, Value>> {
    if let Some(object) = verdict_object(value) {
        return Some(object);
    }
    // One level of wrapping (`{"evaluation": {...}}`) is common enough to
    // accept, but only when it is unambiguous.
    let Value::Object(wrapper) = value else {
        return None;
    };
    let mut inner = wrapper.values().filter_map(verdict_object);
    let first = inner.next()?;
    inner.next().is_none().then_some(first)
}

/// An object with verdict fields, or an array holding exactly one.
fn verdict_object(value: &Value) -> Option<&Map<String, Value>> {
    match value {
        Value::Object(object) if looks_like_verdict(object) => Some(object),
        Value::Array(items) => match items.as_slice() {
            [Value::Object(object)] if looks_like_verdict(object) => Some(object),
            _ => None,
        },
        _ => None,
    }
}

fn looks_like_verdict(object: &Map<String, Value>) -> bool {
    field(object, SCORE_KEYS).is_some()
        || field(object, JUSTIFICATION_KEYS).is_some()
        || field(object, &[STATUS_KEY]).is_some()
}

// ---------------------------------------------------------------------------
// Batch answers

/// The option entries of `value`, if it is an array of them or wraps
/// exactly one such array.
fn batch_items(value: &Value) -> Option<&Vec<Value>> {
    match value {
        Value::Array(items) if is_entry_array(items) => Some(items),
        // An entry with an array field (say, a list of evidence objects) is
        // not a wrapper, hence the check on the object's own keys.
        Value::Object(object) if !looks_like_entry(object) => {
            let mut arrays = object.values().filter_map(|inner| match inner {
                Value::Array(items) if is_entry_array(items) => Some(items),
                _ => None,
            });
            let first = arrays.next()?;
            arrays.next().is_none().then_some(first)
        }
        _ => None,
    }
}

/// Requiring a recognisable entry keeps JSON-looking fragments of prose,
/// such as `[{}]`, from being taken for the answer.
fn is_entry_array(items: &[Value]) -> bool {
    items
        .iter()
        .any(|item| matches!(item, Value::Object(object) if looks_like_entry(object)))
}

fn looks_like_entry(object: &Map<String, Value>) -> bool {
    option_key(object).is_some() || looks_like_verdict(object)
}

fn batch_entry(value: &Value) -> (String, Result<Verdict, Malformed>) {
    match value {
        Value::Object(object) => object_entry(object),
        other => (
            String::new(),
            Err(Malformed::NotAnObject {
                given: excerpt(&other.to_string()),
            }),
        ),
    }
}

fn object_entry(object: &Map<String, Value>) -> (String, Result<Verdict, Malformed>) {
    match option_key(object) {
        Some(key) => (key, read_verdict(object)),
        None => (
            String::new(),
            Err(Malformed::MissingOptionKey {
                excerpt: excerpt(&object_text(object)),
            }),
        ),
    }
}

fn option_key(object: &Map<String, Value>) -> Option<String> {
    OPTION_KEYS
        .iter()
        .find_map(|name| match field(object, &[name]) {
            Some(Value::String(key)) if !key.trim().is_empty() => Some(key.trim().to_owned()),
            Some(Value::Number(number)) => Some(number.to_string()),
            _ => None,
        })
}

/// The fallback for answers that are not one complete array: every
/// separate option object, including those of a truncated array.
fn separate_objects(text: &str) -> Vec<(String, Result<Verdict, Malformed>)> {
    let mut entries = Vec::new();
    let mut spans = Spans::new(text, b"{");
    while let Some(found) = spans.next() {
        match found {
            Found::Span { start, slice } => match parse_json(slice) {
                Some(Value::Object(object)) if option_key(&object).is_some() => {
                    entries.push(object_entry(&object));
                }
                // A wrapper or an invalid entry may still hold options.
                _ => spans.descend(start),
            },
            Found::Unclosed(span) => {
                let partial = repairs(text, &span)
                    .iter()
                    .filter_map(|candidate| parse_json(candidate))
                    .find_map(|value| match value {
                        Value::Object(object) if option_key(&object).is_some() => Some(object),
                        _ => None,
                    });
                // Everything after an unclosed option object is inside it.
                if let Some(object) = partial {
                    entries.push(object_entry(&object));
                    break;
                }
            }
        }
    }
    entries
}

// ---------------------------------------------------------------------------
// Reading fields

#[derive(Clone, Copy)]
enum Status {
    Abstain,
    Error,
}

/// The number or abstention a score string stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ScoreText {
    /// Always finite.
    Number(f64),
    Abstain,
}

fn read_verdict(object: &Map<String, Value>) -> Result<Verdict, Malformed> {
    let justification = || normalise_justification(&text_field(object, JUSTIFICATION_KEYS));
    match status(object) {
        Some(Status::Error) => {
            let mut reason = text_field(object, JUSTIFICATION_KEYS);
            if reason.trim().is_empty() {
                reason = text_field(object, ERROR_MESSAGE_KEYS);
            }
            let message = if reason.trim().is_empty() {
                "no reason given".to_owned()
            } else {
                excerpt(&reason)
            };
            return Err(Malformed::ModelReportedError { message });
        }
        Some(Status::Abstain) => {
            return Ok(Verdict::Abstained {
                justification: justification(),
            });
        }
        None => {}
    }
    let score = match field(object, SCORE_KEYS) {
        None => {
            return Err(Malformed::MissingScore {
                excerpt: excerpt(&object_text(object)),
            });
        }
        Some(Value::Null) => ScoreText::Abstain,
        Some(Value::Number(number)) => match number.as_f64().filter(|x| x.is_finite()) {
            Some(x) => ScoreText::Number(x),
            None => {
                return Err(Malformed::ScoreNotANumber {
                    given: number.to_string(),
                });
            }
        },
        Some(Value::String(text)) => match strict_score(text) {
            Some(score) => score,
            None => {
                return Err(Malformed::ScoreNotANumber {
                    given: quoted(text),
                });
            }
        },
        Some(other) => {
            return Err(Malformed::ScoreNotANumber {
                given: excerpt(&other.to_string()),
            });
        }
    };
    Ok(verdict(score, justification()))
}

fn verdict(score: ScoreText, justification: String) -> Verdict {
    match score {
        ScoreText::Number(x) => Verdict::Scored {
            score: x.clamp(1.0, 10.0),
            justification,
        },
        ScoreText::Abstain => Verdict::Abstained { justification },
    }
}

fn status(object: &Map<String, Value>) -> Option<Status> {
    let Some(Value::String(text)) = field(object, &[STATUS_KEY]) else {
        return None;
    };
    let normal = text.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    match normal.as_str() {
        "abstain" | "abstained" | "not_applicable" | "n/a" | "no_response" => Some(Status::Abstain),
        "error" => Some(Status::Error),
        _ => None,
    }
}

/// The first non-blank field among `names`, as text; empty when none.
/// Non-string values are kept as JSON text rather than thrown away.
fn text_field(object: &Map<String, Value>, names: &[&str]) -> String {
    for name in names {
        match field(object, &[name]) {
            Some(Value::String(text)) if !text.trim().is_empty() => return text.clone(),
            None | Some(Value::Null | Value::String(_)) => {}
            Some(other) => return other.to_string(),
        }
    }
    String::new()
}

/// The first of `names` present in `object`: exact matches first, then
/// ASCII-case-insensitive ones, since models sometimes write `"Score"`.
fn field<'a>(object: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|name| object.get(*name)).or_else(|| {
        names.iter().find_map(|name| {
            object
                .iter()
                .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        })
    })
}

fn object_text(object: &Map<String, Value>) -> String {
    serde_json::to_string(object).unwrap_or_default()
}

/// A score given as a JSON string: the whole string must be the number or
/// abstention token, since a string is already a delimited value.
fn strict_score(text: &str) -> Option<ScoreText> {
    let text = text.trim();
    if let Some((x, used)) = leading_number(text) {
        return (used == text.len()).then_some(ScoreText::Number(x));
    }
    let used = leading_abstain(text)?;
    (used == text.len()).then_some(ScoreText::Abstain)
}

/// A score after a line label: a number or abstention token at the start,
/// possibly in markdown emphasis and followed by more words
/// (`**7/10** — solid`). Returns the bytes of `value` consumed.
fn lenient_score(value: &str) -> Option<(ScoreText, usize)> {
    let body = value.trim_start_matches(['*', '_', '`', '"', '\'', ' ', '\t']);
    let lead = value.len() - body.len();
    let (score, used) = match leading_number(body) {
        Some((x, used)) => (ScoreText::Number(x), used),
        None => (ScoreText::Abstain, leading_abstain(body)?),
    };
    // `7th` or `70%` is not a 7 or a 70.
    let next = body.get(used..)?.chars().next();
    if next.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '%') {
        return None;
    }
    Some((score, lead + used))
}

/// A finite decimal number at the start of `text`, optionally followed by
/// `/10` or `out of 10`; returns it and the bytes consumed.
fn leading_number(text: &str) -> Option<(f64, usize)> {
    let bytes = text.as_bytes();
    let at = |i: usize| bytes.get(i).copied();
    let digits_from = |mut i: usize| {
        while at(i).is_some_and(|b| b.is_ascii_digit()) {
            i += 1;
        }
        i
    };
    let mut end = usize::from(matches!(at(0), Some(b'+' | b'-')));
    let int_end = digits_from(end);
    let mut digits = int_end - end;
    end = int_end;
    if at(end) == Some(b'.') {
        let frac_end = digits_from(end + 1);
        digits += frac_end - end - 1;
        end = frac_end;
    }
    if digits == 0 {
        return None;
    }
    if matches!(at(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(at(end + 1), Some(b'+' | b'-')));
        let exp_end = digits_from(end + 1 + sign);
        if exp_end > end + 1 + sign {
            end = exp_end;
        }
    }
    let x: f64 = text.get(..end)?.parse().ok()?;
    if !x.is_finite() {
        return None;
    }
    let rest = text.get(end..)?;
    let after_space = rest.trim_start_matches([' ', '\t']);
    let denominator = after_space
        .strip_prefix('/')
        .or_else(|| strip_prefix_ignore_case(after_space, "out of"));
    let Some(denominator) = denominator else {
        return Some((x, end));
    };
    let denominator = denominator.trim_start_matches([' ', '\t']);
    let (scale, scale_used) = leading_number_plain(denominator)?;
    // The prompt asks for a score out of 10; any other scale is rejected
    // rather than rescaled, so a misread is not silently turned into a score.
    if scale != 10.0 {
        return None;
    }
    Some((x, text.len() - denominator.len() + scale_used))
}

/// Digits with an optional fraction, for the denominator of `7/10`.
fn leading_number_plain(text: &str) -> Option<(f64, usize)> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let x: f64 = text.get(..end)?.parse().ok()?;
    Some((x, end))
}

fn leading_abstain(text: &str) -> Option<usize> {
    ABSTAIN_TOKENS
        .iter()
        .find(|token| {
            text.get(..token.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(token))
                && !text
                    .get(token.len()..)
                    .and_then(|rest| rest.chars().next())
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .map(|token| token.len())
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        text.get(prefix.len()..)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// Finding JSON

/// Calls `accept` on each JSON candidate in priority order until it returns
/// a result. Also returns the spans that were still open at the end of the
/// text, for callers that try to repair truncated answers.
fn walk_json<T>(
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
fn parse_json(text: &str) -> Option<Value> {
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
fn strip_trailing_commas(text: &str) -> Option<String> {
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
fn fenced_blocks(text: &str) -> Vec<&str> {
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

fn without_info_string(body: &str) -> &str {
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
enum Bracket {
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

struct Frame {
    bracket: Bracket,
    /// In an object, whether the next string is a key.
    expect_key: bool,
    /// Byte range of the last key read in this object, to tell which field
    /// a string cut off by truncation belongs to.
    key: Option<(usize, usize)>,
}

#[derive(Clone, Copy)]
enum Escape {
    None,
    /// Just after a backslash at this byte.
    Backslash(usize),
    /// Inside `\uXXXX` starting at this byte, with this many digits to go.
    Unicode(usize, u8),
}

struct OpenString {
    /// Where the string's content starts, if it is an object key.
    key_start: Option<usize>,
    escape: Escape,
}

/// A span that was still open at the end of the text, with what is needed
/// to close it artificially.
struct Unclosed {
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

enum Scan {
    Balanced {
        end: usize,
    },
    /// A closing bracket that does not match.
    Broken,
    Unclosed(Unclosed),
}

/// Follows brackets from the opener at `start`, skipping JSON strings.
fn scan_span(text: &str, start: usize) -> Scan {
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
fn repairs(text: &str, span: &Unclosed) -> Vec<String> {
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

enum Found<'a> {
    Span { start: usize, slice: &'a str },
    Unclosed(Unclosed),
}

/// Successive bracket spans of a text, left to right.
///
/// A balanced span is skipped whole unless the caller asks to look inside
/// it; looking inside, or past a span that never closes, costs one rescan
/// from the budget, which bounds the total work.
struct Spans<'a> {
    text: &'a str,
    openers: &'static [u8],
    pos: usize,
    rescans_left: usize,
}

impl<'a> Spans<'a> {
    fn new(text: &'a str, openers: &'static [u8]) -> Self {
        Spans {
            text,
            openers,
            pos: 0,
            rescans_left: MAX_RESCANS,
        }
    }

    fn next(&mut self) -> Option<Found<'a>> {
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
    fn descend(&mut self, start: usize) {
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

// ---------------------------------------------------------------------------
// Line format

#[derive(Clone, Copy, PartialEq, Eq)]
enum Label {
    Score,
    Justification,
}

const LABEL_WORDS: &[(Label, &str)] = &[
    (Label::Score, "score"),
    (Label::Score, "rating"),
    (Label::Justification, "justification"),
    (Label::Justification, "reasoning"),
    (Label::Justification, "rationale"),
    (Label::Justification, "explanation"),
];

struct Line {
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
struct ScoreMatch {
    score: Result<ScoreText, String>,
    start: usize,
    end: usize,
    /// Whether `start..end` is a whole line, label and all.
    whole_line: bool,
}

fn parse_score_lines(text: &str) -> Option<Result<Verdict, Malformed>> {
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

fn split_lines(text: &str, lower: &str) -> Vec<Line> {
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
fn line_label(line: &str) -> Option<(Label, usize)> {
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
fn after_label(rest: &str) -> Option<&str> {
    rest.trim_start_matches(['*', '_', ' ', '\t'])
        .strip_prefix(':')
        .map(|value| value.trim_start_matches(['*', '_', ' ', '\t']))
}

fn anchored_score(text: &str, lines: &[Line]) -> Option<ScoreMatch> {
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
fn midline_score(text: &str, lower: &str, lines: &[Line]) -> Option<ScoreMatch> {
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

// ---------------------------------------------------------------------------
// Abstention markers

fn has_abstain_marker(text: &str) -> bool {
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

// ---------------------------------------------------------------------------
// Text helpers

fn normalise_justification(text: &str) -> String {
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
fn prefix_chars(text: &str, count: usize) -> &str {
    match text.char_indices().nth(count) {
        Some((end, _)) => text.get(..end).unwrap_or(text),
        None => text,
    }
}

/// A short, single-line quotation of `text` for error messages.
fn excerpt(text: &str) -> String {
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

fn quoted(text: &str) -> String {
    format!("\"{}\"", excerpt(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scored(text: &str) -> (f64, String) {
        match parse_single(text) {
            Ok(Verdict::Scored {
                score,
                justification,
            }) => (score, justification),
            other => panic!("expected a score from {text:?}, got {other:?}"),
        }
    }

    fn abstained(text: &str) -> String {
        match parse_single(text) {
            Ok(Verdict::Abstained { justification }) => justification,
            other => panic!("expected an abstention from {text:?}, got {other:?}"),
        }
    }

    fn malformed(text: &str) -> Malformed {
        match parse_single(text) {
            Err(err) => err,
            Ok(verdict) => panic!("expected an error from {text:?}, got {verdict:?}"),
        }
    }

    fn keys(answer: &BatchAnswer) -> Vec<&str> {
        answer.entries.iter().map(|(key, _)| key.as_str()).collect()
    }

    fn score_of(entry: &(String, Result<Verdict, Malformed>)) -> Option<f64> {
        entry.1.as_ref().ok().and_then(Verdict::score)
    }

    // --- JSON: where it is found -------------------------------------------

    #[test]
    fn plain_object() {
        assert_eq!(
            scored(r#"{"score": 7, "justification": "Good fit."}"#),
            (7.0, "Good fit.".to_owned())
        );
    }

    #[test]
    fn fenced_json_block() {
        let text = "Here you go:\n```json\n{\"score\": 6, \"justification\": \"ok\"}\n```\nThanks.";
        assert_eq!(scored(text), (6.0, "ok".to_owned()));
    }

    #[test]
    fn plain_fence_and_inline_fence() {
        assert_eq!(
            scored("```\n{\"score\": 5, \"justification\": \"x\"}\n```").0,
            5.0
        );
        assert_eq!(
            scored("```json {\"score\": 4, \"justification\": \"x\"}```").0,
            4.0
        );
    }

    #[test]
    fn unclosed_fence() {
        assert_eq!(
            scored("```json\n{\"score\": 3, \"justification\": \"x\"}").0,
            3.0
        );
    }

    #[test]
    fn object_surrounded_by_prose() {
        let text =
            "After thinking it over, {\"score\": 8, \"justification\": \"Strong.\"} is my answer.";
        assert_eq!(scored(text), (8.0, "Strong.".to_owned()));
    }

    #[test]
    fn braces_inside_strings_do_not_end_the_span() {
        let text = r#"My answer: {"score": 7, "justification": "uses {curly} braces and a stray } too"} done"#;
        assert_eq!(
            scored(text),
            (7.0, "uses {curly} braces and a stray } too".to_owned())
        );
        let text = r#"Answer: {"score": 7, "justification": "an opening { only"} end"#;
        assert_eq!(scored(text).1, "an opening { only");
    }

    #[test]
    fn escaped_quotes_inside_strings() {
        let text = r#"Result -> {"score": 9, "justification": "he said \"}\" and \\ left"} <- end"#;
        assert_eq!(scored(text), (9.0, r#"he said "}" and \ left"#.to_owned()));
    }

    #[test]
    fn nested_objects_and_arrays() {
        let text = r#"Sure. {"score": 6, "justification": "fine", "details": {"a": {"b": [1, {"c": 2}]}}} Bye."#;
        assert_eq!(scored(text), (6.0, "fine".to_owned()));
    }

    #[test]
    fn wrapper_object_with_one_verdict() {
        let text = r#"{"evaluation": {"score": 4, "justification": "meh"}}"#;
        assert_eq!(scored(text), (4.0, "meh".to_owned()));
    }

    #[test]
    fn array_with_exactly_one_object() {
        assert_eq!(scored(r#"[{"score": 7, "justification": "x"}]"#).0, 7.0);
        assert!(matches!(
            malformed(r#"[{"score": 7}, {"score": 8}]"#),
            Malformed::NoScore { .. }
        ));
    }

    #[test]
    fn invalid_prose_span_is_looked_into() {
        let text = r#"[draft: {"score": 5, "justification": "inner"}]"#;
        assert_eq!(scored(text), (5.0, "inner".to_owned()));
    }

    #[test]
    fn unrelated_json_is_skipped() {
        let text = r#"Context {"foo": 1} and then {"score": 3, "justification": "x"}"#;
        assert_eq!(scored(text).0, 3.0);
    }

    #[test]
    fn trailing_commas_are_tolerated() {
        let text = "{\"score\": 7, \"justification\": \"a, }\",\n}";
        assert_eq!(scored(text), (7.0, "a, }".to_owned()));
    }

    #[test]
    fn usable_candidate_beats_earlier_unusable_one() {
        let text = r#"Format: {"score": "1-10", "justification": "..."}. Answer: {"score": 8, "justification": "ok"}"#;
        assert_eq!(scored(text).0, 8.0);
    }

    #[test]
    fn json_error_is_not_overridden_by_a_score_line() {
        let text = "{\"score\": \"high\", \"justification\": \"x\"}\nSCORE: 7";
        assert!(matches!(malformed(text), Malformed::ScoreNotANumber { .. }));
    }

    // --- JSON: fields --------------------------------------------------------

    #[test]
    fn string_scores() {
        assert_eq!(scored(r#"{"score": "7"}"#).0, 7.0);
        assert_eq!(scored(r#"{"score": " 7.5 "}"#).0, 7.5);
        assert_eq!(scored(r#"{"score": "8/10"}"#).0, 8.0);
        assert_eq!(scored(r#"{"score": "8 / 10"}"#).0, 8.0);
        assert_eq!(scored(r#"{"score": "6 out of 10"}"#).0, 6.0);
        assert_eq!(scored(r#"{"score": "1e0"}"#).0, 1.0);
    }

    #[test]
    fn rating_key_and_key_case() {
        assert_eq!(scored(r#"{"rating": 6, "justification": "x"}"#).0, 6.0);
        assert_eq!(
            scored(r#"{"Score": 6, "Justification": "Cased"}"#),
            (6.0, "Cased".to_owned())
        );
    }

    #[test]
    fn clamping_both_ends() {
        assert_eq!(scored(r#"{"score": 0}"#).0, 1.0);
        assert_eq!(scored(r#"{"score": -3.5}"#).0, 1.0);
        assert_eq!(scored(r#"{"score": 12}"#).0, 10.0);
        assert_eq!(scored(r#"{"score": 10.5}"#).0, 10.0);
        assert_eq!(scored(r#"{"score": "0"}"#).0, 1.0);
        assert_eq!(scored(r#"{"score": "15/10"}"#).0, 10.0);
        assert_eq!(scored(r#"{"score": 1e300}"#).0, 10.0);
    }

    #[test]
    fn null_score_is_abstention() {
        assert_eq!(
            abstained(r#"{"score": null, "justification": "Does not apply."}"#),
            "Does not apply."
        );
    }

    #[test]
    fn abstention_tokens_as_score() {
        for token in [
            "NO_RESPONSE",
            "[NO_RESPONSE]",
            "N/A",
            "n/a",
            "NA",
            "ABSTAIN",
            "abstain",
            "Not Applicable",
            " not applicable ",
        ] {
            let text = format!(r#"{{"score": "{token}", "justification": "irrelevant"}}"#);
            assert_eq!(abstained(&text), "irrelevant", "token {token:?}");
        }
    }

    #[test]
    fn unreadable_scores() {
        for (score, shown) in [
            (r#""high""#, "\"high\""),
            (r#""""#, "\"\""),
            (r#""NaN""#, "\"NaN\""),
            (r#""inf""#, "\"inf\""),
            (r#""1e999""#, "\"1e999\""),
            (r#""7/5""#, "\"7/5\""),
            (r#""7 stars""#, "\"7 stars\""),
            ("true", "true"),
            ("{\"v\": 7}", "{\"v\":7}"),
            ("[7]", "[7]"),
        ] {
            let text = format!(r#"{{"score": {score}, "justification": "x"}}"#);
            let err = malformed(&text);
            assert_eq!(
                err,
                Malformed::ScoreNotANumber {
                    given: shown.to_owned()
                },
                "score {score}"
            );
            assert!(err.to_string().contains(shown));
        }
    }

    #[test]
    fn status_abstain_wins_over_score() {
        assert_eq!(
            abstained(r#"{"score": 7, "status": "abstain", "justification": "n/a here"}"#),
            "n/a here"
        );
        assert_eq!(
            abstained(r#"{"status": "abstained", "justification": "x"}"#),
            "x"
        );
        assert_eq!(
            abstained(r#"{"score": null, "status": "not_applicable"}"#),
            NO_JUSTIFICATION
        );
        assert_eq!(
            abstained(r#"{"status": "Not Applicable", "justification": "y"}"#),
            "y"
        );
    }

    #[test]
    fn other_statuses_are_ignored() {
        assert_eq!(
            scored(r#"{"score": 7, "status": "scored", "justification": "x"}"#).0,
            7.0
        );
        assert_eq!(
            scored(r#"{"score": 7, "status": "weird", "justification": "x"}"#).0,
            7.0
        );
        assert_eq!(scored(r#"{"score": 7, "status": 3}"#).0, 7.0);
    }

    #[test]
    fn status_error_is_reported() {
        let err = malformed(
            r#"{"score": 5, "status": "error", "justification": "Missing data about the option."}"#,
        );
        assert_eq!(
            err,
            Malformed::ModelReportedError {
                message: "Missing data about the option.".to_owned()
            }
        );
        assert!(err.to_string().contains("could not evaluate"));
        let err = malformed(r#"{"status": "error", "error": "tool failed"}"#);
        assert!(err.to_string().contains("tool failed"));
        let err = malformed(r#"{"status": "error"}"#);
        assert!(err.to_string().contains("no reason given"));
    }

    #[test]
    fn missing_score() {
        let err = malformed(r#"{"justification": "I like it"}"#);
        assert!(matches!(err, Malformed::MissingScore { .. }));
        assert!(err.to_string().contains("I like it"));
    }

    #[test]
    fn justification_fallbacks() {
        assert_eq!(scored(r#"{"score": 7, "reasoning": "r"}"#).1, "r");
        assert_eq!(scored(r#"{"score": 7, "rationale": "q"}"#).1, "q");
        assert_eq!(scored(r#"{"score": 7, "explanation": "e"}"#).1, "e");
        assert_eq!(
            scored(r#"{"score": 7, "justification": "  ", "reasoning": "r"}"#).1,
            "r"
        );
        assert_eq!(
            scored(r#"{"score": 7, "justification": "j", "reasoning": "r"}"#).1,
            "j"
        );
        assert_eq!(
            scored(r#"{"score": 7, "justification": ["a", "b"]}"#).1,
            r#"["a","b"]"#
        );
    }

    #[test]
    fn blank_or_missing_justification_gets_default() {
        assert_eq!(scored(r#"{"score": 7}"#).1, NO_JUSTIFICATION);
        assert_eq!(
            scored(r#"{"score": 7, "justification": " \n "}"#).1,
            NO_JUSTIFICATION
        );
        assert_eq!(
            scored(r#"{"score": 7, "justification": null}"#).1,
            NO_JUSTIFICATION
        );
    }

    #[test]
    fn justification_is_trimmed_and_capped() {
        assert_eq!(
            scored(r#"{"score": 7, "justification": "  padded \n"}"#).1,
            "padded"
        );
        let long = "é".repeat(3000);
        let text = format!(r#"{{"score": 7, "justification": "{long}"}}"#);
        let justification = scored(&text).1;
        assert_eq!(justification.chars().count(), MAX_JUSTIFICATION_CHARS);
        assert!(justification.ends_with('…'));
        let exact = "x".repeat(MAX_JUSTIFICATION_CHARS);
        let text = format!(r#"{{"score": 7, "justification": "{exact}"}}"#);
        assert_eq!(scored(&text).1, exact);
    }

    // --- truncated single answers ----------------------------------------------

    #[test]
    fn truncated_inside_justification_keeps_score() {
        let text = r#"{"score": 8, "justification": "The option handles the load wel"#;
        assert_eq!(
            scored(text),
            (8.0, "The option handles the load wel…".to_owned())
        );
    }

    #[test]
    fn truncated_inside_escape_drops_half_escape() {
        assert_eq!(scored(r#"{"score": 8, "justification": "ab\"#).1, "ab…");
        assert_eq!(scored(r#"{"score": 8, "justification": "ab\u00"#).1, "ab…");
    }

    #[test]
    fn truncated_multibyte_text() {
        let text = "```json\n{\"score\": 9, \"justification\": \"日本語のテキスト🎉🎉";
        assert_eq!(scored(text), (9.0, "日本語のテキスト🎉🎉…".to_owned()));
    }

    #[test]
    fn truncated_before_or_inside_score_is_missing_score() {
        for text in [
            r#"{"justification": "long text", "score": 1"#,
            r#"{"justification": "long text", "score":"#,
            r#"{"justification": "long text", "sco"#,
            r#"{"justification": "long te"#,
        ] {
            assert!(
                matches!(malformed(text), Malformed::MissingScore { .. }),
                "{text}"
            );
        }
    }

    #[test]
    fn truncated_after_score_keeps_score() {
        assert_eq!(
            scored(r#"{"score": 7, "justification": "done", "extra"#),
            (7.0, "done".to_owned())
        );
        assert_eq!(scored(r#"{"score": 7, "#).0, 7.0);
    }

    // --- line format -----------------------------------------------------------

    #[test]
    fn score_line_variants() {
        for (text, want) in [
            ("SCORE: 7", 7.0),
            ("SCORE: 7/10", 7.0),
            ("Score: 7.5", 7.5),
            ("score:8", 8.0),
            ("**Score:** 8", 8.0),
            ("**Score**: 8", 8.0),
            ("__Score__: 8", 8.0),
            ("## Score: 8", 8.0),
            ("- Score: 4", 4.0),
            ("Score: **8**", 8.0),
            ("Rating: 6", 6.0),
            ("SCORE: 7/10 — solid", 7.0),
            ("SCORE: 8.", 8.0),
            ("Score : 5", 5.0),
            ("Score: 0", 1.0),
            ("Score: 11", 10.0),
            ("Score: 6 out of 10", 6.0),
        ] {
            assert_eq!(scored(text).0, want, "{text}");
        }
    }

    #[test]
    fn score_line_with_justification_label() {
        for label in [
            "JUSTIFICATION",
            "Reasoning",
            "rationale",
            "**Explanation:**",
        ] {
            let colon = if label.ends_with(":**") { "" } else { ":" };
            let text = format!("SCORE: 7\n{label}{colon} Fits the budget.\nAlso scales.");
            assert_eq!(
                scored(&text),
                (7.0, "Fits the budget.\nAlso scales.".to_owned()),
                "{label}"
            );
        }
    }

    #[test]
    fn justification_block_ends_at_next_label() {
        let text = "Justification: Cheap and simple.\nSCORE: 6\nRating: 9";
        assert_eq!(scored(text), (6.0, "Cheap and simple.".to_owned()));
    }

    #[test]
    fn score_line_without_justification_label() {
        let text = "The option is solid overall.\nSCORE: 8\nIt lacks docs.";
        assert_eq!(
            scored(text),
            (
                8.0,
                "The option is solid overall.\nIt lacks docs.".to_owned()
            )
        );
        assert_eq!(scored("SCORE: 8").1, NO_JUSTIFICATION);
    }

    #[test]
    fn score_line_abstentions() {
        assert_eq!(
            abstained("SCORE: NO_RESPONSE\nJustification: Not relevant here."),
            "Not relevant here."
        );
        assert_eq!(abstained("SCORE: N/A"), NO_JUSTIFICATION);
        assert_eq!(abstained("Score: [NO_RESPONSE]"), NO_JUSTIFICATION);
    }

    #[test]
    fn unreadable_score_line() {
        let err = malformed("SCORE: high\nJustification: great");
        assert_eq!(
            err,
            Malformed::ScoreNotANumber {
                given: "\"high\"".to_owned()
            }
        );
        assert!(matches!(
            malformed("SCORE: 7/5"),
            Malformed::ScoreNotANumber { .. }
        ));
        assert!(matches!(
            malformed("SCORE: 70%"),
            Malformed::ScoreNotANumber { .. }
        ));
        assert!(malformed("Score:").to_string().contains("nothing"));
    }

    #[test]
    fn score_beats_abstention_words() {
        assert_eq!(scored("this is not applicable... SCORE: 9").0, 9.0);
        assert_eq!(
            scored("This criterion is not applicable, I abstain.\nSCORE: 9").0,
            9.0
        );
        assert_eq!(scored("[NO_RESPONSE]\nScore: 4").0, 4.0);
        assert_eq!(scored("status: abstain\nSCORE: 4").0, 4.0);
    }

    #[test]
    fn midline_score() {
        let (score, justification) =
            scored("Good fit overall, I'd give it a score: 8 given the budget.");
        assert_eq!(score, 8.0);
        assert_eq!(
            justification,
            "Good fit overall, I'd give it a given the budget."
        );
        // Labels at line starts win over earlier mid-line mentions.
        assert_eq!(scored("The old score: 3 was wrong.\nScore: 6").0, 6.0);
        // Mid-line labels without a readable value are prose.
        assert!(matches!(
            malformed("The score: unclear at this point."),
            Malformed::NoScore { .. }
        ));
        assert!(matches!(
            malformed("Underrating: 7 is not a label"),
            Malformed::NoScore { .. }
        ));
        assert!(matches!(malformed("Scores: 8"), Malformed::NoScore { .. }));
    }

    #[test]
    fn json_like_text_is_not_a_score_line() {
        assert!(matches!(
            malformed(r#"{"score": NaN, "justification": "x"}"#),
            Malformed::NoScore { .. }
        ));
    }

    // --- markers and failures ----------------------------------------------------

    #[test]
    fn abstention_markers() {
        assert_eq!(abstained("[NO_RESPONSE]"), "[NO_RESPONSE]");
        assert_eq!(
            abstained("  NO_RESPONSE - the criterion is about pricing  "),
            "NO_RESPONSE - the criterion is about pricing"
        );
        assert_eq!(abstained("no_response"), "no_response");
        assert_eq!(abstained("status: abstain"), "status: abstain");
        assert_eq!(
            abstained(r#"{"status": "abstain", "justification": "bad json",}}"#),
            "bad json"
        );
        assert_eq!(
            abstained(r#"{"status": "abstain", "justification": "x" "#),
            "x"
        );
        assert_eq!(
            abstained(r#"{'status': 'abstain' oops"#),
            r#"{'status': 'abstain' oops"#
        );
        assert!(matches!(
            parse_single(r#"garbage "status" : "abstain" garbage"#),
            Ok(Verdict::Abstained { .. })
        ));
    }

    #[test]
    fn abstention_words_in_prose_are_not_markers() {
        for text in [
            "I abstain from scoring this.",
            "This criterion is not applicable to the option.",
            "N/A",
        ] {
            assert!(
                matches!(malformed(text), Malformed::NoScore { .. }),
                "{text}"
            );
        }
    }

    #[test]
    fn empty_and_scoreless_answers() {
        assert_eq!(malformed(""), Malformed::Empty);
        assert_eq!(malformed(" \n\t"), Malformed::Empty);
        let err = malformed("I think this option is quite good.");
        assert_eq!(
            err,
            Malformed::NoScore {
                excerpt: "I think this option is quite good.".to_owned()
            }
        );
        assert!(err.to_string().contains("no score found"));
    }

    #[test]
    fn error_quotes_are_short_and_char_safe() {
        let text = format!("{}\nmore", "日本".repeat(100));
        let Malformed::NoScore { excerpt } = malformed(&text) else {
            panic!("expected NoScore");
        };
        assert_eq!(excerpt.chars().count(), EXCERPT_CHARS + 1);
        assert!(excerpt.ends_with('…'));
        let Malformed::ScoreNotANumber { given } =
            malformed(&format!("Score: {}", "é".repeat(200)))
        else {
            panic!("expected ScoreNotANumber");
        };
        assert!(given.chars().count() <= EXCERPT_CHARS + 3);
        assert_eq!(super::excerpt("a\nb"), "a b");
    }

    #[test]
    fn verdict_accessors() {
        let verdict = Verdict::Scored {
            score: 3.0,
            justification: "j".to_owned(),
        };
        assert_eq!(verdict.score(), Some(3.0));
        assert_eq!(verdict.justification(), "j");
        let verdict = Verdict::Abstained {
            justification: "k".to_owned(),
        };
        assert_eq!(verdict.score(), None);
        assert_eq!(verdict.justification(), "k");
    }

    // --- batch --------------------------------------------------------------------

    const BATCH: &str = r#"[
        {"option": "o1", "score": 7, "justification": "good"},
        {"option": "o2", "score": null, "justification": "n/a"},
        {"option": "o3", "score": "high", "justification": "??"}
    ]"#;

    #[test]
    fn batch_array() {
        let answer = parse_batch(BATCH).expect("batch");
        assert_eq!(keys(&answer), ["o1", "o2", "o3"]);
        assert_eq!(
            answer.entries.first().map(|entry| entry.1.clone()),
            Some(Ok(Verdict::Scored {
                score: 7.0,
                justification: "good".to_owned()
            }))
        );
        assert!(matches!(
            answer.entries.get(1),
            Some((_, Ok(Verdict::Abstained { .. })))
        ));
        assert!(matches!(
            answer.entries.get(2),
            Some((_, Err(Malformed::ScoreNotANumber { .. })))
        ));
    }

    #[test]
    fn batch_fenced_and_in_prose() {
        let fenced = format!("Here:\n```json\n{BATCH}\n```\n");
        assert_eq!(
            keys(&parse_batch(&fenced).expect("fenced")),
            ["o1", "o2", "o3"]
        );
        let prose = format!("I evaluated all of them {{carefully}}: {BATCH} — hope it helps [1].");
        assert_eq!(
            keys(&parse_batch(&prose).expect("prose")),
            ["o1", "o2", "o3"]
        );
    }

    #[test]
    fn batch_wrapped_arrays() {
        for wrapper in ["evaluations", "results", "scores"] {
            let text = format!(r#"{{"{wrapper}": {BATCH}, "note": "done", "tags": ["a"]}}"#);
            assert_eq!(
                keys(&parse_batch(&text).expect("wrapped")),
                ["o1", "o2", "o3"]
            );
        }
    }

    #[test]
    fn entry_with_array_field_is_not_a_wrapper() {
        let text = r#"{"option": "o1", "score": 5, "evidence": [{"score": 1, "option": "x"}]}"#;
        let answer = parse_batch(text).expect("batch");
        assert_eq!(keys(&answer), ["o1"]);
        assert_eq!(answer.entries.first().and_then(score_of), Some(5.0));
    }

    #[test]
    fn batch_missing_keys_and_non_objects() {
        let text = r#"[{"option": "o1", "score": 3}, {"score": 4}, "o3: 5", {"option": " o4 ", "score": 6}, {"option": 5, "score": 2}]"#;
        let answer = parse_batch(text).expect("batch");
        assert_eq!(keys(&answer), ["o1", "", "", "o4", "5"]);
        assert!(matches!(
            answer.entries.get(1),
            Some((_, Err(Malformed::MissingOptionKey { .. })))
        ));
        assert!(matches!(
            answer.entries.get(2),
            Some((_, Err(Malformed::NotAnObject { .. })))
        ));
        assert_eq!(answer.entries.get(3).and_then(score_of), Some(6.0));
    }

    #[test]
    fn batch_duplicate_keys_kept_in_order() {
        let text = r#"[{"option": "o1", "score": 3}, {"option": "o1", "score": 9}]"#;
        let answer = parse_batch(text).expect("batch");
        assert_eq!(keys(&answer), ["o1", "o1"]);
        let scores: Vec<_> = answer.entries.iter().map(score_of).collect();
        assert_eq!(scores, [Some(3.0), Some(9.0)]);
    }

    #[test]
    fn batch_entry_statuses() {
        let text = r#"[{"option": "o1", "status": "abstain", "score": 4}, {"option": "o2", "status": "error", "justification": "no data"}, {"option": "o3", "rating": "8/10"}]"#;
        let answer = parse_batch(text).expect("batch");
        assert!(matches!(
            answer.entries.first(),
            Some((_, Ok(Verdict::Abstained { .. })))
        ));
        assert!(matches!(
            answer.entries.get(1),
            Some((_, Err(Malformed::ModelReportedError { .. })))
        ));
        assert_eq!(answer.entries.get(2).and_then(score_of), Some(8.0));
    }

    #[test]
    fn batch_separate_objects_in_prose() {
        let text = "For o1: {\"option\": \"o1\", \"score\": 4, \"justification\": \"a {b}\"}\nFor o2: {\"option\": \"o2\", \"score\": 6}\nAnd {\"note\": \"ignored\"}.";
        let answer = parse_batch(text).expect("batch");
        assert_eq!(keys(&answer), ["o1", "o2"]);
        assert_eq!(
            answer.entries.first().map(|e| e.1.clone()),
            Some(Ok(Verdict::Scored {
                score: 4.0,
                justification: "a {b}".to_owned()
            }))
        );
    }

    #[test]
    fn batch_single_object_with_option_key() {
        let answer = parse_batch(r#"{"option": "o1", "score": 2}"#).expect("batch");
        assert_eq!(keys(&answer), ["o1"]);
    }

    #[test]
    fn batch_with_invalid_entry_keeps_the_others() {
        let text = r#"[{"option": "o1", "score": 3}, {"option": "o2", "score": NaN}, {"option": "o3", "score": 5}]"#;
        let answer = parse_batch(text).expect("batch");
        assert_eq!(keys(&answer), ["o1", "o3"]);
    }

    #[test]
    fn batch_truncated_mid_array() {
        let text = r#"[{"option": "o1", "score": 7, "justification": "a"}, {"option": "o2", "score": 5, "justification": "b"}, {"option": "o3", "sco"#;
        let answer = parse_batch(text).expect("batch");
        assert_eq!(keys(&answer), ["o1", "o2", "o3"]);
        assert!(matches!(
            answer.entries.get(2),
            Some((_, Err(Malformed::MissingScore { .. })))
        ));

        let text = r#"{"evaluations": [{"option": "o1", "score": 7}, {"option": "o2", "score": 5, "justification": "half a sent"#;
        let answer = parse_batch(text).expect("batch");
        assert_eq!(keys(&answer), ["o1", "o2"]);
        assert_eq!(
            answer.entries.get(1).map(|e| e.1.clone()),
            Some(Ok(Verdict::Scored {
                score: 5.0,
                justification: "half a sent…".to_owned()
            }))
        );

        // Cut inside the key: the partial object cannot be attributed.
        let text = r#"[{"option": "o1", "score": 7}, {"option": "o"#;
        assert_eq!(keys(&parse_batch(text).expect("batch")), ["o1"]);

        // Cut inside a score: never a wrong number.
        let text = r#"[{"option": "o1", "score": 7}, {"option": "o2", "score": 1"#;
        let answer = parse_batch(text).expect("batch");
        assert!(matches!(
            answer.entries.get(1),
            Some((_, Err(Malformed::MissingScore { .. })))
        ));
    }

    #[test]
    fn batch_truncated_multibyte() {
        let text = "```json\n[{\"option\": \"o1\", \"score\": 6, \"justification\": \"très bien — 良い\"}, {\"option\": \"o2\", \"score\": 3, \"justification\": \"😀😀 ça";
        let answer = parse_batch(text).expect("batch");
        assert_eq!(keys(&answer), ["o1", "o2"]);
        assert_eq!(
            answer.entries.get(1).map(|e| e.1.clone()),
            Some(Ok(Verdict::Scored {
                score: 3.0,
                justification: "😀😀 ça…".to_owned()
            }))
        );
    }

    #[test]
    fn batch_failures() {
        assert_eq!(parse_batch(""), Err(Malformed::Empty));
        for text in [
            "[]",
            "[1, 2, 3]",
            "[{}]",
            "SCORE: 7\nJustification: x",
            "{\"score\": 7}",
            "just prose",
        ] {
            assert!(
                matches!(parse_batch(text), Err(Malformed::NoBatchArray { .. })),
                "{text}"
            );
        }
        let err = parse_batch("nothing here").expect_err("no array");
        assert!(err.to_string().contains("nothing here"));
    }

    // --- pathological input --------------------------------------------------------

    #[test]
    fn pathological_inputs_finish() {
        let inputs = [
            "{".repeat(10_000),
            "[".repeat(10_000),
            "}".repeat(10_000),
            "\"".repeat(10_000),
            "{\"a\":[".repeat(3_000),
            "[{]}".repeat(3_000),
            "{}".repeat(10_000),
            "```".repeat(3_000),
            "score: ".repeat(3_000),
            "a score: x ".repeat(2_000),
            format!("{}{}", "{\"justification\": \"".repeat(2_000), "x"),
            format!("{}{{\"score\": 7}}", "{ ".repeat(10_000)),
        ];
        for input in &inputs {
            let _ = parse_single(input);
            let _ = parse_batch(input);
        }
        // The scan budget does not hide an answer after many skipped spans.
        let text = format!("{} {{\"score\": 7}}", "{x} ".repeat(1_000));
        assert_eq!(scored(&text).0, 7.0);
    }

    #[test]
    fn helper_edge_cases() {
        assert_eq!(strip_trailing_commas("[1, 2]"), None);
        assert_eq!(
            strip_trailing_commas("[1, \"a,]\",  ]").as_deref(),
            Some("[1, \"a,]\"  ]")
        );
        assert_eq!(leading_number("7/10x"), Some((7.0, 4)));
        assert_eq!(leading_number("-"), None);
        assert_eq!(leading_number("."), None);
        assert_eq!(leading_number("5e"), Some((5.0, 1)));
        assert_eq!(leading_abstain("nah"), None);
        assert_eq!(leading_abstain("N/A."), Some(3));
        assert_eq!(normalise_justification(""), NO_JUSTIFICATION);
    }

    // --- properties ----------------------------------------------------------------

    fn noisy_text() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                3 => any::<char>(),
                2 => prop::sample::select(vec!['{', '}', '[', ']', '"', '\\', ':', ',', '\n', ' ']),
                1 => prop::sample::select(vec!['7', 'é', '日', '🎉']),
            ],
            0..300,
        )
        .prop_map(String::from_iter)
    }

    fn snippets() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                "{",
                "}",
                "[",
                "]",
                "\"",
                "\\\"",
                "\\",
                ",",
                ":",
                "\n",
                "```",
                "```json\n",
                "\"score\"",
                "\"score\": ",
                "7",
                "12",
                "null",
                "\"N/A\"",
                "\"option\": \"o1\"",
                "\"justification\": \"",
                "\"status\": \"abstain\"",
                "\"status\": \"error\"",
                "SCORE: ",
                "Justification: ",
                "NO_RESPONSE",
                "é",
                "日本",
                "\\u00",
                "NaN",
                " ",
            ]),
            0..60,
        )
        .prop_map(|parts| parts.concat())
    }

    fn check_verdict(verdict: &Verdict) -> Result<(), TestCaseError> {
        if let Verdict::Scored { score, .. } = verdict {
            prop_assert!(
                score.is_finite() && (1.0..=10.0).contains(score),
                "score {score}"
            );
        }
        let justification = verdict.justification();
        prop_assert!(!justification.is_empty());
        prop_assert!(justification.chars().count() <= MAX_JUSTIFICATION_CHARS);
        Ok(())
    }

    fn check_all(text: &str) -> Result<(), TestCaseError> {
        if let Ok(verdict) = parse_single(text) {
            check_verdict(&verdict)?;
        }
        if let Ok(answer) = parse_batch(text) {
            prop_assert!(!answer.entries.is_empty());
            for (_, entry) in &answer.entries {
                if let Ok(verdict) = entry {
                    check_verdict(verdict)?;
                }
            }
        }
        Ok(())
    }

    fn model_json(score: f64, justification: &str, status: bool) -> String {
        let mut object = serde_json::json!({ "score": score, "justification": justification });
        if status && let Value::Object(map) = &mut object {
            map.insert("status".to_owned(), Value::from("scored"));
        }
        object.to_string()
    }

    /// serde_json's default float parsing may be one ulp off the printed
    /// value, which is not what these properties are about.
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    fn score_strategy() -> impl Strategy<Value = f64> {
        prop_oneof![(1u8..=10).prop_map(f64::from), 1.0f64..=10.0]
    }

    fn assert_round_trip(text: &str, score: f64, justification: &str) -> Result<(), TestCaseError> {
        match parse_single(text) {
            Ok(Verdict::Scored {
                score: got,
                justification: got_justification,
            }) => {
                prop_assert!(close(got, score), "{got} vs {score}");
                prop_assert_eq!(got_justification, normalise_justification(justification));
            }
            other => prop_assert!(false, "expected a score from {:?}, got {:?}", text, other),
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_strings(text in any::<String>()) {
            check_all(&text)?;
        }

        #[test]
        fn never_panics_on_bracket_noise(text in noisy_text()) {
            check_all(&text)?;
        }

        #[test]
        fn never_panics_on_json_fragments(text in snippets()) {
            check_all(&text)?;
        }

        #[test]
        fn never_panics_on_truncated_answers(
            score in score_strategy(),
            justification in any::<String>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let full = format!("Answer:\n```json\n{}\n```", model_json(score, &justification, true));
            let boundaries: Vec<usize> = full.char_indices().map(|(i, _)| i).collect();
            let end = boundaries.get(cut.index(boundaries.len())).copied().unwrap_or(0);
            check_all(full.get(..end).unwrap_or_default())?;
        }

        #[test]
        fn round_trip_plain(
            score in score_strategy(),
            justification in any::<String>(),
            status in any::<bool>(),
        ) {
            assert_round_trip(&model_json(score, &justification, status), score, &justification)?;
        }

        #[test]
        fn round_trip_in_prose(
            score in score_strategy(),
            justification in any::<String>(),
            before in "[^{}\\[\\]]{0,60}",
            after in "[^{}\\[\\]]{0,60}",
        ) {
            let text = format!("{before}{}{after}", model_json(score, &justification, false));
            assert_round_trip(&text, score, &justification)?;
        }

        #[test]
        fn round_trip_fenced(
            score in score_strategy(),
            justification in any::<String>(),
            before in "[^{}\\[\\]]{0,60}",
            after in "[^{}\\[\\]]{0,60}",
            tag in prop::sample::select(vec!["json", "JSON", ""]),
        ) {
            let json = model_json(score, &justification, false);
            let text = format!("{before}\n```{tag}\n{json}\n```\n{after}");
            assert_round_trip(&text, score, &justification)?;
        }

        #[test]
        fn batch_round_trip_and_truncation(
            items in prop::collection::vec((score_strategy(), any::<String>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut text = String::from("[");
            let mut object_ends = Vec::new();
            for (index, (score, justification)) in items.iter().enumerate() {
                if index > 0 {
                    text.push_str(", ");
                }
                text.push_str(&format!(
                    "{{\"option\": \"o{index}\", \"score\": {}, \"justification\": {}}}",
                    Value::from(*score),
                    Value::from(justification.as_str()),
                ));
                object_ends.push(text.len());
            }
            text.push(']');

            let answer = parse_batch(&text).map_err(|err| TestCaseError::fail(err.to_string()))?;
            prop_assert_eq!(answer.entries.len(), items.len());
            for (index, ((key, entry), (score, justification))) in answer.entries.iter().zip(&items).enumerate() {
                prop_assert_eq!(key, &format!("o{index}"));
                match entry {
                    Ok(Verdict::Scored { score: got, justification: got_justification }) => {
                        prop_assert!(close(*got, *score), "{got} vs {score}");
                        prop_assert_eq!(got_justification, &normalise_justification(justification));
                    }
                    other => prop_assert!(false, "unexpected entry {:?}", other),
                }
            }

            let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            let end = boundaries.get(cut.index(boundaries.len())).copied().unwrap_or(0);
            let truncated = text.get(..end).unwrap_or_default();
            let complete = object_ends.iter().filter(|&&object_end| object_end <= end).count();
            match parse_batch(truncated) {
                Ok(answer) => {
                    prop_assert!(answer.entries.len() >= complete);
                    prop_assert!(answer.entries.len() <= complete + 1);
                    for (index, ((key, entry), (score, _))) in answer.entries.iter().zip(&items).enumerate() {
                        prop_assert_eq!(key, &format!("o{index}"));
                        match entry {
                            Ok(Verdict::Scored { score: got, .. }) => {
                                prop_assert!(close(*got, *score), "{got} vs {score}");
                            }
                            Err(Malformed::MissingScore { .. }) => prop_assert_eq!(index, complete),
                            other => prop_assert!(false, "unexpected entry {:?}", other),
                        }
                    }
                }
                Err(_) => prop_assert_eq!(complete, 0),
            }
        }
    }
}
