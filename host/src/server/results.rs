//! What each tool returns when it succeeds: one struct per tool, whose JSON schema `tools/list`
//! publishes as the tool's `outputSchema` (failures are [`super::error::ToolError`] dicts).
//!
//! Keys are the reference server's, plus ours; every result a person reads also carries
//! `formatted_output`, the same content as markdown. Options and criteria appear in the order
//! users added them, in lists and in maps ([`ByName`]) alike.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Serialize;

use super::sessions::SessionStats;
use crate::telemetry::Snapshot;

/// Values by option or criterion name, in the order the options or criteria were added.
pub type ByName<V> = IndexMap<String, V>;

/// `start_decision_analysis`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Started {
    /// The new session's id, which every other tool takes.
    pub session_id: String,
    /// What is being decided.
    pub topic: String,
    /// The options, in the order given.
    pub options: Vec<String>,
    /// The criteria given with the session, in the order given.
    pub criteria_added: Vec<String>,
    /// The backend that scores the options unless a criterion names another.
    pub model_backend: String,
    /// The model, or null for the backend's default.
    pub model_name: Option<String>,
    /// The sampling temperature.
    pub temperature: f64,
    /// The scoring strategy that ranks the options.
    pub strategy: String,
    /// What happened, in a sentence.
    pub message: String,
    /// The tools to call next.
    pub next_steps: Vec<String>,
    /// The result as markdown.
    pub formatted_output: String,
}

/// `add_criterion`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CriterionAdded {
    /// The session.
    pub session_id: String,
    /// The new criterion's name.
    pub criterion_added: String,
    /// What it measures.
    pub description: String,
    /// Its weight.
    pub weight: f64,
    /// How many criteria the session has now.
    pub total_criteria: usize,
    /// Every criterion, in the order added.
    pub all_criteria: Vec<String>,
    /// What happened, in a sentence.
    pub message: String,
    /// The result as markdown.
    pub formatted_output: String,
}

/// `add_option`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OptionAdded {
    /// The session.
    pub session_id: String,
    /// The new option's name.
    pub option_added: String,
    /// Its description, if one was given.
    pub description: Option<String>,
    /// How many options the session has now.
    pub total_options: usize,
    /// Every option, in the order added.
    pub all_options: Vec<String>,
    /// What happened, in a sentence.
    pub message: String,
    /// The tools to call next.
    pub next_steps: Vec<String>,
    /// The result as markdown.
    pub formatted_output: String,
}

/// `update_option`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OptionUpdated {
    /// The session.
    pub session_id: String,
    /// The option's name after the change.
    pub option_updated: String,
    /// Every option, in the order added.
    pub all_options: Vec<String>,
    /// What happened, in a sentence.
    pub message: String,
    /// The tools to call next.
    pub next_steps: Vec<String>,
    /// The result as markdown.
    pub formatted_output: String,
}

/// `remove_option`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OptionRemoved {
    /// The session.
    pub session_id: String,
    /// The option removed.
    pub option_removed: String,
    /// How many options remain.
    pub total_options: usize,
    /// The options that remain, in the order added.
    pub all_options: Vec<String>,
    /// What happened, in a sentence.
    pub message: String,
    /// The result as markdown.
    pub formatted_output: String,
}

/// `update_criterion`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CriterionUpdated {
    /// The session.
    pub session_id: String,
    /// The criterion's name after the change.
    pub criterion_updated: String,
    /// Every criterion, in the order added.
    pub all_criteria: Vec<String>,
    /// Whether the criterion's cells must be evaluated again (false for a weight change).
    pub reevaluation_needed: bool,
    /// What happened, in a sentence.
    pub message: String,
    /// The result as markdown.
    pub formatted_output: String,
}

/// `remove_criterion`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CriterionRemoved {
    /// The session.
    pub session_id: String,
    /// The criterion removed.
    pub criterion_removed: String,
    /// How many criteria remain.
    pub total_criteria: usize,
    /// The criteria that remain, in the order added.
    pub all_criteria: Vec<String>,
    /// What happened, in a sentence.
    pub message: String,
    /// The result as markdown.
    pub formatted_output: String,
}

/// `set_score`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ScoreSet {
    /// The session.
    pub session_id: String,
    /// The cell's option.
    pub option: String,
    /// The cell's criterion.
    pub criterion: String,
    /// The manual score, or null when it was cleared.
    pub score: Option<f64>,
    /// The cell's status now.
    pub status: ManualStatus,
    /// What happened, in a sentence.
    pub message: String,
    /// The result as markdown.
    pub formatted_output: String,
}

