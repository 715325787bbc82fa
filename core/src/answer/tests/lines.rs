//! The line format.

use super::*;

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
