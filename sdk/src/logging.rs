//! A [`log`] facade backed by the host's `log` import.
//!
//! Plugins write with the ordinary `log` macros (`log::info!`, `log::warn!`, ...). The records
//! go to the host's structured log, tagged by the host with the plugin's id, with secrets
//! scrubbed. The export glue installs the forwarder before every call, so plugin code never
//! needs to call [`log_init`] itself.

use crate::bindings::backend_world::decision_matrix::plugin::log as wit;

/// Forwards `log` records to the host.
struct HostLogger;

static LOGGER: HostLogger = HostLogger;

fn host_level(level: log::Level) -> wit::Level {
    match level {
        log::Level::Error => wit::Level::Error,
        log::Level::Warn => wit::Level::Warn,
        log::Level::Info => wit::Level::Info,
        log::Level::Debug => wit::Level::Debug,
        log::Level::Trace => wit::Level::Trace,
    }
}

impl log::Log for HostLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        wit::enabled(host_level(metadata.level()))
    }

    fn log(&self, record: &log::Record<'_>) {
        let level = host_level(record.level());
        // Ask the host first so that records it would discard are never formatted.
        if !wit::enabled(level) {
            return;
        }
        match record.args().as_str() {
            Some(text) => wit::log(level, record.target(), text),
            None => wit::log(level, record.target(), &record.args().to_string()),
        }
    }

    fn flush(&self) {}
}

/// Installs the forwarder as the global [`log`] logger. Idempotent and cheap.
///
/// The export glue of [`export_backend!`](crate::export_backend) and
/// [`export_scoring!`](crate::export_scoring) calls this before every call into the plugin;
/// call it yourself only if you implement the generated bindings by hand. The host does the
/// level filtering, so the `log` crate's maximum level is set to `Trace`. Outside WebAssembly
/// (unit tests on the build machine) it does nothing, because there is no host to log to.
pub fn log_init() {
    if cfg!(target_arch = "wasm32") && log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Trace);
    }
}
