//! What the session manager's tests share: sessions, settings and a memory probe they
//! control.

use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

use decision_matrix_store::{Clock, ManualClock, StoreError};
use time::OffsetDateTime;

use super::{SessionManager, SessionSettings, WhenFull};
use crate::domain::{Cell, CellStatus, CriterionId, Limits, OptionId, Score, Session};
use crate::plugins::builtin::session_defaults;
use crate::server::memory::{MemoryProbe, SystemMemory};

pub(super) fn session(id: &str) -> Session {
    Session::new(
        id.to_owned(),
        format!("topic {id}"),
        vec![("a".to_owned(), None), ("b".to_owned(), None)],
        Vec::new(),
        session_defaults(),
        &Limits::default(),
        OffsetDateTime::now_utc(),
    )
    .expect("valid")
}

pub(super) fn settings(max: usize, when_full: WhenFull, ttl: Duration) -> SessionSettings {
    SessionSettings {
        max_sessions: max,
        ttl,
        cleanup_interval: Duration::from_millis(50),
        when_full,
        store: "memory".to_owned(),
        ..SessionSettings::default()
    }
}

/// A cell as an evaluation of `session`'s current inputs would save it.
pub(super) fn evaluated_cell(session: &Session, o: OptionId, c: CriterionId, score: f64) -> Cell {
    let score = Score::new(score).expect("score");
    let mut cell = Cell::manual(
        score,
        "from the model".to_owned(),
        OffsetDateTime::now_utc(),
    );
    cell.status = CellStatus::Scored { score };
    cell.basis = session.basis(o, c);
    cell
}

/// A manager of `settings` on a manual clock (see [`clock`]).
pub(super) async fn open(settings: SessionSettings) -> Result<SessionManager, StoreError> {
    let memory = Box::new(SystemMemory::detect());
    SessionManager::open_with(settings, memory, ManualClock::at_system_time().into()).await
}

pub(super) async fn manager(max: usize, when_full: WhenFull) -> SessionManager {
    open(settings(max, when_full, Duration::from_secs(60)))
        .await
        .expect("memory opens")
}

/// Memory use set by the test.
pub(super) struct FakeMemory(pub(super) Arc<Mutex<Option<f64>>>);

impl MemoryProbe for FakeMemory {
    fn used_percent(&self) -> Option<f64> {
        *self.0.lock()
    }
}

/// The manual clock of a manager made with [`open`].
pub(super) fn clock(sessions: &SessionManager) -> ManualClock {
    match sessions.clock() {
        Clock::Manual(clock) => clock.clone(),
        Clock::System => panic!("the test's sessions run on the system clock"),
    }
}

/// Moves the store's clock on, so "least recently used" is unambiguous.
pub(super) fn tick(sessions: &SessionManager) {
    clock(sessions).advance(Duration::from_millis(3));
}
