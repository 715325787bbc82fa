//! What the server reports about itself: the metrics snapshot with the gauges only the
//! server can read (sessions, memory, plugin instances, circuit breakers), the
//! `server_stats` tool, and the background task that keeps judging the alert thresholds.
//!
//! Every reading judges the thresholds (see [`crate::telemetry::alerts`]): the background
//! task makes sure an episode is noticed and logged even when nobody reads health, and a
//! reading of `/healthz`, `/metrics` or `server_stats` is never older than the moment it was
//! asked for (but for the machine's memory use, which may be a second old: see
//! [`memory::MACHINE_MAX_AGE`]).

use std::sync::Arc;

use crate::telemetry::{Gauges, Snapshot};

use super::format;
use super::memory;
use super::results::ServerStats;
use super::service::{Decisions, ToolResult};

impl Decisions {
    /// The gauges of this moment. A session store that cannot be read leaves the session
    /// count out (and the session-capacity alert unjudged) rather than failing the reading.
    async fn gauges(&self) -> Gauges {
        let sessions = self.sessions();
        let active_sessions = match sessions.store().count().await {
            Ok(count) => Some(count),
            Err(error) => {
                tracing::debug!("session count for metrics unavailable: {error}");
                None
            }
        };
        let breakers = self
            .evaluator
            .breakers()
            .into_iter()
            .map(|(backend, state)| (backend, state.status.as_str()))
            .collect();
        let catalog = &self.catalog;
        Gauges {
            active_sessions,
            max_sessions: sessions.settings().max_sessions,
            memory_used_percent: sessions.memory_used_percent(),
            resident_bytes: memory::resident_bytes(),
            plugin_instances: self.plugin_instances.as_ref().map_or(0, |i| i.live()),
            plugin_instance_capacity: self.plugin_instances.as_ref().map_or(0, |i| i.capacity()),
            plugin_memory_bytes: self
                .plugin_instances
                .as_ref()
                .map_or(0, |i| i.memory_bytes()),
            plugin_memory_budget_bytes: self
                .plugin_instances
                .as_ref()
                .map_or(0, |i| i.memory_budget_bytes()),
            backends_loaded: catalog.backends().count(),
            strategies_loaded: catalog.scorers().count(),
            breakers,
        }
    }

    /// Every metric now, with health judged on it.
    pub async fn observe(&self) -> Snapshot {
        let gauges = self.gauges().await;
        self.telemetry().snapshot(gauges)
    }

    /// `server_stats`: the snapshot as structured content, with a markdown rendering.
    pub async fn server_stats(&self) -> ToolResult<ServerStats> {
        let snapshot = self.observe().await;
        let formatted_output = format::server_stats(&snapshot);
        Ok(ServerStats {
            snapshot,
            formatted_output,
        })
    }

    /// Judges the alert thresholds every `alerts.check_interval_seconds` until the returned
    /// task is aborted or the server is dropped. Does nothing when alerts are disabled.
    pub fn spawn_alert_checks(self: &Arc<Decisions>) -> tokio::task::JoinHandle<()> {
        let settings = self.telemetry().alerts().settings().clone();
        let decisions = Arc::downgrade(self);
        tokio::spawn(async move {
            if !settings.enabled {
                return;
            }
            let mut ticks = tokio::time::interval(settings.check_interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(decisions) = decisions.upgrade() else {
                    return;
                };
                decisions.observe().await;
            }
        })
    }
}
