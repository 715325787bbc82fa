//! `formatted_output` of the tools whose result is the session itself (`start_decision_analysis`,
//! `add_criterion`, `add_option`, `current_session`), laid out as the reference server's
//! "progressive" formatter lays it out. The host's `server::format` has the rest, which needs
//! evaluation reports, analyses and server statistics.

use std::fmt::Write as _;

use crate::domain::Session;

/// A float as Python prints it (`2.0`, `0.5`): the reference server's messages do.
pub fn py_float(x: f64) -> String {
    if x.fract() == 0.0 && x.is_finite() {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// `start_decision_analysis`.
pub fn session_created(session: &Session) -> String {
    let mut out = format!(
        "# 🎯 Decision Analysis Session Created\n\n**Topic**: {}\n**Session ID**: `{}`\n\n## 📊 Options to Evaluate\n",
        session.topic, session.id
    );
    for (i, option) in session.options().iter().enumerate() {
        let _ = writeln!(out, "{}. **{}**", i + 1, option.name);
    }
    if !session.criteria().is_empty() {
        out.push_str("\n## ⚖️ Initial Criteria\n");
        for criterion in session.criteria() {
            let _ = writeln!(
                out,
                "- **{}** (weight: {}x)",
                criterion.name,
                py_float(criterion.weight)
            );
        }
    }
    out.push_str(
        "\n## 🎬 Next Steps\n1. Add criteria with `add_criterion`\n2. Run `evaluate_options`\n3. See results with `get_decision_matrix`\n",
    );
    let model = session.defaults.model.as_deref().unwrap_or("default model");
    let _ = write!(out, "\n*Model: {} ({model})*\n", session.defaults.backend);
    out
}

/// `add_criterion`.
pub fn criterion_added(session: &Session, name: &str) -> String {
    let Some(criterion) = session.criteria().iter().find(|c| c.name == name) else {
        return String::new();
    };
    let mut out = format!(
        "## ✅ Added Criterion: **{}**\n\n{}\n\n**Weight**: {}x importance\n\n### 📈 Progress: {} criteria defined\n\n**All criteria**:\n",
        criterion.name,
        criterion.description,
        py_float(criterion.weight),
        session.criteria().len()
    );
    push_criteria(&mut out, session);
    out.push_str("\n💡 **Ready to evaluate** with `evaluate_options`\n");
    out
}

/// `add_option`.
pub fn option_added(session: &Session, name: &str) -> String {
    let mut out = format!("## ✅ Added Option: **{name}**\n\n");
    if let Some(description) = session
        .options()
        .iter()
        .find(|o| o.name == name)
        .and_then(|o| o.description.as_deref())
    {
        let _ = writeln!(out, "*{description}*\n");
    }
    let _ = writeln!(
        out,
        "**Total options**: {}\n\n### 📋 All Options",
        session.options().len()
    );
    for (i, option) in session.options().iter().enumerate() {
        let _ = writeln!(out, "{}. {}", i + 1, option.name);
    }
    out.push_str(
        "\n⚡ **Action Required**: Re-run evaluation to score the new option (only its cells are computed)\n",
    );
    out
}

/// `current_session`.
pub fn session_summary(session: &Session) -> String {
    let mut out = format!(
        "# 📋 Current Session: {}\n\n**Session ID**: `{}`\n**Created**: {}\n**Status**: {}\n\n**Options**: ",
        session.topic,
        session.id,
        session
            .created_at
            .format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .unwrap_or_default(),
        if session.evaluations_run > 0 {
            "✅ Evaluated"
        } else {
            "⏳ Pending"
        }
    );
    let options: Vec<&str> = session.options().iter().map(|o| o.name.as_str()).collect();
    out.push_str(&options.join(", "));
    out.push_str("\n\n**Criteria**:\n");
    push_criteria(&mut out, session);
    out
}

/// One `- name (weight x)` line per criterion.
fn push_criteria(out: &mut String, session: &Session) {
    for criterion in session.criteria() {
        let _ = writeln!(
            out,
            "- {} ({}x)",
            criterion.name,
            py_float(criterion.weight)
        );
    }
}
