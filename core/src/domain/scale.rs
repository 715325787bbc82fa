//! [`Scale`]: what given points of a criterion's 1–10 scale mean ("1: no encryption, 5:
//! encryption at rest, 10: end-to-end with audited key management").
//!
//! Without anchors a judge scoring a batch tends to grade the options against each other: the
//! best of a weak batch gets an 8. Anchors give every call the same rubric, so a score means
//! the same in every batch and every round, which is what replicates and a panel of judges
//! need to be averaged at all.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::limits::ValidationError;

/// Anchors by point of the scale (1 to 10), each a short description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scale(BTreeMap<u8, String>);

/// The longest anchor text, in characters.
pub const MAX_ANCHOR_LENGTH: usize = 500;

impl Scale {
    /// The anchors of `given` (point → meaning, the points written as numbers `"1"` to
    /// `"10"`); `None` for an empty map, which removes a criterion's scale.
    pub fn parse(given: &BTreeMap<String, String>) -> Result<Option<Scale>, ValidationError> {
        let invalid = |message: String| ValidationError::new("Invalid scale", message);
        let mut anchors = BTreeMap::new();
        for (point, meaning) in given {
            let number = point
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|n| (1..=10).contains(n))
                .ok_or_else(|| {
                    invalid(format!(
                        "Invalid scale: '{point}' is not a point of the scale; use the whole \
                         numbers 1 to 10 as keys, for example {{\"1\": \"...\", \"5\": \"...\", \
                         \"10\": \"...\"}}"
                    ))
                })?;
            let length = meaning.chars().count();
            if meaning.trim().is_empty() || length > MAX_ANCHOR_LENGTH {
                return Err(invalid(format!(
                    "Invalid scale: the meaning of {number} must be 1-{MAX_ANCHOR_LENGTH} \
                     characters (got {length})"
                )));
            }
            if anchors.insert(number, meaning.trim().to_owned()).is_some() {
                return Err(invalid(format!(
                    "Invalid scale: the point {number} is given twice"
                )));
            }
        }
        Ok((!anchors.is_empty()).then_some(Scale(anchors)))
    }

    /// The anchors, lowest point first.
    pub fn anchors(&self) -> impl Iterator<Item = (u8, &str)> {
        self.0
            .iter()
            .map(|(point, meaning)| (*point, meaning.as_str()))
    }

    /// The anchors as the tools show them (point as text → meaning).
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(point, meaning)| (point.to_string(), meaning.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn anchors_are_points_of_the_scale_with_a_meaning() {
        let scale = Scale::parse(&map(&[("10", "best"), ("1", " worst "), ("5", "fair")]))
            .expect("valid")
            .expect("some");
        let anchors: Vec<(u8, &str)> = scale.anchors().collect();
        assert_eq!(anchors, [(1, "worst"), (5, "fair"), (10, "best")]);
        assert_eq!(Scale::parse(&BTreeMap::new()).expect("valid"), None);
        let json = serde_json::to_string(&scale).expect("json");
        assert_eq!(json, r#"{"1":"worst","5":"fair","10":"best"}"#);
        assert_eq!(serde_json::from_str::<Scale>(&json).expect("reads"), scale);
    }

    #[test]
    fn bad_anchors_say_what_is_allowed() {
        for (given, expected) in [
            (map(&[("0", "x")]), "'0' is not a point of the scale"),
            (map(&[("11", "x")]), "use the whole numbers 1 to 10"),
            (map(&[("high", "x")]), "'high' is not a point"),
            (
                map(&[("5", "  ")]),
                "the meaning of 5 must be 1-500 characters",
            ),
            (
                map(&[("5", "x"), ("05", "y")]),
                "the point 5 is given twice",
            ),
        ] {
            let error = Scale::parse(&given).expect_err("refused");
            assert!(
                error.message.contains(expected),
                "{given:?}: {}",
                error.message
            );
        }
        let long = "x".repeat(MAX_ANCHOR_LENGTH + 1);
        assert!(Scale::parse(&map(&[("1", &long)])).is_err());
    }
}
