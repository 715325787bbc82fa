//! The decision domain: sessions, options, criteria, cells, rankings. Pure and synchronous:
//! no I/O, no clocks (times are passed in), no async, so every rule here is tested directly.
//!
//! - [`session::Session`] is the aggregate every tool changes; it validates against
//!   [`limits::Limits`] and knows which cells are missing, stale or failed; [`names`] says
//!   what names may contain and when two are the same.
//! - [`ranking`] and [`sensitivity`] turn a [`matrix::ScoreMatrix`] into totals, a ranking, the
//!   recommendation sentence and the weight changes that would change the winner.

pub mod cell;
pub(crate) mod criterion;
pub mod judgment;
pub(crate) mod limits;
pub(crate) mod matrix;
pub(crate) mod names;
pub(crate) mod option;
pub mod panel;
pub mod ranking;
pub mod scale;
pub(crate) mod score;
pub mod sensitivity;
pub(crate) mod session;

pub use cell::{Cell, CellStatus, EvaluatorSettings, Tokens};
pub use criterion::{Criterion, CriterionId, CriterionSpec, CriterionUpdate};
pub use judgment::{Judgment, Place};
pub use limits::{Limits, ValidationError};
pub use matrix::ScoreMatrix;
pub use option::{DecisionOption, OptionId};
pub use scale::Scale;
pub use score::Score;
pub use session::{CellState, Session, SessionDefaults};
