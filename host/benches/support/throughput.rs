//! Workflow throughput: clients loop the reference workflow for [`WORKFLOW_TIME`], each
//! session on its own topic so the server's answer cache never answers for the model, and
//! every evaluation checked to score all its cells with the model.

use std::time::{Duration, Instant};

use super::figures::{Samples, megabytes, time};
use super::process::{Client, Server, Transport};
use super::workload::{Judge, Usage, workflow};

/// How long the clients loop the workflow, per configuration.
pub const WORKFLOW_TIME: Duration = Duration::from_secs(15);
/// Untimed workflows each client runs first.
pub const WARM_UP_WORKFLOWS: usize = 2;
/// Upper bound on the workflows one client runs in [`WORKFLOW_TIME`].
const MAX_WORKFLOWS: usize = 10_000;

/// Workflows run by one client until `deadline` (at least `min`), each on a topic of its
/// own; the `evaluate_options` latencies.
async fn client_loop(client: &Client, name: &str, min: usize, deadline: Instant) -> Vec<Duration> {
    let mut evaluations = Vec::new();
    while evaluations.len() < MAX_WORKFLOWS
        && (evaluations.len() < min || Instant::now() < deadline)
    {
        let topic = format!("Choose a platform ({name}, session {})", evaluations.len());
        evaluations.push(workflow(client, &topic).await);
    }
    evaluations
}

/// Every client of `server` looping the workflow at once until `deadline`, the topics
/// marked with `label`; the `evaluate_options` latencies of them all.
async fn all_clients(server: &Server, label: &str, min: usize, deadline: Instant) -> Vec<Duration> {
    let loops = server
        .clients
        .iter()
        .enumerate()
        .map(|(index, client)| async move {
            client_loop(client, &format!("{label}, client {index}"), min, deadline).await
        });
    futures_util::future::join_all(loops)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// What one workflow configuration achieved.
pub struct Throughput {
    pub transport: Transport,
    pub clients: usize,
    pub llm_latency: Duration,
    pub sessions: usize,
    pub elapsed: Duration,
    pub evaluate: Samples,
    pub peak_memory: u64,
    /// Model calls and tokens of the timed sessions.
    pub usage: Usage,
}

impl Throughput {
    pub fn per_minute(&self) -> f64 {
        self.sessions as f64 * 60.0 / self.elapsed.as_secs_f64()
    }
}

/// Set (to anything) to print each workflow server's resident set by mapping before it
/// stops; set to a number of seconds to also keep the server running that long, for
/// inspecting it from outside (`/proc/<pid>/smaps`, `pagemap`).
const RESIDENT_ENV: &str = "DMM_BENCH_RESIDENT";

/// Sessions a throughput server holds for `clients` clients: room for every client's session
/// and the ones it left behind. With the default 100 and 64 fast clients, least-recently-used
/// eviction can take a session between two of its client's calls; up to 25 clients keep the
/// default, so the four-client figures are the default configuration's.
pub fn max_sessions(clients: usize) -> usize {
    (4 * clients).max(100)
}

/// `clients` clients of one server on `transport` looping the workflow against `llm`.
/// `args` are extra `serve` arguments.
pub async fn throughput(
    transport: Transport,
    clients: usize,
    llm: &Judge,
    args: &[&str],
) -> Throughput {
    let max_sessions = format!("sessions.max_sessions={}", max_sessions(clients));
    let args: Vec<&str> = ["--set", max_sessions.as_str()]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    let server = Server::start(transport, clients, &llm.mock, &args).await;
    all_clients(&server, "warm-up", WARM_UP_WORKFLOWS, Instant::now()).await;
    let usage_before = Usage::of(&server.stats().await);
    let started = Instant::now();
    let evaluations = all_clients(&server, "timed", 1, started + WORKFLOW_TIME).await;
    let elapsed = started.elapsed();
    let usage = Usage::of(&server.stats().await).since(usage_before);
    let peak_memory = server.peak_memory();
    if std::env::var_os(RESIDENT_ENV).is_some() {
        for (what, bytes) in server.resident_breakdown() {
            eprintln!("  resident {:>6.1} MB  {what}", megabytes(bytes));
        }
        if let Some(secs) = std::env::var(RESIDENT_ENV)
            .ok()
            .and_then(|s| s.parse().ok())
        {
            eprintln!("  holding server {} for {secs} s", server.pid);
            tokio::time::sleep(Duration::from_secs(secs)).await;
        }
    }
    server.stop().await;
    let result = Throughput {
        transport,
        clients,
        llm_latency: llm.latency,
        sessions: evaluations.len(),
        elapsed,
        evaluate: Samples::new(evaluations),
        peak_memory,
        usage,
    };
    eprintln!(
        "{:>5} x{} model {}: {} sessions in {} = {:.0}/min, evaluate p50 {}, peak {:.1} MB",
        transport.name(),
        clients,
        time(llm.latency),
        result.sessions,
        time(result.elapsed),
        result.per_minute(),
        time(result.evaluate.p50()),
        megabytes(result.peak_memory)
    );
    result
}
