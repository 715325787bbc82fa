//! The tools' arguments: names, defaults and order as the reference server has them, with the
//! descriptions and limits it never put in its schemas.
//!
//! Schemas state the default limits; the limits in force (configuration may change them) are
//! checked by the domain, whose messages say what is allowed. rmcp does not enforce `minimum`
//! or `maximum` itself.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::domain::{CriterionSpec, CriterionUpdate, EvaluatorSettings};

/// An optional text where an empty string means "remove it": `None` leaves the value alone,
/// `Some(None)` clears it, `Some(Some(text))` sets it.
fn clearable(value: Option<String>) -> Option<Option<String>> {
    value.map(|v| (!v.is_empty()).then_some(v))
}

/// One criterion given with `start_decision_analysis`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct InitialCriterion {
    /// Criterion name, 1–100 characters, unique in the session.
    #[serde(default)]
    pub name: String,
    /// What the criterion measures, 1–1000 characters.
    #[serde(default)]
    pub description: String,
    /// Importance, 0.1–10.0 (default 1.0).
    #[serde(default = "default_weight")]
    #[schemars(range(min = 0.1, max = 10.0))]
    pub weight: f64,
    /// Sampling temperature for this criterion, 0–2; the session's when omitted.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 2.0))]
    pub temperature: Option<f64>,
    /// What points of the 1–10 scale mean for this criterion, put in every prompt so
    /// judges score against a fixed rubric rather than against the other options listed:
    /// keys `"1"` to `"10"`, values of 1–500 characters, for example `{"1": "no tests",
    /// "5": "unit tests", "10": "unit, integration and property tests in CI"}`.
    #[serde(default)]
    pub scale: Option<BTreeMap<String, String>>,
}

impl From<InitialCriterion> for CriterionSpec {
    fn from(c: InitialCriterion) -> CriterionSpec {
        CriterionSpec {
            name: c.name,
            description: c.description,
            weight: c.weight,
            temperature: c.temperature,
            scale: c.scale,
            ..CriterionSpec::default()
        }
    }
}

fn default_weight() -> f64 {
    1.0
}

fn default_temperature() -> f64 {
    0.1
}

/// `start_decision_analysis`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct StartArgs {
    /// What is being decided, 1–500 characters.
    pub topic: String,
    /// The options to compare: 2–20 names, each 1–200 characters and unique.
    #[schemars(length(min = 2, max = 20))]
    pub options: Vec<String>,
    /// Criteria to add at once; each needs a name and description, weight defaults to 1.0.
    #[serde(default)]
    pub initial_criteria: Option<Vec<InitialCriterion>>,
    /// Backend that scores the options (default `bedrock`); criteria inherit it.
    #[serde(default)]
    pub model_backend: Option<String>,
    /// Model for that backend; the backend's default when omitted. Criteria inherit it.
    #[serde(default)]
    pub model_name: Option<String>,
    /// Sampling temperature, 0–2 (default 0.1; 0 is allowed). Criteria inherit it.
    #[serde(default = "default_temperature")]
    #[schemars(range(min = 0.0, max = 2.0))]
    pub temperature: f64,
    /// Scoring strategy for rankings (default `weighted-average`; also `weighted-product`,
    /// `topsis`, `rank-sum`, or an installed strategy plugin).
    #[serde(default)]
    pub strategy: Option<String>,
    /// A panel of 2 to 5 judges that scores every criterion, each with its own backend, model
    /// and temperature, in place of the single `model_backend` and `model_name`: every judge
    /// scores every cell, and a cell's value combines them. Criteria then cannot name their
    /// own backend, model or temperature.
    #[serde(default)]
    pub judges: Option<Vec<JudgeArgs>>,
}

impl JudgeArgs {
    /// The settings of `judges`, a temperature of `temperature` where a judge names none;
    /// empty without judges.
    pub fn panel(judges: Option<&[JudgeArgs]>, temperature: f64) -> Vec<EvaluatorSettings> {
        judges
            .unwrap_or_default()
            .iter()
            .map(|judge| EvaluatorSettings {
                backend: judge.model_backend.clone(),
                model: judge.model_name.clone(),
                temperature: judge.temperature.unwrap_or(temperature),
            })
            .collect()
    }
}

/// One judge of a panel.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
pub struct JudgeArgs {
    /// Its backend.
    pub model_backend: String,
    /// Its model; the backend's default when omitted.
    #[serde(default)]
    pub model_name: Option<String>,
    /// Its sampling temperature, 0–2; the session's `temperature` when omitted.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 2.0))]
    pub temperature: Option<f64>,
}

