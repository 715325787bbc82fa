//! The [`Evidence`] of a decision session: every judgment its cells keep, options and
//! criteria in session order, so the assessment and the planner work on a stored session.

use std::collections::BTreeSet;

use crate::domain::judgment::Verdict as JudgmentVerdict;
use crate::domain::{CellStatus, CriterionId, OptionId, Session};

use super::assess::Settings;
use super::evidence::{Answer, Evidence, Position};
use super::rng::derive_seed;

/// A session's judgments as evidence, with the ids behind its indices.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEvidence {
    /// The judgments.
    pub evidence: Evidence,
    /// Option `o` of the evidence is `options[o]`.
    pub options: Vec<OptionId>,
    /// Criterion `c` of the evidence is `criteria[c]`.
    pub criteria: Vec<CriterionId>,
    /// Seeds the Monte Carlo from the decision's topic, so a session's numbers are the same
    /// on every read, and the same decision set up again reads the same.
    seed: u64,
}

impl SessionEvidence {
    /// The evidence of `session`, judged by its panel (or its single judge). `None` when
    /// the session has no option or no criterion. Stale cells count (they still describe
    /// their option better than nothing, as in the ranking); failed and missing cells have
    /// no judgment, which makes the planner ask for them.
    pub fn of(session: &Session) -> Option<SessionEvidence> {
        let options: Vec<OptionId> = session.options().iter().map(|o| o.id).collect();
        let criteria: Vec<CriterionId> = session.criteria().iter().map(|c| c.id).collect();
        let weights: Vec<f64> = session.criteria().iter().map(|c| c.weight).collect();
        let judges = session.panel_size();
        let mut evidence = Evidence::new(options.len(), &weights, judges).ok()?;
        for (c, &criterion) in criteria.iter().enumerate() {
            // Rounds each judge took part in: one call per round, as the planner counts.
            let mut rounds: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); judges];
            for (o, &option) in options.iter().enumerate() {
                let Some(cell) = session.cell(option, criterion) else {
                    continue;
                };
                if let CellStatus::Manual { score } = cell.status {
                    // A valid score is a valid manual score.
                    let _ = evidence.set_manual(o, c, score.get());
                    continue;
                }
                for judgment in cell.judgments().iter() {
                    let judge = judgment.judge as usize;
                    if judge >= judges {
                        // A judge no longer on the panel.
                        continue;
                    }
                    rounds[judge].insert(judgment.round);
                    let answer = match judgment.verdict {
                        JudgmentVerdict::Scored { score } => Answer::Score(score.get()),
                        JudgmentVerdict::Abstained => Answer::Abstained,
                    };
                    let position = judgment
                        .place
                        .and_then(|p| Position::new(p.index, p.of).ok())
                        .unwrap_or(Position { index: 0, of: 1 });
                    // Indices, judge, score and place were all checked above.
                    let _ = evidence.restore(o, c, judge, answer, position);
                }
            }
            for (judge, rounds) in rounds.iter().enumerate() {
                let calls = u32::try_from(rounds.len()).unwrap_or(u32::MAX);
                let _ = evidence.restore_calls(c, judge, calls);
            }
            // A criterion with fewer judges than the largest panel is asked of its own.
            let _ = evidence.set_panel(c, session.judges(criterion).len().clamp(1, judges));
        }
        Some(SessionEvidence {
            evidence,
            options,
            criteria,
            seed: derive_seed(&session.topic, &[]),
        })
    }

    /// `settings` with the Monte Carlo seeded from the session.
    pub fn settings(&self, settings: Settings) -> Settings {
        let mut settings = settings;
        settings.winner.seed = self.seed;
        settings
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::domain::cell::{Basis, Cell};
    use crate::domain::judgment::Judgment;
    use crate::domain::{CriterionSpec, Limits, Place, Score, SessionDefaults};

    fn session() -> Session {
        let spec = |name: &str, weight| CriterionSpec {
            name: name.to_owned(),
            description: name.to_owned(),
            weight,
            ..CriterionSpec::default()
        };
        Session::new(
            "s".to_owned(),
            "t".to_owned(),
            ["A", "B", "C"]
                .iter()
                .map(|o| ((*o).to_owned(), None))
                .collect(),
            vec![spec("cost", 2.0), spec("speed", 1.0)],
            SessionDefaults::for_backend("b"),
            &Limits::default(),
            datetime!(2026-01-01 00:00 UTC),
        )
        .expect("session")
    }

    fn judged(session: &Session, o: usize, c: usize, score: f64, round: u32, place: u32) -> Cell {
        let (option, criterion) = (session.options()[o].id, session.criteria()[c].id);
        let basis: Basis = session.basis(option, criterion).expect("basis");
        Cell::judged(
            Judgment {
                verdict: JudgmentVerdict::Scored {
                    score: Score::new(score).expect("score"),
                },
                justification: String::new(),
                backend: "b".to_owned(),
                model: None,
                judge: 0,
                place: Some(Place {
                    index: place,
                    of: 3,
                }),
                round,
                at: datetime!(2026-01-01 00:00 UTC),
            },
            None,
            0,
            1,
            basis,
        )
    }

    #[test]
    fn judgments_become_samples_and_rounds_become_calls() {
        let mut s = session();
        let (a, b) = (s.options()[0].id, s.options()[1].id);
        let cost = s.criteria()[0].id;
        assert!(s.record(a, cost, judged(&s, 0, 0, 8.0, 0, 0)));
        assert!(s.record(b, cost, judged(&s, 1, 0, 5.0, 0, 1)));
        assert!(s.record_replicate(a, cost, judged(&s, 0, 0, 6.0, 1, 2)));
        s.set_manual(
            "C",
            "speed",
            Some(Score::new(3.0).expect("score")),
            None,
            &Limits::default(),
            datetime!(2026-01-01 00:00 UTC),
        )
        .expect("manual");
        let e = SessionEvidence::of(&s).expect("evidence");
        let evidence = &e.evidence;
        let cell = evidence.cell(0, 0).expect("A on cost");
        let scores: Vec<f64> = cell.samples.iter().map(|x| x.score).collect();
        assert_eq!(scores, [8.0, 6.0]);
        assert_eq!(cell.samples[1].position, Position { index: 2, of: 3 });
        assert_eq!(evidence.calls_by(0, 0), 2);
        assert_eq!(evidence.calls_by(1, 0), 0);
        assert_eq!(evidence.cell(2, 1).and_then(|c| c.manual), Some(3.0));
        assert_eq!(e.options, vec![a, b, s.options()[2].id]);
        // The session's cell value is the mean of its judgments.
        assert_eq!(
            s.cell(a, cost)
                .and_then(|c| c.status.score())
                .map(Score::get),
            Some(7.0)
        );
    }

    #[test]
    fn the_same_session_gives_the_same_seed() {
        let s = session();
        let one = SessionEvidence::of(&s).expect("evidence");
        let two = SessionEvidence::of(&s).expect("evidence");
        assert_eq!(
            one.settings(Settings::default()).winner.seed,
            two.settings(Settings::default()).winner.seed
        );
    }
}
