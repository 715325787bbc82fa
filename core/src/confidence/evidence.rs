//! [`Evidence`]: every judgment gathered for one decision, cell by cell, with who gave it and
//! where the option stood in the call's list.
//!
//! The place in the list is kept because judges favour the first listed option: the
//! [`position`](super::position) effect is estimated from it and removed. The judge is kept
//! because a panel's judges each have their own leanings, which replicates of one judge cannot
//! average out (see [`noise`](super::noise)).

use thiserror::Error;

use crate::domain::Score;

/// Where an option stood in a batched call's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 0 for the first listed option.
    pub index: u32,
    /// How many options the call listed.
    pub of: u32,
}

impl Position {
    /// A place `index` (from 0) in a list of `of` options.
    pub fn new(index: u32, of: u32) -> Result<Position, EvidenceError> {
        if index < of {
            Ok(Position { index, of })
        } else {
            Err(EvidenceError::Position { index, of })
        }
    }

    /// The place on a −1…+1 scale: +1 for the first listed, −1 for the last, evenly spaced
    /// between; 0 for an option listed alone (no neighbour to be favoured over).
    pub fn lean(self) -> f64 {
        if self.of < 2 {
            0.0
        } else {
            1.0 - 2.0 * f64::from(self.index) / f64::from(self.of - 1)
        }
    }
}

/// One judgment of one cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The score, 1–10.
    pub score: f64,
    /// Which judge of the panel gave it (0-based).
    pub judge: usize,
    /// Where the option stood in the call.
    pub position: Position,
}

/// Everything known about one cell.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CellEvidence {
    /// A score a person set; when present it is the cell's value, exactly.
    pub manual: Option<f64>,
    /// The judges' scores.
    pub samples: Vec<Sample>,
    /// How many times a judge said the criterion does not apply; these carry no score and
    /// are left out of every estimate.
    pub abstentions: u32,
}

/// What a judge answered for one listed option of a batched call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    /// A score, 1–10.
    Score(f64),
    /// The criterion does not apply to the option.
    Abstained,
    /// No usable answer for this option; nothing is recorded.
    Missing,
}

/// Bad input to [`Evidence`], saying what was wrong and what is allowed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EvidenceError {
    /// No option or no criterion.
    #[error(
        "a decision needs at least one option and one criterion; got {options} options and {criteria} criteria"
    )]
    Empty {
        /// Options given.
        options: usize,
        /// Criteria given.
        criteria: usize,
    },
    /// A weight that is not a positive finite number.
    #[error("criterion {criterion} has weight {weight}; weights must be positive and finite")]
    Weight {
        /// Criterion index.
        criterion: usize,
        /// The weight given.
        weight: f64,
    },
    /// A panel without judges.
    #[error("a panel needs at least one judge")]
    NoJudge,
    /// An option index past the end.
    #[error("option {option} does not exist; options are numbered 0 to {last}", last = .options - 1)]
    Option {
        /// Index given.
        option: usize,
        /// Number of options.
        options: usize,
    },
    /// A criterion index past the end.
    #[error("criterion {criterion} does not exist; criteria are numbered 0 to {last}", last = .criteria - 1)]
    Criterion {
        /// Index given.
        criterion: usize,
        /// Number of criteria.
        criteria: usize,
    },
    /// A judge index past the end.
    #[error("judge {judge} does not exist; judges are numbered 0 to {last}", last = .judges - 1)]
    Judge {
        /// Index given.
        judge: usize,
        /// Number of judges.
        judges: usize,
    },
    /// A score outside 1–10 or not finite.
    #[error("score {0} is outside 1-10")]
    Score(f64),
    /// A place outside the list.
    #[error("place {index} is outside a list of {of} options; places are numbered from 0")]
    Position {
        /// Place given.
        index: u32,
        /// List length given.
        of: u32,
    },
    /// A call whose answers do not match its list.
    #[error("a call listed {listed} options but {answers} answers were given")]
    Answers {
        /// Options listed.
        listed: usize,
        /// Answers given.
        answers: usize,
    },
    /// A call that lists an option twice.
    #[error("a call lists option {0} more than once")]
    Duplicate(usize),
}

/// The judgments of a decision: options × criteria cells, the criteria weights and the
/// number of judges on the panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    options: usize,
    weights: Vec<f64>,
    judges: usize,
    cells: Vec<CellEvidence>,
    /// Calls made so far per criterion: the round of its next call, for
    /// [`call_order`](super::order::call_order).
    calls: Vec<u32>,
    /// Calls made so far per criterion and judge (`c * judges + j`).
    calls_by: Vec<u32>,
    /// How many of the judges score each criterion (judges `0..panel[c]`); `judges` unless a
    /// criterion has a smaller panel of its own.
    panels: Vec<usize>,
}

