//! What the typed plugin handles share: a pre-instantiated component (loaded at start-up or
//! on first use, see [`deferred`](super::deferred)) plus the machinery to call it in a fresh
//! instance ([`Handle::call`]).

use std::future::Future;
use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::{Component, Linker};

use super::bindings::backend::{LlmBackendPlugin, LlmBackendPluginPre};
use super::bindings::scoring::{ScoringPlugin as ScoringWorld, ScoringPluginPre};
use super::bindings::types::PluginError as GuestError;
use super::call::{CallRunner, StoreFuture, guest_error};
use super::deferred::Pre;
use super::descriptor::PluginDescriptor;
use super::error::CallError;
use super::state::{CallState, PluginContext};

/// A world's pre-instantiated component: instantiating it yields the world's bindings.
pub trait WorldPre: Clone + Send + Sync + 'static {
    /// The instantiated world's bindings.
    type Instance: Send + 'static;

    /// Pre-instantiates `component` with `linker`, failing if an import is missing or a
    /// world export has the wrong type.
    fn link(linker: &Linker<CallState>, component: &Component) -> wasmtime::Result<Self>;

    /// Instantiates into `store`.
    fn instantiate<'a>(
        &'a self,
        store: &'a mut Store<CallState>,
    ) -> impl Future<Output = wasmtime::Result<Self::Instance>> + Send + 'a;
}

impl WorldPre for LlmBackendPluginPre<CallState> {
    type Instance = LlmBackendPlugin;

    fn link(linker: &Linker<CallState>, component: &Component) -> wasmtime::Result<Self> {
        LlmBackendPluginPre::new(linker.instantiate_pre(component)?)
    }

    fn instantiate<'a>(
        &'a self,
        store: &'a mut Store<CallState>,
    ) -> impl Future<Output = wasmtime::Result<LlmBackendPlugin>> + Send + 'a {
        self.instantiate_async(store)
    }
}

impl WorldPre for ScoringPluginPre<CallState> {
    type Instance = ScoringWorld;

    fn link(linker: &Linker<CallState>, component: &Component) -> wasmtime::Result<Self> {
        ScoringPluginPre::new(linker.instantiate_pre(component)?)
    }

    fn instantiate<'a>(
        &'a self,
        store: &'a mut Store<CallState>,
    ) -> impl Future<Output = wasmtime::Result<ScoringWorld>> + Send + 'a {
        self.instantiate_async(store)
    }
}

/// A loaded plugin of world `P`.
pub struct Handle<P> {
    /// Shared by the backends that run the same code with grants of their own (a route's
    /// providers), so the component is loaded once for all of them.
    pre: Arc<Pre<P>>,
    context: Arc<PluginContext>,
    runner: CallRunner,
    descriptor: PluginDescriptor,
}

impl<P: WorldPre> Handle<P> {
    /// Bundles a pre-instantiated component with its context.
    pub fn new(
        pre: Pre<P>,
        context: Arc<PluginContext>,
        runner: CallRunner,
        descriptor: PluginDescriptor,
    ) -> Handle<P> {
        Handle {
            pre: Arc::new(pre),
            context,
            runner,
            descriptor,
        }
    }

    /// The same component under another identity: the `context` and `descriptor` of a backend
    /// that runs this plugin's code with a grant of its own (a route's provider).
    pub fn rebind(&self, context: Arc<PluginContext>, descriptor: PluginDescriptor) -> Handle<P> {
        Handle {
            pre: self.pre.clone(),
            context,
            runner: self.runner.clone(),
            descriptor,
        }
    }

    /// The plugin's descriptor.
    pub fn descriptor(&self) -> &PluginDescriptor {
        &self.descriptor
    }

    /// `text` without the values of the plugin's secrets, for what it returns to the host.
    pub fn scrub(&self, text: &str) -> String {
        self.context.scrub(text)
    }

    /// Whether the plugin's compiled code is loaded now (a deferred built-in is not until its
    /// first call).
    pub fn is_loaded(&self) -> bool {
        self.pre.is_loaded()
    }

    /// Instantiates the plugin in a fresh store and runs `export` on the instance, under the
    /// plugin's limits.
    pub async fn call<R: Send + 'static>(
        &self,
        export: impl for<'a> FnOnce(P::Instance, &'a mut Store<CallState>) -> StoreFuture<'a, R>
        + Send
        + 'static,
    ) -> Result<R, CallError> {
        let pre = self
            .pre
            .get()
            .await
            .map_err(|error| CallError::Instantiate {
                plugin: self.context.label.to_string(),
                message: format!("loading its compiled code: {error:#}"),
            })?
            .clone();
        self.runner
            .run(&self.context, move |store| {
                Box::pin(async move {
                    let instance = pre.instantiate(&mut *store).await?;
                    export(instance, store).await
                })
            })
            .await
    }

    /// Like [`call`](Self::call), for exports that return the guest's own error, which
    /// becomes [`CallError::Plugin`] with secrets scrubbed.
    pub async fn call_fallible<T: Send + 'static>(
        &self,
        export: impl for<'a> FnOnce(
            P::Instance,
            &'a mut Store<CallState>,
        ) -> StoreFuture<'a, Result<T, GuestError>>
        + Send
        + 'static,
    ) -> Result<T, CallError> {
        self.call(export)
            .await?
            .map_err(|error| guest_error(&self.context, error))
    }
}
