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
use super::descriptor::Origin;
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

    #[test]
    fn a_missing_backend_points_nowhere() {
        assert_eq!(BedrockTarget::of(None), BedrockTarget::default());
    }
}
