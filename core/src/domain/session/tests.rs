//! The session's tests: options, criteria, cells, revisions and names.

use time::macros::datetime;

use super::super::cell::{CellStatus, EvaluatorSettings};
use super::*;

const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

fn spec(name: &str, weight: f64) -> CriterionSpec {
    CriterionSpec {
        name: name.to_owned(),
        description: format!("how good is the {name}"),
        weight,
        ..CriterionSpec::default()
    }
}

fn session(options: &[&str], criteria: &[&str]) -> Session {
    Session::new(
        "s1".to_owned(),
        "Pick a database".to_owned(),
        options.iter().map(|o| ((*o).to_owned(), None)).collect(),
        criteria.iter().map(|c| spec(c, 1.0)).collect(),
        SessionDefaults::for_backend("bedrock"),
        &Limits::default(),
        NOW,
    )
    .expect("valid session")
}

fn scored(session: &Session, o: OptionId, c: CriterionId, score: f64) -> Cell {
    Cell {
        status: CellStatus::Scored {
            score: Score::new(score).expect("in range"),
        },
        justification: "because".to_owned(),
        backend: Some("bedrock".to_owned()),
        model: Some("m".to_owned()),
        tokens: None,
        latency_ms: 1,
        attempts: 1,
        at: NOW,
        basis: session.basis(o, c),
        samples: Vec::new(),
    }
}

#[test]
fn a_bad_initial_criterion_creates_nothing() {
    let err = Session::new(
        "s".to_owned(),
        "topic".to_owned(),
        vec![("A".to_owned(), None), ("B".to_owned(), None)],
        vec![spec("cost", 1.0), spec("speed", 11.0)],
        SessionDefaults::for_backend("bedrock"),
        &Limits::default(),
        NOW,
    )
    .unwrap_err();
    assert_eq!(err.context, "Invalid weight");
}

#[test]
fn limits_hold_on_every_add_and_failures_change_nothing() {
    let limits = Limits {
        max_options_allowed: 3,
        max_criteria_allowed: 1,
        ..Limits::default()
    };
    let mut s = session(&["A", "B"], &["cost"]);
    s.add_option("C".to_owned(), None, &limits)
        .expect("third fits");
    let before = s.clone();
    assert_eq!(
        s.add_option("D".to_owned(), None, &limits)
            .unwrap_err()
            .message,
        "Too many options (max 3). Consider grouping similar options."
    );
    assert_eq!(
        s.add_option("A".to_owned(), None, &limits)
            .unwrap_err()
            .message,
        "Option 'A' already exists"
    );
    assert_eq!(
        s.add_criterion(spec("speed", 1.0), &limits)
            .unwrap_err()
            .context,
        "Invalid criteria"
    );
    assert_eq!(s, before);
}

#[test]
fn names_differing_only_in_case_or_invisible_characters_are_duplicates() {
    let limits = Limits::default();
    let mut s = session(&["Apple", "Pear"], &["cost"]);
    let err = s
        .add_option("app\u{200B}le".to_owned(), None, &limits)
        .unwrap_err();
    assert_eq!(err.context, "Duplicate option");
    assert_eq!(
        err.message,
        "Option 'app\u{200B}le' already exists as 'Apple' (names that differ only in case, \
         width or invisible characters are the same name)"
    );
    let err = s.add_criterion(spec("COST", 1.0), &limits).unwrap_err();
    assert_eq!(err.context, "Duplicate criterion");
    assert!(
        err.message
            .starts_with("Criterion 'COST' already exists as 'cost'")
    );
    // Renaming to another option's name is refused; changing one's own case is not.
    let err = s
        .update_option("Pear", Some("APPLE".to_owned()), None, &limits)
        .unwrap_err();
    assert_eq!(err.context, "Duplicate option");
    s.update_option("Apple", Some("APPLE".to_owned()), None, &limits)
        .expect("its own name in capitals");
    s.update_criterion(
        "cost",
        CriterionUpdate {
            name: Some("Cost".to_owned()),
            ..CriterionUpdate::default()
        },
        &limits,
    )
    .expect("its own name capitalised");
    let starting_twice = Session::new(
        "s".to_owned(),
        "topic".to_owned(),
        vec![("Go".to_owned(), None), ("go".to_owned(), None)],
        Vec::new(),
        SessionDefaults::for_backend("bedrock"),
        &limits,
        NOW,
    );
    assert_eq!(starting_twice.unwrap_err().context, "Duplicate option");
}

