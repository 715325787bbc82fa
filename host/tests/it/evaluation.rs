//! The evaluation engine through the real backend plugins, against loopback servers speaking
//! the OpenAI chat completions and Ollama wire formats, with injected faults.
//!
//! The mock "LLM" is a fair judge (`decision_matrix_testkit::judge`): it reads the prompt and
//! gives every (criterion, option) pair a distinct score, so any cell lost, left empty or
//! filled from another option's answer fails the checks.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Backends;
use decision_matrix::domain::{CellStatus, CriterionSpec, Limits, Score, Session, SessionDefaults};
use decision_matrix::evaluation::resilience::breaker::BreakerConfig;
use decision_matrix::evaluation::resilience::retry::RetryPolicy;
use decision_matrix::evaluation::resilience::timeout::TimeoutConfig;
use decision_matrix::evaluation::{
    Backend, Backends as BackendMap, CellResult, EvaluationReport, EvaluationSettings, Evaluator,
    Plan,
};
use decision_matrix::plugins::net::SecretStore;
use decision_matrix_testkit::MockServer;
use decision_matrix_testkit::faults::{Fault, FaultyJudge, Mode};
use decision_matrix_testkit::judge;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

const OPTIONS: [&str; 6] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
const CRITERIA: [&str; 4] = ["cost", "speed", "safety", "support"];
/// The fault schedule's seed: any fixed value makes runs repeatable.
const SEED: u64 = 7;

struct Setup {
    openai: MockServer,
    ollama: MockServer,
    openai_judge: Arc<FaultyJudge>,
    backends: BackendMap,
    _plugins: Backends,
}

async fn setup(openai_mode: Mode) -> Setup {
    let openai_judge = FaultyJudge::new(openai_mode, SEED);
    let ollama_judge = FaultyJudge::new(Mode::Healthy, SEED);
    let openai_server = MockServer::start(openai_judge.openai_router()).await;
    let ollama_server = MockServer::start(ollama_judge.ollama_router()).await;
    let plugins = Backends::load(
        &[
            (
                "LITELLM_BASE_URL",
                &format!("{}/v1", openai_server.base_url()),
            ),
            ("OLLAMA_HOST", &ollama_server.addr().to_string()),
        ],
        SecretStore::default(),
    );
    let backends: BackendMap = ["litellm", "ollama"]
        .into_iter()
        .map(|id| (id.to_owned(), Arc::new(plugins.get(id)) as Arc<dyn Backend>))
        .collect::<BTreeMap<_, _>>();
    Setup {
        openai: openai_server,
        ollama: ollama_server,
        openai_judge,
        backends,
        _plugins: plugins,
    }
}

fn settings() -> EvaluationSettings {
    EvaluationSettings {
        retry: RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(40),
            ..RetryPolicy::default()
        },
        timeouts: TimeoutConfig {
            override_timeout: Some(Duration::from_millis(1500)),
            ..TimeoutConfig::default()
        },
        breaker: BreakerConfig {
            enabled: false,
            ..BreakerConfig::default()
        },
        ..EvaluationSettings::default()
    }
}

fn session(backend: &str, options: usize, criteria: &[&str]) -> Session {
    Session::new(
        format!("session-{backend}"),
        "Pick a codename".to_owned(),
        OPTIONS[..options]
            .iter()
            .map(|o| ((*o).to_owned(), Some(format!("the {o} plan"))))
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
            backend: backend.to_owned(),
            model: None,
            temperature: 0.0,
            judges: Vec::new(),
        },
        &Limits::default(),
        OffsetDateTime::now_utc(),
    )
    .expect("valid session")
}

async fn evaluate(
    evaluator: &Evaluator,
    session: &mut Session,
    cancel: CancellationToken,
) -> (EvaluationReport, Vec<CellResult>) {
    let mut results = Vec::new();
    let report = tokio::time::timeout(
        Duration::from_secs(120),
        evaluator.run(Plan::new(session, false), cancel, |r| results.push(r)),
    )
    .await
    .expect("the evaluation finishes");
    for r in &results {
        assert!(session.record(r.option, r.criterion, r.cell.clone()));
    }
    (report, results)
}

/// Every cell holds the judge's score and justification for its own option.
fn assert_all_correct(session: &Session) {
    for criterion in session.criteria() {
        for option in session.options() {
            let cell = session
                .cell(option.id, criterion.id)
                .unwrap_or_else(|| panic!("{} × {} lost", criterion.name, option.name));
            let expected = judge::expected_score(&criterion.name, &option.name);
            assert_eq!(
                cell.status,
                CellStatus::Scored {
                    score: Score::new(expected).expect("range")
                },
                "{} × {}: {}",
                criterion.name,
                option.name,
                cell.justification
            );
            assert_eq!(
                cell.justification,
                judge::expected_justification(&criterion.name, &option.name)
            );
        }
    }
}

