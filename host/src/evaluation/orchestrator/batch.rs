//! A batch: some options of one criterion asked together, attempt after attempt, until each
//! has an answer or attempts run out; answers matched to options and turned into cells.

use std::borrow::Cow;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::pipeline::CallFailure;
use super::{CellResult, Inner, RunCounters};
use crate::domain::cell::Basis;
use crate::domain::judgment::{self, Judgment, Place};
use crate::domain::{Cell, CellStatus, Score, Tokens};
use crate::evaluation::answer::{self, Verdict};
use crate::evaluation::backend::{BackendFailure, Completion, CompletionRequest};
use crate::evaluation::concurrency::SessionShare;
use crate::evaluation::plan::{CriterionWork, PlannedOption};
use crate::evaluation::prompt::{self, CriterionBrief, OptionBrief};
use crate::evaluation::resilience::retry::RetryDecision;

/// One batch: some options of one criterion, asked together until each has an answer or
/// attempts run out.
pub(super) struct Batch {
    pub(super) inner: Arc<Inner>,
    /// For the backend-call span.
    pub(super) session: Arc<str>,
    pub(super) topic: Arc<str>,
    pub(super) criterion: Arc<CriterionWork>,
    pub(super) options: Vec<PlannedOption>,
    pub(super) force: bool,
    pub(super) share: SessionShare,
    pub(super) counters: Arc<RunCounters>,
    /// Cells go out in groups (all the cells one answer settled), which saves the driver a
    /// wake-up per cell; each is still delivered as soon as its answer is read.
    pub(super) cells: mpsc::UnboundedSender<Vec<CellResult>>,
}

/// Per-option bookkeeping while a batch runs.
struct Pending {
    option: PlannedOption,
    key: Cow<'static, str>,
    attempts: u32,
    tokens: Option<Tokens>,
}

impl Batch {
    pub(super) async fn run(self) {
        let started = Instant::now();
        let mut pending: Vec<Pending> = self
            .options
            .iter()
            .zip(batch_keys(&self.options))
            .map(|(option, key)| Pending {
                option: option.clone(),
                key,
                attempts: 0,
                tokens: None,
            })
            .collect();
        let primary = (
            self.criterion.settings.backend.clone(),
            self.criterion.settings.model.clone(),
        );
        let failure = self
            .attempt_all(&primary.0, primary.1.clone(), &mut pending, started)
            .await;
        let Some(failure) = failure else {
            return;
        };
        let mut reason = failure.message();
        if let Some(fallback) = &self.inner.settings.fallback
            && failure.backend_unhealthy()
            && fallback.backend != primary.0
        {
            tracing::warn!(
                backend = %primary.0,
                fallback = %fallback.backend,
                criterion = %self.criterion.name,
                "falling back after: {reason}"
            );
            match self
                .attempt_all(
                    &fallback.backend,
                    fallback.model.clone(),
                    &mut pending,
                    started,
                )
                .await
            {
                None => return,
                Some(second) => {
                    reason = format!(
                        "{reason}; fallback {} also failed: {}",
                        fallback.backend,
                        second.message()
                    );
                }
            }
        }
        let when = Settled::now(started);
        let failed = pending
            .iter()
            .map(|p| {
                self.cell(
                    p,
                    CellStatus::Failed {
                        reason: reason.clone(),
                    },
                    String::new(),
                    None,
                    &primary.0,
                    when,
                )
            })
            .collect();
        self.deliver(failed);
    }

