//! The pure parts of decision-matrix, synchronous and free of I/O: what the server decides,
//! how it reads untrusted text, and what its configuration means. The host crate
//! (`decision-matrix`) re-exports each module where it belongs (`domain`,
//! `evaluation::answer`, `plugins::manifest`, `server::params`, `config`, `providers`), and
//! the fuzz targets depend on this crate alone, so they build without the plugin runtime.
//!
//! - [`domain`]: sessions, options, criteria, cells, limits, rankings.
//! - [`answer`]: what a model answered, read from its text.
//! - [`manifest`]: `plugin.toml`, read before anything is granted.
//! - [`params`]: the MCP tools' arguments, and [`lenient`]: how they are read, as a lax
//!   validator reads them, before they are deserialized; [`format`](mod@format): the markdown
//!   of the tools whose result is the session itself.
//! - [`config`]: the operator's configuration: every table, its layers (profile, file,
//!   environment, flags) and its checks, from text already read.
//! - [`providers`]: each backend's grant, settings and evaluation defaults, derived from the
//!   environment as its manifest's `[backend]` table says.
//! - [`resilience`]: the retry, circuit breaker and timeout policies, with the clock passed in.
//! - [`confidence`]: how sure a recommendation is: judge noise, agreement, each option's
//!   probability of being best, and where further judgments would settle it.
//! - [`address`]: which IP addresses are public; [`store_url`]: the session store's URLs.

pub mod address;
pub mod answer;
pub mod confidence;
pub mod config;
pub mod domain;
pub mod format;
pub mod lenient;
pub mod manifest;
pub mod params;
pub mod providers;
pub mod resilience;
pub mod store_url;
