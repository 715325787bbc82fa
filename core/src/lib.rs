//! The pure parts of decision-matrix, synchronous and free of I/O: what the server decides
//! and how it reads untrusted text. The host crate (`decision-matrix`) re-exports each module
//! where it belongs (`domain`, `evaluation::answer`, `plugins::manifest`, `server::params`),
//! and the fuzz targets depend on this crate alone, so they build without the plugin runtime.
//!
//! - [`domain`]: sessions, options, criteria, cells, limits, rankings.
//! - [`answer`]: what a model answered, read from its text.
//! - [`manifest`]: `plugin.toml`, read before anything is granted.
//! - [`params`]: the MCP tools' arguments, and [`lenient`]: how they are read, as a lax
//!   validator reads them, before they are deserialized; [`format`](mod@format): the markdown of the tools
//!   whose result is the session itself.

pub mod answer;
pub mod confidence;
pub mod domain;
pub mod format;
pub mod lenient;
pub mod manifest;
pub mod params;
