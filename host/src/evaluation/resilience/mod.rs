//! What keeps evaluation correct and bounded when providers misbehave: retry policy
//! ([`retry`]), a circuit breaker per backend ([`breaker`]), requests-per-minute limits per
//! backend and model ([`rate_limit`]) and per-call timeouts ([`timeout`]).
//!
//! Each is policy only, with the clock passed in or abstracted, so each is tested without
//! waiting; the orchestrator applies them around every backend call.

pub mod breaker;
pub(crate) mod rate_limit;
pub mod retry;
pub mod timeout;
