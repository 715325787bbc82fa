//! The decision engine as the commands that run decisions need it: plugins loaded, backends
//! wired into an evaluator, a session store, and the tools over them ([`Decisions`]). Shared by
//! `serve` and `evaluate`, so a decision run from a file behaves exactly as one run over MCP.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use decision_matrix_store::Store;

use crate::evaluation::cache::SharedCache;
use crate::evaluation::{Backend, Backends, Evaluator};
use crate::plugins::grants::GrantsConfig;
use crate::plugins::{PluginCatalog, PluginHost};
use crate::providers::{self, DerivedBackend};
use crate::server::{Decisions, SessionManager};
use crate::telemetry::Telemetry;

/// How long an answer stays in the shared (Redis) answer cache: a day covers re-runs of a
/// decision being worked on, without keeping every answer ever bought.
const SHARED_ANSWER_TTL: Duration = Duration::from_secs(86_400);

/// The tools and the plugin host they run on (which must outlive them).
pub struct Engine {
    /// Every tool's logic.
    pub decisions: Arc<Decisions>,
    _host: PluginHost,
}

impl Engine {
    /// Opens the session store, loads the plugins and builds the engine from a checked
    /// configuration. A store that cannot be opened stops start-up with an error naming it
    /// and what to do: sessions are never silently kept somewhere else.
    pub async fn start(
        config: &Config,
        grants: GrantsConfig,
        derived: &[DerivedBackend],
    ) -> anyhow::Result<Engine> {
        let settings = config
            .evaluation
            .settings()
            .map_err(anyhow::Error::msg)?
            .with_backend_defaults(derived.iter().map(|b| (b.id.as_str(), &b.defaults)));
        let session_settings = config.sessions.settings().map_err(anyhow::Error::msg)?;
        // The store first: it is the likeliest to be misconfigured, and the cheapest to open.
        let sessions = SessionManager::open(session_settings.clone())
            .await
            .map_err(|error| store_failure(&session_settings.store, &error))?;
        tracing::info!(store = sessions.describe(), "session store opened");
        let host = PluginHost::new(config.plugins.clone(), grants)?;
        let catalog = Arc::new(
            PluginCatalog::load(&host, host.settings().plugins_dir().as_deref())
                .with_instances(&host, providers::instances(derived)),
        );
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
        // With Redis, answers are shared like sessions: an instance replays what another paid
        // for. Elsewhere only this process reads the store, and its own cache is faster.
        let shared = matches!(**sessions.store(), Store::Redis(_)).then(|| SharedCache {
            store: sessions.store().clone(),
            ttl: SHARED_ANSWER_TTL,
        });
        let alerts = config.alerts.settings().map_err(anyhow::Error::msg)?;
        let telemetry = Arc::new(Telemetry::new(alerts, config.logging.log_prompts));
        let routing = providers::routing(&catalog, derived);
        let evaluator = Evaluator::observed(backends, settings, shared, routing, telemetry);
        let sessions = Arc::new(sessions);
        let decisions = Decisions::new(sessions, evaluator, catalog, config.limits.clone())
            .with_plugin_instances(host.instances());
        Ok(Engine {
            decisions: Arc::new(decisions),
            _host: host,
        })
    }
}

/// Why the session store did not open, naming it (without a password) and what to do.
fn store_failure(url: &str, error: &decision_matrix_store::StoreError) -> anyhow::Error {
    anyhow::anyhow!(
        "session store {}: {error}. Fix sessions.store (--store, DMM_STORE), or run with \
         --store memory to keep sessions in this process only",
        decision_matrix_store::redact_url(url)
    )
}