/// `list_sessions`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ListSessionsArgs {
    /// Most sessions to return, 1–1000 (default 100), the most recently created first.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Where to continue: the `next_cursor` of the previous result.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Arguments naming only a session.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct SessionArgs {
    /// The session, as returned by `start_decision_analysis` (at most 100 characters).
    pub session_id: String,
}

/// `get_decision_matrix`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct MatrixArgs {
    /// The session, as returned by `start_decision_analysis` (at most 100 characters).
    pub session_id: String,
    /// Also return the heatmap and ranking as a PNG image (default false).
    #[serde(default)]
    pub include_chart: Option<bool>,
}

/// `add_criterion`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct AddCriterionArgs {
    /// The session.
    pub session_id: String,
    /// Criterion name, 1–100 characters, unique in the session.
    pub name: String,
    /// What the criterion measures, 1–1000 characters.
    pub description: String,
    /// Importance, 0.1–10.0 (default 1.0).
    #[serde(default = "default_weight")]
    #[schemars(range(min = 0.1, max = 10.0))]
    pub weight: f64,
    /// Instructions replacing the generated ones (the answer format is still appended),
    /// at most 4000 characters.
    #[serde(default)]
    pub custom_prompt: Option<String>,
    /// Backend for this criterion; the session's when omitted.
    #[serde(default)]
    pub model_backend: Option<String>,
    /// Model for this criterion; the session's when omitted.
    #[serde(default)]
    pub model_name: Option<String>,
    /// Sampling temperature, 0–2; the session's when omitted (0 is allowed).
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 2.0))]
    pub temperature: Option<f64>,
    /// What points of the 1–10 scale mean for this criterion, put in every prompt so
    /// judges score against a fixed rubric rather than against the other options listed:
    /// keys `"1"` to `"10"`, values of 1–500 characters, for example `{"1": "no tests",
    /// "5": "unit tests", "10": "unit, integration and property tests in CI"}`.
    #[serde(default)]
    pub scale: Option<BTreeMap<String, String>>,
    /// A panel of 2 to 5 judges of its own, `[{model_backend, model_name, temperature}]`,
    /// in place of the session's judge or panel; not with `model_backend`, `model_name` or
    /// `temperature`.
    #[serde(default)]
    pub judges: Option<Vec<JudgeArgs>>,
}

impl AddCriterionArgs {
    /// The criterion these arguments describe.
    pub fn spec(&self) -> CriterionSpec {
        CriterionSpec {
            name: self.name.clone(),
            description: self.description.clone(),
            weight: self.weight,
            custom_prompt: self.custom_prompt.clone(),
            backend: self.model_backend.clone(),
            model: self.model_name.clone(),
            temperature: self.temperature,
            scale: self.scale.clone(),
            judges: Vec::new(),
        }
    }

    /// The criterion these arguments describe in a session whose temperature is
    /// `temperature` (what a judge that names none uses).
    pub fn spec_in(&self, temperature: f64) -> CriterionSpec {
        CriterionSpec {
            judges: JudgeArgs::panel(self.judges.as_deref(), temperature),
            ..self.spec()
        }
    }
}

/// `add_option`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct AddOptionArgs {
    /// The session.
    pub session_id: String,
    /// Option name, 1–200 characters, unique in the session.
    pub option_name: String,
    /// What the option is, at most 1000 characters.
    #[serde(default)]
    pub description: Option<String>,
}

/// `evaluate_options`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct EvaluateArgs {
    /// The session.
    pub session_id: String,
    /// Score every cell again, even those already scored for the current inputs (manual
    /// scores are kept). Default false: only missing, failed or outdated cells are scored.
    #[serde(default)]
    pub force: bool,
    /// Keep evaluating until the leading option's probability of being best reaches this
    /// (0 to 0.999), the call budget is spent, or the leaders cannot be told apart within the
    /// judges' noise. 0 scores each cell once. Default: the server's configuration (0.9).
    #[serde(default)]
    pub confidence_target: Option<f64>,
    /// Most backend calls this evaluation may plan, its first pass included (1 to 1000; the
    /// first pass always runs whole). Default: twice the calls of one pass over the matrix,
    /// or with `replicates` as many as they take. Refused with a `confidence_target` of 0.
    #[serde(default)]
    pub max_calls: Option<u32>,
    /// Judge every cell until it holds this many judgments in all (1 to 10), instead of
    /// adaptively; cannot be combined with a `confidence_target` above 0.
    #[serde(default)]
    pub replicates: Option<u32>,
}

