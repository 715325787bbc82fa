//! A verdict's fields.

use super::*;

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