    /// Asks `backend` until every pending option has an answer (`None`) or attempts run out
    /// (the last failure). Answered options are removed from `pending` and emitted.
    async fn attempt_all(
        &self,
        backend: &str,
        model: Option<String>,
        pending: &mut Vec<Pending>,
        started: Instant,
    ) -> Option<CallFailure> {
        let policy = &self.inner.settings.retry;
        let mut rng = fastrand::Rng::new();
        let mut attempt = 0;
        let mut nudge: Option<String> = None;
        // Why the previous attempt failed: when the breaker opens during this batch's retries,
        // the breaker's refusal alone would hide the failure that led to it.
        let mut previous: Option<String> = None;
        loop {
            attempt += 1;
            let request = self.request(pending, model.clone(), nudge.as_deref());
            for p in pending.iter_mut() {
                p.attempts += 1;
            }
            let failure = match self.complete(backend, request, pending.len()).await {
                Ok((completion, key)) => {
                    let share = share_tokens(completion.tokens, pending.len());
                    for p in pending.iter_mut() {
                        p.tokens = Tokens::sum(p.tokens, share);
                    }
                    match self.absorb(&completion, backend, pending, Settled::now(started)) {
                        Ok(kept) => {
                            if let Some(key) = key {
                                let kept = Completion {
                                    text: kept,
                                    ..completion
                                };
                                self.inner.cache.keep(key, kept).await;
                            }
                            return None;
                        }
                        Err(problem) => {
                            nudge = Some(problem.clone());
                            CallFailure::Backend(BackendFailure {
                                message: format!("unusable answer: {problem}"),
                                // Asking again is the remedy for a malformed answer.
                                retryable: true,
                                retry_after: None,
                            })
                        }
                    }
                }
                Err(failure) => failure,
            };
            if pending.is_empty() {
                return None;
            }
            let (retryable, retry_after) = match &failure {
                CallFailure::Backend(f) => (f.retryable, f.retry_after),
                CallFailure::Timeout(_) => (true, None),
                // Waiting out an open breaker inside one evaluation would stall it for the
                // whole open period; fail fast and say when to try again.
                CallFailure::CircuitOpen(_) | CallFailure::Unknown(_) => (false, None),
            };
            match policy.decide(attempt, retryable, retry_after, &mut rng) {
                RetryDecision::Retry(delay) => {
                    self.inner.telemetry.backend_retry(backend);
                    tracing::debug!(
                        backend,
                        criterion = %self.criterion.name,
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "retrying: {}",
                        failure.message()
                    );
                    previous = Some(failure.message());
                    tokio::time::sleep(delay).await;
                }
                RetryDecision::GiveUp(reason) => {
                    let message = format!("{} ({reason})", failure.message());
                    return Some(match (failure, previous) {
                        (CallFailure::Backend(f), _) => {
                            CallFailure::Backend(BackendFailure { message, ..f })
                        }
                        (CallFailure::CircuitOpen(open), Some(previous)) => {
                            CallFailure::CircuitOpen(format!(
                                "{open}; before that, this call failed: {previous}"
                            ))
                        }
                        (other, _) => other,
                    });
                }
            }
        }
    }

    fn request(
        &self,
        pending: &[Pending],
        model: Option<String>,
        nudge: Option<&str>,
    ) -> CompletionRequest {
        let criterion = CriterionBrief {
            name: &self.criterion.name,
            description: &self.criterion.description,
            custom_prompt: self.criterion.custom_prompt.as_deref(),
            scale: self.criterion.scale.as_ref(),
        };
        let briefs: Vec<OptionBrief<'_>> = pending
            .iter()
            .map(|p| OptionBrief {
                key: &p.key,
                name: &p.option.name,
                description: p.option.description.as_deref(),
            })
            .collect();
        let mut prompt = match briefs.as_slice() {
            [one] => prompt::single(&self.topic, &criterion, one),
            many => prompt::batch(&self.topic, &criterion, many),
        };
        if let Some(problem) = nudge {
            // A different request than the one that produced the bad answer, and a hint the
            // model can act on.
            prompt.user.push_str(&format!(
                "\n\nYour previous answer could not be used ({problem}). Answer again in \
                 exactly the JSON format described."
            ));
        }
        CompletionRequest {
            model,
            prompt,
            temperature: self.criterion.settings.temperature,
            max_tokens: self.inner.settings.max_tokens(pending.len()),
        }
    }

