//! [`Session`]: one decision: its topic, options, criteria and the cells scored so far.
//!
//! Every mutation validates first and changes nothing when it fails. Cells remember the
//! revisions and backend settings they were computed from, so the session can say which cells
//! an evaluation still has to compute ([`Session::pending`]) and can refuse a late result for
//! inputs that changed meanwhile ([`Session::record`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::cell::{Basis, Cell, CellStatus, EvaluatorSettings};
use super::criterion::{Criterion, CriterionId, CriterionSpec, CriterionUpdate};
use super::limits::{Limits, ValidationError};
use super::matrix::ScoreMatrix;
use super::names;
use super::option::{DecisionOption, OptionId};
use super::panel;
use super::scale::Scale;
use super::score::Score;

/// Backend settings criteria inherit unless they name their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDefaults {
    /// Backend plugin id.
    pub backend: String,
    /// Model; `None` means the backend's default.
    pub model: Option<String>,
    /// Temperature.
    pub temperature: f64,
    /// A panel of judges that scores every criterion, each with its own backend, model and
    /// temperature; empty for the single judge above. See [`SessionDefaults::check_panel`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub judges: Vec<EvaluatorSettings>,
}

impl SessionDefaults {
    /// Checks the session's panel (see [`panel::check`]).
    pub fn check_panel(&self, limits: &Limits) -> Result<(), ValidationError> {
        panel::check(&self.judges, limits)
    }

    /// The reference server's defaults on `backend`: that backend's default model,
    /// temperature 0.1. Which backend a session gets when its client names none is the host's
    /// to say (`plugins::builtin::session_defaults`): the built-in plugin whose manifest says
    /// so.
    pub fn for_backend(backend: &str) -> SessionDefaults {
        SessionDefaults {
            backend: backend.to_owned(),
            model: None,
            temperature: 0.1,
            judges: Vec::new(),
        }
    }
}

/// Where a cell stands relative to the current inputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellState<'a> {
    /// Never computed (or removed).
    Missing,
    /// Computed from the current inputs (or set by a person).
    Fresh(&'a Cell),
    /// Computed from inputs that have changed since.
    Stale(&'a Cell),
}

/// One decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Identifier given by the session manager.
    pub id: String,
    /// What is being decided.
    pub topic: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Settings criteria inherit.
    pub defaults: SessionDefaults,
    /// Scoring strategy plugin id used for rankings.
    pub strategy: String,
    /// Completed evaluation runs.
    pub evaluations_run: u32,
    /// Backend calls every evaluation of the session made, retries included (0 for
    /// sessions saved before it was counted).
    #[serde(default)]
    pub llm_calls: u64,
    /// Whose session it is (see the server's `scope` module); `None` for sessions saved
    /// before scopes existed, which every caller sees until they expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    options: Vec<DecisionOption>,
    criteria: Vec<Criterion>,
    #[serde(with = "cells_as_list")]
    cells: BTreeMap<(OptionId, CriterionId), Cell>,
    next_id: u32,
}

/// The default scoring strategy.
pub const DEFAULT_STRATEGY: &str = "weighted-average";

/// The error for `name`, a `kind` ("Option", "Criterion") that duplicates `existing`: the
/// reference server's message, and which name it clashes with when they are not identical.
fn duplicate(context: &'static str, kind: &str, name: &str, existing: &str) -> ValidationError {
    let mut message = format!("{kind} '{name}' already exists");
    if existing != name {
        message.push_str(&format!(
            " as '{existing}' (names that differ only in case, width or invisible characters are the same name)"
        ));
    }
    ValidationError::new(context, message)
}

/// The first of `names`, but the one at `except`, that `name` would duplicate.
fn clash<'a>(
    names: impl Iterator<Item = &'a str>,
    except: Option<usize>,
    name: &str,
) -> Option<&'a str> {
    let others = names
        .enumerate()
        .filter(move |(i, _)| Some(*i) != except)
        .map(|(_, other)| other);
    names::duplicate(others, name)
}

