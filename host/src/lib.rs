//! decision-matrix: an MCP server for structured decision analysis.
//!
//! - [`domain`]: sessions, options, criteria, cells, limits, rankings; pure and synchronous.
//!   It lives in the `decision-matrix-core` crate with the other pure readers of untrusted
//!   text (the answer parser, `plugin.toml`, the tool arguments), re-exported here under
//!   [`evaluation::answer`], [`plugins::manifest`] and [`server::params`]; the fuzz targets
//!   build that crate without the plugin runtime.
//! - [`evaluation`]: the engine that has LLMs score the cells, under faults and limits.
//! - [`analysis`]: rankings by scoring strategy plugins, recommendation, weight sensitivity.
//! - [`plugins`]: LLM backends and scoring strategies as sandboxed WebAssembly components;
//!   [`providers`] derives each backend's grant, settings and evaluation defaults from the
//!   environment variables its manifest's `[backend]` table names (the derivation is pure,
//!   in `decision-matrix-core`).
//! - [`server`]: the MCP server: tools, sessions, stdio and streamable HTTP.
//! - [`config`]: the operator's settings and grants, from profile, file, environment and
//!   flags (what they mean and how they are checked is in `decision-matrix-core`; the host
//!   reads the file and the process environment); [`logging`]: where logs go; [`cli`]: the
//!   command line.
//! - [`report`]: the decision drawn: the MCP App view, the standalone HTML report, the SVG
//!   and PNG chart.
//! - [`telemetry`]: metrics, alert thresholds and health.

pub use decision_matrix_core::domain;

pub mod analysis;
pub mod cli;
pub mod config;
pub mod evaluation;
pub mod logging;
pub mod plugins;
pub mod providers;
pub mod report;
pub mod server;
pub mod telemetry;
