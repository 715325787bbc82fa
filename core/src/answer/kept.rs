//! The text an answer is kept as in the answer cache: the verdicts it gave, re-written in the
//! prompt's own JSON format, rather than whatever the model wrote around them.
//!
//! A model's answer can be megabytes (prose, repeated objects, a justification far past the
//! limit); what the evaluation keeps of it is a score and a justification of at most
//! [`MAX_JUSTIFICATION_CHARS`](super::MAX_JUSTIFICATION_CHARS) characters per option.
//! Caching that instead of the raw text bounds every cache entry by the batch size, and a
//! replay parses back to the very same verdicts.

use serde_json::{Value, json};

use super::Verdict;

/// One verdict as its JSON object, with the batch key when there is one.
fn object(key: Option<&str>, verdict: &Verdict) -> Value {
    let mut object = match verdict {
        Verdict::Scored {
            score,
            justification,
        } => json!({"score": score, "justification": justification}),
        Verdict::Abstained { justification } => {
            json!({"status": "abstain", "score": null, "justification": justification})
        }
    };
    if let (Some(key), Some(map)) = (key, object.as_object_mut()) {
        // The key first, as the prompt shows it.
        let mut keyed = serde_json::Map::new();
        keyed.insert("option".to_owned(), Value::from(key));
        keyed.append(map);
        return Value::Object(keyed);
    }
    object
}

/// The text of a single answer that said `verdict`.
pub fn single(verdict: &Verdict) -> String {
    object(None, verdict).to_string()
}

/// The text of a batch answer that said each `(key, verdict)`.
pub fn batch<'a>(entries: impl IntoIterator<Item = (&'a str, &'a Verdict)>) -> String {
    let entries: Vec<Value> = entries
        .into_iter()
        .map(|(key, verdict)| object(Some(key), verdict))
        .collect();
    Value::Array(entries).to_string()
}

#[cfg(test)]
mod tests {
    use super::super::{MAX_JUSTIFICATION_CHARS, parse_batch, parse_single};
    use super::*;

    fn scored(score: f64, justification: &str) -> Verdict {
        Verdict::Scored {
            score,
            justification: justification.to_owned(),
        }
    }

    #[test]
    fn kept_answers_parse_back_to_the_same_verdicts() {
        let long = "é\"\\\n{}".repeat(MAX_JUSTIFICATION_CHARS);
        let from_model = parse_single(&format!(
            "Sure! {{\"score\": 7.5, \"justification\": {}}} and more",
            Value::from(long)
        ))
        .expect("parses");
        for verdict in [
            scored(7.5, "fine"),
            Verdict::Abstained {
                justification: "does not apply".to_owned(),
            },
            from_model,
        ] {
            assert_eq!(parse_single(&single(&verdict)), Ok(verdict.clone()));
        }

        let verdicts = [
            scored(3.0, "dear"),
            Verdict::Abstained {
                justification: "n/a here".to_owned(),
            },
        ];
        let text = batch([("opt1", &verdicts[0]), ("opt2", &verdicts[1])]);
        let parsed = parse_batch(&text).expect("parses");
        let back: Vec<(String, Verdict)> = parsed
            .entries
            .into_iter()
            .map(|(key, verdict)| (key, verdict.expect("usable")))
            .collect();
        assert_eq!(
            back,
            [
                ("opt1".to_owned(), verdicts[0].clone()),
                ("opt2".to_owned(), verdicts[1].clone())
            ]
        );
    }
}
