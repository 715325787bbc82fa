//! Watching one connection: which phase it is in, and when that phase runs out of time.
//!
//! A connection is always in one of three phases:
//!
//! - **head**: waiting for, or receiving, a request head. It starts when the connection is
//!   accepted, and when the first byte of a kept-alive connection's next request arrives. The
//!   head must be complete within the header-read timeout (slow or silent clients lose).
//! - **busy**: a request head was parsed and its response is not finished. No timeout:
//!   evaluations take minutes, and an event stream stays open as long as its call runs.
//! - **idle**: kept alive after a response, with no byte of a next request yet. It may stay
//!   so for the idle timeout.
//!
//! The phases are seen from three places, all polled by the connection's own task: the
//! socket (a read that returns bytes, through [`Watched`]), the service (a request handed
//! to the router) and the response body (dropped once sent, through [`Finishing`]).

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::telemetry::connections::Closed;
pub use decision_matrix_core::config::Timeouts;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    Idle,
    /// With the number of requests whose responses are not finished.
    Busy(usize),
}

#[derive(Debug)]
struct State {
    phase: Phase,
    since: Instant,
    /// The deadline the watch sleeps until, `None` while it waits for a change without one.
    armed: Option<Instant>,
}

impl State {
    /// When the current phase runs out of time, and what the connection is closed for then.
    fn deadline(&self, timeouts: &Timeouts) -> Option<(Instant, Closed)> {
        match self.phase {
            Phase::Head => Some((self.since + timeouts.header_read, Closed::HeaderTimeout)),
            Phase::Idle => Some((self.since + timeouts.idle, Closed::IdleTimeout)),
            Phase::Busy(_) => None,
        }
    }

    /// When a watch looking at `now` should look again. While idle, that is no later than
    /// one header-read limit away: the first byte of the next request, arriving after
    /// `now`, can then never bring a deadline before it, so it need not wake the watch.
    fn wake_at(&self, timeouts: &Timeouts, now: Instant) -> Option<Instant> {
        let (deadline, _) = self.deadline(timeouts)?;
        Some(match self.phase {
            Phase::Idle => deadline.min(now + timeouts.header_read),
            _ => deadline,
        })
    }
}

/// The phase of one connection, shared by its socket, service and response bodies.
///
/// The watch is woken only when a change brings a deadline earlier than the time it sleeps
/// until (or gives one to a watch that has none, which happens only when a request outlasts
/// the time the watch slept to). Other changes wait for the watch to wake and look again,
/// so serving a request costs no extra poll of the connection: an idle connection's watch
/// looks again at least every header-read limit, which keeps the next request's first byte
/// from ever needing to wake it.
#[derive(Debug)]
pub struct Activity {
    state: Mutex<State>,
    timeouts: Timeouts,
    changed: Notify,
}

impl Activity {
    /// A connection just accepted, held to `timeouts`: waiting for its first request head.
    pub fn new(timeouts: Timeouts) -> Arc<Activity> {
        Arc::new(Activity {
            state: Mutex::new(State {
                phase: Phase::Head,
                since: Instant::now(),
                armed: None,
            }),
            timeouts,
            changed: Notify::new(),
        })
    }

    fn update(&self, change: impl FnOnce(&mut State) -> bool) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !change(&mut state) {
            return;
        }
        let sooner = match (state.deadline(&self.timeouts), state.armed) {
            (Some((deadline, _)), Some(armed)) => deadline < armed,
            (Some(_), None) => true,
            (None, _) => false,
        };
        drop(state);
        if sooner {
            // `notify_one` keeps a permit when the watch is not waiting yet, so no change is
            // missed between its reading the state and its waiting.
            self.changed.notify_one();
        }
    }

    /// Bytes arrived: an idle connection starts receiving its next request head.
    fn received(&self) {
        self.update(|state| {
            if state.phase != Phase::Idle {
                return false;
            }
            state.phase = Phase::Head;
            state.since = Instant::now();
            true
        });
    }

    /// A request head was parsed and handed to the router; the returned guard ends the
    /// request when it is dropped (with its response body, or unanswered).
    pub fn request_started(self: &Arc<Activity>) -> Busy {
        self.update(|state| {
            state.phase = match state.phase {
                Phase::Busy(open) => Phase::Busy(open + 1),
                Phase::Head | Phase::Idle => Phase::Busy(1),
            };
            true
        });
        Busy(self.clone())
    }

    fn request_finished(&self) {
        self.update(|state| {
            state.phase = match state.phase {
                Phase::Busy(open) if open > 1 => Phase::Busy(open - 1),
                _ => Phase::Idle,
            };
            state.since = Instant::now();
            true
        });
    }

    /// Resolves when a phase outlasts its time limit, with the reason to close the
    /// connection; never while a request is being served.
    pub async fn expired(&self) -> Closed {
        let mut sleep = std::pin::pin!(tokio::time::sleep_until(Instant::now()));
        loop {
            let wake_at = {
                let now = Instant::now();
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some((deadline, closed)) = state.deadline(&self.timeouts)
                    && deadline <= now
                {
                    return closed;
                }
                state.armed = state.wake_at(&self.timeouts, now);
                state.armed
            };
            match wake_at {
                None => self.changed.notified().await,
                Some(at) => {
                    sleep.as_mut().reset(at);
                    tokio::select! {
                        () = sleep.as_mut() => {}
                        () = self.changed.notified() => {}
                    }
                }
            }
        }
    }
}