/// A cell after `set_score`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ManualStatus {
    /// Scored by hand; evaluations keep it.
    Manual,
    /// Cleared; the next evaluation scores it.
    Missing,
}

/// `set_strategy`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StrategySet {
    /// The session.
    pub session_id: String,
    /// The strategy that ranks the session from now on.
    pub strategy: String,
    /// What happened, in a sentence.
    pub message: String,
    /// The result as markdown.
    pub formatted_output: String,
}

/// `evaluate_options`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Evaluated {
    /// The session.
    pub session_id: String,
    /// Whether every cell has a result: not cancelled, and no cell failed.
    pub evaluation_complete: bool,
    /// Whether the evaluation was cancelled; the cells finished before are kept.
    pub cancelled: bool,
    /// The counts.
    pub summary: EvaluationSummary,
    /// Why cells failed (they are evaluated again next time), or null when none did.
    pub errors: Option<Vec<String>>,
    /// What happened, in a sentence.
    pub message: String,
    /// The tools to call next.
    pub next_steps: Vec<String>,
    /// The result as markdown.
    pub formatted_output: String,
    /// How far the evaluation went beyond one judgment per cell, and why it stopped.
    pub adaptive: Adaptive,
}

/// How an evaluation spent its calls after the first pass, and why it stopped.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Adaptive {
    /// The winner's probability of being best it aimed for; 0 when it made one pass.
    pub confidence_target: f64,
    /// The most calls it could plan (the first pass always runs whole).
    pub max_calls: u32,
    /// Calls it planned: the first pass and the replicate rounds.
    pub calls_planned: u32,
    /// Replicate rounds run after the first pass.
    pub rounds: u32,
    /// Judgments the replicate rounds added to cells.
    pub replicate_judgments: usize,
    /// Why it stopped: `target_reached`, `budget_spent`, `indistinguishable`,
    /// `nothing_to_learn`, `single_pass`, `replicates_done`, `replicates_failed` or
    /// `cancelled`.
    pub stopped: String,
    /// The same, in a sentence.
    pub reason: String,
    /// Replicate calls that failed; the cells they were for keep their earlier judgments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replicate_errors: Vec<String>,
}

/// What an evaluation did.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EvaluationSummary {
    /// Options in the session.
    pub options_evaluated: usize,
    /// Criteria in the session.
    pub criteria_used: usize,
    /// Cells in the matrix (options × criteria).
    pub total_evaluations: usize,
    /// Cells of the matrix with an up-to-date score after this call, whichever call (or
    /// person) scored them: equal to `total_evaluations` when every cell is scored.
    pub successful_scores: usize,
    /// Cells of the matrix after this call whose criterion does not apply to the option.
    pub abstentions: usize,
    /// Cells this call failed to score (the `errors` list); the next evaluation tries them
    /// again. Unless cancelled, `successful_scores + abstentions + errors` is
    /// `total_evaluations`.
    pub errors: usize,
    /// Cells this call settled (scored, abstained or failed).
    pub cells_computed: usize,
    /// Cells already up to date that this call did not compute again.
    pub cells_reused: usize,
    /// Calls made to LLM backends.
    pub llm_calls: u64,
    /// Of those, answers replayed from the answer cache.
    pub cache_hits: u64,
    /// Tokens sent.
    pub input_tokens: u64,
    /// Tokens received.
    pub output_tokens: u64,
}

/// `get_decision_matrix`: the ranked matrix or, while the session lacks options or criteria,
/// what it lacks. Both are normal results, as the reference server returns them; the schema
/// is an object that is one or the other.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(extend(
    "type" = "object",
    "properties" = {"formatted_output": {"type": "string", "description": "The result as markdown."}},
    "required" = ["formatted_output"]
))]
pub enum MatrixResult {
    /// The matrix (boxed: it is most of the result's size).
    Ranked(Box<RankedMatrix>),
    /// What the session lacks before it has a matrix.
    Insufficient(InsufficientData),
}

/// The ranked matrix, with its markdown rendering.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RankedMatrix {
    /// The matrix.
    #[serde(flatten)]
    pub matrix: DecisionMatrix,
    /// The result as markdown.
    pub formatted_output: String,
}

