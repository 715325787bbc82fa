//! `DMM_ENVIRONMENT`: the reference server's environment profiles (`development`, `staging`,
//! `production`), as a configuration layer.
//!
//! Of what the reference server's profiles set, two things act here as they act there: the
//! most options a session may hold and the most sessions alive at once. The rest has no
//! effect, there or here: its debug flag only changed which warnings it printed, its
//! `default_max_sessions` was never read, its request timeout was never applied to a call,
//! and its chain-of-thought timeout has no counterpart (there is no separate
//! chain-of-thought pass).
//!
//! One deliberate difference: the reference server applied the profile after the
//! environment variables, so `DMM_ENVIRONMENT=development` silently overrode
//! `DMM_MAX_OPTIONS_ALLOWED`. Here it is a layer like the others, right under a
//! [`Profile`](super::Profile): a profile, the file, a variable or a flag that sets the same
//! key wins.

use std::fmt;

use toml::Table;

use crate::providers::Environment;

/// The variable naming the environment.
pub const STAGE_ENV: &str = "DMM_ENVIRONMENT";

/// One of the reference server's environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// At most 10 options per session and 20 sessions.
    Development,
    /// At most 15 options per session and 50 sessions.
    Staging,
    /// Nothing changed: the defaults.
    Production,
}

impl Stage {
    /// Every environment.
    const ALL: [Stage; 3] = [Stage::Development, Stage::Staging, Stage::Production];

    /// The environment `DMM_ENVIRONMENT` names in `env`, if it is set; a message saying what
    /// is allowed if it names another.
    pub fn from_env(env: &Environment) -> Result<Option<Stage>, String> {
        let Some(value) = env.get(STAGE_ENV) else {
            return Ok(None);
        };
        Stage::ALL
            .into_iter()
            .find(|stage| stage.name() == value)
            .map(Some)
            .ok_or_else(|| {
                format!(
                    "{STAGE_ENV} = '{value}' is not allowed; allowed: development, staging, production"
                )
            })
    }

    /// The name as written in `DMM_ENVIRONMENT`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Development => "development",
            Stage::Staging => "staging",
            Stage::Production => "production",
        }
    }

    /// The settings this environment sets.
    pub fn layer(self) -> Table {
        let (max_options, max_sessions) = match self {
            Stage::Development => (10, 20),
            Stage::Staging => (15, 50),
            Stage::Production => return Table::new(),
        };
        let mut limits = Table::new();
        limits.insert("max_options_allowed".into(), max_options.into());
        let mut sessions = Table::new();
        sessions.insert("max_sessions".into(), max_sessions.into());
        let mut layer = Table::new();
        layer.insert("limits".into(), limits.into());
        layer.insert("sessions".into(), sessions.into());
        layer
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{STAGE_ENV}={}", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Overrides, Source};

    fn resolve(pairs: &[(&str, &str)]) -> Result<Config, String> {
        Config::resolve_text(
            &Overrides::default(),
            &Environment::from_pairs(pairs.iter().copied()),
            None,
        )
        .map(|loaded| loaded.config)
        .map_err(|e| e.to_string())
    }

    #[test]
    fn development_and_staging_limit_options_and_sessions_as_the_reference_server_does() {
        for (stage, options, sessions) in [
            ("development", 10, 20),
            ("staging", 15, 50),
            ("production", 20, 100),
        ] {
            let config = resolve(&[(STAGE_ENV, stage)]).expect("valid");
            assert_eq!(config.limits.max_options_allowed, options, "{stage}");
            let settings = config.sessions.settings().expect("valid sessions");
            assert_eq!(settings.max_sessions, sessions, "{stage}");
        }
        let loaded = Config::resolve_text(
            &Overrides::default(),
            &Environment::from_pairs([(STAGE_ENV, "development")]),
            None,
        )
        .expect("valid");
        assert_eq!(
            loaded.layered.source_of("limits.max_options_allowed"),
            Source::Stage(Stage::Development)
        );
        assert_eq!(
            Source::Stage(Stage::Development).to_string(),
            "DMM_ENVIRONMENT=development"
        );
    }

    #[test]
    fn explicit_settings_win_over_the_environment() {
        let config = resolve(&[
            (STAGE_ENV, "development"),
            ("DMM_MAX_OPTIONS_ALLOWED", "12"),
            ("DMM_PROFILE", "production"),
        ])
        .expect("valid");
        assert_eq!(config.limits.max_options_allowed, 12);
        // The profile is a layer above the environment.
        let sessions = config.sessions.settings().expect("valid sessions");
        assert_eq!(sessions.max_sessions, 500);
    }

    #[test]
    fn another_name_says_what_is_allowed() {
        assert_eq!(
            resolve(&[(STAGE_ENV, "qa")]).unwrap_err(),
            "DMM_ENVIRONMENT = 'qa' is not allowed; allowed: development, staging, production"
        );
    }
}
