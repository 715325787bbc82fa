//! The built-in scoring strategies beside `weighted-average` (`weighted-product`, `topsis` and
//! `rank-sum`), loaded through the plugin platform and run as WebAssembly components on
//! published worked examples, so that what the plugins' native unit tests check also holds for
//! the components the server embeds.

use decision_matrix::plugins::bindings::scoring_export::{Cell, Criterion, Matrix, RankedOption};
use decision_matrix::plugins::bindings::types::PluginError;
use decision_matrix::plugins::grants::GrantsConfig;
use decision_matrix::plugins::{
    CallError, Origin, PluginCatalog, PluginHost, PluginSettings, ScoringPlugin,
};

/// Every built-in scoring strategy.
const STRATEGIES: [&str; 4] = ["weighted-average", "weighted-product", "topsis", "rank-sum"];

/// The built-in plugins, compiled once for all tests of this file into Cargo's scratch
/// directory for integration tests.
fn catalog() -> PluginCatalog {
    let settings = PluginSettings {
        dir: None,
        cache_dir: Some(
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("scoring-strategies-cache"),
        ),
        ..PluginSettings::default()
    };
    let host = PluginHost::new(settings, GrantsConfig::default()).expect("host");
    let catalog = PluginCatalog::load(&host, None);
    assert!(catalog.failures().is_empty(), "{:?}", catalog.failures());
    catalog
}

fn scorer(catalog: &PluginCatalog, id: &str) -> ScoringPlugin {
    catalog
        .scorer(id)
        .unwrap_or_else(|| panic!("built-in strategy {id}"))
        .clone()
}

/// A matrix with options `A1…` and criteria `C1…`.
fn matrix(weights: &[f64], rows: &[&[Cell]]) -> Matrix {
    Matrix {
        options: (1..=rows.len()).map(|i| format!("A{i}")).collect(),
        criteria: weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| Criterion {
                name: format!("C{}", i + 1),
                weight,
            })
            .collect(),
        cells: rows.iter().flat_map(|r| r.iter().copied()).collect(),
    }
}

/// Every cell scored.
fn scored(weights: &[f64], rows: &[&[f64]]) -> Matrix {
    let rows: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| r.iter().copied().map(Cell::Scored).collect())
        .collect();
    let rows: Vec<&[Cell]> = rows.iter().map(Vec::as_slice).collect();
    matrix(weights, &rows)
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Checks that the ranking holds each option once, best first with well-formed ranks, and
/// returns `(total, rank)` per option, in option order.
fn by_option(ranked: &[RankedOption], options: usize) -> Vec<(f64, u32)> {
    let mut seen: Vec<u32> = ranked.iter().map(|r| r.option_index).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..options as u32).collect::<Vec<_>>(), "{ranked:?}");
    assert!(ranked.first().is_none_or(|r| r.rank == 1), "{ranked:?}");
    for (position, pair) in ranked.windows(2).enumerate() {
        assert!(pair[0].total >= pair[1].total, "{ranked:?}");
        let expected = if pair[0].total == pair[1].total {
            pair[0].rank
        } else {
            position as u32 + 2
        };
        assert_eq!(pair[1].rank, expected, "{ranked:?}");
    }
    let mut out = vec![(f64::NAN, 0); options];
    for r in ranked {
        out[r.option_index as usize] = (r.total, r.rank);
    }
    out
}

fn assert_totals(got: &[(f64, u32)], want: &[f64], tolerance: f64) {
    for (option, ((total, _), want)) in got.iter().zip(want).enumerate() {
        assert!(
            (total - want).abs() <= tolerance,
            "option {option}: {total} instead of {want} ({got:?})"
        );
    }
}

fn ranks(got: &[(f64, u32)]) -> Vec<u32> {
    got.iter().map(|&(_, rank)| rank).collect()
}