#[test]
fn pending_cells_follow_changes() {
    let limits = Limits::default();
    let mut s = session(&["A", "B"], &["cost", "speed"]);
    assert_eq!(s.pending(false).len(), 4);
    for (o, c) in s.pending(false) {
        let cell = scored(&s, o, c, 5.0);
        assert!(s.record(o, c, cell));
    }
    assert!(s.pending(false).is_empty());
    assert_eq!(s.pending(true).len(), 4);

    // A weight change re-ranks only.
    s.update_criterion(
        "cost",
        CriterionUpdate {
            weight: Some(3.0),
            ..CriterionUpdate::default()
        },
        &limits,
    )
    .expect("valid");
    assert!(s.pending(false).is_empty());

    // A description change makes that option's cells stale.
    s.update_option("A", None, Some(Some("managed".to_owned())), &limits)
        .expect("valid");
    let a = s.option("A").expect("exists").id;
    assert_eq!(
        s.pending(false),
        vec![(a, CriterionId(3)), (a, CriterionId(4))]
    );

    // A different model for a criterion makes its cells stale.
    s.update_criterion(
        "speed",
        CriterionUpdate {
            model: Some(Some("other".to_owned())),
            ..CriterionUpdate::default()
        },
        &limits,
    )
    .expect("valid");
    assert_eq!(s.pending(false).len(), 3);
}

#[test]
fn failed_cells_are_retried_and_manual_cells_are_kept() {
    let limits = Limits::default();
    let mut s = session(&["A", "B"], &["cost"]);
    let [(a, c), (b, _)] = s.pending(false)[..] else {
        panic!("two cells expected");
    };
    let mut failed = scored(&s, a, c, 5.0);
    failed.status = CellStatus::Failed {
        reason: "HTTP 500".to_owned(),
    };
    assert!(s.record(a, c, failed));
    s.set_manual("B", "cost", Score::new(9.0).ok(), None, &limits, NOW)
        .expect("valid");
    assert_eq!(s.pending(true), vec![(a, c)]);
    // An evaluation result never overwrites a person's score.
    let cell = scored(&s, b, c, 2.0);
    assert!(!s.record(b, c, cell));
    assert_eq!(
        s.cell(b, c).and_then(|x| x.status.score()).map(Score::get),
        Some(9.0)
    );
    s.set_manual("B", "cost", None, None, &limits, NOW)
        .expect("valid");
    assert_eq!(s.pending(false).len(), 2);
}

#[test]
fn late_results_for_changed_inputs_are_refused() {
    let limits = Limits::default();
    let mut s = session(&["A", "B"], &["cost"]);
    let (a, c) = s.pending(false)[0];
    let cell = scored(&s, a, c, 5.0);
    s.update_option("A", Some("A2".to_owned()), None, &limits)
        .expect("valid");
    assert!(!s.record(a, c, cell));
    s.remove_criterion("cost").expect("exists");
    let cell = scored(&s, a, c, 5.0);
    assert!(!s.record(a, c, cell));
}

#[test]
fn criteria_inherit_the_session_backend() {
    let defaults = SessionDefaults {
        backend: "ollama".to_owned(),
        model: Some("qwen3:8b".to_owned()),
        temperature: 0.0,
        judges: Vec::new(),
    };
    let mut c = Criterion {
        id: CriterionId(1),
        name: "x".to_owned(),
        description: "y".to_owned(),
        weight: 1.0,
        custom_prompt: None,
        backend: None,
        model: None,
        temperature: None,
        scale: None,
        judges: Vec::new(),
        revision: 0,
    };
    assert_eq!(
        c.settings(&defaults),
        EvaluatorSettings {
            backend: "ollama".to_owned(),
            model: Some("qwen3:8b".to_owned()),
            temperature: 0.0,
        }
    );
    c.backend = Some("litellm".to_owned());
    assert_eq!(c.settings(&defaults).model, None);
}

