//! What the host knows about a loaded plugin: the facts `plugins list` and `plugins check`
//! print, and that tools such as `list_plugins` will report.

use std::path::PathBuf;

use super::cache::CacheOutcome;
use super::grants::Grant;
use super::limits::PluginLimits;
use super::manifest::Manifest;

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into the binary.
    Builtin,
    /// Loaded from the plugins directory (or named on the command line).
    File(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Builtin => f.write_str("built-in"),
            Origin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A loaded plugin's identity, capabilities and limits.
#[derive(Debug, Clone)]
pub struct PluginDescriptor {
    /// The validated manifest.
    pub manifest: Manifest,
    /// Built-in or file.
    pub origin: Origin,
    /// Contract version read from the component's exports.
    pub wit_version: String,
    /// The component's imports, sorted.
    pub imports: Vec<String>,
    /// What the operator granted (empty when nothing was).
    pub grant: Grant,
    /// Limits each call runs under.
    pub limits: PluginLimits,
    /// Whether loading compiled the component or reused the compile cache.
    pub cache: Option<CacheOutcome>,
}
