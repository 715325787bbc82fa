//! The guided decision prompt: a conversation starter that walks an assistant through a
//! structured decision with this server's tools, in the order that gives a sound result
//! (frame, criteria with deliberate weights, evaluation, robustness check, recommendation).

use rmcp::ErrorData;
use rmcp::model::{GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage, Role};

/// The prompt's name.
pub const GUIDED_DECISION: &str = "guided_decision";

/// The prompts this server offers.
pub fn list() -> Vec<Prompt> {
    vec![Prompt::new(
        GUIDED_DECISION,
        Some(
            "Walk through a decision step by step: frame it, choose weighted criteria, have \
             LLMs score every option, check how robust the winner is, and recommend",
        ),
        Some(vec![
            PromptArgument::new("decision")
                .with_description("What is being decided, e.g. 'Which database for our analytics service'")
                .with_required(true),
            PromptArgument::new("options")
                .with_description("The candidates, comma-separated (2 to 20); if absent the assistant proposes them")
                .with_required(false),
            PromptArgument::new("criteria")
                .with_description("Criteria that matter, comma-separated; if absent the assistant proposes them")
                .with_required(false),
        ]),
    )]
}

/// The prompt `name` with `arguments`; an unknown name or a missing `decision` is an
/// invalid-params error saying what is expected.
pub fn get(name: &str, arguments: Option<&JsonObject>) -> Result<GetPromptResult, ErrorData> {
    if name != GUIDED_DECISION {
        return Err(ErrorData::invalid_params(
            format!("unknown prompt '{name}'; available: {GUIDED_DECISION}"),
            None,
        ));
    }
    let argument = |key: &str| {
        arguments
            .and_then(|args| args.get(key))
            .and_then(|value| value.as_str())
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
    let Some(decision) = argument("decision") else {
        return Err(ErrorData::invalid_params(
            "the guided_decision prompt needs 'decision': what is being decided",
            None,
        ));
    };
    let options = match argument("options") {
        Some(options) => format!("The options are: {options}."),
        None => "Propose 3 to 6 realistic options first and confirm them with me.".to_owned(),
    };
    let criteria = match argument("criteria") {
        Some(criteria) => format!("Use these criteria: {criteria}; propose a weight for each."),
        None => {
            "Propose 3 to 6 criteria that matter for this decision, each with a weight.".to_owned()
        }
    };
    let text = format!(
        "Help me decide: {decision}\n\n\
         {options}\n\
         {criteria}\n\n\
         Work through it with the decision-matrix tools:\n\
         1. `start_decision_analysis` with the topic and the options (2 to 20; give each a short description).\n\
         2. `add_criterion` once per criterion, with a description of what a high score means and a weight \
         from 0.1 to 10 that reflects how much it matters relative to the others; tell me the weights and why.\n\
         3. `evaluate_options` to have every option scored on every criterion (scores 1 to 10 with a justification). \
         If some cells fail, say which and run it again; only the missing cells are recomputed.\n\
         4. `get_decision_matrix` for the ranked matrix, then `analyze_sensitivity` to see how much each weight \
         would have to change for the winner to change.\n\
         5. Recommend an option. Say how robust the recommendation is, which criteria decided it, and where \
         the scores rest on assumptions I should check. If I disagree with a score, use `set_score`; if I \
         change a weight, use `update_criterion` (no re-evaluation needed)."
    );
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(format!("Guided decision: {decision}")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(value: serde_json::Value) -> JsonObject {
        value.as_object().cloned().expect("object")
    }

    #[test]
    fn the_prompt_carries_the_decision_and_the_given_options() {
        let result = get(
            GUIDED_DECISION,
            Some(&args(
                json!({"decision": "Which CI service", "options": "A, B"}),
            )),
        )
        .expect("valid");
        let text = serde_json::to_string(&result.messages).expect("serializes");
        assert!(text.contains("Help me decide: Which CI service"), "{text}");
        assert!(text.contains("The options are: A, B."), "{text}");
        assert!(text.contains("Propose 3 to 6 criteria"), "{text}");
    }

    #[test]
    fn a_missing_decision_or_an_unknown_prompt_says_what_is_expected() {
        let missing = get(GUIDED_DECISION, Some(&args(json!({"decision": " "})))).unwrap_err();
        assert!(missing.message.contains("needs 'decision'"), "{missing:?}");
        let unknown = get("other", None).unwrap_err();
        assert!(
            unknown.message.contains("available: guided_decision"),
            "{unknown:?}"
        );
    }
}
