//! Evaluation leases: one evaluation of a session at a time, across calls and instances, so
//! that no cell is computed (and billed) twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::SessionManager;
use crate::server::error::ToolError;

/// How long an evaluation lease lasts unless renewed (every third of it). Short, so that the
/// lease of a process killed mid-evaluation frees the session soon; long enough that a
/// renewal delayed by a busy store does not lose it.
pub(crate) const LEASE_TTL: Duration = Duration::from_secs(15);

/// Longest wait for another evaluation of the same session to finish.
const LEASE_WAIT: Duration = Duration::from_secs(600);

impl SessionManager {
    /// Takes the evaluation lease of session `id`, waiting (with backoff, at most ten
    /// minutes) while another evaluation holds it, and calling `waiting` once when it starts
    /// to wait; `None` when `cancel` fires first. The lease is renewed in the background
    /// until [`Lease::release`] or drop.
    pub async fn lease(
        self: &Arc<SessionManager>,
        id: &str,
        cancel: &CancellationToken,
        waiting: &mut (dyn FnMut() + Send),
    ) -> Result<Option<Lease>, ToolError> {
        let owner = format!(
            "{}-{}",
            self.owner,
            self.leases.fetch_add(1, Ordering::Relaxed)
        );
        let started = tokio::time::Instant::now();
        let mut attempt = 0;
        loop {
            if self
                .store
                .try_lease(id, &owner, LEASE_TTL)
                .await
                .map_err(|e| self.failure(e))?
            {
                break;
            }
            if started.elapsed() >= LEASE_WAIT {
                return Err(ToolError::new(
                    "Evaluation busy",
                    format!(
                        "Session {id} has been under evaluation elsewhere for over {} minutes; \
                         try again when that evaluation has finished",
                        LEASE_WAIT.as_secs() / 60
                    ),
                ));
            }
            if attempt == 0 {
                waiting();
            }
            let pause = Duration::from_millis((50u64 << attempt.min(4)) + fastrand::u64(0..50));
            attempt += 1;
            tokio::select! {
                () = cancel.cancelled() => return Ok(None),
                () = tokio::time::sleep(pause) => {}
            }
        }
        let stop = cancel.child_token();
        let lost = Arc::new(AtomicBool::new(false));
        let renewal = tokio::spawn(renew(
            self.clone(),
            id.to_owned(),
            owner.clone(),
            stop.clone(),
            lost.clone(),
        ));
        Ok(Some(Lease {
            manager: self.clone(),
            id: id.to_owned(),
            owner,
            renewal,
            held: true,
            stop,
            lost,
        }))
    }
}

/// Renews the lease every third of its TTL until aborted. When the store says another owner
/// has it, or it could not be renewed for a whole TTL (so another instance may have taken
/// it), the lease is lost: `lost` is set and `stop` cancelled, so the evaluation stops
/// instead of billing cells another instance is computing.
async fn renew(
    manager: Arc<SessionManager>,
    id: String,
    owner: String,
    stop: CancellationToken,
    lost: Arc<AtomicBool>,
) {
    let mut renewed = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(LEASE_TTL / 3).await;
        match manager.store.renew_lease(&id, &owner, LEASE_TTL).await {
            Ok(true) => renewed = tokio::time::Instant::now(),
            Ok(false) => {
                tracing::warn!(
                    session = id,
                    "evaluation lease lost to another owner; stopping this evaluation"
                );
                break;
            }
            Err(error) if renewed.elapsed() >= LEASE_TTL => {
                tracing::warn!(
                    session = id,
                    "evaluation lease not renewed for {} s ({error}); stopping this evaluation",
                    LEASE_TTL.as_secs()
                );
                break;
            }
            Err(error) => tracing::warn!(session = id, "lease not renewed: {error}"),
        }
    }
    lost.store(true, Ordering::SeqCst);
    stop.cancel();
}

/// A session's evaluation lease, held while it is renewed in the background. Give it back
/// with [`Lease::release`]; dropped without that (a cancelled call) it is given back by a
/// background task.
pub struct Lease {
    manager: Arc<SessionManager>,
    id: String,
    owner: String,
    renewal: tokio::task::JoinHandle<()>,
    held: bool,
    /// Cancelled by the caller's cancellation or when the lease is lost.
    stop: CancellationToken,
    lost: Arc<AtomicBool>,
}

impl Lease {
    /// What the work under the lease should stop on: the caller's cancellation, or the
    /// lease being lost (see [`Lease::was_lost`]).
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Whether the lease was lost while held: another owner took it, or it could not be
    /// renewed before it ran out.
    pub fn was_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Stops renewing and gives the lease back.
    pub async fn release(mut self) {
        self.renewal.abort();
        self.held = false;
        if let Err(error) = self
            .manager
            .store
            .release_lease(&self.id, &self.owner)
            .await
        {
            // It expires on its own within the lease TTL.
            tracing::warn!(session = self.id, "lease not released: {error}");
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewal.abort();
        if !self.held {
            return;
        }
        let (manager, id, owner) = (self.manager.clone(), self.id.clone(), self.owner.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = manager.store.release_lease(&id, &owner).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::WhenFull;
    use super::super::testing::{clock, manager, session};
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_evaluation_lease_at_a_time() {
        let sessions = Arc::new(manager(5, WhenFull::Refuse).await);
        sessions.insert(&session("s")).await.expect("room");
        let cancel = CancellationToken::new();
        let mut told = 0;
        let first = sessions
            .lease("s", &cancel, &mut || told += 1)
            .await
            .expect("ok")
            .expect("held");
        assert_eq!(told, 0, "a free lease is taken without waiting");
        let waits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let waiting = tokio::spawn({
            let (sessions, cancel, waits) = (sessions.clone(), cancel.clone(), waits.clone());
            async move {
                let mut waited = || {
                    waits.fetch_add(1, Ordering::SeqCst);
                };
                sessions
                    .lease("s", &cancel, &mut waited)
                    .await
                    .map(|lease| lease.is_some())
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "the second waits for the first");
        first.release().await;
        let second = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("within bounds")
            .expect("joins");
        assert_eq!(second, Ok(true));
        assert_eq!(
            waits.load(Ordering::SeqCst),
            1,
            "told once that it waits, however many tries"
        );
    }

    /// Another instance takes the session once this lease has run out (its holder stalled
    /// past the TTL): at its next renewal the holder learns it lost the lease and stops.
    #[tokio::test(start_paused = true)]
    async fn a_lease_taken_over_stops_its_holder() {
        let sessions = Arc::new(manager(5, WhenFull::Refuse).await);
        sessions.insert(&session("s")).await.expect("room");
        let cancel = CancellationToken::new();
        let lease = sessions
            .lease("s", &cancel, &mut || {})
            .await
            .expect("ok")
            .expect("held");
        let stop = lease.stop_token();
        assert!(!stop.is_cancelled() && !lease.was_lost());

        clock(&sessions).advance(LEASE_TTL + Duration::from_secs(1));
        assert!(
            sessions
                .store()
                .try_lease("s", "another-instance", LEASE_TTL)
                .await
                .expect("store answers"),
            "the run-out lease is free to take"
        );
        tokio::time::timeout(LEASE_TTL, stop.cancelled())
            .await
            .expect("stopped within one renewal period");
        assert!(lease.was_lost());
        assert!(!cancel.is_cancelled(), "the caller did not cancel");
        lease.release().await;
        assert!(
            !sessions
                .store()
                .try_lease("s", "a-third-instance", LEASE_TTL)
                .await
                .expect("store answers"),
            "releasing a lost lease does not free the new owner's"
        );
    }
}
