//! Command-line interface: argument definitions and the commands' implementations.

pub mod backends;
pub mod plugins;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// decision-matrix: structured decision analysis over MCP, with sandboxed WebAssembly
/// LLM backends and scoring strategies.
#[derive(Debug, Parser)]
#[command(name = "decision-matrix", version, about)]
pub struct Cli {
    /// Configuration file (TOML). Default: $DMM_CONFIG, else the embedded defaults.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect plugins.
    #[command(subcommand)]
    Plugins(PluginsCommand),
    /// Inspect and test the LLM backends.
    #[command(subcommand)]
    Backends(BackendsCommand),
}

/// `decision-matrix backends ...`
#[derive(Debug, Subcommand)]
pub enum BackendsCommand {
    /// List the LLM backends with their destination, default model, authentication and the
    /// variables their settings came from.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Test each backend (or only NAME) against its provider: connectivity, credentials and
    /// the default model. Exits 1 when a backend fails.
    Check {
        /// Backend id (`ollama`, `litellm`, `bedrock`, or a plugin's id).
        name: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `decision-matrix plugins ...`
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List built-in plugins and those in the plugins directory, with their capabilities.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Validate a plugin component and the plugin.toml beside it, and print what it would be
    /// allowed to do.
    Check {
        /// The component file.
        #[arg(value_name = "FILE.wasm")]
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}
