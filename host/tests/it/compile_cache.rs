//! The on-disk compile cache: a restart with a warm cache does not recompile, a damaged or
//! outdated entry is recompiled rather than loaded, and a loaded entry is mapped, not copied.

use std::path::{Path, PathBuf};

use decision_matrix::plugins::ComponentBinary;
use decision_matrix::plugins::cache::{CacheOutcome, CompileCache};
use decision_matrix::plugins::engine::PluginEngine;
use decision_matrix::plugins::limits::LimitSettings;
use sha2::{Digest, Sha256};

fn component_bytes() -> Vec<u8> {
    let dir = decision_matrix_testkit::plugins_dir().join("weighted-average");
    std::fs::read(dir.join("weighted_average.wasm")).expect("built weighted-average component")
}

/// The cache's one entry.
fn only_entry(dir: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.into_iter().next().expect("one entry")
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
    let mut entry = artifact.clone();
    entry.extend_from_slice(b"DMX-CWASM-2\n");
    entry.extend_from_slice(&Sha256::digest(&artifact));
    std::fs::write(only_entry(&dir), entry).expect("write");

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
    let mut other = wasm.clone();
    other.extend_from_slice(&[0x00, 0x04, 0x01, b'x', 0xAA, 0xBB]);
    let (_, outcome) = cache
        .load_or_compile(engine.engine(), ComponentBinary::new(&other))
        .expect("compile other");
    assert_eq!(outcome, CacheOutcome::Compiled);
    assert_eq!(cache.len(), 2);
}
