//! Reading plugins from disk, through `cap-std` directory handles.
//!
//! The plugins directory is opened once; every manifest and component is then opened
//! relative to that handle, and a manifest can only name a plain file in its own directory.
//! A symlink or `..` that would lead outside is refused by `cap-std`, so nothing a plugin
//! author writes can make the host read a file elsewhere.

use std::io::Read;
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use super::error::LoadError;
use super::manifest::{MAX_MANIFEST_BYTES, Manifest, ManifestError};

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "plugin.toml";

/// A plugin read from disk, not yet compiled.
#[derive(Debug)]
pub struct PluginFile {
    /// The validated manifest.
    pub manifest: Manifest,
    /// The component bytes.
    pub wasm: Vec<u8>,
    /// The component's path, for messages.
    pub path: PathBuf,
}

/// Reads every `<root>/<name>/plugin.toml` and its component. A missing root holds no
/// plugins; a plugin that cannot be read is reported and the others still load.
pub fn scan(root: &Path, max_component_bytes: u64) -> (Vec<PluginFile>, Vec<LoadError>) {
    each_plugin_dir(root, |dir, path| {
        read_plugin(dir, path, None, max_component_bytes)
    })
}

/// Reads only the manifests of [`scan`]'s plugins: what the host derives for backends before
/// it loads any component. Plugins whose manifest cannot be read are left out; loading them
/// reports why.
pub fn scan_manifests(root: &Path) -> Vec<Manifest> {
    each_plugin_dir(root, read_manifest).0
}

/// `read` over every plugin directory of `root` (not hidden, in name order).
fn each_plugin_dir<T>(
    root: &Path,
    read: impl Fn(&Dir, &Path) -> Result<T, LoadError>,
) -> (Vec<T>, Vec<LoadError>) {
    let io_error = |source| LoadError::Io {
        path: root.display().to_string(),
        source,
    };
    let dir = match Dir::open_ambient_dir(root, ambient_authority()) {
        Ok(dir) => dir,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), Vec::new()),
        Err(e) => return (Vec::new(), vec![io_error(e)]),
    };
    let entries = match dir.entries() {
        Ok(entries) => entries,
        Err(e) => return (Vec::new(), vec![io_error(e)]),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();

    let mut found = Vec::new();
    let mut failed = Vec::new();
    for name in names {
        let path = root.join(&name);
        let result = dir
            .open_dir(&name)
            .map_err(|source| LoadError::Io {
                path: path.display().to_string(),
                source,
            })
            .and_then(|plugin_dir| read(&plugin_dir, &path));
        match result {
            Ok(plugin) => found.push(plugin),
            Err(error) => failed.push(error),
        }
    }
    (found, failed)
}

/// Reads the component at `component_path` and the `plugin.toml` beside it, as
/// `decision-matrix plugins check` does.
pub fn read_component_file(
    component_path: &Path,
    max_component_bytes: u64,
) -> Result<PluginFile, LoadError> {
    let io_error = |source| LoadError::Io {
        path: component_path.display().to_string(),
        source,
    };
    let file_name = component_path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| {
            io_error(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a file name",
            ))
        })?;
    let parent = match component_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let dir = Dir::open_ambient_dir(parent, ambient_authority()).map_err(io_error)?;
    read_plugin(&dir, parent, Some(file_name), max_component_bytes)
}

fn read_plugin(
    dir: &Dir,
    dir_path: &Path,
    expected_component: Option<&str>,
    max_component_bytes: u64,
) -> Result<PluginFile, LoadError> {
    let manifest_path = dir_path.join(MANIFEST_FILE);
    let manifest = read_manifest(dir, dir_path)?;
    if let Some(expected) = expected_component
        && expected != manifest.component
    {
        return Err(LoadError::Manifest {
            path: manifest_path.display().to_string(),
            source: ManifestError::Invalid(format!(
                "component = {:?}, but the file given is {expected:?}",
                manifest.component
            )),
        });
    }
    let path = dir_path.join(&manifest.component);
    let wasm = read_capped(dir, &manifest.component, max_component_bytes).map_err(|e| match e {
        Capped::Io(source) => LoadError::Io {
            path: path.display().to_string(),
            source,
        },
        Capped::TooLarge(size) => LoadError::TooLarge {
            path: path.display().to_string(),
            size,
            limit: max_component_bytes,
        },
    })?;
    Ok(PluginFile {
        manifest,
        wasm,
        path,
    })
}

