//! The `confidence` of a matrix: what the judgments the cells keep say about which option is
//! best and how sure that is, in the words and numbers a result shows.
//!
//! The numbers come from `decision_matrix_core::confidence` (the module docs there say how
//! they are computed and how to read them); this module reads the session, seeds the Monte
//! Carlo from it (so a session reads the same on every call) and words the verdict.

use decision_matrix_core::confidence::acceptability::{
    AcceptabilityError, AcceptabilitySettings, WeightRange, rank_acceptability,
};
use decision_matrix_core::confidence::alpha::interval_alpha;
use decision_matrix_core::confidence::assess::{Assessment, Settings};
use decision_matrix_core::confidence::session::SessionEvidence;
use decision_matrix_core::confidence::winner::WinnerSettings;

use crate::domain::{CellStatus, Session};

use super::results::{
    Agreement, Confidence, Contender, CriterionAgreement, NoiseReport, RankAcceptability, Samples,
};

/// Alpha below which judgments are too unreliable to rank on (Krippendorff).
const UNRELIABLE: f64 = 0.667;
/// Alpha from which judgments are reliable.
const RELIABLE: f64 = 0.8;
/// The target a clear winner needs when the server makes one pass (its own target is 0).
const DEFAULT_TARGET: f64 = 0.9;

/// An option's standing, in session order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionOdds {
    /// Its probability of being best.
    pub probability_best: f64,
    /// The central 90 % of its rank.
    pub rank_interval: Option<[u32; 2]>,
}

/// A session's confidence report and each option's odds.
#[derive(Debug, Clone)]
pub struct Assessed {
    /// The report.
    pub report: Confidence,
    /// Per option, in session order.
    pub odds: Vec<OptionOdds>,
}

impl Assessed {
    /// The recommendation to show: `ranked`'s sentence when the judgments make a clear
    /// winner (or nothing is scored), else the verdict saying how far from clear it is.
    pub fn recommendation(&self, ranked: &str) -> String {
        let report = &self.report;
        if report.clear_winner || report.winner.is_none() {
            return ranked.to_owned();
        }
        report.verdict.clone()
    }
}

/// What `session`'s judgments say, with a clear winner needing `target` (0 meaning the
/// default); `None` when the session has no option or no criterion.
pub fn assess(session: &Session, target: f64) -> Option<Assessed> {
    let target = if target > 0.0 { target } else { DEFAULT_TARGET };
    let evidence = SessionEvidence::of(session)?;
    let settings = evidence.settings(Settings {
        winner: WinnerSettings {
            target,
            ..WinnerSettings::default()
        },
        ..Settings::default()
    });
    let assessment = Assessment::of(&evidence.evidence, &settings);
    let name = |o: usize| session.options()[o].name.clone();
    let verdict = &assessment.verdict;
    let odds = assessment
        .standings
        .iter()
        .map(|s| OptionOdds {
            probability_best: s.probability_best,
            rank_interval: s.rank_interval.map(|(low, high)| [low, high]),
        })
        .collect();
    let report = Confidence {
        winner: verdict.winner.map(name),
        winner_probability: verdict.winner_probability,
        clear_winner: verdict.clear_winner,
        target,
        verdict: verdict_sentence(session, &assessment, target),
        contenders: verdict
            .contenders
            .iter()
            .map(|c| Contender {
                option: name(c.option),
                probability_best: c.probability_best,
            })
            .collect(),
        agreement: agreement(session, assessment.reliability),
        samples: samples(session),
        noise: NoiseReport {
            within_sd: assessment.noise.within_sd,
            degrees_of_freedom: assessment.noise.replicate_df,
            measured: assessment.noise.replicate_df >= settings.noise_prior.weight,
            position_effect: assessment.position.per_lean,
        },
        method: "weighted-average".to_owned(),
    };
    Some(Assessed { report, odds })
}

/// Where each option of `session` may rank when criterion `c`'s weight lies anywhere in
/// `ranges[c]` and the scores are as uncertain as the judgments say: options most often
/// first come first.
pub fn acceptability(
    session: &Session,
    ranges: &[WeightRange],
) -> Result<Vec<RankAcceptability>, AcceptabilityError> {
    let Some(evidence) = SessionEvidence::of(session) else {
        return Ok(Vec::new());
    };
    let settings = evidence.settings(Settings::default());
    let assessment = Assessment::of(&evidence.evidence, &settings);
    let found = rank_acceptability(
        &assessment.cells,
        session.criteria().len(),
        ranges,
        &AcceptabilitySettings {
            seed: settings.winner.seed,
            ..AcceptabilitySettings::default()
        },
    )?;
    let mut options: Vec<RankAcceptability> = session
        .options()
        .iter()
        .enumerate()
        .map(|(o, option)| RankAcceptability {
            option: option.name.clone(),
            first: found.first(o),
            rank_shares: found.shares.get(o).cloned().unwrap_or_default(),
            central_weights: found
                .central_weights
                .get(o)
                .cloned()
                .flatten()
                .map(|weights| {
                    session
                        .criteria()
                        .iter()
                        .zip(weights)
                        .map(|(c, w)| (c.name.clone(), w))
                        .collect()
                }),
        })
        .collect();
    options.sort_by(|a, b| b.first.total_cmp(&a.first));
    Ok(options)
}

