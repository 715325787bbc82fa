//! One backend call, through the resilience pipeline. [`Batch::complete`] reads top to
//! bottom, one stage per line:
//!
//! 0. **routing**: the model name may pick another backend (`anthropic/claude-…` on
//!    `litellm` goes to `anthropic`, `groq/…` to `litellm:groq`), which every later stage
//!    then keys on, so each provider has its own cache entries, limits and breaker;
//! 1. **cache**: a request answered before is answered again, without a call;
//! 2. **backend**: the backend the criterion names must be loaded;
//! 3. **concurrency**: a permit of the session's share and one of the backend's limit;
//! 4. **circuit breaker**: a backend that keeps failing is not called, except by the one
//!    call that probes whether it is back (the others wait for that probe's outcome);
//! 5. **rate limit**: the call waits for the backend's (or model's) next slot;
//! 6. **the call**, under its timeout, timed and counted in the telemetry with its tokens;
//! 7. the call's outcome settles its **breaker** permit.
//!
//! Retries, fallbacks and what an answer means are the batch's business
//! ([`super::batch`]); this module makes one attempt.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument as _;

use super::Inner;
use super::batch::Batch;
use crate::evaluation::backend::{Backend, BackendFailure, Completion, CompletionRequest};
use crate::evaluation::cache::CacheKey;
use crate::evaluation::resilience::breaker::{CircuitBreaker, Permit};

/// Why one call produced no completion.
#[derive(Debug)]
pub(super) enum CallFailure {
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
    /// What went wrong, for the cell's reason.
    pub(super) fn message(&self) -> String {
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
    pub(super) fn backend_unhealthy(&self) -> bool {
        match self {
            CallFailure::Backend(failure) => failure.retryable,
            CallFailure::Timeout(_) | CallFailure::CircuitOpen(_) => true,
            CallFailure::Unknown(_) => false,
        }
    }
}

/// A completion, with the cache key to keep it under once the batch has checked that the
/// answer is usable (`None` when it came from the cache, or nothing is cached).
pub(super) type Completed = (Completion, Option<CacheKey>);

impl Batch {
    /// One completion for `request` to `backend_id`, asking about `options` options, in a
    /// `backend_call` span naming the session, criterion, backend and model.
    pub(super) async fn complete(
        &self,
        backend_id: &str,
        request: CompletionRequest,
        options: usize,
    ) -> Result<Completed, CallFailure> {
        let (routed, request) = self.route(backend_id, request);
        let backend_id = routed.as_deref().unwrap_or(backend_id);
        let span = tracing::info_span!(
            "backend_call",
            session_id = %self.session,
            criterion = %self.criterion.name,
            backend = backend_id,
            model = request.model.as_deref().unwrap_or("default"),
        );
        async move {
            let key = self.cache_key(backend_id, &request);
            if let Some(hit) = self.cached(key.as_ref()).await {
                return Ok((hit, None));
            }
            let backend = self.backend(backend_id)?;
            let _permits = self.inner.limits.acquire(&self.share, backend_id).await;
            let mut permit = self.admit(backend_id).await?;
            self.pace(backend_id, &request).await;
            let outcome = self.call(backend, backend_id, request, options).await;
            permit.resolve(healthy(&outcome));
            outcome.map(|completion| (completion, key))
        }
        .instrument(span)
        .await
    }

    /// Stage 0: the backend that takes the request's model, when it is not `backend_id`,
    /// and the request with the model name as that backend is given it.
    fn route(
        &self,
        backend_id: &str,
        mut request: CompletionRequest,
    ) -> (Option<String>, CompletionRequest) {
        let routed = request
            .model
            .as_deref()
            .and_then(|model| self.inner.routing.reroute(backend_id, model));
        let Some(routed) = routed else {
            return (None, request);
        };
        request.model = Some(routed.model);
        (Some(routed.backend), request)
    }

    /// The request's cache key, when answers are cached at all (hashing the whole prompt is
    /// wasted work otherwise).
    fn cache_key(&self, backend_id: &str, request: &CompletionRequest) -> Option<CacheKey> {
        self.inner
            .cache
            .enabled()
            .then(|| CacheKey::new(backend_id, request, self.criterion.round))
    }

    /// Stage 1: the answer to the same request bought before, unless the evaluation is
    /// forced to ask again or the call is a replicate: a replicate must be a new judgment,
    /// and an earlier evaluation of the same round (before `force` reset the cells) may have
    /// listed the options the same way.
    async fn cached(&self, key: Option<&CacheKey>) -> Option<Completion> {
        if self.force || self.criterion.replicate {
            return None;
        }
        let hit = self.inner.cache.lookup(key?).await?;
        self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
        Some(hit)
    }

    /// Stage 2: the loaded backend `backend_id`.
    fn backend(&self, backend_id: &str) -> Result<&dyn Backend, CallFailure> {
        let backends = &self.inner.backends;
        if let Some(variables) = self.inner.routing.missing_address(backend_id) {
            return Err(CallFailure::Unknown(format!(
                "the model routes to '{backend_id}', whose address is not set; set {}",
                variables.join(" or ")
            )));
        }
        backends.get(backend_id).map(|b| &**b).ok_or_else(|| {
            let known: Vec<&str> = backends.keys().map(String::as_str).collect();
            CallFailure::Unknown(format!(
                "unknown backend '{backend_id}'; available: {}",
                known.join(", ")
            ))
        })
    }

