//! Command-line interface: argument definitions and the commands' implementations.

pub mod backends;
pub mod plugins;
pub mod serve;

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
    /// Run the MCP server: over stdio by default (what MCP clients launch), or streamable
    /// HTTP.
    Serve(ServeArgs),
    /// Inspect plugins.
    #[command(subcommand)]
    Plugins(PluginsCommand),
    /// Inspect and test the LLM backends.
    #[command(subcommand)]
    Backends(BackendsCommand),
}

/// How `decision-matrix serve` listens.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// `stdio`, or `http` for streamable HTTP.
    #[arg(long, env = "MCP_TRANSPORT", default_value = "stdio", value_parser = ["stdio", "http", "streamable-http"])]
    pub transport: String,
    /// HTTP: address to listen on.
    #[arg(long, env = "MCP_HTTP_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// HTTP: port to listen on (0 picks a free one and prints it).
    #[arg(long, env = "MCP_HTTP_PORT", default_value_t = 8081)]
    pub port: u16,
    /// HTTP: require `Authorization: Bearer TOKEN` on /mcp.
    #[arg(long, env = "MCP_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// HTTP: accepted `Host` header values, comma-separated (DNS-rebinding protection).
    /// Default: localhost, 127.0.0.1, ::1.
    #[arg(
        long = "allowed-hosts",
        env = "MCP_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// HTTP: accepted `Origin` values, comma-separated (e.g. `http://localhost:*`). Default:
    /// any; requests without an Origin always pass.
    #[arg(
        long = "allowed-origins",
        env = "MCP_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
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