/// The verdict in a sentence: the clear winner, or the contenders and what would settle it.
fn verdict_sentence(session: &Session, assessment: &Assessment, target: f64) -> String {
    let verdict = &assessment.verdict;
    let name = |o: usize| session.options()[o].name.as_str();
    let Some(winner) = verdict.winner else {
        return "Nothing is scored yet: evaluate the options first.".to_owned();
    };
    let p = verdict.winner_probability;
    if verdict.clear_winner {
        return format!(
            "{} is the clear winner: best with probability {p:.2} (target {target}).",
            name(winner)
        );
    }
    let Some(rival) = verdict.contenders.iter().find(|c| c.option != winner) else {
        return format!(
            "{} is most likely best (probability {p:.2}), short of the {target} target: more \
             judgments would make it clear (evaluate_options again).",
            name(winner)
        );
    };
    let rivals: Vec<&str> = verdict
        .contenders
        .iter()
        .filter(|c| c.option != winner)
        .map(|c| name(c.option))
        .collect();
    let odds: Vec<String> = verdict
        .contenders
        .iter()
        .map(|c| format!("{} {:.2}", name(c.option), c.probability_best))
        .collect();
    let mut sentence = format!(
        "No clear winner: {} and {} are within the judges' disagreement (probability of being \
         best: {}).",
        name(winner),
        rivals.join(", "),
        odds.join(", ")
    );
    let settle = match least_certain(session, assessment, winner, rival.option) {
        Some(criterion) => format!(
            " To settle it: evaluate_options again for more judgments, set the score by hand \
             where you know better, or make '{criterion}' sharper (their scores on it are the \
             least certain)."
        ),
        None => " To settle it: evaluate_options again for more judgments, or set the score by \
                  hand where you know better."
            .to_owned(),
    };
    sentence.push_str(&settle);
    sentence
}

/// The criterion whose uncertain cells blur the contest of options `a` and `b` most.
fn least_certain<'a>(
    session: &'a Session,
    assessment: &Assessment,
    a: usize,
    b: usize,
) -> Option<&'a str> {
    let criteria = session.criteria();
    (0..criteria.len())
        .filter_map(|c| {
            let blur: f64 = [a, b]
                .iter()
                .filter_map(|&o| {
                    let share = assessment.totals.get(o)?.shares.get(c).copied()?;
                    let cell = assessment.cell(o, c)?;
                    Some((share * cell.standard_error).powi(2))
                })
                .sum();
            (blur > 0.0).then_some((c, blur))
        })
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .map(|(c, _)| criteria[c].name.as_str())
}

/// Alpha over every criterion and per criterion, with advice where it is low.
fn agreement(session: &Session, overall: Option<f64>) -> Agreement {
    let criteria = session
        .criteria()
        .iter()
        .map(|criterion| {
            let units: Vec<Vec<f64>> = session
                .options()
                .iter()
                .filter_map(|o| session.cell(o.id, criterion.id))
                .filter(|cell| !matches!(cell.status, CellStatus::Manual { .. }))
                .map(|cell| cell.judgments().iter().filter_map(|j| j.score()).collect())
                .collect();
            let alpha = interval_alpha(&units);
            let measured = units.iter().filter(|values| values.len() >= 2).count();
            // Replicates go to the contenders' cells, whose scores are close by design; on
            // those alone alpha reads low whatever the judges' reliability. Advice waits until
            // at least half the criterion's cells were judged twice.
            let representative = 2 * measured >= units.len().max(1);
            CriterionAgreement {
                criterion: criterion.name.clone(),
                alpha,
                cells_measured: measured,
                advice: alpha
                    .filter(|&a| a < UNRELIABLE && representative)
                    .map(|_| {
                        format!(
                            "The judges agree too little on '{}' to rank on it: reword its \
                             description, or add scale anchors saying what 1, 5 and 10 mean.",
                            criterion.name
                        )
                    }),
            }
        })
        .collect();
    let reading = match overall {
        None => "unmeasured",
        Some(a) if a >= RELIABLE => "reliable",
        Some(a) if a >= UNRELIABLE => "tentative",
        Some(_) => "unreliable",
    };
    Agreement {
        alpha: overall,
        reading: reading.to_owned(),
        criteria,
    }
}

