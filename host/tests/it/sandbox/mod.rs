//! The sandbox, shown with adversarial fixture plugins (`plugins/fixtures/`) against loopback
//! mock servers: each attack is contained with the right typed error, no secret value ever
//! reaches the guest, and the host keeps serving other calls afterwards.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use decision_matrix::plugins::bindings::llm_backend::{GenerateRequest, Message, Role};
use decision_matrix::plugins::grants::{Grant, GrantsConfig, HostPattern, SecretSource};
use decision_matrix::plugins::limits::LimitSettings;
use decision_matrix::plugins::{
    BackendPlugin, CallError, PluginCatalog, PluginHost, PluginSettings,
};
use decision_matrix_testkit::MockServer;
use decision_matrix_testkit::hostile::{echo_server, huge_body_server, metadata_redirect_server};

mod memory_budget;
mod secret_echoes;

const SECRET: &str = "sk-test-0123456789abcdef-never-in-the-guest";

fn fixtures_dir() -> PathBuf {
    decision_matrix_testkit::plugins_dir().to_path_buf()
}

fn pattern(text: &str) -> HostPattern {
    text.parse().expect("host pattern")
}

/// Scratch space shared by every test in this file: one compile cache (the first host
/// compiles the fixtures, the others load them; the cache is safe for concurrent use) and the
/// file the test secret is read from, as an operator would configure it.
fn shared_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sandbox");
        std::fs::create_dir_all(&dir).expect("scratch dir");
        std::fs::write(dir.join("test-key"), format!("{SECRET}\n")).expect("secret file");
        dir
    })
}

/// Limits small enough that runaway fixtures are stopped quickly.
fn test_limits() -> LimitSettings {
    LimitSettings {
        default_memory_mib: 32,
        default_cpu_ms: 300,
        max_cpu_ms: 500,
        default_timeout_ms: 5_000,
        ..LimitSettings::default()
    }
}

/// A host with the fixtures directory loaded, small limits, and `grant` for the adversary.
fn host_with(grant: Grant) -> (PluginHost, PluginCatalog) {
    host_with_limits(grant, test_limits())
}

fn host_with_limits(grant: Grant, limits: LimitSettings) -> (PluginHost, PluginCatalog) {
    let settings = PluginSettings {
        dir: Some(fixtures_dir()),
        cache_dir: Some(shared_dir().join("cache")),
        limits,
        ..PluginSettings::default()
    };
    let mut grants = GrantsConfig::default();
    grants.secrets.insert(
        "test-key".to_owned(),
        SecretSource::File {
            file: shared_dir().join("test-key"),
        },
    );
    grants.grants.insert("fixture-adversary".to_owned(), grant);
    let host = PluginHost::new(settings, grants).expect("host");
    let catalog = PluginCatalog::load(&host, host.settings().plugins_dir().as_deref());
    (host, catalog)
}

fn adversary(catalog: &PluginCatalog) -> BackendPlugin {
    let plugin = catalog
        .backend("fixture-adversary")
        .expect("fixture-adversary loaded")
        .clone();
    // A file could change before a first call, so file plugins are never deferred.
    assert!(plugin.is_loaded());
    plugin
}

fn request(command: &str) -> GenerateRequest {
    GenerateRequest {
        model: None,
        messages: vec![Message {
            role: Role::User,
            content: command.to_owned(),
        }],
        temperature: None,
        max_tokens: None,
        stop: Vec::new(),
        response_schema: None,
        extra: Vec::new(),
    }
}

async fn run(plugin: &BackendPlugin, command: &str) -> Result<String, CallError> {
    plugin.generate(request(command)).await.map(|g| g.text)
}

/// Asserts the host still serves ordinary calls.
async fn still_serving(plugin: &BackendPlugin) {
    let answer = run(plugin, "echo still here")
        .await
        .expect("echo after an attack");
    assert_eq!(answer, "still here");
}

