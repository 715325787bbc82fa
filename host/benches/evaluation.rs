//! Evaluation engine benchmarks.
//!
//! - `evaluation/in-process/*`: a whole 20 × 15 evaluation (300 cells) against an in-process
//!   backend that answers instantly, next to `backend-alone`, the same backend calls replayed
//!   one after another without the engine. The difference is the orchestrator's overhead.
//! - `evaluation/plugin/*`: 6 × 4 through the real `litellm` plugin against a zero-latency
//!   loopback OpenAI-compatible mock.
//! - `evaluation/50ms/*`: 6 × 4 through the plugin against a mock that answers after 50 ms;
//!   compare with the ideal of one 50 ms round trip per wave of concurrent calls.
//!
//! Every run prints the backend calls per evaluation. Run with
//! `cargo bench -p decision-matrix --bench evaluation`; BENCHMARKS.md records results.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use decision_matrix::domain::{CriterionSpec, Limits, Session, SessionDefaults, Tokens};
use decision_matrix::evaluation::{
    Backend, BackendFailure, Backends, Completion, CompletionRequest, EvaluationSettings,
    Evaluator, Plan,
};
use decision_matrix::plugins::grants::GrantsConfig;
use decision_matrix::plugins::net::SecretStore;
use decision_matrix::plugins::{PluginCatalog, PluginHost, PluginSettings};
use decision_matrix::providers::{self, Environment};
use decision_matrix_testkit::{MockServer, judge};
use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

/// Answers every prompt correctly, at once, and can record what it was asked.
struct Judge {
    recorded: Option<Mutex<Vec<CompletionRequest>>>,
}

impl Backend for Judge {
    fn complete(
        &self,
        request: CompletionRequest,
    ) -> BoxFuture<'_, Result<Completion, BackendFailure>> {
        Box::pin(async move {
            let text = judge::answer(&request.prompt.system, &request.prompt.user, &[]);
            if let Some(recorded) = &self.recorded {
                recorded.lock().expect("lock").push(request);
            }
            Ok(Completion {
                text,
                model: "judge".to_owned(),
                tokens: Some(Tokens {
                    input: 100,
                    output: 30,
                }),
            })
        })
    }
}

fn session(options: usize, criteria: usize, backend: &str) -> Session {
    Session::new(
        "bench".to_owned(),
        "Choose a platform for the next five years".to_owned(),
        (0..options)
            .map(|o| {
                (
                    format!("option {o:02}"),
                    Some(format!("description of option {o}")),
                )
            })
            .collect(),
        (0..criteria)
            .map(|c| CriterionSpec {
                name: format!("criterion {c:02}"),
                description: format!("how well the option does on aspect {c}"),
                weight: 1.0 + c as f64 / 10.0,
                ..CriterionSpec::default()
            })
            .collect(),
        SessionDefaults {
            backend: backend.to_owned(),
            model: None,
            temperature: 0.0,
            judges: Vec::new(),
        },
        &Limits {
            max_criteria_allowed: 20,
            ..Limits::default()
        },
        time::OffsetDateTime::now_utc(),
    )
    .expect("valid session")
}

fn settings(batch_size: usize) -> EvaluationSettings {
    EvaluationSettings {
        batch_size,
        // Every iteration must reach the backend.
        cache_entries: 0,
        ..EvaluationSettings::default()
    }
}

/// One whole evaluation of `session`, cells recorded as the server records them. Returns the
/// session, so the timed benchmarks can leave dropping it (which a server never does right
/// after an evaluation) out of the measurement.
async fn evaluate(evaluator: &Evaluator, mut session: Session) -> (u64, Session) {
    let mut results = Vec::new();
    let report = evaluator
        .run(Plan::new(&session, false), CancellationToken::new(), |r| {
            results.push(r)
        })
        .await;
    for r in results {
        session.record(r.option, r.criterion, r.cell);
    }
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.scored, report.planned);
    (report.calls, session)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn in_process(c: &mut Criterion) {
    in_process_on(c, "evaluation/in-process", &runtime());
    // One thread takes cross-thread wake-ups and work stealing out, leaving the CPU work.
    let single = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    in_process_on(c, "evaluation/in-process-1-thread", &single);
}

