//! What one plugin call's [`wasmtime::Store`] holds, and what all calls of one plugin share.
//!
//! A store lives for exactly one call: it is created, the component instantiated into it, one
//! export called, and then it is dropped. Nothing a guest writes to memory survives into the
//! next call, which is what keeps sessions from leaking into each other.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::limits::PluginLimits;
use super::memory_budget::Reservation;
use super::net::PluginNetwork;
use super::stdio::{GuestOutput, Stream};

/// What every call of one plugin needs: identity, settings, network grant and limits.
pub struct PluginContext {
    /// `id@version`, used in every log line and error.
    pub label: Arc<str>,
    /// Settings for the `config` import: manifest defaults overlaid by the operator's grant.
    pub config: BTreeMap<String, String>,
    /// The network this plugin was granted; `None` for scoring plugins.
    pub network: Option<PluginNetwork>,
    /// Limits applied to each call.
    pub limits: PluginLimits,
}

impl PluginContext {
    /// Removes secret values granted to this plugin from text that leaves the sandbox.
    pub fn scrub(&self, text: &str) -> String {
        match &self.network {
            Some(network) => network.scrub(text).into(),
            None => text.to_owned(),
        }
    }
}

/// The data of one call's store.
pub struct CallState {
    pub(crate) context: Arc<PluginContext>,
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: RecordingLimiter,
    cpu_ticks_left: u64,
    cpu_exhausted: bool,
    stderr: GuestOutput,
    pub(crate) log_budget: super::imports::LogBudget,
}

impl CallState {
    /// Fresh state for one call: deny-all WASI (no files, environment, arguments, sockets or
    /// name lookups; stdout and stderr go to the log), memory capped and drawn from `memory`
    /// (the share of the budget all calls in flight have), CPU budget full.
    pub fn new(context: Arc<PluginContext>, memory: Reservation) -> CallState {
        let network = context.network.clone();
        let stdout = GuestOutput::new(context.label.clone(), Stream::Stdout, network.clone());
        let stderr = GuestOutput::new(context.label.clone(), Stream::Stderr, network);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout)
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let limits = context.limits;
        CallState {
            wasi,
            table: ResourceTable::new(),
            limiter: RecordingLimiter::new(limits.memory_bytes, memory),
            cpu_ticks_left: limits.cpu_ticks(),
            cpu_exhausted: false,
            stderr,
            log_budget: Default::default(),
            context,
        }
    }

    /// The resource limiter to register with the store.
    pub fn limiter(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.limiter
    }

    /// Called at every epoch tick while wasm runs: spends one tick of the CPU budget, and
    /// interrupts the guest once it is spent.
    pub fn spend_cpu_tick(&mut self) -> bool {
        if self.cpu_ticks_left == 0 {
            self.cpu_exhausted = true;
            false
        } else {
            self.cpu_ticks_left -= 1;
            true
        }
    }

    /// Whether the call was interrupted for exceeding its CPU budget.
    pub fn cpu_exhausted(&self) -> bool {
        self.cpu_exhausted
    }

    /// Whether the guest tried to grow memory past its own cap.
    pub fn memory_limit_hit(&self) -> bool {
        self.limiter.denied == Some(Denial::CallLimit)
    }

    /// Whether the guest's memory growth was refused because calls in flight hold the whole
    /// shared budget.
    pub fn memory_budget_hit(&self) -> bool {
        self.limiter.denied == Some(Denial::SharedBudget)
    }

    /// The panic message the guest printed to stderr before trapping, if it printed one.
    pub fn panic_message(&self) -> Option<String> {
        let lines = self.stderr.recent_lines();
        let start = lines
            .iter()
            .rposition(|line| line.contains("panicked at"))?;
        let message: Vec<&str> = lines[start..]
            .iter()
            .map(String::as_str)
            .take_while(|line| !line.starts_with("note: run with"))
            .collect();
        Some(message.join(" "))
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// [`StoreLimits`] plus the call's share of the shared [`MemoryBudget`], remembering why it
/// refused to grow memory, so a trap that follows is reported as the limit it hit rather
/// than as a crash.
struct RecordingLimiter {
    inner: StoreLimits,
    /// Given back to the budget when the store (and so this limiter) is dropped.
    reservation: Reservation,
    denied: Option<Denial>,
}

/// Which limit refused a memory growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Denial {
    CallLimit,
    SharedBudget,
}

impl RecordingLimiter {
    fn new(memory_bytes: usize, reservation: Reservation) -> RecordingLimiter {
        RecordingLimiter {
            inner: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .instances(64)
                .memories(8)
                .tables(32)
                .table_elements(1 << 20)
                .build(),
            reservation,
            denied: None,
        }
    }
}

impl ResourceLimiter for RecordingLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Called for a memory's creation too (from 0), so the budget counts every byte.
        if !self.inner.memory_growing(current, desired, maximum)? {
            self.denied = Some(Denial::CallLimit);
            return Ok(false);
        }
        if !self.reservation.grow(current, desired) {
            self.denied = Some(Denial::SharedBudget);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}