fn grant_for(server: &MockServer, allow_private: bool) -> Grant {
    let base = pattern(&server.base_url());
    Grant {
        hosts: vec![base.clone()],
        allow_private,
        secrets: BTreeMap::from([("test-key".to_owned(), vec![base])]),
        config: BTreeMap::from([("mode".to_owned(), "test".to_owned())]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop_is_stopped_by_the_cpu_budget() {
    let (_host, catalog) = host_with(Grant::default());
    let plugin = adversary(&catalog);
    let err = run(&plugin, "loop").await.unwrap_err();
    assert!(matches!(err, CallError::CpuBudget { .. }), "{err:?}");
    assert!(err.to_string().contains("fixture-adversary@"), "{err}");
    assert!(!err.is_retryable());
    still_serving(&plugin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bomb_hits_the_memory_limit() {
    let (_host, catalog) = host_with(Grant::default());
    let plugin = adversary(&catalog);
    let err = run(&plugin, "oom").await.unwrap_err();
    assert!(
        matches!(err, CallError::MemoryLimit { limit_bytes, .. } if limit_bytes == 32 << 20),
        "{err:?}"
    );
    assert!(err.to_string().contains("memory limit of 32 MiB"), "{err}");
    still_serving(&plugin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_is_a_trap_carrying_the_panic_message() {
    let (_host, catalog) = host_with(Grant::default());
    let plugin = adversary(&catalog);
    let err = run(&plugin, "panic").await.unwrap_err();
    assert!(matches!(err, CallError::Trap { .. }), "{err:?}");
    assert!(
        err.to_string().contains("adversary panicked on purpose"),
        "{err}"
    );
    still_serving(&plugin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_for_another_host_is_not_sent() {
    let bound = echo_server().await;
    let other = echo_server().await;
    // Both hosts are allowed, but the secret is bound to `bound` only.
    let mut grant = grant_for(&bound, true);
    grant.hosts.push(pattern(&other.base_url()));
    let (_host, catalog) = host_with(grant);
    let plugin = adversary(&catalog);

    let err = run(
        &plugin,
        &format!("fetch GET {}/steal auth=bearer:test-key", other.base_url()),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("SecretNotGranted"), "{err}");
    assert!(
        other.requests().is_empty(),
        "the request must not leave the host"
    );
    still_serving(&plugin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_secret_is_not_granted() {
    let server = echo_server().await;
    let (_host, catalog) = host_with(grant_for(&server, true));
    let err = run(
        &adversary(&catalog),
        &format!("fetch GET {}/x auth=bearer:aws-root", server.base_url()),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("SecretNotGranted"), "{err}");
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_target_needs_allow_private() {
    let server = echo_server().await;
    let (_host, catalog) = host_with(grant_for(&server, false));
    let plugin = adversary(&catalog);
    for url in [
        server.base_url(),
        format!("http://localhost:{}", server.addr().port()),
    ] {
        let err = run(&plugin, &format!("fetch GET {url}/x"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Denied"), "{url}: {err}");
    }
    assert!(
        server.requests().is_empty(),
        "no request may reach a loopback server"
    );
    still_serving(&plugin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_outside_the_allow_list_is_denied_naming_the_grant() {
    let server = echo_server().await;
    let (_host, catalog) = host_with(Grant::default());
    let err = run(
        &adversary(&catalog),
        &format!("fetch GET {}/x", server.base_url()),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("Denied") && text.contains("[grants.fixture-adversary]"),
        "{text}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_response_is_cut_off() {
    let server = huge_body_server().await;
    let (_host, catalog) = host_with(grant_for(&server, true));
    let plugin = adversary(&catalog);
    let err = run(&plugin, &format!("fetch GET {}/huge", server.base_url()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("BodyTooLarge"), "{err}");
    still_serving(&plugin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_auth_headers_are_stripped_and_the_secret_never_reaches_the_guest() {
    let server = echo_server().await;
    let (_host, catalog) = host_with(grant_for(&server, true));
    let plugin = adversary(&catalog);

    // A guest-set Authorization header never leaves the host.
    let answer = run(
        &plugin,
        &format!(
            "fetch POST {}/v1 header=authorization:Bearer-guest header=x-api-key:guest body=hello",
            server.base_url()
        ),
    )
    .await
    .expect("allowed request");
    assert!(answer.starts_with("status=200"), "{answer}");
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), None);
    assert_eq!(seen[0].header("x-api-key"), None);
    assert_eq!(&seen[0].body[..], b"hello");

    // With the granted secret the server receives it; the echo in header and body is scrubbed
    // before the guest sees the response.
    let answer = run(
        &plugin,
        &format!(
            "fetch GET {}/v1 auth=bearer:test-key header=authorization:Bearer-guest",
            server.base_url()
        ),
    )
    .await
    .expect("allowed request");
    let seen = server.requests();
    assert_eq!(
        seen[1].header("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    assert!(
        !answer.contains(SECRET),
        "the guest saw the secret: {answer}"
    );
    assert!(answer.contains("[REDACTED]"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed() {
    let server = metadata_redirect_server().await;
    let (_host, catalog) = host_with(grant_for(&server, true));
    let answer = run(
        &adversary(&catalog),
        &format!("fetch GET {}/jump", server.base_url()),
    )
    .await
    .expect("response");
    assert!(answer.starts_with("status=302"), "{answer}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_upstream_times_out_as_a_typed_error() {
    let server = MockServer::start(Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            "late"
        }),
    ))
    .await;
    let (_host, catalog) = host_with(grant_for(&server, true));
    let plugin = adversary(&catalog);
    let err = run(
        &plugin,
        &format!("fetch GET {}/slow timeout=200", server.base_url()),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("Timeout"), "{err}");
    still_serving(&plugin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_environment_and_arguments_are_out_of_reach() {
    let (_host, catalog) = host_with(Grant::default());
    let plugin = adversary(&catalog);
    let files = run(&plugin, "files").await.expect("answer");
    assert!(
        !files.contains(": ok"),
        "a file operation succeeded: {files}"
    );
    assert!(files.lines().count() >= 3, "{files}");
    let env = run(&plugin, "env").await.expect("answer");
    assert!(env.starts_with("env: 0"), "{env}");
    assert!(!env.contains(SECRET), "{env}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_comes_from_manifest_and_grant() {
    let server = echo_server().await;
    let (_host, catalog) = host_with(grant_for(&server, true));
    let plugin = adversary(&catalog);
    assert_eq!(run(&plugin, "config mode").await.expect("answer"), "test");
    assert_eq!(
        run(&plugin, "config no-such-key").await.expect("answer"),
        "<unset>"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_run_in_parallel_in_fresh_instances() {
    let (_host, catalog) = host_with(Grant::default());
    let plugin = adversary(&catalog);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let plugin = plugin.clone();
            tokio::spawn(async move { run(&plugin, &format!("echo call {i}")).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(
            task.await.expect("join").expect("call"),
            format!("call {i}")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_contract_version_is_refused_with_the_supported_range() {
    let (_host, catalog) = host_with(Grant::default());
    let failure = catalog
        .failures()
        .iter()
        .map(ToString::to_string)
        .find(|f| f.contains("fixture-future-wit") || f.contains("future"))
        .expect("the future-WIT fixture is refused");
    assert!(
        failure.contains("0.2.0") && failure.contains("needs a newer decision-matrix host"),
        "{failure}"
    );
    assert!(failure.contains("this host supports 0.1.0"), "{failure}");
}

/// Collects formatted log output in memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// Formatted log output at info and above of this thread, until the guard is dropped. Tests
/// using it run on a current-thread runtime, so plugin calls stay on this thread.
fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

// A current-thread runtime keeps the plugin call on this thread, where the capturing
// subscriber is installed.
#[tokio::test(flavor = "current_thread")]
async fn guest_output_and_log_records_reach_tracing_under_the_plugin_id() {
    let (captured, _guard) = capture_logs();

    let (_host, catalog) = host_with(Grant::default());
    let plugin = adversary(&catalog);
    assert_eq!(
        run(&plugin, "stdio printed-by-the-guest")
            .await
            .expect("stdio"),
        "printed"
    );
    assert_eq!(
        run(&plugin, "log warn logged-by-the-guest")
            .await
            .expect("log"),
        "logged"
    );
    assert_eq!(
        run(&plugin, "log debug below-the-level")
            .await
            .expect("log"),
        "logged"
    );

    let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("-by-the-guest"))
        .collect();
    assert_eq!(lines.len(), 3, "stdout, stderr and the log record: {text}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains("plugin=fixture-adversary@0.1.0")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("stream=\"stdout\"") || l.contains("stream=stdout")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("WARN") && l.contains("logged-by-the-guest")),
        "{text}"
    );
    assert!(!text.contains("below-the-level"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoring_plugin_importing_the_network_is_refused_at_load() {
    let (_host, catalog) = host_with(Grant::default());
    assert!(catalog.scorer("fixture-scoring-http").is_none());
    let failure = catalog
        .failures()
        .iter()
        .map(ToString::to_string)
        .find(|f| f.contains("scoring-http"))
        .expect("the scoring-http fixture is refused");
    assert!(
        failure.contains("scoring plugins have no network"),
        "{failure}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looping_scoring_plugin_is_stopped_and_others_keep_working() {
    use decision_matrix::plugins::bindings::scoring_export::{Cell, Criterion, Matrix};
    let (_host, catalog) = host_with(Grant::default());
    let looping = catalog
        .scorer("fixture-scoring-loop")
        .expect("loaded")
        .clone();
    let matrix = Matrix {
        options: vec!["a".into(), "b".into()],
        criteria: vec![Criterion {
            name: "c".into(),
            weight: 1.0,
        }],
        cells: vec![Cell::Scored(3.0), Cell::Scored(4.0)],
    };
    let err = looping.rank(matrix.clone(), Vec::new()).await.unwrap_err();
    assert!(matches!(err, CallError::CpuBudget { .. }), "{err:?}");
    let ranked = catalog
        .scorer("weighted-average")
        .expect("built-in")
        .rank(matrix, Vec::new())
        .await
        .expect("rank");
    assert_eq!(ranked[0].option_index, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_on_the_network_does_not_spend_the_cpu_budget() {
    let server = MockServer::start(Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(1_200)).await;
            "worth the wait"
        }),
    ))
    .await;
    // The CPU budget is at most 500 ms; the response takes 1.2 s of wall time.
    let (_host, catalog) = host_with(grant_for(&server, true));
    let answer = run(
        &adversary(&catalog),
        &format!("fetch GET {}/slow", server.base_url()),
    )
    .await
    .expect("a slow upstream is not a CPU overrun");
    assert!(answer.ends_with("worth the wait"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wall_clock_limit_stops_a_call_that_waits_too_long() {
    let limits = LimitSettings {
        max_timeout_ms: 400,
        default_timeout_ms: 400,
        ..test_limits()
    };
    let (_host, catalog) = host_with_limits(Grant::default(), limits);
    let plugin = adversary(&catalog);
    let err = run(&plugin, "sleep 5000").await.unwrap_err();
    assert!(matches!(err, CallError::Timeout { .. }), "{err:?}");
    assert!(
        err.to_string().contains("did not finish within 400 ms"),
        "{err}"
    );
    assert!(err.is_retryable());
    still_serving(&plugin).await;
}

/// Sets its flag when dropped: the server dropped the handler, so the connection is gone.
struct Dropped(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_stopped_by_its_time_limit_abandons_its_request() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let abandoned = Arc::new(AtomicBool::new(false));
    let flag = abandoned.clone();
    let server = MockServer::start(Router::new().route(
        "/hang",
        get(move || {
            let guard = Dropped(flag.clone());
            async move {
                tokio::time::sleep(Duration::from_secs(60)).await;
                drop(guard);
                "too late"
            }
        }),
    ))
    .await;
    let limits = LimitSettings {
        max_timeout_ms: 400,
        default_timeout_ms: 400,
        ..test_limits()
    };
    let (_host, catalog) = host_with_limits(grant_for(&server, true), limits);
    let plugin = adversary(&catalog);
    let err = run(&plugin, &format!("fetch GET {}/hang", server.base_url()))
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Timeout { .. }), "{err:?}");
    // The request is not left running after its call: the connection closes, and the server
    // drops the handler long before its minute is up.
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while !abandoned.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(closed.is_ok(), "the upstream request outlived its call");
    still_serving(&plugin).await;
}
