//! Where the built-in backends point, derived from the settings their users already have.
//!
//! Someone who runs Ollama has `OLLAMA_HOST`; someone who uses OpenAI or a LiteLLM proxy has
//! `OPENAI_API_KEY` and maybe `OPENAI_BASE_URL`; an AWS user has a region, a profile and
//! credentials. None of them should have to write plugin grants to use the built-in `ollama`,
//! `litellm` and `bedrock` backends. This module turns those variables into, per backend:
//!
//! - a [`Grant`] for exactly one destination (the configured server), with `allow_private`
//!   only when that destination is a loopback, private or `localhost` address;
//! - the secret that backend needs (the API key's variable, or the AWS credential chain),
//!   bound to that destination only;
//! - the plugin's settings (`base-url`, `default-model`, `timeout-ms`, ...).
//!
//! An operator's own `[grants.<id>]` table replaces the derived destinations and secrets of
//! that backend (see [`apply`]); a `[secrets.<name>]` table replaces the derived secret of that
//! name. The derivation is pure over an [`Environment`] snapshot, except the AWS profile's
//! region, which needs the AWS config files (see [`bedrock::profile_region`]).

pub mod bedrock;
mod environment;
mod ollama;
mod openai;

use std::collections::BTreeMap;
use std::net::IpAddr;

use url::{Host, Url};

use crate::plugins::grants::{Grant, GrantsConfig, HostPattern, SecretSource};
use crate::plugins::net::classify;

pub use environment::Environment;

/// A setting that cannot be used. Stops start-up: a backend pointed at a mistyped address would
/// otherwise fail on every call instead.
#[derive(Debug, thiserror::Error)]
#[error("{var} = {value:?}: {problem}")]
pub struct ProviderError {
    /// The variable.
    pub var: String,
    /// Its value (never a secret: secret variables are only ever named).
    pub value: String,
    /// What is wrong and what is allowed.
    pub problem: String,
}

impl ProviderError {
    fn new(var: &str, value: &str, problem: impl Into<String>) -> Self {
        Self {
            var: var.to_owned(),
            value: value.to_owned(),
            problem: problem.into(),
        }
    }
}

/// What one built-in backend is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinBackend {
    /// Plugin id: `ollama`, `litellm`, `bedrock`.
    pub id: &'static str,
    /// The grant: one destination, its secret, the plugin's settings.
    pub grant: Grant,
    /// Secrets the grant refers to, by name.
    pub secrets: BTreeMap<String, SecretSource>,
    /// Which variables the settings came from, for `backends list` and error messages.
    pub sources: Vec<(String, String)>,
}

/// Derives the three built-in backends from `env`. `profile_region` is the region of the
/// active AWS profile, if any (see [`bedrock::profile_region`]).
pub fn derive(
    env: &Environment,
    profile_region: Option<String>,
) -> Result<Vec<BuiltinBackend>, ProviderError> {
    Ok(vec![
        ollama::derive(env)?,
        openai::derive(env)?,
        bedrock::derive(env, profile_region)?,
    ])
}

/// [`derive`] over the process environment, reading the AWS profile's region only when no
/// region variable is set.
pub async fn from_process() -> Result<Vec<BuiltinBackend>, ProviderError> {
    let env = Environment::from_process();
    let profile_region = match env.first(&["AWS_REGION", "AWS_DEFAULT_REGION"]) {
        Some(_) => None,
        None => bedrock::profile_region(&env).await,
    };
    derive(&env, profile_region)
}

/// The operator's grants with the derived built-in backends filled in. An operator's
/// `[grants.<id>]` keeps its hosts, `allow_private` and secrets; its `config` entries override
/// the derived settings one by one. Operator secrets win over derived secrets of the same name.
pub fn apply(operator: &GrantsConfig, builtins: &[BuiltinBackend]) -> GrantsConfig {
    let mut merged = operator.clone();
    for builtin in builtins {
        match merged.grants.get_mut(builtin.id) {
            Some(grant) => {
                let mut config = builtin.grant.config.clone();
                config.extend(std::mem::take(&mut grant.config));
                grant.config = config;
            }
            None => {
                merged
                    .grants
                    .insert(builtin.id.to_owned(), builtin.grant.clone());
                for (name, source) in &builtin.secrets {
                    merged
                        .secrets
                        .entry(name.clone())
                        .or_insert_with(|| source.clone());
                }
            }
        }
    }
    merged
}

