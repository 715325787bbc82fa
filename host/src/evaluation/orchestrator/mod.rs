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
//!
//! Here: the evaluator and a run. [`batch`]: one batch's attempts and how its answers become
//! cells. [`pipeline`]: one call through cache, limits, breaker, rate limit and timeout.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::domain::{Cell, CellStatus, CriterionId, OptionId, Tokens};

mod batch;
mod pipeline;

use super::EvaluationSettings;
use super::backend::Backends;
use super::cache::{CompletionCache, SharedCache};
use super::concurrency::ConcurrencyLimits;
use super::plan::{CriterionWork, Plan, PlannedOption};
use super::resilience::breaker::{BreakerState, CircuitBreaker};
use super::resilience::rate_limit::{ANY_MODEL, RateLimit, RateLimitKey, RateLimits};
use crate::providers::Routing;
use crate::telemetry::Telemetry;
use batch::Batch;
use decision_matrix_core::confidence::order::call_order;

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
    /// Whether the cell is a replicate, whose judgments join those the cell has.
    pub replicate: bool,
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
    /// The cells of `failures`, in the same order.
    pub failed: Vec<(OptionId, CriterionId)>,
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
    /// Which backend takes a model name (a LiteLLM model string's provider).
    routing: Routing,
    rate: RateLimits,
    cache: CompletionCache,
    telemetry: Arc<Telemetry>,
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
        Evaluator::observed(
            backends,
            settings,
            shared,
            Routing::default(),
            Arc::default(),
        )
    }

    /// Like [`Evaluator::with_shared_cache`], sending each call to the backend `routing`
    /// names for its model, and recording backend calls, retries, rate-limit waits, tokens
    /// and the cells waiting into `telemetry`.
    pub fn observed(
        backends: Backends,
        settings: EvaluationSettings,
        shared: Option<SharedCache>,
        routing: Routing,
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
                cache: CompletionCache::with_shared(
                    settings.cache_entries,
                    settings.cache_max_bytes,
                    shared,
                ),
                breakers: Mutex::new(HashMap::new()),
                probe_settled: Notify::new(),
                routing,
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
        let now = tokio::time::Instant::now().into_std();
        let breakers = self.inner.breakers.lock();
        breakers
            .iter()
            .map(|(id, breaker)| (id.clone(), breaker.state(now)))
            .collect()
    }

    /// The answer cache, for tests of what it keeps.
    #[cfg(test)]
    pub(crate) fn cache(&self) -> &CompletionCache {
        &self.inner.cache
    }

    /// Where backend calls are recorded.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.inner.telemetry
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
        for mut criterion in plan.criteria {
            criterion.options = listed(&plan.topic, &criterion);
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
                    CellStatus::Failed { reason } => {
                        report.failures.push(format!(
                            "{}→{}: {reason}",
                            result.criterion_name, result.option_name
                        ));
                        report.failed.push((result.option, result.criterion));
                    }
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

/// The criterion's options in the order its round lists them: drawn per (decision,
/// criterion, round) so that a judge's leaning towards the first listed option falls on each
/// option in turn rather than always on the same one. The decision is named by its topic
/// rather than its session id: the same decision set up again (in another session, or on
/// another instance) asks the same questions, so their answers can be replayed from the
/// cache; within a session the orders are the same on every run.
fn listed(topic: &str, work: &CriterionWork) -> Vec<PlannedOption> {
    let ids: Vec<OptionId> = work.options.iter().map(|o| o.id).collect();
    call_order(topic, work.id, work.round, &ids)
        .into_iter()
        .filter_map(|id| work.options.iter().find(|o| o.id == id).cloned())
        .collect()
}

fn saturate(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
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
