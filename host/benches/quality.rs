//! Quality benchmark: how often the server recommends the truly best option, at what cost in
//! model calls, and how honest the confidence it states is.
//!
//! Each decision has 6 options × 4 criteria with true scores drawn uniformly from the whole
//! numbers 1–10 and weights from 0.5 to 3 (seeded). The built server evaluates it through
//! the real `litellm` plugin against a loopback judge that errs as real judges do
//! ([`NoisyJudge`]: Gaussian noise of 1.5 points, a position bias of ±1 from first listed to
//! last, rounded to the 1–10 scale), then `get_decision_matrix` states the winner and its
//! probability of being best. Per configuration it reports:
//!
//! - top-1 accuracy, overall and for decisions whose true margin (weighted-average points
//!   between the best two options) is under 0.5;
//! - model calls per decision;
//! - the share of decisions with a declared clear winner, how often such a winner is right,
//!   and the share declared among decisions whose true margin is 0.5 or more;
//! - the Brier score of `winner_probability` (the mean squared gap between it and whether the
//!   winner is right).
//!
//! Configurations: one pass (`confidence_target: 0`, today's behaviour and the Python
//! server's), the default adaptive evaluation, the adaptive evaluation with a budget of 18
//! calls, a judge without noise or bias, and a panel of three judges, each also leaning its
//! own way (uniform in ±1 per cell), with 36 calls; then, with batches of 6 options (one call
//! per criterion for a first pass), a budget of 18, and the budgets whose average spending
//! stays within 18 calls for one judge (30) and 36 for the panel (72). Run with
//! `cargo bench -p decision-matrix --bench quality [-- DECISIONS [NAME]]` (default 500
//! decisions; `NAME` keeps the configurations whose name contains it); BENCHMARKS.md
//! ("Recommendation quality") records the figures.

#[allow(dead_code)]
mod support;

use std::time::Instant;

use decision_matrix_testkit::MockServer;
use decision_matrix_testkit::noisy_judge::{Noise, NoisyJudge};
use serde_json::{Value, json};

use support::process::{Server, Transport, call};

const OPTIONS: usize = 6;
const CRITERIA: usize = 4;

/// One seeded decision: its true scores and weights, named apart from every other.
struct Decision {
    index: usize,
    truth: Vec<Vec<f64>>,
    weights: Vec<f64>,
}

impl Decision {
    fn new(index: usize, seed: u64) -> Decision {
        let mut rng = fastrand::Rng::with_seed(seed ^ (index as u64).wrapping_mul(0x9E37_79B9));
        let truth = (0..OPTIONS)
            .map(|_| (0..CRITERIA).map(|_| f64::from(rng.u8(1..=10))).collect())
            .collect();
        let weights = (0..CRITERIA)
            .map(|_| (0.5 + 2.5 * rng.f64()) * 100.0)
            .map(|w| w.round() / 100.0)
            .collect();
        Decision {
            index,
            truth,
            weights,
        }
    }

    fn option(&self, o: usize) -> String {
        format!("d{}-option-{o}", self.index)
    }

    fn criterion(&self, c: usize) -> String {
        format!("d{}-criterion-{c}", self.index)
    }

    /// The true weighted averages.
    fn totals(&self) -> Vec<f64> {
        let sum: f64 = self.weights.iter().sum();
        self.truth
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&self.weights)
                    .map(|(s, w)| s * w)
                    .sum::<f64>()
                    / sum
            })
            .collect()
    }

    /// The truly best option (the first of equals) and its margin over the second.
    fn best(&self) -> (usize, f64) {
        let totals = self.totals();
        let mut order: Vec<usize> = (0..OPTIONS).collect();
        order.sort_by(|&a, &b| totals[b].total_cmp(&totals[a]).then(a.cmp(&b)));
        (order[0], totals[order[0]] - totals[order[1]])
    }

    fn truth_table(&self) -> Vec<((String, String), f64)> {
        (0..OPTIONS)
            .flat_map(|o| {
                (0..CRITERIA).map(move |c| ((self.criterion(c), self.option(o)), self.truth[o][c]))
            })
            .collect()
    }
}

/// What one configuration did over every decision.
#[derive(Default)]
struct Tally {
    decisions: usize,
    right: usize,
    close: usize,
    close_right: usize,
    calls: u64,
    clear: usize,
    clear_right: usize,
    wide: usize,
    wide_clear: usize,
    brier: f64,
}

impl Tally {
    fn row(&self, name: &str) -> String {
        let n = self.decisions as f64;
        let share = |a: usize, b: usize| {
            if b == 0 {
                "-".to_owned()
            } else {
                format!("{:.3}", a as f64 / b as f64)
            }
        };
        format!(
            "| {name} | {} | {} | {} ({}) | {:.1} | {} | {} | {} | {:.3} |",
            self.decisions,
            share(self.right, self.decisions),
            share(self.close_right, self.close),
            self.close,
            self.calls as f64 / n,
            share(self.clear, self.decisions),
            share(self.clear_right, self.clear),
            share(self.wide_clear, self.wide),
            self.brier / n,
        )
    }
}

/// How one configuration starts and evaluates its sessions.
struct Configuration {
    name: &'static str,
    noise: Noise,
    /// Extra `start_decision_analysis` arguments (a panel of judges).
    start: Value,
    /// Extra `evaluate_options` arguments.
    steering: Value,
    /// Extra `serve` arguments.
    serve: &'static [&'static str],
}

