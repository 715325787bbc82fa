//! Shared by the integration tests. Here, for the built-in backend tests: load the built-in
//! plugins with the grants derived from a given environment, build requests, read errors,
//! capture logs. In [`server`], for the MCP tests: the server binary and its judge; in
//! [`client`], rmcp's client and tool-call helpers; in [`node`], Node.js for the JavaScript
//! clients.

#![allow(dead_code)]

pub mod client;
pub mod node;
pub mod server;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use decision_matrix::plugins::bindings::llm_backend::{GenerateRequest, Message, Role};
use decision_matrix::plugins::bindings::types::{PluginError, UpstreamError};
use decision_matrix::plugins::grants::GrantsConfig;
use decision_matrix::plugins::net::SecretStore;
use decision_matrix::plugins::{
    BackendPlugin, CallError, PluginCatalog, PluginHost, PluginSettings,
};
use decision_matrix::providers::{self, Environment};

/// The repository's root directory.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the host crate sits in the repository root")
        .to_owned()
}

/// The built-in backends, loaded with grants derived from `env` and secret values from
/// `secrets` (a test cannot set process environment variables safely).
pub struct Backends {
    catalog: PluginCatalog,
    _host: PluginHost,
}

/// One compile cache for these tests, in Cargo's scratch directory for integration tests, so
/// each component is compiled once rather than once per test.
fn cache_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("builtin-backend-cache")
}

impl Backends {
    pub fn load(env: &[(&str, &str)], secrets: SecretStore) -> Backends {
        capture_logs();
        let settings = PluginSettings {
            dir: None,
            cache_dir: Some(cache_dir()),
            ..PluginSettings::default()
        };
        let builtins =
            providers::derive_builtins(&Environment::from_pairs(env.iter().copied()), None)
                .expect("valid provider settings");
        let grants = providers::apply(&GrantsConfig::default(), &builtins);
        let host = PluginHost::with_secrets(settings, grants, secrets).expect("host");
        let catalog = PluginCatalog::load(&host, None);
        assert!(catalog.failures().is_empty(), "{:?}", catalog.failures());
        Backends {
            catalog,
            _host: host,
        }
    }

    pub fn get(&self, id: &str) -> BackendPlugin {
        self.catalog.backend(id).expect("built-in backend").clone()
    }
}

/// A scoring-style request: system prompt, one user message, a schema.
pub fn request(model: Option<&str>) -> GenerateRequest {
    GenerateRequest {
        model: model.map(str::to_owned),
        messages: vec![
            Message {
                role: Role::System,
                content: "Score the option from 1 to 10.".into(),
            },
            Message {
                role: Role::User,
                content: "Option: Rust".into(),
            },
        ],
        temperature: Some(0.0),
        max_tokens: Some(200),
        stop: Vec::new(),
        response_schema: Some(SCHEMA.into()),
        extra: Vec::new(),
    }
}

/// The answer schema the tests send.
pub const SCHEMA: &str = r#"{"type":"object","properties":{"score":{"type":"number"},"reasoning":{"type":"string"}},"required":["score","reasoning"],"additionalProperties":false}"#;

/// The upstream error inside a plugin's error, or a panic naming what came instead.
/// One failure a mock provider gives for `model`, and what the plugin must make of it: the
/// HTTP status, whether it may be retried, the wait before a retry, and words the message
/// contains.
pub struct Expected<'a> {
    pub model: &'a str,
    pub status: Option<u16>,
    pub retryable: bool,
    pub retry_after_ms: Option<u64>,
    pub says: &'a str,
}

impl<'a> From<(&'a str, Option<u16>, bool, Option<u64>, &'a str)> for Expected<'a> {
    fn from(
        (model, status, retryable, retry_after_ms, says): (
            &'a str,
            Option<u16>,
            bool,
            Option<u64>,
            &'a str,
        ),
    ) -> Self {
        Expected {
            model,
            status,
            retryable,
            retry_after_ms,
            says,
        }
    }
}

/// Asks `plugin` for each case's model and checks the error it gives; `secret` must appear in
/// none of the messages.
pub async fn assert_failures<'a>(
    plugin: &BackendPlugin,
    secret: &str,
    cases: impl IntoIterator<Item = impl Into<Expected<'a>>>,
) {
    for case in cases {
        let case: Expected<'a> = case.into();
        let model = case.model;
        let error = plugin.generate(request(Some(model))).await.unwrap_err();
        assert_eq!(error.is_retryable(), case.retryable, "{model}: {error}");
        let u = upstream(error);
        assert_eq!(u.status, case.status, "{model}");
        assert_eq!(u.retry_after_ms, case.retry_after_ms, "{model}");
        assert!(u.message.contains(case.says), "{model}: {}", u.message);
        assert!(!u.message.contains(secret), "{model}: {}", u.message);
    }
}

pub fn upstream(error: CallError) -> UpstreamError {
    match error {
        CallError::Plugin {
            error: PluginError::Upstream(upstream),
            ..
        } => upstream,
        other => panic!("expected an upstream error, got {other}"),
    }
}

/// Every log line written so far by any test in this binary.
pub fn logs() -> String {
    let buffer = LOGS.get().expect("logs captured");
    String::from_utf8_lossy(&buffer.lock().expect("log buffer")).into_owned()
}

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

/// Sends every log record, at every level, into a buffer that [`logs`] reads.
fn capture_logs() {
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || BufferWriter(writer.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    });
}

struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Checks the progress notifications `(done, total)` of one or more evaluations in a row.
/// The first reports its first pass of `first_pass` cells one by one; then, in every
/// evaluation, either one more is done or the total grows as a round is planned, and each
/// ends with everything done. `label` names the run in failures.
pub fn assert_honest_progress(progress: &[(f64, Option<f64>)], first_pass: usize, label: &str) {
    let expected: Vec<(f64, Option<f64>)> = (0..=first_pass)
        .map(|done| (done as f64, Some(first_pass as f64)))
        .collect();
    assert!(progress.len() >= expected.len(), "{label}: {progress:?}");
    assert_eq!(progress[..expected.len()], expected[..], "{label}");
    // A new evaluation starts again from 0.
    let starts: Vec<usize> = (0..progress.len())
        .filter(|&i| progress[i].0 == 0.0)
        .collect();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(progress.len());
        let run = &progress[start..end];
        for pair in run.windows(2) {
            let ((done, total), (next, next_total)) = (pair[0], pair[1]);
            assert!(
                next == done + 1.0 || (next == done && next_total > total),
                "{label}: {progress:?}"
            );
        }
        let (done, total) = run[run.len() - 1];
        assert_eq!(Some(done), total, "{label}: {progress:?}");
    }
}
