//! Checking that a backend works, end to end: the deep check `decision-matrix backends check`
//! runs on each backend it is asked about, and the `test_aws_bedrock_connection` tool runs on
//! the Bedrock backend, with where that backend points and what to fix when it fails.
//!
//! A deep check lets the plugin call its provider (list Ollama's models, list the
//! OpenAI-compatible server's models with the key, make a tiny Bedrock Converse call), so it
//! finds what a shallow one cannot: a wrong key, a missing model, a region without access.

use std::time::Instant;

use serde::Serialize;

use super::PluginCatalog;
use super::backend::BackendPlugin;
use super::bindings::llm_backend::{GenerateRequest, Message, Role};
use super::bindings::types::PluginError as GuestError;
use super::descriptor::Origin;
use super::error::CallError;
use super::manifest::backend::{MODEL_SETTING, REGION_SETTING};

/// One backend's deep check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// The backend's id.
    pub id: String,
    /// What the check asks of the provider (`[backend] check` in its manifest), if it says.
    pub check: Option<String>,
    /// Whether the backend is ready.
    pub ok: bool,
    /// The backend's own explanation of what is wrong and how to fix it, when it is not.
    pub error: Option<String>,
    /// When it is not: whether the same check may pass if tried again later.
    pub retryable: Option<bool>,
    /// How long the check took.
    pub elapsed_ms: u64,
}

