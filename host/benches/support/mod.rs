//! What the server benchmarks (`server`, `suite`) share: the server process under test and
//! its clients, the reference workload, and the measurements and tables built on them.

#[path = "../../tests/it/common/client.rs"]
pub mod client;
#[path = "../../tests/it/common/server.rs"]
pub mod server;

pub mod capacity;
pub mod figures;
pub mod latency;
pub mod load;
pub mod plugin_calls;
pub mod plugin_host;
pub mod process;
pub mod report;
pub mod startup;
pub mod throughput;
pub mod view;
pub mod workload;