impl Session {
    /// A new session. Everything is validated before anything is created, so a bad
    /// criterion never leaves a half-made session behind (the reference server's did).
    pub fn new(
        id: String,
        topic: String,
        options: Vec<(String, Option<String>)>,
        criteria: Vec<CriterionSpec>,
        defaults: SessionDefaults,
        limits: &Limits,
        now: OffsetDateTime,
    ) -> Result<Session, ValidationError> {
        limits.topic(&topic)?;
        limits.option_count(options.len())?;
        limits.model_name(defaults.model.as_deref())?;
        limits.temperature(Some(defaults.temperature))?;
        defaults.check_panel(limits)?;
        let mut session = Session {
            id,
            topic,
            created_at: now,
            defaults,
            strategy: DEFAULT_STRATEGY.to_owned(),
            evaluations_run: 0,
            llm_calls: 0,
            scope: None,
            options: Vec::with_capacity(options.len()),
            criteria: Vec::with_capacity(criteria.len()),
            cells: BTreeMap::new(),
            next_id: 0,
        };
        for (name, description) in options {
            session.add_option(name, description, limits)?;
        }
        for spec in criteria {
            let name = spec.name.clone();
            session
                .add_criterion(spec, limits)
                .map_err(|error| error.of_criterion(&name))?;
        }
        Ok(session)
    }

    fn next_id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    /// The options, in the order they were added.
    pub fn options(&self) -> &[DecisionOption] {
        &self.options
    }

    /// The criteria, in the order they were added.
    pub fn criteria(&self) -> &[Criterion] {
        &self.criteria
    }

    /// The option called `name`.
    pub fn option(&self, name: &str) -> Result<&DecisionOption, ValidationError> {
        self.option_index(name).map(|i| &self.options[i])
    }

    fn option_index(&self, name: &str) -> Result<usize, ValidationError> {
        self.options
            .iter()
            .position(|o| o.name == name)
            .ok_or_else(|| {
                ValidationError::new(
                    "Unknown option",
                    format!(
                        "Option '{name}' not found; the session's options are: {}",
                        quoted(self.options.iter().map(|o| o.name.as_str()))
                    ),
                )
            })
    }

    /// The criterion called `name`.
    pub fn criterion(&self, name: &str) -> Result<&Criterion, ValidationError> {
        self.criterion_index(name).map(|i| &self.criteria[i])
    }

