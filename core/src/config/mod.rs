//! The operator's configuration, from every place it can come from.
//!
//! Layers, each overriding the ones before it: the built-in defaults, the reference server's
//! environment profile ([`Stage`], `DMM_ENVIRONMENT`), a deployment [`Profile`], the
//! configuration file (TOML), environment variables ([`env`]), then command-line flags. All of them are merged as TOML tables ([`layers`]) and checked by one
//! deserializer, so a value is validated the same way wherever it was written, and an invalid
//! one stops start-up with the key, the value, what is allowed and where it came from.
//!
//! Tables: `[plugins]` (directories, limits, HTTP bounds), `[secrets.*]` (where secret values
//! come from), `[grants.*]` (what each plugin may reach), `[evaluation]` (how cells are
//! scored), `[limits]` (session input limits), `[sessions]` (how many sessions, for how
//! long), `[server]` (the transport), `[alerts]` (health thresholds) and `[logging]`. Unknown keys are errors, so a misspelt
//! grant never silently grants nothing.

mod alerts;
pub mod env;
mod evaluation;
mod evaluation_settings;
pub mod grants;
mod http_limits;
mod http_settings;
pub mod layers;
mod logging;
pub mod plugin_limits;
mod plugins;
mod profile;
mod scope_rule;
mod server;
mod session_settings;
pub mod show;
mod stage;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use toml::{Table, Value};

pub use alerts::{AlertSettings, AlertsConfig};
pub use evaluation::{EvaluationConfig, confidence_target};
pub use evaluation_settings::{BackendDefaults, DEFAULT_BATCH_SIZE, EvaluationSettings, Fallback};
pub use http_limits::HttpLimits;
pub use http_settings::{ConnectionLimits, HttpSettings, Timeouts};
pub use layers::{Layered, Source};
pub use logging::{LogFormat, LoggingConfig};
pub use plugin_limits::{LimitSettings, PluginLimits};
pub use plugins::PluginSettings;
pub use profile::Profile;
pub use scope_rule::{PER_CLIENT, ScopeRule};
pub use server::{ServerConfig, SessionsConfig, Transport};
pub use session_settings::{SessionSettings, StoreDurability, WhenFull};
pub use stage::Stage;

use crate::domain::Limits;
use crate::providers::Environment;
use grants::{Grant, GrantsConfig, SecretSource};

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The deployment profile under the file, if one was chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
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
    /// `[server]`: transport, address, authentication.
    pub server: ServerConfig,
    /// `[alerts]`: the thresholds past which health is degraded.
    pub alerts: AlertsConfig,
    /// `[logging]`.
    pub logging: LoggingConfig,
}

/// What the command line says about configuration.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config FILE`.
    pub file: Option<PathBuf>,
    /// `--profile NAME`.
    pub profile: Option<String>,
    /// Values from flags, in the order given.
    layers: Vec<(Source, Table)>,
}

impl Overrides {
    /// Adds `--set KEY=VALUE`: `VALUE` is read as TOML (`50`, `true`, `["a", "b"]`), or as
    /// text when it is not valid TOML.
    pub fn set(&mut self, assignment: &str) -> Result<(), String> {
        let Some((key, value)) = assignment.split_once('=') else {
            return Err(format!(
                "--set '{assignment}' is not KEY=VALUE (for example sessions.max_sessions=50)"
            ));
        };
        let (key, value) = (key.trim(), value.trim());
        let layer = toml::from_str::<Table>(&format!("{key} = {value}"))
            .or_else(|_| toml::from_str::<Table>(&format!("{key} = {}", Value::from(value))))
            .map_err(|_| format!("--set '{assignment}': '{key}' is not a configuration key"))?;
        self.layers
            .push((Source::Flag(format!("--set {key}")), layer));
        Ok(())
    }

    /// Adds the value of a dedicated flag (such as `--port`) for `key`.
    pub fn flag(&mut self, flag: &str, key: &str, value: impl Into<Value>) {
        self.layers.push((
            Source::Flag(flag.to_owned()),
            layers::nested(key, value.into()),
        ));
    }
}

/// A configuration and where each of its values came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration in force.
    pub config: Config,
    /// The merged layers, for provenance.
    pub layered: Layered,
    /// The configuration file read, if any.
    pub file: Option<PathBuf>,
    /// Environment variables of the reference server that are set but change nothing here,
    /// with the reason.
    pub without_effect: Vec<(&'static str, &'static str)>,
}

