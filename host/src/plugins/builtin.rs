//! Plugins compiled into the binary: the build script builds the built-ins for `wasm32-wasip2`
//! and embeds every plugin whose manifest says `builtin = true`, with its SHA-256.

use super::binary::ComponentBinary;

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

#[cfg(test)]
mod tests {
    use super::*;

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
