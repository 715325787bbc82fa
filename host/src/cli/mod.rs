//! Command-line interface: argument definitions and the commands' implementations.

pub mod backends;
pub(crate) mod decision_file;
pub(crate) mod engine;
pub mod evaluate;
pub mod plugins;
pub mod serve;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Overrides;

/// decision-matrix: structured decision analysis over MCP, with sandboxed WebAssembly
/// LLM backends and scoring strategies.
#[derive(Debug, Parser)]
#[command(name = "decision-matrix", version, about)]
pub struct Cli {
    /// Configuration file (TOML). Default: $DMM_CONFIG, else none (the built-in defaults).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Deployment profile under the file: development, production or high-scale (the
    /// performance guide's settings). Default: $DMM_PROFILE, else the file's `profile`.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Override one configuration key, over the file and the environment (repeatable), e.g.
    /// `--set sessions.max_sessions=50`. `decision-matrix config show` lists the keys.
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// Log lines on stderr as `text` (default) or `json` (one object per line)
    /// [env: DMM_LOG_FORMAT].
    #[arg(long, global = true, value_name = "FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The configuration overrides the command line gives.
    pub fn overrides(&self) -> Result<Overrides, String> {
        let mut overrides = Overrides::default();
        overrides.file = self.config.clone();
        overrides.profile = self.profile.clone();
        for assignment in &self.set {
            overrides.set(assignment)?;
        }
        if let Some(format) = &self.log_format {
            overrides.flag("--log-format", "logging.format", format.as_str());
        }
        match &self.command {
            Command::Serve(args) => args.apply(&mut overrides),
            Command::Evaluate {
                store: Some(store), ..
            } => overrides.flag("--store", "sessions.store", store.as_str()),
            _ => {}
        }
        Ok(overrides)
    }
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
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run a decision described in a TOML, YAML or JSON file and print the ranked options
    /// (exit 1 if some cells could not be scored).
    Evaluate {
        /// The decision: topic, options and criteria (see docs/cli.md).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Print the evaluation summary and the matrix as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Also write the decision to this file as a standalone HTML report that opens
        /// offline in a browser (an SVG chart when the name ends in `.svg`).
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Session store to keep the decision in (as `serve --store`). Default: `memory`,
        /// whatever `sessions.store` or `DMM_STORE` say, so a one-shot run leaves nothing
        /// behind.
        #[arg(long, value_name = "URL")]
        store: Option<String>,
        /// How the evaluation spends calls beyond one judgment per cell.
        #[command(flatten)]
        steering: Steering,
    },
}

/// `evaluate_options`' steering arguments, as flags.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct Steering {
    /// Keep judging until the leading option is best with this probability (0 to 0.999; 0
    /// judges each cell once). Default: `evaluation.confidence_target` (0.9).
    #[arg(long, value_name = "P")]
    pub confidence_target: Option<f64>,
    /// Most backend calls the evaluation may plan. Default: twice one pass.
    #[arg(long, value_name = "N")]
    pub max_calls: Option<u32>,
    /// Judge every cell exactly N times instead.
    #[arg(long, value_name = "N")]
    pub replicates: Option<u32>,
}

/// `decision-matrix config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every value in force and where it came from (default, profile, file,
    /// environment variable or flag). Exits 2 with the reason when a value is invalid.
    Show {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// How `decision-matrix serve` listens and where it keeps sessions. Each flag overrides its
/// `[server]` or `[sessions]` key and the environment variable named.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// `stdio` (default), or `http` for streamable HTTP [env: MCP_TRANSPORT].
    #[arg(long, value_parser = ["stdio", "http", "streamable-http"])]
    pub transport: Option<String>,
    /// HTTP: IP address to listen on (default 127.0.0.1) [env: MCP_HTTP_HOST].
    #[arg(long)]
    pub host: Option<String>,
    /// HTTP: port to listen on (default 8081; 0 picks a free one and prints it)
    /// [env: MCP_HTTP_PORT].
    #[arg(long)]
    pub port: Option<u16>,
    /// HTTP: require `Authorization: Bearer TOKEN` on /mcp; several tokens, comma-separated,
    /// each see only their own sessions [env: MCP_AUTH_TOKEN].
    #[arg(long)]
    pub auth_token: Option<String>,
    /// HTTP: accepted `Host` header values, comma-separated (DNS-rebinding protection).
    /// Default: localhost, 127.0.0.1, ::1 [env: MCP_ALLOWED_HOSTS].
    #[arg(long = "allowed-hosts", value_delimiter = ',')]
    pub allowed_hosts: Option<Vec<String>>,
    /// HTTP: accepted `Origin` values, comma-separated (e.g. `http://localhost:*`). Default:
    /// any; requests without an Origin always pass [env: MCP_ALLOWED_ORIGINS].
    #[arg(long = "allowed-origins", value_delimiter = ',')]
    pub allowed_origins: Option<Vec<String>>,
    /// HTTP: allow listening on a non-loopback address without `--auth-token`, so that anyone
    /// who reaches the port can use every session. Only behind a proxy that authenticates
    /// [env: DMM_INSECURE_UNAUTHENTICATED_BIND].
    #[arg(long)]
    pub insecure_unauthenticated_bind: bool,
    /// Where sessions are kept: `sqlite` (default, the data directory's sessions.db),
    /// `sqlite:///path.db`, `memory`, or `redis://host:port[/db]` to share sessions between
    /// instances [env: DMM_STORE].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Whose sessions a client sees: `client` (default; each MCP client by its name) or a
    /// name every client shares [env: DMM_SCOPE].
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,
}

impl ServeArgs {
    /// The flags given, as configuration overrides of `[server]`.
    pub fn apply(&self, overrides: &mut Overrides) {
        let strings = |values: &[String]| {
            values
                .iter()
                .map(String::as_str)
                .map(toml::Value::from)
                .collect::<Vec<_>>()
        };
        if let Some(transport) = &self.transport {
            overrides.flag("--transport", "server.transport", transport.as_str());
        }
        if let Some(host) = &self.host {
            overrides.flag("--host", "server.host", host.as_str());
        }
        if let Some(port) = self.port {
            overrides.flag("--port", "server.port", i64::from(port));
        }
        if let Some(token) = &self.auth_token {
            overrides.flag("--auth-token", "server.auth_token", token.as_str());
        }
        if let Some(hosts) = &self.allowed_hosts {
            overrides.flag("--allowed-hosts", "server.allowed_hosts", strings(hosts));
        }
        if let Some(origins) = &self.allowed_origins {
            overrides.flag(
                "--allowed-origins",
                "server.allowed_origins",
                strings(origins),
            );
        }
        if let Some(store) = &self.store {
            overrides.flag("--store", "sessions.store", store.as_str());
        }
        if let Some(scope) = &self.scope {
            overrides.flag("--scope", "sessions.scope", scope.as_str());
        }
        if self.insecure_unauthenticated_bind {
            overrides.flag(
                "--insecure-unauthenticated-bind",
                "server.insecure_unauthenticated_bind",
                true,
            );
        }
    }
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
        /// Backend id (`ollama`, `litellm`, `bedrock`, `anthropic`, `gemini`, or a plugin's id).
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
