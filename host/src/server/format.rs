//! `formatted_output`: the markdown every tool result carries for people, laid out as the
//! reference server's "progressive" formatter lays it out, without its wrong statistics keys
//! and wrong expiry hint. The tools whose result is the session itself are formatted by
//! `decision_matrix_core::format`, re-exported here.

use std::fmt::Write as _;

pub use decision_matrix_core::format::{
    criterion_added, option_added, py_float, session_created, session_summary,
};

use crate::analysis::Analysis;
use crate::domain::Session;
use crate::evaluation::EvaluationReport;

use super::confidence::{Assessed, OptionOdds};
use super::results::{EvaluationSummary, RankAcceptability, SessionStatus, SessionSummary};
use super::sessions::SessionStats;
use crate::telemetry::{Snapshot, Status};

/// `evaluate_options`.
pub fn evaluation_complete(
    session: &Session,
    summary: &EvaluationSummary,
    report: &EvaluationReport,
) -> String {
    let title = if report.cancelled {
        "# ⏹️ Evaluation Cancelled"
    } else {
        "# ✨ Evaluation Complete!"
    };
    let mut out = format!(
        "{title}\n\n- **Options**: {}\n- **Criteria**: {}\n- **Cells computed**: {} ({} already up to date)\n- **LLM calls**: {} ({} answered from cache)\n\n### 🎯 Results Breakdown (of {} cells)\n- ✅ Scored: {}\n- 🤔 Abstained: {}\n- ❌ Failed: {}\n",
        session.options().len(),
        session.criteria().len(),
        summary.cells_computed,
        summary.cells_reused,
        report.calls,
        report.cache_hits,
        summary.total_evaluations,
        summary.successful_scores,
        summary.abstentions,
        summary.errors
    );
    if !report.failures.is_empty() {
        out.push_str("\n**Failures** (evaluated again by the next `evaluate_options`):\n");
        for failure in report.failures.iter().take(5) {
            let _ = writeln!(out, "- {failure}");
        }
        if report.failures.len() > 5 {
            let _ = writeln!(out, "- …and {} more", report.failures.len() - 5);
        }
    }
    out.push_str("\n## 🎬 Next Step\nSee the results with `get_decision_matrix`\n");
    out
}

/// `get_decision_matrix` of a session that lacks options or criteria: the issue, then the
/// steps still to take (the reference server's list has nulls for the steps already done).
pub fn insufficient_data(error: &str, next_steps: &[Option<String>]) -> String {
    let mut out = format!("## ❌ Error Encountered\n\n**Issue**: {error}\n\n**Next steps**:\n");
    for step in next_steps.iter().flatten() {
        let _ = writeln!(out, "- {step}");
    }
    out
}

