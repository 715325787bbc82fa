//! The `litellm` backend's destination and key: the variables OpenAI's and LiteLLM's own
//! clients read.
//!
//! Base URL: `LITELLM_BASE_URL`, then `OPENAI_BASE_URL`, then `OPENAI_API_BASE` (the older
//! name), else `https://api.openai.com/v1`. Key: `LITELLM_API_KEY`, then `OPENAI_API_KEY`; no
//! key is fine (local servers). The key becomes the host secret `litellm-api-key`, read from
//! that variable on first use and bound to the base URL's destination only.

use std::collections::BTreeMap;

use crate::plugins::grants::SecretSource;

use super::{
    BuiltinBackend, Environment, ProviderError, base_url_setting, grant_for, parse_base_url,
    timeout_ms,
};

const BASE_VARS: &[&str] = &["LITELLM_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_BASE"];
const KEY_VARS: &[&str] = &["LITELLM_API_KEY", "OPENAI_API_KEY"];
const DEFAULT_BASE: &str = "https://api.openai.com/v1";
const DEFAULT_MODEL: &str = "gpt-4o-mini";
/// The host secret holding the key.
pub const KEY_SECRET: &str = "litellm-api-key";

/// The backend's grant, key and settings.
pub(super) fn derive(env: &Environment) -> Result<BuiltinBackend, ProviderError> {
    let mut sources = Vec::new();
    let (base_var, base) = match env.first(BASE_VARS) {
        Some((var, value)) => {
            sources.push(("base-url".to_owned(), var.to_owned()));
            (var, value)
        }
        None => ("LITELLM_BASE_URL", DEFAULT_BASE),
    };
    let url = parse_base_url(base_var, base)?;
    let mut config = BTreeMap::from([("base-url".to_owned(), base_url_setting(&url))]);
    let model = match env.get("DMM_LITELLM_MODEL") {
        Some(model) => {
            sources.push(("default-model".into(), "DMM_LITELLM_MODEL".into()));
            model
        }
        None => DEFAULT_MODEL,
    };
    config.insert("default-model".into(), model.to_owned());
    let (timeout, source) = timeout_ms(env, "DMM_LITELLM_TIMEOUT_SECONDS", 30, 5..=300)?;
    config.insert("timeout-ms".into(), timeout);
    sources.extend(source);

    let mut secrets = BTreeMap::new();
    let key = env.first(KEY_VARS).map(|(var, _)| var);
    if let Some(var) = key {
        config.insert("api-key-secret".into(), KEY_SECRET.into());
        config.insert("api-key-env".into(), var.into());
        secrets.insert(
            KEY_SECRET.to_owned(),
            SecretSource::Env {
                env: var.to_owned(),
            },
        );
        sources.push(("api-key".into(), var.into()));
    }
    Ok(BuiltinBackend {
        id: "litellm",
        grant: grant_for(base_var, &url, key.map(|_| KEY_SECRET), config)?,
        secrets,
        sources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_openai_without_a_key() {
        let backend = derive(&Environment::default()).unwrap();
        assert_eq!(backend.grant.hosts[0].to_string(), "https://api.openai.com");
        assert!(!backend.grant.allow_private);
        assert!(backend.grant.secrets.is_empty() && backend.secrets.is_empty());
        assert_eq!(
            backend.grant.config["base-url"],
            "https://api.openai.com/v1"
        );
        assert_eq!(backend.grant.config["default-model"], "gpt-4o-mini");
        assert!(!backend.grant.config.contains_key("api-key-secret"));
    }

    #[test]
    fn precedence_of_base_and_key_variables() {
        let env = Environment::from_pairs([
            ("OPENAI_API_BASE", "http://old.example/v1"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1/"),
            ("OPENAI_API_KEY", "sk-openai"),
            ("LITELLM_API_KEY", "sk-litellm"),
        ]);
        let backend = derive(&env).unwrap();
        assert_eq!(backend.grant.config["base-url"], "http://127.0.0.1:8000/v1");
        assert!(backend.grant.allow_private);
        assert_eq!(backend.grant.config["api-key-env"], "LITELLM_API_KEY");
        assert_eq!(
            backend.secrets[KEY_SECRET],
            SecretSource::Env {
                env: "LITELLM_API_KEY".into()
            }
        );
        let bound = &backend.grant.secrets[KEY_SECRET];
        assert_eq!(bound.len(), 1);
        assert_eq!(bound[0].to_string(), "http://127.0.0.1:8000");
        let text = format!("{backend:?}");
        assert!(
            !text.contains("sk-litellm") && !text.contains("sk-openai"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_base_url_names_its_variable() {
        let err = derive(&Environment::from_pairs([(
            "OPENAI_BASE_URL",
            "localhost:4000",
        )]))
        .unwrap_err();
        assert!(err.to_string().starts_with("OPENAI_BASE_URL = "), "{err}");
    }
}
