//! [`Plan`]: a snapshot of the cells one evaluation must compute, taken from a session so the
//! evaluation runs without holding it.

use std::collections::HashSet;
use std::sync::Arc;

use crate::domain::{CriterionId, EvaluatorSettings, OptionId, Session};

/// One option as planned. Shared by every criterion's work and every cell computed for it,
/// so its text is reference-counted rather than copied per cell.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedOption {
    /// Identity.
    pub id: OptionId,
    /// Name.
    pub name: Arc<str>,
    /// Description.
    pub description: Option<Arc<str>>,
    /// Revision the cell will be based on.
    pub revision: u64,
}

/// The cells of one criterion to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionWork {
    /// Identity.
    pub id: CriterionId,
    /// Name.
    pub name: Arc<str>,
    /// Description.
    pub description: String,
    /// Custom instructions.
    pub custom_prompt: Option<String>,
    /// Revision the cells will be based on.
    pub revision: u64,
    /// Backend, model and temperature to use.
    pub settings: EvaluatorSettings,
    /// The options to score, in session order.
    pub options: Vec<PlannedOption>,
}

/// Everything one evaluation must compute.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The session, for per-session concurrency limits.
    pub session_id: String,
    /// The decision's topic.
    pub topic: String,
    /// Work per criterion, in session order; criteria with nothing to do are left out.
    pub criteria: Vec<CriterionWork>,
    /// Redo every cell and skip the answer cache.
    pub force: bool,
}

impl Plan {
    /// The cells `session` still needs ([`Session::pending`]); with `force`, all of them
    /// except manual ones.
    pub fn new(session: &Session, force: bool) -> Plan {
        let pending: HashSet<_> = session.pending(force).into_iter().collect();
        let planned: Vec<PlannedOption> = session
            .options()
            .iter()
            .map(|o| PlannedOption {
                id: o.id,
                name: Arc::from(o.name.as_str()),
                description: o.description.as_deref().map(Arc::from),
                revision: o.revision,
            })
            .collect();
        let criteria = session
            .criteria()
            .iter()
            .filter_map(|criterion| {
                let options: Vec<PlannedOption> = planned
                    .iter()
                    .filter(|o| pending.contains(&(o.id, criterion.id)))
                    .cloned()
                    .collect();
                (!options.is_empty()).then(|| CriterionWork {
                    id: criterion.id,
                    name: Arc::from(criterion.name.as_str()),
                    description: criterion.description.clone(),
                    custom_prompt: criterion.custom_prompt.clone(),
                    revision: criterion.revision,
                    settings: criterion.settings(&session.defaults),
                    options,
                })
            })
            .collect();
        Plan {
            session_id: session.id.clone(),
            topic: session.topic.clone(),
            criteria,
            force,
        }
    }

    /// Number of cells to compute.
    pub fn cells(&self) -> usize {
        self.criteria.iter().map(|c| c.options.len()).sum()
    }
}
