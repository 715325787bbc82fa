//! [`Criterion`]: a weighted factor every option is scored on.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::cell::EvaluatorSettings;
use super::scale::Scale;
use super::session::SessionDefaults;

/// Stable identity of a criterion within its session; survives renames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CriterionId(pub u32);

/// A criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    /// Identity within the session.
    pub id: CriterionId,
    /// Unique within the session.
    pub name: String,
    /// What the evaluator should look at.
    pub description: String,
    /// Relative importance. Not part of the prompt, so changing it re-ranks without
    /// re-evaluating.
    pub weight: f64,
    /// Replaces the generated instructions of the system prompt (the answer format is still
    /// appended, unlike the reference server, whose custom prompts lost it).
    pub custom_prompt: Option<String>,
    /// Backend plugin id; `None` inherits the session's.
    pub backend: Option<String>,
    /// Model; `None` inherits the session's (and then the backend's default).
    pub model: Option<String>,
    /// Temperature; `None` inherits the session's. Zero is a real value.
    pub temperature: Option<f64>,
    /// What points of the 1–10 scale mean for this criterion; in every prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<Scale>,
    /// This criterion's own panel of judges, in place of the session's judge or panel;
    /// empty when it has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub judges: Vec<EvaluatorSettings>,
    /// Bumped whenever something the evaluator sees changes.
    pub revision: u64,
}

impl Criterion {
    /// The settings an evaluation of this criterion uses now.
    pub fn settings(&self, defaults: &SessionDefaults) -> EvaluatorSettings {
        let backend = self
            .backend
            .clone()
            .unwrap_or_else(|| defaults.backend.clone());
        // A session model belongs to the session's backend; a criterion that picks another
        // backend without a model gets that backend's default.
        let model = match (&self.model, &self.backend) {
            (Some(model), _) => Some(model.clone()),
            (None, Some(own)) if *own != defaults.backend => None,
            (None, _) => defaults.model.clone(),
        };
        EvaluatorSettings {
            backend,
            model,
            temperature: self.temperature.unwrap_or(defaults.temperature),
        }
    }
}

/// What is needed to add a criterion.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CriterionSpec {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Weight (the reference server's default is 1.0).
    pub weight: f64,
    /// Optional custom instructions.
    pub custom_prompt: Option<String>,
    /// Optional backend.
    pub backend: Option<String>,
    /// Optional model.
    pub model: Option<String>,
    /// Optional temperature.
    pub temperature: Option<f64>,
    /// Optional scale anchors (point `"1"` to `"10"` → meaning), checked when added.
    pub scale: Option<BTreeMap<String, String>>,
    /// Optional panel of judges of its own (2 to 5).
    pub judges: Vec<EvaluatorSettings>,
}

/// A partial update of a criterion; `None` fields stay as they are.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CriterionUpdate {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New weight (re-ranks only).
    pub weight: Option<f64>,
    /// New custom prompt; `Some(None)` removes it.
    pub custom_prompt: Option<Option<String>>,
    /// New backend; `Some(None)` inherits the session's again.
    pub backend: Option<Option<String>>,
    /// New model; `Some(None)` inherits again.
    pub model: Option<Option<String>>,
    /// New temperature; `Some(None)` inherits again.
    pub temperature: Option<Option<f64>>,
    /// New scale anchors; an empty map removes them.
    pub scale: Option<BTreeMap<String, String>>,
}
