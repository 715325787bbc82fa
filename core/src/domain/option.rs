//! [`DecisionOption`]: one of the alternatives being compared.

use serde::{Deserialize, Serialize};

/// Stable identity of an option within its session; survives renames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OptionId(pub u32);

/// An alternative. (Named so as not to shadow [`Option`].)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionOption {
    /// Identity within the session.
    pub id: OptionId,
    /// Unique within the session, compared exactly (as the reference server does).
    pub name: String,
    /// Extra context given to the evaluator.
    pub description: Option<String>,
    /// Bumped whenever something the evaluator sees changes; cells computed at an older
    /// revision are stale.
    pub revision: u64,
}