    /// Stage 4: the breaker's permit to call `backend_id`. While another call probes a
    /// half-open breaker, this one waits for the probe's outcome (at most until its lease
    /// runs out, when a new probe may go) rather than fail a call the backend may well
    /// answer: without that, the first evaluation after an outage failed every batch but
    /// the probe's.
    async fn admit<'a>(&'a self, backend_id: &'a str) -> Result<BreakerPermit<'a>, CallFailure> {
        let inner = &self.inner;
        loop {
            // Created before the breaker is asked, so a probe settling in between still
            // wakes this call.
            let probe_settled = inner.probe_settled.notified();
            let rejected = {
                let mut breakers = inner.breakers.lock();
                // Looked up before inserting: the id is copied once per backend, not per call.
                if !breakers.contains_key(backend_id) {
                    let breaker = CircuitBreaker::new(inner.settings.breaker);
                    breakers.insert(backend_id.to_owned(), breaker);
                }
                let Some(breaker) = breakers.get_mut(backend_id) else {
                    return Err(CallFailure::Unknown(backend_id.to_owned()));
                };
                match breaker.try_acquire(Instant::now().into_std()) {
                    Ok(permit) => {
                        return Ok(BreakerPermit {
                            inner,
                            backend: backend_id,
                            permit: Some(permit),
                        });
                    }
                    Err(rejected) => rejected,
                }
            };
            if rejected.probe_in_flight {
                let _ = tokio::time::timeout(rejected.retry_in, probe_settled).await;
                continue;
            }
            inner.telemetry.backend_rejected(backend_id);
            return Err(CallFailure::CircuitOpen(format!(
                "backend '{backend_id}' is failing and its circuit breaker is open; \
                 no calls are sent to it for another {:.0} s",
                rejected.retry_in.as_secs_f64().ceil()
            )));
        }
    }

    /// Stage 5: waits for the rate limit of `backend_id` and the request's model.
    async fn pace(&self, backend_id: &str, request: &CompletionRequest) {
        let model = request.model.as_deref().unwrap_or("");
        let waited = self.inner.rate.acquire(backend_id, model).await;
        if !waited.is_zero() {
            self.inner.telemetry.rate_limited(backend_id, waited);
        }
    }

    /// Stage 6: the call itself, under its timeout (which grows with the options asked
    /// about), recorded: its time and outcome in the telemetry, its tokens in the run's
    /// counters.
    async fn call(
        &self,
        backend: &dyn Backend,
        backend_id: &str,
        request: CompletionRequest,
        options: usize,
    ) -> Result<Completion, CallFailure> {
        let inner = &self.inner;
        let telemetry = &inner.telemetry;
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
        let outcome = match tokio::time::timeout(limit, backend.complete(request)).await {
            Ok(Ok(completion)) => Ok(completion),
            Ok(Err(failure)) => Err(CallFailure::Backend(failure)),
            Err(_) => Err(CallFailure::Timeout(limit)),
        };
        let elapsed = sent.elapsed();
        telemetry.backend_call(backend_id, elapsed, outcome.is_ok());
        let tokens = outcome
            .as_ref()
            .ok()
            .and_then(|completion| completion.tokens);
        if let Some(tokens) = tokens {
            telemetry.tokens(backend_id, tokens.input, tokens.output);
            let counters = &self.counters;
            counters
                .input_tokens
                .fetch_add(u64::from(tokens.input), Ordering::Relaxed);
            counters
                .output_tokens
                .fetch_add(u64::from(tokens.output), Ordering::Relaxed);
        }
        tracing::debug!(
            elapsed_ms = elapsed.as_millis() as u64,
            answered = outcome.is_ok(),
            input_tokens = tokens.map(|t| t.input),
            output_tokens = tokens.map(|t| t.output),
            "backend call finished"
        );
        outcome
    }
}

/// What a call's outcome says about the backend's health. A rejected request (a bad key, a
/// bad model) says nothing about it: the backend answered.
fn healthy(outcome: &Result<Completion, CallFailure>) -> bool {
    match outcome {
        Ok(_) => true,
        Err(CallFailure::Backend(failure)) => !failure.retryable,
        Err(_) => false,
    }
}

/// A breaker permit, resolved exactly once: with the call's outcome (stage 7), or as
/// cancelled when the call is dropped midway, so that a cancelled half-open probe does not
/// wedge the breaker.
struct BreakerPermit<'a> {
    inner: &'a Inner,
    backend: &'a str,
    permit: Option<Permit>,
}

impl BreakerPermit<'_> {
    /// Stage 7: the call's outcome settles the permit.
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
    fn settle(&mut self, outcome: impl FnOnce(&mut CircuitBreaker, Permit, std::time::Instant)) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let probe = permit.is_probe();
        if let Some(breaker) = self.inner.breakers.lock().get_mut(self.backend) {
            outcome(breaker, permit, Instant::now().into_std());
        }
        if probe {
            self.inner.probe_settled.notify_waiters();
        }
    }
}

impl Drop for BreakerPermit<'_> {
    fn drop(&mut self) {
        self.settle(|breaker, permit, now| breaker.on_cancel(permit, now));
    }
}
