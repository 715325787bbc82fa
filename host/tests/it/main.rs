//! The host's integration tests, as one test binary: each module below was a test binary of
//! its own, and each linked the whole plugin runtime (wasmtime) again. One link instead of
//! twenty is most of a clean test build's time.
//!
//! Run one group with a filter on its module name, for example
//! `cargo test -p decision-matrix --test it mcp_store::`.

mod common;

mod adaptive;
mod analysis;
mod backend_anthropic;
mod backend_bedrock;
mod backend_gemini;
mod backend_litellm;
mod backend_ollama;
mod backend_providers;
mod backend_third_party;
mod cli;
mod cli_evaluate;
mod compile_cache;
mod config;
mod deferred_loading;
mod evaluation;
mod example_plugin;
mod http_limits;
mod mcp;
mod mcp_fidelity;
mod mcp_inspector;
mod mcp_lenient;
mod mcp_lifecycle;
mod mcp_observability;
mod mcp_python;
mod mcp_scopes;
mod mcp_store;
mod mcp_view;
mod sandbox;
mod scoring;
mod scoring_strategies;
mod stdio_lines;
mod view_browser;