fn in_process_on(c: &mut Criterion, name: &str, rt: &tokio::runtime::Runtime) {
    let big = session(20, 15, "judge");
    let mut group = c.benchmark_group(name);
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(5));
    for batch_size in [5usize, 1] {
        // The calls one evaluation makes, for the replay.
        let recorder = Arc::new(Judge {
            recorded: Some(Mutex::new(Vec::new())),
        });
        let backends: Backends =
            BTreeMap::from([("judge".to_owned(), recorder.clone() as Arc<dyn Backend>)]);
        let (calls, _) = rt.block_on(evaluate(
            &Evaluator::new(backends, settings(batch_size)),
            big.clone(),
        ));
        let requests = recorder
            .recorded
            .as_ref()
            .map(|r| r.lock().expect("lock").clone())
            .unwrap_or_default();
        eprintln!("20x15, batch size {batch_size}: {calls} backend calls per evaluation");

        let judge: Arc<dyn Backend> = Arc::new(Judge { recorded: None });
        let evaluator = Evaluator::new(
            BTreeMap::from([("judge".to_owned(), judge.clone())]),
            settings(batch_size),
        );
        group.bench_with_input(
            BenchmarkId::new("20x15 evaluate", batch_size),
            &batch_size,
            |b, _| {
                b.to_async(rt).iter_batched(
                    || big.clone(),
                    |session| evaluate(&evaluator, session),
                    BatchSize::SmallInput,
                )
            },
        );
        group.bench_with_input(
            BenchmarkId::new("20x15 backend-alone", batch_size),
            &batch_size,
            |b, _| {
                b.to_async(rt).iter(|| async {
                    for request in &requests {
                        judge.complete(request.clone()).await.expect("answer");
                    }
                })
            },
        );
    }
    group.finish();
}

fn through_plugin(c: &mut Criterion) {
    let rt = runtime();
    for (name, latency) in [
        ("plugin", Duration::ZERO),
        ("50ms", Duration::from_millis(50)),
    ] {
        let server = rt.block_on(MockServer::start_unrecorded(judge::openai_router(latency)));
        let builtins = providers::derive_builtins(
            &Environment::from_pairs([("LITELLM_BASE_URL", format!("{}/v1", server.base_url()))]),
            None,
        )
        .expect("settings");
        let grants = providers::apply(&GrantsConfig::default(), &builtins);
        let host = PluginHost::with_secrets(
            PluginSettings {
                dir: None,
                ..PluginSettings::default()
            },
            grants,
            SecretStore::default(),
        )
        .expect("host");
        let catalog = PluginCatalog::load(&host, None);
        let plugin: Arc<dyn Backend> =
            Arc::new(catalog.backend("litellm").expect("built in").clone());
        let small = session(6, 4, "litellm");
        let mut group = c.benchmark_group(format!("evaluation/{name}"));
        group
            .sample_size(if latency.is_zero() { 30 } else { 10 })
            .measurement_time(Duration::from_secs(5));
        for batch_size in [5usize, 1] {
            let evaluator = Evaluator::new(
                BTreeMap::from([("litellm".to_owned(), plugin.clone())]),
                settings(batch_size)
                    .with_backend_defaults(builtins.iter().map(|b| (b.id.as_str(), &b.defaults))),
            );
            let (calls, _) = rt.block_on(evaluate(&evaluator, small.clone()));
            let waves = calls.div_ceil(evaluator.settings().max_concurrent_per_session as u64);
            eprintln!(
                "6x4 {name}, batch size {batch_size}: {calls} backend calls, {waves} wave(s), \
                 ideal {:?}",
                latency * waves as u32
            );
            group.bench_with_input(BenchmarkId::new("6x4", batch_size), &batch_size, |b, _| {
                b.to_async(&rt).iter_custom(|iters| {
                    let (evaluator, small) = (&evaluator, &small);
                    async move {
                        let start = Instant::now();
                        for _ in 0..iters {
                            evaluate(evaluator, small.clone()).await;
                        }
                        start.elapsed()
                    }
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, in_process, through_plugin);
criterion_main!(benches);
