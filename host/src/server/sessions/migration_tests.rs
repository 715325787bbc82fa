//! Sessions saved before cells kept their judgments load unchanged in every store, and take
//! replicates from then on.

use std::time::Duration;

use decision_matrix_testkit::redis_server::{RedisServer, namespace};
use serde_json::json;

use super::records::evaluated_key;
use super::testing::{open, session, settings};
use super::{Recording, SessionManager, WhenFull};
use crate::domain::cell::Cell;
use crate::domain::judgment::{Judgment, Verdict};
use crate::domain::{CriterionSpec, Limits, Score};

/// A cell as builds before judgments were kept saved it: no `samples`.
fn old_cell(basis: serde_json::Value) -> Vec<u8> {
    json!({
        "status": "scored", "score": 6.0, "justification": "saved long ago",
        "backend": "litellm", "model": "gpt-4o-mini", "tokens": {"input": 10, "output": 5},
        "latency_ms": 12, "attempts": 1, "at": "2026-01-01T00:00:00Z", "basis": basis,
    })
    .to_string()
    .into_bytes()
}

async fn old_cell_loads_and_takes_replicates(sessions: SessionManager, store: &str) {
    let mut fresh = session(&format!("migrated-{}", fastrand::u32(..)));
    fresh
        .add_criterion(
            CriterionSpec {
                name: "cost".to_owned(),
                description: "Total cost".to_owned(),
                weight: 1.0,
                ..CriterionSpec::default()
            },
            &Limits::default(),
        )
        .expect("criterion");
    sessions.insert(&fresh).await.expect("inserted");
    let (o, c) = (fresh.options()[0].id, fresh.criteria()[0].id);
    let basis = serde_json::to_value(fresh.basis(o, c)).expect("basis");
    sessions
        .store
        .put_cells(&fresh.id, &[(evaluated_key(o, c), old_cell(basis))])
        .await
        .expect("old record written");

    let loaded = sessions
        .load(&fresh.id)
        .await
        .expect("loads")
        .expect("live");
    let cell = loaded.cell(o, c).expect("the old cell is there");
    assert_eq!(cell.status.score().map(Score::get), Some(6.0), "{store}");
    assert_eq!(cell.justification, "saved long ago", "{store}");
    assert!(cell.samples.is_empty(), "{store}");
    let summary = cell.summary().expect("summary");
    assert_eq!((summary.scores, summary.spread), (1, None), "{store}");
    assert_eq!(
        loaded.pending(false),
        vec![(fresh.options()[1].id, c)],
        "{store}"
    );

    // A replicate joins the old judgment; the record is rewritten in the new form.
    let replicate = Cell::judged(
        Judgment {
            verdict: Verdict::Scored {
                score: Score::new(8.0).expect("score"),
            },
            justification: "asked again".to_owned(),
            backend: "litellm".to_owned(),
            model: Some("gpt-4o-mini".to_owned()),
            judge: 0,
            place: None,
            round: 1,
            at: time::OffsetDateTime::now_utc(),
        },
        None,
        3,
        1,
        loaded.basis(o, c).expect("basis"),
    );
    let saved = sessions
        .record_cells(&fresh.id, vec![(o, c, replicate, Recording::Add)])
        .await
        .expect("recorded");
    assert_eq!(saved, 1, "{store}");
    let loaded = sessions
        .load(&fresh.id)
        .await
        .expect("loads")
        .expect("live");
    let cell = loaded.cell(o, c).expect("cell");
    assert_eq!(cell.samples.len(), 2, "{store}");
    assert_eq!(cell.samples[0].justification, "saved long ago", "{store}");
    assert_eq!(cell.status.score().map(Score::get), Some(7.0), "{store}");
    assert_eq!(cell.attempts, 2, "{store}");
}

fn on(store: String) -> super::SessionSettings {
    let mut settings = settings(10, WhenFull::Refuse, Duration::from_secs(60));
    settings.store = store;
    settings
}

#[tokio::test]
async fn an_old_cell_loads_unchanged_from_memory() {
    let sessions = open(on("memory".to_owned())).await.expect("opens");
    old_cell_loads_and_takes_replicates(sessions, "memory").await;
}

#[tokio::test]
async fn an_old_cell_loads_unchanged_from_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("sessions.db").display());
    let sessions = open(on(url)).await.expect("opens");
    old_cell_loads_and_takes_replicates(sessions, "sqlite").await;
}

#[tokio::test]
async fn an_old_cell_loads_unchanged_from_redis() {
    let redis = RedisServer::shared();
    let mut settings = on(redis.url());
    settings.namespace = namespace("migration");
    let sessions = open(settings).await.expect("opens");
    old_cell_loads_and_takes_replicates(sessions, "redis").await;
}
