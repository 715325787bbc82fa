//! Reading a verdict's fields: status, score (strict and lenient) and justification.

use super::*;

#[derive(Clone, Copy)]
pub(super) enum Status {
    Abstain,
    Error,
}

/// The number or abstention a score string stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum ScoreText {
    /// Always finite.
    Number(f64),
    Abstain,
}

pub(super) fn read_verdict(object: &Map<String, Value>) -> Result<Verdict, Malformed> {
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

pub(super) fn verdict(score: ScoreText, justification: String) -> Verdict {
    match score {
        ScoreText::Number(x) => Verdict::Scored {
            score: x.clamp(1.0, 10.0),
            justification,
        },
        ScoreText::Abstain => Verdict::Abstained { justification },
    }
}

pub(super) fn status(object: &Map<String, Value>) -> Option<Status> {
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
pub(super) fn text_field(object: &Map<String, Value>, names: &[&str]) -> String {
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
pub(super) fn field<'a>(object: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|name| object.get(*name)).or_else(|| {
        names.iter().find_map(|name| {
            object
                .iter()
                .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        })
    })
}

pub(super) fn object_text(object: &Map<String, Value>) -> String {
    serde_json::to_string(object).unwrap_or_default()
}

/// A score given as a JSON string: the whole string must be the number or
/// abstention token, since a string is already a delimited value.
pub(super) fn strict_score(text: &str) -> Option<ScoreText> {
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
pub(super) fn lenient_score(value: &str) -> Option<(ScoreText, usize)> {
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
pub(super) fn leading_number(text: &str) -> Option<(f64, usize)> {
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
pub(super) fn leading_number_plain(text: &str) -> Option<(f64, usize)> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let x: f64 = text.get(..end)?.parse().ok()?;
    Some((x, end))
}

pub(super) fn leading_abstain(text: &str) -> Option<usize> {
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

pub(super) fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        text.get(prefix.len()..)
    } else {
        None
    }
}
