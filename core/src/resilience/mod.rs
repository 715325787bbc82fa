//! The policies that keep evaluation correct and bounded when providers misbehave: retry
//! ([`retry`]), a circuit breaker per backend ([`breaker`]) and per-call timeouts
//! ([`timeout`]).
//!
//! Each is policy only, with the clock passed in, so each is tested without waiting. They are
//! here rather than in the host because the configuration ([`crate::config`]) holds their
//! settings; the host applies them around every backend call.

pub mod breaker;
pub mod retry;
pub mod timeout;
