//! The orchestrator against in-process fake backends: every path of the attempt loop, with
//! call counts. (The same behaviours through the real plugins and loopback provider mocks are
//! in `host/tests/it/evaluation.rs`.)

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use time::macros::datetime;
use tokio_util::sync::CancellationToken;

use crate::domain::{CellStatus, CriterionSpec, Limits, Score, Session, SessionDefaults};

use super::backend::{Backend, BackendFailure, Backends, Completion, CompletionRequest};
use super::orchestrator::{CellResult, EvaluationReport, Evaluator};
use super::plan::Plan;
use super::resilience::breaker::BreakerConfig;
use super::resilience::retry::RetryPolicy;
use super::{EvaluationSettings, Fallback};
use crate::providers::Routing;

use decision_matrix_testkit::judge::{self, expected_score as expected};

const OPTIONS: [&str; 6] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];

/// The judge's correct answer to `request`, leaving out the options in `skip`.
fn answer(request: &CompletionRequest, skip: &[&str]) -> String {
    judge::answer(&request.prompt.system, &request.prompt.user, skip)
}

/// `(key, option name)` of every option a request asks about.
fn options_of(request: &CompletionRequest) -> Vec<(String, String)> {
    judge::options_of(&request.prompt.user)
}

type Behaviour = dyn Fn(usize, &CompletionRequest) -> Result<String, BackendFailure> + Send + Sync;

/// A backend whose answer to call `n` is decided by a closure; records every request.
struct Fake {
    requests: Mutex<Vec<CompletionRequest>>,
    calls: AtomicUsize,
    delay: Duration,
    behaviour: Box<Behaviour>,
}

impl Fake {
    fn new(
        behaviour: impl Fn(usize, &CompletionRequest) -> Result<String, BackendFailure>
        + Send
        + Sync
        + 'static,
    ) -> Arc<Fake> {
        Arc::new(Fake {
            requests: Mutex::new(Vec::new()),
            calls: AtomicUsize::new(0),
            delay: Duration::ZERO,
            behaviour: Box::new(behaviour),
        })
    }

    fn correct() -> Arc<Fake> {
        Fake::new(|_, request| Ok(answer(request, &[])))
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Backend for Fake {
    fn complete(
        &self,
        request: CompletionRequest,
    ) -> BoxFuture<'_, Result<Completion, BackendFailure>> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            self.requests.lock().push(request.clone());
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            (self.behaviour)(n, &request).map(|text| Completion {
                text,
                model: "fake-1".to_owned(),
                tokens: Some(crate::domain::Tokens {
                    input: 100,
                    output: 20,
                }),
            })
        })
    }
}

fn failure(message: &str, retryable: bool) -> BackendFailure {
    BackendFailure {
        message: message.to_owned(),
        retryable,
        retry_after: None,
    }
}

fn session(options: usize, criteria: &[&str]) -> Session {
    Session::new(
        "s1".to_owned(),
        "Pick a codename".to_owned(),
        OPTIONS[..options]
            .iter()
            .map(|o| ((*o).to_owned(), None))
            .collect(),
        criteria
            .iter()
            .map(|c| CriterionSpec {
                name: (*c).to_owned(),
                description: format!("{c} matters"),
                weight: 1.0,
                ..CriterionSpec::default()
            })
            .collect(),
        SessionDefaults {
            backend: "fake".to_owned(),
            model: None,
            temperature: 0.0,
            judges: Vec::new(),
        },
        &Limits::default(),
        datetime!(2026-01-01 00:00 UTC),
    )
    .expect("valid session")
}

fn settings() -> EvaluationSettings {
    EvaluationSettings {
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            ..RetryPolicy::default()
        },
        ..EvaluationSettings::default()
    }
}

fn evaluator(backends: &[(&str, Arc<Fake>)], settings: EvaluationSettings) -> Evaluator {
    let backends: Backends = backends
        .iter()
        .map(|(id, fake)| ((*id).to_owned(), fake.clone() as Arc<dyn Backend>))
        .collect::<BTreeMap<_, _>>();
    Evaluator::new(backends, settings)
}

/// Runs the session's pending cells and records them, as the server does.
async fn evaluate(
    evaluator: &Evaluator,
    session: &mut Session,
    force: bool,
) -> (EvaluationReport, Vec<CellResult>) {
    let mut results = Vec::new();
    let report = evaluator
        .run(
            Plan::new(session, force),
            CancellationToken::new(),
            |result| results.push(result),
        )
        .await;
    for result in &results {
        assert!(
            session.record(result.option, result.criterion, result.cell.clone()),
            "a fresh result is accepted"
        );
    }
    (report, results)
}

