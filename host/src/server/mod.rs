//! The MCP server: the tools, the session store and the transports.
//!
//! - [`service`]: the state the tools work on ([`Decisions`]); [`tools`]: what each tool
//!   does, a module per group of tools, independent of MCP; [`results`]: what each returns.
//! - [`mcp`]: the tools on rmcp, with their output schemas, progress notifications and
//!   cancellation; [`tasks`]: `evaluate_options` as an MCP task for clients that ask;
//!   [`schemas`]: the tools' schemas as published; [`bad_params`]: requests
//!   whose params do not fit their method; [`outcome`]: whether a call failed on the
//!   server's side or for the client's input.
//! - [`sessions`]: sessions in their store (SQLite, memory or Redis), their limit, sliding
//!   TTL, background cleanup and evaluation leases; [`decoded`]: sessions already decoded;
//!   [`memory`]: how full memory is; [`config`]: the `[sessions]` and `[server]` tables.
//! - [`params`], [`error`], [`format`], [`export`], [`timestamp`]: arguments, the error
//!   envelope, the markdown output, CSV export, timestamps as Python clients read them
//!   (`params` and the session-only part of `format` are pure, from `decision-matrix-core`).
//! - [`resources`]: each session's matrix as MCP resources; [`prompts`]: the guided
//!   decision prompt.
//! - [`stats`]: the metrics snapshot, `server_stats` and the background alert checks.
//! - [`transport`]: stdio and streamable HTTP (with `/healthz` and `/metrics`); [`stdio`]: standard input and output as
//!   streams; [`connections`]: HTTP connections under a cap and time limits; [`stopping`]:
//!   shutting down without losing finished cells.

pub(crate) mod bad_params;
pub(crate) mod confidence;
pub(crate) mod connections;
pub(crate) mod decoded;
pub(crate) mod error;
pub(crate) mod export;
pub mod format;
pub(crate) mod mcp;
pub(crate) mod memory;
pub(crate) mod outcome;
pub(crate) mod prompts;
pub(crate) mod resources;
pub(crate) mod results;
pub(crate) mod schemas;
pub(crate) mod scope;
pub(crate) mod service;
pub(crate) mod sessions;
pub(crate) mod stats;
pub(crate) mod stdio;
pub(crate) mod stopping;
pub(crate) mod tasks;
pub(crate) mod timestamp;
pub(crate) mod tools;
pub(crate) mod transport;

pub use decision_matrix_core::params;

pub use decision_matrix_core::config::{ServerConfig, SessionsConfig, Transport};
pub use service::Decisions;
pub use sessions::{SessionManager, SessionSettings, StoreDurability, WhenFull};
pub use tools::evaluation::Update;
