//! [`PluginCatalog`]: every plugin the host loaded, by id, and those it could not load.

use std::collections::BTreeMap;
use std::path::Path;

use super::backend::BackendPlugin;
use super::binary::ComponentBinary;
use super::builtin;
use super::descriptor::{Origin, PluginDescriptor};
use super::discover;
use super::error::LoadError;
use super::manifest::Manifest;
use super::runtime::{LoadedPlugin, PluginHost, PluginSource};
use super::scoring::ScoringPlugin;

/// The loaded plugins.
#[derive(Default)]
pub struct PluginCatalog {
    backends: BTreeMap<String, BackendPlugin>,
    scorers: BTreeMap<String, ScoringPlugin>,
    failures: Vec<LoadError>,
}

impl PluginCatalog {
    /// Loads the built-in plugins, then those in `dir` (if any). A plugin that fails to load
    /// is recorded in [`failures`](Self::failures) and the rest still load; a directory
    /// plugin may not reuse a loaded plugin's id.
    pub fn load(host: &PluginHost, dir: Option<&Path>) -> PluginCatalog {
        let mut catalog = PluginCatalog::default();
        for plugin in builtin::all() {
            let loaded = Manifest::parse(plugin.manifest)
                .map_err(|source| LoadError::Manifest {
                    path: "built-in plugin".to_owned(),
                    source,
                })
                .and_then(|manifest| host.load_builtin(manifest, plugin));
            catalog.record(loaded);
        }
        if let Some(dir) = dir {
            let (files, failures) = discover::scan(dir, host.max_component_bytes());
            catalog.failures.extend(failures);
            for file in files {
                if catalog.contains(&file.manifest.id) {
                    catalog.failures.push(LoadError::Conflict {
                        path: file.path.display().to_string(),
                        message: format!(
                            "a plugin with id {:?} is already loaded; ids must be unique",
                            file.manifest.id
                        ),
                    });
                    continue;
                }
                let loaded = host.load(PluginSource {
                    manifest: file.manifest,
                    wasm: ComponentBinary::new(&file.wasm),
                    origin: Origin::File(file.path.clone()),
                });
                catalog.record(loaded);
            }
        }
        catalog
    }

    /// Adds the backends that run a loaded backend's code with grants of their own (a
    /// route's providers): `(id, parent)` pairs. One whose parent is not loaded is left out;
    /// the parent's failure is recorded already.
    pub fn with_instances<'a>(
        mut self,
        host: &PluginHost,
        instances: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> PluginCatalog {
        for (id, parent) in instances {
            if let Some(parent) = self.backends.get(parent) {
                let instance = host.instance(parent, id);
                self.backends.insert(id.to_owned(), instance);
            }
        }
        self
    }

    fn record(&mut self, loaded: Result<LoadedPlugin, LoadError>) {
        match loaded {
            Ok(LoadedPlugin::Backend(plugin)) => {
                self.backends
                    .insert(plugin.descriptor().manifest.id.clone(), plugin);
            }
            Ok(LoadedPlugin::Scoring(plugin)) => {
                self.scorers
                    .insert(plugin.descriptor().manifest.id.clone(), plugin);
            }
            Err(error) => {
                tracing::warn!(%error, "plugin not loaded");
                self.failures.push(error);
            }
        }
    }

    fn contains(&self, id: &str) -> bool {
        self.backends.contains_key(id) || self.scorers.contains_key(id)
    }

    /// The backend plugin `id`.
    pub fn backend(&self, id: &str) -> Option<&BackendPlugin> {
        self.backends.get(id)
    }

    /// Every backend plugin, in id order.
    pub fn backends(&self) -> impl Iterator<Item = &BackendPlugin> {
        self.backends.values()
    }

    /// The scoring plugin `id`.
    pub fn scorer(&self, id: &str) -> Option<&ScoringPlugin> {
        self.scorers.get(id)
    }

    /// Every scoring plugin, in id order.
    pub fn scorers(&self) -> impl Iterator<Item = &ScoringPlugin> {
        self.scorers.values()
    }

    /// Descriptors of every loaded plugin, backends first, each group in id order.
    pub fn descriptors(&self) -> impl Iterator<Item = &PluginDescriptor> {
        self.backends
            .values()
            .map(BackendPlugin::descriptor)
            .chain(self.scorers.values().map(ScoringPlugin::descriptor))
    }

    /// Plugins that could not be loaded, with why.
    pub fn failures(&self) -> &[LoadError] {
        &self.failures
    }
}