/// The grant for one destination (`url`'s origin), with `secret` bound to it when given.
fn grant_for(
    var: &str,
    url: &Url,
    secret: Option<&str>,
    config: BTreeMap<String, String>,
) -> Result<Grant, ProviderError> {
    let origin = HostPattern::for_origin(url).ok_or_else(|| {
        ProviderError::new(
            var,
            url.as_str(),
            "expected an http:// or https:// URL with a host",
        )
    })?;
    let secrets = secret
        .map(|name| (name.to_owned(), vec![origin.clone()]))
        .into_iter()
        .collect();
    Ok(Grant {
        hosts: vec![origin],
        allow_private: is_local(url),
        secrets,
        config,
    })
}

/// Whether `url` names a loopback, private or link-local address, or `localhost`: a server on
/// this machine or network, which a grant must explicitly allow. Host names other than
/// `localhost` are not resolved here; a grant for a LAN name needs `allow_private` written by
/// the operator.
fn is_local(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => !classify(IpAddr::V4(ip)).is_public(),
        Some(Host::Ipv6(ip)) => !classify(IpAddr::V6(ip)).is_public(),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

/// `base` as a URL for the plugin: http or https, no credentials, no query or fragment.
fn parse_base_url(var: &str, base: &str) -> Result<Url, ProviderError> {
    let url = Url::parse(base).map_err(|e| {
        ProviderError::new(
            var,
            base,
            format!("not a URL ({e}); expected e.g. http://127.0.0.1:4000/v1"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ProviderError::new(
            var,
            base,
            "expected an http:// or https:// URL with a host",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ProviderError::new(
            var,
            base,
            "user:password@ in the URL is not supported; use the API key variable",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ProviderError::new(
            var,
            base,
            "a base URL cannot carry a query or fragment",
        ));
    }
    Ok(url)
}

/// `url` as the plugin's `base-url` setting: without a trailing slash.
fn base_url_setting(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

/// A timeout variable in whole seconds within `range`, as milliseconds.
fn timeout_ms(
    env: &Environment,
    var: &str,
    default_s: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<(String, Option<(String, String)>), ProviderError> {
    match env.get(var) {
        None => Ok(((default_s * 1000).to_string(), None)),
        Some(value) => {
            let seconds: u32 = value
                .parse()
                .ok()
                .filter(|s| range.contains(s))
                .ok_or_else(|| {
                    ProviderError::new(
                        var,
                        value,
                        format!(
                            "expected whole seconds from {} to {}",
                            range.start(),
                            range.end()
                        ),
                    )
                })?;
            Ok((
                (seconds * 1000).to_string(),
                Some(("timeout-ms".into(), var.into())),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_destinations_are_recognised() {
        for (url, local) in [
            ("http://127.0.0.1:11434", true),
            ("http://[::1]:11434", true),
            ("http://localhost:11434", true),
            ("http://gpu.localhost", true),
            ("http://192.168.1.20:11434", true),
            ("https://api.openai.com", false),
            ("http://ollama.example.com", false),
        ] {
            assert_eq!(is_local(&Url::parse(url).unwrap()), local, "{url}");
        }
    }

    #[test]
    fn base_urls_are_checked() {
        assert!(parse_base_url("V", "http://127.0.0.1:4000/v1").is_ok());
        for bad in [
            "127.0.0.1:4000",
            "ftp://x",
            "http://u:p@h/v1",
            "http://h/v1?x=1",
            "nonsense",
        ] {
            let err = parse_base_url("OPENAI_BASE_URL", bad).unwrap_err();
            assert!(err.to_string().starts_with("OPENAI_BASE_URL = "), "{err}");
        }
    }

    #[test]
    fn operator_grants_win_but_keep_derived_settings() {
        let env = Environment::from_pairs([("OLLAMA_HOST", "127.0.0.1:11500")]);
        let builtins = derive(&env, None).unwrap();
        let operator = crate::config::Config::parse(
            r#"
            [grants.ollama]
            hosts = ["http://gpu-box.lan:11434"]
            allow_private = true
            config = { base-url = "http://gpu-box.lan:11434" }
            "#,
        )
        .unwrap()
        .grants_config();
        let merged = apply(&operator, &builtins);
        let ollama = &merged.grants["ollama"];
        assert_eq!(ollama.hosts.len(), 1);
        assert_eq!(ollama.hosts[0].to_string(), "http://gpu-box.lan:11434");
        assert_eq!(ollama.config["base-url"], "http://gpu-box.lan:11434");
        assert_eq!(ollama.config["default-model"], "llama3.1:8b");
        assert!(merged.grants.contains_key("litellm") && merged.grants.contains_key("bedrock"));
        assert!(merged.validate().is_empty(), "{:?}", merged.validate());
    }
}