    /// Takes what `completion` answers. Answered options leave `pending` and are emitted.
    /// When none remains, returns the answer as the cache keeps it (the verdicts alone,
    /// [`answer::kept`]); `Err` says what was wrong when some remain.
    fn absorb(
        &self,
        completion: &Completion,
        backend: &str,
        pending: &mut Vec<Pending>,
        when: Settled,
    ) -> Result<String, String> {
        if pending.len() == 1 {
            let verdict = answer::parse_single(&completion.text).map_err(|e| e.to_string())?;
            let kept = answer::kept::single(&verdict);
            let single = pending.remove(0);
            let place = Place { index: 0, of: 1 };
            let cell = self.verdict_cell(&single, place, verdict, completion, backend, when);
            self.deliver(vec![cell]);
            return Ok(kept);
        }
        let parsed = answer::parse_batch(&completion.text).map_err(|e| e.to_string())?;
        // Per pending option: no answer yet, one answer, or conflicting answers (`None`).
        let mut answers: Vec<Option<Option<Verdict>>> = vec![None; pending.len()];
        let mut problems = Vec::new();
        for (key, verdict) in parsed.entries {
            let Some(index) = match_key(pending, &key) else {
                continue;
            };
            match verdict {
                // Two different answers for one option: trust neither.
                Ok(verdict) => match &mut answers[index] {
                    slot @ None => *slot = Some(Some(verdict)),
                    Some(existing) => {
                        if existing.as_ref() != Some(&verdict) {
                            *existing = None;
                        }
                    }
                },
                Err(problem) => problems.push(format!("{key}: {problem}")),
            }
        }
        let mut remaining = Vec::new();
        let mut settled = Vec::with_capacity(pending.len());
        let mut kept = Vec::with_capacity(pending.len());
        // The call listed every pending option, in order.
        let of = u32::try_from(pending.len()).unwrap_or(u32::MAX);
        for (index, (p, answer)) in (0u32..).zip(std::mem::take(pending).into_iter().zip(answers)) {
            match answer.flatten() {
                Some(verdict) => {
                    let place = Place { index, of };
                    settled.push(self.verdict_cell(
                        &p,
                        place,
                        verdict.clone(),
                        completion,
                        backend,
                        when,
                    ));
                    kept.push((p.key, verdict));
                }
                None => remaining.push(p),
            }
        }
        self.deliver(settled);
        *pending = remaining;
        if pending.is_empty() {
            return Ok(answer::kept::batch(
                kept.iter().map(|(key, verdict)| (key.as_ref(), verdict)),
            ));
        }
        let missing: Vec<&str> = pending.iter().map(|p| p.key.as_ref()).collect();
        let mut message = format!("no usable answer for {}", missing.join(", "));
        if !problems.is_empty() {
            message.push_str(&format!(" ({})", problems.join("; ")));
        }
        Err(message)
    }

    /// The cell `verdict` settles; `place` is where the option stood in the call that
    /// answered.
    fn verdict_cell(
        &self,
        pending: &Pending,
        place: Place,
        verdict: Verdict,
        completion: &Completion,
        backend: &str,
        when: Settled,
    ) -> CellResult {
        let (verdict, justification) = match verdict {
            Verdict::Scored {
                score,
                justification,
            } => match Score::clamped(score) {
                Some(score) => (judgment::Verdict::Scored { score }, justification),
                None => {
                    return self.cell(
                        pending,
                        CellStatus::Failed {
                            reason: "the answer's score is not a finite number".to_owned(),
                        },
                        justification,
                        Some(completion.model.clone()),
                        backend,
                        when,
                    );
                }
            },
            Verdict::Abstained { justification } => (judgment::Verdict::Abstained, justification),
        };
        let judgment = Judgment {
            verdict,
            justification,
            backend: backend.to_owned(),
            model: Some(completion.model.clone()),
            judge: self.criterion.judge,
            place: Some(place),
            round: self.criterion.round,
            at: when.at,
        };
        let cell = Cell::judged(
            judgment,
            pending.tokens,
            when.latency_ms,
            pending.attempts,
            self.basis(pending),
        );
        self.result(pending, cell)
    }

    fn basis(&self, pending: &Pending) -> Basis {
        Basis {
            option_revision: pending.option.revision,
            criterion_revision: self.criterion.revision,
            settings: self.criterion.basis_settings.clone(),
            panel: self.criterion.panel.clone(),
        }
    }

    fn result(&self, pending: &Pending, cell: Cell) -> CellResult {
        CellResult {
            option: pending.option.id,
            criterion: self.criterion.id,
            option_name: pending.option.name.clone(),
            criterion_name: self.criterion.name.clone(),
            cell,
            replicate: self.criterion.replicate,
        }
    }

    /// Sends finished cells to the driver.
    fn deliver(&self, cells: Vec<CellResult>) {
        if !cells.is_empty() {
            // The receiver only goes away when the evaluation itself was dropped.
            let _ = self.cells.send(cells);
        }
    }

    fn cell(
        &self,
        pending: &Pending,
        status: CellStatus,
        justification: String,
        model: Option<String>,
        backend: &str,
        when: Settled,
    ) -> CellResult {
        let cell = Cell {
            status,
            justification,
            backend: Some(backend.to_owned()),
            model,
            tokens: pending.tokens,
            latency_ms: when.latency_ms,
            attempts: pending.attempts,
            at: when.at,
            basis: Some(self.basis(pending)),
            samples: Vec::new(),
        };
        self.result(pending, cell)
    }
}

/// When a group of cells was settled. One clock reading serves every cell that one answer (or
/// one final failure) settles: they were settled at the same moment.
#[derive(Debug, Clone, Copy)]
struct Settled {
    at: OffsetDateTime,
    latency_ms: u64,
}

