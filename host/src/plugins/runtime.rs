//! [`PluginHost`]: turns manifests and component bytes into callable plugins.
//!
//! Loading is where every static check happens, so that a call never fails for a reason
//! that was knowable at start-up: the header says component, the exported interface says
//! which world and which contract version, the manifest agrees, and the linker can satisfy
//! every import. What passes is pre-instantiated (`InstancePre`), so each call only pays for
//! a fresh instance. A built-in that passes is kept on disk until its first call
//! ([`deferred`](super::deferred)).

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{Component, HasSelf, Linker};

use super::PluginSettings;
use super::backend::BackendPlugin;
use super::binary::ComponentBinary;
use super::bindings::backend::LlmBackendPlugin;
use super::bindings::scoring::ScoringPlugin as ScoringWorld;
use super::builtin::BuiltinPlugin;
use super::cache::{CacheOutcome, CompileCache};
use super::call::CallRunner;
use super::deferred::{Pre, Reload};
use super::descriptor::{Origin, PluginDescriptor};
use super::engine::{Allocation, PluginEngine};
use super::error::LoadError;
use super::grants::{Grant, GrantsConfig};
use super::handle::Handle;
use super::inspect;
use super::limits::PluginLimits;
use super::manifest::{Manifest, PluginKind};
use super::memory_budget::MemoryBudget;
use super::net::{Network, PluginNetwork, SecretStore};
use super::scoring::ScoringPlugin;
use super::state::{CallState, PluginContext};

/// A plugin to load: its manifest, its component bytes and where they came from.
pub struct PluginSource<'a> {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The component binary.
    pub wasm: ComponentBinary<'a>,
    /// Built-in, or the file it was read from.
    pub origin: Origin,
}

/// A loaded plugin of either kind.
#[derive(Clone)]
pub enum LoadedPlugin {
    /// An `llm-backend` plugin.
    Backend(BackendPlugin),
    /// A `scoring` plugin.
    Scoring(ScoringPlugin),
}

impl LoadedPlugin {
    /// The plugin's descriptor.
    pub fn descriptor(&self) -> &PluginDescriptor {
        match self {
            LoadedPlugin::Backend(plugin) => plugin.descriptor(),
            LoadedPlugin::Scoring(plugin) => plugin.descriptor(),
        }
    }
}

/// The plugin runtime: engine, linkers, compile cache, network and grants.
pub struct PluginHost {
    engine: PluginEngine,
    backend_linker: Arc<Linker<CallState>>,
    scoring_linker: Arc<Linker<CallState>>,
    cache: Option<Arc<CompileCache>>,
    network: Arc<Network>,
    grants: GrantsConfig,
    settings: PluginSettings,
    runner: CallRunner,
}

impl PluginHost {
    /// Builds the runtime. Fails on invalid settings or grants, or an unusable cache directory.
    pub fn new(settings: PluginSettings, grants: GrantsConfig) -> anyhow::Result<PluginHost> {
        let secrets = SecretStore::new(grants.secrets.clone());
        Self::with_secrets(settings, grants, secrets)
    }

    /// Like [`PluginHost::new`], with secret values from `secrets` instead of the sources named
    /// in `grants.secrets`. For tests (fixed AWS credentials, literal keys) and for programs
    /// that embed the host and manage their own secrets.
    pub fn with_secrets(
        settings: PluginSettings,
        grants: GrantsConfig,
        secrets: SecretStore,
    ) -> anyhow::Result<PluginHost> {
        settings.validate().map_err(anyhow::Error::msg)?;
        let problems = grants.validate();
        if !problems.is_empty() {
            anyhow::bail!("invalid grants:\n  {}", problems.join("\n  "));
        }
        let engine = PluginEngine::new(&settings.limits)?;
        let wasm = engine.engine();

        let mut backend_linker = Linker::new(wasm);
        wasmtime_wasi::p2::add_to_linker_async(&mut backend_linker)?;
        LlmBackendPlugin::add_to_linker::<_, HasSelf<_>>(&mut backend_linker, |state| state)?;

        let mut scoring_linker = Linker::new(wasm);
        wasmtime_wasi::p2::add_to_linker_async(&mut scoring_linker)?;
        ScoringWorld::add_to_linker::<_, HasSelf<_>>(&mut scoring_linker, |state| state)?;

        let cache = match settings.cache_dir() {
            Some(dir) => Some(Arc::new(CompileCache::open(&dir, wasm).map_err(|e| {
                anyhow::anyhow!("plugin compile cache {}: {e}", dir.display())
            })?)),
            None => None,
        };
        let network = Arc::new(Network::new(settings.http.limits(), secrets)?);
        let runner = CallRunner::new(
            wasm.clone(),
            settings.limits.max_concurrent_calls as usize,
            MemoryBudget::new(settings.limits.total_memory_bytes()),
        );
        Ok(PluginHost {
            engine,
            backend_linker: Arc::new(backend_linker),
            scoring_linker: Arc::new(scoring_linker),
            cache,
            network,
            grants,
            settings,
            runner,
        })
    }

