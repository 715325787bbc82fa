//! Builds the plugin crates of `plugins/` as WebAssembly components.
//!
//! Shared by the host's build script (which builds the built-ins to embed them) and the test
//! support (which builds the fixtures when a test asks for them), so that both build plugins
//! the same way. The build script includes this file by path, so it uses only `std` and
//! `toml`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target plugins are built for.
pub const TARGET: &str = "wasm32-wasip2";

/// A plugin crate: a directory of `plugins/` (or `plugins/fixtures/`) with a `plugin.toml`.
#[derive(Debug, Clone)]
pub struct PluginCrate {
    /// The crate's directory.
    pub dir: PathBuf,
    /// The manifest's `id`.
    pub id: String,
    /// The Cargo package name, for `cargo build -p`.
    pub package: String,
    /// The manifest's `component`: the file name the build produces.
    pub component: String,
    /// Whether the manifest says `builtin = true`.
    pub builtin: bool,
}

impl PluginCrate {
    /// Where the built component is, once [`build`] has run.
    pub fn artifact(&self, plugins: &Path) -> PathBuf {
        artifacts(plugins).join(&self.component)
    }
}

/// Where `cargo build --release` leaves the components of `plugins/`.
pub fn artifacts(plugins: &Path) -> PathBuf {
    plugins.join("target").join(TARGET).join("release")
}

/// Every plugin crate directly under `dirs`, sorted by directory.
pub fn find(dirs: &[PathBuf]) -> Result<Vec<PluginCrate>, String> {
    let mut found = Vec::new();
    for dir in dirs {
        let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let crate_dir = entry.map_err(|e| e.to_string())?.path();
            if crate_dir.join("plugin.toml").is_file() {
                found.push(read(crate_dir)?);
            }
        }
    }
    found.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(found)
}

fn read(dir: PathBuf) -> Result<PluginCrate, String> {
    let manifest_path = dir.join("plugin.toml");
    let manifest = read_toml(&manifest_path)?;
    let text = |key: &str| {
        manifest
            .get(key)
            .and_then(toml::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("{}: no `{key}`", manifest_path.display()))
    };
    let cargo_path = dir.join("Cargo.toml");
    let package = read_toml(&cargo_path)?
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(toml::Value::as_str)
        .ok_or_else(|| format!("{}: no package name", cargo_path.display()))?
        .to_owned();
    Ok(PluginCrate {
        id: text("id")?,
        component: text("component")?,
        builtin: manifest.get("builtin").and_then(toml::Value::as_bool) == Some(true),
        package,
        dir,
    })
}

/// A TOML file as a table; errors name the file.
pub fn read_toml(path: &Path) -> Result<toml::Table, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs `cargo build --release --locked --target wasm32-wasip2 -p <crate>...` in `plugins`,
/// into `plugins/target`.
///
/// The outer build's flags and compiler wrappers are cleared: a `RUSTFLAGS` meant for the
/// host can turn a component build into a core-module build, and plugins should build
/// exactly as a plugin author's would. That also makes the build the same whichever outer
/// build runs it (lint, test, release, fuzz), so they all share `plugins/target`.
pub fn build(plugins: &Path, crates: &[PluginCrate]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .current_dir(plugins)
        .args(["build", "--release", "--locked", "--target", TARGET])
        .env("CARGO_TARGET_DIR", plugins.join("target"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env("RUSTC_WRAPPER", "")
        .env("CARGO_TERM_COLOR", "never");
    for plugin in crates {
        command.args(["-p", &plugin.package]);
    }
    let status = command
        .status()
        .map_err(|e| format!("could not run cargo for the plugins: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building plugins in {} for {TARGET} failed (see the output above); is the target installed (rustup target add {TARGET})?",
            plugins.display()
        ));
    }
    Ok(())
}
