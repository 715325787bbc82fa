//! Errors of loading and calling plugins, phrased for the person who has to act on them.
//!
//! Every message starts with the plugin's `id@version`, so an operator reading a tool error or
//! a log line knows which plugin failed; guest-provided text is scrubbed of secrets before it
//! gets here.

use std::time::Duration;

use super::bindings::types::{PluginError as GuestError, UpstreamError};
use super::inspect::InspectError;
use super::manifest::ManifestError;

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The manifest or component file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// File or directory involved, as the operator wrote it.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The manifest is invalid.
    #[error("{path}: {source}")]
    Manifest {
        /// The manifest file.
        path: String,
        /// What is wrong with it.
        source: ManifestError,
    },
    /// The component is not one this host can run.
    #[error("{path}: {source}")]
    Component {
        /// The component file.
        path: String,
        /// What is wrong with it.
        source: InspectError,
    },
    /// Larger than the host accepts.
    #[error("{path}: the component is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// The component file.
        path: String,
        /// Its size.
        size: u64,
        /// The host's limit.
        limit: u64,
    },
    /// wasmtime refused to compile it.
    #[error("{path}: does not compile: {message}")]
    Compile {
        /// The component file.
        path: String,
        /// wasmtime's message.
        message: String,
    },
    /// It imports something the host does not provide.
    #[error("{path}: cannot be linked: {message}")]
    Link {
        /// The component file.
        path: String,
        /// wasmtime's message, naming the missing import.
        message: String,
    },
    /// A third-party plugin claims an id (or the built-in flag) reserved for the host.
    #[error("{path}: {message}")]
    Conflict {
        /// The manifest file.
        path: String,
        /// Which id or flag is the problem.
        message: String,
    },
}

/// Why a plugin call did not return the plugin's answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Ran wasm for longer than its CPU budget (an endless loop, usually).
    #[error("plugin {plugin}: stopped after using its CPU budget of {} ms", budget.as_millis())]
    CpuBudget {
        /// `id@version`.
        plugin: String,
        /// The budget.
        budget: Duration,
    },
    /// Took longer than its wall-clock budget, host I/O included.
    #[error("plugin {plugin}: did not finish within {} ms", limit.as_millis())]
    Timeout {
        /// `id@version`.
        plugin: String,
        /// The limit.
        limit: Duration,
    },
    /// Tried to grow its memory beyond the cap.
    #[error("plugin {plugin}: stopped after exceeding its memory limit of {} MiB", limit_bytes / (1024 * 1024))]
    MemoryLimit {
        /// `id@version`.
        plugin: String,
        /// The cap.
        limit_bytes: usize,
    },
    /// Needed more memory while the calls in flight held the whole shared budget.
    #[error(
        "plugin {plugin}: stopped because plugin calls in flight hold the whole plugin memory budget of {} MiB ([plugins.limits] max_total_memory_mib); try again when fewer calls run, or raise the budget",
        budget_bytes / (1024 * 1024)
    )]
    MemoryBudget {
        /// `id@version`.
        plugin: String,
        /// The budget.
        budget_bytes: usize,
    },
    /// Trapped: a panic, an `unreachable`, an out-of-bounds access.
    #[error("plugin {plugin}: crashed: {message}")]
    Trap {
        /// `id@version`.
        plugin: String,
        /// The panic message when the guest printed one, else the trap.
        message: String,
    },
    /// Could not be instantiated (the instance pool is exhausted, for example).
    #[error("plugin {plugin}: could not start: {message}")]
    Instantiate {
        /// `id@version`.
        plugin: String,
        /// wasmtime's message.
        message: String,
    },
    /// The plugin ran and returned its own error.
    #[error("plugin {plugin}: {}", describe(error))]
    Plugin {
        /// `id@version`.
        plugin: String,
        /// The error the plugin returned.
        error: GuestError,
    },
}

impl CallError {
    /// Whether the same call may succeed if tried again later. Only upstream errors the plugin
    /// marked retryable, wall-clock timeouts (usually a slow provider) and a full shared
    /// memory budget (other calls give theirs back as they end) qualify.
    pub fn is_retryable(&self) -> bool {
        match self {
            CallError::Timeout { .. } | CallError::MemoryBudget { .. } => true,
            CallError::Plugin {
                error: GuestError::Upstream(upstream),
                ..
            } => upstream.retryable,
            _ => false,
        }
    }

    /// How long the provider asked to wait before a retry, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CallError::Plugin {
                error: GuestError::Upstream(upstream),
                ..
            } => upstream.retry_after_ms.map(Duration::from_millis),
            _ => None,
        }
    }
}

/// One-line description of a guest error.
pub fn describe(error: &GuestError) -> String {
    match error {
        GuestError::InvalidInput(message) => format!("invalid input: {message}"),
        GuestError::Unsupported(message) => format!("unsupported: {message}"),
        GuestError::Internal(message) => format!("internal error: {message}"),
        GuestError::Upstream(UpstreamError {
            status,
            message,
            retryable,
            retry_after_ms,
        }) => {
            let mut text = String::from("upstream error");
            if let Some(status) = status {
                text.push_str(&format!(" (HTTP {status})"));
            }
            text.push_str(": ");
            text.push_str(message);
            if *retryable {
                text.push_str(" [retryable");
                if let Some(ms) = retry_after_ms {
                    text.push_str(&format!(", retry after {ms} ms"));
                }
                text.push(']');
            }
            text
        }
    }
}
