//! A noisy "LLM judge", as real judges are: each score is the true score plus fresh Gaussian
//! noise, plus a bias by place in the list (the first listed option gains `position_bias`,
//! the last loses it, linearly between), plus a leaning of the model's own (fixed per model,
//! criterion and option, uniform in `±leaning`), rounded and clamped to 1–10.
//!
//! It reads the prompts the evaluation engine writes (see [`judge`](crate::judge)), so it
//! answers for exactly the options listed, under their keys, in the format asked. The true
//! scores are [`judge::expected_score`] unless a test sets them. The noise is seeded by the
//! prompt and how many times the same prompt came before, not by arrival order: concurrent
//! calls get the same answers however they interleave, and a test's run is reproducible.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use sha2::{Digest, Sha256};

use crate::judge;

/// How the judge errs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Noise {
    /// Standard deviation of the fresh noise of each judgment.
    pub sd: f64,
    /// Points added to the first listed option and taken from the last.
    pub position_bias: f64,
    /// Half-width of the model's fixed leaning per cell.
    pub leaning: f64,
}

impl Noise {
    /// A judge that gives the true score every time.
    pub const NONE: Noise = Noise {
        sd: 0.0,
        position_bias: 0.0,
        leaning: 0.0,
    };

    /// The issue's noisy judge: noise 1.5, position bias ±1.
    pub const TYPICAL: Noise = Noise {
        sd: 1.5,
        position_bias: 1.0,
        leaning: 0.0,
    };
}

/// The judge's state, shared with the test.
pub struct NoisyJudge {
    noise: Noise,
    truth: BTreeMap<(String, String), f64>,
    seed: u64,
    /// How many times each prompt (by hash) was answered.
    asked: parking_lot::Mutex<std::collections::HashMap<[u8; 32], u64>>,
    /// While set, every request fails with a 500.
    pub failing: AtomicBool,
    /// This many requests fail with a 500 before the judge answers again.
    pub fail_next: AtomicU64,
}

impl NoisyJudge {
    /// A judge erring as `noise` with true scores `truth` ((criterion, option) → score;
    /// [`judge::expected_score`] for pairs not listed), seeded by `seed`.
    pub fn new(noise: Noise, truth: &[((&str, &str), f64)], seed: u64) -> Arc<NoisyJudge> {
        Arc::new(NoisyJudge {
            noise,
            truth: truth
                .iter()
                .map(|((c, o), s)| (((*c).to_owned(), (*o).to_owned()), *s))
                .collect(),
            seed,
            asked: parking_lot::Mutex::default(),
            failing: AtomicBool::new(false),
            fail_next: AtomicU64::new(0),
        })
    }

    /// The true score of `option` on `criterion`.
    pub fn truth(&self, criterion: &str, option: &str) -> f64 {
        self.truth
            .get(&(criterion.to_owned(), option.to_owned()))
            .copied()
            .unwrap_or_else(|| judge::expected_score(criterion, option))
    }

    /// An OpenAI-compatible chat completions endpoint for this judge.
    pub fn router(self: &Arc<NoisyJudge>) -> Router {
        Router::new()
            .route("/v1/chat/completions", post(handle))
            .with_state(self.clone())
    }

    /// The score for `option` on `criterion`, listed at `place` of `of`, by `model`, as the
    /// `n`th answer.
    fn score(
        &self,
        model: &str,
        criterion: &str,
        option: &str,
        place: usize,
        of: usize,
        n: u64,
    ) -> f64 {
        let lean = if of < 2 {
            0.0
        } else {
            1.0 - 2.0 * place as f64 / (of - 1) as f64
        };
        let leaning =
            (unit(&[model, criterion, option], self.seed) * 2.0 - 1.0) * self.noise.leaning;
        let n = n.to_string();
        let place = place.to_string();
        let (u1, u2) = (
            unit(&[&n, &place, option, criterion, "1"], self.seed),
            unit(&[&n, &place, option, criterion, "2"], self.seed),
        );
        // Box–Muller; u1 is never 0 (see `unit`).
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let raw = self.truth(criterion, option)
            + leaning
            + self.noise.position_bias * lean
            + self.noise.sd * z;
        raw.round().clamp(1.0, 10.0)
    }
}

/// A number in (0, 1] drawn from `parts` and `seed`.
fn unit(parts: &[&str], seed: u64) -> f64 {
    let mut hash = Sha256::new();
    hash.update(seed.to_le_bytes());
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    ((u64::from_le_bytes(bytes) >> 11) as f64 + 1.0) / (1u64 << 53) as f64
}

async fn handle(
    State(judge): State<Arc<NoisyJudge>>,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let failing_next = judge
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing_next || judge.failing.load(Ordering::SeqCst) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "the judge is down").into_response();
    }
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let (system, user) = judge::openai_prompt(&body);
    let prompt: [u8; 32] = Sha256::new()
        .chain_update(model.as_bytes())
        .chain_update([0])
        .chain_update(system.as_bytes())
        .chain_update([0])
        .chain_update(user.as_bytes())
        .finalize()
        .into();
    let n = {
        let mut asked = judge.asked.lock();
        let count = asked.entry(prompt).or_insert(0);
        *count += 1;
        // The prompt itself and its repeat count: distinct for every distinct answer wanted.
        u64::from_le_bytes(prompt[..8].try_into().unwrap_or_default()) ^ *count
    };
    let criterion = judge::criterion_of(&system);
    let options = judge::options_of(&user);
    let verdict = |name: &str, place: usize| {
        format!(
            r#""score": {}, "justification": "{}", "status": "scored""#,
            judge.score(&model, &criterion, name, place, options.len(), n),
            judge::expected_justification(&criterion, name)
        )
    };
    let content = if judge::is_single(&user) {
        let name = options.first().map(|(_, n)| n.as_str()).unwrap_or_default();
        format!("{{{}}}", verdict(name, 0))
    } else {
        let entries: Vec<String> = options
            .iter()
            .enumerate()
            .map(|(place, (key, name))| {
                format!(r#"{{"option": "{key}", {}}}"#, verdict(name, place))
            })
            .collect();
        format!(r#"{{"evaluations": [{}]}}"#, entries.join(", "))
    };
    Json(judge::openai_response(&content)).into_response()
}