/// A session without options or without criteria, in the reference server's words.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InsufficientData {
    /// The session.
    pub session_id: String,
    /// What is being decided.
    pub topic: String,
    /// `Need both options and criteria to generate matrix`.
    pub error: String,
    /// Always `insufficient_data`.
    pub status: InsufficientStatus,
    /// Whether the session has options.
    pub has_options: bool,
    /// Whether the session has criteria.
    pub has_criteria: bool,
    /// How many options it has.
    pub options_count: usize,
    /// How many criteria it has.
    pub criteria_count: usize,
    /// `Add options to evaluate` (null when there are options), `Add evaluation criteria`
    /// (null when there are criteria), `Run evaluation`, `Generate matrix`: the reference
    /// server's list, nulls included.
    pub next_steps: Vec<Option<String>>,
    /// The result as markdown.
    pub formatted_output: String,
}

/// The status of a matrix that cannot be made yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InsufficientStatus {
    /// The session lacks options or criteria.
    InsufficientData,
}

/// A session's ranked matrix, as `get_decision_matrix` returns it and `export_matrix` writes it
/// as JSON.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DecisionMatrix {
    /// The session.
    pub session_id: String,
    /// What is being decided.
    pub topic: String,
    /// The scoring strategy that ranked the options.
    pub strategy: String,
    /// Option → criterion → cell, both in the order added.
    pub matrix: ByName<ByName<MatrixCell>>,
    /// Every option, best first, with how each criterion contributed.
    pub rankings: Vec<Ranking>,
    /// The recommendation, in a sentence.
    pub recommendation: String,
    /// Criterion → weight, in the order added.
    pub criteria_weights: ByName<f64>,
    /// Per criterion, in the order added: the weight at which the winner changes.
    pub sensitivity: Vec<CriterionSensitivity>,
    /// When this matrix was computed (ISO 8601 in UTC, with microseconds and `+00:00`).
    pub evaluation_timestamp: String,
    /// The session's counts.
    pub session_info: SessionInfo,
    /// How sure the recommendation is, from every judgment the cells keep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Confidence>,
}

/// How sure the recommendation is: each option's probability of being best given the
/// judgments, whether that makes a clear winner, and how far the judges agree.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Confidence {
    /// The option most likely to be best, or null when nothing is scored.
    pub winner: Option<String>,
    /// Its probability of being best.
    pub winner_probability: f64,
    /// Whether `winner_probability` reaches `target`.
    pub clear_winner: bool,
    /// The probability a clear winner needs (the server's confidence target).
    pub target: f64,
    /// The verdict, in a sentence.
    pub verdict: String,
    /// Options with a material chance (5 % or more) of being best, most likely first.
    pub contenders: Vec<Contender>,
    /// How far the judgments agree.
    pub agreement: Agreement,
    /// How much evidence there is.
    pub samples: Samples,
    /// The noise of one judgment as measured, and the position effect removed.
    pub noise: NoiseReport,
    /// The model the probabilities are computed under: the weighted average of the cells'
    /// values (whatever strategy ranks the options).
    pub method: String,
}

/// An option that may be best.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Contender {
    /// The option.
    pub option: String,
    /// Its probability of being best.
    pub probability_best: f64,
}

/// Krippendorff's alpha (interval metric) of the judgments: 1 when judgments of the same
/// cell always agree, 0 when they agree no better than chance. Null until some cell has two
/// judgments.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Agreement {
    /// Over every criterion.
    pub alpha: Option<f64>,
    /// `reliable` (0.8 or more), `tentative` (0.667 to 0.8), `unreliable` (below 0.667) or
    /// `unmeasured` (no cell judged twice yet).
    pub reading: String,
    /// Per criterion, in the order added.
    pub criteria: Vec<CriterionAgreement>,
}

/// One criterion's agreement.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CriterionAgreement {
    /// The criterion.
    pub criterion: String,
    /// Its alpha, or null while unmeasured.
    pub alpha: Option<f64>,
    /// Cells of the criterion judged at least twice, which alpha is measured on. Advice
    /// waits until they are at least half the criterion's cells: replicates go to the
    /// contenders, whose close scores alone make alpha read low.
    pub cells_measured: usize,
    /// What to do when the judges agree too little (alpha below 0.667); null otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
}

/// How much evidence the cells hold.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Samples {
    /// Backend calls spent on the session by its evaluations.
    pub calls: u64,
    /// Judgments kept over every cell.
    pub judgments: usize,
    /// Fewest judgments of an evaluated cell.
    pub min_per_cell: usize,
    /// Most judgments of a cell.
    pub max_per_cell: usize,
    /// Mean judgments per evaluated cell.
    pub mean_per_cell: f64,
}