impl Evidence {
    /// No judgments yet for `options` options, criteria with `weights` and a panel of
    /// `judges` judges.
    pub fn new(options: usize, weights: &[f64], judges: usize) -> Result<Evidence, EvidenceError> {
        if options == 0 || weights.is_empty() {
            return Err(EvidenceError::Empty {
                options,
                criteria: weights.len(),
            });
        }
        if let Some((criterion, &weight)) = weights
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w > 0.0))
        {
            return Err(EvidenceError::Weight { criterion, weight });
        }
        if judges == 0 {
            return Err(EvidenceError::NoJudge);
        }
        Ok(Evidence {
            options,
            weights: weights.to_vec(),
            judges,
            cells: vec![CellEvidence::default(); options * weights.len()],
            calls: vec![0; weights.len()],
            calls_by: vec![0; weights.len() * judges],
            panels: vec![judges; weights.len()],
        })
    }

    /// Number of options.
    pub fn options(&self) -> usize {
        self.options
    }

    /// Number of criteria.
    pub fn criteria(&self) -> usize {
        self.weights.len()
    }

    /// Number of judges on the panel.
    pub fn judges(&self) -> usize {
        self.judges
    }

    /// The criteria weights as given (not normalised).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The cell of option `o` on criterion `c`; `None` outside the matrix.
    pub fn cell(&self, o: usize, c: usize) -> Option<&CellEvidence> {
        if o < self.options && c < self.criteria() {
            self.cells.get(o * self.criteria() + c)
        } else {
            None
        }
    }

    /// How many judges score criterion `c` (judges `0` to `panel(c) − 1`).
    pub fn panel(&self, c: usize) -> usize {
        self.panels.get(c).copied().unwrap_or(self.judges)
    }

    /// Has criterion `c` scored by the first `judges` judges only (1 to [`Evidence::judges`]).
    pub fn set_panel(&mut self, c: usize, judges: usize) -> Result<(), EvidenceError> {
        self.check_criterion(c)?;
        if judges == 0 {
            return Err(EvidenceError::NoJudge);
        }
        self.check_judge(judges - 1)?;
        self.panels[c] = judges;
        Ok(())
    }

    /// Calls recorded so far for criterion `c`: the round of its next call.
    pub fn calls(&self, c: usize) -> u32 {
        self.calls.get(c).copied().unwrap_or(0)
    }

    /// Calls recorded so far for criterion `c` by `judge`.
    pub fn calls_by(&self, c: usize, judge: usize) -> u32 {
        if judge >= self.judges {
            return 0;
        }
        self.calls_by
            .get(c * self.judges + judge)
            .copied()
            .unwrap_or(0)
    }

    /// Records one batched call: `judge` scored criterion `c` for `listed` options in that
    /// order, answering `answers` (one per listed option, same order). Nothing is recorded
    /// when the input is invalid.
    pub fn record_call(
        &mut self,
        c: usize,
        judge: usize,
        listed: &[usize],
        answers: &[Answer],
    ) -> Result<(), EvidenceError> {
        self.check_criterion(c)?;
        self.check_judge(judge)?;
        if listed.len() != answers.len() {
            return Err(EvidenceError::Answers {
                listed: listed.len(),
                answers: answers.len(),
            });
        }
        for (i, &o) in listed.iter().enumerate() {
            self.check_option(o)?;
            if listed[..i].contains(&o) {
                return Err(EvidenceError::Duplicate(o));
            }
            if let Answer::Score(score) = answers[i] {
                check_score(score)?;
            }
        }
        // Distinct valid options: the list is no longer than the option count, which a
        // session's limits keep far below u32::MAX.
        let of = u32::try_from(listed.len()).unwrap_or(u32::MAX);
        let criteria = self.criteria();
        for (index, (&o, answer)) in (0u32..).zip(listed.iter().zip(answers)) {
            let cell = &mut self.cells[o * criteria + c];
            match *answer {
                Answer::Score(score) => cell.samples.push(Sample {
                    score,
                    judge,
                    position: Position { index, of },
                }),
                Answer::Abstained => cell.abstentions += 1,
                Answer::Missing => {}
            }
        }
        self.calls[c] += 1;
        self.calls_by[c * self.judges + judge] += 1;
        Ok(())
    }

    /// Adds a judgment kept from an earlier call (a stored session's): `judge` gave
    /// option `o` on criterion `c` the `answer`, listed at `position`. Call counts are
    /// restored apart, with [`Evidence::restore_calls`].
    pub fn restore(
        &mut self,
        o: usize,
        c: usize,
        judge: usize,
        answer: Answer,
        position: Position,
    ) -> Result<(), EvidenceError> {
        self.check_option(o)?;
        self.check_criterion(c)?;
        self.check_judge(judge)?;
        if position.index >= position.of {
            return Err(EvidenceError::Position {
                index: position.index,
                of: position.of,
            });
        }
        let criteria = self.criteria();
        let cell = &mut self.cells[o * criteria + c];
        match answer {
            Answer::Score(score) => {
                check_score(score)?;
                cell.samples.push(Sample {
                    score,
                    judge,
                    position,
                });
            }
            Answer::Abstained => cell.abstentions += 1,
            Answer::Missing => {}
        }
        Ok(())
    }

    /// Records that `judge` has made `calls` calls for criterion `c` before (added to the
    /// criterion's count too).
    pub fn restore_calls(
        &mut self,
        c: usize,
        judge: usize,
        calls: u32,
    ) -> Result<(), EvidenceError> {
        self.check_criterion(c)?;
        self.check_judge(judge)?;
        self.calls[c] = self.calls[c].saturating_add(calls);
        let by = &mut self.calls_by[c * self.judges + judge];
        *by = by.saturating_add(calls);
        Ok(())
    }

    /// Sets a person's score for a cell: from now on its value, exactly.
    pub fn set_manual(&mut self, o: usize, c: usize, score: f64) -> Result<(), EvidenceError> {
        self.check_option(o)?;
        self.check_criterion(c)?;
        check_score(score)?;
        let criteria = self.criteria();
        self.cells[o * criteria + c].manual = Some(score);
        Ok(())
    }

    /// Every cell with its option and criterion.
    pub fn iter(&self) -> impl Iterator<Item = (usize, usize, &CellEvidence)> {
        let criteria = self.criteria();
        self.cells
            .iter()
            .enumerate()
            .map(move |(i, cell)| (i / criteria, i % criteria, cell))
    }

    fn check_option(&self, option: usize) -> Result<(), EvidenceError> {
        if option < self.options {
            Ok(())
        } else {
            Err(EvidenceError::Option {
                option,
                options: self.options,
            })
        }
    }

    fn check_criterion(&self, criterion: usize) -> Result<(), EvidenceError> {
        if criterion < self.criteria() {
            Ok(())
        } else {
            Err(EvidenceError::Criterion {
                criterion,
                criteria: self.criteria(),
            })
        }
    }

    fn check_judge(&self, judge: usize) -> Result<(), EvidenceError> {
        if judge < self.judges {
            Ok(())
        } else {
            Err(EvidenceError::Judge {
                judge,
                judges: self.judges,
            })
        }
    }
}

