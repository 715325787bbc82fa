//! The plugins loaded: `list_backends` and `list_plugins`.

use crate::plugins::descriptor::PluginDescriptor;

use super::super::results::{BackendList, LoadedPlugin, PluginList, PluginSummary};
use super::super::service::{Decisions, ToolResult};

impl Decisions {
    /// `list_backends`: the LLM backends loaded and whether a session can use them.
    pub fn list_backends(&self) -> ToolResult<BackendList> {
        let backends: Vec<PluginSummary> = self
            .catalog
            .backends()
            .map(|b| summary(b.descriptor()))
            .collect();
        let lines: Vec<String> = backends
            .iter()
            .map(|b| format!("- **{}** {}", b.id, b.version))
            .collect();
        Ok(BackendList {
            backends,
            default_backend: self.default_backend.clone(),
            formatted_output: format!("## 🔌 LLM Backends\n\n{}\n", lines.join("\n")),
        })
    }

    /// `list_plugins`: every plugin loaded (backends and scoring strategies), and any that
    /// failed to load with the reason.
    pub fn list_plugins(&self) -> ToolResult<PluginList> {
        let plugins: Vec<LoadedPlugin> = self
            .catalog
            .descriptors()
            .map(|d| LoadedPlugin {
                plugin: summary(d),
                kind: d.manifest.kind.to_string(),
            })
            .collect();
        let lines: Vec<String> = plugins
            .iter()
            .map(|p| format!("- **{}** ({}) {}", p.plugin.id, p.kind, p.plugin.version))
            .collect();
        Ok(PluginList {
            plugins,
            failed: self
                .catalog
                .failures()
                .iter()
                .map(ToString::to_string)
                .collect(),
            formatted_output: format!("## 🧩 Plugins\n\n{}\n", lines.join("\n")),
        })
    }
}

fn summary(descriptor: &PluginDescriptor) -> PluginSummary {
    let manifest = &descriptor.manifest;
    PluginSummary {
        id: manifest.id.clone(),
        version: manifest.version.clone(),
        description: manifest.description.clone(),
    }
}