/// The noise model in force.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NoiseReport {
    /// Standard deviation of one judgment, on the 1–10 scale: pooled from the replicates,
    /// with a prior of 1.5 points filling in for the degrees of freedom they lack below 6.
    pub within_sd: f64,
    /// Degrees of freedom the replicates gave the estimate.
    pub degrees_of_freedom: f64,
    /// Whether the replicates outweigh the prior (6 degrees of freedom or more).
    pub measured: bool,
    /// Points the first listed option gains over the middle, removed from every score.
    pub position_effect: f64,
}

/// One cell of the matrix.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MatrixCell {
    /// The score, 1–10, or null when the cell has none.
    pub raw_score: Option<f64>,
    /// The score times the criterion's weight, or null.
    pub weighted_score: Option<f64>,
    /// Why, or why there is no score.
    pub justification: String,
    /// `scored`, `manual`, `abstained`, `failed` or `missing`.
    pub status: String,
    /// Whether the option or criterion changed since the cell was scored.
    pub stale: bool,
    /// Judgments the score is the mean of (0 for manual, failed and missing cells).
    pub samples: usize,
    /// Standard deviation of those judgments' scores, when there are two or more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread: Option<f64>,
}

/// An option's place in a ranking.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RankedOption {
    /// The option.
    pub option: String,
    /// Its total under the strategy.
    pub weighted_total: f64,
    /// 1 for the best; equal totals share a rank.
    pub rank: u32,
    /// The probability that the option is the best, given the judgments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability_best: Option<f64>,
    /// The ranks the option may take: the central 90 % of its rank given the judgments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_interval: Option<[u32; 2]>,
}

/// An option's place in the matrix's ranking, with its cells.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Ranking {
    /// The option's place.
    #[serde(flatten)]
    pub ranked: RankedOption,
    /// Per criterion, in the order added, the cell's contribution (failed and missing cells
    /// left out).
    pub breakdown: Vec<Contribution>,
}

/// One cell's part in an option's total.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Contribution {
    /// The criterion.
    pub criterion: String,
    /// Its weight.
    pub weight: f64,
    /// The score, or null when the criterion does not apply.
    pub raw_score: Option<f64>,
    /// The score times the weight, or null.
    pub weighted_score: Option<f64>,
    /// Why.
    pub justification: String,
    /// Whether the criterion does not apply to the option.
    pub abstained: bool,
}

/// How robust the winner is to one criterion's weight.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CriterionSensitivity {
    /// The criterion.
    pub criterion: String,
    /// The weight at which the winner changes, or null when no allowed weight changes it.
    pub threshold_weight: Option<f64>,
    /// The change, when there is one.
    #[serde(flatten)]
    pub change: Option<WinnerChange>,
}

/// The weight change that changes the winner.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WinnerChange {
    /// The weight now.
    pub current_weight: f64,
    /// `threshold_weight - current_weight`.
    pub change: f64,
    /// `change / current_weight`.
    pub relative_change: f64,
    /// The option that wins past the threshold.
    pub new_winner: Option<String>,
}

/// A session's counts, in the matrix.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SessionInfo {
    /// When the session was created (ISO 8601, UTC, microseconds).
    pub created_at: String,
    /// Evaluations run on it.
    pub evaluations_run: u32,
    /// Options.
    pub total_options: usize,
    /// Criteria.
    pub total_criteria: usize,
    /// Cells (options × criteria).
    pub cells: usize,
    /// Cells with an up-to-date score.
    pub cells_scored: usize,
}

/// `analyze_sensitivity`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Sensitivity {
    /// The session.
    pub session_id: String,
    /// The scoring strategy that ranked the options.
    pub strategy: String,
    /// Every option, best first.
    pub rankings: Vec<RankedOption>,
    /// The recommendation, in a sentence.
    pub recommendation: String,
    /// Per criterion, in the order added: the weight at which the winner changes.
    pub sensitivity: Vec<CriterionSensitivity>,
    /// Criterion → weight, in the order added.
    pub criteria_weights: ByName<f64>,
    /// The ranking under the what-if weights, when some were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what_if: Option<WhatIf>,
    /// With `weight_ranges`: where each option may rank when the weights lie anywhere in the
    /// ranges and the scores are as uncertain as the judgments say, best first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acceptability: Option<Vec<RankAcceptability>>,
    /// The result as markdown.
    pub formatted_output: String,
}

/// The ranking under what-if weights.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WhatIf {
    /// Criterion → what-if weight, in the order given.
    pub weights: ByName<f64>,
    /// Every option, best first, under those weights.
    pub rankings: Vec<RankedOption>,
    /// The recommendation under those weights.
    pub recommendation: String,
    /// Whether another option would win.
    pub winner_changes: bool,
}

