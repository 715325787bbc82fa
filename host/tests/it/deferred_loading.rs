//! Built-in plugins are checked at start-up but mapped by their first call: until then none
//! of their compiled code is in the process, and a call finds its way back to the code even
//! if the compile cache entry has gone or been damaged since.

use std::collections::BTreeSet;
use std::path::Path;

use decision_matrix::plugins::grants::GrantsConfig;
use decision_matrix::plugins::{PluginCatalog, PluginHost, PluginSettings};

fn catalog(cache: Option<&Path>) -> (PluginCatalog, PluginHost) {
    let settings = PluginSettings {
        dir: None,
        cache: cache.is_some(),
        cache_dir: cache.map(Path::to_path_buf),
        ..PluginSettings::default()
    };
    let host = PluginHost::new(settings, GrantsConfig::default()).expect("host");
    let catalog = PluginCatalog::load(&host, None);
    assert!(catalog.failures().is_empty(), "{:?}", catalog.failures());
    (catalog, host)
}

/// The files under `dir` that this process has mapped.
fn mapped_under(dir: &Path) -> BTreeSet<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
    let dir = dir.to_str().expect("utf-8 path");
    maps.lines()
        .filter_map(|line| line.split_whitespace().last())
        .filter(|file| file.starts_with(dir))
        .map(str::to_owned)
        .collect()
}

fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .expect("cache dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
        .collect()
}

#[tokio::test]
async fn builtins_are_mapped_by_their_first_call() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("cache");
    let (catalog, _host) = catalog(Some(&dir));
    let builtins = catalog.backends().count() + catalog.scorers().count();
    assert_eq!(entries(&dir).len(), builtins, "every built-in compiled");
    assert!(catalog.backends().all(|b| !b.is_loaded()));
    assert!(catalog.scorers().all(|s| !s.is_loaded()));
    assert_eq!(mapped_under(&dir), BTreeSet::new());

    let scorer = catalog
        .scorer("weighted-average")
        .expect("weighted-average");
    assert_eq!(scorer.info().await.expect("info").id, "weighted-average");
    assert!(scorer.is_loaded());
    let mapped = mapped_under(&dir);
    assert_eq!(
        mapped.len(),
        1,
        "only the called plugin is mapped: {mapped:?}"
    );
    let loaded = catalog.scorers().filter(|s| s.is_loaded()).count()
        + catalog.backends().filter(|b| b.is_loaded()).count();
    assert_eq!(loaded, 1);
}

#[tokio::test]
async fn concurrent_first_calls_all_succeed_and_leave_it_loaded() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("cache");
    let (catalog, _host) = catalog(Some(&dir));
    let scorer = catalog.scorer("topsis").expect("topsis").clone();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let scorer = scorer.clone();
            tokio::spawn(async move { scorer.info().await })
        })
        .collect();
    for call in calls {
        let info = call.await.expect("task").expect("info");
        assert_eq!(info.id, "topsis");
    }
    assert!(scorer.is_loaded());
    // Kept for later calls, not loaded and dropped by each one.
    assert_eq!(mapped_under(&dir).len(), 1);
}

#[tokio::test]
async fn a_first_call_recompiles_an_entry_removed_or_damaged_since_start_up() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("cache");
    let (catalog, _host) = catalog(Some(&dir));
    let compiled = entries(&dir);
    let damaged = &compiled[0];
    let mut bytes = std::fs::read(damaged).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(damaged, bytes).expect("damage");
    for entry in &compiled[1..] {
        std::fs::remove_file(entry).expect("remove");
    }

    for scorer in catalog.scorers() {
        let info = scorer
            .info()
            .await
            .expect("info after the cache was cleared");
        assert_eq!(info.id, scorer.descriptor().manifest.id);
    }
    for backend in catalog.backends() {
        let info = backend
            .info()
            .await
            .expect("info after the cache was cleared");
        assert_eq!(info.id, backend.descriptor().manifest.id);
    }
    assert_eq!(entries(&dir).len(), compiled.len(), "entries written again");
}

#[tokio::test]
async fn without_a_compile_cache_builtins_stay_loaded() {
    let (catalog, _host) = catalog(None);
    assert!(catalog.backends().all(|b| b.is_loaded()));
    assert!(catalog.scorers().all(|s| s.is_loaded()));
    let scorer = catalog
        .scorer("weighted-average")
        .expect("weighted-average");
    assert_eq!(scorer.info().await.expect("info").id, "weighted-average");
}
