//! On-disk cache of compiled plugins.
//!
//! MCP clients start stdio servers over and over, so compiling every plugin at each start
//! (tens of milliseconds each) would dominate start-up. Compiled artifacts are stored under a
//! key made of the component's SHA-256 and the engine's compatibility hash, so a different
//! wasmtime version or engine setting never loads a stale artifact.
//!
//! Deserializing compiled code is `unsafe` in wasmtime: it runs whatever machine code the
//! file holds. The cache therefore only loads files it wrote itself, from a directory opened
//! through a `cap-std` handle (no path from a manifest or a config entry can lead outside it)
//! that is a real directory owned by the host's user and writable by no one else (see
//! [`directory`]). Each entry is a regular file (never a symbolic link) carrying a keyed
//! digest of its name and payload (see [`key`]), so a truncated, altered, swapped or planted
//! file is recompiled instead of loaded.
//!
//! An entry is the artifact exactly as wasmtime wrote it, followed by a trailer (this
//! cache's magic and the HMAC-SHA-256, under the installation's key, of the entry's name and
//! the artifact), so that wasmtime can map the file itself instead
//! of copying it into anonymous memory. Mapped, only the pages a plugin actually runs become
//! resident, and they are shared with every other server process on the machine; copied,
//! every built-in plugin's code stayed resident in every process whether it ran or not. The
//! digest is checked by reading the file through a small buffer, which leaves nothing behind.

use std::hash::Hasher;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::binary::ComponentBinary;

pub mod directory;
pub mod key;

/// Marks a file as written by this cache, format version 3 (a keyed digest in the trailer).
/// Entries of version 2 (an unkeyed digest) and 1 (the magic first) fail the check and are
/// recompiled.
const MAGIC: &[u8; 12] = b"DMX-CWASM-3\n";
/// The magic, then the HMAC-SHA-256 of the entry's name and everything before the trailer.
const TRAILER_LEN: usize = MAGIC.len() + 32;
/// Entries kept; older ones are removed when a new one is written.
const MAX_ENTRIES: usize = 64;
const SUFFIX: &str = ".cwasm";

/// Whether [`CompileCache::load_or_compile`] compiled or reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded a precompiled artifact.
    Hit,
    /// Compiled, and stored the artifact.
    Compiled,
    /// Compiled, but storing failed (logged); the next start compiles again.
    CompiledUncached,
}

/// A directory of precompiled components.
pub struct CompileCache {
    dir: Dir,
    /// Where `dir` is: wasmtime maps an entry by path. Only hex names built by
    /// [`CompileCache::entry_name`] are ever joined to it.
    path: PathBuf,
    engine_hash: String,
    /// HMAC-SHA-256 keyed with the installation's key, ready for an entry's name.
    mac: Hmac<Sha256>,
}

impl CompileCache {
    /// Opens (creating it if needed, mode 0700) the cache directory at `path`, and its key.
    ///
    /// Refuses a symbolic link, a directory of another user's and one that other users can
    /// write to, since its files become machine code.
    pub fn open(path: &Path, engine: &Engine) -> io::Result<CompileCache> {
        directory::prepare(path)?;
        let dir = Dir::open_ambient_dir(path, ambient_authority())?;
        let key = key::load_or_create(&dir)?;
        let mac = Hmac::<Sha256>::new_from_slice(&key).map_err(io::Error::other)?;
        Ok(CompileCache {
            dir,
            path: path.to_path_buf(),
            engine_hash: engine_hash(engine),
            mac,
        })
    }

