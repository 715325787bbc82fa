//! The plugin platform: LLM backends and scoring strategies as sandboxed WebAssembly
//! components.
//!
//! - [`runtime::PluginHost`] owns the one wasmtime engine, the linkers for the two worlds,
//!   the compile cache and the network; it turns a manifest plus component bytes into a
//!   typed handle ([`BackendPlugin`], [`ScoringPlugin`]).
//! - [`manifest`] reads a plugin's `plugin.toml` (pure, from `decision-matrix-core`);
//!   [`catalog::PluginCatalog`] loads the built-ins and the plugins directory; [`check`]
//!   checks that a backend works end to end.
//! - Each call runs in a fresh store ([`call`]) under a CPU budget, a wall-clock limit and a
//!   memory cap, and all calls in flight share one [`memory_budget`]; the guest reaches the outside world only through the imports in
//!   [`imports`], and the network only through the grant-checked pipeline in [`net`].
//!
//! Policy (what a plugin may do: [`grants`], [`limits`]) is kept apart from mechanism (how
//! it is enforced: [`net`], [`call`], [`state`]).

pub(crate) mod backend;
pub(crate) mod binary;
pub mod bindings;
pub mod builtin;
pub mod cache;
pub(crate) mod call;
pub(crate) mod catalog;
pub(crate) mod check;
pub(crate) mod deferred;
pub(crate) mod descriptor;
pub mod discover;
pub mod engine;
pub(crate) mod error;
pub(crate) mod handle;
mod imports;
pub(crate) mod inspect;
pub mod memory_budget;
pub mod net;
pub(crate) mod runtime;
pub(crate) mod scoring;
pub(crate) mod state;
pub(crate) mod stdio;

pub use decision_matrix_core::config::{PluginSettings, grants, plugin_limits as limits};
pub use decision_matrix_core::manifest;

pub use backend::BackendPlugin;
pub use binary::ComponentBinary;
pub use catalog::PluginCatalog;
pub use descriptor::{Origin, PluginDescriptor};
pub use error::{CallError, LoadError};
pub use runtime::{LoadedPlugin, PluginHost, PluginSource};
pub use scoring::ScoringPlugin;
