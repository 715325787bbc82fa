//! Host-side bindings generated from the WIT contract in `wit/`.
//!
//! One module per world. The scoring world reuses the backend world's shared interfaces
//! (`types`, `log`, `config`) through `with`, so the host implements each import once and both
//! worlds see the same Rust types.
//!
//! Only `http.send` is async on the host: it awaits the network. `log` and `config` answer
//! from memory, so they stay synchronous and cost a plain function call.

/// Bindings for the `llm-backend-plugin` world.
pub mod backend {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "llm-backend-plugin",
        imports: {
            "decision-matrix:plugin/http.send": async,
        },
        exports: { default: async },
    });
}

/// Bindings for the `scoring-plugin` world.
pub mod scoring {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "scoring-plugin",
        exports: { default: async },
        // The analysis cache compares a session's matrix with the one last ranked.
        additional_derives: [PartialEq],
        with: {
            "decision-matrix:plugin/types": super::backend::decision_matrix::plugin::types,
            "decision-matrix:plugin/log": super::backend::decision_matrix::plugin::log,
            "decision-matrix:plugin/config": super::backend::decision_matrix::plugin::config,
        },
    });
}

pub use backend::decision_matrix::plugin::{config, http, log, types};
pub use backend::exports::decision_matrix::plugin::llm_backend;
pub use scoring::exports::decision_matrix::plugin::scoring as scoring_export;