#[test]
fn removing_keeps_the_minimum_and_drops_cells() {
    let limits = Limits::default();
    let mut s = session(&["A", "B", "C"], &["cost"]);
    for (o, c) in s.pending(false) {
        let cell = scored(&s, o, c, 5.0);
        s.record(o, c, cell);
    }
    let removed = s.remove_option("B", &limits).expect("3 > 2");
    assert!(s.cell(removed.id, CriterionId(4)).is_none());
    assert_eq!(
        s.remove_option("A", &limits).unwrap_err().message,
        "Cannot remove 'A': a session needs at least 2 options"
    );
}

#[test]
fn serialises_and_restores() {
    let mut s = session(&["A", "B"], &["cost"]);
    let (a, c) = s.pending(false)[0];
    let cell = scored(&s, a, c, 7.5);
    s.record(a, c, cell);
    let json = serde_json::to_string(&s).expect("serialises");
    let back: Session = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, s);
}

#[test]
fn cells_taken_out_come_back_unless_their_option_or_criterion_is_gone() {
    let limits = Limits::default();
    let mut session = Session::new(
        "s".into(),
        "topic".into(),
        vec![("a".into(), None), ("b".into(), None), ("c".into(), None)],
        vec![spec("cost", 1.0)],
        SessionDefaults::for_backend("bedrock"),
        &limits,
        NOW,
    )
    .expect("valid");
    for option in ["a", "c"] {
        session
            .set_manual(option, "cost", Score::new(5.0).ok(), None, &limits, NOW)
            .expect("set");
    }
    let whole = session.clone();
    let cells = session.take_cells();
    assert_eq!(cells.len(), 2);
    assert_eq!(session.cells().count(), 0);
    let mut removed = session.clone();
    for ((o, c), cell) in cells.clone() {
        assert!(session.restore_cell(o, c, cell));
    }
    assert_eq!(session, whole);
    removed.remove_option("c", &limits).expect("removed");
    let kept: Vec<bool> = cells
        .into_iter()
        .map(|((o, c), cell)| removed.restore_cell(o, c, cell))
        .collect();
    assert_eq!(kept, [true, false]);
}

fn judgment(score: f64, round: u32) -> crate::domain::Judgment {
    crate::domain::Judgment {
        verdict: crate::domain::judgment::Verdict::Scored {
            score: Score::new(score).expect("in range"),
        },
        justification: format!("round {round}"),
        backend: "bedrock".to_owned(),
        model: Some("m".to_owned()),
        judge: 0,
        place: None,
        round,
        at: NOW,
    }
}

fn judged(session: &Session, o: OptionId, c: CriterionId, score: f64, round: u32) -> Cell {
    Cell::judged(
        judgment(score, round),
        None,
        10,
        1,
        session.basis(o, c).expect("basis"),
    )
}

#[test]
fn replicates_add_judgments_and_the_value_is_their_mean() {
    let mut s = session(&["A", "B"], &["cost"]);
    let (a, cost) = (s.options()[0].id, s.criteria()[0].id);
    assert_eq!(s.next_round(cost), 0);
    assert!(s.record(a, cost, judged(&s, a, cost, 4.0, 0)));
    assert!(s.record_replicate(a, cost, judged(&s, a, cost, 8.0, 1)));
    assert!(s.record_replicate(a, cost, judged(&s, a, cost, 7.0, 2)));
    let cell = s.cell(a, cost).expect("cell");
    assert_eq!(cell.samples.len(), 3);
    assert_eq!(cell.status.score().map(Score::get), Some(19.0 / 3.0));
    // The justification is that of the score nearest the mean.
    assert_eq!(cell.justification, "round 2");
    assert_eq!((cell.latency_ms, cell.attempts), (30, 3));
    assert_eq!(s.next_round(cost), 3);
    // A failed replicate adds its cost and keeps the judgments.
    let mut failed = judged(&s, a, cost, 1.0, 3);
    failed.samples.clear();
    failed.status = CellStatus::Failed {
        reason: "timeout".to_owned(),
    };
    assert!(s.record_replicate(a, cost, failed));
    let cell = s.cell(a, cost).expect("cell");
    assert_eq!(cell.samples.len(), 3);
    assert_eq!(cell.attempts, 4);
    assert_eq!(cell.status.score().map(Score::get), Some(19.0 / 3.0));
}

