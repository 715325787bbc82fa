//! The `decision-matrix` binary.
//!
//! It uses the system allocator. mimalloc served the evaluation engine's allocations about
//! 0.3 µs per cell faster, but kept about 3 MB more resident at the server's four-client
//! peak (BENCHMARKS.md, "MCP server"); a cell waits tens of milliseconds for its model.

use std::process::ExitCode;

use clap::Parser;
use decision_matrix::cli::{
    self, BackendsCommand, Cli, Command, ConfigCommand, PluginsCommand, backends, plugins, serve,
};
use decision_matrix::config::{self, Loaded};
use decision_matrix::providers;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match cli
        .overrides()
        .map_err(anyhow::Error::msg)
        .and_then(|overrides| config::load(&overrides))
    {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: invalid configuration: {error:#}");
            return ExitCode::from(2);
        }
    };
    decision_matrix::logging::init(&loaded.config.logging);
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
    let derived = providers::from_process(config.plugins.plugins_dir().as_deref()).await?;
    let grants = providers::apply(&config.grants_config(), &derived);
    let mut stdout = std::io::stdout();
    match command {
        Command::Serve(_) => serve::serve(config, grants, &derived).await,
        Command::Evaluate {
            file,
            json,
            report,
            store,
            steering,
        } => {
            let config = cli::evaluate::with_default_store(config, store.is_some());
            let run = cli::evaluate::Run {
                file: &file,
                json,
                report: report.as_deref(),
                steering,
            };
            cli::evaluate::evaluate(&config, grants, &derived, run, &mut stdout).await
        }
        Command::Config(ConfigCommand::Show { json }) => {
            config::show::render(&loaded, &derived, json, &mut stdout)
        }
        Command::Plugins(PluginsCommand::List { json }) => {
            plugins::list(config, grants, json, &mut stdout)
        }
        Command::Plugins(PluginsCommand::Check { file, json }) => {
            plugins::check(config, grants, &file, json, &mut stdout)
        }
        Command::Backends(BackendsCommand::List { json }) => {
            backends::list(config, grants, &derived, json, &mut stdout).await
        }
        Command::Backends(BackendsCommand::Check { name, json }) => {
            backends::check(config, grants, &derived, name.as_deref(), json, &mut stdout).await
        }
    }
}
