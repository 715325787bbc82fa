//! The configuration file: its text through the same layering and validation as start-up
//! (`Config::resolve_text`, with no environment and no flags).
//!
//! Invariants: a refusal has a message; a configuration that loads renders with
//! `config show` (table and JSON, the JSON parsing back), and its effective values, written
//! out as a file, load again to the same effective values.
#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use decision_matrix_core::config::show::render;
use decision_matrix_core::config::{Config, Loaded, Overrides};
use decision_matrix_core::manifest::Manifest;
use decision_matrix_core::providers::{DerivedBackend, Environment, derive};
use libfuzzer_sys::fuzz_target;

/// The built-in backends' manifests, as the host embeds them.
const BUILTIN_MANIFESTS: [&str; 5] = [
    include_str!("../../plugins/anthropic/plugin.toml"),
    include_str!("../../plugins/bedrock/plugin.toml"),
    include_str!("../../plugins/gemini/plugin.toml"),
    include_str!("../../plugins/litellm/plugin.toml"),
    include_str!("../../plugins/ollama/plugin.toml"),
];

/// The built-in backends as an empty environment derives them: their manifest defaults are
/// part of the effective configuration.
static BUILTINS: LazyLock<Vec<DerivedBackend>> = LazyLock::new(|| {
    let manifests: Vec<Manifest> = BUILTIN_MANIFESTS
        .iter()
        .map(|text| Manifest::parse(text).expect("a built-in manifest parses"))
        .collect();
    derive(
        &manifests,
        &Environment::from_pairs(Vec::<(String, String)>::new()),
        None,
    )
    .expect("the built-in backends derive from an empty environment")
});

fuzz_target!(|text: &str| {
    let Some(loaded) = load(text) else { return };
    for json in [false, true] {
        let mut out = Vec::new();
        let code = render(&loaded, &BUILTINS, json, &mut out).expect("a loaded config renders");
        assert_eq!(code, 0);
        if json {
            serde_json::from_slice::<serde_json::Value>(&out).expect("config show --json");
        }
    }
    let written = effective_text(&loaded);
    let again = load(&written).unwrap_or_else(|| panic!("effective config refused:\n{written}"));
    assert_eq!(
        written,
        effective_text(&again),
        "effective config changed on reload"
    );
});

fn load(text: &str) -> Option<Loaded> {
    let env = Environment::from_pairs(Vec::<(String, String)>::new());
    let file = (Path::new("fuzz.toml"), text);
    match Config::resolve_text(&Overrides::default(), &env, Some(file)) {
        Ok(loaded) => Some(loaded),
        Err(error) => {
            assert!(!format!("{error:#}").is_empty());
            None
        }
    }
}

fn effective_text(loaded: &Loaded) -> String {
    let effective = loaded
        .config
        .effective(&BUILTINS)
        .expect("a loaded config has effective values");
    toml::to_string(&effective).expect("a loaded config serializes")
}
