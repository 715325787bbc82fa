//! A panel of judges: several models scoring the same cells, each with its own backend,
//! model and temperature.
//!
//! One model asked again reduces its noise but never its own leanings (how it sees a cell,
//! the same every time). Only other models average those out; a panel is how a decision asks
//! them. A session may have one for every criterion, and a criterion one of its own.

use super::cell::EvaluatorSettings;
use super::limits::{Limits, ValidationError};

/// The most judges a panel may have: each judges every cell, so a panel multiplies the
/// calls of a pass.
pub const MAX_JUDGES: usize = 5;

/// Checks `judges`: none (no panel), or 2 to [`MAX_JUDGES`] judges, no two alike, model
/// names and temperatures as `limits` allow.
pub fn check(judges: &[EvaluatorSettings], limits: &Limits) -> Result<(), ValidationError> {
    if judges.is_empty() {
        return Ok(());
    }
    if !(2..=MAX_JUDGES).contains(&judges.len()) {
        return Err(ValidationError::new(
            "Invalid judges",
            format!(
                "Invalid judges: a panel has 2 to {MAX_JUDGES} judges (got {}); for one judge, \
                 give model_backend and model_name instead",
                judges.len()
            ),
        ));
    }
    for (i, judge) in judges.iter().enumerate() {
        limits.model_name(judge.model.as_deref())?;
        limits.temperature(Some(judge.temperature))?;
        if let Some(first) = judges[..i].iter().position(|j| j == judge) {
            return Err(ValidationError::new(
                "Invalid judges",
                format!(
                    "Invalid judges: judge {} repeats judge {} ({} {}); each judge of a panel \
                     must differ in backend, model or temperature",
                    i + 1,
                    first + 1,
                    judge.backend,
                    judge.model.as_deref().unwrap_or("default model"),
                ),
            ));
        }
    }
    Ok(())
}
