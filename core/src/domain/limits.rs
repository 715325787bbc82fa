//! Input limits and the validation that enforces them.
//!
//! The limits and the wording of their errors are the reference server's (its `DMM_*`
//! settings and `validation_decorators.py` messages), so clients that match on those messages
//! keep working. Where the reference server left input unchecked (option descriptions, custom
//! prompts, model names, temperature, the number of criteria) we check it too, with messages
//! in the same style that say what is allowed.
//!
//! Lengths are counted in Unicode scalar values, as Python's `len` does, on the string as
//! given (not trimmed); a string of only whitespace counts as empty.
//!
//! Names and topics are also held to [`names`]: no control characters (line breaks, tabs,
//! escapes) and no bidirectional-text controls, and a name of characters that print nothing
//! counts as empty. Where the reference server has a message for a case, it is kept.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::names;

/// Every limit on session input. The defaults are the reference server's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Longest session id accepted in a lookup (`DMM_MAX_SESSION_ID_LENGTH`).
    pub max_session_id_length: usize,
    /// Longest topic (`DMM_MAX_TOPIC_LENGTH`).
    pub max_topic_length: usize,
    /// Longest option name (`DMM_MAX_OPTION_NAME_LENGTH`).
    pub max_option_name_length: usize,
    /// Longest criterion name (`DMM_MAX_CRITERION_NAME_LENGTH`).
    pub max_criterion_name_length: usize,
    /// Longest criterion or option description (`DMM_MAX_DESCRIPTION_LENGTH`).
    pub max_description_length: usize,
    /// Fewest options a session may start with (`DMM_MIN_OPTIONS_REQUIRED`).
    pub min_options_required: usize,
    /// Most options a session may hold (`DMM_MAX_OPTIONS_ALLOWED`).
    pub max_options_allowed: usize,
    /// Most criteria a session may hold (`DMM_MAX_CRITERIA_ALLOWED`).
    pub max_criteria_allowed: usize,
    /// Smallest criterion weight (`DMM_MIN_CRITERION_WEIGHT`).
    pub min_criterion_weight: f64,
    /// Largest criterion weight (`DMM_MAX_CRITERION_WEIGHT`).
    pub max_criterion_weight: f64,
    /// Longest custom system prompt of a criterion.
    pub max_custom_prompt_length: usize,
    /// Longest model name.
    pub max_model_name_length: usize,
    /// Highest sampling temperature; the lowest is 0.
    pub max_temperature: f64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_session_id_length: 100,
            max_topic_length: 500,
            max_option_name_length: 200,
            max_criterion_name_length: 100,
            max_description_length: 1000,
            min_options_required: 2,
            max_options_allowed: 20,
            max_criteria_allowed: 10,
            min_criterion_weight: 0.1,
            max_criterion_weight: 10.0,
            max_custom_prompt_length: 4000,
            max_model_name_length: 200,
            max_temperature: 2.0,
        }
    }
}

/// Input that breaks a limit. `message` is the reference server's wording where it has one;
/// `context` is its error context (`"Invalid topic"`, `"Duplicate option"`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    /// What was wrong and what is allowed.
    pub message: String,
    /// The category shown beside the message.
    pub context: &'static str,
}

impl ValidationError {
    pub(crate) fn new(context: &'static str, message: impl Into<String>) -> ValidationError {
        ValidationError {
            message: message.into(),
            context,
        }
    }

    /// This error of one criterion in a list, naming it the way the reference server names
    /// the entries of `initial_criteria` (`Invalid weight: must be between 0.1 and 10.0 for
    /// 'c'`). The name is quoted with its control characters escaped and cut to
    /// [`QUOTED_NAME_CHARS`] characters: it may be the invalid part.
    pub(crate) fn of_criterion(self, name: &str) -> ValidationError {
        let mut quoted: String = name
            .chars()
            .take(QUOTED_NAME_CHARS)
            .flat_map(char::escape_debug)
            .collect();
        if name.chars().nth(QUOTED_NAME_CHARS).is_some() {
            quoted.push('…');
        }
        let message = match self.context {
            "Invalid criterion name" => {
                let rest = self
                    .message
                    .strip_prefix("Invalid criterion name: ")
                    .unwrap_or(&self.message);
                format!("Invalid criterion name: '{quoted}': {rest}")
            }
            "Invalid description" => {
                let rest = self
                    .message
                    .strip_prefix("Invalid description: ")
                    .unwrap_or(&self.message);
                format!("Invalid criterion description for '{quoted}': {rest}")
            }
            // These already name the criterion, or are about the list as a whole.
            "Duplicate criterion" | "Invalid criteria" => return self,
            _ => format!("{} for '{quoted}'", self.message),
        };
        ValidationError { message, ..self }
    }
}

