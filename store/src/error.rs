//! [`StoreError`]: everything a store operation can report.
//!
//! Each message says what went wrong and what to do about it, because these errors reach the
//! person running the server (a log line, an MCP error). None of them may carry a secret: URLs
//! are shown without their user information and backend error texts are scrubbed of the
//! password before they are stored here (see `decision_matrix_core::store_url`).

use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store URL could not be understood.
    #[error(
        "session store URL {url:?} is not valid: {reason}. Use \"memory\", \"sqlite\", \
         \"sqlite:///absolute/path.db\", \"sqlite:relative.db\", \"redis://host:port[/db]\" \
         or \"rediss://host:port[/db]\""
    )]
    InvalidUrl {
        /// The URL as given, without user information.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The options cannot work (a zero TTL, a namespace with characters Redis patterns treat
    /// specially, no default SQLite path).
    #[error("session store options are not valid: {reason}")]
    InvalidOptions {
        /// What is wrong and what to set instead.
        reason: String,
    },

    /// A session with this id already exists.
    #[error("session {id} already exists; choose another id")]
    Exists {
        /// The id asked for.
        id: String,
    },

    /// The session does not exist: never created, deleted, evicted or expired.
    #[error("session {id} not found: it was deleted, evicted or expired; start a new session")]
    NotFound {
        /// The id asked for.
        id: String,
    },

    /// The session changed since it was read (compare-and-swap failed).
    #[error(
        "session {id} was changed by someone else (now at version {current}); \
         load it again and reapply the change"
    )]
    Conflict {
        /// The session.
        id: String,
        /// Its version now.
        current: u64,
    },

    /// The session limit is reached and the store is set to refuse new sessions, or every
    /// session that could make room is being evaluated (holds a lease).
    #[error("Maximum number of active sessions ({max}) reached. Please try again later.")]
    Full {
        /// The limit.
        max: usize,
    },

    /// The SQLite file was written by a newer version of this program.
    #[error(
        "session database {} has schema version {found}, newer than this build supports \
         ({supported}); upgrade decision-matrix, or point the session store at another file",
        path.display()
    )]
    NewerSchema {
        /// The version found in the file.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
        /// The file.
        path: PathBuf,
    },

    /// The SQLite file is not a session database, or is damaged. It is left as it is.
    #[error(
        "session database {} is not usable: {detail}. The file was left untouched; restore \
         it from a backup, move it aside, or point the session store at another file",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },

    /// The backend cannot be reached (Redis down, wrong port, TLS or authentication failure).
    #[error(
        "session store at {url} is unavailable: {detail}. Check that it is running and \
         reachable, and its address and credentials"
    )]
    Unavailable {
        /// Where it was looked for, without user information.
        url: String,
        /// The cause.
        detail: String,
    },

    /// The backend failed an operation (disk full, permission denied, script error).
    #[error("session store {backend} failed to {action}: {detail}")]
    Backend {
        /// The backend, as [`crate::Store::describe`] tells it.
        backend: String,
        /// What was being done.
        action: String,
        /// The cause.
        detail: String,
    },
}

impl From<decision_matrix_core::store_url::UrlError> for StoreError {
    fn from(error: decision_matrix_core::store_url::UrlError) -> StoreError {
        use decision_matrix_core::store_url::UrlError;
        match error {
            UrlError::Invalid { url, reason } => StoreError::InvalidUrl { url, reason },
            no_default @ UrlError::NoDefaultSqlite => StoreError::InvalidOptions {
                reason: no_default.to_string(),
            },
        }
    }
}
