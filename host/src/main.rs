//! The `decision-matrix` binary.

use std::process::ExitCode;

use clap::Parser;
use decision_matrix::cli::{Cli, Command, PluginsCommand, plugins};
use decision_matrix::config::Config;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let config = Config::load(cli.config.as_deref())?;
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Plugins(PluginsCommand::List { json }) => {
            plugins::list(&config, json, &mut stdout)
        }
        Command::Plugins(PluginsCommand::Check { file, json }) => {
            plugins::check(&config, &file, json, &mut stdout)
        }
    }
}

/// Logs go to stderr (stdout belongs to command output and, for the server, to JSON-RPC).
/// Level from `LOG_LEVEL` or `RUST_LOG`, default `warn`.
fn init_logging() {
    let filter = std::env::var("LOG_LEVEL")
        .ok()
        .and_then(|level| EnvFilter::try_new(level).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
