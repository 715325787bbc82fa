//! Plugins compiled into the binary: the build script builds `plugins/` for `wasm32-wasip2`
//! and embeds every plugin whose manifest says `builtin = true`.

/// One embedded plugin.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinPlugin {
    /// Text of its `plugin.toml`.
    pub manifest: &'static str,
    /// The component binary.
    pub wasm: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

/// Every built-in plugin, in id order.
pub fn all() -> &'static [BuiltinPlugin] {
    BUILTIN_PLUGINS
}
