//! Guest SDK for decision-matrix plugins.
//!
//! decision-matrix runs its LLM backends and scoring strategies as sandboxed WebAssembly
//! components. The contract between host and plugin is the WIT package
//! `decision-matrix:plugin@0.1.0` (the `wit/` directory of the repository). This crate wraps the
//! bindings `wit-bindgen` generates from it so that a plugin is ordinary Rust:
//!
//! * implement [`backend::LlmBackend`] and export it with [`export_backend!`], or implement
//!   [`scoring::ScoringStrategy`] and export it with [`export_scoring!`];
//! * log with the usual [`log`] macros (`log::info!`): the records go to the host's log;
//! * read operator settings with [`config::get`];
//! * (backends only) call providers with [`http::Request`], naming secrets the host fills in.
//!
//! Build the plugin as a `cdylib` for `wasm32-wasip2`; the Rust toolchain's linker turns it into
//! a component directly. `docs/plugins.md` in the repository walks through a complete plugin.
//!
//! # Which world a plugin gets
//!
//! The export macro decides the component's export, and the imports follow from what the code
//! calls. A scoring strategy that never touches [`http`] produces a component without the
//! `http` import, which the host requires: the scoring world has no network. See the
//! `bindings` module source for how the metadata is split to make that work.
//!
//! # Example
//!
//! ```no_run
//! use dmx_plugin_sdk::scoring::{self, Matrix, RankedOption, ScoringStrategy, StrategyInfo};
//! use dmx_plugin_sdk::PluginError;
//!
//! struct FirstCriterion;
//!
//! impl ScoringStrategy for FirstCriterion {
//!     fn info() -> StrategyInfo {
//!         StrategyInfo {
//!             id: "first-criterion".into(),
//!             display_name: "First criterion only".into(),
//!             description: "Ranks by the first criterion; abstentions count 0.".into(),
//!             params_schema: None,
//!         }
//!     }
//!
//!     fn rank(m: Matrix, params: Vec<(String, String)>) -> Result<Vec<RankedOption>, PluginError> {
//!         scoring::reject_params(&params)?;
//!         m.check_shape()?;
//!         let totals: Vec<f64> = (0..m.options.len())
//!             .map(|o| m.cell(o, 0).and_then(|c| c.score()).unwrap_or(0.0))
//!             .collect();
//!         log::debug!("ranking {} options", totals.len());
//!         Ok(scoring::rank_by_totals(&totals))
//!     }
//! }
//!
//! dmx_plugin_sdk::export_scoring!(FirstCriterion);
//! ```

#![warn(missing_docs)]

pub mod backend;
#[doc(hidden)]
#[allow(missing_docs)]
pub mod bindings;
pub mod config;
pub mod http;
mod logging;
pub mod scoring;

pub use logging::log_init;

/// The [`log`](https://docs.rs/log) crate, re-exported so plugins can log without declaring the
/// dependency themselves (`dmx_plugin_sdk::log::info!`).
pub use log;

pub use bindings::backend_world::decision_matrix::plugin::types::{PluginError, UpstreamError};

impl PluginError {
    /// A failure of the provider without an HTTP status (no answer, or an answer that is not
    /// the documented shape): [`PluginError::Upstream`] with `message` and no retry delay.
    pub fn upstream(message: impl Into<String>, retryable: bool) -> Self {
        PluginError::Upstream(UpstreamError {
            status: None,
            message: message.into(),
            retryable,
            retry_after_ms: None,
        })
    }

    /// The provider failure inside, if this is [`PluginError::Upstream`].
    pub fn as_upstream(&self) -> Option<&UpstreamError> {
        match self {
            PluginError::Upstream(upstream) => Some(upstream),
            _ => None,
        }
    }
}
