//! Test support: what one test logs, as text, without losing events to tracing's
//! process-wide callsite cache.
//!
//! tracing decides once per callsite, for the whole process, whether any subscriber is
//! interested, asking the subscriber of the thread that reaches the callsite first. When that
//! is another test's thread with no subscriber, the answer "never" is cached and a test's
//! scoped subscriber does not see the event at all. A global subscriber that wants every
//! event (and keeps none) makes the answer "always"; each test's scoped subscriber still gets
//! only its own thread's events.

use std::io::Write;
use std::sync::{Arc, Once};

use parking_lot::Mutex;

/// Runs `body` with a text subscriber at `level` on this thread; returns its result and
/// what it logged.
pub(crate) fn capture<R>(level: tracing::Level, body: impl FnOnce() -> R) -> (R, String) {
    static KEEP_CALLSITES_OPEN: Once = Once::new();
    KEEP_CALLSITES_OPEN.call_once(|| {
        // Fails only if a global subscriber is already set, which keeps callsites open too.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
    });
    let written = Written::default();
    let writer = written.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let result = tracing::subscriber::with_default(subscriber, body);
    let text = String::from_utf8_lossy(&written.0.lock()).into_owned();
    (result, text)
}

/// The subscriber's output.
#[derive(Clone, Default)]
struct Written(Arc<Mutex<Vec<u8>>>);

impl Write for Written {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
