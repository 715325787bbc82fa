//! The tools, as methods of [`Decisions`](super::Decisions), a module per group:
//!
//! - [`lifecycle`]: starting, listing, finding and clearing sessions;
//! - [`editing`]: adding, changing and removing options and criteria, manual scores, the
//!   scoring strategy;
//! - [`evaluation`]: having the LLMs score the cells (`evaluate_options`);
//! - [`analysis`]: the ranked matrix, weight sensitivity and export;
//! - [`catalog`]: the backends and plugins loaded;
//! - [`bedrock`]: the Bedrock connection test, over the backend check `backends check` runs.
//!
//! `server_stats` is with the metrics ([`super::stats`]).
//!
//! Decisions made where the reference server is silent or wrong:
//! - criteria inherit the session's backend, model and temperature unless given;
//! - every input is validated before anything is created or changed;
//! - a backend or strategy that is not loaded is refused, naming the ones that are;
//! - `evaluate_options` computes only missing, failed or outdated cells (`force` redoes all),
//!   reports failed cells as errors, and is an error itself when no cell could be computed;
//! - the matrix before any evaluation says so instead of announcing a "close race" at 0.0.

use crate::domain::{CellState, CellStatus, Session};

pub(crate) mod analysis;
pub(crate) mod bedrock;
pub(crate) mod catalog;
pub(crate) mod editing;
pub(crate) mod evaluation;
pub(crate) mod lifecycle;

/// Tool names as a list of next steps.
fn steps(steps: &[&str]) -> Vec<String> {
    steps.iter().map(|&step| step.to_owned()).collect()
}

/// The session's options, in the order added.
fn option_names(session: &Session) -> Vec<String> {
    session.options().iter().map(|o| o.name.clone()).collect()
}

/// The session's criteria, in the order added.
fn criterion_names(session: &Session) -> Vec<String> {
    session.criteria().iter().map(|c| c.name.clone()).collect()
}

/// The matrix's up-to-date cells by what they hold; stale and missing cells are in none.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Settled {
    /// Cells with a score, the evaluator's or a person's.
    scored: usize,
    /// Cells whose criterion does not apply to their option.
    abstained: usize,
}

impl Settled {
    /// The cells of `session`.
    fn of(session: &Session) -> Settled {
        let mut settled = Settled::default();
        for option in session.options() {
            for criterion in session.criteria() {
                if let CellState::Fresh(cell) = session.cell_state(option.id, criterion.id) {
                    match cell.status {
                        CellStatus::Scored { .. } | CellStatus::Manual { .. } => {
                            settled.scored += 1;
                        }
                        CellStatus::Abstained => settled.abstained += 1,
                        CellStatus::Failed { .. } => {}
                    }
                }
            }
        }
        settled
    }
}