/// One option's rank acceptability.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RankAcceptability {
    /// The option.
    pub option: String,
    /// Share of the draws in which it ranks first.
    pub first: f64,
    /// Share of the draws in which it takes each rank, first rank first.
    pub rank_shares: Vec<f64>,
    /// The typical weights (summing to 1) under which it ranks first; null when it never
    /// does.
    pub central_weights: Option<ByName<f64>>,
}

/// `export_matrix`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Exported {
    /// The session.
    pub session_id: String,
    /// `json`, `csv` or `markdown`.
    pub format: String,
    /// The matrix in that format.
    pub content: String,
    /// The content in a markdown code block.
    pub formatted_output: String,
}

/// A session in `list_sessions` and `current_session`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SessionSummary {
    /// The session.
    pub session_id: String,
    /// What is being decided.
    pub topic: String,
    /// When the session was created (ISO 8601, UTC, microseconds).
    pub created_at: String,
    /// Its options, in the order added.
    pub options: Vec<String>,
    /// Its criteria, in the order added.
    pub criteria: Vec<String>,
    /// Evaluations run on it.
    pub evaluations_run: u32,
    /// The scoring strategy that ranks it.
    pub strategy: String,
    /// Whether an evaluation has run.
    pub status: SessionStatus,
}

/// Whether a session has been evaluated. The reference server calls a session no evaluation
/// has run on `setup` in `list_sessions` and `pending` in `current_session`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// Not evaluated yet (`list_sessions`).
    Setup,
    /// Not evaluated yet (`current_session`).
    Pending,
    /// Evaluated at least once.
    Evaluated,
}

/// `list_sessions`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SessionList {
    /// How many of the caller's sessions are alive, on every page.
    pub total_active: usize,
    /// This page of them, the most recently created first.
    pub sessions: Vec<SessionSummary>,
    /// Whether more sessions follow this page.
    pub has_more: bool,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The session store's counters.
    pub stats: SessionStats,
    /// The result as markdown.
    pub formatted_output: String,
}

/// `clear_all_sessions`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SessionsCleared {
    /// How many sessions were removed.
    pub cleared: usize,
    /// What happened, in a sentence.
    pub message: String,
    /// The session store's counters.
    pub stats: SessionStats,
}

/// `current_session`: the most recent session, or `"session": null` when there is none.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CurrentSession {
    /// The session, when there is one.
    #[serde(flatten)]
    pub current: Option<CurrentDetails>,
    /// Present, as null, only when there is no session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<NoSession>,
    /// What was found, in a sentence.
    pub message: String,
    /// The result as markdown.
    pub formatted_output: String,
}

/// The current session with its backend and model.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CurrentDetails {
    /// The session.
    #[serde(flatten)]
    pub summary: SessionSummary,
    /// Its backend.
    pub model_backend: String,
    /// Its model, or null for the backend's default.
    pub model_name: Option<String>,
}

/// Serializes as `null`: the reference server's way to say there is no current session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct NoSession;

/// `list_backends`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BackendList {
    /// The backends loaded.
    pub backends: Vec<PluginSummary>,
    /// The backend a session uses unless it names another.
    pub default_backend: String,
    /// The result as markdown.
    pub formatted_output: String,
}

/// A loaded plugin.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PluginSummary {
    /// Its id.
    pub id: String,
    /// Its version.
    pub version: String,
    /// What it is, if it says.
    pub description: Option<String>,
}

/// `list_plugins`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PluginList {
    /// Every plugin loaded.
    pub plugins: Vec<LoadedPlugin>,
    /// Plugins that failed to load, each with the reason.
    pub failed: Vec<String>,
    /// The result as markdown.
    pub formatted_output: String,
}

/// A loaded plugin with its kind.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LoadedPlugin {
    /// The plugin.
    #[serde(flatten)]
    pub plugin: PluginSummary,
    /// `llm-backend` or `scoring`.
    pub kind: String,
}

/// `server_stats`: every metric now, with health judged on it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ServerStats {
    /// The metrics.
    #[serde(flatten)]
    pub snapshot: Snapshot,
    /// The result as markdown.
    pub formatted_output: String,
}

/// `test_aws_bedrock_connection`, when the connection works.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BedrockConnection {
    /// `ok`.
    pub status: String,
    /// The AWS region called.
    pub region: String,
    /// The model called.
    pub model_tested: String,
    /// Characters in the model's answer.
    pub response_length: usize,
    /// What happened, in a sentence.
    pub message: String,
    /// The Bedrock API used: `converse`.
    pub api_version: String,
    /// The result as markdown.
    pub formatted_output: String,
}
