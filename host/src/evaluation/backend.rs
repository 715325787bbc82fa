//! [`Backend`]: what the orchestrator needs from an LLM backend, one completion, and its
//! implementation over a backend plugin.
//!
//! The orchestrator is written against this trait so its unit tests run with in-process fakes;
//! production and the integration tests use [`BackendPlugin`], the sandboxed adapters.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::domain::Tokens;
use crate::plugins::bindings::llm_backend::{GenerateRequest, Message, Role};
use crate::plugins::{BackendPlugin, CallError};

use super::prompt::Prompt;

/// One completion request.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRequest {
    /// Model; `None` means the backend's default.
    pub model: Option<String>,
    /// The prompt.
    pub prompt: Prompt,
    /// Sampling temperature.
    pub temperature: f64,
    /// Upper bound on generated tokens.
    pub max_tokens: u32,
}

/// One completion. Serialisable so a shared cache (Redis) can hold it for other instances.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Completion {
    /// The generated text.
    pub text: String,
    /// The model that answered.
    pub model: String,
    /// Token counts, when reported.
    pub tokens: Option<Tokens>,
}

/// Why a completion failed.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendFailure {
    /// What went wrong, for the person reading the cell (already free of secrets).
    pub message: String,
    /// Whether the same request may succeed later (429, 5xx, timeouts).
    pub retryable: bool,
    /// How long the provider asked to wait.
    pub retry_after: Option<Duration>,
}

/// An LLM backend.
pub trait Backend: Send + Sync {
    /// One completion.
    fn complete(
        &self,
        request: CompletionRequest,
    ) -> BoxFuture<'_, Result<Completion, BackendFailure>>;
}

/// Backends by id.
pub type Backends = BTreeMap<String, Arc<dyn Backend>>;

impl Backend for BackendPlugin {
    fn complete(
        &self,
        request: CompletionRequest,
    ) -> BoxFuture<'_, Result<Completion, BackendFailure>> {
        Box::pin(async move {
            let generation = self
                .generate(GenerateRequest {
                    model: request.model,
                    messages: vec![
                        Message {
                            role: Role::System,
                            content: request.prompt.system,
                        },
                        Message {
                            role: Role::User,
                            content: request.prompt.user,
                        },
                    ],
                    // f32 is the contract's type; temperatures are short decimals.
                    temperature: Some(request.temperature as f32),
                    max_tokens: Some(request.max_tokens),
                    stop: Vec::new(),
                    response_schema: Some(request.prompt.schema.to_owned()),
                    extra: Vec::new(),
                })
                .await
                .map_err(|error: CallError| BackendFailure {
                    retryable: error.is_retryable(),
                    retry_after: error.retry_after(),
                    message: error.to_string(),
                })?;
            Ok(Completion {
                text: generation.text,
                model: generation.model,
                tokens: generation.usage.map(|u| Tokens {
                    input: u.input_tokens,
                    output: u.output_tokens,
                }),
            })
        })
    }
}
