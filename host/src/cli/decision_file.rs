//! Decision files for `decision-matrix evaluate`: a topic, its options and weighted criteria,
//! in TOML, YAML or JSON (by the file's extension).
//!
//! ```toml
//! topic = "Pick a database for the analytics service"
//! backend = "litellm"          # optional, like start_decision_analysis's model_backend
//! model = "gpt-4o-mini"        # optional
//! strategy = "topsis"          # optional
//! options = ["Postgres", { name = "ClickHouse", description = "Columnar, self-hosted" }]
//!
//! [[criteria]]
//! name = "query speed"
//! description = "Latency of typical analytical queries"
//! weight = 3.0
//! ```
//!
//! The keys are the tools' parameters under shorter names (`backend` for `model_backend`,
//! which is accepted too), so a decision moves between a file and an MCP client unchanged.
//! Unknown keys are errors.

use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;
use serde_json::Value;

/// A decision to run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionFile {
    /// What is being decided.
    pub topic: String,
    /// The candidates: names, or tables with `name` and `description`.
    pub options: Vec<OptionEntry>,
    /// The criteria, each with a name, a description and a weight.
    pub criteria: Vec<CriterionEntry>,
    /// Backend for every criterion that names none.
    #[serde(default, alias = "model_backend")]
    pub backend: Option<String>,
    /// Model for that backend.
    #[serde(default, alias = "model_name")]
    pub model: Option<String>,
    /// Sampling temperature, 0–2 (default 0.1).
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Scoring strategy (default `weighted-average`).
    #[serde(default)]
    pub strategy: Option<String>,
    /// A panel of judges (`model_backend`, `model_name`, `temperature` each) in place of
    /// `backend` and `model`.
    #[serde(default)]
    pub judges: Option<Vec<decision_matrix_core::params::JudgeArgs>>,
}

/// An option: its name alone, or a name and a description.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OptionEntry {
    /// `"Postgres"`.
    Name(String),
    /// `{ name = "Postgres", description = "..." }`.
    Described(DescribedOption),
}

/// An option with a description.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescribedOption {
    /// The option's name.
    pub name: String,
    /// What it is.
    #[serde(default)]
    pub description: Option<String>,
}

impl OptionEntry {
    /// The option's name.
    pub fn name(&self) -> &str {
        match self {
            OptionEntry::Name(name) => name,
            OptionEntry::Described(option) => &option.name,
        }
    }

    /// The option's description, if it has one.
    pub fn description(&self) -> Option<&str> {
        match self {
            OptionEntry::Name(_) => None,
            OptionEntry::Described(option) => option.description.as_deref(),
        }
    }
}

/// A criterion, with `add_criterion`'s parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionEntry {
    /// Criterion name.
    pub name: String,
    /// What it measures.
    pub description: String,
    /// Importance, 0.1–10 (default 1).
    #[serde(default = "one")]
    pub weight: f64,
    /// Instructions replacing the generated ones.
    #[serde(default)]
    pub custom_prompt: Option<String>,
    /// Backend for this criterion.
    #[serde(default, alias = "model_backend")]
    pub backend: Option<String>,
    /// Model for this criterion.
    #[serde(default, alias = "model_name")]
    pub model: Option<String>,
    /// Sampling temperature for this criterion.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// What points of the 1–10 scale mean (`"1"` to `"10"` → meaning).
    #[serde(default)]
    pub scale: Option<std::collections::BTreeMap<String, String>>,
    /// A panel of judges of its own.
    #[serde(default)]
    pub judges: Option<Vec<decision_matrix_core::params::JudgeArgs>>,
}

fn one() -> f64 {
    1.0
}

