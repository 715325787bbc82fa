//! The operator's configuration file.
//!
//! `[plugins]` (directories, limits, HTTP bounds), `[secrets.*]` (where secret values come
//! from), `[grants.*]` (what each plugin may reach), `[evaluation]` (how cells are scored),
//! `[limits]` (session input limits) and `[sessions]` (how many sessions, for how long). Unknown keys are errors, so a misspelt grant never
//! silently grants nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

use crate::domain::Limits;
use crate::evaluation::EvaluationConfig;
use crate::plugins::PluginSettings;
use crate::plugins::grants::{Grant, GrantsConfig, SecretSource};
use crate::server::SessionsConfig;

/// Environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "DMM_CONFIG";
/// Environment variable overriding `[plugins] dir`.
pub const PLUGINS_DIR_ENV: &str = "DMM_PLUGINS_DIR";
/// Environment variable overriding `[plugins] cache_dir`.
pub const PLUGIN_CACHE_DIR_ENV: &str = "DMM_PLUGIN_CACHE_DIR";

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[plugins]`.
    pub plugins: PluginSettings,
    /// `[secrets.NAME]`: where each named secret's value is read from.
    pub secrets: BTreeMap<String, SecretSource>,
    /// `[grants.PLUGIN-ID]`: what each plugin may reach.
    pub grants: BTreeMap<String, Grant>,
    /// `[evaluation]`: batching, concurrency, retries, breakers, rate limits, timeouts.
    pub evaluation: EvaluationConfig,
    /// `[limits]`: input limits of sessions.
    pub limits: Limits,
    /// `[sessions]`: the session store's limit, expiry and sweep.
    pub sessions: SessionsConfig,
}

impl Config {
    /// Reads the file at `path` (or `$DMM_CONFIG`, or nothing: the embedded defaults), then
    /// applies environment overrides.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let from_env = std::env::var_os(CONFIG_ENV).map(PathBuf::from);
        let mut config = match path.map(Path::to_path_buf).or(from_env) {
            Some(path) => Config::from_file(&path)?,
            None => Config::default(),
        };
        if let Some(dir) = std::env::var_os(PLUGINS_DIR_ENV) {
            config.plugins.dir = Some(PathBuf::from(dir));
        }
        if let Some(dir) = std::env::var_os(PLUGIN_CACHE_DIR_ENV) {
            config.plugins.cache_dir = Some(PathBuf::from(dir));
        }
        Ok(config)
    }

    /// Parses one configuration file.
    pub fn from_file(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading configuration file {}", path.display()))?;
        Config::parse(&text).with_context(|| format!("in configuration file {}", path.display()))
    }

    /// Parses configuration text.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.message()))
    }

    /// The secrets and grants, as the plugin host takes them.
    pub fn grants_config(&self) -> GrantsConfig {
        GrantsConfig {
            secrets: self.secrets.clone(),
            grants: self.grants.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_defaults() {
        let config = Config::parse("").expect("valid");
        assert_eq!(config.plugins, PluginSettings::default());
        assert!(config.grants.is_empty());
    }

    #[test]
    fn misspelt_key_is_an_error_naming_it() {
        let err = Config::parse("[plugins]\ncache_dri = \"x\"").unwrap_err();
        assert!(err.to_string().contains("cache_dri"), "{err}");
    }

    #[test]
    fn grants_and_secrets_parse() {
        let config = Config::parse(
            r#"
            [plugins.limits]
            default_cpu_ms = 500
            [secrets.acme]
            env = "ACME_API_KEY"
            [grants.acme-backend]
            hosts = ["https://api.acme.test"]
            secrets = { acme = ["https://api.acme.test"] }
            "#,
        )
        .expect("valid");
        assert_eq!(config.plugins.limits.default_cpu_ms, 500);
        assert!(config.grants.contains_key("acme-backend"));
        assert!(config.grants_config().validate().is_empty());
    }

    #[test]
    fn documented_example_file_is_valid_and_matches_the_defaults() {
        let text = include_str!("../../examples/config/decision-matrix.toml");
        let config = Config::parse(text).expect("the example configuration parses");
        config.plugins.validate().expect("valid settings");
        config
            .evaluation
            .settings()
            .expect("valid evaluation settings");
        config.limits.validate().expect("valid limits");
        assert_eq!(config.limits, Limits::default());
        assert_eq!(
            config.sessions.settings(),
            Ok(crate::server::SessionSettings::default())
        );
        assert!(config.grants_config().validate().is_empty());
        let defaults = PluginSettings::default();
        assert_eq!(config.plugins.limits, defaults.limits);
        assert_eq!(config.plugins.http, defaults.http);
        assert_eq!(config.plugins.max_component_mib, defaults.max_component_mib);
    }
}
