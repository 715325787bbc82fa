//! Evaluations that judge a cell more than once: options listed in a drawn order per round,
//! replicates planned where they can change the winner, the confidence the result states,
//! and what the arguments that steer it allow. Judged by [`NoisyJudge`], which errs as real
//! judges do.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use decision_matrix_testkit::MockServer;
use decision_matrix_testkit::judge;
use decision_matrix_testkit::noisy_judge::{Noise, NoisyJudge};
use rmcp::RoleClient;
use rmcp::service::RunningService;
use serde_json::{Value, json};

use crate::common::client::{Client, err, ok, stdio_server};

const OPTIONS: [&str; 6] = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"];
const CRITERIA: [(&str, f64); 4] = [
    ("cost", 3.0),
    ("speed", 2.0),
    ("safety", 1.0),
    ("support", 0.5),
];

/// True scores: Charlie best (8.46 weighted), Delta close behind (8.08), the rest well apart.
fn truth() -> Vec<((&'static str, &'static str), f64)> {
    let rows: [(&str, [f64; 4]); 6] = [
        ("Alpha", [5.0, 6.0, 4.0, 7.0]),
        ("Bravo", [3.0, 4.0, 8.0, 5.0]),
        ("Charlie", [9.0, 9.0, 7.0, 6.0]),
        ("Delta", [8.0, 9.0, 7.0, 7.0]),
        ("Echo", [4.0, 5.0, 6.0, 8.0]),
        ("Foxtrot", [2.0, 7.0, 3.0, 3.0]),
    ];
    rows.iter()
        .flat_map(|(option, scores)| {
            CRITERIA
                .iter()
                .zip(scores)
                .map(move |((criterion, _), s)| ((*criterion, *option), *s))
        })
        .collect()
}

async fn judged_by(noise: Noise, seed: u64) -> (Arc<NoisyJudge>, MockServer) {
    let judge = NoisyJudge::new(noise, &truth(), seed);
    let server = MockServer::start(judge.router()).await;
    (judge, server)
}

async fn decision(client: &RunningService<RoleClient, Client>, topic: &str) -> String {
    let criteria: Vec<Value> = CRITERIA
        .iter()
        .map(|(name, weight)| json!({"name": name, "description": format!("How good is the {name}"), "weight": weight}))
        .collect();
    let started = ok(
        client,
        "start_decision_analysis",
        json!({"topic": topic, "options": OPTIONS, "model_backend": "litellm",
               "initial_criteria": criteria}),
    )
    .await;
    started["session_id"].as_str().expect("id").to_owned()
}

/// The options each request listed, in order.
fn listed_orders(llm: &MockServer) -> Vec<(String, Vec<String>)> {
    llm.requests()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).expect("json");
            let (system, user) = judge::openai_prompt(&body);
            let names = judge::options_of(&user)
                .into_iter()
                .map(|(_, n)| n)
                .collect();
            (judge::criterion_of(&system), names)
        })
        .collect()
}

/// A judge without noise: the evaluation stops once the winner is clear, within twelve calls
/// (one pass of eight and a round on the contenders), and says so.
#[tokio::test]
async fn an_exact_judge_gives_a_clear_winner_at_little_cost() {
    let (_, llm) = judged_by(Noise::NONE, 1).await;
    let (client, _, _) = stdio_server(&llm, &[]).await;
    let id = decision(&client, "Pick a vendor").await;
    let evaluated = ok(&client, "evaluate_options", json!({"session_id": id})).await;
    let adaptive = &evaluated["adaptive"];
    assert_eq!(adaptive["stopped"], "target_reached", "{adaptive}");
    let calls = evaluated["summary"]["llm_calls"].as_u64().expect("calls");
    assert!(calls <= 12, "{calls} calls: {adaptive}");
    assert_eq!(llm.requests().len() as u64, calls);

    let matrix = ok(&client, "get_decision_matrix", json!({"session_id": id})).await;
    let confidence = &matrix["confidence"];
    assert_eq!(confidence["winner"], "Charlie", "{confidence}");
    assert_eq!(confidence["clear_winner"], true, "{confidence}");
    assert!(confidence["winner_probability"].as_f64().expect("p") >= 0.9);
    assert_eq!(matrix["rankings"][0]["option"], "Charlie");
    assert_eq!(matrix["rankings"][0]["rank_interval"], json!([1, 1]));
    assert!(
        matrix["recommendation"]
            .as_str()
            .expect("text")
            .contains("Charlie")
    );
    assert_eq!(confidence["samples"]["calls"], calls);
    // The replicates agree exactly: their cells have no spread.
    let charlie = &matrix["matrix"]["Charlie"]["cost"];
    assert_eq!(charlie["raw_score"], 9.0);
    assert!(
        charlie["samples"].as_u64().expect("samples") >= 2,
        "{charlie}"
    );
    assert_eq!(charlie["spread"], 0.0);
    let markdown = matrix["formatted_output"].as_str().expect("markdown");
    assert!(markdown.contains("## 🎲 Confidence"), "{markdown}");
    client.cancel().await.expect("close");
}

