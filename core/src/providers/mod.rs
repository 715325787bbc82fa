//! Where the backends point, derived from the settings their users already have, as each
//! backend's manifest says.
//!
//! Someone who runs Ollama has `OLLAMA_HOST`; someone who uses OpenAI or a LiteLLM proxy has
//! `OPENAI_API_KEY` and maybe `OPENAI_BASE_URL`; an AWS user has a region, a profile and
//! credentials. None of them should have to write plugin grants. Each backend plugin's
//! `plugin.toml` names those variables in its `[backend]` table
//! ([`BackendManifest`](crate::manifest::BackendManifest)), and this module turns them
//! into, per backend, the same way for a built-in and for a plugin from the plugins directory:
//!
//! - a [`Grant`] for exactly one destination (the configured server), with `allow_private`
//!   only when that destination is a loopback, private or `localhost` address;
//! - the secret that backend needs (the API key's variable, or the AWS credential chain),
//!   bound to that destination only;
//! - the plugin's settings (`base-url`, `default-model`, `timeout-ms`, ...);
//! - what evaluations need to know about it ([`BackendDefaults`]: timeout base, concurrency,
//!   rate limit).
//!
//! An operator's own `[grants.<id>]` table replaces the derived destinations and secrets of
//! that backend (see [`apply`]); a `[secrets.<name>]` table replaces the derived secret of that
//! name. The derivation is pure over an [`Environment`] snapshot, except the AWS profile's
//! region, which needs the AWS config files: the host reads it and passes it in.

pub mod aws;
mod derive;
mod environment;
mod routing;

use std::collections::BTreeMap;

use crate::config::BackendDefaults;
use crate::config::grants::{Grant, GrantsConfig, SecretSource};
use crate::manifest::Manifest;
use crate::manifest::routes::RouteTarget;

pub use derive::is_local;
pub use environment::Environment;
pub use routing::{Routed, Routing};

/// A setting that cannot be used. Stops start-up: a backend pointed at a mistyped address would
/// otherwise fail on every call instead.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// A variable's value is unusable.
    #[error("{var} = {value:?}: {problem}")]
    Value {
        /// The variable.
        var: String,
        /// Its value (never a secret: secret variables are only ever named).
        value: String,
        /// What is wrong and what is allowed.
        problem: String,
    },
    /// Two backends name the same key variable.
    #[error(
        "backend '{second}' names {var} as its key, which is already the key of backend \
         '{first}'; a key goes to one backend only. Remove the plugin '{second}' or change \
         its [backend.key]"
    )]
    SharedKey {
        /// The key variable.
        var: String,
        /// The backend that has it (built-ins come first).
        first: String,
        /// The backend that asked for it too.
        second: String,
    },
}

impl ProviderError {
    fn new(var: &str, value: &str, problem: impl Into<String>) -> Self {
        Self::Value {
            var: var.to_owned(),
            value: value.to_owned(),
            problem: problem.into(),
        }
    }
}

/// What one backend is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedBackend {
    /// Plugin id.
    pub id: String,
    /// The grant: one destination, its secret, the plugin's settings.
    pub grant: Grant,
    /// Secrets the grant refers to, by name.
    pub secrets: BTreeMap<String, SecretSource>,
    /// Which variables the settings came from, for `backends list` and error messages.
    pub sources: Vec<(String, String)>,
    /// How evaluations treat it unless the operator's `[evaluation]` says otherwise.
    pub defaults: BackendDefaults,
    /// For a route's provider (`litellm:groq`): the plugin whose component it runs.
    pub instance_of: Option<String>,
    /// Whether its `[[backend.route]]`s apply: it has some, and its destination is the
    /// default (a destination set by a variable routes by itself).
    pub routes_in_force: bool,
}

/// Derives every backend with a `[backend]` table in `manifests` (only `llm-backend` plugins
/// have one) from `env`, in order.
/// `profile_region` is the region of the active AWS profile, if any (the host reads it). A key variable may belong to one backend only, the first that
/// names it.
pub fn derive(
    manifests: &[Manifest],
    env: &Environment,
    profile_region: Option<&str>,
) -> Result<Vec<DerivedBackend>, ProviderError> {
    let mut derived = Vec::new();
    let mut key_owners: BTreeMap<&str, String> = BTreeMap::new();
    for manifest in manifests {
        let Some(backend) = &manifest.backend else {
            continue;
        };
        let own_keys = backend
            .key
            .iter()
            .flat_map(|key| &key.env)
            .map(|var| (var, manifest.id.clone()));
        let route_keys = backend.routes.iter().flat_map(|route| {
            let owner = match route.target() {
                RouteTarget::Provider(provider) => format!("{}:{provider}", manifest.id),
                _ => manifest.id.clone(),
            };
            route.key_env.iter().map(move |var| (var, owner.clone()))
        });
        for (var, owner) in own_keys.chain(route_keys) {
            if let Some(first) = key_owners.insert(var, owner.clone()) {
                return Err(ProviderError::SharedKey {
                    var: var.clone(),
                    first,
                    second: owner,
                });
            }
        }
        let parent = derive::derive(&manifest.id, backend, env, profile_region)?;
        let routed = parent.routes_in_force;
        derived.push(parent);
        if !routed {
            continue;
        }
        for route in &backend.routes {
            if let RouteTarget::Provider(provider) = route.target()
                && let Some(instance) =
                    derive::provider(&manifest.id, backend, route, provider, env)?
            {
                derived.push(instance);
            }
        }
    }
    Ok(derived)
}

/// The operator's grants with the derived backends filled in. An operator's `[grants.<id>]`
/// keeps its hosts, `allow_private` and secrets; its `config` entries override the derived
/// settings one by one. Operator secrets win over derived secrets of the same name.
pub fn apply(operator: &GrantsConfig, derived: &[DerivedBackend]) -> GrantsConfig {
    let mut merged = operator.clone();
    for backend in derived {
        match merged.grants.get_mut(&backend.id) {
            Some(grant) => {
                let mut config = backend.grant.config.clone();
                config.extend(std::mem::take(&mut grant.config));
                grant.config = config;
            }
            None => {
                merged
                    .grants
                    .insert(backend.id.clone(), backend.grant.clone());
                for (name, source) in &backend.secrets {
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