impl CheckReport {
    /// Runs `backend`'s deep check and times it.
    pub async fn run(backend: &BackendPlugin) -> CheckReport {
        let started = Instant::now();
        let outcome = backend.check(true).await;
        let manifest = &backend.descriptor().manifest;
        CheckReport {
            id: manifest.id.clone(),
            check: manifest.backend.as_ref().and_then(|b| b.check.clone()),
            ok: outcome.is_ok(),
            error: outcome.as_ref().err().map(ToString::to_string),
            retryable: outcome.as_ref().err().map(|e| e.is_retryable()),
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// The backend `test_aws_bedrock_connection` tests: the first loaded backend that is an AWS
/// service (its manifest's `[backend.aws]` gives it a `region` setting), built-ins first.
pub fn aws_backend(catalog: &PluginCatalog) -> Option<&BackendPlugin> {
    let aws: Vec<&BackendPlugin> = catalog
        .backends()
        .filter(|b| b.descriptor().grant.config.contains_key(REGION_SETTING))
        .collect();
    let builtin = aws
        .iter()
        .find(|b| b.descriptor().origin == Origin::Builtin);
    builtin.or(aws.first()).copied()
}

/// Where the Bedrock backend sends its calls: the region and default model of its grant's
/// settings (derived from the AWS environment, or the operator's `[grants.bedrock]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BedrockTarget {
    /// AWS region; empty when the backend is not loaded.
    pub region: String,
    /// Model id; empty when the backend is not loaded.
    pub model: String,
}

impl BedrockTarget {
    /// Where `backend` (the Bedrock backend, when loaded) points.
    pub fn of(backend: Option<&BackendPlugin>) -> BedrockTarget {
        let config = backend.map(|b| &b.descriptor().grant.config);
        let get = |key: &str| config.and_then(|c| c.get(key)).cloned().unwrap_or_default();
        BedrockTarget {
            region: get(REGION_SETTING),
            model: get(MODEL_SETTING),
        }
    }
}

/// The connection test's call: one tiny completion (the user message `Hi`, at most 10
/// tokens, temperature 0.1, the backend's default model), as the reference server's test and
/// the Bedrock plugin's own deep check make it. Returns the answer's text.
pub async fn probe(backend: &BackendPlugin) -> Result<String, CallError> {
    let request = GenerateRequest {
        model: None,
        messages: vec![Message {
            role: Role::User,
            content: "Hi".to_owned(),
        }],
        temperature: Some(0.1),
        max_tokens: Some(10),
        stop: Vec::new(),
        response_schema: None,
        extra: Vec::new(),
    };
    backend.generate(request).await.map(|answer| answer.text)
}

/// A failed call as a client of the connection test reads it: the provider's error code and
/// message, without the plugin host's framing (`plugin id@version:`, the guest error's kind,
/// retry hints) or the sandbox's internals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderFailure {
    /// The provider's error type when it named one (`AccessDeniedException`), else its HTTP
    /// status (`HTTP 503`), else what kind of failure it was: `NoResponse` (the provider
    /// was not reached or did not answer: no credentials, no connection), `Timeout`,
    /// `InvalidInput`, `Unsupported`, `PluginError` (the backend's own failure) or
    /// `PluginFailure` (the backend stopped inside the sandbox).
    pub error_code: String,
    /// What went wrong, in the backend's words.
    pub error: String,
}

impl ProviderFailure {
    /// What `error` tells a client.
    pub fn of(error: &CallError) -> ProviderFailure {
        let (code, message) = match error {
            CallError::Plugin { error, .. } => match error {
                GuestError::Upstream(upstream) => {
                    let code = error_type(&upstream.message)
                        .map(str::to_owned)
                        .or_else(|| upstream.status.map(|status| format!("HTTP {status}")))
                        .unwrap_or_else(|| "NoResponse".to_owned());
                    (code, upstream.message.clone())
                }
                GuestError::InvalidInput(message) => ("InvalidInput".to_owned(), message.clone()),
                GuestError::Unsupported(message) => ("Unsupported".to_owned(), message.clone()),
                GuestError::Internal(message) => ("PluginError".to_owned(), message.clone()),
            },
            CallError::Timeout { limit, .. } => (
                "Timeout".to_owned(),
                format!("no answer within {} s", limit.as_secs_f64()),
            ),
            CallError::CpuBudget { .. }
            | CallError::MemoryLimit { .. }
            | CallError::MemoryBudget { .. }
            | CallError::Trap { .. }
            | CallError::Instantiate { .. } => (
                "PluginFailure".to_owned(),
                "the backend stopped before it answered; the server's log has the details"
                    .to_owned(),
            ),
        };
        ProviderFailure {
            error_code: code,
            error: message,
        }
    }
}

/// The provider's error type at the head of a backend's message, as AWS names them
/// (`Bedrock AccessDeniedException: ...`): the first word that is a CamelCase name with at
/// least two capitals followed by a colon.
fn error_type(message: &str) -> Option<&str> {
    message.split_whitespace().find_map(|word| {
        let name = word.strip_suffix(':')?;
        let camel = name.starts_with(|c: char| c.is_ascii_uppercase())
            && name.chars().all(|c| c.is_ascii_alphanumeric())
            && name.chars().filter(char::is_ascii_uppercase).count() >= 2;
        camel.then_some(name)
    })
}

/// What to do about a failed Bedrock check, chosen from its error as the reference server
/// chooses it.
pub fn bedrock_suggestion(error: &str) -> &'static str {
    let error = error.to_lowercase();
    if error.contains("access") || error.contains("permission") {
        "Enable model access in AWS Console: Bedrock > Model access > Manage model access"
    } else if error.contains("region") {
        "Try us-east-1 or us-west-2 regions where Bedrock is available"
    } else if error.contains("credentials") {
        "Configure AWS credentials: aws configure or set AWS_PROFILE environment variable"
    } else if error.contains("throttl") {
        "Request rate limit exceeded. Wait a moment and try again"
    } else {
        "Check AWS Bedrock service status and model availability"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::bindings::types::UpstreamError;

    #[test]
    fn suggestions_follow_the_error() {
        for (error, hint) in [
            ("AccessDeniedException: no access", "Enable model access"),
            ("missing permission bedrock:Converse", "Enable model access"),
            ("unknown region xx-1", "Try us-east-1"),
            ("no credentials in the chain", "Configure AWS credentials"),
            ("ThrottlingException", "Request rate limit"),
            ("connection refused", "Check AWS Bedrock service status"),
        ] {
            assert!(
                bedrock_suggestion(error).starts_with(hint),
                "{error}: {}",
                bedrock_suggestion(error)
            );
        }
    }

    fn upstream(status: Option<u16>, message: &str) -> CallError {
        CallError::Plugin {
            plugin: "bedrock@0.1.0".to_owned(),
            error: GuestError::Upstream(UpstreamError {
                status,
                message: message.to_owned(),
                retryable: false,
                retry_after_ms: None,
            }),
        }
    }

    #[test]
    fn a_failure_gives_the_providers_code_and_words_without_the_hosts_framing() {
        let denied = ProviderFailure::of(&upstream(
            Some(403),
            "Bedrock AccessDeniedException: no access - enable the model",
        ));
        assert_eq!(denied.error_code, "AccessDeniedException");
        assert_eq!(
            denied.error,
            "Bedrock AccessDeniedException: no access - enable the model"
        );
        let unavailable =
            ProviderFailure::of(&upstream(Some(503), "Bedrock overloaded - HTTP 503"));
        assert_eq!(unavailable.error_code, "HTTP 503");
        let unreachable = ProviderFailure::of(&upstream(
            None,
            "cannot reach Bedrock at https://x (refused): check AWS_REGION",
        ));
        assert_eq!(unreachable.error_code, "NoResponse");
        let timeout = ProviderFailure::of(&CallError::Timeout {
            plugin: "bedrock@0.1.0".to_owned(),
            limit: std::time::Duration::from_secs(30),
        });
        assert_eq!(
            (timeout.error_code.as_str(), timeout.error.as_str()),
            ("Timeout", "no answer within 30 s")
        );
        let crashed = ProviderFailure::of(&CallError::Trap {
            plugin: "bedrock@0.1.0".to_owned(),
            message: "wasm trap: unreachable at 0x1f3a".to_owned(),
        });
        assert_eq!(crashed.error_code, "PluginFailure");
        for failure in [denied, unavailable, unreachable, timeout, crashed] {
            assert!(
                !failure.error.contains("bedrock@") && !failure.error.contains("wasm"),
                "{failure:?}"
            );
        }
    }

    #[test]
    fn a_missing_backend_points_nowhere() {
        assert_eq!(BedrockTarget::of(None), BedrockTarget::default());
    }
}
