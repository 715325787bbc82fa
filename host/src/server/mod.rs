//! The MCP server: the tools, the session store and the transports.
//!
//! - [`service`]: what each tool does ([`Decisions`]), independent of MCP.
//! - [`mcp`]: the tools on rmcp, with progress notifications and cancellation.
//! - [`sessions`]: live sessions, their limit, sliding TTL and background cleanup;
//!   [`memory`]: how full memory is; [`config`]: the `[sessions]` and `[server]` tables.
//! - [`params`], [`error`], [`format`], [`export`]: arguments, the error envelope, the
//!   markdown output, CSV export.
//! - [`transport`]: stdio and streamable HTTP.

pub mod config;
pub mod error;
pub mod export;
pub mod format;
pub mod mcp;
pub mod memory;
pub mod params;
pub mod service;
pub mod sessions;
pub mod transport;

pub use config::{ServerConfig, SessionsConfig, Transport};
pub use service::{BedrockTarget, Decisions};
pub use sessions::{SessionManager, SessionSettings, WhenFull};
