//! Telemetry: metrics, alert thresholds and health, read by `/metrics`, `/healthz` and the
//! `server_stats` tool.
//!
//! - [`registry::Telemetry`]: where tool calls, backend calls, retries, rate-limit waits,
//!   tokens and the evaluation queue are recorded, cheaply enough for the hot path.
//! - [`histogram`]: fixed log-scale latency buckets and percentiles from them;
//!   [`window`]: sliding windows as fixed rings; [`labels`]: per-label statistics of bounded
//!   cardinality.
//! - [`alerts`]: the `[alerts]` thresholds and their episodes; [`health`]: ok or degraded,
//!   with reasons.
//! - [`connections`]: the HTTP transport's connection counters.
//! - [`snapshot`]: everything at one moment; [`prometheus`]: that moment as Prometheus text.
//!
//! An owned module rather than the `metrics` or `prometheus-client` crates: what the server
//! needs (a score of counters, two label sets, latency histograms with percentiles, sliding
//! windows and alert episodes judged on them) is a few hundred lines here, while those crates
//! bring their own registries and recorders without the windows or the alerts, and cost
//! memory the server has little of. The transports and the MCP layer only read from here;
//! the domain knows nothing of it.

pub(crate) mod alerts;
pub(crate) mod connections;
pub(crate) mod health;
pub(crate) mod histogram;
pub(crate) mod labels;
pub(crate) mod prometheus;
pub(crate) mod registry;
pub(crate) mod snapshot;
pub(crate) mod window;

pub use decision_matrix_core::config::{AlertSettings, AlertsConfig};
pub use health::{Health, Status};
pub use registry::{CallOutcome, Telemetry};
pub use snapshot::{Gauges, Snapshot};
