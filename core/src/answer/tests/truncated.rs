//! Single answers cut off by the token limit.

use super::*;

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
