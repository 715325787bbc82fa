//! The answer parser's tests, by what they exercise; here, what they share.

mod batch;
mod fields;
mod json;
mod lines;
mod markers;
mod pathological;
mod properties;
mod truncated;

pub(super) use super::*;

pub(super) fn scored(text: &str) -> (f64, String) {
    match parse_single(text) {
        Ok(Verdict::Scored {
            score,
            justification,
        }) => (score, justification),
        other => panic!("expected a score from {text:?}, got {other:?}"),
    }
}

pub(super) fn abstained(text: &str) -> String {
    match parse_single(text) {
        Ok(Verdict::Abstained { justification }) => justification,
        other => panic!("expected an abstention from {text:?}, got {other:?}"),
    }
}

pub(super) fn malformed(text: &str) -> Malformed {
    match parse_single(text) {
        Err(err) => err,
        Ok(verdict) => panic!("expected an error from {text:?}, got {verdict:?}"),
    }
}

pub(super) fn keys(answer: &BatchAnswer) -> Vec<&str> {
    answer.entries.iter().map(|(key, _)| key.as_str()).collect()
}

pub(super) fn score_of(entry: &(String, Result<Verdict, Malformed>)) -> Option<f64> {
    entry.1.as_ref().ok().and_then(Verdict::score)
}
