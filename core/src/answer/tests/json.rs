//! Where JSON is found in an answer.

use super::*;

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
    let text =
        r#"My answer: {"score": 7, "justification": "uses {curly} braces and a stray } too"} done"#;
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
