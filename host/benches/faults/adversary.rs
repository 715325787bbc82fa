//! Adversarial plugins against the host: each attack of the fixture plugins
//! (`plugins/fixtures/`) timed until the host stops it, then an ordinary call to show the host
//! still serves. In-process, with the server's default limits.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use decision_matrix::plugins::bindings::scoring_export::{Cell, Criterion, Matrix};
use decision_matrix::plugins::grants::{Grant, GrantsConfig, HostPattern, SecretSource};
use decision_matrix::plugins::{
    BackendPlugin, CallError, PluginCatalog, PluginHost, PluginSettings,
};
use decision_matrix_testkit::MockServer;
use decision_matrix_testkit::hostile::{echo_server, huge_body_server, metadata_redirect_server};

use crate::support::figures::time;
use crate::support::plugin_host::request;

const SECRET: &str = "sk-bench-0123456789abcdef-never-in-the-guest";

async fn run(plugin: &BackendPlugin, command: &str) -> Result<String, CallError> {
    plugin.generate(request(command)).await.map(|g| g.text)
}

fn pattern(text: &str) -> HostPattern {
    text.parse().expect("host pattern")
}

/// One attack's outcome.
struct Row {
    attack: &'static str,
    answer: String,
    stopped_after: Duration,
    requests_out: Option<usize>,
    echo_after: Duration,
}

/// `text` for a table cell: one line, no machine path or port number (they change from
/// run to run), at most 200 characters.
fn short(text: &str) -> String {
    let line = text
        .lines()
        .next()
        .unwrap_or_default()
        .replace(
            &*decision_matrix_testkit::plugins_dir().to_string_lossy(),
            "<plugins dir>",
        )
        .replace('|', "\\|");
    let mut masked = String::with_capacity(line.len());
    let mut rest = line.as_str();
    while let Some(at) = rest.find("127.0.0.1:") {
        let (before, after) = rest.split_at(at + "127.0.0.1:".len());
        masked.push_str(before);
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            masked.push_str("PORT");
        }
        rest = &after[digits..];
    }
    masked.push_str(rest);
    if masked.chars().count() > 200 {
        format!("{}…", masked.chars().take(200).collect::<String>())
    } else {
        masked
    }
}

/// The echo after an attack: the host must still answer, and correctly.
async fn echo(plugin: &BackendPlugin) -> Duration {
    let started = Instant::now();
    let answer = run(plugin, "echo still here")
        .await
        .expect("echo after an attack");
    assert_eq!(answer, "still here");
    started.elapsed()
}

