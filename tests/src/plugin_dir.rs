//! Every plugin of `plugins/`, built-ins and test fixtures, laid out as a plugins directory
//! for tests and benchmarks to load.
//!
//! The host's build script builds only the built-ins (to embed them); the fixtures are built
//! here, the first time a test process asks. The directory is
//! `plugins/target/test-plugins/<id>/` with each plugin's `plugin.toml` and component. Test
//! processes run in parallel and write the same bytes, so every file is written to a
//! temporary name and renamed into place: a reader never sees half a file.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::plugin_build;

/// The plugins directory, built on first use. Panics with the build's error: a test that
/// needs a plugin cannot run without it.
pub fn plugins_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| lay_out().unwrap_or_else(|error| panic!("test plugins: {error}")))
}

fn lay_out() -> Result<PathBuf, String> {
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("the test support crate has no parent directory")?
        .join("plugins");
    let crates = plugin_build::find(&[plugins.clone(), plugins.join("fixtures")])?;
    plugin_build::build(&plugins, &crates)?;
    let root = plugins.join("target").join("test-plugins");
    for plugin in &crates {
        let dest = root.join(&plugin.id);
        fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        replace(&plugin.dir.join("plugin.toml"), &dest.join("plugin.toml"))?;
        replace(&plugin.artifact(&plugins), &dest.join(&plugin.component))?;
    }
    Ok(root)
}

/// Copies `from` to `to` through a name of this process's own, then renames it into place.
fn replace(from: &Path, to: &Path) -> Result<(), String> {
    let partial = to.with_extension(format!("partial-{}", std::process::id()));
    fs::copy(from, &partial)
        .map_err(|e| format!("{} -> {}: {e}", from.display(), partial.display()))?;
    fs::rename(&partial, to).map_err(|e| format!("{}: {e}", to.display()))
}
