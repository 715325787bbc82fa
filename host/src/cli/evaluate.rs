//! `decision-matrix evaluate FILE`: runs a decision described in a file through the same
//! tools an MCP client uses, with a progress bar on a terminal, and prints the ranked table
//! (or JSON with `--json`).
//!
//! Exit codes: 0 when every cell was scored, 1 when some failed or the run was interrupted
//! (the table still shows what was scored, and the failures are listed), 2 when the file or
//! the configuration is invalid.

use std::io::{IsTerminal as _, Write};
use std::path::Path;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::Steering;
use super::decision_file::DecisionFile;
use super::engine::Engine;
use crate::config::Config;
use crate::plugins::grants::GrantsConfig;
use crate::providers::DerivedBackend;
use crate::report;
use crate::server::Update;
use crate::server::error::ToolError;
use crate::server::params::{
    AddCriterionArgs, EvaluateArgs, SessionArgs, StartArgs, UpdateOptionArgs,
};
use crate::server::results::{DecisionMatrix, Evaluated, MatrixResult};
use crate::server::scope::{Scope, Scoped};
use crate::server::tools::evaluation::Mode;

/// The client name of `decision-matrix evaluate` in session scopes.
const CLI_CLIENT: &str = "decision-matrix-cli";

/// The configuration `evaluate` runs with: the memory store unless `--store` named one
/// (`store_given`). A one-shot run must not leave sessions in the user's data directory (nor,
/// with `DMM_STORE` set for a server, in a store other instances serve).
pub fn with_default_store(config: &Config, store_given: bool) -> Config {
    let mut config = config.clone();
    if !store_given {
        config.sessions.store = Some("memory".to_owned());
    }
    config
}

/// What `decision-matrix evaluate` was asked to run.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// The decision file.
    pub file: &'a Path,
    /// JSON instead of a table.
    pub json: bool,
    /// Where to write the report, if anywhere.
    pub report: Option<&'a Path>,
    /// How far to go beyond one judgment per cell.
    pub steering: Steering,
}

/// Runs the decision in `run.file`; returns the exit code.
pub async fn evaluate(
    config: &Config,
    grants: GrantsConfig,
    backends: &[DerivedBackend],
    run: Run<'_>,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    let Run {
        file,
        json,
        report,
        steering,
    } = run;
    let steer = |session_id: String| EvaluateArgs {
        session_id,
        force: false,
        confidence_target: steering.confidence_target,
        max_calls: steering.max_calls,
        replicates: steering.replicates,
    };
    // Bad flags are a usage error, found before anything starts.
    if let Err(error) = Mode::of(&steer(String::new()), 0.9) {
        eprintln!("error: {}", error.error);
        return Ok(2);
    }
    let decision = DecisionFile::read(file)?;
    let engine = Engine::start(config, grants, backends).await?;
    // The command line is a client of its own: its sessions are apart from MCP clients'.
    let scope = Scope::of(engine.decisions.scope_rule(), Some(CLI_CLIENT), None);
    let decisions = &engine.decisions.scoped(scope);
    let session_id = match set_up(decisions, &decision).await {
        Ok(id) => id,
        Err(error) => {
            eprintln!("error: in {}: {}", file.display(), error.error);
            return Ok(2);
        }
    };

    let bar = progress_bar(json);
    let interrupted = CancellationToken::new();
    let on_interrupt = tokio::spawn({
        let interrupted = interrupted.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.cancel();
            }
        }
    });
    let mut progress = |update: Update| match update {
        Update::Waiting => bar.set_message("waiting for another evaluation of this session"),
        Update::Cells { done, planned } => {
            bar.set_message("");
            bar.set_length(planned as u64);
            bar.set_position(done as u64);
        }
    };
    let evaluation = decisions
        .evaluate(steer(session_id.clone()), interrupted, &mut progress)
        .await;
    on_interrupt.abort();
    bar.finish_and_clear();
    let evaluation = match evaluation {
        Ok(evaluation) => evaluation,
        Err(error) => {
            eprintln!("error: {}", error.error);
            return Ok(1);
        }
    };
    let matrix = match decisions
        .matrix(SessionArgs {
            session_id: session_id.clone(),
        })
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.error))?
    {
        MatrixResult::Ranked(ranked) => ranked.matrix,
        MatrixResult::Insufficient(lacking) => anyhow::bail!("{}", lacking.error),
    };
    if let Some(path) = report {
        write_report(path, &matrix)?;
    }

    if json {
        let document = json!({
            "evaluation": without_markdown(&evaluation)?,
            "matrix": matrix,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
    } else {
        write_table(&decision, &evaluation, &matrix, out)?;
    }
    Ok(if evaluation.evaluation_complete { 0 } else { 1 })
}

/// `matrix` written to `path`: the standalone HTML report, or the SVG chart for a `.svg`.
fn write_report(path: &Path, matrix: &DecisionMatrix) -> anyhow::Result<()> {
    let svg = path
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("svg"));
    let content = if svg {
        report::svg::chart(matrix)
    } else {
        report::view::standalone(matrix)
    };
    std::fs::write(path, content)
        .with_context(|| format!("writing the report to {}", path.display()))
}

