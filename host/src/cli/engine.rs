//! The decision engine as the commands that run decisions need it: plugins loaded, backends
//! wired into an evaluator, a session store, and the tools over them ([`Decisions`]). Shared by
//! `serve` and `evaluate`, so a decision run from a file behaves exactly as one run over MCP.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::Config;
use crate::evaluation::{Backend, Backends, Evaluator};
use crate::plugins::grants::GrantsConfig;
use crate::plugins::{PluginCatalog, PluginHost};
use crate::providers::BuiltinBackend;
use crate::server::{BedrockTarget, Decisions, SessionManager};

/// The tools and the plugin host they run on (which must outlive them).
pub struct Engine {
    /// Every tool's logic.
    pub decisions: Arc<Decisions>,
    _host: PluginHost,
}

impl Engine {
    /// Loads the plugins and builds the engine from a checked configuration.
    pub fn start(
        config: &Config,
        grants: GrantsConfig,
        builtins: &[BuiltinBackend],
    ) -> anyhow::Result<Engine> {
        let settings = config.evaluation.settings().map_err(anyhow::Error::msg)?;
        let session_settings = config.sessions.settings().map_err(anyhow::Error::msg)?;
        let host = PluginHost::new(config.plugins.clone(), grants)?;
        let catalog = Arc::new(PluginCatalog::load(
            &host,
            host.settings().plugins_dir().as_deref(),
        ));
        for failure in catalog.failures() {
            tracing::warn!("plugin not loaded: {failure}");
        }
        let backends: Backends = catalog
            .backends()
            .map(|b| {
                (
                    b.descriptor().manifest.id.clone(),
                    Arc::new(b.clone()) as Arc<dyn Backend>,
                )
            })
            .collect::<BTreeMap<_, _>>();
        let evaluator = Evaluator::new(backends, settings);
        let sessions = Arc::new(SessionManager::new(session_settings));
        let decisions = Decisions::new(sessions, evaluator, catalog, config.limits.clone())
            .with_bedrock(bedrock_target(builtins));
        Ok(Engine {
            decisions: Arc::new(decisions),
            _host: host,
        })
    }
}

fn bedrock_target(builtins: &[BuiltinBackend]) -> BedrockTarget {
    let config = builtins
        .iter()
        .find(|b| b.id == "bedrock")
        .map(|b| &b.grant.config);
    let get = |key: &str| config.and_then(|c| c.get(key)).cloned().unwrap_or_default();
    BedrockTarget {
        region: get("region"),
        model: get("default-model"),
    }
}
