//! A fault-injecting LLM judge: the fair judge of [`crate::judge`] behind a loopback HTTP
//! endpoint (OpenAI chat completions or Ollama chat) that fails a chosen share of calls the
//! ways real providers do: HTTP 429 with a retry hint, HTTP 500, a hang past any sensible
//! timeout, or a malformed answer.
//!
//! Which calls fail is decided from the request itself, not from the order calls arrive in: a
//! SHA-256 of the seed, the prompt and how many times that exact prompt was seen before. So
//! a run with many evaluations in flight at once injects the same faults into the same
//! calls every time, whatever the scheduling, and two runs give the same figures (as long as
//! nothing else depends on timing, such as a circuit breaker counting consecutive failures
//! across concurrent calls). The tests use it to show that faults lose no cell and put no
//! answer in the wrong cell; the `faults` benchmark uses it for the figures in
//! `docs/reliability.md`.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::judge;

/// A way a provider call goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// HTTP 429 with `retry-after-ms: 20` and `retry-after: 1`, as OpenAI sends them.
    RateLimited,
    /// HTTP 500 with an OpenAI-style error body.
    ServerError,
    /// No answer until the judge's hang time has passed (far beyond the caller's timeout).
    Hang,
    /// HTTP 200 with prose instead of the JSON asked for.
    Malformed,
}

impl Fault {
    /// Every kind, in the order [`FaultyJudge::injected`] counts them.
    pub const ALL: [Fault; 4] = [
        Fault::RateLimited,
        Fault::ServerError,
        Fault::Hang,
        Fault::Malformed,
    ];

    /// A short name, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Fault::RateLimited => "429",
            Fault::ServerError => "500",
            Fault::Hang => "hang",
            Fault::Malformed => "malformed",
        }
    }

    fn index(self) -> usize {
        match self {
            Fault::RateLimited => 0,
            Fault::ServerError => 1,
            Fault::Hang => 2,
            Fault::Malformed => 3,
        }
    }
}

/// How the judge answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Every call answered correctly.
    Healthy,
    /// `per_mille` ‰ of calls fail, each with one of `kinds`, chosen evenly.
    Faulty {
        /// Share of calls that fail, in thousandths.
        per_mille: u32,
        /// The faults to choose from; empty means none.
        kinds: Vec<Fault>,
    },
    /// Every call fails with this fault: a backend that is down.
    Always(Fault),
}

impl Mode {
    /// `percent` % of calls fail, the four kinds of fault mixed evenly.
    pub fn mixed(percent: u32) -> Mode {
        Mode::Faulty {
            per_mille: percent * 10,
            kinds: Fault::ALL.to_vec(),
        }
    }

    /// `percent` % of calls fail, all with `fault`.
    pub fn only(percent: u32, fault: Fault) -> Mode {
        Mode::Faulty {
            per_mille: percent * 10,
            kinds: vec![fault],
        }
    }
}

/// The judge's state: its mode and what it has done. Share it with the router through
/// [`FaultyJudge::openai_router`] or [`FaultyJudge::ollama_router`].
pub struct FaultyJudge {
    mode: Mutex<Mode>,
    seed: u64,
    hang: Duration,
    calls: AtomicUsize,
    injected: [AtomicUsize; 4],
    /// How often each prompt (by hash) was seen, so a retry of it rolls again.
    seen: Mutex<HashMap<[u8; 32], u32>>,
}

impl FaultyJudge {
    /// A judge in `mode`, its schedule drawn from `seed`, hanging for 30 s on a hang fault.
    pub fn new(mode: Mode, seed: u64) -> Arc<FaultyJudge> {
        FaultyJudge::with_hang(mode, seed, Duration::from_secs(30))
    }

    /// Like [`FaultyJudge::new`], with hangs lasting `hang`.
    pub fn with_hang(mode: Mode, seed: u64, hang: Duration) -> Arc<FaultyJudge> {
        Arc::new(FaultyJudge {
            mode: Mutex::new(mode),
            seed,
            hang,
            calls: AtomicUsize::new(0),
            injected: Default::default(),
            seen: Mutex::default(),
        })
    }

