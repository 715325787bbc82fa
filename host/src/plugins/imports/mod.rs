//! The host side of the WIT imports, one small adapter per interface.
//!
//! Each adapter only translates between the generated bindings and a host facility: `log`
//! into `tracing`, `config` into the plugin's settings map, `http` into the capability-checked
//! pipeline of [`super::net`]. Policy lives in those facilities, not here.

mod config;
mod http;
mod log;

pub(crate) use log::LogBudget;

use super::bindings::types;
use super::state::CallState;

impl types::Host for CallState {}
