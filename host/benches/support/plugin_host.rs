//! A plugin host loading the built-in plugins and the test fixtures, and the inputs the
//! plugin benchmarks call them with.

use std::path::Path;

use decision_matrix::plugins::bindings::llm_backend::{GenerateRequest, Message, Role};
use decision_matrix::plugins::bindings::scoring_export::{Cell, Criterion as Crit, Matrix};
use decision_matrix::plugins::grants::{Grant, GrantsConfig};
use decision_matrix::plugins::{PluginCatalog, PluginHost, PluginSettings};

/// A host with the built plugins and fixtures, compiling into `cache`; `grant`, when given,
/// is the adversary fixture's (which the HTTP benchmarks use as a plain HTTP client).
pub fn host(grant: Option<Grant>, cache: &Path) -> (PluginHost, PluginCatalog) {
    let settings = PluginSettings {
        dir: Some(decision_matrix_testkit::plugins_dir().to_path_buf()),
        cache_dir: Some(cache.to_path_buf()),
        ..PluginSettings::default()
    };
    let mut grants = GrantsConfig::default();
    if let Some(grant) = grant {
        grants.grants.insert("fixture-adversary".to_owned(), grant);
    }
    let host = PluginHost::new(settings, grants).expect("host");
    let catalog = PluginCatalog::load(&host, host.settings().plugins_dir().as_deref());
    (host, catalog)
}

/// 20 options × 15 criteria (300 cells), every 17th cell an abstention.
pub fn matrix_20x15() -> Matrix {
    Matrix {
        options: (0..20).map(|i| format!("option {i}")).collect(),
        criteria: (0..15)
            .map(|j| Crit {
                name: format!("criterion {j}"),
                weight: 1.0 + j as f64 / 3.0,
            })
            .collect(),
        cells: (0..300)
            .map(|k| {
                if k % 17 == 0 {
                    Cell::Abstained
                } else {
                    Cell::Scored(1.0 + (k * 7 % 10) as f64)
                }
            })
            .collect(),
    }
}

/// A generate request of one user message: the adversary fixture reads it as a command
/// (`echo TEXT`, `fetch METHOD URL`).
pub fn request(text: &str) -> GenerateRequest {
    GenerateRequest {
        model: None,
        messages: vec![Message {
            role: Role::User,
            content: text.to_owned(),
        }],
        temperature: None,
        max_tokens: None,
        stop: Vec::new(),
        response_schema: None,
        extra: Vec::new(),
    }
}
