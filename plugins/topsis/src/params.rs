//! The strategy's parameters: which normalisation to use and which criteria are costs.
//!
//! The server only ever collects benefit scores on one scale, so the defaults (vector
//! normalisation, every criterion a benefit) are classic TOPSIS on that matrix. The two
//! parameters exist for matrices of raw measurements and to reproduce published examples that
//! use min-max normalisation or cost criteria exactly.

use dmx_plugin_sdk::PluginError;

use crate::math::{Direction, Normalization};

/// JSON Schema of the accepted parameters, published in `StrategyInfo::params_schema`. Values
/// travel as strings, as every strategy parameter does.
pub const SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "normalization": {
      "type": "string",
      "enum": ["vector", "minmax"],
      "default": "vector",
      "description": "How each criterion's scores are scaled before weighting. vector: divide by the column's Euclidean norm (classic TOPSIS). minmax: map the column's lowest score to 0 and its highest to 1."
    },
    "types": {
      "type": "string",
      "pattern": "^\\s*([+-]?1\\s*(,\\s*[+-]?1\\s*)*)?$",
      "description": "One entry per criterion, in criteria order, separated by commas: 1 for a benefit criterion (higher is better), -1 for a cost criterion (lower is better). Default: every criterion is a benefit."
    }
  },
  "additionalProperties": false
}"#;

/// What the parameters ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How columns are scaled.
    pub normalization: Normalization,
    /// One direction per criterion.
    pub directions: Vec<Direction>,
}

/// Reads `params` for a matrix with `criteria` criteria. Unknown, repeated or malformed
/// parameters are [`PluginError::InvalidInput`]: silently ignoring a misspelt `types` would
/// rank a cost criterion as a benefit.
pub fn parse(params: &[(String, String)], criteria: usize) -> Result<Settings, PluginError> {
    let mut normalization = None;
    let mut directions = None;
    for (key, value) in params {
        match key.as_str() {
            "normalization" => {
                once(key, normalization.is_some())?;
                normalization = Some(parse_normalization(value)?);
            }
            "types" => {
                once(key, directions.is_some())?;
                directions = Some(parse_types(value, criteria)?);
            }
            other => {
                return Err(invalid(format!(
                    "unknown parameter `{other}`; this strategy accepts `normalization` and \
                     `types`"
                )));
            }
        }
    }
    Ok(Settings {
        normalization: normalization.unwrap_or_default(),
        directions: directions.unwrap_or_else(|| vec![Direction::Benefit; criteria]),
    })
}

fn once(key: &str, seen: bool) -> Result<(), PluginError> {
    if seen {
        Err(invalid(format!(
            "parameter `{key}` is given more than once"
        )))
    } else {
        Ok(())
    }
}

fn parse_normalization(value: &str) -> Result<Normalization, PluginError> {
    match value.trim() {
        "vector" => Ok(Normalization::Vector),
        "minmax" => Ok(Normalization::MinMax),
        other => Err(invalid(format!(
            "`normalization` must be `vector` or `minmax`, not `{other}`"
        ))),
    }
}

fn parse_types(value: &str, criteria: usize) -> Result<Vec<Direction>, PluginError> {
    // An empty list is the only valid value for a matrix without criteria; `split` would
    // otherwise see one empty entry.
    let directions = if value.trim().is_empty() {
        Vec::new()
    } else {
        value
            .split(',')
            .enumerate()
            .map(|(i, entry)| match entry.trim() {
                "1" | "+1" => Ok(Direction::Benefit),
                "-1" => Ok(Direction::Cost),
                other => Err(invalid(format!(
                    "`types` entry {} is `{other}`; use 1 for a benefit criterion or -1 for a \
                     cost criterion",
                    i + 1
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    if directions.len() != criteria {
        return Err(invalid(format!(
            "`types` has {} entries, but the matrix has {criteria} criteria; give one per \
             criterion, in criteria order",
            directions.len()
        )));
    }
    Ok(directions)
}

fn invalid(message: String) -> PluginError {
    PluginError::InvalidInput(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{Benefit, Cost};

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn error(params: &[(&str, &str)], criteria: usize) -> String {
        match parse(&p(params), criteria) {
            Err(PluginError::InvalidInput(msg)) => msg,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_benefit_only_vector_normalisation() {
        assert_eq!(
            parse(&[], 3).unwrap(),
            Settings {
                normalization: Normalization::Vector,
                directions: vec![Benefit; 3],
            }
        );
    }

    #[test]
    fn reads_both_parameters() {
        let s = parse(
            &p(&[("types", " 1, -1 ,+1"), ("normalization", "minmax")]),
            3,
        )
        .unwrap();
        assert_eq!(s.normalization, Normalization::MinMax);
        assert_eq!(s.directions, vec![Benefit, Cost, Benefit]);
        assert_eq!(parse(&p(&[("types", "")]), 0).unwrap().directions, vec![]);
    }

    #[test]
    fn rejects_bad_parameters_with_a_reason() {
        assert!(error(&[("weights", "1")], 2).contains("unknown parameter `weights`"));
        assert!(error(&[("normalization", "sum")], 2).contains("`sum`"));
        assert!(error(&[("types", "1,0")], 2).contains("entry 2 is `0`"));
        assert!(error(&[("types", "1,,1")], 3).contains("entry 2 is ``"));
        assert!(error(&[("types", "1,-1")], 3).contains("2 entries, but the matrix has 3"));
        assert!(error(&[("types", "")], 1).contains("0 entries"));
        assert!(
            error(&[("types", "1"), ("types", "1")], 1).contains("`types` is given more than once")
        );
        assert!(
            error(
                &[("normalization", "vector"), ("normalization", "minmax")],
                1
            )
            .contains("more than once")
        );
    }

    #[test]
    fn schema_is_json_and_matches_the_parser() {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
        assert_eq!(schema["additionalProperties"], false);
        let properties = schema["properties"].as_object().expect("properties");
        let mut keys: Vec<&str> = properties.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["normalization", "types"]);
        // Every value the schema offers is one the parser takes.
        for value in schema["properties"]["normalization"]["enum"]
            .as_array()
            .expect("enum")
        {
            let value = value.as_str().expect("string");
            assert!(parse(&p(&[("normalization", value)]), 1).is_ok(), "{value}");
        }
    }
}
