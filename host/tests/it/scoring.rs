//! The built-in `weighted-average` strategy, called through the plugin host end to end.

use decision_matrix::plugins::bindings::scoring_export::{Cell, Criterion, Matrix};
use decision_matrix::plugins::grants::GrantsConfig;
use decision_matrix::plugins::limits::LimitSettings;
use decision_matrix::plugins::{
    CallError, PluginCatalog, PluginHost, PluginSettings, ScoringPlugin,
};

fn weighted_average() -> (ScoringPlugin, tempfile::TempDir) {
    weighted_average_with(LimitSettings::default())
}

fn weighted_average_with(limits: LimitSettings) -> (ScoringPlugin, tempfile::TempDir) {
    let cache = tempfile::tempdir().expect("tempdir");
    let settings = PluginSettings {
        dir: None,
        cache_dir: Some(cache.path().join("cache")),
        limits,
        ..PluginSettings::default()
    };
    let host = PluginHost::new(settings, GrantsConfig::default()).expect("host");
    let catalog = PluginCatalog::load(&host, None);
    assert!(catalog.failures().is_empty(), "{:?}", catalog.failures());
    let plugin = catalog
        .scorer("weighted-average")
        .expect("built-in weighted-average")
        .clone();
    (plugin, cache)
}

fn matrix(options: &[&str], criteria: &[(&str, f64)], cells: Vec<Cell>) -> Matrix {
    Matrix {
        options: options.iter().map(|s| s.to_string()).collect(),
        criteria: criteria
            .iter()
            .map(|(n, w)| Criterion {
                name: n.to_string(),
                weight: *w,
            })
            .collect(),
        cells,
    }
}

#[tokio::test]
async fn weighted_mean_over_scored_cells_ranked_stably() {
    let (plugin, _cache) = weighted_average();
    let info = plugin.info().await.expect("info");
    assert_eq!(info.id, "weighted-average");

    // A: (8*2 + 6*1) / 3 = 7.333; B: abstained on cost -> only speed counts: 7.333 too? no: 9.
    // C: (4*2 + 10*1) / 3 = 6.0; D: nothing scored -> 0.0; E ties with A.
    let m = matrix(
        &["A", "B", "C", "D", "E"],
        &[("cost", 2.0), ("speed", 1.0)],
        vec![
            Cell::Scored(8.0),
            Cell::Scored(6.0),
            Cell::Abstained,
            Cell::Scored(9.0),
            Cell::Scored(4.0),
            Cell::Scored(10.0),
            Cell::Missing,
            Cell::Abstained,
            Cell::Scored(6.0),
            Cell::Scored(10.0),
        ],
    );
    let ranked = plugin.rank(m, Vec::new()).await.expect("rank");
    let order: Vec<(u32, u32)> = ranked.iter().map(|r| (r.option_index, r.rank)).collect();
    // B 9.0; A 7.333 and E 7.333 tie (A first: insertion order), sharing rank 2; C 6.0; D 0.0.
    assert_eq!(order, vec![(1, 1), (0, 2), (4, 2), (2, 4), (3, 5)]);
    assert!((ranked[1].total - 22.0 / 3.0).abs() < 1e-12);
    assert_eq!(ranked[4].total, 0.0);
}

#[tokio::test]
async fn twenty_by_fifteen_matrix_ranks_every_option_once() {
    let (plugin, _cache) = weighted_average();
    let options: Vec<String> = (0..20).map(|i| format!("option {i}")).collect();
    let criteria: Vec<Criterion> = (0..15)
        .map(|j| Criterion {
            name: format!("c{j}"),
            weight: 0.1 + j as f64 * 0.5,
        })
        .collect();
    let cells = (0..300)
        .map(|k| Cell::Scored(1.0 + (k * 7 % 10) as f64))
        .collect();
    let ranked = plugin
        .rank(
            Matrix {
                options,
                criteria,
                cells,
            },
            Vec::new(),
        )
        .await
        .expect("rank");
    let mut seen: Vec<u32> = ranked.iter().map(|r| r.option_index).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..20).collect::<Vec<_>>());
    assert!(ranked.windows(2).all(|w| w[0].total >= w[1].total));
}

#[tokio::test]
async fn malformed_matrix_is_invalid_input() {
    let (plugin, _cache) = weighted_average();
    let m = matrix(&["A", "B"], &[("cost", 1.0)], vec![Cell::Scored(5.0)]);
    let err = plugin.rank(m, Vec::new()).await.unwrap_err();
    assert!(matches!(err, CallError::Plugin { .. }), "{err:?}");
    assert!(err.to_string().contains("invalid input"), "{err}");
}

/// More calls than `max_concurrent_calls` wait for a free instance slot; none fails for want
/// of one, with calls finishing and starting on several threads at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn calls_beyond_the_pool_wait_for_a_slot_instead_of_failing() {
    let (plugin, _cache) = weighted_average_with(LimitSettings {
        max_concurrent_calls: 2,
        ..LimitSettings::default()
    });
    for round in 0..3 {
        let calls: Vec<_> = (0..32)
            .map(|_| {
                let plugin = plugin.clone();
                tokio::spawn(async move {
                    let m = matrix(
                        &["A", "B"],
                        &[("cost", 1.0)],
                        vec![Cell::Scored(5.0), Cell::Scored(7.0)],
                    );
                    plugin.rank(m, Vec::new()).await
                })
            })
            .collect();
        for call in calls {
            let ranked = call.await.expect("the call task");
            let ranked = ranked.unwrap_or_else(|error| panic!("round {round}: {error}"));
            assert_eq!(ranked[0].option_index, 1);
        }
    }
}