impl DecisionFile {
    /// Reads `path`, choosing the format by its extension.
    pub fn read(path: &Path) -> anyhow::Result<DecisionFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading decision file {}", path.display()))?;
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        DecisionFile::parse(&text, &extension)
            .with_context(|| format!("in decision file {}", path.display()))
    }

    /// Parses `text` written in the format of `extension` (`toml`, `yaml`, `yml`, `json`).
    pub fn parse(text: &str, extension: &str) -> anyhow::Result<DecisionFile> {
        let tree: Value = match extension {
            "toml" => toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?,
            "yaml" | "yml" => serde_yaml_ng::from_str(text)?,
            "json" => serde_json::from_str(text)?,
            other => anyhow::bail!(
                "unsupported file extension '{other}'; allowed: .toml, .yaml, .yml, .json"
            ),
        };
        serde_path_to_error::deserialize(tree).map_err(|error| {
            let path = error.path().to_string();
            let message = error.into_inner().to_string();
            let message = if message.contains("untagged enum OptionEntry") {
                "expected an option name, or a table with `name` and `description`".to_owned()
            } else {
                message
            };
            anyhow::anyhow!("{path}: {message}")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
        topic = "Pick a database"
        backend = "litellm"
        strategy = "topsis"
        options = ["Postgres", { name = "ClickHouse", description = "Columnar" }]
        [[criteria]]
        name = "speed"
        description = "Query latency"
        weight = 3.0
        [[criteria]]
        name = "cost"
        description = "Monthly bill"
        model_name = "gpt-4o"
    "#;

    #[test]
    fn the_three_formats_read_the_same_decision() {
        let from_toml = DecisionFile::parse(TOML, "toml").expect("TOML");
        let yaml = "topic: Pick a database\nbackend: litellm\nstrategy: topsis\noptions:\n  - Postgres\n  - name: ClickHouse\n    description: Columnar\ncriteria:\n  - name: speed\n    description: Query latency\n    weight: 3.0\n  - name: cost\n    description: Monthly bill\n    model_name: gpt-4o\n";
        assert_eq!(DecisionFile::parse(yaml, "yml").expect("YAML"), from_toml);
        let json = serde_json::json!({
            "topic": "Pick a database", "backend": "litellm", "strategy": "topsis",
            "options": ["Postgres", {"name": "ClickHouse", "description": "Columnar"}],
            "criteria": [
                {"name": "speed", "description": "Query latency", "weight": 3.0},
                {"name": "cost", "description": "Monthly bill", "model_name": "gpt-4o"},
            ],
        });
        assert_eq!(
            DecisionFile::parse(&json.to_string(), "json").expect("JSON"),
            from_toml
        );
        assert_eq!(from_toml.options[1].description(), Some("Columnar"));
        assert_eq!(from_toml.criteria[1].weight, 1.0);
        assert_eq!(from_toml.criteria[1].model.as_deref(), Some("gpt-4o"));
    }

    #[test]
    fn the_example_decision_parses() {
        let text = include_str!("../../../examples/decisions/database.toml");
        let decision = DecisionFile::parse(text, "toml").expect("valid example");
        assert_eq!(decision.options.len(), 3);
        assert_eq!(decision.criteria.len(), 3);
    }

    #[test]
    fn mistakes_name_where_they_are() {
        let error = |text: &str, extension: &str| {
            DecisionFile::parse(text, extension)
                .expect_err("invalid")
                .to_string()
        };
        assert_eq!(
            error(
                r#"{"topic": "t", "options": ["a", 3], "criteria": []}"#,
                "json"
            ),
            "options[1]: expected an option name, or a table with `name` and `description`"
        );
        let typo = error(
            "topic = \"t\"\noptions = []\n[[criteria]]\nname = \"c\"\ndescription = \"d\"\nwieght = 2\n",
            "toml",
        );
        assert!(
            typo.starts_with("criteria[0]") && typo.contains("unknown field `wieght`"),
            "{typo}"
        );
        assert_eq!(
            error("{}", "ini"),
            "unsupported file extension 'ini'; allowed: .toml, .yaml, .yml, .json"
        );
    }
}
