//! The one wasmtime [`Engine`] of the process, and the thread that drives its epoch clock.
//!
//! Every plugin shares this engine: compiled code, the instance pool and the type registry are
//! per engine, so one engine is what makes a fresh instance per call cheap. Epoch interruption
//! gives each call a CPU budget; the ticker runs on its own OS thread so that it keeps ticking
//! when every tokio worker is busy running wasm.

use std::sync::mpsc;
use std::thread;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use super::limits::{EPOCH_TICK, LimitSettings};

/// Core instances a component may hold. A Rust `wasm32-wasip2` component has a handful (its
/// module plus shims); the headroom is for plugins built by other toolchains.
const MAX_CORE_INSTANCES_PER_COMPONENT: u32 = 32;
const MAX_MEMORIES_PER_COMPONENT: u32 = 2;
const MAX_TABLES_PER_COMPONENT: u32 = 8;

/// How instances are allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// Slots reserved up front; instantiation reuses them (fast, needs address space).
    Pooling,
    /// Memory mapped per instance; used where the pool cannot reserve its address space.
    OnDemand,
}

/// The process-wide engine plus its epoch ticker.
pub struct PluginEngine {
    engine: Engine,
    allocation: Allocation,
    /// Dropping the sender stops the ticker thread.
    _ticker: mpsc::Sender<()>,
}

impl PluginEngine {
    /// Builds the engine: pooling allocation sized from `limits`, falling back to on-demand
    /// allocation when the pool cannot be reserved (small `ulimit -v`, some containers).
    pub fn new(limits: &LimitSettings) -> anyhow::Result<PluginEngine> {
        let (engine, allocation) = match Engine::new(&base_config(Some(limits))) {
            Ok(engine) => (engine, Allocation::Pooling),
            Err(error) => {
                tracing::warn!(%error, "pooling allocator unavailable; allocating plugin instances on demand");
                (Engine::new(&base_config(None))?, Allocation::OnDemand)
            }
        };
        let ticker = spawn_ticker(engine.clone())?;
        Ok(PluginEngine {
            engine,
            allocation,
            _ticker: ticker,
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Which allocation strategy is in use.
    pub fn allocation(&self) -> Allocation {
        self.allocation
    }
}

fn base_config(pool: Option<&LimitSettings>) -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .memory_init_cow(true)
        // A call's fiber stack goes back to the pool zeroed (decommitted, in the same
        // batches as memories): no call can see what an earlier call, perhaps another
        // session's, left on its stack, and stacks of past calls do not stay resident. Without
        // it every one of the pool's stacks a call ever touched kept its pages: 3.5 MB of the
        // server's peak in `benches/server.rs -- memory`.
        .async_stack_zeroing(true)
        // No `.eh_frame` for compiled plugins: wasmtime's own traps and backtraces do not
        // use it (a host panic is caught before it reaches wasm frames), and registering it
        // reads every plugin's unwind tables at load, keeping pages of plugins that never
        // run resident.
        .native_unwind_info(false)
        .cranelift_opt_level(OptLevel::Speed);
    if let Some(limits) = pool {
        let calls = limits.max_concurrent_calls;
        let mut pooling = PoolingAllocationConfig::new();
        pooling
            .total_component_instances(calls)
            .total_core_instances(calls.saturating_mul(MAX_CORE_INSTANCES_PER_COMPONENT))
            .max_core_instances_per_component(MAX_CORE_INSTANCES_PER_COMPONENT)
            .max_memories_per_component(MAX_MEMORIES_PER_COMPONENT)
            .total_memories(calls.saturating_mul(MAX_MEMORIES_PER_COMPONENT))
            .max_tables_per_component(MAX_TABLES_PER_COMPONENT)
            .total_tables(calls.saturating_mul(MAX_TABLES_PER_COMPONENT))
            .total_stacks(calls)
            .max_memory_size((limits.max_memory_mib * 1024 * 1024) as usize);
        // A slot goes back to the pool as the call's store drops, before the call gives up
        // its place in `CallRunner`, so the next call always finds one. Batching the resets
        // would break that: a batched slot waits in wasmtime's decommit queue, and while one
        // call flushes the queue to take a slot, a second call finds the queue empty and the
        // pool exhausted, and fails ("maximum concurrent limit ... for fibers reached"). The
        // batch saved 5–11 µs per call on one machine and nothing measurable on another
        // (`benches/plugins.rs`, BENCHMARKS.md); a call that fails under load costs far more.
        pooling.decommit_batch_size(1);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    }
    config
}

fn spawn_ticker(engine: Engine) -> anyhow::Result<mpsc::Sender<()>> {
    let (stop, stopped) = mpsc::channel::<()>();
    thread::Builder::new()
        .name("plugin-epoch".to_owned())
        .spawn(move || {
            // Wakes every tick; exits when the engine owner drops the sender.
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EPOCH_TICK) {
                engine.increment_epoch();
            }
        })?;
    Ok(stop)
}
