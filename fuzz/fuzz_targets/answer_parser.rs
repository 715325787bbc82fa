//! The LLM answer parser: text straight from a model, the least trusted input the host reads.
//!
//! Invariants beyond "never panics": a score is finite and within 1–10, a justification is
//! trimmed, non-empty and at most `MAX_JUSTIFICATION_CHARS` characters, an error has a
//! message, and the typed fast path never changes a result (same verdicts as the general
//! parser, for single and batched answers).
#![no_main]

use decision_matrix_core::answer::{self, MAX_JUSTIFICATION_CHARS, Malformed, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let single = answer::parse_single(text);
    check(&single);
    assert_eq!(
        single,
        answer::general_single(text),
        "fast path changed a single answer"
    );

    let batch = answer::parse_batch(text);
    match &batch {
        Ok(batch) => {
            for (option, verdict) in &batch.entries {
                assert_eq!(option.trim(), option, "option key not trimmed");
                check(verdict);
            }
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
    assert_eq!(
        batch,
        answer::general_batch(text),
        "fast path changed a batch answer"
    );
});

fn check(verdict: &Result<Verdict, Malformed>) {
    match verdict {
        Ok(verdict) => {
            if let Some(score) = verdict.score() {
                assert!((1.0..=10.0).contains(&score), "score {score} out of 1-10");
            }
            let justification = verdict.justification();
            assert!(!justification.is_empty(), "empty justification");
            assert_eq!(
                justification.trim(),
                justification,
                "justification not trimmed"
            );
            assert!(justification.chars().count() <= MAX_JUSTIFICATION_CHARS);
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}