/// One request being served; dropping it finishes the request.
#[derive(Debug)]
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A socket whose reads move an idle connection into its head phase.
#[derive(Debug)]
pub struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    /// `inner`, reporting to `activity`.
    pub fn new(inner: T, activity: Arc<Activity>) -> Watched<T> {
        Watched { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.received();
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A response body that finishes its request when hyper drops it (sent, or the client gone).
pub struct Finishing {
    body: axum::body::Body,
    _busy: Busy,
}

impl Finishing {
    /// `body`, finishing the request `busy` once dropped.
    pub fn new(body: axum::body::Body, busy: Busy) -> Finishing {
        Finishing { body, _busy: busy }
    }
}

impl http_body::Body for Finishing {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const TIMEOUTS: Timeouts = Timeouts {
        header_read: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };

    #[tokio::test(start_paused = true)]
    async fn each_phase_has_its_own_limit_and_a_request_in_flight_has_none() {
        let activity = Activity::new(TIMEOUTS);
        let start = Instant::now();
        assert_eq!(activity.expired().await, Closed::HeaderTimeout);
        assert_eq!(start.elapsed(), TIMEOUTS.header_read);

        let busy = activity.request_started();
        let second = activity.request_started();
        drop(busy);
        // Still one request open: an hour passes without expiry.
        let waited = tokio::time::timeout(Duration::from_secs(3600), activity.expired());
        assert!(waited.await.is_err(), "no deadline while a request is open");

        drop(second);
        let idle_from = Instant::now();
        activity.received();
        // The first byte of the next request switches to the head phase, from that byte on.
        assert_eq!(activity.expired().await, Closed::HeaderTimeout);
        assert_eq!(idle_from.elapsed(), TIMEOUTS.header_read);

        drop(activity.request_started());
        let idle_from = Instant::now();
        assert_eq!(activity.expired().await, Closed::IdleTimeout);
        assert_eq!(idle_from.elapsed(), TIMEOUTS.idle);
    }

    #[tokio::test(start_paused = true)]
    async fn a_watch_already_waiting_sees_the_phase_change() {
        let activity = Activity::new(TIMEOUTS);
        let watch = {
            let activity = activity.clone();
            tokio::spawn(async move { activity.expired().await })
        };
        tokio::task::yield_now().await;
        let busy = activity.request_started();
        tokio::time::sleep(TIMEOUTS.idle * 2).await;
        assert!(!watch.is_finished(), "busy: nothing expires");
        let finished = Instant::now();
        drop(busy);
        assert_eq!(watch.await.expect("joined"), Closed::IdleTimeout);
        assert_eq!(finished.elapsed(), TIMEOUTS.idle);
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_byte_after_an_idle_wait_starts_the_head_limit_from_that_byte() {
        let activity = Activity::new(TIMEOUTS);
        drop(activity.request_started());
        let watch = {
            let activity = activity.clone();
            tokio::spawn(async move { activity.expired().await })
        };
        tokio::time::sleep(Duration::from_secs(5)).await;
        let byte = Instant::now();
        activity.received();
        assert_eq!(watch.await.expect("joined"), Closed::HeaderTimeout);
        assert_eq!(
            byte.elapsed(),
            TIMEOUTS.header_read,
            "not the idle limit's 55 s left"
        );
    }
}
