//! Typed handle to a loaded LLM backend plugin: what the rest of the host calls.

use std::sync::Arc;

use super::bindings::backend::LlmBackendPluginPre;
use super::bindings::llm_backend::{BackendInfo, GenerateRequest, Generation};
use super::call::{CallRunner, guest_error};
use super::descriptor::PluginDescriptor;
use super::error::CallError;
use super::state::{CallState, PluginContext};

/// A loaded `llm-backend` plugin. Cheap to clone; calls run in parallel, each in a fresh
/// instance.
#[derive(Clone)]
pub struct BackendPlugin {
    inner: Arc<Inner>,
}

struct Inner {
    pre: LlmBackendPluginPre<CallState>,
    context: Arc<PluginContext>,
    runner: CallRunner,
    descriptor: PluginDescriptor,
}

impl BackendPlugin {
    pub(crate) fn new(
        pre: LlmBackendPluginPre<CallState>,
        context: Arc<PluginContext>,
        runner: CallRunner,
        descriptor: PluginDescriptor,
    ) -> BackendPlugin {
        BackendPlugin { inner: Arc::new(Inner { pre, context, runner, descriptor }) }
    }

    /// The plugin's id, version, grants and limits.
    pub fn descriptor(&self) -> &PluginDescriptor {
        &self.inner.descriptor
    }

    /// The backend's static facts.
    pub async fn info(&self) -> Result<BackendInfo, CallError> {
        let pre = self.inner.pre.clone();
        self.inner
            .runner
            .run(&self.inner.context, move |store| {
                Box::pin(async move {
                    let instance = pre.instantiate_async(&mut *store).await?;
                    instance.decision_matrix_plugin_llm_backend().call_info(store).await
                })
            })
            .await
    }

    /// Readiness check; `deep` lets the plugin call its provider.
    pub async fn check(&self, deep: bool) -> Result<(), CallError> {
        let pre = self.inner.pre.clone();
        let answer = self
            .inner
            .runner
            .run(&self.inner.context, move |store| {
                Box::pin(async move {
                    let instance = pre.instantiate_async(&mut *store).await?;
                    instance.decision_matrix_plugin_llm_backend().call_check(store, deep).await
                })
            })
            .await?;
        answer.map_err(|error| guest_error(&self.inner.context, error))
    }

    /// One completion.
    pub async fn generate(&self, request: GenerateRequest) -> Result<Generation, CallError> {
        let pre = self.inner.pre.clone();
        let answer = self
            .inner
            .runner
            .run(&self.inner.context, move |store| {
                Box::pin(async move {
                    let instance = pre.instantiate_async(&mut *store).await?;
                    instance
                        .decision_matrix_plugin_llm_backend()
                        .call_generate(store, &request)
                        .await
                })
            })
            .await?;
        answer.map_err(|error| guest_error(&self.inner.context, error))
    }
}
