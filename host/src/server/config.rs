//! The `[sessions]` table of the configuration file: the session store's limit, expiry and
//! sweep, in the units people write.

use std::time::Duration;

use serde::Deserialize;

use super::sessions::{SessionSettings, WhenFull};

/// `[sessions]`. Absent keys keep [`SessionSettings::default`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsConfig {
    /// Most sessions alive at once (1–100000).
    pub max_sessions: Option<usize>,
    /// Seconds a session may stay unused before it expires (60 s to 7 days).
    pub ttl_seconds: Option<u64>,
    /// Seconds between sweeps of expired sessions (1 s to 1 day).
    pub cleanup_interval_seconds: Option<u64>,
    /// `evict-least-recent` (default) or `refuse`.
    pub when_full: Option<WhenFull>,
}

fn within(key: &str, value: u64, min: u64, max: u64, unit: &str) -> Result<u64, String> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "sessions.{key} = {value} is out of range; allowed: {min} to {max}{unit}"
        ))
    }
}

impl SessionsConfig {
    /// The settings, or a message naming the key, the value and what is allowed.
    pub fn settings(&self) -> Result<SessionSettings, String> {
        let defaults = SessionSettings::default();
        Ok(SessionSettings {
            max_sessions: match self.max_sessions {
                Some(max) => within("max_sessions", max as u64, 1, 100_000, "")? as usize,
                None => defaults.max_sessions,
            },
            ttl: match self.ttl_seconds {
                Some(ttl) => {
                    Duration::from_secs(within("ttl_seconds", ttl, 60, 7 * 86_400, " seconds")?)
                }
                None => defaults.ttl,
            },
            cleanup_interval: match self.cleanup_interval_seconds {
                Some(every) => Duration::from_secs(within(
                    "cleanup_interval_seconds",
                    every,
                    1,
                    86_400,
                    " seconds",
                )?),
                None => defaults.cleanup_interval,
            },
            when_full: self.when_full.unwrap_or(defaults.when_full),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_keys_keep_the_defaults() {
        assert_eq!(
            SessionsConfig::default().settings(),
            Ok(SessionSettings::default())
        );
    }

    #[test]
    fn values_are_checked_with_a_message_naming_the_key() {
        let config: SessionsConfig =
            toml::from_str("max_sessions = 500\nttl_seconds = 1800\nwhen_full = \"refuse\"")
                .expect("valid");
        let settings = config.settings().expect("in range");
        assert_eq!(settings.max_sessions, 500);
        assert_eq!(settings.ttl, Duration::from_secs(1800));
        assert_eq!(settings.when_full, WhenFull::Refuse);
        let too_short = SessionsConfig {
            ttl_seconds: Some(5),
            ..SessionsConfig::default()
        };
        assert_eq!(
            too_short.settings().unwrap_err(),
            "sessions.ttl_seconds = 5 is out of range; allowed: 60 to 604800 seconds"
        );
        assert!(toml::from_str::<SessionsConfig>("when_full = \"panic\"").is_err());
    }
}
