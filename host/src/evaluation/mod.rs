//! The evaluation engine: has LLMs score every pending cell of a session, correctly under
//! faults, as fast as the backends allow, with as few billed calls as possible.
//!
//! - [`plan::Plan`] snapshots the cells a session still needs.
//! - [`prompt`] writes each call's self-contained prompt; [`answer`] reads the reply (a pure
//!   reader, from `decision-matrix-core`).
//! - [`orchestrator::Evaluator`] runs the plan in batches, with retries and an optional
//!   fallback backend; each call goes through one pipeline (`orchestrator/pipeline.rs`): the
//!   answer cache ([`cache`]), concurrency limits ([`concurrency`]), the circuit breaker, the
//!   rate limit and the timeout ([`resilience`]). Time is tokio's, so tests run it paused.
//! - [`backend::Backend`] is all the engine needs from a backend; backend plugins implement it.

pub(crate) mod backend;
pub(crate) mod cache;
pub(crate) mod concurrency;
pub(crate) mod orchestrator;
pub(crate) mod plan;
pub(crate) mod prompt;
pub mod resilience;
#[cfg(test)]
mod tests;

pub use decision_matrix_core::answer;

pub use backend::{Backend, BackendFailure, Backends, Completion, CompletionRequest};
pub use decision_matrix_core::config::{
    BackendDefaults, EvaluationConfig, EvaluationSettings, Fallback,
};
pub use orchestrator::{CellResult, EvaluationReport, Evaluator};
pub use plan::Plan;
