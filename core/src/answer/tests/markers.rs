//! Abstention markers and failures.

use super::*;

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
    let Malformed::ScoreNotANumber { given } = malformed(&format!("Score: {}", "é".repeat(200)))
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