fn invalid_input(result: Result<Vec<RankedOption>, CallError>) -> String {
    match result {
        Err(CallError::Plugin {
            error: PluginError::InvalidInput(msg),
            ..
        }) => msg,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[tokio::test]
async fn every_strategy_is_built_in_and_describes_itself() {
    let catalog = catalog();
    for id in STRATEGIES {
        let plugin = scorer(&catalog, id);
        assert_eq!(plugin.descriptor().origin, Origin::Builtin, "{id}");
        let info = plugin.info().await.expect("info");
        assert_eq!(info.id, id);
        assert!(
            info.description.to_lowercase().contains("abstained"),
            "{id} must say how abstentions are treated: {}",
            info.description
        );
        match id {
            "topsis" => {
                let schema = info.params_schema.expect("topsis takes parameters");
                let schema: serde_json::Value = serde_json::from_str(&schema).expect("JSON");
                assert!(schema["properties"]["normalization"].is_object());
                assert!(schema["properties"]["types"].is_object());
            }
            _ => assert!(info.params_schema.is_none(), "{id}"),
        }
    }
}

/// The example of the English Wikipedia article "Weighted product model": the article's ratios
/// P(A1/A2) = 1.007, P(A1/A3) = 1.067 and P(A2/A3) = 1.059 are ratios of our totals too.
#[tokio::test]
async fn weighted_product_ranks_the_wikipedia_example() {
    let plugin = scorer(&catalog(), "weighted-product");
    let m = scored(
        &[20.0, 15.0, 40.0, 25.0],
        &[
            &[25.0, 20.0, 15.0, 30.0],
            &[10.0, 30.0, 20.0, 30.0],
            &[30.0, 10.0, 30.0, 10.0],
        ],
    );
    let got = by_option(&plugin.rank(m, Vec::new()).await.expect("rank"), 3);
    assert_eq!(ranks(&got), vec![1, 2, 3]);
    let ratio = |a: usize, b: usize| got[a].0 / got[b].0;
    assert!((ratio(0, 1) - 1.007).abs() < 5e-4, "{got:?}");
    assert!((ratio(0, 2) - 1.067).abs() < 5e-4, "{got:?}");
    assert!((ratio(1, 2) - 1.059).abs() < 5e-4, "{got:?}");
}

/// The usage example of the pymcdm README (version 1.0.3): min-max normalisation, weights 0.5
/// and 0.5, the second criterion a cost. Published preferences 0.6126, 0.0, 0.7829, 1.0 and
/// ranks 3, 4, 2, 1.
#[tokio::test]
async fn topsis_reproduces_the_pymcdm_readme_example() {
    let plugin = scorer(&catalog(), "topsis");
    let m = scored(
        &[0.5, 0.5],
        &[&[4.0, 4.0], &[1.0, 5.0], &[3.0, 2.0], &[4.0, 2.0]],
    );
    let ranked = plugin
        .rank(m, params(&[("normalization", "minmax"), ("types", "1,-1")]))
        .await
        .expect("rank");
    let got = by_option(&ranked, 4);
    assert_totals(&got, &[0.6126, 0.0, 0.7829, 1.0], 5e-5);
    assert_eq!(ranks(&got), vec![3, 4, 2, 1]);
}

/// Tzeng & Huang, "Multiple Attribute Decision Making: Methods and Applications" (2011), as
/// used by scikit-criteria's TOPSIS test: benefit criteria and vector normalisation, the
/// strategy's defaults. Published similarities 0.5037, 0.6581, 0.7482, 0.3340, ranks 3, 2, 1, 4.
#[tokio::test]
async fn topsis_defaults_reproduce_the_tzeng_huang_example() {
    let plugin = scorer(&catalog(), "topsis");
    let m = scored(
        &[0.3, 0.4, 0.3],
        &[
            &[5.0, 8.0, 4.0],
            &[7.0, 6.0, 8.0],
            &[8.0, 8.0, 6.0],
            &[7.0, 4.0, 6.0],
        ],
    );
    let got = by_option(&plugin.rank(m, Vec::new()).await.expect("rank"), 4);
    assert_totals(&got, &[0.5037, 0.6581, 0.7482, 0.3340], 5e-5);
    assert_eq!(ranks(&got), vec![3, 2, 1, 4]);
}

/// The Tennessee capital example of the English Wikipedia article "Borda count": four voter
/// blocs (42 %, 26 %, 15 %, 17 %) as weighted criteria, each bloc's ranking as scores. The
/// article's totals: Memphis 126, Nashville 194, Chattanooga 173, Knoxville 107.
#[tokio::test]
async fn rank_sum_reproduces_the_tennessee_borda_count() {
    let plugin = scorer(&catalog(), "rank-sum");
    // Rows: Memphis, Nashville, Chattanooga, Knoxville. Columns: the blocs, 10 for a bloc's
    // first choice down to 1 for its last.
    let m = scored(
        &[42.0, 26.0, 15.0, 17.0],
        &[
            &[10.0, 1.0, 1.0, 1.0],
            &[7.0, 10.0, 4.0, 4.0],
            &[4.0, 7.0, 10.0, 7.0],
            &[1.0, 4.0, 7.0, 10.0],
        ],
    );
    let got = by_option(&plugin.rank(m, Vec::new()).await.expect("rank"), 4);
    assert_totals(&got, &[126.0, 194.0, 173.0, 107.0], 0.0);
    assert_eq!(ranks(&got), vec![3, 1, 2, 4]);
}

/// One matrix with an abstention, a tie and an unscored option, through all four strategies,
/// showing how each treats them. A1 abstained on C2; A1 and A2 are equal on C1; A4 has no
/// score at all.
#[tokio::test]
async fn abstentions_and_ties_as_each_strategy_documents() {
    let catalog = catalog();
    let m = matrix(
        &[1.0, 1.0],
        &[
            &[Cell::Scored(9.0), Cell::Abstained],
            &[Cell::Scored(9.0), Cell::Scored(9.0)],
            &[Cell::Scored(1.0), Cell::Scored(1.0)],
            &[Cell::Missing, Cell::Abstained],
        ],
    );
    let mut results = Vec::new();
    for id in STRATEGIES {
        let ranked = scorer(&catalog, id)
            .rank(m.clone(), Vec::new())
            .await
            .expect("rank");
        results.push((id, by_option(&ranked, 4)));
    }
    for (id, got) in &results {
        match *id {
            // The abstention is neutral: A1 and A2 both total 9 and share rank 1.
            "weighted-average" | "weighted-product" => {
                assert_totals(got, &[9.0, 9.0, 1.0, 0.0], 1e-12);
                assert_eq!(ranks(got), vec![1, 1, 3, 4], "{id}");
            }
            // A1 is measured on C1 alone, where it is at the ideal: closeness 1 like A2. A3 is
            // the anti-ideal and A4 unscored, both 0.
            "topsis" => {
                assert_totals(got, &[1.0, 1.0, 0.0, 0.0], 1e-12);
                assert_eq!(ranks(got), vec![1, 1, 3, 3], "{id}");
            }
            // C1: A1 and A2 tie above A3, 1.5 points each. C2: A1 takes no part, A2 beats A3.
            // The abstention costs A1 the point A2 wins there.
            "rank-sum" => {
                assert_totals(got, &[1.5, 2.5, 0.0, 0.0], 0.0);
                assert_eq!(ranks(got), vec![2, 1, 3, 3], "{id}");
            }
            other => unreachable!("{other}"),
        }
    }
}

#[tokio::test]
async fn bad_input_and_params_are_invalid_input() {
    let catalog = catalog();
    let short = Matrix {
        cells: vec![Cell::Scored(5.0)],
        ..scored(&[1.0], &[&[5.0], &[6.0]])
    };
    let negative = scored(&[1.0, -1.0], &[&[5.0, 6.0]]);
    for id in STRATEGIES {
        let plugin = scorer(&catalog, id);
        let msg = invalid_input(plugin.rank(short.clone(), Vec::new()).await);
        assert!(msg.contains("need 2"), "{id}: {msg}");
        let msg = invalid_input(
            plugin
                .rank(scored(&[1.0], &[&[5.0]]), params(&[("x", "1")]))
                .await,
        );
        assert!(msg.contains("`x`"), "{id}: {msg}");
        if id != "weighted-average" {
            let msg = invalid_input(plugin.rank(negative.clone(), Vec::new()).await);
            assert!(msg.contains("`C2`"), "{id}: {msg}");
        }
    }
    let topsis = scorer(&catalog, "topsis");
    let two = scored(&[1.0, 1.0], &[&[5.0, 6.0]]);
    let msg = invalid_input(topsis.rank(two.clone(), params(&[("types", "1")])).await);
    assert!(msg.contains("2 criteria"), "{msg}");
    let msg = invalid_input(
        topsis
            .rank(two, params(&[("normalization", "euclid")]))
            .await,
    );
    assert!(msg.contains("`euclid`"), "{msg}");
    let product = scorer(&catalog, "weighted-product");
    let msg = invalid_input(product.rank(scored(&[1.0], &[&[0.0]]), Vec::new()).await);
    assert!(msg.contains("above 0"), "{msg}");
}
