//! Plugins compiled into the binary: the build script builds the built-ins for `wasm32-wasip2`
//! and embeds every plugin whose manifest says `builtin = true`, with its SHA-256.
//!
//! Their manifests also hold the one default the host does not get from configuration: which
//! backend a session uses when its client names none ([`session_default_backend`]).

use std::sync::OnceLock;

use super::binary::ComponentBinary;
use super::manifest::Manifest;
use crate::domain::SessionDefaults;

/// One embedded plugin.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinPlugin {
    /// Text of its `plugin.toml`.
    pub manifest: &'static str,
    /// The component binary.
    pub wasm: &'static [u8],
    /// SHA-256 of `wasm`, computed by the build script.
    pub sha256: [u8; 32],
}

impl BuiltinPlugin {
    /// The component with its digest, so loading it does not read it unless it must be
    /// compiled.
    pub fn binary(&self) -> ComponentBinary<'static> {
        ComponentBinary::prehashed(self.wasm, self.sha256)
    }
}

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

/// Every built-in plugin, in the order of their directories under `plugins/`.
pub fn all() -> &'static [BuiltinPlugin] {
    BUILTIN_PLUGINS
}

/// The built-in plugins' manifests, in id order. One that does not parse is left out here;
/// the catalog reports it when it loads the built-ins.
pub fn manifests() -> Vec<Manifest> {
    all()
        .iter()
        .filter_map(|plugin| Manifest::parse(plugin.manifest).ok())
        .collect()
}

/// The backend a session uses when its client names none: the built-in whose manifest says
/// `session_default = true` under `[backend]` (`bedrock`, the Python server's default). Only
/// built-ins may say so, so a plugin added to the plugins directory cannot redirect every
/// session that names no backend to itself. Empty if no built-in says so, which a test rules
/// out.
pub fn session_default_backend() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        manifests()
            .into_iter()
            .find(|m| m.backend.as_ref().is_some_and(|b| b.session_default))
            .map(|m| m.id)
            .unwrap_or_default()
    })
}

/// The Python server's session defaults: [`SessionDefaults::for_backend`] the backend of
/// [`session_default_backend`]. Defined here rather than beside [`SessionDefaults`], which is
/// pure domain and knows no plugins.
pub fn session_defaults() -> SessionDefaults {
    SessionDefaults::for_backend(session_default_backend())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_manifest_parses_and_one_backend_is_the_session_default() {
        assert_eq!(manifests().len(), all().len());
        let defaults: Vec<String> = manifests()
            .into_iter()
            .filter(|m| m.backend.as_ref().is_some_and(|b| b.session_default))
            .map(|m| m.id)
            .collect();
        assert_eq!(defaults, ["bedrock"], "as the Python server's default");
        assert_eq!(session_defaults().backend, "bedrock");
        assert_eq!(session_defaults().temperature, 0.1);
    }

    #[test]
    fn build_script_digests_match_the_embedded_components() {
        assert!(!all().is_empty());
        for plugin in all() {
            assert_eq!(
                plugin.binary().sha256(),
                ComponentBinary::new(plugin.wasm).sha256(),
                "{}",
                plugin.manifest.lines().next().unwrap_or_default()
            );
        }
    }

    /// The loader skips the header check for built-ins (reading it would page in the
    /// component), relying on the build script's.
    #[test]
    fn embedded_components_have_the_component_header() {
        for plugin in all() {
            assert_eq!(
                crate::plugins::inspect::check_header(plugin.wasm),
                Ok(()),
                "{}",
                plugin.manifest.lines().next().unwrap_or_default()
            );
        }
    }
}
