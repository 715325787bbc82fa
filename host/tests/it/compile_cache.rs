//! The on-disk compile cache: a restart with a warm cache does not recompile, a damaged or
//! outdated entry is recompiled rather than loaded, code planted or swapped in without the
//! installation's key is never loaded, and a loaded entry is mapped, not copied.

use std::path::{Path, PathBuf};

use decision_matrix::plugins::ComponentBinary;
use decision_matrix::plugins::cache::key::KEY_FILE;
use decision_matrix::plugins::cache::{CacheOutcome, CompileCache};
use decision_matrix::plugins::engine::PluginEngine;
use decision_matrix::plugins::limits::LimitSettings;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The magic and digest after an entry's artifact.
const TRAILER_LEN: usize = 12 + 32;

fn component_bytes() -> Vec<u8> {
    let dir = decision_matrix_testkit::plugins_dir().join("weighted-average");
    std::fs::read(dir.join("weighted_average.wasm")).expect("built weighted-average component")
}

/// The cache's entries (its key aside).
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    entries.sort();
    entries
}

/// The cache's one entry.
fn only_entry(dir: &Path) -> PathBuf {
    let entries = entries(dir);
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.into_iter().next().expect("one entry")
}

/// `artifact` followed by the trailer the cache would write for entry `entry`, computed
/// with the key in `dir` (as only the directory's owner can).
fn keyed_entry(dir: &Path, entry: &Path, artifact: &[u8]) -> Vec<u8> {
    let key = std::fs::read(dir.join(KEY_FILE)).expect("the key");
    let name = entry.file_name().expect("a name").to_string_lossy();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(name.as_bytes());
    mac.update(&[0]);
    mac.update(artifact);
    let mut bytes = artifact.to_vec();
    bytes.extend_from_slice(b"DMX-CWASM-3\n");
    bytes.extend_from_slice(&mac.finalize().into_bytes());
    bytes
}

/// Another component: the same code with an extra custom section.
fn other_component(wasm: &[u8]) -> Vec<u8> {
    let mut other = wasm.to_vec();
    other.extend_from_slice(&[0x00, 0x04, 0x01, b'x', 0xAA, 0xBB]);
    other
}

#[test]
fn warm_cache_loads_without_compiling() {
    let temp = tempfile::tempdir().expect("tempdir");
    let wasm = component_bytes();
    let engine = PluginEngine::new(&LimitSettings::default()).expect("engine");

    let cache = CompileCache::open(&temp.path().join("c"), engine.engine()).expect("cache");
    let (_, first) = cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
        .expect("compile");
    assert_eq!(first, CacheOutcome::Compiled);
    assert_eq!(cache.len(), 1);

    // A new engine with the same settings, as after a restart.
    let engine = PluginEngine::new(&LimitSettings::default()).expect("engine");
    let cache = CompileCache::open(&temp.path().join("c"), engine.engine()).expect("cache");
    let (_, second) = cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
        .expect("load");
    assert_eq!(second, CacheOutcome::Hit);
}

#[test]
fn damaged_entry_is_recompiled_not_loaded() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("c");
    let wasm = component_bytes();
    let engine = PluginEngine::new(&LimitSettings::default()).expect("engine");
    let cache = CompileCache::open(&dir, engine.engine()).expect("cache");
    cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
        .expect("compile");
    let good = std::fs::read(only_entry(&dir)).expect("read");

    // The ELF header, the middle of the code, the digest; then a truncated entry.
    for at in [0, good.len() / 2, good.len() - 1] {
        let mut bytes = good.clone();
        bytes[at] ^= 0xff;
        std::fs::write(only_entry(&dir), bytes).expect("write");
        let (_, outcome) = cache
            .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
            .expect("recompile");
        assert_eq!(
            outcome,
            CacheOutcome::Compiled,
            "byte {at} of {}",
            good.len()
        );
        assert_eq!(std::fs::read(only_entry(&dir)).expect("read"), good);
    }
    std::fs::write(only_entry(&dir), &good[..good.len() - 100]).expect("truncate");
    let (_, outcome) = cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
        .expect("recompile");
    assert_eq!(outcome, CacheOutcome::Compiled, "truncated");
}

#[test]
fn entry_of_the_first_format_is_replaced() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("c");
    let wasm = component_bytes();
    let engine = PluginEngine::new(&LimitSettings::default()).expect("engine");
    let cache = CompileCache::open(&dir, engine.engine()).expect("cache");
    cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
        .expect("compile");
    let entry = only_entry(&dir);
    let current = std::fs::read(&entry).expect("read");

    // Format 1: the magic and the digest before the artifact, complete and correct.
    let artifact = &current[..current.len() - 44];
    let mut first_format = b"DMX-CWASM-1\n".to_vec();
    first_format.extend_from_slice(&Sha256::digest(artifact));
    first_format.extend_from_slice(artifact);
    std::fs::write(&entry, first_format).expect("write");

    let (_, outcome) = cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
        .expect("recompile");
    assert_eq!(outcome, CacheOutcome::Compiled);
    let (_, outcome) = cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
        .expect("load");
    assert_eq!(outcome, CacheOutcome::Hit);
}

