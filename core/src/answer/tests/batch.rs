//! Batch answers.

use super::*;

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
