//! What keeps evaluation correct and bounded when providers misbehave: retry policy
//! ([`retry`]), a circuit breaker per backend ([`breaker`]), requests-per-minute limits per
//! backend and model ([`rate_limit`]) and per-call timeouts ([`timeout`]).
//!
//! Each is policy only, with the clock passed in or abstracted, so each is tested without
//! waiting; the orchestrator applies them around every backend call. The pure policies live
//! in `decision-matrix-core` (the configuration holds their settings); the rate limiter,
//! built on `governor`, stays here.

pub use decision_matrix_core::resilience::{breaker, retry, timeout};
pub(crate) mod rate_limit;
