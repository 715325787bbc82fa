//! The fast path: answers in exactly the shape the prompt asked for.
//!
//! Nearly every answer from a model with structured output is the requested JSON and nothing
//! else. Reading that shape straight into typed, borrowed fields skips building a
//! `serde_json::Value` tree (a map and a string per field) and the tolerant search the general
//! parser does. Anything else (an unknown or misspelt key, a duplicate key, a score that is a
//! string, a status other than `scored` or `abstain`, prose around the JSON, a bare array)
//! returns `None`, and the general parser decides. So this path never changes a result; it
//! only reaches the same one sooner, which the tests beside it check against the general
//! parser.

use std::borrow::Cow;

use serde::Deserialize;

use super::{BatchAnswer, Malformed, Verdict, normalise_justification};

/// `{"score": …, "justification": …, "status": …}`, nothing more, plus `option` in a batch.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictVerdict<'a> {
    /// A batch entry's key; a single answer that carries one is read as the general parser
    /// reads it, ignoring the key.
    #[serde(default, borrow)]
    option: Option<Cow<'a, str>>,
    /// Required, unlike a plain `Option` field: a missing score is an error, a `null` one an
    /// abstention.
    #[serde(deserialize_with = "Option::deserialize")]
    score: Option<f64>,
    #[serde(borrow)]
    justification: Cow<'a, str>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
}

/// `{"evaluations": [entry, …]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictBatch<'a> {
    #[serde(borrow)]
    evaluations: Vec<StrictVerdict<'a>>,
}

/// The verdict of a single answer in the requested shape, or `None` to use the general parser.
pub(super) fn single(text: &str) -> Option<Verdict> {
    let answer: StrictVerdict<'_> = serde_json::from_str(text).ok()?;
    verdict(
        answer.score,
        &answer.justification,
        answer.status.as_deref(),
    )
}

