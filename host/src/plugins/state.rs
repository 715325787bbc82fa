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
    /// name lookups; stdout and stderr go to the log), memory capped, CPU budget full.
    pub fn new(context: Arc<PluginContext>) -> CallState {
        let stdout = GuestOutput::new(context.label.clone(), Stream::Stdout);
        let stderr = GuestOutput::new(context.label.clone(), Stream::Stderr);
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
            limiter: RecordingLimiter::new(limits.memory_bytes),
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

    /// Whether the guest tried to grow memory past its cap.
    pub fn memory_limit_hit(&self) -> bool {
        self.limiter.denied
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

/// [`StoreLimits`] that also remembers whether it refused to grow memory, so a trap that
/// follows can be reported as "memory limit exceeded" rather than as a crash.
struct RecordingLimiter {
    inner: StoreLimits,
    denied: bool,
}

impl RecordingLimiter {
    fn new(memory_bytes: usize) -> RecordingLimiter {
        RecordingLimiter {
            inner: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .instances(64)
                .memories(8)
                .tables(32)
                .table_elements(1 << 20)
                .build(),
            denied: false,
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
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        self.denied |= !allowed;
        Ok(allowed)
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
