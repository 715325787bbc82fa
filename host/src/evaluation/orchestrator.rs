//! [`Evaluator`]: runs a [`Plan`], scoring every planned cell through the backends, in
//! parallel, under the concurrency, rate and timeout limits, with retries, a circuit breaker
//! per backend and an optional fallback.
//!
//! The unit of work is a *batch*: up to `batch_size` options of one criterion, asked in one
//! call. A batch runs its own attempt loop. An answer that covers only some options completes
//! those cells and asks again for the rest only; a malformed answer is asked again (and counts
//! as an attempt); a failed call is retried with backoff when the error allows it. Cells that
//! still have no answer when attempts run out are reported as `failed` with the last reason:
//! never as abstentions, and never filled from another option's answer (answers are matched
//! to options by the key each option was given in the prompt).
//!
//! The batches of one evaluation are futures polled concurrently by the evaluation's own task,
//! not tasks of their own: their time is spent waiting for backends, and the CPU work between
//! waits (prompts, the plugin call, parsing) is microseconds, which cross-thread hand-offs
//! between workers cost more than they save (BENCHMARKS.md, "Evaluation engine"). Separate
//! evaluations, one per tool call, still spread over the runtime's workers. Each finished cell
//! is sent to the caller's callback as soon as it exists, which is how cells are saved as they
//! finish and how progress is reported. Cancelling the token stops every batch at its next
//! await point; cells already delivered stay delivered.

use std::borrow::Cow;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use time::OffsetDateTime;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::domain::cell::Basis;
use crate::domain::{Cell, CellStatus, CriterionId, OptionId, Score, Tokens};

use super::answer::{self, Verdict};
use super::backend::{BackendFailure, Backends, Completion, CompletionRequest};
use super::cache::{CacheKey, CompletionCache, SharedCache};
use super::concurrency::{ConcurrencyLimits, SessionShare};
use super::plan::{CriterionWork, Plan, PlannedOption};
use super::prompt::{self, CriterionBrief, OptionBrief};
use super::resilience::breaker::{BreakerState, CircuitBreaker, Permit};
use super::resilience::rate_limit::{ANY_MODEL, RateLimit, RateLimitKey, RateLimits};
use super::resilience::retry::RetryDecision;
use super::settings::EvaluationSettings;
use crate::telemetry::Telemetry;

/// A computed cell, for the caller to store.
#[derive(Debug, Clone, PartialEq)]
pub struct CellResult {
    /// The option.
    pub option: OptionId,
    /// The criterion.
    pub criterion: CriterionId,
    /// Names, for messages.
    pub option_name: Arc<str>,
    /// Names, for messages.
    pub criterion_name: Arc<str>,
    /// The cell, with the basis it was computed from.
    pub cell: Cell,
}

/// What an evaluation did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvaluationReport {
    /// Cells planned.
    pub planned: usize,
    /// Cells scored.
    pub scored: usize,
    /// Cells where the evaluator abstained.
    pub abstained: usize,
    /// Cells that failed, one line each: `criterion→option: reason`.
    pub failures: Vec<String>,
    /// Whether the evaluation was cancelled before every cell was computed.
    pub cancelled: bool,
    /// Backend calls made (billed), retries included.
    pub calls: u64,
    /// Calls answered from the cache instead.
    pub cache_hits: u64,
    /// Tokens of every call made.
    pub tokens: Tokens,
}

/// Counters shared by every batch of one evaluation.
#[derive(Default)]
struct RunCounters {
    calls: AtomicU64,
    cache_hits: AtomicU64,
    input_tokens: AtomicU64,
    output_tokens: AtomicU64,
}

/// Runs evaluations. Cheap to clone; clones share limits, breakers and the cache.
#[derive(Clone)]
pub struct Evaluator {
    inner: Arc<Inner>,
}

struct Inner {
    backends: Backends,
    settings: EvaluationSettings,
    limits: ConcurrencyLimits,
    breakers: Mutex<HashMap<String, CircuitBreaker>>,
    /// Woken whenever a half-open probe reports, for the calls waiting on its outcome.
    probe_settled: Notify,
    rate: RateLimits,
    cache: CompletionCache,
    telemetry: Arc<Telemetry>,
}

/// Why one call produced no completion.
#[derive(Debug)]
enum CallFailure {
    /// The backend (or its plugin) failed.
    Backend(BackendFailure),
    /// The call ran past its timeout.
    Timeout(Duration),
    /// The backend's breaker is open.
    CircuitOpen(String),
    /// No such backend.
    Unknown(String),
}

