//! Editing a session: options and criteria added, changed and removed, manual scores, the
//! scoring strategy. Each edit is validated in full before the session changes.

use time::OffsetDateTime;

use crate::domain::Score;

use super::super::error::ToolError;
use super::super::format;
use super::super::params::{
    AddCriterionArgs, AddOptionArgs, RemoveCriterionArgs, RemoveOptionArgs, SetScoreArgs,
    StrategyArgs, UpdateCriterionArgs, UpdateOptionArgs,
};
use super::super::results::{
    CriterionAdded, CriterionRemoved, CriterionUpdated, ManualStatus, OptionAdded, OptionRemoved,
    OptionUpdated, ScoreSet, StrategySet,
};
use super::super::scope::Scoped;
use super::super::service::ToolResult;
use super::{criterion_names, option_names, steps};

impl Scoped<'_> {
    /// `add_criterion`.
    pub async fn add_criterion(&self, args: AddCriterionArgs) -> ToolResult<CriterionAdded> {
        self.change(&args.session_id, |session| {
            let spec = args.spec_in(session.defaults.temperature);
            let backends = spec
                .backend
                .iter()
                .chain(spec.judges.iter().map(|j| &j.backend));
            for backend in backends {
                self.check_backend(backend)?;
            }
            session.add_criterion(spec, &self.limits)?;
            let all_criteria = criterion_names(session);
            Ok(CriterionAdded {
                session_id: session.id.clone(),
                criterion_added: args.name.clone(),
                description: args.description.clone(),
                weight: args.weight,
                total_criteria: all_criteria.len(),
                all_criteria,
                message: format!(
                    "Added criterion '{}' with weight {}x",
                    args.name,
                    format::py_float(args.weight)
                ),
                formatted_output: format::criterion_added(session, &args.name),
            })
        })
        .await
    }

    /// `add_option`.
    pub async fn add_option(&self, args: AddOptionArgs) -> ToolResult<OptionAdded> {
        self.change(&args.session_id, |session| {
            session.add_option(
                args.option_name.clone(),
                args.description.clone(),
                &self.limits,
            )?;
            let all_options = option_names(session);
            Ok(OptionAdded {
                session_id: session.id.clone(),
                option_added: args.option_name.clone(),
                description: args.description.clone(),
                total_options: all_options.len(),
                all_options,
                message: format!("Added option '{}'", args.option_name),
                next_steps: steps(&["evaluate_options - Re-run evaluation to include new option"]),
                formatted_output: format::option_added(session, &args.option_name),
            })
        })
        .await
    }

    /// `update_option`: rename or re-describe; the option's cells become outdated.
    pub async fn update_option(&self, args: UpdateOptionArgs) -> ToolResult<OptionUpdated> {
        let description = args.description_change();
        let name = args.new_name.clone().unwrap_or(args.option_name.clone());
        self.change(&args.session_id, |session| {
            session.update_option(
                &args.option_name,
                args.new_name.clone(),
                description.clone(),
                &self.limits,
            )?;
            Ok(OptionUpdated {
                session_id: session.id.clone(),
                option_updated: name.clone(),
                all_options: option_names(session),
                message: format!("Updated option '{name}'; its cells will be evaluated again"),
                next_steps: steps(&["evaluate_options - Score the updated option"]),
                formatted_output: format::option_added(session, &name),
            })
        })
        .await
    }

    /// `remove_option`.
    pub async fn remove_option(&self, args: RemoveOptionArgs) -> ToolResult<OptionRemoved> {
        self.change(&args.session_id, |session| {
            session.remove_option(&args.option_name, &self.limits)?;
            let all_options = option_names(session);
            Ok(OptionRemoved {
                session_id: session.id.clone(),
                option_removed: args.option_name.clone(),
                total_options: all_options.len(),
                message: format!("Removed option '{}'", args.option_name),
                formatted_output: format!(
                    "## 🗑️ Removed Option: **{}**\n\n**Remaining**: {}\n",
                    args.option_name,
                    all_options.join(", ")
                ),
                all_options,
            })
        })
        .await
    }

    /// `update_criterion`: a weight change re-ranks without re-evaluating; other changes make
    /// the criterion's cells outdated.
    pub async fn update_criterion(
        &self,
        args: UpdateCriterionArgs,
    ) -> ToolResult<CriterionUpdated> {
        let update = args.update();
        let weight_only = args.new_name.is_none()
            && args.description.is_none()
            && args.custom_prompt.is_none()
            && args.model_backend.is_none()
            && args.model_name.is_none()
            && args.temperature.is_none()
            && args.scale.is_none();
        let backend = args.model_backend.clone();
        let name = args.new_name.unwrap_or(args.name.clone());
        let message = if weight_only {
            format!("Updated criterion '{name}'; rankings use the new weight, no evaluation needed")
        } else {
            format!("Updated criterion '{name}'; its cells will be evaluated again")
        };
        self.change(&args.session_id, |session| {
            if let Some(backend) = backend.as_deref().filter(|b| !b.is_empty()) {
                self.check_backend(backend)?;
            }
            session.update_criterion(&args.name, update.clone(), &self.limits)?;
            Ok(CriterionUpdated {
                session_id: session.id.clone(),
                criterion_updated: name.clone(),
                all_criteria: criterion_names(session),
                reevaluation_needed: !weight_only,
                message: message.clone(),
                formatted_output: format::criterion_added(session, &name),
            })
        })
        .await
    }

    /// `remove_criterion`.
    pub async fn remove_criterion(
        &self,
        args: RemoveCriterionArgs,
    ) -> ToolResult<CriterionRemoved> {
        self.change(&args.session_id, |session| {
            session.remove_criterion(&args.name)?;
            let all_criteria = criterion_names(session);
            Ok(CriterionRemoved {
                session_id: session.id.clone(),
                criterion_removed: args.name.clone(),
                total_criteria: all_criteria.len(),
                message: format!("Removed criterion '{}'", args.name),
                formatted_output: format!(
                    "## 🗑️ Removed Criterion: **{}**\n\n**Remaining**: {}\n",
                    args.name,
                    all_criteria.join(", ")
                ),
                all_criteria,
            })
        })
        .await
    }

    /// `set_score`: a manual score, kept by every later evaluation; `score: null` clears it.
    pub async fn set_score(&self, args: SetScoreArgs) -> ToolResult<ScoreSet> {
        let score = args
            .score
            .map(|s| {
                Score::new(s).map_err(|_| {
                    ToolError::invalid(
                        "Invalid score",
                        format!("Invalid score: must be between 1 and 10, got {s}"),
                    )
                })
            })
            .transpose()?;
        let now = OffsetDateTime::now_utc();
        let session_id = self
            .change(&args.session_id, |session| {
                session.set_manual(
                    &args.option_name,
                    &args.criterion_name,
                    score,
                    args.justification.clone(),
                    &self.limits,
                    now,
                )?;
                Ok(session.id.clone())
            })
            .await?;
        let message = match score {
            Some(score) => format!(
                "Set {} on {} to {} by hand; evaluations keep it",
                args.option_name,
                args.criterion_name,
                format::py_float(score.get())
            ),
            None => format!(
                "Cleared the manual score of {} on {}; the next evaluation scores it",
                args.option_name, args.criterion_name
            ),
        };
        Ok(ScoreSet {
            session_id,
            option: args.option_name,
            criterion: args.criterion_name,
            score: score.map(Score::get),
            status: if score.is_some() {
                ManualStatus::Manual
            } else {
                ManualStatus::Missing
            },
            formatted_output: format!("## ✍️ {message}\n"),
            message,
        })
    }

    /// `set_strategy`: ranks the session with another scoring strategy from now on.
    pub async fn set_strategy(&self, args: StrategyArgs) -> ToolResult<StrategySet> {
        self.change(&args.session_id, |session| {
            self.check_strategy(&args.strategy)?;
            session.strategy = args.strategy.clone();
            Ok(StrategySet {
                session_id: session.id.clone(),
                strategy: args.strategy.clone(),
                message: format!(
                    "Rankings now use the '{}' strategy; scores are unchanged",
                    args.strategy
                ),
                formatted_output: format!("## ⚙️ Strategy: **{}**\n", args.strategy),
            })
        })
        .await
    }
}