/// Reads and validates the `plugin.toml` in `dir`.
fn read_manifest(dir: &Dir, dir_path: &Path) -> Result<Manifest, LoadError> {
    let manifest_path = dir_path.join(MANIFEST_FILE);
    let manifest_text =
        read_capped(dir, MANIFEST_FILE, MAX_MANIFEST_BYTES as u64).map_err(|e| match e {
            Capped::Io(source) => LoadError::Io {
                path: manifest_path.display().to_string(),
                source: with_hint(source, "every plugin needs a plugin.toml beside its .wasm"),
            },
            Capped::TooLarge(size) => LoadError::Manifest {
                path: manifest_path.display().to_string(),
                source: ManifestError::TooLarge(size as usize),
            },
        })?;
    let manifest_text = String::from_utf8(manifest_text).map_err(|_| LoadError::Manifest {
        path: manifest_path.display().to_string(),
        source: ManifestError::Syntax("the file is not UTF-8".to_owned()),
    })?;
    Manifest::parse(&manifest_text).map_err(|source| LoadError::Manifest {
        path: manifest_path.display().to_string(),
        source,
    })
}

enum Capped {
    Io(std::io::Error),
    TooLarge(u64),
}

/// Reads a file of at most `max` bytes; the size is checked before and while reading, so a
/// file that grows meanwhile is still cut off.
fn read_capped(dir: &Dir, name: &str, max: u64) -> Result<Vec<u8>, Capped> {
    let file = dir.open(name).map_err(Capped::Io)?;
    let size = file.metadata().map_err(Capped::Io)?.len();
    if size > max {
        return Err(Capped::TooLarge(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(Capped::Io)?;
    if bytes.len() as u64 > max {
        return Err(Capped::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

fn with_hint(error: std::io::Error, hint: &str) -> std::io::Error {
    if error.kind() == std::io::ErrorKind::NotFound {
        std::io::Error::new(error.kind(), format!("{error} ({hint})"))
    } else {
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str =
        "id = \"p\"\nversion = \"0.1.0\"\nkind = \"scoring\"\ncomponent = \"p.wasm\"\n";

    #[test]
    fn scan_reports_bad_plugins_and_keeps_good_ones() {
        let root = tempfile::tempdir().expect("tempdir");
        let good = root.path().join("good");
        std::fs::create_dir(&good).expect("mkdir");
        std::fs::write(good.join("plugin.toml"), MANIFEST).expect("write");
        std::fs::write(good.join("p.wasm"), b"\0asm").expect("write");
        std::fs::create_dir(root.path().join("empty")).expect("mkdir");

        let (found, failed) = scan(root.path(), 1024);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].manifest.id, "p");
        assert_eq!(failed.len(), 1);
        assert!(
            failed[0]
                .to_string()
                .contains("plugin.toml beside its .wasm"),
            "{}",
            failed[0]
        );
    }

    #[test]
    fn missing_root_holds_no_plugins() {
        let root = tempfile::tempdir().expect("tempdir");
        let (found, failed) = scan(&root.path().join("absent"), 1024);
        assert!(found.is_empty() && failed.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn symlink_out_of_the_plugin_directory_is_refused() {
        let root = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("secret.wasm"), b"\0asm").expect("write");
        let plugin = root.path().join("sneaky");
        std::fs::create_dir(&plugin).expect("mkdir");
        std::fs::write(plugin.join("plugin.toml"), MANIFEST).expect("write");
        std::os::unix::fs::symlink(outside.path().join("secret.wasm"), plugin.join("p.wasm"))
            .expect("symlink");

        let (found, failed) = scan(root.path(), 1024);
        assert!(found.is_empty());
        assert_eq!(failed.len(), 1, "{failed:?}");
    }

    #[test]
    fn oversized_component_is_refused_with_sizes() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::write(root.path().join("plugin.toml"), MANIFEST).expect("write");
        std::fs::write(root.path().join("p.wasm"), vec![0u8; 2048]).expect("write");
        let err = read_component_file(&root.path().join("p.wasm"), 1024).unwrap_err();
        assert!(
            err.to_string().contains("2048 bytes; the limit is 1024"),
            "{err}"
        );
    }

    #[test]
    fn component_name_must_match_the_manifest() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::write(root.path().join("plugin.toml"), MANIFEST).expect("write");
        std::fs::write(root.path().join("other.wasm"), b"\0asm").expect("write");
        let err = read_component_file(&root.path().join("other.wasm"), 1024).unwrap_err();
        assert!(err.to_string().contains("\"p.wasm\""), "{err}");
    }
}