/// The entries of a batch answer in the requested shape, or `None` to use the general parser.
pub(super) fn batch(text: &str) -> Option<BatchAnswer> {
    let answer: StrictBatch<'_> = serde_json::from_str(text).ok()?;
    if answer.evaluations.is_empty() {
        return None;
    }
    let entries = answer
        .evaluations
        .iter()
        .map(|entry| {
            let key = entry.option.as_deref()?.trim();
            let verdict = verdict(entry.score, &entry.justification, entry.status.as_deref())?;
            (!key.is_empty()).then(|| (key.to_owned(), Ok::<_, Malformed>(verdict)))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(BatchAnswer { entries })
}

/// The verdict the general parser gives for these fields, for the two statuses the prompt
/// allows (and none); `None` for any other status.
fn verdict(score: Option<f64>, justification: &str, status: Option<&str>) -> Option<Verdict> {
    let justification = normalise_justification(justification);
    match (status, score) {
        (Some("abstain"), _) | (None | Some("scored"), None) => {
            Some(Verdict::Abstained { justification })
        }
        (None | Some("scored"), Some(score)) if score.is_finite() => Some(Verdict::Scored {
            score: score.clamp(1.0, 10.0),
            justification,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::super::{general_batch, general_single};
    use super::*;

    /// Answers in (and just outside) the requested shapes.
    fn single_cases() -> Vec<String> {
        [
            json!({"score": 7, "justification": "solid", "status": "scored"}),
            json!({"score": 7.5, "justification": "  padded  "}),
            json!({"score": 14, "justification": "too high", "status": "scored"}),
            json!({"score": -3, "justification": "too low"}),
            json!({"score": null, "justification": "n/a", "status": "abstain"}),
            json!({"score": 6, "justification": "said abstain", "status": "abstain"}),
            json!({"score": null, "justification": ""}),
            json!({"score": 5, "justification": "x", "status": "error"}),
            json!({"score": 5, "justification": "x", "status": "Abstain"}),
            json!({"score": "5", "justification": "string score"}),
            json!({"justification": "no score", "status": "scored"}),
            json!({"score": 5}),
            json!({"Score": 5, "justification": "case"}),
            json!({"score": 5, "justification": "extra", "confidence": 0.9}),
            json!({"score": 5, "justification": null}),
            json!({"score": 5, "justification": "x", "status": null}),
        ]
        .iter()
        .map(|v| v.to_string())
        .chain([
            r#"{"score": 5, "score": 6, "justification": "duplicate"}"#.to_owned(),
            r#"{"score": 1e400, "justification": "overflow"}"#.to_owned(),
            r#"{"score": 8, "justification": "escaped \"quote\" and \u00e9"}"#.to_owned(),
            "Sure! {\"score\": 7, \"justification\": \"prose around\"}".to_owned(),
        ])
        .collect()
    }

    fn batch_cases() -> Vec<String> {
        let entry = |option: &str, score: serde_json::Value, status: &str| json!({"option": option, "score": score, "justification": "why", "status": status});
        [
            json!({"evaluations": [entry("o1", json!(7), "scored"), entry("o2", json!(null), "abstain")]}),
            json!({"evaluations": [entry(" o1 ", json!(11), "scored")]}),
            json!({"evaluations": [entry("", json!(5), "scored")]}),
            json!({"evaluations": [entry("o1", json!(5), "error")]}),
            json!({"evaluations": [entry("o1", json!("5"), "scored")]}),
            json!({"evaluations": []}),
            json!({"evaluations": [entry("o1", json!(5), "scored")], "note": "extra"}),
            json!([entry("o1", json!(5), "scored")]),
            json!({"evaluations": [{"option": "o1", "justification": "no score"}]}),
            json!({"evaluations": [{"option": 1, "score": 5, "justification": "numeric key"}]}),
            json!({"evaluations": [entry("o1", json!(5), "scored"), {"option": "o2", "score": 4, "justification": "ok", "why": 1}]}),
        ]
        .iter()
        .map(|v| v.to_string())
        .collect()
    }

    #[test]
    fn single_agrees_with_the_general_parser_where_it_answers() {
        let mut answered = 0;
        for text in single_cases() {
            if let Some(fast) = single(&text) {
                answered += 1;
                assert_eq!(Ok(fast), general_single(&text), "{text}");
            }
        }
        // The requested shapes themselves must take the fast path.
        assert!(answered >= 7, "only {answered} cases took the fast path");
    }

    #[test]
    fn batch_agrees_with_the_general_parser_where_it_answers() {
        let mut answered = 0;
        for text in batch_cases() {
            if let Some(fast) = batch(&text) {
                answered += 1;
                assert_eq!(Ok(fast), general_batch(&text), "{text}");
            }
        }
        assert!(answered >= 2, "only {answered} cases took the fast path");
    }

    #[test]
    fn declines_what_it_does_not_read_exactly() {
        for text in [
            r#"{"score": "5", "justification": "x"}"#,
            r#"{"score": 5, "justification": "x", "status": "error"}"#,
            r#"{"justification": "x"}"#,
            r#"{"score": 5, "justification": "x", "extra": 1}"#,
            "```json\n{\"score\": 5, \"justification\": \"x\"}\n```",
        ] {
            assert!(single(text).is_none(), "{text}");
        }
        assert!(batch(r#"{"evaluations": []}"#).is_none());
        assert!(batch(r#"[{"option": "o1", "score": 5, "justification": "x"}]"#).is_none());
    }

    proptest! {
        #[test]
        fn agrees_on_generated_answers(
            score in prop::option::of(prop_oneof![-5.0f64..15.0, (1i32..=10).prop_map(f64::from)]),
            justification in any::<String>(),
            status in prop::option::of(prop::sample::select(vec!["scored", "abstain", "error", "other"])),
            key in "[ a-z0-9]{0,4}",
        ) {
            let mut object = json!({"score": score, "justification": justification});
            if let Some(status) = status {
                object["status"] = json!(status);
            }
            let text = object.to_string();
            if let Some(fast) = single(&text) {
                prop_assert_eq!(Ok(fast), general_single(&text));
            }
            object["option"] = json!(key);
            let text = json!({"evaluations": [object]}).to_string();
            if let Some(fast) = batch(&text) {
                prop_assert_eq!(Ok(fast), general_batch(&text));
            }
        }
    }
}
