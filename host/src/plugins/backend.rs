//! Typed handle to a loaded LLM backend plugin: what the rest of the host calls.

use std::sync::Arc;

use super::bindings::backend::LlmBackendPluginPre;
use super::bindings::llm_backend::{BackendInfo, GenerateRequest, Generation};
use super::descriptor::PluginDescriptor;
use super::error::CallError;
use super::handle::Handle;
use super::state::{CallState, PluginContext};

/// A loaded `llm-backend` plugin. Cheap to clone; calls run in parallel, each in a fresh
/// instance.
#[derive(Clone)]
pub struct BackendPlugin {
    handle: Arc<Handle<LlmBackendPluginPre<CallState>>>,
}

impl BackendPlugin {
    pub(crate) fn new(handle: Handle<LlmBackendPluginPre<CallState>>) -> BackendPlugin {
        BackendPlugin {
            handle: Arc::new(handle),
        }
    }

    /// This plugin's code as another backend: `descriptor`'s id, with its own `context`
    /// (settings, network, label).
    pub(crate) fn rebind(
        &self,
        context: Arc<PluginContext>,
        descriptor: PluginDescriptor,
    ) -> BackendPlugin {
        BackendPlugin::new(self.handle.rebind(context, descriptor))
    }

    /// The plugin's id, version, grants and limits.
    pub fn descriptor(&self) -> &PluginDescriptor {
        self.handle.descriptor()
    }

    /// Whether its compiled code is loaded now: a built-in is loaded by its first call when
    /// the compile cache holds it.
    pub fn is_loaded(&self) -> bool {
        self.handle.is_loaded()
    }

    /// The backend's static facts.
    pub async fn info(&self) -> Result<BackendInfo, CallError> {
        self.handle
            .call(|instance, store| {
                Box::pin(async move {
                    instance
                        .decision_matrix_plugin_llm_backend()
                        .call_info(store)
                        .await
                })
            })
            .await
    }

    /// Readiness check; `deep` lets the plugin call its provider.
    pub async fn check(&self, deep: bool) -> Result<(), CallError> {
        self.handle
            .call_fallible(move |instance, store| {
                Box::pin(async move {
                    instance
                        .decision_matrix_plugin_llm_backend()
                        .call_check(store, deep)
                        .await
                })
            })
            .await
    }

    /// One completion. Its text is scrubbed of the plugin's secrets: answers are stored in
    /// sessions and returned to clients, and a value the plugin got hold of (echoed by its
    /// provider in a spelling the network did not catch) must not travel with them.
    pub async fn generate(&self, request: GenerateRequest) -> Result<Generation, CallError> {
        let mut generation = self
            .handle
            .call_fallible(move |instance, store| {
                Box::pin(async move {
                    instance
                        .decision_matrix_plugin_llm_backend()
                        .call_generate(store, &request)
                        .await
                })
            })
            .await?;
        generation.text = self.handle.scrub(&generation.text);
        generation.model = self.handle.scrub(&generation.model);
        Ok(generation)
    }
}