const MEDALS: [&str; 10] = ["🥇", "🥈", "🥉", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟"];

/// `get_decision_matrix`.
pub fn decision_matrix(
    session: &Session,
    analysis: &Analysis,
    confidence: Option<&Assessed>,
) -> String {
    let mut out = format!(
        "# 🎯 Decision Matrix: {}\n\n## 🏆 Rankings & Recommendations\n\n",
        session.topic
    );
    if let Some(first) = analysis.ranking.first() {
        let _ = writeln!(
            out,
            "### 🥇 **Winner: {}**\n**Score**: {:.1} points\n",
            session.options()[first.option].name,
            first.total
        );
    }
    let recommendation = confidence.map_or_else(
        || analysis.recommendation.clone(),
        |c| c.recommendation(&analysis.recommendation),
    );
    let _ = writeln!(out, "{recommendation}\n\n---\n\n## 📊 Complete Rankings");
    let best = analysis
        .ranking
        .iter()
        .map(|r| r.total)
        .fold(0.0_f64, f64::max);
    for (i, ranked) in analysis.ranking.iter().enumerate() {
        let medal = MEDALS
            .get(ranked.rank.saturating_sub(1) as usize)
            .map_or_else(|| format!("{}.", ranked.rank), |m| (*m).to_owned());
        let filled = if best > 0.0 {
            ((ranked.total / best) * 20.0).round() as usize
        } else {
            0
        };
        let bar: String = "█".repeat(filled.min(20)) + &"░".repeat(20 - filled.min(20));
        let option = &session.options()[ranked.option];
        let _ = writeln!(
            out,
            "{medal} **{}** - {:.1} pts [{bar}]",
            option.name, ranked.total
        );
        if i < 3 {
            out.push_str("```\n");
            for criterion in session.criteria() {
                if let Some(score) = session
                    .cell(option.id, criterion.id)
                    .and_then(|cell| cell.status.score())
                {
                    let _ = writeln!(
                        out,
                        "{}: {} x {} = {:.1}",
                        criterion.name,
                        py_float(score.shown()),
                        py_float(criterion.weight),
                        score.get() * criterion.weight
                    );
                }
            }
            out.push_str("```\n");
        }
    }
    if let Some(confidence) = confidence {
        confidence_section(&mut out, session, confidence);
    }
    out.push_str("\n## ⚖️ Criteria Weights\n");
    for criterion in session.criteria() {
        let _ = writeln!(
            out,
            "- **{}**: {}x",
            criterion.name,
            py_float(criterion.weight)
        );
    }
    let _ = write!(
        out,
        "\n*Strategy: {} · Session: `{}`*\n",
        analysis.strategy, session.id
    );
    out
}

/// The matrix's confidence: the verdict, each option's chance of being best and where it may
/// rank, the judges' agreement and how much evidence there is.
fn confidence_section(out: &mut String, session: &Session, assessed: &Assessed) {
    let report = &assessed.report;
    let _ = writeln!(out, "\n## 🎲 Confidence\n\n{}\n", report.verdict);
    out.push_str("| option | probability of being best | rank could be |\n|---|---|---|\n");
    let mut rows: Vec<(&str, &OptionOdds)> = session
        .options()
        .iter()
        .map(|o| o.name.as_str())
        .zip(&assessed.odds)
        .collect();
    rows.sort_by(|a, b| b.1.probability_best.total_cmp(&a.1.probability_best));
    for (name, odds) in rows {
        let ranks = match odds.rank_interval {
            Some([low, high]) if low == high => low.to_string(),
            Some([low, high]) => format!("{low}–{high}"),
            None => "-".to_owned(),
        };
        let _ = writeln!(out, "| {name} | {:.2} | {ranks} |", odds.probability_best);
    }
    let agreement = &report.agreement;
    let alpha = agreement
        .alpha
        .map_or_else(|| "not measured yet".to_owned(), |a| format!("{a:.2}"));
    let samples = &report.samples;
    let _ = writeln!(
        out,
        "\n- **Judges' agreement** (Krippendorff's alpha): {alpha} ({})\n- **Judgments**: {} over \
         the cells ({} to {} per cell), {} backend calls\n- **Noise of one judgment**: {:.2} \
         points ({})",
        agreement.reading,
        samples.judgments,
        samples.min_per_cell,
        samples.max_per_cell,
        samples.calls,
        report.noise.within_sd,
        if report.noise.measured {
            "measured from replicates"
        } else {
            "assumed until cells are judged again"
        }
    );
    for advice in agreement.criteria.iter().filter_map(|c| c.advice.as_ref()) {
        let _ = writeln!(out, "- ⚠️ {advice}");
    }
}

/// `list_sessions`.
pub fn sessions_list(
    sessions: &[SessionSummary],
    total: usize,
    has_more: bool,
    stats: &SessionStats,
) -> String {
    if sessions.is_empty() {
        return "## 📭 No Active Sessions\n\nStart one with `start_decision_analysis`.\n"
            .to_owned();
    }
    let mut out = format!("# 📋 Active Decision Sessions ({total})\n\n");
    if has_more {
        let _ = writeln!(
            out,
            "_{} shown here; pass `next_cursor` as `cursor` for the next page._\n",
            sessions.len()
        );
    }
    for session in sessions {
        let evaluated = session.status == SessionStatus::Evaluated;
        let _ = writeln!(
            out,
            "## {} {}\n`{}`\n",
            if evaluated { "✅" } else { "🔄" },
            session.topic,
            session.session_id
        );
    }
    let _ = write!(
        out,
        "### 📊 Session Stats\n- Created: {}\n- Expired: {}\n- Evicted: {}\n- Removed in total: {}\n",
        stats.sessions_created,
        stats.sessions_expired,
        stats.sessions_evicted,
        stats.sessions_cleaned
    );
    out
}

/// `analyze_sensitivity`.
pub fn sensitivity(
    session: &Session,
    analysis: &Analysis,
    acceptability: Option<&[RankAcceptability]>,
) -> String {
    let mut out = format!("# 🔬 Sensitivity: {}\n\n", session.topic);
    if analysis.sensitivity.is_empty() {
        out.push_str("Nothing is scored yet: run `evaluate_options` first.\n");
        return out;
    }
    out.push_str("| criterion | weight | winner changes at | change |\n|---|---|---|---|\n");
    for (criterion, change) in session.criteria().iter().zip(&analysis.sensitivity) {
        match change {
            Some(change) => {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.2} ({} wins) | {:+.2} |",
                    criterion.name,
                    py_float(criterion.weight),
                    change.threshold,
                    session
                        .options()
                        .get(change.new_winner)
                        .map_or("?", |o| o.name.as_str()),
                    change.delta
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "| {} | {} | no allowed weight | - |",
                    criterion.name,
                    py_float(criterion.weight)
                );
            }
        }
    }
    if let Some(options) = acceptability {
        rank_acceptability(&mut out, options);
    }
    out
}

