//! The `decision-matrix` binary.

use std::process::ExitCode;

use clap::Parser;
use decision_matrix::cli::{
    BackendsCommand, Cli, Command, PluginsCommand, backends, plugins, serve,
};
use decision_matrix::config::Config;
use decision_matrix::providers;
use tracing_subscriber::EnvFilter;

/// mimalloc rather than the system allocator: the engine makes many small, short-lived
/// allocations per backend call (prompts, answers, cells) on every worker thread, which
/// glibc's allocator serves markedly slower (BENCHMARKS.md, "Evaluation engine").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code as u8),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<i32> {
    let config = Config::load(cli.config.as_deref())?;
    let builtins = providers::from_process().await?;
    let grants = providers::apply(&config.grants_config(), &builtins);
    let mut stdout = std::io::stdout();
    match cli.command {
        Command::Serve(args) => serve::serve(&config, grants, &builtins, args).await,
        Command::Plugins(PluginsCommand::List { json }) => {
            plugins::list(&config, grants, json, &mut stdout)
        }
        Command::Plugins(PluginsCommand::Check { file, json }) => {
            plugins::check(&config, grants, &file, json, &mut stdout)
        }
        Command::Backends(BackendsCommand::List { json }) => {
            backends::list(&config, grants, &builtins, json, &mut stdout).await
        }
        Command::Backends(BackendsCommand::Check { name, json }) => {
            backends::check(&config, grants, name.as_deref(), json, &mut stdout).await
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