#[tokio::test]
async fn every_cell_is_correct_through_both_plugins_and_batching_cuts_calls() {
    let setup = setup(Mode::Healthy).await;
    for (backend, server) in [("litellm", &setup.openai), ("ollama", &setup.ollama)] {
        for (batch_size, calls) in [(1, 24), (5, 8), (6, 4)] {
            let before = server.requests().len();
            let evaluator = Evaluator::new(
                setup.backends.clone(),
                EvaluationSettings {
                    batch_size,
                    ..settings()
                },
            );
            let mut s = session(backend, 6, &CRITERIA);
            let (report, results) = evaluate(&evaluator, &mut s, CancellationToken::new()).await;
            assert_eq!(report.scored, 24, "{backend}: {:?}", report.failures);
            assert_eq!(
                server.requests().len() - before,
                calls,
                "{backend} batch {batch_size}"
            );
            assert_eq!(report.calls, calls as u64);
            assert!(report.tokens.input > 0 && report.tokens.output > 0);
            assert!(
                results
                    .iter()
                    .all(|r| r.cell.backend.as_deref() == Some(backend))
            );
            assert_all_correct(&s);
        }
    }
}

#[tokio::test]
async fn thirty_percent_faults_lose_nothing_and_mix_nothing_up() {
    for batch_size in [1, 5] {
        let setup = setup(Mode::mixed(30)).await;
        let evaluator = Evaluator::new(
            setup.backends.clone(),
            EvaluationSettings {
                batch_size,
                ..settings()
            },
        );
        let mut s = session("litellm", 6, &CRITERIA);
        let (report, results) = evaluate(&evaluator, &mut s, CancellationToken::new()).await;
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        assert_eq!(report.scored, 24);
        assert_all_correct(&s);
        let faults = setup.openai_judge.faults();
        let calls = setup.openai_judge.calls();
        assert!(faults > 0, "the schedule injected faults");
        // Every request that reached the server was counted, and every fault cost a retry.
        assert_eq!(report.calls as usize, calls);
        assert!(results.iter().any(|r| r.cell.attempts > 1));
        // Each fault costs exactly one more call: a retry, or a re-ask of what was missing.
        let ideal = if batch_size == 1 { 24 } else { 8 };
        assert_eq!(calls, ideal + faults, "batch size {batch_size}");
    }
}

#[tokio::test]
async fn failures_are_reported_when_retries_run_out() {
    let setup = setup(Mode::Always(Fault::ServerError)).await;
    let evaluator = Evaluator::new(
        setup.backends.clone(),
        EvaluationSettings {
            retry: RetryPolicy {
                max_attempts: 2,
                ..settings().retry
            },
            ..settings()
        },
    );
    let mut s = session("litellm", 3, &["cost"]);
    let (report, _) = evaluate(&evaluator, &mut s, CancellationToken::new()).await;
    assert_eq!(report.scored + report.abstained, 0);
    assert_eq!(report.failures.len(), 3);
    assert_eq!(setup.openai.requests().len(), 2, "one batch, two attempts");
    for line in &report.failures {
        assert!(
            line.contains("HTTP 500") && line.contains("The server had an error"),
            "{line}"
        );
    }
    for option in s.options() {
        let cell = s.cell(option.id, s.criteria()[0].id).expect("recorded");
        assert!(matches!(cell.status, CellStatus::Failed { .. }));
    }
    assert_eq!(
        s.pending(false).len(),
        3,
        "failed cells are computed again next time"
    );
}

#[tokio::test]
async fn the_breaker_opens_fails_fast_and_recovers() {
    let setup = setup(Mode::Always(Fault::ServerError)).await;
    let evaluator = Evaluator::new(
        setup.backends.clone(),
        EvaluationSettings {
            batch_size: 1,
            max_concurrent_per_session: 1,
            retry: RetryPolicy {
                max_attempts: 1,
                ..settings().retry
            },
            breaker: BreakerConfig {
                enabled: true,
                failure_threshold: 3,
                open_for: Duration::from_millis(300),
            },
            ..settings()
        },
    );
    let mut s = session("litellm", 6, &["cost"]);
    let (report, _) = evaluate(&evaluator, &mut s, CancellationToken::new()).await;
    assert_eq!(
        setup.openai.requests().len(),
        3,
        "the breaker stops calls after 3 failures"
    );
    assert_eq!(report.failures.len(), 6);
    assert_eq!(
        report
            .failures
            .iter()
            .filter(|f| f.contains("circuit breaker is open"))
            .count(),
        3
    );

    setup.openai_judge.set(Mode::Healthy);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (report, _) = evaluate(&evaluator, &mut s, CancellationToken::new()).await;
    assert_eq!(report.scored, 6, "{:?}", report.failures);
    assert_all_correct(&s);
    let states = evaluator.breakers();
    assert_eq!(states[0].1.status.as_str(), "closed");
}

