//! Running one plugin call: a fresh store, the budgets, and turning failures into [`CallError`].
//!
//! Three limits apply to every call, each enforced by the mechanism suited to it:
//! - CPU: epoch interruption. The callback counts ticks while wasm runs; a long host await
//!   (an HTTP request) only shows up as one tick, so waiting on the network is not CPU.
//! - Wall clock: `tokio::time::timeout` around the whole call, host I/O included.
//! - Memory: the store's resource limiter refuses growth past the call's cap, and past the
//!   budget all calls in flight share ([`memory_budget`](super::memory_budget)).
//!
//! A semaphore sized to the instance pool bounds how many calls run at once, so a burst
//! waits for a slot instead of failing to instantiate.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::Semaphore;
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

use super::bindings::types::{PluginError as GuestError, UpstreamError};
use super::error::CallError;
use super::memory_budget::MemoryBudget;
use super::state::{CallState, PluginContext};

/// A future borrowing the call's store.
pub type StoreFuture<'a, R> = Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>;

/// What all calls share: the engine, the concurrency bound and the memory budget.
#[derive(Clone)]
pub struct CallRunner {
    engine: Engine,
    permits: Arc<Semaphore>,
    capacity: usize,
    memory: MemoryBudget,
}

/// How many plugin instances exist now (each call runs in a fresh instance, so that is the
/// calls holding a slot) and the memory they hold. Cheap to clone; read by the server's
/// metrics.
#[derive(Clone)]
pub struct PluginInstances {
    permits: Arc<Semaphore>,
    capacity: usize,
    memory: MemoryBudget,
}

impl PluginInstances {
    /// Instances running a call now.
    pub fn live(&self) -> usize {
        self.capacity
            .saturating_sub(self.permits.available_permits().min(self.capacity))
    }

    /// Most instances at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Linear memory the instances hold now, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.memory.in_use()
    }

    /// The memory budget they share, in bytes.
    pub fn memory_budget_bytes(&self) -> usize {
        self.memory.total()
    }
}

impl CallRunner {
    /// A runner allowing `max_concurrent` calls at once, holding at most `memory` together.
    pub fn new(engine: Engine, max_concurrent: usize, memory: MemoryBudget) -> CallRunner {
        CallRunner {
            engine,
            permits: Arc::new(Semaphore::new(max_concurrent)),
            capacity: max_concurrent,
            memory,
        }
    }

    /// The instance count of this runner's calls.
    pub fn instances(&self) -> PluginInstances {
        PluginInstances {
            permits: self.permits.clone(),
            capacity: self.capacity,
            memory: self.memory.clone(),
        }
    }

    /// Runs `body` (instantiate and call one export) in a fresh store under the plugin's
    /// limits.
    pub async fn run<R>(
        &self,
        context: &Arc<PluginContext>,
        body: impl for<'a> FnOnce(&'a mut Store<CallState>) -> StoreFuture<'a, R>,
    ) -> Result<R, CallError> {
        let plugin = || context.label.to_string();
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| CallError::Instantiate {
                plugin: plugin(),
                message: "the plugin host is shutting down".to_owned(),
            })?;
        let state = CallState::new(context.clone(), self.memory.reservation());
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| state.limiter());
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut cx| {
            Ok(if cx.data_mut().spend_cpu_tick() {
                UpdateDeadline::Yield(1)
            } else {
                UpdateDeadline::Interrupt
            })
        });

        let limit = context.limits.wall;
        match tokio::time::timeout(limit, body(&mut store)).await {
            Err(_) => Err(CallError::Timeout {
                plugin: plugin(),
                limit,
            }),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.classify(&error, store.data(), context)),
        }
    }

    /// Names the limit a failed call hit, or reports the trap or instantiation error.
    fn classify(
        &self,
        error: &wasmtime::Error,
        state: &CallState,
        context: &PluginContext,
    ) -> CallError {
        let plugin = context.label.to_string();
        if state.cpu_exhausted() {
            return CallError::CpuBudget {
                plugin,
                budget: context.limits.cpu,
            };
        }
        if state.memory_budget_hit() {
            return CallError::MemoryBudget {
                plugin,
                budget_bytes: self.memory.total(),
            };
        }
        if state.memory_limit_hit() {
            return CallError::MemoryLimit {
                plugin,
                limit_bytes: context.limits.memory_bytes,
            };
        }
        if let Some(trap) = error.downcast_ref::<Trap>() {
            let message = state
                .panic_message()
                .unwrap_or_else(|| format!("wasm trap: {trap}"));
            return CallError::Trap {
                plugin,
                message: context.scrub(&message),
            };
        }
        CallError::Instantiate {
            plugin,
            message: context.scrub(&format!("{error:#}")),
        }
    }
}

/// Turns the guest's own error into a [`CallError`], scrubbing secrets from its text.
pub fn guest_error(context: &PluginContext, error: GuestError) -> CallError {
    let error = match error {
        GuestError::InvalidInput(m) => GuestError::InvalidInput(context.scrub(&m)),
        GuestError::Unsupported(m) => GuestError::Unsupported(context.scrub(&m)),
        GuestError::Internal(m) => GuestError::Internal(context.scrub(&m)),
        GuestError::Upstream(u) => GuestError::Upstream(UpstreamError {
            message: context.scrub(&u.message),
            ..u
        }),
    };
    CallError::Plugin {
        plugin: context.label.to_string(),
        error,
    }
}