    fn criterion_index(&self, name: &str) -> Result<usize, ValidationError> {
        self.criteria
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| {
                ValidationError::new(
                    "Unknown criterion",
                    format!(
                        "Criterion '{name}' not found; the session's criteria are: {}",
                        quoted(self.criteria.iter().map(|c| c.name.as_str()))
                    ),
                )
            })
    }

    /// Adds an option, keeping the option limit (which the reference server's `add_option`
    /// skipped).
    pub fn add_option(
        &mut self,
        name: String,
        description: Option<String>,
        limits: &Limits,
    ) -> Result<OptionId, ValidationError> {
        limits.option_name(&name)?;
        limits.option_description(description.as_deref())?;
        if let Some(existing) = clash(self.options.iter().map(|o| o.name.as_str()), None, &name) {
            return Err(duplicate("Duplicate option", "Option", &name, existing));
        }
        if self.options.len() >= limits.max_options_allowed {
            return Err(limits.too_many_options());
        }
        let id = OptionId(self.next_id());
        self.options.push(DecisionOption {
            id,
            name,
            description,
            revision: 0,
        });
        Ok(id)
    }

    /// Renames an option or changes its description; its cells become stale.
    pub fn update_option(
        &mut self,
        name: &str,
        new_name: Option<String>,
        description: Option<Option<String>>,
        limits: &Limits,
    ) -> Result<(), ValidationError> {
        let index = self.option_index(name)?;
        if let Some(new_name) = &new_name {
            limits.option_name(new_name)?;
            let others = self.options.iter().map(|o| o.name.as_str());
            if let Some(existing) = clash(others, Some(index), new_name) {
                return Err(duplicate("Duplicate option", "Option", new_name, existing));
            }
        }
        if let Some(description) = &description {
            limits.option_description(description.as_deref())?;
        }
        let option = &mut self.options[index];
        let mut changed = false;
        if let Some(new_name) = new_name.filter(|n| *n != option.name) {
            option.name = new_name;
            changed = true;
        }
        if let Some(description) = description.filter(|d| *d != option.description) {
            option.description = description;
            changed = true;
        }
        if changed {
            option.revision += 1;
        }
        Ok(())
    }

    /// Removes an option and its cells. A session keeps at least the minimum number of
    /// options.
    pub fn remove_option(
        &mut self,
        name: &str,
        limits: &Limits,
    ) -> Result<DecisionOption, ValidationError> {
        let index = self.option_index(name)?;
        if self.options.len() <= limits.min_options_required {
            return Err(ValidationError::new(
                "Invalid options",
                format!(
                    "Cannot remove '{name}': a session needs at least {} options",
                    limits.min_options_required
                ),
            ));
        }
        let removed = self.options.remove(index);
        self.cells.retain(|(o, _), _| *o != removed.id);
        Ok(removed)
    }

    fn check_spec(&self, spec: &CriterionSpec, limits: &Limits) -> Result<(), ValidationError> {
        panel::check(&spec.judges, limits)?;
        let own_judge =
            spec.backend.is_some() || spec.model.is_some() || spec.temperature.is_some();
        if !spec.judges.is_empty() && own_judge {
            return Err(ValidationError::new(
                "Invalid criterion",
                format!(
                    "Invalid criterion '{}': give either judges or a backend, model and \
                     temperature of its own, not both",
                    spec.name
                ),
            ));
        }
        if !self.defaults.judges.is_empty() && own_judge {
            return Err(ValidationError::new(
                "Invalid criterion",
                format!(
                    "Invalid criterion '{}': this session's panel of {} judges scores every \
                     criterion, so a criterion cannot name its own backend, model or \
                     temperature (it may have judges of its own)",
                    spec.name,
                    self.defaults.judges.len()
                ),
            ));
        }
        limits.criterion_name(&spec.name)?;
        limits.criterion_description(&spec.description)?;
        limits.weight(spec.weight)?;
        limits.custom_prompt(spec.custom_prompt.as_deref())?;
        limits.model_name(spec.model.as_deref())?;
        limits.temperature(spec.temperature)
    }

    /// Adds a criterion, keeping the criteria limit.
    pub fn add_criterion(
        &mut self,
        spec: CriterionSpec,
        limits: &Limits,
    ) -> Result<CriterionId, ValidationError> {
        self.check_spec(&spec, limits)?;
        let scale = match &spec.scale {
            Some(anchors) => Scale::parse(anchors)?,
            None => None,
        };
        let names = self.criteria.iter().map(|c| c.name.as_str());
        if let Some(existing) = clash(names, None, &spec.name) {
            return Err(duplicate(
                "Duplicate criterion",
                "Criterion",
                &spec.name,
                existing,
            ));
        }
        if self.criteria.len() >= limits.max_criteria_allowed {
            return Err(limits.too_many_criteria());
        }
        let id = CriterionId(self.next_id());
        self.criteria.push(Criterion {
            id,
            name: spec.name,
            description: spec.description,
            weight: spec.weight,
            custom_prompt: spec.custom_prompt,
            backend: spec.backend,
            model: spec.model,
            temperature: spec.temperature,
            scale,
            judges: spec.judges,
            revision: 0,
        });
        Ok(id)
    }

    /// Changes a criterion. A weight change only re-ranks; any other change makes the
    /// criterion's cells stale.
    pub fn update_criterion(
        &mut self,
        name: &str,
        update: CriterionUpdate,
        limits: &Limits,
    ) -> Result<(), ValidationError> {
        let index = self.criterion_index(name)?;
        let current = self.criteria[index].clone();
        let scale = match &update.scale {
            Some(anchors) => Scale::parse(anchors)?,
            None => current.scale.clone(),
        };
        let next = Criterion {
            scale,
            name: update.name.unwrap_or_else(|| current.name.clone()),
            description: update
                .description
                .unwrap_or_else(|| current.description.clone()),
            weight: update.weight.unwrap_or(current.weight),
            custom_prompt: update
                .custom_prompt
                .unwrap_or_else(|| current.custom_prompt.clone()),
            backend: update.backend.unwrap_or_else(|| current.backend.clone()),
            model: update.model.unwrap_or_else(|| current.model.clone()),
            temperature: update.temperature.unwrap_or(current.temperature),
            ..current.clone()
        };
        self.check_spec(
            &CriterionSpec {
                name: next.name.clone(),
                description: next.description.clone(),
                weight: next.weight,
                custom_prompt: next.custom_prompt.clone(),
                backend: next.backend.clone(),
                model: next.model.clone(),
                temperature: next.temperature,
                scale: None,
                judges: next.judges.clone(),
            },
            limits,
        )?;
        let names = self.criteria.iter().map(|c| c.name.as_str());
        if let Some(existing) = clash(names, Some(index), &next.name) {
            return Err(duplicate(
                "Duplicate criterion",
                "Criterion",
                &next.name,
                existing,
            ));
        }
        let prompt_changed = next.name != current.name
            || next.description != current.description
            || next.custom_prompt != current.custom_prompt
            || next.scale != current.scale;
        self.criteria[index] = Criterion {
            revision: current.revision + u64::from(prompt_changed),
            ..next
        };
        Ok(())
    }

    /// Removes a criterion and its cells.
    pub fn remove_criterion(&mut self, name: &str) -> Result<Criterion, ValidationError> {
        let index = self.criterion_index(name)?;
        let removed = self.criteria.remove(index);
        self.cells.retain(|(_, c), _| *c != removed.id);
        Ok(removed)
    }

    /// The cell of option `o` on criterion `c`, if any.
    pub fn cell(&self, o: OptionId, c: CriterionId) -> Option<&Cell> {
        self.cells.get(&(o, c))
    }

    /// Where the cell of `o` on `c` stands.
    pub fn cell_state(&self, o: OptionId, c: CriterionId) -> CellState<'_> {
        let Some(cell) = self.cells.get(&(o, c)) else {
            return CellState::Missing;
        };
        match &cell.basis {
            None => CellState::Fresh(cell),
            Some(basis) if Some(basis) == self.basis(o, c).as_ref() => CellState::Fresh(cell),
            Some(_) => CellState::Stale(cell),
        }
    }

    /// What a cell of `o` on `c` computed now would be based on; `None` if either is gone.
    pub fn basis(&self, o: OptionId, c: CriterionId) -> Option<Basis> {
        let option = self.options.iter().find(|x| x.id == o)?;
        let criterion = self.criteria.iter().find(|x| x.id == c)?;
        Some(Basis {
            option_revision: option.revision,
            criterion_revision: criterion.revision,
            settings: criterion.settings(&self.defaults),
            panel: self.panel_of(criterion),
        })
    }

    /// The cells an evaluation must compute, criterion by criterion in order, options in
    /// order within each: missing, failed and stale cells, or with `force` every cell a
    /// person did not set.
    pub fn pending(&self, force: bool) -> Vec<(OptionId, CriterionId)> {
        let mut pending = Vec::new();
        for criterion in &self.criteria {
            for option in &self.options {
                let needed = match self.cell_state(option.id, criterion.id) {
                    CellState::Missing | CellState::Stale(_) => true,
                    CellState::Fresh(cell) => match cell.status {
                        CellStatus::Manual { .. } => false,
                        CellStatus::Failed { .. } => true,
                        _ => force,
                    },
                };
                if needed {
                    pending.push((option.id, criterion.id));
                }
            }
        }
        pending
    }

    /// Stores an evaluated cell. Refused (returning `false`) when the option or criterion is
    /// gone, when the inputs changed since the cell's basis was taken (the result answers a
    /// question nobody is asking any more), or when a person has set the cell meanwhile.
    pub fn record(&mut self, o: OptionId, c: CriterionId, cell: Cell) -> bool {
        if cell.basis.is_none() || cell.basis != self.basis(o, c) {
            return false;
        }
        if matches!(
            self.cells.get(&(o, c)).map(|x| &x.status),
            Some(CellStatus::Manual { .. })
        ) {
            return false;
        }
        self.cells.insert((o, c), cell);
        true
    }

    /// The judges of every criterion: the panel, or the criterion's single judge (of
    /// `c`'s settings). Judge `j` of a cell's judgments is `judges(c)[j]`.
    pub fn judges(&self, c: CriterionId) -> Vec<EvaluatorSettings> {
        self.criteria
            .iter()
            .find(|x| x.id == c)
            .map(|criterion| match self.panel_of(criterion) {
                panel if panel.is_empty() => vec![criterion.settings(&self.defaults)],
                panel => panel,
            })
            .unwrap_or_default()
    }

    /// The panel `c`'s cells are based on ([`Basis::panel`]); `None` if `c` is gone.
    pub fn basis_panel(&self, c: CriterionId) -> Option<Vec<EvaluatorSettings>> {
        let criterion = self.criteria.iter().find(|x| x.id == c)?;
        Some(self.panel_of(criterion))
    }

    /// The panel that scores `criterion`: its own, else the session's; empty for a single
    /// judge.
    fn panel_of(&self, criterion: &Criterion) -> Vec<EvaluatorSettings> {
        if criterion.judges.is_empty() {
            self.defaults.judges.clone()
        } else {
            criterion.judges.clone()
        }
    }

    /// The most judges any criterion has (1 without panels).
    pub fn panel_size(&self) -> usize {
        self.criteria
            .iter()
            .map(|c| self.panel_of(c).len())
            .max()
            .unwrap_or(0)
            .max(1)
    }

    /// The round the next call for criterion `c` belongs to: one past the latest round of
    /// its cells' current judgments, 0 when it has none.
    pub fn next_round(&self, c: CriterionId) -> u32 {
        self.options
            .iter()
            .filter_map(|o| match self.cell_state(o.id, c) {
                CellState::Fresh(cell) => cell.samples.iter().map(|j| j.round + 1).max(),
                CellState::Stale(_) | CellState::Missing => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Stores a replicate of a cell: its judgments join those the cell already has (a cell
    /// without a usable evaluation takes it as its first). Refused like [`Session::record`].
    pub fn record_replicate(&mut self, o: OptionId, c: CriterionId, replicate: Cell) -> bool {
        if replicate.basis.is_none() || replicate.basis != self.basis(o, c) {
            return false;
        }
        match self.cell_state(o, c) {
            CellState::Fresh(cell) => match cell.status {
                CellStatus::Manual { .. } => false,
                CellStatus::Failed { .. } => {
                    self.cells.insert((o, c), replicate);
                    true
                }
                CellStatus::Scored { .. } | CellStatus::Abstained => {
                    if let Some(cell) = self.cells.get_mut(&(o, c)) {
                        cell.add_replicate(replicate);
                    }
                    true
                }
            },
            CellState::Missing | CellState::Stale(_) => {
                self.cells.insert((o, c), replicate);
                true
            }
        }
    }

    /// Sets a score by hand (or, with `None`, removes a manual score so the next evaluation
    /// computes the cell again).
    pub fn set_manual(
        &mut self,
        option: &str,
        criterion: &str,
        score: Option<Score>,
        note: Option<String>,
        limits: &Limits,
        now: OffsetDateTime,
    ) -> Result<(), ValidationError> {
        let o = self.option(option)?.id;
        let c = self.criterion(criterion)?.id;
        if let Some(note) = &note
            && note.chars().count() > limits.max_description_length
        {
            return Err(ValidationError::new(
                "Invalid justification",
                format!(
                    "Invalid justification: must be at most {} characters",
                    limits.max_description_length
                ),
            ));
        }
        match score {
            Some(score) => {
                let note = note.unwrap_or_else(|| "Set manually".to_owned());
                self.cells.insert((o, c), Cell::manual(score, note, now));
            }
            None => {
                self.cells.remove(&(o, c));
            }
        }
        Ok(())
    }

    /// Every cell, by option and criterion.
    pub fn cells(&self) -> impl Iterator<Item = ((OptionId, CriterionId), &Cell)> {
        self.cells.iter().map(|(key, cell)| (*key, cell))
    }

    /// Takes every cell out of the session, leaving it without any: for a store that keeps
    /// each cell apart from the rest of the session (so a finished cell is saved on its own).
    pub fn take_cells(&mut self) -> BTreeMap<(OptionId, CriterionId), Cell> {
        std::mem::take(&mut self.cells)
    }

    /// Puts back a cell taken out with [`Session::take_cells`]. Ignored (returning `false`)
    /// when its option or criterion no longer exists: ids are never reused, so such a cell
    /// belongs to something removed.
    pub fn restore_cell(&mut self, o: OptionId, c: CriterionId, cell: Cell) -> bool {
        let known =
            self.options.iter().any(|x| x.id == o) && self.criteria.iter().any(|x| x.id == c);
        if known {
            self.cells.insert((o, c), cell);
        }
        known
    }

    /// The scores and weights as a plain matrix, for ranking.
    pub fn score_matrix(&self) -> ScoreMatrix {
        let cells = self
            .options
            .iter()
            .flat_map(|o| {
                self.criteria
                    .iter()
                    .map(move |c| match self.cell_state(o.id, c.id) {
                        // A stale score still describes the option better than nothing; the
                        // next evaluation replaces it.
                        CellState::Fresh(cell) | CellState::Stale(cell) => {
                            cell.status.score().map(Score::get)
                        }
                        CellState::Missing => None,
                    })
            })
            .collect();
        ScoreMatrix {
            weights: self.criteria.iter().map(|c| c.weight).collect(),
            cells,
        }
    }
}

fn quoted<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<String> = names.map(|n| format!("'{n}'")).collect();
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

/// Cells are keyed by a pair, which JSON objects cannot hold; they are stored as a list.
mod cells_as_list {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::super::cell::Cell;
    use super::super::criterion::CriterionId;
    use super::super::option::OptionId;

    #[derive(Serialize, Deserialize)]
    struct Entry {
        option: OptionId,
        criterion: CriterionId,
        #[serde(flatten)]
        cell: Cell,
    }

    pub fn serialize<S: Serializer>(
        cells: &BTreeMap<(OptionId, CriterionId), Cell>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(cells.iter().map(|((option, criterion), cell)| Entry {
            option: *option,
            criterion: *criterion,
            cell: cell.clone(),
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<(OptionId, CriterionId), Cell>, D::Error> {
        let entries = Vec::<Entry>::deserialize(deserializer)?;
        Ok(entries
            .into_iter()
            .map(|e| ((e.option, e.criterion), e.cell))
            .collect())
    }
}

#[cfg(test)]
mod tests;