impl Settled {
    fn now(started: Instant) -> Settled {
        Settled {
            at: OffsetDateTime::now_utc(),
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// The keys the options of a batch are given in the prompt, in order: `o1`, `o2`, ... unless
/// an option of the batch is itself named like one of those keys (ignoring case and
/// surrounding space), when another family of keys is used that no option's name matches.
/// An answer's key then names one option only, whether the model echoed the key or the
/// name: options named `o2` and `o1` cannot have their answers swapped.
fn batch_keys(options: &[PlannedOption]) -> Vec<Cow<'static, str>> {
    const KEYS: [&str; 10] = ["o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8", "o9", "o10"];
    let names: Vec<String> = options
        .iter()
        .map(|option| option.name.trim().to_ascii_lowercase())
        .collect();
    let free = |keys: &[Cow<'static, str>]| {
        keys.iter()
            .all(|key| !names.iter().any(|name| key.eq_ignore_ascii_case(name)))
    };
    let usual: Vec<Cow<'static, str>> = (0..options.len())
        .map(|index| match KEYS.get(index) {
            Some(key) => Cow::Borrowed(*key),
            None => Cow::Owned(format!("o{}", index + 1)),
        })
        .collect();
    if free(&usual) {
        return usual;
    }
    // Names chosen to collide with every fixed family still cannot guess a random tag.
    let families = ["opt", "option", "item", "k"].map(str::to_owned);
    let tagged = std::iter::repeat_with(|| format!("o{:08x}_", fastrand::u32(..)));
    for prefix in families.into_iter().chain(tagged).take(64) {
        let keys: Vec<Cow<'static, str>> = (1..=options.len())
            .map(|n| Cow::Owned(format!("{prefix}{n}")))
            .collect();
        if free(&keys) {
            return keys;
        }
    }
    // Unreachable in practice (60 random tags all taken by option names); the names
    // themselves are then the only keys left, and a duplicate name is refused upstream.
    options
        .iter()
        .map(|option| Cow::Owned(option.name.to_string()))
        .collect()
}

/// Which pending option an answer's key names: its prompt key (`o2`), or, for models that
/// echo names instead, the option's name. Keys never equal a name of the batch (see
/// [`batch_keys`]), so at most one rule can match; a name that matches several options
/// (only possible ignoring case) names none.
fn match_key(pending: &[Pending], key: &str) -> Option<usize> {
    let key = key.trim().trim_matches(|c| c == '[' || c == ']');
    pending
        .iter()
        .position(|p| p.key.eq_ignore_ascii_case(key))
        .or_else(|| pending.iter().position(|p| *p.option.name == *key))
        .or_else(|| {
            let matches: Vec<usize> = pending
                .iter()
                .enumerate()
                .filter(|(_, p)| p.option.name.trim().eq_ignore_ascii_case(key))
                .map(|(i, _)| i)
                .collect();
            match matches.as_slice() {
                [one] => Some(*one),
                _ => None,
            }
        })
}

/// A call's tokens split over the options it scored (the first options take the remainder).
fn share_tokens(tokens: Option<Tokens>, options: usize) -> Option<Tokens> {
    let tokens = tokens?;
    let n = u32::try_from(options.max(1)).unwrap_or(u32::MAX);
    Some(Tokens {
        input: tokens.input.div_ceil(n),
        output: tokens.output.div_ceil(n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OptionId;

    fn options(names: &[&str]) -> Vec<PlannedOption> {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| PlannedOption {
                id: OptionId(i as u32),
                name: Arc::from(*name),
                description: None,
                revision: 0,
            })
            .collect()
    }

    fn keys(names: &[&str]) -> Vec<String> {
        batch_keys(&options(names))
            .into_iter()
            .map(Cow::into_owned)
            .collect()
    }

    #[test]
    fn keys_are_the_usual_ones_unless_a_name_spells_one() {
        assert_eq!(keys(&["alpha", "bravo"]), ["o1", "o2"]);
        assert_eq!(keys(&["o2", "o1"]), ["opt1", "opt2"]);
        assert_eq!(keys(&[" O1 ", "x"]), ["opt1", "opt2"]);
        // Every fixed family taken: a random tag no name can guess.
        let names = ["o1", "opt2", "option1", "item2", "k1"];
        let tagged = keys(&names);
        assert!(
            tagged
                .iter()
                .all(|key| key.starts_with('o') && key.contains('_'))
        );
        for key in &tagged {
            assert!(
                !names.iter().any(|name| key.eq_ignore_ascii_case(name)),
                "{key}"
            );
        }
    }
}
