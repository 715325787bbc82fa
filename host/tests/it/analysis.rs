//! Ranking sessions through the scoring strategy plugins, and weight sensitivity: the
//! closed form for the weighted average must agree with the numeric search run through the
//! `weighted-average` plugin itself, and the plugin's totals with the domain's formula.

use decision_matrix::analysis::{self, AnalysisError, numeric, plugin_matrix, rank_with};
use decision_matrix::domain::cell::Basis;
use decision_matrix::domain::ranking::{rank, weighted_average_totals};
use decision_matrix::domain::sensitivity::weighted_average_sensitivity;
use decision_matrix::domain::{Cell, CellStatus, CriterionSpec, Limits, Score, Session};
use decision_matrix::plugins::builtin::session_defaults;
use decision_matrix::plugins::grants::GrantsConfig;
use decision_matrix::plugins::{PluginCatalog, PluginHost, PluginSettings};
use time::OffsetDateTime;

fn catalog() -> (PluginHost, PluginCatalog) {
    let settings = PluginSettings {
        dir: None,
        cache_dir: Some(
            std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("analysis-cache"),
        ),
        ..PluginSettings::default()
    };
    let host = PluginHost::new(settings, GrantsConfig::default()).expect("host");
    let catalog = PluginCatalog::load(&host, None);
    assert!(catalog.failures().is_empty(), "{:?}", catalog.failures());
    (host, catalog)
}

/// A session with `scores[o][c]` recorded (`None` = abstained).
fn scored_session(weights: &[f64], scores: &[Vec<Option<f64>>]) -> Session {
    let mut session = Session::new(
        "s".to_owned(),
        "topic".to_owned(),
        (0..scores.len())
            .map(|o| (format!("option {o}"), None))
            .collect(),
        weights
            .iter()
            .enumerate()
            .map(|(c, &weight)| CriterionSpec {
                name: format!("criterion {c}"),
                description: "d".to_owned(),
                weight,
                ..CriterionSpec::default()
            })
            .collect(),
        session_defaults(),
        &Limits {
            max_criteria_allowed: 50,
            ..Limits::default()
        },
        OffsetDateTime::now_utc(),
    )
    .expect("valid");
    let ids: Vec<_> = session.options().iter().map(|o| o.id).collect();
    let criteria: Vec<_> = session.criteria().iter().map(|c| c.id).collect();
    for (o, row) in scores.iter().enumerate() {
        for (c, score) in row.iter().enumerate() {
            let basis: Option<Basis> = session.basis(ids[o], criteria[c]);
            let status = match score {
                Some(s) => CellStatus::Scored {
                    score: Score::new(*s).expect("range"),
                },
                None => CellStatus::Abstained,
            };
            let cell = Cell {
                status,
                justification: String::new(),
                backend: Some("test".to_owned()),
                model: None,
                tokens: None,
                latency_ms: 0,
                attempts: 1,
                at: OffsetDateTime::now_utc(),
                basis,
                samples: Vec::new(),
            };
            assert!(session.record(ids[o], criteria[c], cell));
        }
    }
    session
}

fn random_scores(
    rng: &mut fastrand::Rng,
    options: usize,
    criteria: usize,
) -> Vec<Vec<Option<f64>>> {
    (0..options)
        .map(|_| {
            (0..criteria)
                .map(|_| (rng.u8(0..10) > 0).then(|| f64::from(rng.u8(1..=10))))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn the_weighted_average_plugin_agrees_with_the_domain() {
    let (_host, catalog) = catalog();
    let plugin = catalog.scorer("weighted-average").expect("built in");
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..60 {
        let (options, criteria) = (rng.usize(2..8), rng.usize(1..6));
        let weights: Vec<f64> = (0..criteria)
            .map(|_| f64::from(rng.u8(1..=100)) / 10.0)
            .collect();
        let session = scored_session(&weights, &random_scores(&mut rng, options, criteria));
        let from_plugin = rank_with(plugin, plugin_matrix(&session, &weights))
            .await
            .expect("ranks");
        let from_domain = rank(&weighted_average_totals(&session.score_matrix()));
        assert_eq!(from_plugin.len(), from_domain.len());
        for (p, d) in from_plugin.iter().zip(&from_domain) {
            assert_eq!((p.option, p.rank), (d.option, d.rank));
            assert!((p.total - d.total).abs() < 1e-9);
        }
    }
}

#[tokio::test]
async fn closed_form_sensitivity_matches_the_search_through_the_plugin() {
    let (_host, catalog) = catalog();
    let plugin = catalog.scorer("weighted-average").expect("built in");
    let limits = Limits::default();
    let mut rng = fastrand::Rng::with_seed(11);
    let mut compared = 0;
    for _ in 0..12 {
        let (options, criteria) = (rng.usize(2..5), rng.usize(2..4));
        let weights: Vec<f64> = (0..criteria)
            .map(|_| f64::from(rng.u8(5..=50)) / 10.0)
            .collect();
        let session = scored_session(&weights, &random_scores(&mut rng, options, criteria));
        let ranking = rank_with(plugin, plugin_matrix(&session, &weights))
            .await
            .expect("ranks");
        let closed = weighted_average_sensitivity(
            &session.score_matrix(),
            limits.min_criterion_weight,
            limits.max_criterion_weight,
        );
        let searched = numeric::sensitivity(plugin, &session, &weights, &ranking, &limits)
            .await
            .expect("search");
        for (k, (c, s)) in closed.iter().zip(&searched).enumerate() {
            match (c, s) {
                (Some(c), Some(s)) => {
                    assert!(
                        (c.threshold - s.threshold).abs() < 1e-4,
                        "criterion {k}: {c:?} vs {s:?}"
                    );
                    assert_eq!(c.new_winner, s.new_winner);
                    compared += 1;
                }
                (None, None) => {}
                // The grid search may miss a change narrower than one grid step, never the
                // other way round.
                (Some(c), None) => assert!(c.delta.abs() < 0.2, "search missed {c:?}"),
                (None, Some(s)) => panic!("closed form missed {s:?}"),
            }
        }
    }
    assert!(
        compared > 3,
        "the sample exercised winner changes ({compared})"
    );
}

#[tokio::test]
async fn analyse_ranks_recommends_and_explains_sensitivity() {
    let (_host, catalog) = catalog();
    let limits = Limits::default();
    // A: 9 on cost, 3 on speed; B: 4 and 8; weights 2 and 1 (see the domain's unit test).
    let session = scored_session(
        &[2.0, 1.0],
        &[vec![Some(9.0), Some(3.0)], vec![Some(4.0), Some(8.0)]],
    );
    let analysis = analysis::analyse(&catalog, &session, &limits)
        .await
        .expect("analysis");
    assert_eq!(analysis.ranking[0].option, 0);
    assert_eq!(
        analysis.recommendation,
        "option 0 is the clear winner with 7.0 points"
    );
    let speed = analysis.sensitivity[1].expect("speed can flip the winner");
    assert!((speed.threshold - 2.0).abs() < 1e-9);

    let mut unknown = session.clone();
    unknown.strategy = "nope".to_owned();
    let error = analysis::analyse(&catalog, &unknown, &limits)
        .await
        .unwrap_err();
    assert!(matches!(error, AnalysisError::UnknownStrategy { .. }));
    assert!(error.to_string().contains("available: "), "{error}");
    assert!(error.to_string().contains("weighted-average"), "{error}");
}
