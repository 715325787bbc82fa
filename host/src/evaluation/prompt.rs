//! The prompts: each backend call is self-contained, one system prompt and one user message,
//! for one criterion and one option or a batch of options.
//!
//! Nothing is shared between calls: the reference server appended every option's prompt and
//! answer to one conversation per criterion, so concurrent options saw each other's prompts and
//! re-evaluations re-sent (and were anchored by) every earlier answer. Here a call's text is a
//! pure function of the criterion, the options it scores and the topic, which is also what
//! makes identical calls cacheable.
//!
//! The instructions keep the reference server's wording, minus its contradictions: it asked
//! for JSON in the system prompt and for `SCORE:` lines in the user message, and it baked the
//! weight into the prompt (so a weight change silently changed answers). The answer format is
//! appended even to a criterion's custom prompt, which the reference server dropped.

use std::sync::LazyLock;

use serde_json::json;

use crate::domain::Scale;

/// What the evaluator is asked about one criterion.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionBrief<'a> {
    /// Name.
    pub name: &'a str,
    /// Description.
    pub description: &'a str,
    /// Replaces the generated instructions when given.
    pub custom_prompt: Option<&'a str>,
    /// What points of the scale mean, when the criterion says.
    pub scale: Option<&'a Scale>,
}

/// One option as the evaluator sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionBrief<'a> {
    /// The key the answer must carry in a batch (`o1`, `o2`, ...).
    pub key: &'a str,
    /// Name.
    pub name: &'a str,
    /// Description, if any.
    pub description: Option<&'a str>,
}

/// A system prompt, a user message and the JSON Schema the answer should follow.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Prompt {
    /// The system prompt.
    pub system: String,
    /// The one user message.
    pub user: String,
    /// JSON Schema of the answer, for providers with structured output; the same for every
    /// call of a kind, so shared rather than copied.
    pub schema: &'static str,
}

const NO_DESCRIPTION: &str = "No additional description provided";

impl<'a> OptionBrief<'a> {
    fn description_or_default(&self) -> &'a str {
        self.description.unwrap_or(NO_DESCRIPTION)
    }
}

const SINGLE_FORMAT: &str = "\n\n\
    Respond with only a JSON object in this exact format, with no text before or after it:\n\
    {\"score\": 7, \"justification\": \"why this score\", \"status\": \"scored\"}\n\
    The score is a number from 1 to 10. If the criterion does not apply to the option, \
    respond with:\n\
    {\"score\": null, \"justification\": \"why it does not apply\", \"status\": \"abstain\"}";

const BATCH_FORMAT: &str = "\n\n\
    You will be given several options, each with an id in square brackets. Evaluate each \
    option independently, on its own merits; do not compare them with each other.\n\
    Respond with only a JSON object in this exact format, with no text before or after it, \
    holding one entry for every option:\n\
    {\"evaluations\": [{\"option\": \"o1\", \"score\": 7, \"justification\": \"why this \
    score\", \"status\": \"scored\"}]}\n\
    The score is a number from 1 to 10. For an option the criterion does not apply to, use \
    \"score\": null and \"status\": \"abstain\".";

/// The system prompt: the criterion's instructions, then the answer format. Built with
/// `push_str` into one buffer sized up front; prompts are built for every call.
fn system_prompt(criterion: &CriterionBrief<'_>, format: &str) -> String {
    let mut system = String::with_capacity(
        INSTRUCTIONS_LEN + 2 * criterion.description.len() + criterion.name.len() + format.len(),
    );
    match criterion.custom_prompt {
        Some(custom) => system.push_str(custom),
        None => {
            for piece in [
                "You are evaluating options based on the '",
                criterion.name,
                "' criterion: ",
                criterion.description,
                "\n\nSCORING INSTRUCTIONS:\n\
                 1. Score each option from 1-10 (10 = excellent, 1 = poor)\n\
                 2. Provide clear justification for your score\n\
                 3. If this criterion doesn't apply to an option, use null for score and \
                 \"abstain\" for status\n\n\
                 Focus on: ",
                criterion.description,
            ] {
                system.push_str(piece);
            }
        }
    }
    if let Some(scale) = criterion.scale {
        system.push_str(
            "\n\nSCALE: score against these fixed anchors, not relative to other options \
             (scores between anchors fall between their meanings):",
        );
        for (point, meaning) in scale.anchors() {
            system.push_str("\n- ");
            system.push_str(&point.to_string());
            system.push_str(": ");
            system.push_str(meaning);
        }
    }
    system.push_str(format);
    system
}

/// Roughly the fixed text of the generated instructions, for sizing the buffer.
const INSTRUCTIONS_LEN: usize = 320;

/// The prompt for one option.
pub fn single(topic: &str, criterion: &CriterionBrief<'_>, option: &OptionBrief<'_>) -> Prompt {
    let description = option.description_or_default();
    let mut user = String::with_capacity(80 + topic.len() + option.name.len() + description.len());
    for piece in [
        "Decision: ",
        topic,
        "\n\nEvaluate this option: ",
        option.name,
        "\n\nOption Description: ",
        description,
    ] {
        user.push_str(piece);
    }
    Prompt {
        system: system_prompt(criterion, SINGLE_FORMAT),
        user,
        schema: SINGLE_SCHEMA.as_str(),
    }
}

