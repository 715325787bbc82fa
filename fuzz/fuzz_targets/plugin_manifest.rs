//! `plugin.toml`: written by third-party plugin authors, read before anything is granted.
//!
//! Invariants: a manifest that parses satisfies every rule `Manifest::parse` documents (id,
//! semver version, a plain `.wasm` component name, one-line description, no network for a
//! scoring plugin, non-zero limits, a `[backend]` table only on a backend and never beside a
//! `[config]` value the host derives), and a refusal has a message.
#![no_main]

use decision_matrix_core::manifest::{MAX_MANIFEST_BYTES, Manifest, PluginKind, validate_id};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let manifest = match Manifest::parse(text) {
        Ok(manifest) => manifest,
        Err(error) => {
            assert!(!error.to_string().is_empty());
            return;
        }
    };
    assert!(text.len() <= MAX_MANIFEST_BYTES);
    assert!(validate_id(&manifest.id).is_ok());
    assert!(manifest.version.starts_with(|c: char| c.is_ascii_digit()));
    let component = &manifest.component;
    assert!(component.ends_with(".wasm") && component.len() <= 128);
    assert!(!component.contains(['/', '\\', '\0']) && component != "..");
    if let Some(description) = &manifest.description {
        assert!(description.len() <= 200 && !description.contains('\n'));
    }
    if manifest.kind == PluginKind::Scoring {
        assert!(manifest.requests.hosts.is_empty() && manifest.requests.secrets.is_empty());
        assert!(!manifest.requests.allow_private);
    }
    if let Some(backend) = &manifest.backend {
        assert_eq!(manifest.kind, PluginKind::LlmBackend);
        for setting in backend.derived_settings() {
            assert!(!manifest.config.contains_key(setting), "{setting}");
        }
        assert!(!backend.session_default || manifest.builtin);
    }
    let limits = manifest.limits;
    for limit in [limits.memory_mib, limits.cpu_ms, limits.timeout_ms] {
        assert_ne!(limit, Some(0));
    }
    assert_eq!(
        manifest.label(),
        format!("{}@{}", manifest.id, manifest.version)
    );
});