pub async fn attacks() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("key"), SECRET).expect("secret file");
    let granted = echo_server().await;
    let other = echo_server().await;
    let huge = huge_body_server().await;
    let redirect = metadata_redirect_server().await;
    // The server's default limits; the adversary's plugin.toml asks for 32 MiB, 2 s of
    // CPU and 10 s of wall time, the scoring loop for 500 ms of CPU.
    let settings = PluginSettings {
        dir: Some(decision_matrix_testkit::plugins_dir().to_path_buf()),
        cache_dir: Some(dir.path().join("cache")),
        ..PluginSettings::default()
    };
    let mut grants = GrantsConfig::default();
    grants.secrets.insert(
        "test-key".to_owned(),
        SecretSource::File {
            file: dir.path().join("key"),
        },
    );
    let base = pattern(&granted.base_url());
    // The echo server, the huge and redirecting ones are granted; `other` is granted as a
    // host but the secret is bound to `granted` only.
    grants.grants.insert(
        "fixture-adversary".to_owned(),
        Grant {
            hosts: vec![
                base.clone(),
                pattern(&other.base_url()),
                pattern(&huge.base_url()),
                pattern(&redirect.base_url()),
            ],
            allow_private: true,
            secrets: BTreeMap::from([("test-key".to_owned(), vec![base])]),
            config: BTreeMap::new(),
        },
    );
    let host = PluginHost::new(settings.clone(), grants).expect("host");
    let catalog = PluginCatalog::load(&host, host.settings().plugins_dir().as_deref());
    let plugin = catalog
        .backend("fixture-adversary")
        .expect("fixture-adversary loaded")
        .clone();
    // The same plugin without allow_private: loopback is then out of reach.
    let mut strict_grants = GrantsConfig::default();
    strict_grants.grants.insert(
        "fixture-adversary".to_owned(),
        Grant {
            hosts: vec![pattern(&granted.base_url())],
            ..Grant::default()
        },
    );
    let strict_host = PluginHost::new(
        PluginSettings {
            cache_dir: Some(dir.path().join("cache")),
            ..settings.clone()
        },
        strict_grants,
    )
    .expect("host");
    let strict_catalog = PluginCatalog::load(
        &strict_host,
        strict_host.settings().plugins_dir().as_deref(),
    );
    let strict = strict_catalog
        .backend("fixture-adversary")
        .expect("fixture-adversary loaded")
        .clone();

    echo(&plugin).await;
    let mut rows = Vec::new();
    let attacks: Vec<(&'static str, &BackendPlugin, String, Option<&MockServer>)> = vec![
        ("infinite loop", &plugin, "loop".to_owned(), None),
        (
            "memory bomb (1 MiB blocks until refused)",
            &plugin,
            "oom".to_owned(),
            None,
        ),
        ("panic", &plugin, "panic".to_owned(), None),
        (
            "blocking sleep of 60 s",
            &plugin,
            "sleep 60000".to_owned(),
            None,
        ),
        (
            "granted secret sent to a host it is not bound to",
            &plugin,
            format!("fetch GET {}/steal auth=bearer:test-key", other.base_url()),
            Some(&other),
        ),
        (
            "secret never granted (`aws-root`)",
            &plugin,
            format!(
                "fetch GET {}/steal auth=bearer:aws-root",
                granted.base_url()
            ),
            Some(&granted),
        ),
        (
            "https host outside the allow-list",
            &strict,
            format!("fetch GET https://{}/x", other.addr()),
            Some(&other),
        ),
        (
            "loopback without `allow_private`",
            &strict,
            format!("fetch GET {}/x", granted.base_url()),
            Some(&granted),
        ),
        (
            "20 MiB response (cap 16 MiB)",
            &plugin,
            format!("fetch GET {}/huge", huge.base_url()),
            None,
        ),
        (
            "redirect to the cloud metadata address",
            &plugin,
            format!("fetch GET {}/jump", redirect.base_url()),
            None,
        ),
        (
            "read `/etc/passwd`, list `/`, write a file",
            &plugin,
            "files".to_owned(),
            None,
        ),
        (
            "read the environment and arguments",
            &plugin,
            "env".to_owned(),
            None,
        ),
    ];
    for (attack, target, command, watched) in attacks {
        let before = watched.map(|s| s.requests().len());
        let started = Instant::now();
        let outcome = run(target, &command).await;
        let stopped_after = started.elapsed();
        let answer = match outcome {
            // A response: its status and where it points (dates and sizes change).
            Ok(text) if text.starts_with("status=") => format!(
                "answered: {}",
                text.lines()
                    .filter(|l| l.starts_with("status=") || l.starts_with("location:"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Ok(text) => format!("answered: {}", text.trim_end().replace('\n', "; ")),
            Err(error) => error.to_string(),
        };
        assert!(
            !answer.contains(SECRET),
            "{attack}: the guest saw the secret"
        );
        let requests_out = watched.zip(before).map(|(s, b)| s.requests().len() - b);
        rows.push(Row {
            attack,
            answer,
            stopped_after,
            requests_out,
            echo_after: echo(target).await,
        });
    }

    // The secret is injected on the way out and scrubbed from what comes back.
    let started = Instant::now();
    let answer = run(
        &plugin,
        &format!(
            "fetch GET {}/v1 auth=bearer:test-key header=authorization:Bearer-guest",
            granted.base_url()
        ),
    )
    .await
    .expect("allowed request");
    let sent = granted
        .requests()
        .last()
        .and_then(|r| r.header("authorization").map(str::to_owned));
    assert_eq!(sent, Some(format!("Bearer {SECRET}")));
    assert!(!answer.contains(SECRET));
    rows.push(Row {
        attack: "read the granted secret back from the server's echo",
        answer: format!(
            "sent with the secret (the guest's own `authorization` header stripped); the echo reached the guest as `{}`",
            answer
                .lines()
                .find(|l| l.starts_with("authorization="))
                .unwrap_or("?")
        ),
        stopped_after: started.elapsed(),
        requests_out: Some(1),
        echo_after: echo(&plugin).await,
    });

    // A scoring strategy that never returns.
    let looping = catalog
        .scorer("fixture-scoring-loop")
        .expect("fixture-scoring-loop loaded")
        .clone();
    let matrix = Matrix {
        options: vec!["a".into(), "b".into()],
        criteria: vec![Criterion {
            name: "c".into(),
            weight: 1.0,
        }],
        cells: vec![Cell::Scored(3.0), Cell::Scored(4.0)],
    };
    let started = Instant::now();
    let error = looping
        .rank(matrix.clone(), Vec::new())
        .await
        .expect_err("the loop is stopped");
    let stopped_after = started.elapsed();
    let started = Instant::now();
    let ranked = catalog
        .scorer("weighted-average")
        .expect("built-in")
        .rank(matrix, Vec::new())
        .await
        .expect("rank");
    assert_eq!(ranked[0].option_index, 1);
    rows.push(Row {
        attack: "scoring strategy that loops forever (`scoring-loop`)",
        answer: error.to_string(),
        stopped_after,
        requests_out: None,
        echo_after: started.elapsed(),
    });
    let refused = catalog
        .failures()
        .iter()
        .map(ToString::to_string)
        .find(|f| f.contains("scoring-http"))
        .expect("scoring-http refused");

    println!(
        "\n| attack (fixture `adversary` unless named) | what the host answers | stopped after | requests that left the host | next ordinary call |"
    );
    println!("|---|---|---|---|---|");
    for row in &rows {
        println!(
            "| {} | {} | {} | {} | ok, {} |",
            row.attack,
            short(&row.answer),
            time(row.stopped_after),
            row.requests_out.map_or("—".to_owned(), |n| n.to_string()),
            time(row.echo_after)
        );
    }
    println!(
        "| scoring strategy importing the network (`scoring-http`) | refused at load: {} | at load | — | other plugins load |",
        short(&refused)
    );

    // Other calls while an attack runs: a loop holds one of the two workers for its 2 s
    // CPU budget; echo calls keep being answered on the other.
    let spinning = tokio::spawn({
        let plugin = plugin.clone();
        async move { run(&plugin, "loop").await }
    });
    let mut latencies = Vec::new();
    while !spinning.is_finished() && latencies.len() < 100_000 {
        let started = Instant::now();
        let answer = run(&plugin, "echo during")
            .await
            .expect("echo during the loop");
        assert_eq!(answer, "during");
        latencies.push(started.elapsed());
    }
    let stopped = spinning.await.expect("joins");
    assert!(matches!(stopped, Err(CallError::CpuBudget { .. })));
    latencies.sort();
    let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
    println!(
        "\nWhile one `loop` call spun until its CPU budget stopped it, {} ordinary calls were answered one after another on the other worker (p50 {}, p99 {}, slowest {}).",
        latencies.len(),
        time(at(50)),
        time(at(99)),
        time(*latencies.last().expect("calls"))
    );
}