    /// The settings in effect.
    pub fn settings(&self) -> &PluginSettings {
        &self.settings
    }

    /// How many plugin instances run a call now and the memory they hold, for metrics.
    pub fn instances(&self) -> super::call::PluginInstances {
        self.runner.instances()
    }

    /// Which instance allocator the engine uses.
    pub fn allocation(&self) -> Allocation {
        self.engine.allocation()
    }

    /// The compile cache, when enabled.
    pub fn cache(&self) -> Option<&CompileCache> {
        self.cache.as_deref()
    }

    /// What the operator granted to plugin `id` (nothing, if no `[grants.<id>]`).
    pub fn grant_for(&self, id: &str) -> Grant {
        self.grants.grants.get(id).cloned().unwrap_or_default()
    }

    /// Largest component accepted, in bytes.
    pub fn max_component_bytes(&self) -> u64 {
        self.settings.max_component_mib * 1024 * 1024
    }

    /// Backend `id` (a route's provider, such as `litellm:groq`): the code of `parent`, with
    /// the grant the host holds for `id` (its own destination, key and settings), its own
    /// label in logs, and its own breaker and limits wherever backends are told apart by id.
    pub fn instance(&self, parent: &BackendPlugin, id: &str) -> BackendPlugin {
        let mut descriptor = parent.descriptor().clone();
        let grant = self.grant_for(id);
        let hosts: Vec<String> = grant.hosts.iter().map(ToString::to_string).collect();
        descriptor.manifest.description = Some(format!(
            "The {} plugin pointed at {}, for the model names its routes send there.",
            descriptor.manifest.id,
            hosts.join(", ")
        ));
        id.clone_into(&mut descriptor.manifest.id);
        descriptor.grant = grant;
        let context = self.context(&descriptor.manifest, &descriptor.grant, descriptor.limits);
        parent.rebind(context, descriptor)
    }

    /// What every call of plugin `manifest` sees: its settings (the manifest's defaults under
    /// the grant's), its network, its limits.
    fn context(
        &self,
        manifest: &Manifest,
        grant: &Grant,
        limits: PluginLimits,
    ) -> Arc<PluginContext> {
        let mut config: BTreeMap<String, String> = manifest.config.clone();
        config.extend(grant.config.clone());
        let network = (manifest.kind == PluginKind::LlmBackend).then(|| {
            PluginNetwork::new(
                manifest.id.clone(),
                Arc::new(grant.clone()),
                self.network.clone(),
            )
        });
        Arc::new(PluginContext {
            label: Arc::from(manifest.label()),
            config,
            network,
            limits,
        })
    }

    /// Validates, compiles (or loads from the cache) and pre-instantiates one plugin.
    pub fn load(&self, source: PluginSource<'_>) -> Result<LoadedPlugin, LoadError> {
        self.load_from(source, None)
    }

    /// Like [`load`](Self::load) for a built-in plugin, whose compiled code is then dropped
    /// until its first call when the compile cache holds it.
    pub fn load_builtin(
        &self,
        manifest: Manifest,
        plugin: &BuiltinPlugin,
    ) -> Result<LoadedPlugin, LoadError> {
        let source = PluginSource {
            manifest,
            wasm: plugin.binary(),
            origin: Origin::Builtin,
        };
        self.load_from(source, Some(plugin.binary()))
    }

