//! decision-matrix: an MCP server for structured decision analysis.
//!
//! LLM backends and scoring strategies are WebAssembly components run in a sandbox by
//! [`plugins`]; [`config`] holds the operator's settings and grants.

pub mod cli;
pub mod config;
pub mod domain;
pub mod evaluation;
pub mod plugins;
pub mod providers;