/// Where each option may rank over the weight ranges given: the share of draws per rank.
fn rank_acceptability(out: &mut String, options: &[RankAcceptability]) {
    out.push_str(
        "\n## 🎲 Rank acceptability\n\nShare of weight draws in the ranges given (scores as \
         uncertain as the judgments say) in which each option takes each rank.\n\n| option |",
    );
    let ranks = options.first().map_or(0, |o| o.rank_shares.len());
    for rank in 1..=ranks {
        let _ = write!(out, " rank {rank} |");
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(ranks));
    out.push('\n');
    for option in options {
        let _ = write!(out, "| {} |", option.option);
        for share in &option.rank_shares {
            let _ = write!(out, " {:.0} % |", share * 100.0);
        }
        out.push('\n');
    }
}

/// A latency in milliseconds, or a dash when nothing was measured.
fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1}"))
}

/// `server_stats`.
pub fn server_stats(snapshot: &Snapshot) -> String {
    let health = &snapshot.health;
    let mut out = match health.status {
        Status::Ok => "# 📈 Server Stats: ✅ ok\n\n".to_owned(),
        Status::Degraded => {
            let mut out = "# 📈 Server Stats: ⚠️ degraded\n\n".to_owned();
            for reason in &health.reasons {
                let _ = writeln!(out, "- {reason}");
            }
            out.push('\n');
            out
        }
    };
    let window = &snapshot.window;
    let _ = writeln!(
        out,
        "**Version**: {} · **Uptime**: {:.0} s\n\n## Last {} s\n- Tool calls: {} ({:.1}/min), errors: {} ({:.1} %), refused for invalid input: {}\n- Evaluations: {}, p95: {}\n",
        snapshot.version,
        snapshot.uptime_seconds,
        window.seconds,
        window.calls,
        window.calls_per_minute,
        window.errors,
        window.error_rate * 100.0,
        window.client_errors,
        window.evaluations,
        window
            .evaluation_p95_seconds
            .map_or_else(|| "-".to_owned(), |s| format!("{s:.2} s")),
    );
    let sessions = &snapshot.sessions;
    let _ = writeln!(
        out,
        "## Capacity\n- Sessions: {} of {}\n- Cells waiting or running: {}\n- Plugin instances: {} of {} ({} backends, {} strategies)\n- Memory: {}{}\n",
        sessions
            .active
            .map_or_else(|| "?".to_owned(), |n| n.to_string()),
        sessions.max,
        snapshot.evaluation_queue_depth,
        snapshot.plugins.instances,
        snapshot.plugins.instance_capacity,
        snapshot.plugins.backends,
        snapshot.plugins.strategies,
        snapshot
            .memory
            .used_percent
            .map_or_else(|| "?".to_owned(), |p| format!("{p:.1} % used")),
        snapshot
            .memory
            .resident_bytes
            .map_or_else(String::new, |b| format!(
                ", this process {:.1} MiB",
                b as f64 / 1_048_576.0
            )),
    );
    if !snapshot.tools.is_empty() {
        out.push_str("## Tools (since start)\n| tool | calls | errors | invalid input | p50 ms | p90 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|---|---|\n");
        for tool in &snapshot.tools {
            let l = &tool.latency;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                tool.name,
                tool.calls,
                tool.errors,
                tool.client_errors,
                ms(l.p50_ms),
                ms(l.p90_ms),
                ms(l.p95_ms),
                ms(l.p99_ms)
            );
        }
        out.push('\n');
    }
    if !snapshot.backends.is_empty() {
        out.push_str("## Backends (since start)\n| backend | circuit | calls | errors | retries | rate-limit waits | tokens in/out | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|---|---|---|---|\n");
        for b in &snapshot.backends {
            let l = &b.latency;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {}/{} | {} | {} | {} |",
                b.name,
                b.circuit.unwrap_or("-"),
                b.calls,
                b.errors,
                b.retries,
                b.rate_limit_waits,
                b.input_tokens,
                b.output_tokens,
                ms(l.p50_ms),
                ms(l.p95_ms),
                ms(l.p99_ms)
            );
        }
    }
    out
}