/// The prompt for several options scored in one call. The answer is an object holding an
/// array (providers' structured output needs an object at the top), one entry per option,
/// keyed by the option's key.
pub fn batch(topic: &str, criterion: &CriterionBrief<'_>, options: &[OptionBrief<'_>]) -> Prompt {
    let mut user = String::with_capacity(
        60 + topic.len()
            + options
                .iter()
                .map(|o| 40 + o.key.len() + o.name.len() + o.description_or_default().len())
                .sum::<usize>(),
    );
    user.push_str("Decision: ");
    user.push_str(topic);
    user.push_str("\n\nEvaluate each of these options:\n");
    for option in options {
        for piece in [
            "\n[",
            option.key,
            "] ",
            option.name,
            "\nOption Description: ",
            option.description_or_default(),
            "\n",
        ] {
            user.push_str(piece);
        }
    }
    Prompt {
        system: system_prompt(criterion, BATCH_FORMAT),
        user,
        schema: BATCH_SCHEMA.as_str(),
    }
}

/// The schemas are the same for every call; built once.
static SINGLE_SCHEMA: LazyLock<String> = LazyLock::new(|| verdict_schema(false).to_string());
static BATCH_SCHEMA: LazyLock<String> = LazyLock::new(|| verdict_schema(true).to_string());

/// The answer schema. Every property is required and no other is allowed, which is what
/// OpenAI's strict structured output demands; the 1–10 range is checked (and clamped) by the
/// parser rather than the schema, since not every provider accepts `minimum`/`maximum`.
fn verdict_schema(batched: bool) -> serde_json::Value {
    let mut properties = json!({
        "score": {"type": ["number", "null"]},
        "justification": {"type": "string"},
        "status": {"type": "string", "enum": ["scored", "abstain"]},
    });
    let mut required = vec!["score", "justification", "status"];
    if batched {
        properties["option"] = json!({"type": "string"});
        required.insert(0, "option");
    }
    let verdict = json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    });
    if !batched {
        return verdict;
    }
    json!({
        "type": "object",
        "properties": {"evaluations": {"type": "array", "items": verdict}},
        "required": ["evaluations"],
        "additionalProperties": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRITERION: CriterionBrief<'static> = CriterionBrief {
        name: "Cost",
        description: "Total cost of ownership",
        custom_prompt: None,
        scale: None,
    };

    #[test]
    fn a_single_prompt_names_only_its_option() {
        let prompt = single(
            "Pick a database",
            &CRITERION,
            &OptionBrief {
                key: "o1",
                name: "Postgres",
                description: None,
            },
        );
        assert!(prompt.system.starts_with(
            "You are evaluating options based on the 'Cost' criterion: Total cost of ownership"
        ));
        assert!(!prompt.system.contains("Weight"));
        assert_eq!(
            prompt.user,
            "Decision: Pick a database\n\nEvaluate this option: Postgres\n\n\
             Option Description: No additional description provided"
        );
        let schema: serde_json::Value = serde_json::from_str(prompt.schema).expect("json");
        assert_eq!(
            schema["required"],
            json!(["score", "justification", "status"])
        );
    }

    #[test]
    fn a_custom_prompt_keeps_the_answer_format() {
        let criterion = CriterionBrief {
            custom_prompt: Some("Judge like a CFO."),
            ..CRITERION
        };
        let option = OptionBrief {
            key: "o1",
            name: "A",
            description: Some("managed"),
        };
        let prompt = single("t", &criterion, &option);
        assert!(
            prompt
                .system
                .starts_with("Judge like a CFO.\n\nRespond with only a JSON")
        );
    }

    #[test]
    fn scale_anchors_come_before_the_answer_format_even_with_a_custom_prompt() {
        let anchors = [
            ("1", "no encryption"),
            ("10", "end-to-end, audited keys"),
            ("5", "at rest"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let scale = Scale::parse(&anchors).expect("valid").expect("some");
        let option = OptionBrief {
            key: "o1",
            name: "A",
            description: None,
        };
        for custom_prompt in [None, Some("Judge like a CISO.")] {
            let criterion = CriterionBrief {
                custom_prompt,
                scale: Some(&scale),
                ..CRITERION
            };
            let system = single("t", &criterion, &option).system;
            let anchors = system
                .find("SCALE: score against these fixed anchors")
                .expect("scale");
            assert!(
                system[anchors..].contains(
                    "\n- 1: no encryption\n- 5: at rest\n- 10: end-to-end, audited keys\n\nRespond"
                ),
                "{system}"
            );
        }
    }

    #[test]
    fn a_batch_prompt_lists_every_option_with_its_key() {
        let options = [
            OptionBrief {
                key: "o1",
                name: "A",
                description: None,
            },
            OptionBrief {
                key: "o2",
                name: "B",
                description: Some("fast"),
            },
        ];
        let prompt = batch("t", &CRITERION, &options);
        assert!(prompt.user.contains("\n[o1] A\n"));
        assert!(prompt.user.contains("\n[o2] B\nOption Description: fast\n"));
        let schema: serde_json::Value = serde_json::from_str(prompt.schema).expect("json");
        assert_eq!(
            schema["properties"]["evaluations"]["items"]["required"][0],
            "option"
        );
    }
}
