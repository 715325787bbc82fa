//! [`Plan`]: a snapshot of the cells one evaluation must compute, taken from a session so the
//! evaluation runs without holding it.

use std::collections::HashSet;
use std::sync::Arc;

use crate::domain::{
    CellStatus, Criterion, CriterionId, EvaluatorSettings, OptionId, Scale, Session,
};

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
    /// What points of the scale mean.
    pub scale: Option<Scale>,
    /// Revision the cells will be based on.
    pub revision: u64,
    /// Backend, model and temperature to use: the judge's.
    pub settings: EvaluatorSettings,
    /// Which judge of the session's panel makes these calls (0 for a single judge).
    pub judge: u32,
    /// The criterion's own settings and the session's panel, which the cells are based on
    /// whichever judge answers.
    pub basis_settings: EvaluatorSettings,
    /// See `basis_settings`.
    pub panel: Vec<EvaluatorSettings>,
    /// The options to score, in session order (each call lists its own in the order
    /// [`call_order`](decision_matrix_core::confidence::order::call_order) draws).
    pub options: Vec<PlannedOption>,
    /// The criterion's round these calls belong to (0 for its first pass): it draws the
    /// order options are listed in, and a replicate's answer is never the cached answer of
    /// an earlier round.
    pub round: u32,
    /// Whether the answers are replicates, adding to the cells' judgments, rather than the
    /// cells' first (or, forced, fresh) evaluation.
    pub replicate: bool,
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
        let planned = planned_options(session);
        let criteria = session
            .criteria()
            .iter()
            .flat_map(|criterion| {
                let options: Vec<PlannedOption> = planned
                    .iter()
                    .filter(|o| pending.contains(&(o.id, criterion.id)))
                    .cloned()
                    .collect();
                let round = if force {
                    0
                } else {
                    session.next_round(criterion.id)
                };
                // Every judge of the panel scores the criterion's pending cells.
                let judges = if options.is_empty() {
                    0
                } else {
                    session.judges(criterion.id).len()
                };
                (0..judges).map(move |judge| {
                    work(session, criterion, options.clone(), round, judge, false)
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

    /// One planned round of replicates: for each `(criterion, judge, options)`, a call by
    /// that judge listing those options, in the criterion's next round. Options a person
    /// scored, ids no longer in the session and judges not on its panel are left out.
    pub fn replicates(session: &Session, calls: &[(CriterionId, usize, Vec<OptionId>)]) -> Plan {
        let planned = planned_options(session);
        let criteria = calls
            .iter()
            .filter(|(c, judge, _)| *judge < session.judges(*c).len())
            .filter_map(|(c, judge, ids)| {
                let criterion = session.criteria().iter().find(|x| x.id == *c)?;
                let options: Vec<PlannedOption> = planned
                    .iter()
                    .filter(|o| ids.contains(&o.id))
                    .filter(|o| {
                        !matches!(
                            session.cell(o.id, *c).map(|cell| &cell.status),
                            Some(CellStatus::Manual { .. })
                        )
                    })
                    .cloned()
                    .collect();
                let round = session.next_round(*c);
                (!options.is_empty())
                    .then(|| work(session, criterion, options, round, *judge, true))
            })
            .collect();
        Plan {
            session_id: session.id.clone(),
            topic: session.topic.clone(),
            criteria,
            force: false,
        }
    }

    /// Calls the plan makes when each lists at most `batch_size` options.
    pub fn calls(&self, batch_size: usize) -> usize {
        self.criteria
            .iter()
            .map(|c| c.options.len().div_ceil(batch_size.max(1)))
            .sum()
    }

    /// Number of cells to compute.
    pub fn cells(&self) -> usize {
        self.criteria.iter().map(|c| c.options.len()).sum()
    }
}

/// Every option of `session`, as planned.
fn planned_options(session: &Session) -> Vec<PlannedOption> {
    session
        .options()
        .iter()
        .map(|o| PlannedOption {
            id: o.id,
            name: Arc::from(o.name.as_str()),
            description: o.description.as_deref().map(Arc::from),
            revision: o.revision,
        })
        .collect()
}

fn work(
    session: &Session,
    criterion: &Criterion,
    options: Vec<PlannedOption>,
    round: u32,
    judge: usize,
    replicate: bool,
) -> CriterionWork {
    let basis_settings = criterion.settings(&session.defaults);
    let settings = session
        .judges(criterion.id)
        .get(judge)
        .cloned()
        .unwrap_or_else(|| basis_settings.clone());
    CriterionWork {
        id: criterion.id,
        name: Arc::from(criterion.name.as_str()),
        description: criterion.description.clone(),
        custom_prompt: criterion.custom_prompt.clone(),
        scale: criterion.scale.clone(),
        revision: criterion.revision,
        settings,
        judge: u32::try_from(judge).unwrap_or(u32::MAX),
        basis_settings,
        panel: session.basis_panel(criterion.id).unwrap_or_default(),
        options,
        round,
        replicate,
    }
}