/// Evaluates every decision on `server` as `configuration` says, judged as the mock judges.
async fn run(server: &Server, decisions: &[Decision], configuration: &Configuration) -> Tally {
    let label = configuration.name;
    let client = server.client(0);
    let mut tally = Tally::default();
    for decision in decisions {
        let criteria: Vec<Value> = (0..CRITERIA)
            .map(|c| {
                json!({"name": decision.criterion(c), "description": "how good the option is here",
                       "weight": decision.weights[c]})
            })
            .collect();
        let options: Vec<String> = (0..OPTIONS).map(|o| decision.option(o)).collect();
        let mut start = json!({"topic": format!("{label}: decision {}", decision.index),
                               "options": options, "model_backend": "litellm",
                               "initial_criteria": criteria});
        for (key, value) in configuration.start.as_object().into_iter().flatten() {
            start[key] = value.clone();
        }
        let started = call(client, "start_decision_analysis", start).await;
        let id = started["session_id"].as_str().expect("id").to_owned();
        let mut args = configuration.steering.clone();
        args["session_id"] = json!(id);
        let evaluated = call(client, "evaluate_options", args).await;
        let matrix = call(client, "get_decision_matrix", json!({"session_id": id})).await;
        call(client, "clear_all_sessions", json!({})).await;
        let confidence = &matrix["confidence"];
        let (best, margin) = decision.best();
        let right = confidence["winner"] == json!(decision.option(best));
        let clear = confidence["clear_winner"] == json!(true);
        let p = confidence["winner_probability"].as_f64().unwrap_or(0.0);
        tally.decisions += 1;
        tally.right += usize::from(right);
        tally.calls += evaluated["summary"]["llm_calls"].as_u64().unwrap_or(0);
        tally.clear += usize::from(clear);
        tally.clear_right += usize::from(clear && right);
        tally.brier += (p - f64::from(u8::from(right))).powi(2);
        if margin < 0.5 {
            tally.close += 1;
            tally.close_right += usize::from(right);
        } else {
            tally.wide += 1;
            tally.wide_clear += usize::from(clear);
        }
    }
    tally
}

#[tokio::main]
async fn main() {
    let positional: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let count: usize = positional
        .first()
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(500);
    // A second argument keeps the configurations whose name contains it.
    let only = positional.get(1).cloned().unwrap_or_default();
    let decisions: Vec<Decision> = (0..count).map(|d| Decision::new(d, 2026)).collect();
    let table: Vec<((String, String), f64)> =
        decisions.iter().flat_map(Decision::truth_table).collect();
    let truth: Vec<((&str, &str), f64)> = table
        .iter()
        .map(|((c, o), s)| ((c.as_str(), o.as_str()), *s))
        .collect();
    let single = |name, noise, steering| Configuration {
        name,
        noise,
        start: json!({}),
        steering,
        serve: &[],
    };
    let panel = json!({"judges": [
        {"model_backend": "litellm", "model_name": "judge-a"},
        {"model_backend": "litellm", "model_name": "judge-b"},
        {"model_backend": "litellm", "model_name": "judge-c"},
    ]});
    let configurations = [
        single(
            "one pass (confidence_target 0)",
            Noise::TYPICAL,
            json!({"confidence_target": 0}),
        ),
        single("adaptive, default budget", Noise::TYPICAL, json!({})),
        single(
            "adaptive, max_calls 18",
            Noise::TYPICAL,
            json!({"max_calls": 18}),
        ),
        single("exact judge, adaptive", Noise::NONE, json!({})),
        Configuration {
            name: "adaptive, max_calls 18, batches of 6",
            serve: &["--set", "evaluation.batch_size=6"],
            ..single("", Noise::TYPICAL, json!({"max_calls": 18}))
        },
        Configuration {
            name: "adaptive, max_calls 30, batches of 6",
            serve: &["--set", "evaluation.batch_size=6"],
            ..single("", Noise::TYPICAL, json!({"max_calls": 30}))
        },
        Configuration {
            name: "panel of 3 (leaning ±1 each), max_calls 36",
            noise: Noise {
                leaning: 1.0,
                ..Noise::TYPICAL
            },
            start: panel.clone(),
            steering: json!({"max_calls": 36}),
            serve: &[],
        },
        Configuration {
            name: "panel of 3 (leaning ±1 each), max_calls 72, batches of 6",
            noise: Noise {
                leaning: 1.0,
                ..Noise::TYPICAL
            },
            start: panel,
            steering: json!({"max_calls": 72}),
            serve: &["--set", "evaluation.batch_size=6"],
        },
    ];
    let mut rows = Vec::new();
    for configuration in configurations.iter().filter(|c| c.name.contains(&only)) {
        let judge = NoisyJudge::new(configuration.noise, &truth, 7);
        let mock = MockServer::start_unrecorded(judge.router()).await;
        let server = Server::start(Transport::Stdio, 1, &mock, configuration.serve).await;
        let started = Instant::now();
        let tally = run(&server, &decisions, configuration).await;
        let name = configuration.name;
        eprintln!("{name}: {count} decisions in {:.1?}", started.elapsed());
        rows.push(tally.row(name));
        server.stop().await;
    }
    println!(
        "\n| configuration | decisions | top-1 accuracy | accuracy, margin < 0.5 (decisions) | calls per decision | clear winner declared | declared winner right | declared, margin ≥ 0.5 | Brier |\n|---|---|---|---|---|---|---|---|---|"
    );
    for row in rows {
        println!("{row}");
    }
}