fn check_score(score: f64) -> Result<(), EvidenceError> {
    Score::new(score)
        .map(|_| ())
        .map_err(|_| EvidenceError::Score(score))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lean_runs_from_first_to_last() {
        assert_eq!(Position::new(0, 5).map(Position::lean), Ok(1.0));
        assert_eq!(Position::new(4, 5).map(Position::lean), Ok(-1.0));
        assert_eq!(Position::new(2, 5).map(Position::lean), Ok(0.0));
        assert_eq!(Position::new(1, 5).map(Position::lean), Ok(0.5));
        assert_eq!(Position::new(0, 1).map(Position::lean), Ok(0.0));
        assert!(Position::new(3, 3).is_err());
    }

    #[test]
    fn a_call_records_scores_with_places_and_counts_abstentions() {
        let mut e = Evidence::new(3, &[1.0, 2.0], 2).unwrap();
        e.record_call(
            1,
            1,
            &[2, 0, 1],
            &[Answer::Score(7.0), Answer::Abstained, Answer::Missing],
        )
        .unwrap();
        assert_eq!(e.calls(1), 1);
        assert_eq!(e.calls(0), 0);
        assert_eq!(
            (e.calls_by(1, 1), e.calls_by(1, 0), e.calls_by(1, 2)),
            (1, 0, 0)
        );
        let cell = e.cell(2, 1).unwrap();
        assert_eq!(
            cell.samples,
            vec![Sample {
                score: 7.0,
                judge: 1,
                position: Position { index: 0, of: 3 }
            }]
        );
        assert_eq!(e.cell(0, 1).unwrap().abstentions, 1);
        assert!(e.cell(1, 1).unwrap().samples.is_empty());
        assert!(e.cell(3, 0).is_none());
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        assert!(matches!(
            Evidence::new(0, &[1.0], 1),
            Err(EvidenceError::Empty { .. })
        ));
        assert_eq!(
            Evidence::new(2, &[1.0, 0.0], 1),
            Err(EvidenceError::Weight {
                criterion: 1,
                weight: 0.0
            })
        );
        assert_eq!(Evidence::new(2, &[1.0], 0), Err(EvidenceError::NoJudge));
        let mut e = Evidence::new(2, &[1.0], 1).unwrap();
        let err = e
            .record_call(0, 0, &[0, 1], &[Answer::Score(11.0), Answer::Score(3.0)])
            .unwrap_err();
        assert_eq!(err.to_string(), "score 11 is outside 1-10");
        assert_eq!(
            e.record_call(0, 0, &[0, 0], &[Answer::Score(1.0), Answer::Score(3.0)]),
            Err(EvidenceError::Duplicate(0))
        );
        assert_eq!(
            e.record_call(0, 1, &[0], &[Answer::Score(1.0)])
                .unwrap_err()
                .to_string(),
            "judge 1 does not exist; judges are numbered 0 to 0"
        );
        assert!(matches!(
            e.record_call(0, 0, &[0, 1], &[Answer::Score(1.0)]),
            Err(EvidenceError::Answers { .. })
        ));
        assert!(matches!(
            e.set_manual(0, 2, 5.0),
            Err(EvidenceError::Criterion { .. })
        ));
        // A refused call records nothing at all, not even its valid part.
        assert!(e.cell(0, 0).unwrap().samples.is_empty());
        assert_eq!(e.calls(0), 0);
    }
}
