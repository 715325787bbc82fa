//! [`Score`]: a number on the 1–10 scale, valid by construction.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A score from 1 to 10 inclusive, finite.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Score(f64);

/// A number that is not a valid score.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("score {0} is outside 1-10")]
pub struct OutOfRange(pub f64);

impl Score {
    /// Lowest score.
    pub const MIN: f64 = 1.0;
    /// Highest score.
    pub const MAX: f64 = 10.0;

    /// `value` if it lies in 1–10.
    pub fn new(value: f64) -> Result<Score, OutOfRange> {
        if (Self::MIN..=Self::MAX).contains(&value) {
            Ok(Score(value))
        } else {
            Err(OutOfRange(value))
        }
    }

    /// `value` moved into 1–10, as the reference server does with model answers (0 becomes
    /// 1, 12 becomes 10). `None` for NaN and infinities, which carry no score at all.
    pub fn clamped(value: f64) -> Option<Score> {
        value
            .is_finite()
            .then(|| Score(value.clamp(Self::MIN, Self::MAX)))
    }

    /// The number.
    pub fn get(self) -> f64 {
        self.0
    }

    /// The number to two decimals, as tables print it: a mean of several judgments has
    /// more digits than anyone reads (7.333… prints as 7.33; 7 stays 7).
    pub fn shown(self) -> f64 {
        (self.0 * 100.0).round() / 100.0
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for Score {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Score, D::Error> {
        let value = f64::deserialize(deserializer)?;
        Score::new(value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_inclusive_and_clamping_keeps_finite_values() {
        assert!(Score::new(1.0).is_ok());
        assert!(Score::new(10.0).is_ok());
        assert!(Score::new(0.99).is_err());
        assert!(Score::new(f64::NAN).is_err());
        assert_eq!(Score::clamped(0.0).map(Score::get), Some(1.0));
        assert_eq!(Score::clamped(12.0).map(Score::get), Some(10.0));
        assert_eq!(Score::clamped(f64::INFINITY), None);
    }

    #[test]
    fn deserialising_checks_the_range() {
        assert!(serde_json::from_str::<Score>("7.5").is_ok());
        assert!(serde_json::from_str::<Score>("11").is_err());
    }
}