    /// Loads `source`; `reloadable` is its binary again when it cannot change (a built-in),
    /// which allows deferring it.
    fn load_from(
        &self,
        source: PluginSource<'_>,
        reloadable: Option<ComponentBinary<'static>>,
    ) -> Result<LoadedPlugin, LoadError> {
        let PluginSource {
            manifest,
            wasm,
            origin,
        } = source;
        let path = match &origin {
            Origin::Builtin => format!("built-in plugin {}", manifest.id),
            Origin::File(path) => path.display().to_string(),
        };
        if manifest.builtin && origin != Origin::Builtin {
            return Err(LoadError::Conflict {
                path,
                message: "`builtin = true` is reserved for plugins compiled into decision-matrix"
                    .to_owned(),
            });
        }
        let limit = self.max_component_bytes();
        if wasm.bytes().len() as u64 > limit {
            return Err(LoadError::TooLarge {
                path,
                size: wasm.bytes().len() as u64,
                limit,
            });
        }
        let component_error = |source| LoadError::Component {
            path: path.clone(),
            source,
        };
        // A built-in's header was checked when it was built; reading it here would bring
        // 64 KB of the embedded component into memory for nothing.
        if origin != Origin::Builtin {
            inspect::check_header(wasm.bytes()).map_err(component_error)?;
        }

        let (component, cache) = self.compile(wasm).map_err(|e| LoadError::Compile {
            path: path.clone(),
            message: format!("{e:#}"),
        })?;
        let facts = inspect::inspect(self.engine.engine(), &component).map_err(component_error)?;
        inspect::check_kind(&facts, manifest.kind).map_err(component_error)?;

        let grant = self.grant_for(&manifest.id);
        let limits = self.settings.limits.resolve(&manifest.limits);
        let context = self.context(&manifest, &grant, limits);
        let descriptor = PluginDescriptor {
            manifest,
            origin,
            wit_version: facts.wit_version,
            imports: facts.imports,
            grant,
            limits,
            cache,
        };

        let link_error = |e: wasmtime::Error| LoadError::Link {
            path: path.clone(),
            message: format!("{e:#}"),
        };
        // Kept on disk only if the cache can give it back without compiling.
        let reload = |linker: &Arc<Linker<CallState>>| {
            let cache = self.cache.as_ref()?;
            let wasm = reloadable?;
            let cached = matches!(
                descriptor.cache,
                Some(CacheOutcome::Hit | CacheOutcome::Compiled)
            );
            cached.then(|| Reload {
                engine: self.engine.engine().clone(),
                cache: cache.clone(),
                linker: linker.clone(),
                wasm,
            })
        };
        Ok(match descriptor.manifest.kind {
            PluginKind::LlmBackend => {
                let pre = Pre::link(
                    &self.backend_linker,
                    &component,
                    reload(&self.backend_linker),
                )
                .map_err(link_error)?;
                LoadedPlugin::Backend(BackendPlugin::new(Handle::new(
                    pre,
                    context,
                    self.runner.clone(),
                    descriptor,
                )))
            }
            PluginKind::Scoring => {
                let pre = Pre::link(
                    &self.scoring_linker,
                    &component,
                    reload(&self.scoring_linker),
                )
                .map_err(link_error)?;
                LoadedPlugin::Scoring(ScoringPlugin::new(Handle::new(
                    pre,
                    context,
                    self.runner.clone(),
                    descriptor,
                )))
            }
        })
    }

    fn compile(
        &self,
        wasm: ComponentBinary<'_>,
    ) -> wasmtime::Result<(Component, Option<CacheOutcome>)> {
        let engine = self.engine.engine();
        match &self.cache {
            Some(cache) => cache
                .load_or_compile(engine, wasm)
                .map(|(c, o)| (c, Some(o))),
            None => Ok((Component::new(engine, wasm.bytes())?, None)),
        }
    }
}