impl CallFailure {
    fn message(&self) -> String {
        match self {
            CallFailure::Backend(failure) => failure.message.clone(),
            CallFailure::Timeout(limit) => {
                format!(
                    "no answer within {:.0} s (per-call timeout)",
                    limit.as_secs_f64()
                )
            }
            CallFailure::CircuitOpen(message) | CallFailure::Unknown(message) => message.clone(),
        }
    }

    /// Whether another backend might do better: the backend is down or overloaded, not the
    /// request wrong.
    fn backend_unhealthy(&self) -> bool {
        match self {
            CallFailure::Backend(failure) => failure.retryable,
            CallFailure::Timeout(_) | CallFailure::CircuitOpen(_) => true,
            CallFailure::Unknown(_) => false,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Evaluator {
    /// An evaluator over `backends`.
    pub fn new(backends: Backends, settings: EvaluationSettings) -> Evaluator {
        Evaluator::with_shared_cache(backends, settings, None)
    }

    /// An evaluator over `backends` whose answer cache is backed by `shared` (answers other
    /// instances paid for are replayed, not bought again).
    pub fn with_shared_cache(
        backends: Backends,
        settings: EvaluationSettings,
        shared: Option<SharedCache>,
    ) -> Evaluator {
        Evaluator::observed(backends, settings, shared, Arc::default())
    }

    /// Like [`Evaluator::with_shared_cache`], recording backend calls, retries, rate-limit
    /// waits, tokens and the cells waiting into `telemetry`.
    pub fn observed(
        backends: Backends,
        settings: EvaluationSettings,
        shared: Option<SharedCache>,
        telemetry: Arc<Telemetry>,
    ) -> Evaluator {
        let rate = RateLimits::new(
            None,
            settings
                .requests_per_minute
                .iter()
                .filter_map(|(key, &rpm)| {
                    // `backend` limits each of its models; `backend/model` one model.
                    let (backend, model) = key.split_once('/').unwrap_or((key, ANY_MODEL));
                    Some((
                        RateLimitKey::new(backend, model),
                        RateLimit::per_minute(NonZeroU32::new(rpm)?),
                    ))
                }),
        );
        Evaluator {
            inner: Arc::new(Inner {
                limits: ConcurrencyLimits::new(&settings),
                cache: CompletionCache::with_shared(settings.cache_entries, shared),
                breakers: Mutex::new(HashMap::new()),
                probe_settled: Notify::new(),
                rate,
                backends,
                settings,
                telemetry,
            }),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &EvaluationSettings {
        &self.inner.settings
    }

    /// The breaker state of every backend called so far.
    pub fn breakers(&self) -> Vec<(String, BreakerState)> {
        let now = Instant::now();
        let breakers = lock(&self.inner.breakers);
        breakers
            .iter()
            .map(|(id, breaker)| (id.clone(), breaker.state(now)))
            .collect()
    }

    /// Where backend calls are recorded.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.inner.telemetry
    }

    /// Answers held in the cache.
    pub fn cached_answers(&self) -> usize {
        self.inner.cache.len()
    }

    /// Computes every cell of `plan`, calling `on_cell` for each as it finishes.
    pub async fn run(
        &self,
        plan: Plan,
        cancel: CancellationToken,
        mut on_cell: impl FnMut(CellResult) + Send,
    ) -> EvaluationReport {
        let mut report = EvaluationReport {
            planned: plan.cells(),
            ..EvaluationReport::default()
        };
        let counters = Arc::new(RunCounters::default());
        // Every planned cell waits in the queue until it is settled (or the run stops).
        let mut queued = Queued::new(&self.inner.telemetry, report.planned);
        let session: Arc<str> = Arc::from(plan.session_id.as_str());
        let share = self.inner.limits.session(&plan.session_id);
        let topic: Arc<str> = Arc::from(plan.topic.as_str());
        let (sender, mut receiver) = mpsc::unbounded_channel();
        let mut batches = FuturesUnordered::new();
        for criterion in plan.criteria {
            let criterion = Arc::new(criterion);
            for chunk in criterion
                .options
                .chunks(self.inner.settings.batch_size.max(1))
            {
                let batch = Batch {
                    inner: self.inner.clone(),
                    session: session.clone(),
                    topic: topic.clone(),
                    criterion: criterion.clone(),
                    options: chunk.to_vec(),
                    force: plan.force,
                    share: share.clone(),
                    counters: counters.clone(),
                    cells: sender.clone(),
                };
                let cancel = cancel.clone();
                batches.push(async move {
                    tokio::select! {
                        biased;
                        () = cancel.cancelled() => {}
                        () = batch.run() => {}
                    }
                });
            }
        }
        drop(sender);
        loop {
            let delivery = tokio::select! {
                biased;
                delivery = receiver.recv() => delivery,
                Some(()) = batches.next(), if !batches.is_empty() => continue,
            };
            // Every batch has finished (or was cancelled) and every cell was read.
            let Some(delivery) = delivery else { break };
            queued.settled(delivery.len());
            for result in delivery {
                match &result.cell.status {
                    CellStatus::Scored { .. } => report.scored += 1,
                    CellStatus::Abstained => report.abstained += 1,
                    CellStatus::Failed { reason } => report.failures.push(format!(
                        "{}→{}: {reason}",
                        result.criterion_name, result.option_name
                    )),
                    CellStatus::Manual { .. } => {}
                }
                on_cell(result);
            }
        }
        report.cancelled = cancel.is_cancelled()
            && report.scored + report.abstained + report.failures.len() < report.planned;
        report.calls = counters.calls.load(Ordering::Relaxed);
        report.cache_hits = counters.cache_hits.load(Ordering::Relaxed);
        report.tokens = Tokens {
            input: saturate(counters.input_tokens.load(Ordering::Relaxed)),
            output: saturate(counters.output_tokens.load(Ordering::Relaxed)),
        };
        report
    }
}

fn saturate(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// One batch: some options of one criterion, asked together until each has an answer or
/// attempts run out.
struct Batch {
    inner: Arc<Inner>,
    /// For the backend-call span.
    session: Arc<str>,
    topic: Arc<str>,
    criterion: Arc<CriterionWork>,
    options: Vec<PlannedOption>,
    force: bool,
    share: SessionShare,
    counters: Arc<RunCounters>,
    /// Cells go out in groups (all the cells one answer settled), which saves the driver a
    /// wake-up per cell; each is still delivered as soon as its answer is read.
    cells: mpsc::UnboundedSender<Vec<CellResult>>,
}

/// Per-option bookkeeping while a batch runs.
struct Pending {
    option: PlannedOption,
    key: Cow<'static, str>,
    attempts: u32,
    tokens: Option<Tokens>,
}

impl Batch {
    async fn run(self) {
        let started = Instant::now();
        let mut pending: Vec<Pending> = self
            .options
            .iter()
            .enumerate()
            .map(|(i, option)| Pending {
                option: option.clone(),
                key: option_key(i),
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
                        p.tokens = add_tokens(p.tokens, share);
                    }
                    match self.absorb(&completion, backend, pending, Settled::now(started)) {
                        Ok(()) => {
                            if let Some(key) = key {
                                self.inner.cache.keep(key, completion).await;
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

    /// One completion, from the cache or through the gate to the backend, in a
    /// `backend_call` span naming the session, criterion, backend and model.
    async fn complete(
        &self,
        backend_id: &str,
        request: CompletionRequest,
        options: usize,
    ) -> Result<(Completion, Option<CacheKey>), CallFailure> {
        let span = tracing::info_span!(
            "backend_call",
            session_id = %self.session,
            criterion = %self.criterion.name,
            backend = backend_id,
            model = request.model.as_deref().unwrap_or("default"),
        );
        self.complete_in_span(backend_id, request, options)
            .instrument(span)
            .await
    }

    async fn complete_in_span(
        &self,
        backend_id: &str,
        request: CompletionRequest,
        options: usize,
    ) -> Result<(Completion, Option<CacheKey>), CallFailure> {
        let inner = &self.inner;
        let telemetry = &inner.telemetry;
        // Hashing the whole prompt is wasted work when nothing is cached.
        let key = inner
            .cache
            .enabled()
            .then(|| CacheKey::new(backend_id, &request));
        if !self.force
            && let Some(key) = &key
            && let Some(hit) = inner.cache.lookup(key).await
        {
            self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok((hit, None));
        }
        let Some(backend) = inner.backends.get(backend_id) else {
            let known: Vec<&str> = inner.backends.keys().map(String::as_str).collect();
            return Err(CallFailure::Unknown(format!(
                "unknown backend '{backend_id}'; available: {}",
                known.join(", ")
            )));
        };
        let _permits = inner.limits.acquire(&self.share, backend_id).await;
        let permit = loop {
            // Created before the breaker is asked, so a probe settling in between still wakes
            // this call.
            let probe_settled = inner.probe_settled.notified();
            let rejected = {
                let mut breakers = lock(&inner.breakers);
                if !breakers.contains_key(backend_id) {
                    breakers.insert(
                        backend_id.to_owned(),
                        CircuitBreaker::new(inner.settings.breaker),
                    );
                }
                let breaker = breakers
                    .get_mut(backend_id)
                    .ok_or_else(|| CallFailure::Unknown(backend_id.to_owned()))?;
                match breaker.try_acquire(Instant::now()) {
                    Ok(permit) => break permit,
                    Err(rejected) => rejected,
                }
            };
            if rejected.probe_in_flight {
                // Another call is testing whether the backend is back, and its answer is
                // what this call's fate depends on: wait for it (at most until its lease
                // runs out, when a new probe may go) rather than fail a call the backend
                // may well answer. Without this, the first evaluation after an outage
                // failed every batch but the probe's.
                let _ = tokio::time::timeout(rejected.retry_in, probe_settled).await;
                continue;
            }
            telemetry.backend_rejected(backend_id);
            return Err(CallFailure::CircuitOpen(format!(
                "backend '{backend_id}' is failing and its circuit breaker is open; \
                 no calls are sent to it for another {:.0} s",
                rejected.retry_in.as_secs_f64().ceil()
            )));
        };
        // The probe slot must be released even if this call is cancelled mid-flight.
        let mut guard = ProbeGuard {
            inner,
            backend: backend_id,
            permit: Some(permit),
        };
        let waited = inner
            .rate
            .acquire(backend_id, request.model.as_deref().unwrap_or(""))
            .await;
        if !waited.is_zero() {
            telemetry.rate_limited(backend_id, waited);
        }
        let limit = inner.settings.timeouts.timeout_for(backend_id, options);
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
        if telemetry.log_prompts() {
            // Only when the operator asked for it: prompts carry what users wrote.
            tracing::debug!(
                system = %request.prompt.system,
                user = %request.prompt.user,
                "backend prompt"
            );
        }
        let sent = Instant::now();
        let outcome = tokio::time::timeout(limit, backend.complete(request)).await;
        let elapsed = sent.elapsed();
        let answered = matches!(outcome, Ok(Ok(_)));
        telemetry.backend_call(backend_id, elapsed, answered);
        let tokens = match &outcome {
            Ok(Ok(completion)) => completion.tokens,
            _ => None,
        };
        if let Some(tokens) = tokens {
            telemetry.tokens(backend_id, tokens.input, tokens.output);
        }
        tracing::debug!(
            elapsed_ms = elapsed.as_millis() as u64,
            answered,
            input_tokens = tokens.map(|t| t.input),
            output_tokens = tokens.map(|t| t.output),
            "backend call finished"
        );
        let healthy = match &outcome {
            Ok(Ok(_)) => true,
            // A rejected request (bad key, bad model) says nothing about the backend's health.
            Ok(Err(failure)) => !failure.retryable,
            Err(_) => false,
        };
        guard.resolve(healthy);
        match outcome {
            Ok(Ok(completion)) => {
                if let Some(tokens) = completion.tokens {
                    self.counters
                        .input_tokens
                        .fetch_add(u64::from(tokens.input), Ordering::Relaxed);
                    self.counters
                        .output_tokens
                        .fetch_add(u64::from(tokens.output), Ordering::Relaxed);
                }
                Ok((completion, key))
            }
            Ok(Err(failure)) => Err(CallFailure::Backend(failure)),
            Err(_) => Err(CallFailure::Timeout(limit)),
        }
    }

    /// Takes what `completion` answers. Answered options leave `pending` and are emitted;
    /// `Err` says what was wrong when some remain.
    fn absorb(
        &self,
        completion: &Completion,
        backend: &str,
        pending: &mut Vec<Pending>,
        when: Settled,
    ) -> Result<(), String> {
        if pending.len() == 1 {
            let verdict = answer::parse_single(&completion.text).map_err(|e| e.to_string())?;
            let single = pending.remove(0);
            let cell = self.verdict_cell(&single, verdict, completion, backend, when);
            self.deliver(vec![cell]);
            return Ok(());
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
        for (p, answer) in std::mem::take(pending).into_iter().zip(answers) {
            match answer.flatten() {
                Some(verdict) => {
                    settled.push(self.verdict_cell(&p, verdict, completion, backend, when));
                }
                None => remaining.push(p),
            }
        }
        self.deliver(settled);
        *pending = remaining;
        if pending.is_empty() {
            return Ok(());
        }
        let missing: Vec<&str> = pending.iter().map(|p| p.key.as_ref()).collect();
        let mut message = format!("no usable answer for {}", missing.join(", "));
        if !problems.is_empty() {
            message.push_str(&format!(" ({})", problems.join("; ")));
        }
        Err(message)
    }

    fn verdict_cell(
        &self,
        pending: &Pending,
        verdict: Verdict,
        completion: &Completion,
        backend: &str,
        when: Settled,
    ) -> CellResult {
        let (status, justification) = match verdict {
            Verdict::Scored {
                score,
                justification,
            } => match Score::clamped(score) {
                Some(score) => (CellStatus::Scored { score }, justification),
                None => (
                    CellStatus::Failed {
                        reason: "the answer's score is not a finite number".to_owned(),
                    },
                    justification,
                ),
            },
            Verdict::Abstained { justification } => (CellStatus::Abstained, justification),
        };
        self.cell(
            pending,
            status,
            justification,
            Some(completion.model.clone()),
            backend,
            when,
        )
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
            basis: Some(Basis {
                option_revision: pending.option.revision,
                criterion_revision: self.criterion.revision,
                settings: self.criterion.settings.clone(),
            }),
        };
        CellResult {
            option: pending.option.id,
            criterion: self.criterion.id,
            option_name: pending.option.name.clone(),
            criterion_name: self.criterion.name.clone(),
            cell,
        }
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

/// The key option `index` of a batch is given in the prompt: `o1`, `o2`, ... Batches are
/// small, so the usual keys are static strings rather than one allocation per option.
fn option_key(index: usize) -> Cow<'static, str> {
    const KEYS: [&str; 10] = ["o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8", "o9", "o10"];
    match KEYS.get(index) {
        Some(key) => Cow::Borrowed(key),
        None => Cow::Owned(format!("o{}", index + 1)),
    }
}

/// Which pending option an answer's key names: its prompt key (`o2`), or, for models that
/// echo names instead, the option's name.
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
            // A case-insensitive match only counts when it is unambiguous.
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

fn add_tokens(a: Option<Tokens>, b: Option<Tokens>) -> Option<Tokens> {
    match (a, b) {
        (None, None) => None,
        (a, b) => {
            let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
            Some(Tokens {
                input: a.input.saturating_add(b.input),
                output: a.output.saturating_add(b.output),
            })
        }
    }
}

/// The cells of one run still waiting in the telemetry's evaluation queue; whatever was not
/// settled leaves the queue when the run ends, cancelled or not.
struct Queued<'a> {
    telemetry: &'a Telemetry,
    waiting: usize,
}

impl<'a> Queued<'a> {
    fn new(telemetry: &'a Telemetry, cells: usize) -> Queued<'a> {
        telemetry.queue_add(cells);
        Queued {
            telemetry,
            waiting: cells,
        }
    }

    fn settled(&mut self, cells: usize) {
        let cells = cells.min(self.waiting);
        self.waiting -= cells;
        self.telemetry.queue_done(cells);
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.telemetry.queue_done(self.waiting);
    }
}

/// Resolves a breaker permit exactly once: with the call's outcome, or as cancelled when the
/// call is dropped midway (so a cancelled half-open probe does not wedge the breaker).
struct ProbeGuard<'a> {
    inner: &'a Inner,
    backend: &'a str,
    permit: Option<Permit>,
}

impl ProbeGuard<'_> {
    fn resolve(&mut self, healthy: bool) {
        self.settle(|breaker, permit, now| {
            if healthy {
                breaker.on_success(permit, now);
            } else {
                breaker.on_failure(permit, now);
            }
        });
    }

    /// Hands the permit, if still held, to `outcome` under the breakers' lock; a settled
    /// probe (whatever its outcome, cancelled included) wakes the calls waiting on it, one of
    /// which probes next if the breaker is still half-open.
    fn settle(&mut self, outcome: impl FnOnce(&mut CircuitBreaker, Permit, Instant)) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let probe = permit.is_probe();
        if let Some(breaker) = lock(&self.inner.breakers).get_mut(self.backend) {
            outcome(breaker, permit, Instant::now());
        }
        if probe {
            self.inner.probe_settled.notify_waiters();
        }
    }
}

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        self.settle(|breaker, permit, now| breaker.on_cancel(permit, now));
    }
}