/// `update_option`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct UpdateOptionArgs {
    /// The session.
    pub session_id: String,
    /// The option's current name.
    pub option_name: String,
    /// A new name, 1–200 characters, unique in the session.
    #[serde(default)]
    pub new_name: Option<String>,
    /// A new description (at most 1000 characters); an empty string removes it.
    #[serde(default)]
    pub description: Option<String>,
}

impl UpdateOptionArgs {
    /// The description change: none, a removal (an empty string) or a new text.
    pub fn description_change(&self) -> Option<Option<String>> {
        clearable(self.description.clone())
    }
}

/// `remove_option`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct RemoveOptionArgs {
    /// The session.
    pub session_id: String,
    /// The option to remove, with its cells (at least 2 options must remain).
    pub option_name: String,
}

/// `update_criterion`. Only the fields given change; a weight change re-ranks without
/// re-evaluating, any other change makes the criterion's cells outdated.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct UpdateCriterionArgs {
    /// The session.
    pub session_id: String,
    /// The criterion's current name.
    pub name: String,
    /// A new name, 1–100 characters, unique in the session.
    #[serde(default)]
    pub new_name: Option<String>,
    /// A new description, 1–1000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// A new weight, 0.1–10.0.
    #[serde(default)]
    #[schemars(range(min = 0.1, max = 10.0))]
    pub weight: Option<f64>,
    /// New instructions; an empty string removes them.
    #[serde(default)]
    pub custom_prompt: Option<String>,
    /// A new backend; an empty string inherits the session's again.
    #[serde(default)]
    pub model_backend: Option<String>,
    /// A new model; an empty string inherits the session's again.
    #[serde(default)]
    pub model_name: Option<String>,
    /// A new temperature, 0–2.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 2.0))]
    pub temperature: Option<f64>,
    /// New scale anchors (as in `add_criterion`); an empty object removes them.
    #[serde(default)]
    pub scale: Option<BTreeMap<String, String>>,
}

impl UpdateCriterionArgs {
    /// The change these arguments ask for (an empty prompt, backend or model clears it).
    pub fn update(&self) -> CriterionUpdate {
        CriterionUpdate {
            name: self.new_name.clone(),
            description: self.description.clone(),
            weight: self.weight,
            custom_prompt: clearable(self.custom_prompt.clone()),
            backend: clearable(self.model_backend.clone()),
            model: clearable(self.model_name.clone()),
            temperature: self.temperature.map(Some),
            scale: self.scale.clone(),
        }
    }
}

/// `remove_criterion`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct RemoveCriterionArgs {
    /// The session.
    pub session_id: String,
    /// The criterion to remove, with its cells.
    pub name: String,
}

/// `set_score`: a person's score for one cell, which evaluation never overwrites.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct SetScoreArgs {
    /// The session.
    pub session_id: String,
    /// The option.
    pub option_name: String,
    /// The criterion.
    pub criterion_name: String,
    /// The score, 1–10; omit (or null) to clear a manual score so evaluation scores the cell
    /// again.
    #[serde(default)]
    #[schemars(range(min = 1.0, max = 10.0))]
    pub score: Option<f64>,
    /// Why (at most 1000 characters).
    #[serde(default)]
    pub justification: Option<String>,
}

/// `analyze_sensitivity`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct SensitivityArgs {
    /// The session.
    pub session_id: String,
    /// What-if weights by criterion name (0.1–10.0 each); the ranking with them is returned
    /// beside the current one. Nothing is changed.
    #[serde(default)]
    pub weights: Option<indexmap::IndexMap<String, f64>>,
    /// Weight ranges by criterion name, `[low, high]` within 0.1–10.0 (criteria not named
    /// keep their weight): each option's rank acceptability is returned, the share of weight
    /// draws in those ranges, combined with the scores' uncertainty, in which it takes each
    /// rank. Nothing is changed.
    #[serde(default)]
    pub weight_ranges: Option<indexmap::IndexMap<String, [f64; 2]>>,
}

/// `set_strategy`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct StrategyArgs {
    /// The session.
    pub session_id: String,
    /// `weighted-average`, `weighted-product`, `topsis`, `rank-sum`, or an installed strategy
    /// plugin's id.
    pub strategy: String,
}

/// `export_matrix`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ExportArgs {
    /// The session.
    pub session_id: String,
    /// `json` (default), `csv`, `markdown`, `html` (a standalone report that opens offline
    /// in a browser) or `svg` (the heatmap and ranking as a picture).
    #[serde(default)]
    pub format: Option<String>,
}