#[tokio::test]
async fn the_rate_limit_holds_at_the_server() {
    let setup = setup(Mode::Healthy).await;
    // 300 per minute: a burst of 5, then one every 200 ms.
    let evaluator = Evaluator::new(
        setup.backends.clone(),
        EvaluationSettings {
            batch_size: 1,
            requests_per_minute: BTreeMap::from([("litellm".to_owned(), 300)]),
            ..settings()
        },
    );
    let mut s = session("litellm", 5, &["cost", "speed"]);
    // No permit can be granted before this, so no request can arrive before it either.
    let began = Instant::now();
    let (report, _) = evaluate(&evaluator, &mut s, CancellationToken::new()).await;
    assert_eq!(report.scored, 10);
    let mut times: Vec<_> = setup.openai.requests().iter().map(|r| r.at).collect();
    times.sort();
    assert_eq!(times.len(), 10);
    // Request i (0-based) cannot be sent before (i - 4) intervals after the burst, which
    // began no earlier than `began`. (Measured from the first arrival instead, a first
    // request slowed on its way by a busy machine made later ones look early.)
    for (i, at) in times.iter().enumerate().skip(5) {
        let earliest = Duration::from_millis(200 * (i as u64 - 4));
        assert!(
            at.duration_since(began) >= earliest,
            "request {i} arrived {:?} after the evaluation began",
            at.duration_since(began)
        );
    }
}

#[tokio::test]
async fn cancelling_stops_hanging_calls_and_keeps_finished_cells() {
    let setup = setup(Mode::Always(Fault::Hang)).await;
    let mut s = session("litellm", 3, &["cost"]);
    // A second criterion on the healthy Ollama mock finishes while litellm hangs.
    s.add_criterion(
        CriterionSpec {
            name: "speed".to_owned(),
            description: "speed matters".to_owned(),
            weight: 1.0,
            backend: Some("ollama".to_owned()),
            ..CriterionSpec::default()
        },
        &Limits::default(),
    )
    .expect("valid");
    // A timeout far beyond the test: only cancellation can end the hanging calls.
    let evaluator = Evaluator::new(
        setup.backends.clone(),
        EvaluationSettings {
            timeouts: TimeoutConfig {
                override_timeout: Some(Duration::from_secs(60)),
                ..TimeoutConfig::default()
            },
            ..settings()
        },
    );
    // Cancelled once the healthy criterion's three cells are in, whenever that is.
    let cancel = CancellationToken::new();
    let mut results = Vec::new();
    let report = tokio::time::timeout(
        Duration::from_secs(120),
        evaluator.run(Plan::new(&s, false), cancel.clone(), |result| {
            results.push(result);
            if results.len() == 3 {
                cancel.cancel();
            }
        }),
    )
    .await
    .expect("the evaluation stops when cancelled");
    for r in &results {
        assert!(s.record(r.option, r.criterion, r.cell.clone()));
    }
    assert!(report.cancelled);
    assert_eq!(report.scored, 3);
    assert!(results.iter().all(|r| &*r.criterion_name == "speed"));
    assert!(
        report.failures.is_empty(),
        "cancelled cells are not failures"
    );
    assert_eq!(
        s.pending(false).len(),
        3,
        "the hanging cells are still to do"
    );
}

#[tokio::test]
async fn the_cache_answers_identical_requests() {
    let setup = setup(Mode::Healthy).await;
    let evaluator = Evaluator::new(setup.backends.clone(), settings());
    let mut first = session("ollama", 6, &CRITERIA);
    evaluate(&evaluator, &mut first, CancellationToken::new()).await;
    let calls = setup.ollama.requests().len();
    assert_eq!(calls, 8);
    let mut second = session("ollama", 6, &CRITERIA);
    let (report, _) = evaluate(&evaluator, &mut second, CancellationToken::new()).await;
    assert_eq!(setup.ollama.requests().len(), calls, "no new billed call");
    assert_eq!(report.cache_hits, 8);
    assert_all_correct(&second);
}