#[test]
fn a_replicate_never_overrides_a_person_and_replaces_a_failure() {
    let mut s = session(&["A", "B"], &["cost"]);
    let (a, b, cost) = (s.options()[0].id, s.options()[1].id, s.criteria()[0].id);
    s.set_manual(
        "A",
        "cost",
        Some(Score::new(2.0).expect("score")),
        None,
        &Limits::default(),
        NOW,
    )
    .expect("manual");
    assert!(!s.record_replicate(a, cost, judged(&s, a, cost, 9.0, 1)));
    let mut failed = judged(&s, b, cost, 1.0, 0);
    failed.samples.clear();
    failed.status = CellStatus::Failed {
        reason: "x".to_owned(),
    };
    assert!(s.record(b, cost, failed));
    assert!(s.record_replicate(b, cost, judged(&s, b, cost, 9.0, 1)));
    assert_eq!(
        s.cell(b, cost)
            .and_then(|c| c.status.score())
            .map(Score::get),
        Some(9.0)
    );
    // A replicate of inputs that changed since answers nobody's question.
    let stale = judged(&s, b, cost, 3.0, 2);
    s.update_option("B", None, Some(Some("new".to_owned())), &Limits::default())
        .expect("update");
    assert!(!s.record_replicate(b, cost, stale));
}

#[test]
fn a_cell_saved_before_judgments_were_kept_reads_as_one_judgment() {
    let s = session(&["A", "B"], &["cost"]);
    let (a, cost) = (s.options()[0].id, s.criteria()[0].id);
    let json = serde_json::json!({
        "status": "scored", "score": 7.0, "justification": "old", "backend": "bedrock",
        "model": "m", "tokens": null, "latency_ms": 5, "attempts": 1,
        "at": "2026-01-01T00:00:00Z",
        "basis": serde_json::to_value(s.basis(a, cost)).expect("basis"),
    });
    let mut cell: Cell = serde_json::from_value(json).expect("an old cell loads");
    assert!(cell.samples.is_empty());
    let judgments = cell.judgments();
    assert_eq!(judgments.len(), 1);
    assert_eq!((judgments[0].score(), judgments[0].round), (Some(7.0), 0));
    cell.add_replicate(judged(&s, a, cost, 9.0, 1));
    assert_eq!(cell.samples.len(), 2);
    assert_eq!(cell.status.score().map(Score::get), Some(8.0));
}

#[test]
fn a_scale_is_checked_and_a_changed_scale_makes_cells_stale() {
    let mut s = session(&["A", "B"], &["cost"]);
    let anchors = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<String, String>>()
    };
    let limits = Limits::default();
    let bad = s
        .add_criterion(
            CriterionSpec {
                scale: Some(anchors(&[("0", "nothing")])),
                ..spec("speed", 1.0)
            },
            &limits,
        )
        .expect_err("refused");
    assert!(
        bad.message.contains("'0' is not a point of the scale"),
        "{}",
        bad.message
    );
    assert_eq!(s.criteria().len(), 1, "nothing added");
    let (a, cost) = (s.options()[0].id, s.criteria()[0].id);
    assert!(s.record(a, cost, scored(&s, a, cost, 5.0)));
    let rubric = CriterionUpdate {
        scale: Some(anchors(&[("1", "costly"), ("10", "free")])),
        ..CriterionUpdate::default()
    };
    s.update_criterion("cost", rubric, &limits)
        .expect("scale set");
    assert!(s.criteria()[0].scale.is_some());
    assert!(matches!(s.cell_state(a, cost), CellState::Stale(_)));
    let cleared = CriterionUpdate {
        scale: Some(BTreeMap::new()),
        ..CriterionUpdate::default()
    };
    s.update_criterion("cost", cleared, &limits)
        .expect("scale removed");
    assert_eq!(s.criteria()[0].scale, None);
}
