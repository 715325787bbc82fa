//! How a session maps to store records: the session without its cells, and each cell under
//! a key of its own.

use std::collections::BTreeMap;

use super::SessionManager;
use crate::domain::{Cell, CellStatus, CriterionId, OptionId, Session};
use crate::server::decoded::Stored;
use crate::server::error::ToolError;

/// The key of a cell's record. A score a person set has a key of its own (`m:` first) that
/// evaluations never write, and it wins over the evaluated record of the same cell on load:
/// an evaluation saving its cells at the moment a person sets one cannot overwrite the
/// person's score.
fn cell_key(o: OptionId, c: CriterionId, cell: &Cell) -> String {
    if matches!(cell.status, CellStatus::Manual { .. }) {
        manual_key(o, c)
    } else {
        evaluated_key(o, c)
    }
}

pub(super) fn evaluated_key(o: OptionId, c: CriterionId) -> String {
    format!("{}:{}", o.0, c.0)
}

pub(super) fn manual_key(o: OptionId, c: CriterionId) -> String {
    format!("m:{}:{}", o.0, c.0)
}

/// The cell a record key names, and whether it is a person's score.
fn parse_cell_key(key: &str) -> Option<(OptionId, CriterionId, bool)> {
    let (manual, key) = match key.strip_prefix("m:") {
        Some(rest) => (true, rest),
        None => (false, key),
    };
    let (o, c) = key.split_once(':')?;
    Some((
        OptionId(o.parse().ok()?),
        CriterionId(c.parse().ok()?),
        manual,
    ))
}

pub(super) type Cells = BTreeMap<(OptionId, CriterionId), Cell>;

impl SessionManager {
    /// The session and its cells as the store keeps them: the session without cells, and
    /// each cell under its key.
    pub(super) fn split(&self, session: &Session) -> Result<(Vec<u8>, Cells), ToolError> {
        let mut body = session.clone();
        let cells = body.take_cells();
        let body = serde_json::to_vec(&body).map_err(|e| self.unreadable(&session.id, e))?;
        Ok((body, cells))
    }

    pub(super) fn encode_cells<'a>(
        &self,
        cells: impl IntoIterator<Item = ((OptionId, CriterionId), &'a Cell)>,
    ) -> Result<Vec<(String, Vec<u8>)>, ToolError> {
        cells
            .into_iter()
            .map(|((o, c), cell)| {
                serde_json::to_vec(cell)
                    .map(|body| (cell_key(o, c, cell), body))
                    .map_err(|e| self.unreadable(&cell_key(o, c, cell), e))
            })
            .collect()
    }

    /// A loaded session with its cells, decoded unless the same bytes were decoded before.
    pub(super) fn decode(&self, id: &str, stored: &Stored) -> Result<Session, ToolError> {
        if let Some(session) = self.decoded.get(id, stored) {
            return Ok(session);
        }
        let session = self.parse(id, stored)?;
        self.decoded.put(id, stored.clone(), &session);
        Ok(session)
    }

    /// A stored session with its cells. A cell whose option or criterion is gone, or that
    /// cannot be read, is left out (the next evaluation computes it again).
    pub(super) fn parse(&self, id: &str, stored: &Stored) -> Result<Session, ToolError> {
        let mut session: Session =
            serde_json::from_slice(&stored.body).map_err(|e| self.unreadable(id, e))?;
        let mut manual = Vec::new();
        for (key, body) in &stored.cells {
            let cell = serde_json::from_slice::<Cell>(body);
            match (parse_cell_key(key), cell) {
                (Some((o, c, true)), Ok(cell)) => manual.push((o, c, cell)),
                (Some((o, c, false)), Ok(cell)) => {
                    session.restore_cell(o, c, cell);
                }
                (_, Err(error)) => {
                    tracing::warn!(
                        session = id,
                        cell = key.as_str(),
                        "unreadable cell ignored: {error}"
                    )
                }
                (None, _) => {
                    tracing::warn!(
                        session = id,
                        cell = key.as_str(),
                        "unknown cell key ignored"
                    )
                }
            }
        }
        // A person's score wins over the evaluated record of the same cell.
        for (o, c, cell) in manual {
            session.restore_cell(o, c, cell);
        }
        Ok(session)
    }
}
