//! `plugin.toml`: what a plugin says about itself and what it asks for.
//!
//! A manifest only *asks*. Hosts, secrets and private-network access are granted by the
//! operator's configuration (see the host's `plugins::grants`) or, for a backend, derived
//! from the environment variables its `[backend]` table names ([`backend`]; one destination,
//! and a key bound to that destination only); limits are capped at the host's maxima.
//! Parsing is strict (`deny_unknown_fields`) so that a typo in a key is an error the author
//! sees, not a setting silently ignored. [`address`] reads a backend's destination.

pub(crate) mod address;
pub mod backend;
pub mod routes;

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

pub use backend::BackendManifest;

/// Largest manifest the host reads, so a hostile file cannot make it allocate without bound.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;

/// Which world a plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// Exports `llm-backend`; may use the host's `http` import.
    LlmBackend,
    /// Exports `scoring`; has no network.
    Scoring,
}

impl PluginKind {
    /// The WIT world a component of this kind targets.
    pub fn world(self) -> &'static str {
        match self {
            PluginKind::LlmBackend => "llm-backend-plugin",
            PluginKind::Scoring => "scoring-plugin",
        }
    }

    /// The exported interface (without package and version) that identifies the kind.
    pub fn export_interface(self) -> &'static str {
        match self {
            PluginKind::LlmBackend => "llm-backend",
            PluginKind::Scoring => "scoring",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PluginKind::LlmBackend => "llm-backend",
            PluginKind::Scoring => "scoring",
        })
    }
}

/// Capabilities a plugin asks for. Informational: shown next to what is granted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requests {
    /// Destinations, as `scheme://host[:port]`.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Secret names the plugin refers to in `http.auth`.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Whether the plugin expects to reach loopback or private addresses (a local Ollama).
    #[serde(default)]
    pub allow_private: bool,
}

/// Resource needs a plugin declares; the host caps each at its configured maximum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestedLimits {
    /// Linear memory, in MiB.
    pub memory_mib: Option<u64>,
    /// CPU time spent running wasm per call, in milliseconds.
    pub cpu_ms: Option<u64>,
    /// Wall-clock time per call (including host I/O), in milliseconds.
    pub timeout_ms: Option<u64>,
}

/// A parsed and validated `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Unique id: lowercase ASCII letters, digits and `-`, 1 to 64 characters.
    pub id: String,
    /// The plugin's own version (semver).
    pub version: String,
    /// Which world the component implements.
    pub kind: PluginKind,
    /// One line shown in listings.
    #[serde(default)]
    pub description: Option<String>,
    /// File name of the component, beside the manifest.
    #[serde(default = "default_component")]
    pub component: String,
    /// Set only by the host's own plugins; a third-party manifest claiming it is refused.
    #[serde(default)]
    pub builtin: bool,
    /// What the plugin asks for.
    #[serde(default)]
    pub requests: Requests,
    /// Defaults for the `config` import, overlaid by the operator's grant.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Declared resource needs.
    #[serde(default)]
    pub limits: RequestedLimits,
    /// What the host derives for a backend and how evaluations treat it (`llm-backend` only).
    #[serde(default)]
    pub backend: Option<BackendManifest>,
}

fn default_component() -> String {
    "plugin.wasm".to_owned()
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not valid TOML, or a key is missing, unknown or of the wrong type.
    #[error("invalid plugin.toml: {0}")]
    Syntax(String),
    /// Larger than [`MAX_MANIFEST_BYTES`].
    #[error("plugin.toml is {0} bytes; the limit is {MAX_MANIFEST_BYTES} bytes")]
    TooLarge(usize),
    /// A value is out of its allowed range.
    #[error("invalid plugin.toml: {0}")]
    Invalid(String),
}

impl Manifest {
    /// Parses and validates manifest text.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        if text.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge(text.len()));
        }
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| ManifestError::Syntax(e.message().to_owned()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<(), ManifestError> {
        validate_id(&self.id)?;
        if !is_semver(&self.version) {
            return Err(ManifestError::Invalid(format!(
                "version {:?} is not a semantic version like \"1.2.3\"",
                self.version
            )));
        }
        validate_component_name(&self.component)?;
        if let Some(description) = &self.description
            && (description.len() > 200 || description.contains('\n'))
        {
            return Err(ManifestError::Invalid(
                "description must be one line of at most 200 bytes".to_owned(),
            ));
        }
        if self.kind == PluginKind::Scoring
            && (!self.requests.hosts.is_empty()
                || !self.requests.secrets.is_empty()
                || self.requests.allow_private)
        {
            return Err(ManifestError::Invalid(
                "a scoring plugin has no network: [requests] must not ask for hosts, secrets or allow_private"
                    .to_owned(),
            ));
        }
        if let Some(backend) = &self.backend {
            if self.kind != PluginKind::LlmBackend {
                return Err(ManifestError::Invalid(format!(
                    "[backend] is only for kind = \"llm-backend\", and this plugin's kind is \"{}\"",
                    self.kind
                )));
            }
            backend.validate(&self.config, self.builtin)?;
        }
        for (name, value) in [
            ("memory_mib", self.limits.memory_mib),
            ("cpu_ms", self.limits.cpu_ms),
            ("timeout_ms", self.limits.timeout_ms),
        ] {
            if value == Some(0) {
                return Err(ManifestError::Invalid(format!(
                    "[limits] {name} must be greater than 0 (leave it out for the host's default)"
                )));
            }
        }
        Ok(())
    }

    /// `id@version`, the label used in every message about this plugin.
    pub fn label(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }
}