    /// Switches the mode; calls already in flight keep the fault they drew.
    pub fn set(&self, mode: Mode) {
        *lock(&self.mode) = mode;
    }

    /// Calls received so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Faults injected so far, of every kind.
    pub fn faults(&self) -> usize {
        self.injected.iter().map(|n| n.load(Ordering::SeqCst)).sum()
    }

    /// Faults of `kind` injected so far.
    pub fn injected(&self, kind: Fault) -> usize {
        self.injected[kind.index()].load(Ordering::SeqCst)
    }

    /// The chat completions endpoint (`/v1/chat/completions`) answering as this judge.
    pub fn openai_router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/v1/chat/completions", post(openai))
            .with_state(self.clone())
    }

    /// Ollama's chat endpoint (`/api/chat`) answering as this judge.
    pub fn ollama_router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/api/chat", post(ollama))
            .with_state(self.clone())
    }

    /// The fault for this prompt now, if any (and counts the call).
    fn draw(&self, system: &str, user: &str) -> Option<Fault> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mode = lock(&self.mode).clone();
        let fault = match mode {
            Mode::Healthy => None,
            Mode::Always(fault) => Some(fault),
            Mode::Faulty { per_mille, kinds } => {
                let prompt: [u8; 32] = Sha256::new()
                    .chain_update(system)
                    .chain_update([0])
                    .chain_update(user)
                    .finalize()
                    .into();
                let occurrence = {
                    let mut seen = lock(&self.seen);
                    let count = seen.entry(prompt).or_default();
                    *count += 1;
                    *count
                };
                let roll: [u8; 32] = Sha256::new()
                    .chain_update(self.seed.to_le_bytes())
                    .chain_update(prompt)
                    .chain_update(occurrence.to_le_bytes())
                    .finalize()
                    .into();
                let word = |at: usize| {
                    let mut bytes = [0; 8];
                    bytes.copy_from_slice(&roll[at..at + 8]);
                    u64::from_le_bytes(bytes)
                };
                let fails = word(0) % 1000 < u64::from(per_mille);
                // The kind from other bits than the decision, so kinds stay evenly mixed.
                (fails && !kinds.is_empty()).then(|| kinds[(word(8) % kinds.len() as u64) as usize])
            }
        };
        if let Some(fault) = fault {
            self.injected[fault.index()].fetch_add(1, Ordering::SeqCst);
        }
        fault
    }

    /// The answer to `body`, in the provider's `format`.
    async fn respond(&self, body: &Value, format: fn(&str) -> Value) -> Response {
        let (system, user) = judge::openai_prompt(body);
        let Some(fault) = self.draw(&system, &user) else {
            return Json(format(&judge::answer(&system, &user, &[]))).into_response();
        };
        match fault {
            Fault::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after-ms", "20"), ("retry-after", "1")],
                Json(json!({"error": {"message": "Rate limit reached for requests", "type": "requests", "param": null, "code": "rate_limit_exceeded"}})),
            )
                .into_response(),
            Fault::ServerError => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": {"message": "The server had an error while processing your request", "type": "server_error", "param": null, "code": "internal_error"}})),
            )
                .into_response(),
            Fault::Hang => {
                tokio::time::sleep(self.hang).await;
                Json(format(&judge::answer(&system, &user, &[]))).into_response()
            }
            Fault::Malformed => {
                Json(format("I would rate this option quite highly overall.")).into_response()
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> parking_lot::MutexGuard<'_, T> {
    mutex.lock()
}

async fn openai(State(judge): State<Arc<FaultyJudge>>, Json(body): Json<Value>) -> Response {
    judge.respond(&body, judge::openai_response).await
}

async fn ollama(State(judge): State<Arc<FaultyJudge>>, Json(body): Json<Value>) -> Response {
    judge.respond(&body, ollama_response).await
}

/// A complete Ollama chat response whose message is `content`.
pub fn ollama_response(content: &str) -> Value {
    json!({
        "model": "llama3.1:8b",
        "created_at": "2026-12-01T12:00:00Z",
        "message": {"role": "assistant", "content": content},
        "done": true,
        "done_reason": "stop",
        "prompt_eval_count": 90,
        "eval_count": 25
    })
}
