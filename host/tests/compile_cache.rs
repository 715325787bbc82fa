//! The on-disk compile cache: a restart with a warm cache does not recompile, and a damaged
//! entry is recompiled rather than loaded.

use decision_matrix::plugins::cache::{CacheOutcome, CompileCache};
use decision_matrix::plugins::engine::PluginEngine;
use decision_matrix::plugins::limits::LimitSettings;

fn component_bytes() -> Vec<u8> {
    let dir = std::path::Path::new(env!("DMX_BUILT_PLUGINS_DIR")).join("weighted-average");
    std::fs::read(dir.join("weighted_average.wasm")).expect("built weighted-average component")
}

#[test]
fn warm_cache_loads_without_compiling() {
    let temp = tempfile::tempdir().expect("tempdir");
    let wasm = component_bytes();
    let engine = PluginEngine::new(&LimitSettings::default()).expect("engine");

    let cache = CompileCache::open(&temp.path().join("c"), engine.engine()).expect("cache");
    let (_, first) = cache
        .load_or_compile(engine.engine(), &wasm)
        .expect("compile");
    assert_eq!(first, CacheOutcome::Compiled);
    assert_eq!(cache.len(), 1);

    // A new engine with the same settings, as after a restart.
    let engine = PluginEngine::new(&LimitSettings::default()).expect("engine");
    let cache = CompileCache::open(&temp.path().join("c"), engine.engine()).expect("cache");
    let (_, second) = cache.load_or_compile(engine.engine(), &wasm).expect("load");
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
        .load_or_compile(engine.engine(), &wasm)
        .expect("compile");

    for entry in std::fs::read_dir(&dir).expect("read dir") {
        let path = entry.expect("entry").path();
        let mut bytes = std::fs::read(&path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).expect("write");
    }
    let (_, outcome) = cache
        .load_or_compile(engine.engine(), &wasm)
        .expect("recompile");
    assert_eq!(outcome, CacheOutcome::Compiled);
}

#[test]
fn entries_are_keyed_by_component_content() {
    let temp = tempfile::tempdir().expect("tempdir");
    let engine = PluginEngine::new(&LimitSettings::default()).expect("engine");
    let cache = CompileCache::open(&temp.path().join("c"), engine.engine()).expect("cache");
    let wasm = component_bytes();
    cache
        .load_or_compile(engine.engine(), &wasm)
        .expect("compile");
    // The same code with an extra custom section is a different component.
    let mut other = wasm.clone();
    other.extend_from_slice(&[0x00, 0x04, 0x01, b'x', 0xAA, 0xBB]);
    let (_, outcome) = cache
        .load_or_compile(engine.engine(), &other)
        .expect("compile other");
    assert_eq!(outcome, CacheOutcome::Compiled);
    assert_eq!(cache.len(), 2);
}
