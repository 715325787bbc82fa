//! Which backend takes a model name: the `[[backend.route]]` tables of the backends whose
//! routes are in force, resolved to backend ids once at start-up.
//!
//! `litellm` with `anthropic/claude-sonnet-4-6` goes to the `anthropic` backend with
//! `claude-sonnet-4-6`; with `groq/llama-3.3-70b-versatile` to `litellm:groq`, the `litellm`
//! plugin pointed at Groq; with `claude-sonnet-4-6` (no prefix, a name LiteLLM maps) to
//! `anthropic` unchanged; with any other name to `litellm` itself. Breakers, concurrency and
//! rate limits are kept per backend id, so each provider has its own.

use std::collections::BTreeMap;

use crate::manifest::Manifest;
use crate::manifest::routes::RouteTarget;

use super::DerivedBackend;

/// Where a call goes: the backend that takes it and the model name it is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    /// Backend id: a plugin's, or a route's provider (`litellm:groq`).
    pub backend: String,
    /// The model name as that backend is given it (without the route's prefix).
    pub model: String,
}

/// The routes in force, per backend.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routing {
    tables: BTreeMap<String, Table>,
    /// A route's provider with no address (no default, no variable set), and the variables
    /// that would give it one.
    unaddressed: BTreeMap<String, Vec<String>>,
}

/// One backend's routes, resolved to backend ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Table {
    /// `(prefix, backend)`, as declared.
    prefixes: Vec<(String, String)>,
    /// `(beginning of a name, backend)`, as declared.
    unprefixed: Vec<(String, String)>,
}

impl Routing {
    /// The routes of every backend in `derived` whose routes are in force, as `manifests`
    /// declare them.
    pub fn new(manifests: &[Manifest], derived: &[DerivedBackend]) -> Routing {
        let mut tables = BTreeMap::new();
        let mut unaddressed = BTreeMap::new();
        for manifest in manifests {
            let Some(backend) = &manifest.backend else {
                continue;
            };
            let in_force = derived
                .iter()
                .any(|d| d.id == manifest.id && d.routes_in_force);
            if !in_force {
                continue;
            }
            let id = &manifest.id;
            for route in &backend.routes {
                if let RouteTarget::Provider(provider) = route.target() {
                    let instance = format!("{id}:{provider}");
                    if !derived.iter().any(|d| d.id == instance) {
                        unaddressed.insert(instance, route.base_env.clone());
                    }
                }
            }
            let target_of = |prefix: &str| {
                let route = backend.routes.iter().find(|r| r.prefix == prefix)?;
                Some(match route.target() {
                    RouteTarget::Backend(other) => other.to_owned(),
                    RouteTarget::Provider(provider) => format!("{id}:{provider}"),
                    RouteTarget::Itself => id.clone(),
                })
            };
            let prefixes = backend
                .routes
                .iter()
                .filter_map(|r| Some((r.prefix.clone(), target_of(&r.prefix)?)))
                .collect();
            let unprefixed = backend
                .unprefixed
                .iter()
                .filter_map(|u| Some((u, target_of(&u.route)?)))
                .flat_map(|(u, target)| {
                    u.starts_with
                        .iter()
                        .map(move |start| (start.clone(), target.clone()))
                })
                .collect();
            tables.insert(
                id.clone(),
                Table {
                    prefixes,
                    unprefixed,
                },
            );
        }
        Routing {
            tables,
            unaddressed,
        }
    }

    /// For a route's provider that has no address, the variables that would give it one.
    pub fn missing_address(&self, backend: &str) -> Option<&[String]> {
        self.unaddressed.get(backend).map(Vec::as_slice)
    }

    /// Whether no backend routes.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Where `model` on `backend` goes. A name with a route's prefix goes to that route
    /// without the prefix; a name that begins as an `unprefixed` entry says goes to its route
    /// unchanged; anything else stays on `backend`.
    pub fn route(&self, backend: &str, model: &str) -> Routed {
        self.reroute(backend, model).unwrap_or_else(|| Routed {
            backend: backend.to_owned(),
            model: model.to_owned(),
        })
    }

    /// [`route`](Self::route) when it changes something: `None` when `backend` takes `model`
    /// as it is, which costs no allocation (the evaluation asks this for every call).
    pub fn reroute(&self, backend: &str, model: &str) -> Option<Routed> {
        let table = self.tables.get(backend)?;
        for (prefix, target) in &table.prefixes {
            if let Some(rest) = model.strip_prefix(prefix.as_str())
                && !rest.is_empty()
            {
                return Some(Routed {
                    backend: target.clone(),
                    model: rest.to_owned(),
                });
            }
        }
        if model.contains('/') {
            return None;
        }
        let (_, target) = table
            .unprefixed
            .iter()
            .find(|(start, _)| model.starts_with(start.as_str()))?;
        (target != backend).then(|| Routed {
            backend: target.clone(),
            model: model.to_owned(),
        })
    }

    /// The backend that takes `provider/…` models on `backend`, if a route says so.
    pub fn provider(&self, backend: &str, provider: &str) -> Option<&str> {
        let prefix = format!("{provider}/");
        let table = self.tables.get(backend)?;
        table
            .prefixes
            .iter()
            .find(|(p, _)| *p == prefix)
            .map(|(_, target)| target.as_str())
    }

    /// The backends `backend` may send models to, itself first, without repeats.
    pub fn destinations(&self, backend: &str) -> Vec<String> {
        let mut all = vec![backend.to_owned()];
        if let Some(table) = self.tables.get(backend) {
            for (_, target) in &table.prefixes {
                if !all.contains(target) {
                    all.push(target.clone());
                }
            }
        }
        all
    }
}

#[cfg(test)]
#[path = "routing_tests.rs"]
mod tests;