/// Creates the session, describes its options and adds its criteria; returns its id.
async fn set_up(decisions: &Scoped<'_>, decision: &DecisionFile) -> Result<String, ToolError> {
    let started = decisions
        .start(StartArgs {
            topic: decision.topic.clone(),
            options: decision
                .options
                .iter()
                .map(|o| o.name().to_owned())
                .collect(),
            initial_criteria: None,
            model_backend: decision.backend.clone(),
            model_name: decision.model.clone(),
            temperature: decision.temperature.unwrap_or(0.1),
            strategy: decision.strategy.clone(),
            judges: decision.judges.clone(),
        })
        .await?;
    let session_id = started.session_id;
    for option in &decision.options {
        if let Some(description) = option.description() {
            decisions
                .update_option(UpdateOptionArgs {
                    session_id: session_id.clone(),
                    option_name: option.name().to_owned(),
                    new_name: None,
                    description: Some(description.to_owned()),
                })
                .await?;
        }
    }
    for criterion in &decision.criteria {
        decisions
            .add_criterion(AddCriterionArgs {
                session_id: session_id.clone(),
                name: criterion.name.clone(),
                description: criterion.description.clone(),
                weight: criterion.weight,
                custom_prompt: criterion.custom_prompt.clone(),
                model_backend: criterion.backend.clone(),
                model_name: criterion.model.clone(),
                temperature: criterion.temperature,
                scale: criterion.scale.clone(),
                judges: criterion.judges.clone(),
            })
            .await?;
    }
    Ok(session_id)
}

/// A bar on stderr when it is a terminal and stdout is not taken by JSON; hidden otherwise.
fn progress_bar(json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} scoring {bar:30} {pos}/{len} cells {elapsed} {msg}")
    {
        bar.set_style(style);
    }
    bar
}

/// The evaluation's result without its markdown rendering: the JSON output is for programs.
fn without_markdown(evaluation: &Evaluated) -> serde_json::Result<Value> {
    let mut value = serde_json::to_value(evaluation)?;
    if let Some(object) = value.as_object_mut() {
        object.shift_remove("formatted_output");
    }
    Ok(value)
}

/// The ranked options with each criterion's score, the recommendation and any failures.
fn write_table(
    decision: &DecisionFile,
    evaluation: &Evaluated,
    matrix: &DecisionMatrix,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let criteria: Vec<String> = decision
        .criteria
        .iter()
        .map(|c| format!("{} ×{}", c.name, c.weight))
        .collect();
    let mut rows = vec![
        ["#", "option", "total", "P(best)", "ranks"]
            .into_iter()
            .map(str::to_owned)
            .chain(criteria.iter().cloned())
            .collect::<Vec<_>>(),
    ];
    for ranking in &matrix.rankings {
        let ranked = &ranking.ranked;
        let mut row = vec![
            ranked.rank.to_string(),
            ranked.option.clone(),
            format!("{:.2}", ranked.weighted_total),
            ranked
                .probability_best
                .map_or_else(|| "-".to_owned(), |p| format!("{p:.2}")),
            match ranked.rank_interval {
                Some([low, high]) if low == high => low.to_string(),
                Some([low, high]) => format!("{low}-{high}"),
                None => "-".to_owned(),
            },
        ];
        let cells = matrix.matrix.get(&ranked.option);
        for criterion in &decision.criteria {
            row.push(match cells.and_then(|row| row.get(&criterion.name)) {
                // A mean of several judgments has decimals; one judgment prints as given.
                Some(cell) => match cell.raw_score {
                    Some(score) if cell.samples > 1 => format!("{score:.1}"),
                    Some(score) => format!("{score}"),
                    None => cell.status.clone(),
                },
                None => "-".to_owned(),
            });
        }
        rows.push(row);
    }
    writeln!(out, "{}\n", decision.topic)?;
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    writeln!(out, "\n{}", matrix.recommendation)?;
    if let Some(confidence) = &matrix.confidence {
        if confidence.verdict != matrix.recommendation {
            writeln!(out, "{}", confidence.verdict)?;
        }
        let samples = &confidence.samples;
        let agreement = confidence
            .agreement
            .alpha
            .map_or_else(|| "not measured".to_owned(), |a| format!("alpha {a:.2}"));
        writeln!(
            out,
            "{} judgments from {} calls ({} to {} per cell); judges' agreement: {agreement} ({})",
            samples.judgments,
            samples.calls,
            samples.min_per_cell,
            samples.max_per_cell,
            confidence.agreement.reading
        )?;
    }
    if !evaluation.evaluation_complete {
        writeln!(out, "\n{}", evaluation.message)?;
    }
    for error in evaluation.errors.iter().flatten() {
        writeln!(out, "  failed: {error}")?;
    }
    Ok(())
}
