//! The operator's configuration, loaded from where it lives: the file named by `--config` or
//! `DMM_CONFIG`, and the process environment.
//!
//! What the configuration is, how its layers merge and how every value is checked is pure and
//! lives in `decision_matrix_core::config` (re-exported here); this module only reads the file
//! and the environment and hands their text over.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

pub use decision_matrix_core::config::*;

use crate::providers::Environment;

/// Loads the configuration from the process environment and `overrides`.
pub fn load(overrides: &Overrides) -> anyhow::Result<Loaded> {
    resolve(overrides, &Environment::from_process())
}

/// Loads the configuration from `env` and `overrides`, reading the configuration file they
/// name (`--config`, else `DMM_CONFIG`): `DMM_ENVIRONMENT` < profile < file < environment
/// variables < flags, every value checked.
pub fn resolve(overrides: &Overrides, env: &Environment) -> anyhow::Result<Loaded> {
    let file = overrides
        .file
        .clone()
        .or_else(|| env.get(env::CONFIG_ENV).map(PathBuf::from));
    let text = file.as_deref().map(read_text).transpose()?;
    Config::resolve_text(overrides, env, file.as_deref().zip(text.as_deref()))
}

/// Parses one configuration file on its own (no layers).
pub fn from_file(path: &Path) -> anyhow::Result<Config> {
    let table = parse_table(path, &read_text(path)?)?;
    Config::deserialize_table(table)
        .map_err(|message| anyhow::anyhow!("in configuration file {}: {message}", path.display()))
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("reading configuration file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_pairs(pairs.iter().copied())
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("decision-matrix.toml");
        std::fs::write(&path, text).expect("write config");
        (dir, path)
    }

    #[test]
    fn resolving_text_is_resolving_the_file() {
        let text = "profile = \"production\"\n[sessions]\nttl_seconds = 60\n";
        let (_dir, path) = file(text);
        let mut overrides = Overrides::default();
        overrides.file = Some(path.clone());
        let from_file = resolve(&overrides, &env(&[])).expect("valid");
        let from_text = Config::resolve_text(&Overrides::default(), &env(&[]), Some((&path, text)))
            .expect("valid");
        assert_eq!(
            toml::to_string(&from_text.config).expect("serializes"),
            toml::to_string(&from_file.config).expect("serializes")
        );
        assert_eq!(from_text.file, Some(path.clone()));
        assert_eq!(
            from_text.layered.source_of("sessions.ttl_seconds"),
            Source::File(path.clone())
        );
        let err = Config::resolve_text(
            &Overrides::default(),
            &env(&[]),
            Some((&path, "[sessions]\nttl_seconds = -1\n")),
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("sessions.ttl_seconds"),
            "{err:#}"
        );
    }
}
