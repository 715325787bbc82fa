//! The operator's `[plugins]` settings: where plugins and the compile cache live, limits,
//! and the host HTTP client's bounds.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{HttpLimits, LimitSettings};

/// `[plugins]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginSettings {
    /// Directory scanned for third-party plugins (`<dir>/<id>/plugin.toml`); default: the
    /// platform data directory's `plugins` folder.
    pub dir: Option<PathBuf>,
    /// Directory for compiled plugins; default: the platform cache directory's `plugins`
    /// folder. Must not be writable by other users.
    pub cache_dir: Option<PathBuf>,
    /// Whether compiled plugins are cached on disk.
    pub cache: bool,
    /// Largest component file accepted, in MiB.
    pub max_component_mib: u64,
    /// Per-call limits.
    pub limits: LimitSettings,
    /// Bounds of the host HTTP client used by the `http` import.
    pub http: HttpSettings,
}

impl Default for PluginSettings {
    fn default() -> Self {
        PluginSettings {
            dir: None,
            cache_dir: None,
            cache: true,
            max_component_mib: 64,
            limits: LimitSettings::default(),
            http: HttpSettings::default(),
        }
    }
}

/// `[plugins.http]`: time and size bounds of outbound plugin requests.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// TCP + TLS connect timeout, ms.
    pub connect_timeout_ms: u64,
    /// Longest silence while reading a response, ms.
    pub read_timeout_ms: u64,
    /// Total time of a request that names no timeout, ms.
    pub default_timeout_ms: u64,
    /// Cap on the total time a plugin may ask for, ms.
    pub max_timeout_ms: u64,
    /// Largest response body delivered to a plugin, MiB.
    pub max_response_mib: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        let limits = HttpLimits::default();
        HttpSettings {
            connect_timeout_ms: limits.connect_timeout.as_millis() as u64,
            read_timeout_ms: limits.read_timeout.as_millis() as u64,
            default_timeout_ms: limits.default_timeout.as_millis() as u64,
            max_timeout_ms: limits.max_timeout.as_millis() as u64,
            max_response_mib: limits.max_response_bytes / (1024 * 1024),
        }
    }
}

impl HttpSettings {
    /// The limits the network pipeline enforces.
    pub fn limits(&self) -> HttpLimits {
        HttpLimits {
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            read_timeout: Duration::from_millis(self.read_timeout_ms),
            default_timeout: Duration::from_millis(self.default_timeout_ms),
            max_timeout: Duration::from_millis(self.max_timeout_ms),
            max_response_bytes: self.max_response_mib * 1024 * 1024,
        }
    }
}

impl PluginSettings {
    /// The plugins directory in effect.
    pub fn plugins_dir(&self) -> Option<PathBuf> {
        self.dir
            .clone()
            .or_else(|| project_dirs().map(|d| d.data_dir().join("plugins")))
    }

    /// The compile cache directory in effect, if caching is on.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        if !self.cache {
            return None;
        }
        self.cache_dir
            .clone()
            .or_else(|| project_dirs().map(|d| d.cache_dir().join("plugins")))
    }

    /// Checks values; the message names the key to fix.
    pub fn validate(&self) -> Result<(), String> {
        self.limits.validate()?;
        if self.max_component_mib == 0 {
            return Err("[plugins] max_component_mib must be greater than 0".to_owned());
        }
        let http = &self.http;
        for (name, value) in [
            ("connect_timeout_ms", http.connect_timeout_ms),
            ("read_timeout_ms", http.read_timeout_ms),
            ("default_timeout_ms", http.default_timeout_ms),
            ("max_timeout_ms", http.max_timeout_ms),
            ("max_response_mib", http.max_response_mib),
        ] {
            if value == 0 {
                return Err(format!("[plugins.http] {name} must be greater than 0"));
            }
        }
        if http.default_timeout_ms > http.max_timeout_ms {
            return Err(
                "[plugins.http] default_timeout_ms is larger than max_timeout_ms".to_owned(),
            );
        }
        if let (Some(dir), Some(cache)) = (self.plugins_dir(), self.cache_dir())
            && cache.starts_with(&dir)
        {
            return Err(format!(
                "[plugins] cache_dir ({}) must not be inside the plugins directory ({}): plugin authors write there, and the cache holds machine code",
                cache.display(),
                dir.display()
            ));
        }
        Ok(())
    }
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "decision-matrix")
}