/// A judge with the noise and position bias: replicates go to the contenders'
/// cells, each round lists its options in another order, every probability is a
/// probability, and the evaluation never spends more than its budget.
#[tokio::test]
async fn a_noisy_judge_is_asked_again_in_other_orders_within_the_budget() {
    let (_, llm) = judged_by(Noise::TYPICAL, 7).await;
    let (client, _, _) = stdio_server(&llm, &[]).await;
    let id = decision(&client, "Pick a vendor, noisily").await;
    let evaluated = ok(
        &client,
        "evaluate_options",
        json!({"session_id": id, "max_calls": 18}),
    )
    .await;
    let adaptive = &evaluated["adaptive"];
    assert_eq!(adaptive["max_calls"], 18);
    let planned = adaptive["calls_planned"].as_u64().expect("planned");
    assert!(planned <= 18, "{adaptive}");
    assert!(
        adaptive["rounds"].as_u64().expect("rounds") >= 1,
        "{adaptive}"
    );
    assert_eq!(
        llm.requests().len() as u64,
        planned,
        "no retries were needed"
    );

    // Every criterion's first pass lists all six options (five, then one); a replicate
    // round's call lists the contenders and fills its batch of five with the options next
    // most likely to be best, and no two rounds of a criterion list its options in the same
    // order.
    let orders = listed_orders(&llm);
    for (criterion, _) in CRITERIA {
        let lists: Vec<&Vec<String>> = orders
            .iter()
            .filter(|(c, _)| c == criterion)
            .map(|(_, o)| o)
            .collect();
        let first: BTreeSet<&String> = lists.iter().take(2).flat_map(|l| l.iter()).collect();
        assert_eq!(first.len(), 6, "{criterion}: {lists:?}");
    }
    let replicates: Vec<&Vec<String>> = orders.iter().skip(8).map(|(_, o)| o).collect();
    assert!(!replicates.is_empty());
    assert!(replicates.iter().all(|l| l.len() == 5), "{replicates:?}");
    let first_pass: Vec<&Vec<String>> = orders.iter().take(8).map(|(_, o)| o).collect();
    assert!(
        first_pass.iter().any(|l| l.len() == 5 && l[0] != "Alpha"),
        "the first pass lists options in drawn orders, not the session's: {first_pass:?}"
    );

    let matrix = ok(&client, "get_decision_matrix", json!({"session_id": id})).await;
    let confidence = &matrix["confidence"];
    let total: f64 = matrix["rankings"]
        .as_array()
        .expect("rankings")
        .iter()
        .map(|r| r["probability_best"].as_f64().expect("probability"))
        .sum();
    assert!((total - 1.0).abs() < 1e-6, "{total}");
    let p = confidence["winner_probability"].as_f64().expect("p");
    assert_eq!(confidence["clear_winner"], p >= 0.9, "{confidence}");
    assert!(
        confidence["contenders"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
    let df = confidence["noise"]["degrees_of_freedom"]
        .as_f64()
        .expect("degrees of freedom");
    assert!(df > 0.0, "replicates measured the noise: {confidence}");
    assert_eq!(confidence["noise"]["measured"], df >= 6.0, "{confidence}");
    let judgments = confidence["samples"]["judgments"]
        .as_u64()
        .expect("judgments");
    assert!(judgments > 24, "{confidence}");
    assert_eq!(
        confidence["samples"]["max_per_cell"]
            .as_u64()
            .map(|m| m >= 2),
        Some(true)
    );
    if !confidence["clear_winner"].as_bool().expect("bool") {
        let recommendation = matrix["recommendation"].as_str().expect("text");
        assert!(
            recommendation.starts_with("No clear winner"),
            "{recommendation}"
        );
    }

    // It stopped short of a clear winner, so evaluating the unchanged session again buys more
    // judgments with a new budget, and computes no cell afresh.
    assert_eq!(adaptive["stopped"], "budget_spent", "{adaptive}");
    let again = ok(&client, "evaluate_options", json!({"session_id": id})).await;
    assert_eq!(again["summary"]["cells_computed"], 0, "{again:?}");
    assert!(
        again["summary"]["llm_calls"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{again:?}"
    );
    assert!(
        again["adaptive"]["calls_planned"]
            .as_u64()
            .is_some_and(|n| (1..=16).contains(&n)),
        "{again:?}"
    );
    client.cancel().await.expect("close");
}

/// `confidence_target: 0` is one pass, as before; `replicates` judges every cell exactly
/// that many times.
#[tokio::test]
async fn one_pass_and_fixed_replicates_do_what_they_say() {
    let (_, llm) = judged_by(Noise::TYPICAL, 3).await;
    let (client, _, _) = stdio_server(&llm, &[]).await;
    let once = decision(&client, "Once").await;
    let evaluated = ok(
        &client,
        "evaluate_options",
        json!({"session_id": once, "confidence_target": 0}),
    )
    .await;
    assert_eq!(evaluated["adaptive"]["stopped"], "single_pass");
    assert_eq!(evaluated["summary"]["llm_calls"], 8);

    let thrice = decision(&client, "Thrice").await;
    let evaluated = ok(
        &client,
        "evaluate_options",
        json!({"session_id": thrice, "replicates": 3}),
    )
    .await;
    assert_eq!(
        evaluated["adaptive"]["stopped"], "replicates_done",
        "{evaluated:?}"
    );
    assert_eq!(evaluated["summary"]["llm_calls"], 24);
    let matrix = ok(
        &client,
        "get_decision_matrix",
        json!({"session_id": thrice}),
    )
    .await;
    for option in OPTIONS {
        for (criterion, _) in CRITERIA {
            assert_eq!(
                matrix["matrix"][option][criterion]["samples"], 3,
                "{option} {criterion}"
            );
        }
    }
    // Three judgments in all: asking again for three adds none, asking for four adds one.
    let again = ok(
        &client,
        "evaluate_options",
        json!({"session_id": thrice, "replicates": 3}),
    )
    .await;
    assert_eq!(again["summary"]["llm_calls"], 0, "{again:?}");
    let more = ok(
        &client,
        "evaluate_options",
        json!({"session_id": thrice, "replicates": 4, "max_calls": 5}),
    )
    .await;
    assert_eq!(
        more["summary"]["llm_calls"], 4,
        "four calls fit the budget of five: {more:?}"
    );
    client.cancel().await.expect("close");
}

/// A replicate round the backend fails keeps the judgments already made, says so, and stops
/// rather than spend the budget on a failing backend.
#[tokio::test]
async fn a_failed_replicate_round_keeps_every_earlier_judgment() {
    let (judge, llm) = judged_by(Noise::TYPICAL, 9).await;
    let (client, _, _) = stdio_server(&llm, &["--set", "evaluation.retry_attempts=1"]).await;
    let id = decision(&client, "Flaky").await;
    ok(
        &client,
        "evaluate_options",
        json!({"session_id": id, "confidence_target": 0}),
    )
    .await;
    let before = ok(&client, "get_decision_matrix", json!({"session_id": id})).await;
    judge.failing.store(true, Ordering::SeqCst);
    let evaluated = ok(
        &client,
        "evaluate_options",
        json!({"session_id": id, "replicates": 2}),
    )
    .await;
    let adaptive = &evaluated["adaptive"];
    assert_eq!(adaptive["stopped"], "replicates_failed", "{adaptive}");
    assert!(
        adaptive["replicate_errors"]
            .as_array()
            .is_some_and(|e| !e.is_empty()),
        "{adaptive}"
    );
    assert_eq!(evaluated["summary"]["successful_scores"], 24);
    let after = ok(&client, "get_decision_matrix", json!({"session_id": id})).await;
    assert_eq!(after["matrix"], before["matrix"]);
    client.cancel().await.expect("close");
}

/// A cell whose first-pass call failed is asked again before any replicate; once a later
/// round scores it, it is no longer reported as an error. One pass, with no later round,
/// reports the same failure.
#[tokio::test]
async fn a_first_pass_failure_a_later_round_scores_is_not_an_error() {
    let (judge, llm) = judged_by(Noise::TYPICAL, 5).await;
    let (client, _, _) = stdio_server(&llm, &["--set", "evaluation.retry_attempts=1"]).await;

    let once = decision(&client, "Lost once").await;
    judge.fail_next.store(1, Ordering::SeqCst);
    let evaluated = ok(
        &client,
        "evaluate_options",
        json!({"session_id": once, "confidence_target": 0}),
    )
    .await;
    assert_eq!(evaluated["evaluation_complete"], false, "{evaluated:?}");
    let lost = evaluated["summary"]["errors"].as_u64().expect("errors");
    assert!(lost >= 1, "{evaluated:?}");
    assert_eq!(
        evaluated["summary"]["successful_scores"].as_u64(),
        Some(24 - lost),
        "{evaluated:?}"
    );

    let found = decision(&client, "Lost and found").await;
    judge.fail_next.store(1, Ordering::SeqCst);
    let evaluated = ok(
        &client,
        "evaluate_options",
        json!({"session_id": found, "max_calls": 18}),
    )
    .await;
    assert_eq!(evaluated["evaluation_complete"], true, "{evaluated:?}");
    assert!(
        evaluated.get("errors").is_none_or(Value::is_null),
        "{evaluated:?}"
    );
    assert_eq!(evaluated["summary"]["errors"], 0, "{evaluated:?}");
    assert_eq!(
        evaluated["summary"]["successful_scores"], 24,
        "{evaluated:?}"
    );
    client.cancel().await.expect("close");
}

/// Each steering argument says what it allows.
#[tokio::test]
async fn bad_steering_arguments_say_what_is_allowed() {
    let (_, llm) = judged_by(Noise::NONE, 1).await;
    let (client, _, _) = stdio_server(&llm, &[]).await;
    let id = decision(&client, "Bad arguments").await;
    for (args, expected) in [
        (
            json!({"confidence_target": 1.0}),
            "allowed: 0 (evaluate each cell once) to 0.999",
        ),
        (json!({"confidence_target": -0.1}), "allowed: 0"),
        (
            json!({"max_calls": 0}),
            "max_calls 0 is out of range; allowed: 1 to 1000",
        ),
        (
            json!({"replicates": 11}),
            "replicates 11 is out of range; allowed: 1 to 10",
        ),
        (
            json!({"replicates": 2, "confidence_target": 0.8}),
            "replicates and a confidence_target above 0 cannot be combined",
        ),
        (
            json!({"max_calls": 5, "confidence_target": 0}),
            "max_calls has no effect with a confidence_target of 0",
        ),
    ] {
        let mut args = args;
        args["session_id"] = json!(id);
        let message = err(&client, "evaluate_options", args.clone()).await;
        assert!(message.contains(expected), "{args}: {message}");
    }
    assert!(llm.requests().is_empty(), "nothing was evaluated");
    client.cancel().await.expect("close");
}

/// A criterion's scale anchors reach every prompt about it; bad anchors are refused saying
/// what is allowed; changing them makes the criterion's cells due again.
#[tokio::test]
async fn scale_anchors_reach_the_prompt() {
    let (_, llm) = judged_by(Noise::NONE, 1).await;
    let (client, _, _) = stdio_server(&llm, &[]).await;
    let started = ok(
        &client,
        "start_decision_analysis",
        json!({"topic": "Anchored", "options": ["Alpha", "Bravo"], "model_backend": "litellm"}),
    )
    .await;
    let id = started["session_id"].as_str().expect("id").to_owned();
    let message = err(
        &client,
        "add_criterion",
        json!({"session_id": id, "name": "safety", "description": "How safe",
               "scale": {"0": "deadly"}}),
    )
    .await;
    assert!(
        message.contains("'0' is not a point of the scale"),
        "{message}"
    );
    ok(
        &client,
        "add_criterion",
        json!({"session_id": id, "name": "safety", "description": "How safe",
               "scale": {"1": "known exploits", "5": "audited once", "10": "formally verified"}}),
    )
    .await;
    ok(
        &client,
        "evaluate_options",
        json!({"session_id": id, "confidence_target": 0}),
    )
    .await;
    let request: Value = serde_json::from_slice(&llm.requests()[0].body).expect("json");
    let (system, _) = judge::openai_prompt(&request);
    assert!(
        system.contains("- 1: known exploits\n- 5: audited once\n- 10: formally verified"),
        "{system}"
    );
    let updated = ok(
        &client,
        "update_criterion",
        json!({"session_id": id, "name": "safety", "scale": {}}),
    )
    .await;
    assert_eq!(updated["reevaluation_needed"], true);
    let again = ok(
        &client,
        "evaluate_options",
        json!({"session_id": id, "confidence_target": 0}),
    )
    .await;
    assert_eq!(again["summary"]["cells_computed"], 2);
    let last: Value = serde_json::from_slice(&llm.requests()[1].body).expect("json");
    assert!(!judge::openai_prompt(&last).0.contains("SCALE"));
    client.cancel().await.expect("close");
}

/// Weight ranges give each option's share of the draws per rank, combined with the scores'
/// uncertainty; a range that is backwards, out of bounds or names no criterion is refused.
#[tokio::test]
async fn weight_ranges_give_rank_acceptability() {
    let (_, llm) = judged_by(Noise::NONE, 1).await;
    let (client, _, _) = stdio_server(&llm, &[]).await;
    let id = decision(&client, "Which weights").await;
    ok(&client, "evaluate_options", json!({"session_id": id})).await;
    let fixed = ok(
        &client,
        "analyze_sensitivity",
        json!({"session_id": id, "weight_ranges": {}}),
    )
    .await;
    let wide = ok(
        &client,
        "analyze_sensitivity",
        json!({"session_id": id, "weight_ranges": {"cost": [0.1, 10.0], "safety": [0.1, 10.0]}}),
    )
    .await;
    let first = |result: &serde_json::Map<String, Value>, option: &str| {
        result["acceptability"]
            .as_array()
            .and_then(|a| a.iter().find(|o| o["option"] == option))
            .and_then(|o| o["first"].as_f64())
            .expect("listed")
    };
    for result in [&fixed, &wide] {
        for option in result["acceptability"].as_array().expect("acceptability") {
            let shares = option["rank_shares"].as_array().expect("shares");
            assert_eq!(shares.len(), 6);
            let total: f64 = shares.iter().map(|s| s.as_f64().expect("share")).sum();
            assert!((total - 1.0).abs() < 1e-9, "{option}");
        }
    }
    // With the judge exact and the weights fixed, Charlie wins every draw; with safety (where
    // Delta is as good) and cost (where Charlie leads) free to move, Delta wins some.
    assert!(first(&fixed, "Charlie") > 0.99, "{fixed:?}");
    assert!(first(&wide, "Delta") > 0.0, "{wide:?}");
    assert!(first(&wide, "Charlie") < 1.0, "{wide:?}");
    assert_eq!(wide["acceptability"][0]["option"], "Charlie");
    let markdown = wide["formatted_output"].as_str().expect("markdown");
    assert!(markdown.contains("## 🎲 Rank acceptability"), "{markdown}");

    for (ranges, expected) in [
        (json!({"price": [1, 2]}), "price"),
        (json!({"cost": [3, 1]}), "[3, 1] is backwards"),
        (
            json!({"cost": [0.01, 1]}),
            "Invalid weight: must be between 0.1 and 10.0",
        ),
    ] {
        let message = err(
            &client,
            "analyze_sensitivity",
            json!({"session_id": id, "weight_ranges": ranges}),
        )
        .await;
        assert!(message.contains(expected), "{ranges}: {message}");
    }
    client.cancel().await.expect("close");
}

/// A panel of judges: every judge scores every cell in the first pass (a cell holds one
/// judgment per judge), the replicate rounds stay within the budget, and the request models
/// are the judges'. Bad panels are refused saying what is allowed.
#[tokio::test]
async fn a_panel_of_judges_scores_every_cell() {
    let panelist = Noise {
        leaning: 1.0,
        ..Noise::TYPICAL
    };
    let (_, llm) = judged_by(panelist, 11).await;
    let (client, _, _) = stdio_server(&llm, &[]).await;
    let criteria: Vec<Value> = CRITERIA
        .iter()
        .map(|(name, weight)| json!({"name": name, "description": format!("How good is the {name}"), "weight": weight}))
        .collect();
    let judges = json!([
        {"model_backend": "litellm", "model_name": "judge-a"},
        {"model_backend": "litellm", "model_name": "judge-b", "temperature": 0.7},
        {"model_backend": "litellm", "model_name": "judge-c"},
    ]);
    let started = ok(
        &client,
        "start_decision_analysis",
        json!({"topic": "Panel", "options": OPTIONS, "initial_criteria": criteria,
               "judges": judges}),
    )
    .await;
    let id = started["session_id"].as_str().expect("id").to_owned();
    let evaluated = ok(
        &client,
        "evaluate_options",
        json!({"session_id": id, "max_calls": 36}),
    )
    .await;
    let planned = evaluated["adaptive"]["calls_planned"]
        .as_u64()
        .expect("planned");
    assert!((24..=36).contains(&planned), "{evaluated:?}");
    assert_eq!(llm.requests().len() as u64, planned);
    let models: BTreeSet<String> = llm
        .requests()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).expect("json");
            body["model"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(
        models.into_iter().collect::<Vec<_>>(),
        ["judge-a", "judge-b", "judge-c"]
    );
    let matrix = ok(&client, "get_decision_matrix", json!({"session_id": id})).await;
    for option in OPTIONS {
        for (criterion, _) in CRITERIA {
            let samples = matrix["matrix"][option][criterion]["samples"]
                .as_u64()
                .expect("samples");
            assert!(samples >= 3, "{option} {criterion}: {samples}");
        }
    }
    // Judges that lean their own ways disagree: the agreement is measured on every cell.
    assert!(
        matrix["confidence"]["agreement"]["alpha"].is_number(),
        "{matrix:?}"
    );

    for (panel, expected) in [
        (
            json!([{"model_backend": "litellm", "model_name": "judge-a"}]),
            "a panel has 2 to 5 judges (got 1)",
        ),
        (
            json!([{"model_backend": "litellm", "model_name": "judge-a"},
                   {"model_backend": "litellm", "model_name": "judge-a"}]),
            "judge 2 repeats judge 1",
        ),
        (
            json!([{"model_backend": "litellm"}, {"model_backend": "no-such-backend"}]),
            "no-such-backend",
        ),
    ] {
        let message = err(
            &client,
            "start_decision_analysis",
            json!({"topic": "Bad panel", "options": ["A", "B"], "judges": panel}),
        )
        .await;
        assert!(message.contains(expected), "{message}");
    }
    let message = err(
        &client,
        "add_criterion",
        json!({"session_id": id, "name": "extra", "description": "d", "model_name": "other"}),
    )
    .await;
    assert!(
        message.contains("cannot name its own backend, model or temperature"),
        "{message}"
    );
    client.cancel().await.expect("close");
}

/// A criterion may have a panel of its own in a single-judge session: its cells are judged
/// by each of its judges, the others by the session's model alone.
#[tokio::test]
async fn a_criterion_may_have_judges_of_its_own() {
    let (_, llm) = judged_by(Noise::NONE, 1).await;
    let (client, _, _) = stdio_server(&llm, &[]).await;
    let started = ok(
        &client,
        "start_decision_analysis",
        json!({"topic": "Own panel", "options": ["Alpha", "Bravo", "Charlie"],
               "model_backend": "litellm", "model_name": "session-model",
               "initial_criteria": [{"name": "cost", "description": "Total cost"}]}),
    )
    .await;
    let id = started["session_id"].as_str().expect("id").to_owned();
    let message = err(
        &client,
        "add_criterion",
        json!({"session_id": id, "name": "safety", "description": "How safe",
               "model_name": "x",
               "judges": [{"model_backend": "litellm", "model_name": "judge-a"},
                          {"model_backend": "litellm", "model_name": "judge-b"}]}),
    )
    .await;
    assert!(
        message.contains("give either judges or a backend"),
        "{message}"
    );
    ok(
        &client,
        "add_criterion",
        json!({"session_id": id, "name": "safety", "description": "How safe",
               "judges": [{"model_backend": "litellm", "model_name": "judge-a"},
                          {"model_backend": "litellm", "model_name": "judge-b"}]}),
    )
    .await;
    ok(
        &client,
        "evaluate_options",
        json!({"session_id": id, "confidence_target": 0}),
    )
    .await;
    let asked: BTreeSet<(String, String)> = llm
        .requests()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).expect("json");
            let (system, _) = judge::openai_prompt(&body);
            (
                judge::criterion_of(&system),
                body["model"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("cost", "session-model"),
        ("safety", "judge-a"),
        ("safety", "judge-b"),
    ]
    .iter()
    .map(|(c, m)| ((*c).to_owned(), (*m).to_owned()))
    .collect();
    assert_eq!(asked, expected);
    let matrix = ok(&client, "get_decision_matrix", json!({"session_id": id})).await;
    for option in ["Alpha", "Bravo", "Charlie"] {
        assert_eq!(matrix["matrix"][option]["cost"]["samples"], 1);
        assert_eq!(matrix["matrix"][option]["safety"]["samples"], 2);
    }
    client.cancel().await.expect("close");
}
