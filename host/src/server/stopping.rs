//! Stopping the server without losing paid-for work.
//!
//! When the process is asked to stop, evaluations in flight are cancelled rather than
//! dropped: each keeps the cells it finished and answers its client (with `cancelled: true`),
//! and only then are the transports closed. [`Stopping`] is the server-wide switch and the
//! count of evaluations still running.

use tokio::sync::watch;
use tokio_util::sync::{CancellationToken, DropGuard};

/// The stop switch and the evaluations running.
#[derive(Debug)]
pub struct Stopping {
    stop: CancellationToken,
    running: watch::Sender<usize>,
}

impl Default for Stopping {
    fn default() -> Stopping {
        Stopping {
            stop: CancellationToken::new(),
            running: watch::Sender::new(0),
        }
    }
}

/// One evaluation counted as running, until dropped.
#[derive(Debug)]
pub struct Running {
    running: watch::Sender<usize>,
    _forwarding: DropGuard,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.running
            .send_modify(|count| *count = count.saturating_sub(1));
    }
}

impl Stopping {
    /// For one evaluation: a token cancelled when `request` is (the client cancelled) or the
    /// server stops, and its place in the count of running evaluations.
    pub fn evaluation(&self, request: CancellationToken) -> (CancellationToken, Running) {
        let token = self.stop.child_token();
        let forward = token.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = request.cancelled() => forward.cancel(),
                () = forward.cancelled() => {}
            }
        });
        self.running.send_modify(|count| *count += 1);
        let running = Running {
            running: self.running.clone(),
            // Ends the forwarding task once the evaluation is over.
            _forwarding: token.clone().drop_guard(),
        };
        (token, running)
    }

    /// Cancels every evaluation, running or still to start.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Waits until no evaluation is running.
    pub async fn drained(&self) {
        let mut running = self.running.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = running.wait_for(|count| *count == 0).await;
    }

    /// Evaluations running now.
    pub fn running(&self) -> usize {
        *self.running.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stopping_cancels_evaluations_and_drains_when_they_end() {
        let stopping = Stopping::default();
        let request = CancellationToken::new();
        let (first, running) = stopping.evaluation(request.clone());
        let (second, other) = stopping.evaluation(CancellationToken::new());
        assert_eq!(stopping.running(), 2);

        request.cancel();
        first.cancelled().await;
        assert!(!second.is_cancelled(), "only that request was cancelled");

        stopping.stop();
        second.cancelled().await;
        drop(running);
        assert_eq!(stopping.running(), 1);
        let drained = tokio::spawn(async move {
            stopping.drained().await;
            stopping
        });
        drop(other);
        let stopping = drained.await.expect("drains");
        assert_eq!(stopping.running(), 0);
        let (late, _running) = stopping.evaluation(CancellationToken::new());
        assert!(
            late.is_cancelled(),
            "an evaluation after the stop is cancelled at once"
        );
    }
}
