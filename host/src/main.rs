//! The `decision-matrix` binary.

use std::process::ExitCode;

use clap::Parser;
use decision_matrix::cli::{
    self, BackendsCommand, Cli, Command, ConfigCommand, PluginsCommand, backends, plugins, serve,
};
use decision_matrix::config::{Config, Loaded};
use decision_matrix::providers;

/// mimalloc rather than the system allocator: the engine makes many small, short-lived
/// allocations per backend call (prompts, answers, cells) on every worker thread, which
/// glibc's allocator serves markedly slower (BENCHMARKS.md, "Evaluation engine"). Built
/// without transparent huge pages: with them one touched byte of its arena brings in 2 MiB,
/// which put about 13 MB on the server's peak (BENCHMARKS.md, "MCP server").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match cli
        .overrides()
        .map_err(anyhow::Error::msg)
        .and_then(|overrides| Config::load(&overrides))
    {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: invalid configuration: {error:#}");
            return ExitCode::from(2);
        }
    };
    loaded.config.logging.init();
    if !matches!(cli.command, Command::Config(_)) {
        for (variable, reason) in &loaded.without_effect {
            tracing::warn!("{variable} is set but has no effect here: {reason}");
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli.command, loaded)) {
        Ok(code) => ExitCode::from(code as u8),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(command: Command, loaded: Loaded) -> anyhow::Result<i32> {
    let config = &loaded.config;
    let builtins = providers::from_process().await?;
    let grants = providers::apply(&config.grants_config(), &builtins);
    let mut stdout = std::io::stdout();
    match command {
        Command::Serve(_) => serve::serve(config, grants, &builtins).await,
        Command::Evaluate {
            file, json, store, ..
        } => {
            let config = cli::evaluate::with_default_store(config, store.is_some());
            cli::evaluate::evaluate(&config, grants, &builtins, &file, json, &mut stdout).await
        }
        Command::Config(ConfigCommand::Show { json }) => {
            cli::config::show(&loaded, &builtins, json, &mut stdout)
        }
        Command::Plugins(PluginsCommand::List { json }) => {
            plugins::list(config, grants, json, &mut stdout)
        }
        Command::Plugins(PluginsCommand::Check { file, json }) => {
            plugins::check(config, grants, &file, json, &mut stdout)
        }
        Command::Backends(BackendsCommand::List { json }) => {
            backends::list(config, grants, &builtins, json, &mut stdout).await
        }
        Command::Backends(BackendsCommand::Check { name, json }) => {
            backends::check(config, grants, name.as_deref(), json, &mut stdout).await
        }
    }
}