fn assert_all_correct(session: &Session) {
    for criterion in session.criteria() {
        for option in session.options() {
            let cell = session
                .cell(option.id, criterion.id)
                .unwrap_or_else(|| panic!("{} × {} missing", criterion.name, option.name));
            assert_eq!(
                cell.status,
                CellStatus::Scored {
                    score: Score::new(expected(&criterion.name, &option.name)).expect("range")
                },
                "{} × {}",
                criterion.name,
                option.name
            );
            assert_eq!(
                cell.justification,
                format!("{} on {}", option.name, criterion.name)
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn batching_scores_every_cell_with_fewer_calls() {
    for (batch_size, expected_calls) in [(5, 4), (1, 12), (6, 2)] {
        let fake = Fake::correct();
        let evaluator = evaluator(
            &[("fake", fake.clone())],
            EvaluationSettings {
                batch_size,
                ..settings()
            },
        );
        let mut s = session(6, &["cost", "speed"]);
        let (report, _) = evaluate(&evaluator, &mut s, false).await;
        assert_eq!(fake.calls(), expected_calls, "batch size {batch_size}");
        assert_eq!(report.scored, 12);
        assert_eq!(report.calls, expected_calls as u64);
        assert!(report.failures.is_empty());
        assert_all_correct(&s);
    }
}

#[tokio::test(start_paused = true)]
async fn an_incomplete_batch_asks_only_for_the_missing_options() {
    let fake = Fake::new(|n, request| {
        Ok(if n == 0 {
            answer(request, &["bravo", "delta"])
        } else {
            answer(request, &[])
        })
    });
    let evaluator = evaluator(&[("fake", fake.clone())], settings());
    let mut s = session(4, &["cost"]);
    let (report, results) = evaluate(&evaluator, &mut s, false).await;
    assert_eq!(fake.calls(), 2);
    let second = fake.requests.lock()[1].clone();
    let asked: Vec<String> = options_of(&second).into_iter().map(|(_, n)| n).collect();
    assert_eq!(asked, vec!["bravo", "delta"]);
    assert!(second.prompt.user.contains("could not be used"));
    assert_eq!(report.scored, 4);
    let bravo = results
        .iter()
        .find(|r| &*r.option_name == "bravo")
        .expect("bravo");
    assert_eq!(bravo.cell.attempts, 2);
    assert_all_correct(&s);
}

#[tokio::test(start_paused = true)]
async fn malformed_answers_are_asked_again_and_count_as_attempts() {
    let fake = Fake::new(|n, request| {
        Ok(if n < 2 {
            "I think it is pretty good.".to_owned()
        } else {
            answer(request, &[])
        })
    });
    let evaluator = evaluator(&[("fake", fake.clone())], settings());
    let mut s = session(2, &["cost"]);
    let (report, results) = evaluate(&evaluator, &mut s, false).await;
    assert_eq!(fake.calls(), 3);
    assert_eq!(report.scored, 2);
    assert!(results.iter().all(|r| r.cell.attempts == 3));
    assert_all_correct(&s);
}

#[tokio::test(start_paused = true)]
async fn failures_are_failures_not_abstentions() {
    // Not retryable: one call, then failed.
    let fake = Fake::new(|_, _| Err(failure("HTTP 401: bad key", false)));
    let evaluator_ = evaluator(&[("fake", fake.clone())], settings());
    let mut s = session(3, &["cost"]);
    let (report, results) = evaluate(&evaluator_, &mut s, false).await;
    assert_eq!(fake.calls(), 1);
    assert_eq!(report.failures.len(), 3);
    assert_eq!(report.abstained, 0);
    for r in &results {
        let CellStatus::Failed { reason } = &r.cell.status else {
            panic!("expected a failure, got {:?}", r.cell.status);
        };
        assert!(reason.contains("bad key"), "{reason}");
    }
    assert!(report.failures[0].starts_with("cost→"));

    // Retryable: every attempt, then failed with the reason and why it gave up.
    let fake = Fake::new(|_, _| Err(failure("HTTP 500: overloaded", true)));
    let evaluator_ = evaluator(&[("fake", fake.clone())], settings());
    let mut s = session(3, &["cost"]);
    let (report, results) = evaluate(&evaluator_, &mut s, false).await;
    assert_eq!(fake.calls(), 3);
    assert_eq!(report.failures.len(), 3);
    let CellStatus::Failed { reason } = &results[0].cell.status else {
        panic!("expected a failure");
    };
    assert!(
        reason.contains("overloaded") && reason.contains("attempts"),
        "{reason}"
    );
    // Failed cells are computed again by the next evaluation.
    assert_eq!(s.pending(false).len(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_breaker_opens_fails_fast_and_recovers() {
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = healthy.clone();
    let fake = Fake::new(move |_, request| {
        if flag.load(Ordering::SeqCst) {
            Ok(answer(request, &[]))
        } else {
            Err(failure("HTTP 503", true))
        }
    });
    let evaluator = evaluator(
        &[("fake", fake.clone())],
        EvaluationSettings {
            batch_size: 1,
            max_concurrent_per_session: 1,
            breaker: BreakerConfig {
                enabled: true,
                failure_threshold: 2,
                open_for: Duration::from_millis(200),
            },
            retry: RetryPolicy {
                max_attempts: 1,
                ..settings().retry
            },
            ..settings()
        },
    );
    let mut s = session(6, &["cost"]);
    let (report, _) = evaluate(&evaluator, &mut s, false).await;
    // Two real failures open the breaker; the other four cells fail without a call.
    assert_eq!(fake.calls(), 2);
    assert_eq!(report.failures.len(), 6);
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.contains("circuit breaker is open")),
        "{:?}",
        report.failures
    );
    let (_, state) = evaluator.breakers().remove(0);
    assert_eq!(state.status.as_str(), "open");
    let recorded = evaluator
        .telemetry()
        .snapshot(crate::telemetry::Gauges::default());
    let fake_stats = &recorded.backends[0];
    assert_eq!(
        (fake_stats.calls, fake_stats.errors, fake_stats.rejected),
        (2, 2, 4),
        "calls refused by the open breaker are counted apart"
    );

    healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (report, _) = evaluate(&evaluator, &mut s, false).await;
    assert_eq!(report.scored, 6, "{:?}", report.failures);
    assert_all_correct(&s);
    let (_, state) = evaluator.breakers().remove(0);
    assert_eq!(state.status.as_str(), "closed");
}

/// A batch whose retry meets the breaker its own failure opened reports that failure too:
/// "circuit breaker is open" alone would not say what is wrong with the backend.
#[tokio::test(start_paused = true)]
async fn a_retry_refused_by_the_breaker_reports_the_failure_before_it() {
    let fake = Fake::new(|_, _| Err(failure("HTTP 500: upstream exploded", true)));
    let evaluator = evaluator(
        &[("fake", fake.clone())],
        EvaluationSettings {
            breaker: BreakerConfig {
                enabled: true,
                failure_threshold: 1,
                open_for: Duration::from_secs(60),
            },
            ..settings()
        },
    );
    // Two options, one batch, one call: its retry is refused by the breaker it opened.
    let mut s = session(2, &["cost"]);
    let (report, _) = evaluate(&evaluator, &mut s, false).await;
    assert_eq!(fake.calls(), 1, "the retry is refused by the open breaker");
    assert_eq!(report.failures.len(), 2, "{:?}", report.failures);
    for failure in &report.failures {
        assert!(
            failure.contains("circuit breaker is open")
                && failure.contains("before that, this call failed: HTTP 500: upstream exploded"),
            "{failure}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn calls_arriving_while_the_probe_is_out_wait_for_its_outcome() {
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = healthy.clone();
    // Slow enough that every batch of an evaluation reaches the breaker while the probe is
    // still out.
    let fake = Arc::new(Fake {
        requests: Mutex::new(Vec::new()),
        calls: AtomicUsize::new(0),
        delay: Duration::from_millis(50),
        behaviour: Box::new(move |_, request| {
            if flag.load(Ordering::SeqCst) {
                Ok(answer(request, &[]))
            } else {
                Err(failure("HTTP 503", true))
            }
        }),
    });
    let evaluator = evaluator(
        &[("fake", fake.clone())],
        EvaluationSettings {
            batch_size: 1,
            breaker: BreakerConfig {
                enabled: true,
                failure_threshold: 2,
                open_for: Duration::from_millis(200),
            },
            retry: RetryPolicy {
                max_attempts: 1,
                ..settings().retry
            },
            ..settings()
        },
    );
    let mut s = session(6, &["cost"]);
    let (report, _) = evaluate(&evaluator, &mut s, false).await;
    assert_eq!(report.failures.len(), 6);
    let open_period = || tokio::time::sleep(Duration::from_millis(250));

    // Still down: the probe fails, and the calls that waited for it fail without a call.
    open_period().await;
    let calls = fake.calls();
    let (report, _) = evaluate(&evaluator, &mut s, false).await;
    assert_eq!(
        fake.calls() - calls,
        1,
        "only the probe reached the backend"
    );
    assert_eq!(report.failures.len(), 6);
    assert_eq!(
        report
            .failures
            .iter()
            .filter(|f| f.contains("circuit breaker is open"))
            .count(),
        5,
        "{:?}",
        report.failures
    );

    // Back up: the probe succeeds, closing the breaker, and the calls that waited for it
    // go through: the first evaluation after the outage scores everything.
    healthy.store(true, Ordering::SeqCst);
    open_period().await;
    let calls = fake.calls();
    let (report, _) = evaluate(&evaluator, &mut s, false).await;
    assert_eq!(report.scored, 6, "{:?}", report.failures);
    assert_eq!(
        fake.calls() - calls,
        6,
        "the probe, then the five that waited"
    );
    assert_all_correct(&s);
    let (_, state) = evaluator.breakers().remove(0);
    assert_eq!(state.status.as_str(), "closed");
}

#[tokio::test(start_paused = true)]
async fn identical_requests_come_from_the_cache_unless_forced() {
    let fake = Fake::correct();
    let evaluator = evaluator(&[("fake", fake.clone())], settings());
    let mut first = session(6, &["cost", "speed"]);
    evaluate(&evaluator, &mut first, false).await;
    assert_eq!(fake.calls(), 4);

    // Another session asking the same questions costs nothing.
    let mut second = session(6, &["cost", "speed"]);
    let (report, _) = evaluate(&evaluator, &mut second, false).await;
    assert_eq!(fake.calls(), 4);
    assert_eq!(report.cache_hits, 4);
    assert_all_correct(&second);

    // Nothing is pending now; force asks again and bypasses the cache.
    let (report, _) = evaluate(&evaluator, &mut second, false).await;
    assert_eq!(report.planned, 0);
    let (report, _) = evaluate(&evaluator, &mut second, true).await;
    assert_eq!(fake.calls(), 8);
    assert_eq!(report.cache_hits, 0);
}

#[tokio::test(start_paused = true)]
async fn the_fallback_answers_when_the_backend_is_down() {
    let down = Fake::new(|_, _| Err(failure("connection refused", true)));
    let spare = Fake::correct();
    let evaluator = evaluator(
        &[("fake", down.clone()), ("spare", spare.clone())],
        EvaluationSettings {
            fallback: Some(Fallback {
                backend: "spare".to_owned(),
                model: Some("spare-model".to_owned()),
            }),
            ..settings()
        },
    );
    let mut s = session(2, &["cost"]);
    let (report, results) = evaluate(&evaluator, &mut s, false).await;
    assert_eq!(down.calls(), 3);
    assert_eq!(spare.calls(), 1);
    assert_eq!(report.scored, 2);
    assert!(
        results
            .iter()
            .all(|r| r.cell.backend.as_deref() == Some("spare"))
    );
    let request = spare.requests.lock()[0].clone();
    assert_eq!(request.model.as_deref(), Some("spare-model"));
    assert_all_correct(&s);
}

#[tokio::test(start_paused = true)]
async fn cancelling_stops_promptly_and_keeps_finished_cells() {
    let fake = Arc::new(Fake {
        requests: Mutex::new(Vec::new()),
        calls: AtomicUsize::new(0),
        delay: Duration::from_secs(3600),
        behaviour: Box::new(|_, request| Ok(answer(request, &[]))),
    });
    let quick = Fake::correct();
    let evaluator = evaluator(
        &[("fake", fake.clone()), ("quick", quick.clone())],
        EvaluationSettings {
            batch_size: 1,
            ..settings()
        },
    );
    let mut s = session(2, &["cost"]);
    // One criterion on a quick backend finishes; the slow one hangs until cancelled.
    s.add_criterion(
        CriterionSpec {
            name: "speed".to_owned(),
            description: "speed matters".to_owned(),
            weight: 1.0,
            backend: Some("quick".to_owned()),
            ..CriterionSpec::default()
        },
        &Limits::default(),
    )
    .expect("valid");
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let mut results = Vec::new();
    let report = evaluator
        .run(Plan::new(&s, false), cancel, |result: CellResult| {
            results.push(result);
            if results.len() == 2 {
                trigger.cancel();
            }
        })
        .await;
    assert!(report.cancelled);
    assert_eq!(report.scored, 2);
    assert!(results.iter().all(|r| &*r.criterion_name == "speed"));
    assert_eq!(fake.calls(), 2, "both slow calls were in flight");
}

#[tokio::test(start_paused = true)]
async fn concurrency_per_session_is_limited() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    struct Counting {
        in_flight: Arc<AtomicUsize>,
        peak: Arc<AtomicUsize>,
    }
    impl Backend for Counting {
        fn complete(
            &self,
            request: CompletionRequest,
        ) -> BoxFuture<'_, Result<Completion, BackendFailure>> {
            Box::pin(async move {
                let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                self.peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok(Completion {
                    text: answer(&request, &[]),
                    model: "m".to_owned(),
                    tokens: None,
                })
            })
        }
    }
    let backend: Arc<dyn Backend> = Arc::new(Counting {
        in_flight: in_flight.clone(),
        peak: peak.clone(),
    });
    let evaluator = Evaluator::new(
        BTreeMap::from([("fake".to_owned(), backend)]),
        EvaluationSettings {
            batch_size: 1,
            max_concurrent_per_session: 3,
            ..settings()
        },
    );
    let mut s = session(6, &["cost", "speed"]);
    let (report, _) = evaluate(&evaluator, &mut s, false).await;
    assert_eq!(report.scored, 12);
    assert_eq!(peak.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn unknown_backends_fail_with_the_list_of_known_ones() {
    let evaluator = evaluator(&[("other", Fake::correct())], settings());
    let mut s = session(2, &["cost"]);
    let (report, _) = evaluate(&evaluator, &mut s, false).await;
    assert_eq!(report.failures.len(), 2);
    assert!(
        report.failures[0].contains("unknown backend 'fake'; available: other"),
        "{:?}",
        report.failures
    );
}

#[tokio::test(start_paused = true)]
async fn backend_calls_retries_tokens_and_the_queue_are_recorded() {
    // The first call fails retryably, the rest answer.
    let fake = Fake::new(|n, request| match n {
        0 => Err(failure("503 overloaded", true)),
        _ => Ok(answer(request, &[])),
    });
    let backends: Backends = [("fake".to_owned(), fake.clone() as Arc<dyn Backend>)]
        .into_iter()
        .collect();
    let telemetry = Arc::new(crate::telemetry::Telemetry::default());
    let evaluator = Evaluator::observed(
        backends,
        settings(),
        None,
        Routing::default(),
        telemetry.clone(),
    );
    let mut s = session(3, &["cost", "speed"]);
    let (report, _) = evaluate(&evaluator, &mut s, false).await;
    assert_eq!(report.scored, 6);
    let snapshot = telemetry.snapshot(crate::telemetry::Gauges::default());
    let fake_stats = &snapshot.backends[0];
    assert_eq!(fake_stats.name, "fake");
    assert_eq!(
        (fake_stats.calls, fake_stats.errors, fake_stats.retries),
        (3, 1, 1)
    );
    assert_eq!(
        (fake_stats.input_tokens, fake_stats.output_tokens),
        (200, 40)
    );
    assert_eq!(fake_stats.latency.count, 3);
    assert_eq!(fake_stats.circuit, None, "breakers come from the gauges");
    assert_eq!(
        snapshot.evaluation_queue_depth, 0,
        "every cell left the queue"
    );
}

#[tokio::test(start_paused = true)]
async fn waits_for_the_rate_limit_are_recorded() {
    let fake = Fake::correct();
    // 120 per minute: a burst of 2, then one every half second.
    let evaluator = evaluator(
        &[("fake", fake.clone())],
        EvaluationSettings {
            batch_size: 1,
            max_concurrent_per_session: 1,
            requests_per_minute: [("fake".to_owned(), 120)].into_iter().collect(),
            ..settings()
        },
    );
    let mut s = session(3, &["cost"]);
    let (report, _) = evaluate(&evaluator, &mut s, false).await;
    assert_eq!(report.scored, 3);
    let recorded = evaluator
        .telemetry()
        .snapshot(crate::telemetry::Gauges::default());
    let fake_stats = &recorded.backends[0];
    assert_eq!(fake_stats.calls, 3);
    assert_eq!(fake_stats.rate_limit_waits, 1, "only the third call waited");
    assert!(
        (0.2..2.0).contains(&fake_stats.rate_limit_wait_seconds),
        "{}",
        fake_stats.rate_limit_wait_seconds
    );
}

/// Options named like batch keys (`o2`, `o1`) get keys of another family, so an answer by
/// name cannot land on the option whose key the name spells.
#[tokio::test(start_paused = true)]
async fn option_names_that_look_like_keys_are_never_mistaken_for_them() {
    let mut s = Session::new(
        "s1".to_owned(),
        "Pick a codename".to_owned(),
        ["o2", "o1", "o3"]
            .iter()
            .map(|o| ((*o).to_owned(), None))
            .collect(),
        vec![CriterionSpec {
            name: "cost".to_owned(),
            description: "cost matters".to_owned(),
            weight: 1.0,
            ..CriterionSpec::default()
        }],
        SessionDefaults {
            backend: "fake".to_owned(),
            model: None,
            temperature: 0.0,
            judges: Vec::new(),
        },
        &Limits::default(),
        datetime!(2026-01-01 00:00 UTC),
    )
    .expect("valid session");
    // The model answers by name, not by key: o2 is worth 9 and o1 2; it leaves o3 out.
    let fake = Fake::new(|_, request| {
        let keys: Vec<String> = options_of(request)
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        assert!(
            keys.iter()
                .all(|key| !["o1", "o2", "o3"].contains(&key.as_str())),
            "keys {keys:?} spell option names"
        );
        Ok(
            r#"[{"option": "o2", "score": 9, "justification": "o2 is cheap"},
               {"option": "o1", "score": 2, "justification": "o1 is dear"}]"#
                .to_owned(),
        )
    });
    let settings = EvaluationSettings {
        batch_size: 3,
        retry: RetryPolicy {
            max_attempts: 1,
            ..settings().retry
        },
        ..settings()
    };
    let evaluator = evaluator(&[("fake", fake)], settings);
    let (report, _) = evaluate(&evaluator, &mut s, false).await;
    let score_of = |name: &str| {
        let option = s.options().iter().find(|o| o.name == name).expect("option");
        let criterion = &s.criteria()[0];
        s.cell(option.id, criterion.id)
            .map(|cell| cell.status.clone())
    };
    assert_eq!(
        score_of("o2"),
        Some(CellStatus::Scored {
            score: Score::new(9.0).expect("range")
        })
    );
    assert_eq!(
        score_of("o1"),
        Some(CellStatus::Scored {
            score: Score::new(2.0).expect("range")
        })
    );
    assert!(
        matches!(score_of("o3"), Some(CellStatus::Failed { .. })),
        "o3 had no answer: {:?}",
        score_of("o3")
    );
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
}

/// A model answering megabytes (prose around the JSON, as a hostile backend might) costs the
/// cache only what the evaluation keeps of it: the verdicts. A replay from the cache gives
/// the same cells.
#[tokio::test(start_paused = true)]
async fn the_cache_keeps_the_verdicts_not_the_megabytes_around_them() {
    let padding = "lorem ipsum ".repeat(4 << 20 >> 4);
    let fake = Fake::new(move |_, request| Ok(format!("{padding}\n{}", answer(request, &[]))));
    let evaluator = evaluator(&[("fake", fake.clone())], settings());
    let mut first = session(6, &["cost", "speed"]);
    evaluate(&evaluator, &mut first, false).await;
    assert_all_correct(&first);
    let calls = fake.calls();
    let kept = evaluator.cache().bytes();
    assert_eq!(evaluator.cache().len(), calls);
    assert!(
        kept < 16 * 1024,
        "{kept} bytes kept for {calls} answers of over 4 MiB each"
    );

    let mut again = session(6, &["cost", "speed"]);
    let (report, _) = evaluate(&evaluator, &mut again, false).await;
    assert_eq!(report.cache_hits as usize, calls);
    assert_eq!(fake.calls(), calls, "nothing asked again");
    assert_all_correct(&again);
}