    /// The digest of entry `name` so far: keyed, and bound to the name, so that an entry
    /// renamed to another's name fails the check too.
    fn digest(&self, name: &str) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(name.as_bytes());
        mac.update(&[0]);
        mac
    }

    /// Returns the compiled component for `wasm`, from the cache when possible.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        wasm: ComponentBinary<'_>,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let name = self.entry_name(wasm.sha256());
        if let Some(component) = self.load(engine, &name) {
            return Ok((component, CacheOutcome::Hit));
        }
        let compiled = engine.precompile_component(wasm.bytes())?;
        let outcome = match self.store(&name, &compiled) {
            Ok(()) => CacheOutcome::Compiled,
            Err(error) => {
                tracing::warn!(%error, entry = %name, "could not write the plugin compile cache");
                CacheOutcome::CompiledUncached
            }
        };
        // Mapped from the entry just written, so that even the first start keeps only the
        // code that runs resident.
        if outcome == CacheOutcome::Compiled {
            match self.map(engine, &name) {
                Ok(component) => return Ok((component, outcome)),
                Err(error) => unmappable(&name, &error),
            }
        }
        // SAFETY: `compiled` was produced just now by this engine from `wasm`.
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        Ok((component, outcome))
    }

    fn entry_name(&self, sha256: &[u8; 32]) -> String {
        format!("{}-{}{SUFFIX}", hex::encode(sha256), self.engine_hash)
    }

    fn load(&self, engine: &Engine, name: &str) -> Option<Component> {
        match self.verify(name) {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(entry = name, "corrupt compile cache entry; recompiling");
                let _ = self.dir.remove_file(name);
                return None;
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => return None,
            Err(error) => {
                tracing::warn!(%error, entry = name, "unreadable compile cache entry; recompiling");
                return None;
            }
        }
        match self.map(engine, name) {
            Ok(component) => return Some(component),
            Err(error) => unmappable(name, &error),
        }
        let stale = |error: &dyn std::fmt::Display| {
            tracing::warn!(%error, entry = name, "stale compile cache entry; recompiling");
            let _ = self.dir.remove_file(name);
        };
        let bytes = match self.dir.read(name) {
            Ok(bytes) => bytes,
            Err(error) => {
                stale(&error);
                return None;
            }
        };
        let artifact = &bytes[..bytes.len().saturating_sub(TRAILER_LEN)];
        // SAFETY: as for `map`; the copy is of the entry `verify` accepted.
        match unsafe { Component::deserialize(engine, artifact) } {
            Ok(component) => Some(component),
            Err(error) => {
                stale(&error);
                None
            }
        }
    }

    /// Whether entry `name` is a regular file (not a symbolic link) ending in this cache's
    /// trailer with the keyed digest of its name and what precedes the trailer.
    fn verify(&self, name: &str) -> io::Result<bool> {
        if !self.dir.symlink_metadata(name)?.is_file() {
            return Ok(false);
        }
        let mut file = self.dir.open(name)?;
        let Some(artifact_len) = file.metadata()?.len().checked_sub(TRAILER_LEN as u64) else {
            return Ok(false);
        };
        let mut digest = self.digest(name);
        let hashed = io::copy(&mut (&mut file).take(artifact_len), &mut digest)?;
        let mut trailer = [0; TRAILER_LEN];
        if hashed != artifact_len || file.read_exact(&mut trailer).is_err() {
            return Ok(false);
        }
        let (magic, expected) = trailer.split_at(MAGIC.len());
        // `verify_slice` compares in constant time.
        Ok(magic == MAGIC && digest.verify_slice(expected).is_ok())
    }

    /// Has wasmtime map entry `name`, which [`CompileCache::verify`] accepted or
    /// [`CompileCache::store`] just wrote.
    fn map(&self, engine: &Engine, name: &str) -> wasmtime::Result<Component> {
        // SAFETY: the entry lives in the host's private cache directory, and it was either
        // written by `store` just now or is a regular file carrying this cache's trailer with
        // a matching keyed digest (so it is complete and was written by `store` under this
        // name, by a host holding the key); its name binds it to this engine's
        // compatibility hash, and wasmtime re-checks the engine configuration too. Between
        // the check and the mapping only the directory's owner could replace the file.
        // Entries are only ever replaced by renaming a new file over them and removed by
        // unlinking, never rewritten in place, so a mapped entry cannot change under a
        // running plugin. The trailer is past the end of the ELF image and is ignored.
        unsafe { Component::deserialize_file(engine, self.path.join(name)) }
    }

    fn store(&self, name: &str, compiled: &[u8]) -> io::Result<()> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let temp = format!(
            ".tmp-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        let result = (|| {
            let mut file = self.dir.open_with(&temp, &options)?;
            set_private_mode(&file)?;
            file.write_all(compiled)?;
            file.write_all(MAGIC)?;
            let mut digest = self.digest(name);
            digest.update(compiled);
            file.write_all(&digest.finalize().into_bytes())?;
            file.sync_all()?;
            // Rename is atomic: a concurrent reader sees the old state or the whole file.
            self.dir.rename(&temp, &self.dir, name)
        })();
        if result.is_err() {
            let _ = self.dir.remove_file(&temp);
        }
        result?;
        self.prune();
        Ok(())
    }

    /// Keeps the newest [`MAX_ENTRIES`] entries.
    fn prune(&self) {
        let Ok(entries) = self.dir.entries() else {
            return;
        };
        let mut found: Vec<(std::time::SystemTime, String)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                if !name.ends_with(SUFFIX) {
                    return None;
                }
                let modified = entry.metadata().ok()?.modified().ok()?.into_std();
                Some((modified, name))
            })
            .collect();
        if found.len() <= MAX_ENTRIES {
            return;
        }
        found.sort();
        for (_, name) in &found[..found.len() - MAX_ENTRIES] {
            let _ = self.dir.remove_file(name);
        }
    }

    /// Number of entries, for diagnostics and tests.
    pub fn len(&self) -> usize {
        self.dir
            .entries()
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(SUFFIX))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Notes that an entry could not be mapped and is about to be loaded into memory instead: a
/// cache directory on a `noexec` file system refuses executable mappings, and an entry this
/// engine cannot use fails here first.
fn unmappable(name: &str, error: &wasmtime::Error) {
    tracing::debug!(error = %format!("{error:#}"), entry = name, "compile cache entry not mapped; loading a copy");
}

/// The engine's compatibility hash as hex: equal exactly when compiled code is interchangeable.
fn engine_hash(engine: &Engine) -> String {
    struct Sha(Sha256);
    impl Hasher for Sha {
        fn finish(&self) -> u64 {
            0 // unused: the digest is read from the inner state
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = Sha(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hex::encode(&hasher.0.finalize()[..12])
}

/// Makes a file the cache writes readable and writable by its owner only.
#[cfg(unix)]
fn set_private_mode(file: &cap_std::fs::File) -> io::Result<()> {
    use cap_std::fs::PermissionsExt;
    file.set_permissions(cap_std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_private_mode(_: &cap_std::fs::File) -> io::Result<()> {
    Ok(())
}