/// Checks a plugin id: lowercase ASCII letters, digits and `-`, 1 to 64 characters, not
/// starting or ending with `-`.
pub fn validate_id(id: &str) -> Result<(), ManifestError> {
    let well_formed = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-');
    if well_formed {
        Ok(())
    } else {
        Err(ManifestError::Invalid(format!(
            "id {id:?} must be 1-64 characters of lowercase letters, digits and '-', not starting or ending with '-'"
        )))
    }
}

/// The component must be a plain file name beside the manifest: no directories, no `..`,
/// so a manifest can never point the host at a file outside the plugin's own directory.
fn validate_component_name(name: &str) -> Result<(), ManifestError> {
    let plain = !name.is_empty()
        && name.len() <= 128
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && name.ends_with(".wasm");
    if plain {
        Ok(())
    } else {
        Err(ManifestError::Invalid(format!(
            "component {name:?} must be a file name ending in .wasm in the manifest's own directory"
        )))
    }
}

fn is_semver(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        id = "my-scorer"
        version = "0.1.0"
        kind = "scoring"
    "#;

    #[test]
    fn minimal_manifest_takes_defaults() {
        let m = Manifest::parse(MINIMAL).expect("valid");
        assert_eq!(m.id, "my-scorer");
        assert_eq!(m.kind, PluginKind::Scoring);
        assert_eq!(m.component, "plugin.wasm");
        assert!(!m.builtin);
        assert_eq!(m.requests, Requests::default());
        assert_eq!(m.label(), "my-scorer@0.1.0");
    }

    #[test]
    fn full_backend_manifest() {
        let m = Manifest::parse(
            r#"
            id = "acme"
            version = "1.2.3-beta.1"
            kind = "llm-backend"
            description = "ACME models"
            component = "acme.wasm"
            [requests]
            hosts = ["https://api.acme.test"]
            secrets = ["acme-key"]
            [config]
            base-url = "https://api.acme.test/v1"
            [limits]
            memory_mib = 32
            cpu_ms = 500
            timeout_ms = 30000
            "#,
        )
        .expect("valid");
        assert_eq!(m.requests.secrets, ["acme-key"]);
        assert_eq!(m.config["base-url"], "https://api.acme.test/v1");
        assert_eq!(m.limits.memory_mib, Some(32));
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let err = Manifest::parse(&format!("{MINIMAL}\nhostz = []")).unwrap_err();
        assert!(err.to_string().contains("hostz"), "{err}");
    }

    #[test]
    fn component_cannot_escape_the_plugin_directory() {
        for bad in [
            "../x.wasm",
            "/etc/x.wasm",
            "sub/x.wasm",
            "x.so",
            "..",
            "a\\b.wasm",
        ] {
            let text = format!("{MINIMAL}\ncomponent = {bad:?}");
            let err = Manifest::parse(&text).unwrap_err();
            assert!(err.to_string().contains("component"), "{bad}: {err}");
        }
    }

    #[test]
    fn bad_ids_and_versions_are_refused() {
        for id in ["", "UPPER", "-lead", "trail-", "sp ace", &"x".repeat(65)] {
            assert!(validate_id(id).is_err(), "{id:?}");
        }
        for version in ["1", "1.2", "v1.2.3", "1.2.x", ""] {
            let text = format!("id = \"a\"\nversion = {version:?}\nkind = \"scoring\"");
            assert!(Manifest::parse(&text).is_err(), "{version:?}");
        }
    }

    #[test]
    fn scoring_plugins_cannot_ask_for_network() {
        let err = Manifest::parse(&format!(
            "{MINIMAL}\n[requests]\nhosts = [\"https://x.test\"]"
        ))
        .unwrap_err();
        assert!(err.to_string().contains("no network"), "{err}");
    }

    #[test]
    fn zero_limits_are_refused() {
        let err = Manifest::parse(&format!("{MINIMAL}\n[limits]\ncpu_ms = 0")).unwrap_err();
        assert!(err.to_string().contains("cpu_ms"), "{err}");
    }

    #[test]
    fn oversized_manifest_is_refused_before_parsing() {
        let text = format!("{MINIMAL}\n#{}", "x".repeat(MAX_MANIFEST_BYTES));
        assert!(matches!(
            Manifest::parse(&text),
            Err(ManifestError::TooLarge(_))
        ));
    }
}
