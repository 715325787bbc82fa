//! Built-in plugins whose compiled code is mapped on their first call, not at start-up.
//!
//! A server carries seven built-in plugins and a session uses one backend and one scoring
//! strategy. Each loaded plugin keeps its compiled code mapped (the pages it ran stay
//! resident) and its type information on the heap, a few hundred kilobytes per plugin that
//! most servers never call. Start-up still compiles or maps, inspects and links every plugin,
//! so every error is reported when the server starts; a built-in that passes is then dropped,
//! and its first call maps the compile cache entry again (or recompiles it from the binary,
//! if the entry has gone since).
//!
//! Only built-ins are deferred: their bytes are part of the binary and cannot change, while a
//! plugin file could be replaced between start-up and its first call, so file plugins stay
//! loaded. Without a compile cache nothing is deferred, since loading again would mean
//! compiling again.

use std::sync::Arc;

use tokio::sync::OnceCell;
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use super::binary::ComponentBinary;
use super::cache::CompileCache;
use super::handle::WorldPre;
use super::state::CallState;

/// What loading a built-in again takes.
pub struct Reload {
    /// The engine it was compiled for.
    pub engine: Engine,
    /// Where its compiled form is kept.
    pub cache: Arc<CompileCache>,
    /// The linker of its world.
    pub linker: Arc<Linker<CallState>>,
    /// The component, to recompile from if its cache entry has gone.
    pub wasm: ComponentBinary<'static>,
}

impl Reload {
    fn load<P: WorldPre>(&self) -> wasmtime::Result<P> {
        let (component, _) = self.cache.load_or_compile(&self.engine, self.wasm)?;
        P::link(&self.linker, &component)
    }
}

/// A world's pre-instantiated component: kept since start-up, or loaded on first use.
pub enum Pre<P> {
    /// Loaded at start-up and kept.
    Loaded(P),
    /// Loaded by the first call; concurrent first calls wait for that one load.
    Deferred {
        /// The component once loaded.
        cell: OnceCell<P>,
        /// How to load it.
        reload: Reload,
    },
}

impl<P: WorldPre> Pre<P> {
    /// Links `component`, which proves it can be instantiated, then keeps the result or,
    /// given a way to load it again, drops it until the first call.
    pub fn link(
        linker: &Linker<CallState>,
        component: &Component,
        reload: Option<Reload>,
    ) -> wasmtime::Result<Pre<P>> {
        let pre = P::link(linker, component)?;
        Ok(match reload {
            Some(reload) => Pre::Deferred {
                cell: OnceCell::new(),
                reload,
            },
            None => Pre::Loaded(pre),
        })
    }

    /// The pre-instantiated component, loading it first if this is the first call. A failed
    /// load is not remembered: the next call tries again.
    pub async fn get(&self) -> wasmtime::Result<&P> {
        match self {
            Pre::Loaded(pre) => Ok(pre),
            Pre::Deferred { cell, reload } => {
                cell.get_or_try_init(|| async { reload.load::<P>() }).await
            }
        }
    }

    /// Whether the component is loaded now.
    pub fn is_loaded(&self) -> bool {
        match self {
            Pre::Loaded(_) => true,
            Pre::Deferred { cell, .. } => cell.initialized(),
        }
    }
}