impl Config {
    /// The configuration from `env`, `overrides` and the configuration file's text:
    /// `DMM_ENVIRONMENT` < profile < file < environment variables < flags, every value
    /// checked. `file` is the file's path (named in messages and provenance) and text; it
    /// replaces `overrides.file` and `DMM_CONFIG`, which the host reads. This is the whole
    /// path from a file's text to a validated [`Config`], without touching the file system.
    pub fn resolve_text(
        overrides: &Overrides,
        env: &Environment,
        file: Option<(&Path, &str)>,
    ) -> anyhow::Result<Loaded> {
        let file_layer = file
            .map(|(path, text)| parse_table(path, text))
            .transpose()?;
        let file = file.map(|(path, _)| path.to_owned());

        let mut layered = Layered::default();
        if let Some(stage) = Stage::from_env(env).map_err(anyhow::Error::msg)? {
            layered.merge(stage.layer(), &Source::Stage(stage));
        }
        if let Some((profile, source)) =
            choose_profile(overrides, env, file.as_deref(), file_layer.as_ref())?
        {
            layered.merge(profile.layer(), &Source::Profile(profile));
            layered.set("profile", Value::from(profile.name()), &source);
        }
        if let (Some(path), Some(layer)) = (&file, file_layer) {
            let mut layer = layer;
            layer.remove("profile");
            layered.merge(layer, &Source::File(path.clone()));
        }
        env::apply(env, &mut layered).map_err(anyhow::Error::msg)?;
        for (source, layer) in &overrides.layers {
            layered.merge(layer.clone(), source);
        }

        let config = Config::deserialize_table(layered.tree().clone())
            .map_err(|message| anyhow::anyhow!(explain(&message, &layered)))?;
        config
            .validate()
            .map_err(|message| anyhow::anyhow!(explain(&message, &layered)))?;
        Ok(Loaded {
            config,
            layered,
            file,
            without_effect: env::without_effect(env).collect(),
        })
    }

    /// Parses configuration text.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let table: Table = toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        Config::deserialize_table(table).map_err(anyhow::Error::msg)
    }

    /// Reads a merged tree; the message names the key that is wrong.
    pub fn deserialize_table(table: Table) -> Result<Config, String> {
        serde_path_to_error::deserialize(Value::Table(table)).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner().message().to_owned();
            if path == "." {
                inner
            } else {
                format!("{path}: {inner}")
            }
        })
    }

    /// Checks every value that has a range or a format; the message names the key, the value
    /// and what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        self.plugins.validate()?;
        self.evaluation.settings()?;
        self.limits.validate().map_err(|e| format!("limits: {e}"))?;
        self.sessions.settings()?;
        self.server.http_settings()?;
        self.alerts.settings()?;
        self.logging.filter()?;
        Ok(())
    }

    /// The secrets and grants, as the plugin host takes them.
    pub fn grants_config(&self) -> GrantsConfig {
        GrantsConfig {
            secrets: self.secrets.clone(),
            grants: self.grants.clone(),
        }
    }
}

/// One configuration file's text as a TOML table; errors name the file.
pub fn parse_table(path: &Path, text: &str) -> anyhow::Result<Table> {
    toml::from_str(text)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("in configuration file {}", path.display()))
}

/// The profile named by `--profile`, else `DMM_PROFILE`, else the file's `profile` key.
fn choose_profile(
    overrides: &Overrides,
    env: &Environment,
    file: Option<&Path>,
    file_layer: Option<&Table>,
) -> anyhow::Result<Option<(Profile, Source)>> {
    let from_file = file_layer
        .and_then(|layer| layer.get("profile"))
        .map(|value| match (value.as_str(), file) {
            (Some(name), Some(path)) => Ok((name.to_owned(), Source::File(path.to_owned()))),
            _ => Err(anyhow::anyhow!(
                "profile = {value} is not a name; allowed: \"development\", \"production\", \"high-scale\""
            )),
        })
        .transpose()?;
    let chosen = overrides
        .profile
        .clone()
        .map(|name| (name, Source::Flag("--profile".into())))
        .or_else(|| {
            env.get(env::PROFILE_ENV)
                .map(|name| (name.to_owned(), Source::Env(env::PROFILE_ENV.into())))
        })
        .or(from_file);
    chosen
        .map(|(name, source)| {
            name.parse::<Profile>()
                .map(|profile| (profile, source.clone()))
                .map_err(|e| anyhow::anyhow!("{e} (set by {source})"))
        })
        .transpose()
}

/// `message`, followed by where the values it names were set when that was not the default.
fn explain(message: &str, layered: &Layered) -> String {
    let named: Vec<String> = layered
        .set_keys()
        .filter(|(path, _)| {
            let leaf = path.rsplit('.').next().unwrap_or(path);
            mentions(message, path) || mentions(message, leaf)
        })
        .map(|(path, source)| format!("{path} from {source}"))
        .collect();
    if named.is_empty() {
        message.to_owned()
    } else {
        format!("{message} ({})", named.join("; "))
    }
}

/// Whether `word` occurs in `text` as a whole word (keys are made of `[A-Za-z0-9_.-]`).
fn mentions(text: &str, word: &str) -> bool {
    let part_of_key = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(part_of_key) && !after.is_some_and(|c| part_of_key(c) && c != '.')
    })
}

#[cfg(test)]
mod tests;
