//! Hostile shapes finish quickly.

use super::*;

#[test]
fn pathological_inputs_finish() {
    let inputs = [
        "{".repeat(10_000),
        "[".repeat(10_000),
        "}".repeat(10_000),
        "\"".repeat(10_000),
        "{\"a\":[".repeat(3_000),
        "[{]}".repeat(3_000),
        "{}".repeat(10_000),
        "```".repeat(3_000),
        "score: ".repeat(3_000),
        "a score: x ".repeat(2_000),
        format!("{}{}", "{\"justification\": \"".repeat(2_000), "x"),
        format!("{}{{\"score\": 7}}", "{ ".repeat(10_000)),
    ];
    for input in &inputs {
        let _ = parse_single(input);
        let _ = parse_batch(input);
    }
    // The scan budget does not hide an answer after many skipped spans.
    let text = format!("{} {{\"score\": 7}}", "{x} ".repeat(1_000));
    assert_eq!(scored(&text).0, 7.0);
}

#[test]
fn helper_edge_cases() {
    assert_eq!(strip_trailing_commas("[1, 2]"), None);
    assert_eq!(
        strip_trailing_commas("[1, \"a,]\",  ]").as_deref(),
        Some("[1, \"a,]\"  ]")
    );
    assert_eq!(leading_number("7/10x"), Some((7.0, 4)));
    assert_eq!(leading_number("-"), None);
    assert_eq!(leading_number("."), None);
    assert_eq!(leading_number("5e"), Some((5.0, 1)));
    assert_eq!(leading_abstain("nah"), None);
    assert_eq!(leading_abstain("N/A."), Some(3));
    assert_eq!(normalise_justification(""), NO_JUSTIFICATION);
}