#[test]
fn entry_wasmtime_rejects_is_recompiled() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("c");
    let wasm = component_bytes();
    let engine = PluginEngine::new(&LimitSettings::default()).expect("engine");
    let cache = CompileCache::open(&dir, engine.engine()).expect("cache");
    cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
        .expect("compile");

    // Complete and with a matching digest, but not an artifact: neither mapped nor copied,
    // wasmtime takes it, so the cache must compile again rather than fail the load.
    let artifact = b"not an ELF image".repeat(300);
    let entry = only_entry(&dir);
    std::fs::write(&entry, keyed_entry(&dir, &entry, &artifact)).expect("write");

    let (_, outcome) = cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
        .expect("recompile");
    assert_eq!(outcome, CacheOutcome::Compiled);
    let (_, outcome) = cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
        .expect("load");
    assert_eq!(outcome, CacheOutcome::Hit);
}

#[cfg(target_os = "linux")]
#[test]
fn loaded_code_is_mapped_from_its_entry() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("c");
    let wasm = component_bytes();
    let engine = PluginEngine::new(&LimitSettings::default()).expect("engine");
    let cache = CompileCache::open(&dir, engine.engine()).expect("cache");
    let mapped = |label: &str| {
        let entry = only_entry(&dir);
        let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
        assert!(
            maps.lines()
                .any(|line| line.ends_with(&*entry.to_string_lossy())),
            "{label}: {} is not mapped",
            entry.display()
        );
    };

    let (compiled, outcome) = cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
        .expect("compile");
    assert_eq!(outcome, CacheOutcome::Compiled);
    mapped("compiled");
    drop(compiled);

    let (loaded, outcome) = cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
        .expect("load");
    assert_eq!(outcome, CacheOutcome::Hit);
    mapped("loaded");
    drop(loaded);
}

#[test]
fn entries_are_keyed_by_component_content() {
    let temp = tempfile::tempdir().expect("tempdir");
    let engine = PluginEngine::new(&LimitSettings::default()).expect("engine");
    let cache = CompileCache::open(&temp.path().join("c"), engine.engine()).expect("cache");
    let wasm = component_bytes();
    cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
        .expect("compile");
    // The same code with an extra custom section is a different component.
    let other = other_component(&wasm);
    let (_, outcome) = cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&other))
        .expect("compile other");
    assert_eq!(outcome, CacheOutcome::Compiled);
    assert_eq!(cache.len(), 2);
}

/// What an attacker who can write to the cache directory but not read its key can do: plant
/// compiled code under an entry's name with the digest computed without the key (in the
/// current format), or swap two genuine entries. Neither is loaded.
#[test]
fn code_planted_or_swapped_without_the_key_is_not_loaded() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("c");
    let wasm = component_bytes();
    let other = other_component(&wasm);
    let engine = PluginEngine::new(&LimitSettings::default()).expect("engine");
    let cache = CompileCache::open(&dir, engine.engine()).expect("cache");
    for component in [&wasm, &other] {
        cache
            .load_or_compile(engine.engine(), ComponentBinary::new(component))
            .expect("compile");
    }
    let [first, second] = <[PathBuf; 2]>::try_from(entries(&dir)).expect("two entries");
    let (first_bytes, second_bytes) = (
        std::fs::read(&first).expect("read"),
        std::fs::read(&second).expect("read"),
    );
    let magic = &first_bytes[first_bytes.len() - TRAILER_LEN..first_bytes.len() - 32];
    let wasm_of = |entry: &Path| {
        let name = entry
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name.starts_with(&hex::encode(Sha256::digest(&wasm))) {
            wasm.clone()
        } else {
            other.clone()
        }
    };

    // Planted: the other entry's code, under this entry's name, with a plain SHA-256.
    let foreign = &second_bytes[..second_bytes.len() - TRAILER_LEN];
    let mut planted = foreign.to_vec();
    planted.extend_from_slice(magic);
    planted.extend_from_slice(&Sha256::digest(foreign));
    std::fs::write(&first, &planted).expect("plant");
    let (_, outcome) = cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm_of(&first)))
        .expect("recompile");
    assert_eq!(
        outcome,
        CacheOutcome::Compiled,
        "planted code is not loaded"
    );
    assert_eq!(std::fs::read(&first).expect("read"), first_bytes);

    // Swapped: a genuine entry, keyed for another name.
    std::fs::write(&first, &second_bytes).expect("swap");
    let (_, outcome) = cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm_of(&first)))
        .expect("recompile");
    assert_eq!(
        outcome,
        CacheOutcome::Compiled,
        "a swapped entry is not loaded"
    );
}

/// An entry that is a symbolic link is not followed, even to a genuine entry's copy.
#[cfg(unix)]
#[test]
fn a_symbolic_link_in_place_of_an_entry_is_not_followed() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("c");
    let wasm = component_bytes();
    let engine = PluginEngine::new(&LimitSettings::default()).expect("engine");
    let cache = CompileCache::open(&dir, engine.engine()).expect("cache");
    cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
        .expect("compile");
    let entry = only_entry(&dir);
    let copy = dir.join("copy.bin");
    std::fs::rename(&entry, &copy).expect("move the entry aside");
    std::os::unix::fs::symlink(&copy, &entry).expect("link");

    let (_, outcome) = cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&wasm))
        .expect("recompile");
    assert_eq!(outcome, CacheOutcome::Compiled);
    let meta = std::fs::symlink_metadata(&entry).expect("meta");
    assert!(meta.is_file(), "the link was replaced by a real entry");
}
