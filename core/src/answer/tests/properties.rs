//! Properties over generated answers.

use proptest::prelude::*;

use super::*;

fn noisy_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => any::<char>(),
            2 => prop::sample::select(vec!['{', '}', '[', ']', '"', '\\', ':', ',', '\n', ' ']),
            1 => prop::sample::select(vec!['7', 'é', '日', '🎉']),
        ],
        0..300,
    )
    .prop_map(String::from_iter)
}

fn snippets() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            "\"",
            "\\\"",
            "\\",
            ",",
            ":",
            "\n",
            "```",
            "```json\n",
            "\"score\"",
            "\"score\": ",
            "7",
            "12",
            "null",
            "\"N/A\"",
            "\"option\": \"o1\"",
            "\"justification\": \"",
            "\"status\": \"abstain\"",
            "\"status\": \"error\"",
            "SCORE: ",
            "Justification: ",
            "NO_RESPONSE",
            "é",
            "日本",
            "\\u00",
            "NaN",
            " ",
        ]),
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

fn check_verdict(verdict: &Verdict) -> Result<(), TestCaseError> {
    if let Verdict::Scored { score, .. } = verdict {
        prop_assert!(
            score.is_finite() && (1.0..=10.0).contains(score),
            "score {score}"
        );
    }
    let justification = verdict.justification();
    prop_assert!(!justification.is_empty());
    prop_assert!(justification.chars().count() <= MAX_JUSTIFICATION_CHARS);
    Ok(())
}

fn check_all(text: &str) -> Result<(), TestCaseError> {
    if let Ok(verdict) = parse_single(text) {
        check_verdict(&verdict)?;
    }
    if let Ok(answer) = parse_batch(text) {
        prop_assert!(!answer.entries.is_empty());
        for (_, entry) in &answer.entries {
            if let Ok(verdict) = entry {
                check_verdict(verdict)?;
            }
        }
    }
    Ok(())
}

fn model_json(score: f64, justification: &str, status: bool) -> String {
    let mut object = serde_json::json!({ "score": score, "justification": justification });
    if status && let Value::Object(map) = &mut object {
        map.insert("status".to_owned(), Value::from("scored"));
    }
    object.to_string()
}

/// serde_json's default float parsing may be one ulp off the printed
/// value, which is not what these properties are about.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn score_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![(1u8..=10).prop_map(f64::from), 1.0f64..=10.0]
}

fn assert_round_trip(text: &str, score: f64, justification: &str) -> Result<(), TestCaseError> {
    match parse_single(text) {
        Ok(Verdict::Scored {
            score: got,
            justification: got_justification,
        }) => {
            prop_assert!(close(got, score), "{got} vs {score}");
            prop_assert_eq!(got_justification, normalise_justification(justification));
        }
        other => prop_assert!(false, "expected a score from {:?}, got {:?}", text, other),
    }
    Ok(())
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_strings(text in any::<String>()) {
        check_all(&text)?;
    }

    #[test]
    fn never_panics_on_bracket_noise(text in noisy_text()) {
        check_all(&text)?;
    }

    #[test]
    fn never_panics_on_json_fragments(text in snippets()) {
        check_all(&text)?;
    }

    #[test]
    fn never_panics_on_truncated_answers(
        score in score_strategy(),
        justification in any::<String>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let full = format!("Answer:\n```json\n{}\n```", model_json(score, &justification, true));
        let boundaries: Vec<usize> = full.char_indices().map(|(i, _)| i).collect();
        let end = boundaries.get(cut.index(boundaries.len())).copied().unwrap_or(0);
        check_all(full.get(..end).unwrap_or_default())?;
    }

    #[test]
    fn round_trip_plain(
        score in score_strategy(),
        justification in any::<String>(),
        status in any::<bool>(),
    ) {
        assert_round_trip(&model_json(score, &justification, status), score, &justification)?;
    }

    #[test]
    fn round_trip_in_prose(
        score in score_strategy(),
        justification in any::<String>(),
        before in "[^{}\\[\\]]{0,60}",
        after in "[^{}\\[\\]]{0,60}",
    ) {
        let text = format!("{before}{}{after}", model_json(score, &justification, false));
        assert_round_trip(&text, score, &justification)?;
    }

    #[test]
    fn round_trip_fenced(
        score in score_strategy(),
        justification in any::<String>(),
        before in "[^{}\\[\\]]{0,60}",
        after in "[^{}\\[\\]]{0,60}",
        tag in prop::sample::select(vec!["json", "JSON", ""]),
    ) {
        let json = model_json(score, &justification, false);
        let text = format!("{before}\n```{tag}\n{json}\n```\n{after}");
        assert_round_trip(&text, score, &justification)?;
    }

    #[test]
    fn batch_round_trip_and_truncation(
        items in prop::collection::vec((score_strategy(), any::<String>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut text = String::from("[");
        let mut object_ends = Vec::new();
        for (index, (score, justification)) in items.iter().enumerate() {
            if index > 0 {
                text.push_str(", ");
            }
            text.push_str(&format!(
                "{{\"option\": \"o{index}\", \"score\": {}, \"justification\": {}}}",
                Value::from(*score),
                Value::from(justification.as_str()),
            ));
            object_ends.push(text.len());
        }
        text.push(']');

        let answer = parse_batch(&text).map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert_eq!(answer.entries.len(), items.len());
        for (index, ((key, entry), (score, justification))) in answer.entries.iter().zip(&items).enumerate() {
            prop_assert_eq!(key, &format!("o{index}"));
            match entry {
                Ok(Verdict::Scored { score: got, justification: got_justification }) => {
                    prop_assert!(close(*got, *score), "{got} vs {score}");
                    prop_assert_eq!(got_justification, &normalise_justification(justification));
                }
                other => prop_assert!(false, "unexpected entry {:?}", other),
            }
        }

        let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        let end = boundaries.get(cut.index(boundaries.len())).copied().unwrap_or(0);
        let truncated = text.get(..end).unwrap_or_default();
        let complete = object_ends.iter().filter(|&&object_end| object_end <= end).count();
        match parse_batch(truncated) {
            Ok(answer) => {
                prop_assert!(answer.entries.len() >= complete);
                prop_assert!(answer.entries.len() <= complete + 1);
                for (index, ((key, entry), (score, _))) in answer.entries.iter().zip(&items).enumerate() {
                    prop_assert_eq!(key, &format!("o{index}"));
                    match entry {
                        Ok(Verdict::Scored { score: got, .. }) => {
                            prop_assert!(close(*got, *score), "{got} vs {score}");
                        }
                        Err(Malformed::MissingScore { .. }) => prop_assert_eq!(index, complete),
                        other => prop_assert!(false, "unexpected entry {:?}", other),
                    }
                }
            }
            Err(_) => prop_assert_eq!(complete, 0),
        }
    }
}