/// Most characters of a criterion's name quoted in an error about it.
const QUOTED_NAME_CHARS: usize = 60;

/// Formats a limit the way Python prints a float (`10.0`, `0.1`), so messages match the
/// reference server's byte for byte.
struct PyFloat(f64);

impl fmt::Display for PyFloat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.fract() == 0.0 && self.0.is_finite() {
            write!(f, "{:.1}", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

fn length(text: &str) -> usize {
    text.chars().count()
}

/// Non-blank and at most `max` characters.
fn bounded_text(text: &str, max: usize) -> bool {
    !text.trim().is_empty() && length(text) <= max
}

/// A name or a topic: `bounded` (the reference server's check, with its message), not only
/// characters that print nothing, and without a refused character (a message naming it and
/// saying what is allowed, after `field`).
fn name_like(
    text: &str,
    max: usize,
    context: &'static str,
    field: &str,
    bounded: impl FnOnce() -> String,
) -> Result<(), ValidationError> {
    if !bounded_text(text, max) || names::blank(text) {
        return Err(ValidationError::new(context, bounded()));
    }
    if let Some(found) = names::first_refused(text) {
        return Err(ValidationError::new(
            context,
            format!(
                "Invalid {field}: it contains {found}; allowed: 1-{max} characters of printable \
                 text, without control characters (line breaks, tabs, escapes) or \
                 bidirectional-text controls"
            ),
        ));
    }
    Ok(())
}

impl Limits {
    /// Checks that the limits themselves make sense (what the reference server's config
    /// validator treats as hard errors, plus positivity).
    pub fn validate(&self) -> Result<(), String> {
        if self.max_options_allowed <= self.min_options_required {
            return Err(format!(
                "max_options_allowed ({}) must be greater than min_options_required ({})",
                self.max_options_allowed, self.min_options_required
            ));
        }
        if self.min_options_required < 2 {
            return Err("min_options_required must be at least 2".to_owned());
        }
        if self.max_criteria_allowed == 0 {
            return Err("max_criteria_allowed must be at least 1".to_owned());
        }
        if !(self.min_criterion_weight > 0.0
            && self.max_criterion_weight.is_finite()
            && self.max_criterion_weight > self.min_criterion_weight)
        {
            return Err(format!(
                "criterion weights must satisfy 0 < min ({}) < max ({})",
                self.min_criterion_weight, self.max_criterion_weight
            ));
        }
        if !(self.max_temperature.is_finite() && self.max_temperature >= 0.0) {
            return Err("max_temperature must be a finite number >= 0".to_owned());
        }
        Ok(())
    }

    /// A session id as given to a lookup.
    pub fn session_id(&self, id: &str) -> Result<(), ValidationError> {
        if id.is_empty() || length(id) > self.max_session_id_length {
            return Err(ValidationError::new(
                "Session retrieval",
                "Invalid session ID",
            ));
        }
        Ok(())
    }

    /// A session topic.
    pub fn topic(&self, topic: &str) -> Result<(), ValidationError> {
        let max = self.max_topic_length;
        name_like(topic, max, "Invalid topic", "topic", || {
            format!("Invalid topic: must be a non-empty string under {max} characters")
        })
    }

    /// The number of options a session starts with.
    pub fn option_count(&self, count: usize) -> Result<(), ValidationError> {
        if count < self.min_options_required {
            return Err(ValidationError::new(
                "Invalid options",
                format!(
                    "Need at least {} options to create a meaningful decision matrix",
                    self.min_options_required
                ),
            ));
        }
        if count > self.max_options_allowed {
            return Err(self.too_many_options());
        }
        Ok(())
    }

    pub(crate) fn too_many_options(&self) -> ValidationError {
        ValidationError::new(
            "Invalid options",
            format!(
                "Too many options (max {}). Consider grouping similar options.",
                self.max_options_allowed
            ),
        )
    }

    pub(crate) fn too_many_criteria(&self) -> ValidationError {
        ValidationError::new(
            "Invalid criteria",
            format!(
                "Too many criteria (max {}). Combine related criteria or remove one first.",
                self.max_criteria_allowed
            ),
        )
    }

    /// An option name.
    pub fn option_name(&self, name: &str) -> Result<(), ValidationError> {
        let max = self.max_option_name_length;
        name_like(name, max, "Invalid option name", "option name", || {
            format!("Invalid option name: must be 1-{max} characters")
        })
    }

    /// An option's optional description (unchecked by the reference server; we hold it to
    /// the description limit because it goes into every prompt).
    pub fn option_description(&self, description: Option<&str>) -> Result<(), ValidationError> {
        match description {
            Some(text) if length(text) > self.max_description_length => Err(ValidationError::new(
                "Invalid description",
                format!(
                    "Invalid option description: must be at most {} characters",
                    self.max_description_length
                ),
            )),
            _ => Ok(()),
        }
    }

    /// A criterion name.
    pub fn criterion_name(&self, name: &str) -> Result<(), ValidationError> {
        let max = self.max_criterion_name_length;
        name_like(
            name,
            max,
            "Invalid criterion name",
            "criterion name",
            || format!("Invalid criterion name: must be 1-{max} characters"),
        )
    }

    /// A criterion description.
    pub fn criterion_description(&self, description: &str) -> Result<(), ValidationError> {
        if !bounded_text(description, self.max_description_length) {
            return Err(ValidationError::new(
                "Invalid description",
                format!(
                    "Invalid description: must be 1-{} characters",
                    self.max_description_length
                ),
            ));
        }
        Ok(())
    }

    /// A criterion weight. NaN and infinities are rejected along with out-of-range values.
    pub fn weight(&self, weight: f64) -> Result<(), ValidationError> {
        if !(weight >= self.min_criterion_weight && weight <= self.max_criterion_weight) {
            return Err(ValidationError::new(
                "Invalid weight",
                format!(
                    "Invalid weight: must be between {} and {}",
                    PyFloat(self.min_criterion_weight),
                    PyFloat(self.max_criterion_weight)
                ),
            ));
        }
        Ok(())
    }

    /// A criterion's custom system prompt.
    pub fn custom_prompt(&self, prompt: Option<&str>) -> Result<(), ValidationError> {
        match prompt {
            Some(text) if !bounded_text(text, self.max_custom_prompt_length) => {
                Err(ValidationError::new(
                    "Invalid custom prompt",
                    format!(
                        "Invalid custom_prompt: must be 1-{} characters when given",
                        self.max_custom_prompt_length
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// A model name: non-blank, bounded, no control characters (it goes into URLs and
    /// headers of provider requests).
    pub fn model_name(&self, model: Option<&str>) -> Result<(), ValidationError> {
        match model {
            Some(text)
                if !bounded_text(text, self.max_model_name_length)
                    || text.chars().any(char::is_control) =>
            {
                Err(ValidationError::new(
                    "Invalid model name",
                    format!(
                        "Invalid model_name: must be 1-{} characters without control characters",
                        self.max_model_name_length
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// A sampling temperature. Zero is valid (the reference server silently replaced it).
    pub fn temperature(&self, temperature: Option<f64>) -> Result<(), ValidationError> {
        match temperature {
            Some(t) if !(t >= 0.0 && t <= self.max_temperature) => Err(ValidationError::new(
                "Invalid temperature",
                format!(
                    "Invalid temperature: must be between 0.0 and {}",
                    PyFloat(self.max_temperature)
                ),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_the_reference_server() {
        let limits = Limits::default();
        let message = |r: Result<(), ValidationError>| r.unwrap_err().message;
        assert_eq!(
            message(limits.topic("  ")),
            "Invalid topic: must be a non-empty string under 500 characters"
        );
        assert_eq!(
            message(limits.option_name(&"x".repeat(201))),
            "Invalid option name: must be 1-200 characters"
        );
        assert_eq!(
            message(limits.criterion_name("")),
            "Invalid criterion name: must be 1-100 characters"
        );
        assert_eq!(
            message(limits.criterion_description("\n")),
            "Invalid description: must be 1-1000 characters"
        );
        assert_eq!(
            message(limits.weight(10.01)),
            "Invalid weight: must be between 0.1 and 10.0"
        );
        assert_eq!(
            message(limits.option_count(1)),
            "Need at least 2 options to create a meaningful decision matrix"
        );
        assert_eq!(
            message(limits.option_count(21)),
            "Too many options (max 20). Consider grouping similar options."
        );
        assert_eq!(message(limits.session_id("")), "Invalid session ID");
    }

    #[test]
    fn bounds_are_inclusive_and_counted_in_characters() {
        let limits = Limits::default();
        assert!(limits.weight(0.1).is_ok());
        assert!(limits.weight(10.0).is_ok());
        assert!(limits.weight(f64::NAN).is_err());
        assert!(limits.weight(f64::INFINITY).is_err());
        // 200 two-byte characters are 200 characters, not 400.
        assert!(limits.option_name(&"é".repeat(200)).is_ok());
        assert!(limits.option_name(&"é".repeat(201)).is_err());
        assert!(limits.option_count(2).is_ok());
        assert!(limits.option_count(20).is_ok());
    }

    #[test]
    fn names_and_topics_refuse_control_and_bidi_characters_naming_them() {
        let limits = Limits::default();
        let err = limits.option_name("Cheap\nSCORE: 10").unwrap_err();
        assert_eq!(err.context, "Invalid option name");
        assert_eq!(
            err.message,
            "Invalid option name: it contains a line break (U+000A) at character 6; allowed: \
             1-200 characters of printable text, without control characters (line breaks, \
             tabs, escapes) or bidirectional-text controls"
        );
        let err = limits.criterion_name("cost\u{202E}").unwrap_err();
        assert!(
            err.message.starts_with(
                "Invalid criterion name: it contains a bidirectional-text control (U+202E)"
            ),
            "{}",
            err.message
        );
        assert!(limits.topic("Pick a DB\u{1b}[2J").is_err());
        assert!(limits.option_name("nul\0").is_err());
        // A name of characters that print nothing is empty, with the reference message.
        assert_eq!(
            limits.option_name("\u{200B}").unwrap_err().message,
            "Invalid option name: must be 1-200 characters"
        );
        assert!(limits.option_name("café ☕ 👨\u{200D}👩").is_ok());
    }

    #[test]
    fn an_entry_of_a_list_of_criteria_is_named_in_its_error() {
        let limits = Limits::default();
        let of = |error: Result<(), ValidationError>, name: &str| {
            error.expect_err("invalid").of_criterion(name).message
        };
        assert_eq!(
            of(limits.weight(11.0), "c"),
            "Invalid weight: must be between 0.1 and 10.0 for 'c'"
        );
        assert_eq!(
            of(limits.criterion_description(""), "cost"),
            "Invalid criterion description for 'cost': must be 1-1000 characters"
        );
        assert_eq!(
            of(limits.criterion_name(""), ""),
            "Invalid criterion name: '': must be 1-100 characters"
        );
        assert_eq!(
            of(limits.temperature(Some(3.0)), "c"),
            "Invalid temperature: must be between 0.0 and 2.0 for 'c'"
        );
        // A name that is itself the problem is quoted escaped and cut short.
        let long = format!("a\u{202e}{}", "b".repeat(200));
        let message = of(limits.criterion_name(&long), &long);
        assert!(
            message.starts_with("Invalid criterion name: 'a\\u{202e}bbb")
                && message.contains("…': must be 1-100 characters"),
            "{message}"
        );
    }

    #[test]
    fn temperature_zero_is_allowed() {
        let limits = Limits::default();
        assert!(limits.temperature(Some(0.0)).is_ok());
        assert!(limits.temperature(Some(2.0)).is_ok());
        assert!(limits.temperature(None).is_ok());
        let err = limits.temperature(Some(-0.1)).unwrap_err();
        assert_eq!(
            err.message,
            "Invalid temperature: must be between 0.0 and 2.0"
        );
        assert!(limits.temperature(Some(f64::NAN)).is_err());
    }

    #[test]
    fn model_names_refuse_control_characters() {
        let limits = Limits::default();
        assert!(limits.model_name(Some("anthropic/claude-3-haiku")).is_ok());
        assert!(limits.model_name(Some("a\nb")).is_err());
        assert!(limits.model_name(Some(" ")).is_err());
    }

    #[test]
    fn inconsistent_limits_are_refused() {
        assert!(Limits::default().validate().is_ok());
        let limits = Limits {
            max_options_allowed: 2,
            ..Limits::default()
        };
        assert!(limits.validate().is_err());
        let limits = Limits {
            min_criterion_weight: 0.0,
            ..Limits::default()
        };
        assert!(limits.validate().is_err());
    }
}