/// How many judgments the evaluated cells keep.
fn samples(session: &Session) -> Samples {
    let counts: Vec<usize> = session
        .cells()
        .map(|(_, cell)| cell.judgments().len())
        .filter(|&n| n > 0)
        .collect();
    let judgments: usize = counts.iter().sum();
    Samples {
        calls: session.llm_calls,
        judgments,
        min_per_cell: counts.iter().copied().min().unwrap_or(0),
        max_per_cell: counts.iter().copied().max().unwrap_or(0),
        mean_per_cell: if counts.is_empty() {
            0.0
        } else {
            judgments as f64 / counts.len() as f64
        },
    }
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::domain::judgment::Verdict;
    use crate::domain::{Cell, CriterionSpec, Judgment, Limits, Score};
    use crate::plugins::builtin::session_defaults;

    /// A session deciding between options named A, B, C, ... on one criterion, "quality",
    /// each cell judged once per score given, in rounds 0, 1, ...
    fn judged(rows: &[&[f64]]) -> Session {
        let limits = Limits::default();
        let names: Vec<(String, Option<String>)> = (0..rows.len())
            .map(|o| (char::from(b'A' + o as u8).to_string(), None))
            .collect();
        let criterion = CriterionSpec {
            name: "quality".to_owned(),
            description: "how good it is".to_owned(),
            weight: 1.0,
            ..CriterionSpec::default()
        };
        let mut session = Session::new(
            "s-1".to_owned(),
            "Pick one".to_owned(),
            names,
            vec![criterion],
            session_defaults(),
            &limits,
            OffsetDateTime::UNIX_EPOCH,
        )
        .expect("a valid session");
        let c = session.criteria()[0].id;
        let ids: Vec<_> = session.options().iter().map(|o| o.id).collect();
        for (&o, scores) in ids.iter().zip(rows) {
            let basis = session.basis(o, c).expect("basis");
            let mut cell: Option<Cell> = None;
            for (round, &score) in (0u32..).zip(scores.iter()) {
                let judgment = Judgment {
                    verdict: Verdict::Scored {
                        score: Score::new(score).expect("1-10"),
                    },
                    justification: format!("round {round}"),
                    backend: "litellm".to_owned(),
                    model: Some("gpt-4o-mini".to_owned()),
                    judge: 0,
                    place: None,
                    round,
                    at: OffsetDateTime::UNIX_EPOCH,
                };
                let one = Cell::judged(judgment, None, 1, 1, basis.clone());
                match cell.as_mut() {
                    Some(cell) => cell.add_replicate(one),
                    None => cell = Some(one),
                }
            }
            if let Some(cell) = cell {
                assert!(session.record(o, c, cell));
            }
        }
        session
    }

    #[test]
    fn a_clear_winner_is_named_with_its_probability() {
        let five = [6.0, 5.0, 6.0];
        let s = judged(&[&[8.0, 7.0, 8.0], &five, &five, &five, &five, &five]);
        let assessed = assess(&s, 0.9).expect("assessed");
        let report = &assessed.report;
        assert!(report.clear_winner);
        assert_eq!(report.winner.as_deref(), Some("A"));
        assert_eq!(
            report.verdict,
            "A is the clear winner: best with probability 1.00 (target 0.9)."
        );
        assert_eq!(assessed.recommendation("A ranks first"), "A ranks first");
    }

    #[test]
    fn a_leader_without_rivals_short_of_the_target_is_most_likely_best() {
        // A leads five options that each have under a 5 % chance of being best: no rival
        // contends, yet 0.95 is short of a 0.99 target.
        let five = [6.0, 5.0];
        let s = judged(&[&[8.0, 7.0], &five, &five, &five, &five, &five]);
        let assessed = assess(&s, 0.99).expect("assessed");
        let report = &assessed.report;
        assert!(!report.clear_winner);
        assert_eq!(report.contenders.len(), 1, "{:?}", report.contenders);
        assert_eq!(
            report.verdict,
            "A is most likely best (probability 0.95), short of the 0.99 target: more \
             judgments would make it clear (evaluate_options again)."
        );
        assert_eq!(assessed.recommendation("A ranks first"), report.verdict);
    }

    #[test]
    fn close_options_are_no_clear_winner_and_the_blurring_criterion_is_named() {
        let s = judged(&[&[7.0, 6.0, 7.0], &[6.0, 7.0, 6.0], &[2.0, 3.0, 2.0]]);
        let assessed = assess(&s, 0.9).expect("assessed");
        let report = &assessed.report;
        assert!(!report.clear_winner);
        let verdict = &report.verdict;
        assert!(
            verdict.starts_with(
                "No clear winner: A and B are within the judges' disagreement (probability of \
                 being best: A 0."
            ),
            "{verdict}"
        );
        assert!(
            verdict.ends_with(
                "To settle it: evaluate_options again for more judgments, set the score by \
                 hand where you know better, or make 'quality' sharper (their scores on it \
                 are the least certain)."
            ),
            "{verdict}"
        );
        assert_eq!(assessed.recommendation("A ranks first"), *verdict);
    }

    #[test]
    fn nothing_scored_says_so_and_keeps_the_ranking_sentence() {
        let s = judged(&[&[], &[]]);
        let assessed = assess(&s, 0.9).expect("assessed");
        assert_eq!(assessed.report.winner, None);
        assert_eq!(
            assessed.report.verdict,
            "Nothing is scored yet: evaluate the options first."
        );
        assert_eq!(assessed.recommendation("No scores yet"), "No scores yet");
    }
}
