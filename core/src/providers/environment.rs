//! [`Environment`]: a snapshot of the process environment, so derivations are pure and testable.

use std::collections::BTreeMap;

/// Environment variables, captured once. Unset, empty and blank variables read as unset, as
/// the AWS SDKs and the OpenAI SDK treat them.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// The current process environment (variables that are valid Unicode).
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// Fixed variables, for tests and embedding.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The variable's value, trimmed, unless unset or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first of `names` that is set, with its value.
    pub fn first<'a>(&'a self, names: &[&'a str]) -> Option<(&'a str, &'a str)> {
        names
            .iter()
            .find_map(|name| self.get(name).map(|value| (*name, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_unset_and_first_takes_precedence() {
        let env = Environment::from_pairs([("A", " "), ("B", "b"), ("C", "c")]);
        assert_eq!(env.get("A"), None);
        assert_eq!(env.first(&["A", "B", "C"]), Some(("B", "b")));
        assert_eq!(env.first(&["X"]), None);
    }
}
