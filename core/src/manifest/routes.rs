//! `[[backend.route]]` and `[[backend.unprefixed]]` in a backend's `plugin.toml`: which
//! provider a model name goes to, by its prefix, the way LiteLLM routes `anthropic/claude-…`
//! or `groq/llama-…`.
//!
//! A route sends the model name, without its prefix, to one of three places:
//!
//! - another backend plugin (`backend = "anthropic"`), which speaks that provider's format;
//! - this plugin pointed at another provider (`provider = "groq"`): the host derives a backend
//!   of its own, `<id>:<provider>`, with that provider's address and key, granted to it alone,
//!   with breakers and limits of its own;
//! - this backend itself (neither), for prefixes that name its own default provider.
//!
//! ```toml
//! [[backend.route]]
//! prefix = "groq/"
//! provider = "groq"
//! base_url = "https://api.groq.com/openai/v1"   # the default address
//! base_env = ["GROQ_API_BASE"]                   # variables that replace it
//! key_env = ["GROQ_API_KEY"]
//!
//! [[backend.route]]
//! prefix = "anthropic/"
//! backend = "anthropic"
//!
//! [[backend.unprefixed]]                         # names routed without a prefix
//! starts_with = ["claude-"]
//! route = "anthropic/"
//! ```
//!
//! Routes apply only while the backend's destination is its default: a destination set by a
//! variable (a LiteLLM proxy, a gateway) receives every model name unchanged, since it routes
//! by itself.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ManifestError;
use super::address::AddressForm;
use super::backend::{EnvSetting, check_setting_name, check_variables};

/// Most routes a backend may declare.
const MAX_ROUTES: usize = 64;

/// `[[backend.route]]`: where model names with one prefix go.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The model-name prefix, `provider/`.
    pub prefix: String,
    /// Another backend plugin that takes these models.
    pub backend: Option<String>,
    /// The provider this plugin is pointed at for these models; its backend id is
    /// `<id>:<provider>`.
    pub provider: Option<String>,
    /// The provider's address when no `base_env` variable is set; without one, a variable
    /// must give it.
    pub base_url: Option<String>,
    /// Variables that give the provider's address; the first one set wins.
    #[serde(default)]
    pub base_env: Vec<String>,
    /// Variables that hold the provider's key; the first one set wins.
    #[serde(default)]
    pub key_env: Vec<String>,
    /// Settings taken from variables for this provider, as `[backend.settings]`.
    #[serde(default)]
    pub settings: BTreeMap<String, EnvSetting>,
    /// Fixed settings for this provider, over the plugin's `[config]`.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

/// Where a route sends its models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteTarget<'a> {
    /// Another backend plugin.
    Backend(&'a str),
    /// This plugin, pointed at a provider of its own.
    Provider(&'a str),
    /// This backend itself.
    Itself,
}

impl Route {
    /// Where this route sends its models.
    pub fn target(&self) -> RouteTarget<'_> {
        match (&self.backend, &self.provider) {
            (Some(backend), _) => RouteTarget::Backend(backend),
            (None, Some(provider)) => RouteTarget::Provider(provider),
            (None, None) => RouteTarget::Itself,
        }
    }

    fn validate(&self, derived: &[&str]) -> Result<(), ManifestError> {
        let key = format!("backend.route {:?}", self.prefix);
        let invalid = |problem: String| Err(ManifestError::Invalid(format!("{key}: {problem}")));
        let name = self.prefix.strip_suffix('/').unwrap_or_default();
        if !is_name(name) {
            return invalid(
                "the prefix must be a provider name and '/': 1 to 64 lowercase letters, digits, '_' and '-', then '/'"
                    .to_owned(),
            );
        }
        let provider_only = [
            ("base_url", self.base_url.is_some()),
            ("base_env", !self.base_env.is_empty()),
            ("key_env", !self.key_env.is_empty()),
            ("settings", !self.settings.is_empty()),
            ("config", !self.config.is_empty()),
        ];
        match self.target() {
            RouteTarget::Backend(backend) if self.provider.is_some() => {
                return invalid(format!(
                    "names both backend = {backend:?} and a provider; allowed: one of them"
                ));
            }
            RouteTarget::Backend(backend) if !is_name(backend) => {
                return invalid(format!("backend = {backend:?} is not a plugin id"));
            }
            RouteTarget::Provider(provider) => {
                if !is_name(provider) {
                    return invalid(format!(
                        "provider = {provider:?}: allowed: 1 to 64 lowercase letters, digits, '_' and '-'"
                    ));
                }
                if self.base_url.is_none() && self.base_env.is_empty() {
                    return invalid(
                        "a provider needs base_url or base_env (where its requests go)".to_owned(),
                    );
                }
            }
            _ => {
                if let Some((field, _)) = provider_only.iter().find(|(_, set)| *set) {
                    return invalid(format!(
                        "{field} is only for a route with a provider; this route's models go to {}",
                        self.backend
                            .as_deref()
                            .map_or("this backend".to_owned(), |b| format!("backend {b:?}"))
                    ));
                }
            }
        }
        if let Some(url) = &self.base_url {
            AddressForm::Url
                .parse(url, 0)
                .map_err(|problem| ManifestError::Invalid(format!("{key}: base_url {problem}")))?;
        }
        check_variables(&format!("{key} base_env"), &self.base_env)?;
        check_variables(&format!("{key} key_env"), &self.key_env)?;
        for (name, setting) in &self.settings {
            check_setting_name(&format!("{key} settings"), name)?;
            check_variables(&format!("{key} settings.{name}.env"), &setting.env)?;
        }
        for name in self.config.keys() {
            check_setting_name(&format!("{key} config"), name)?;
        }
        for name in self.settings.keys().chain(self.config.keys()) {
            if derived.contains(&name.as_str()) {
                return invalid(format!(
                    "{name} is derived by the host from the route; allowed: other setting names"
                ));
            }
        }
        Ok(())
    }
}

/// `[[backend.unprefixed]]`: model names without a prefix that still go to a route's
/// provider, as LiteLLM sends `claude-…` to Anthropic.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unprefixed {
    /// How such names begin.
    pub starts_with: Vec<String>,
    /// The route's prefix, as in its `[[backend.route]]`.
    pub route: String,
}

/// Checks the routes and unprefixed names of one backend; `derived` are the settings the host
/// writes for a provider, which a route may not set.
pub(super) fn validate(
    routes: &[Route],
    unprefixed: &[Unprefixed],
    derived: &[&str],
    has_destination: bool,
) -> Result<(), ManifestError> {
    let invalid = |message: String| Err(ManifestError::Invalid(message));
    if routes.is_empty() && unprefixed.is_empty() {
        return Ok(());
    }
    if !has_destination {
        return invalid(
            "backend.route needs [backend.destination]: routes apply while the destination is its default"
                .to_owned(),
        );
    }
    if routes.len() > MAX_ROUTES {
        return invalid(format!(
            "{} backend.route entries; allowed: at most {MAX_ROUTES}",
            routes.len()
        ));
    }
    for (i, route) in routes.iter().enumerate() {
        route.validate(derived)?;
        if routes[..i].iter().any(|r| r.prefix == route.prefix) {
            return invalid(format!(
                "backend.route {:?} is declared twice",
                route.prefix
            ));
        }
        if let RouteTarget::Provider(provider) = route.target()
            && routes[..i]
                .iter()
                .any(|r| r.target() == RouteTarget::Provider(provider))
        {
            return invalid(format!(
                "backend.route {:?}: provider {provider:?} is already another route's; one route per provider",
                route.prefix
            ));
        }
    }
    for entry in unprefixed {
        if !routes.iter().any(|r| r.prefix == entry.route) {
            return invalid(format!(
                "backend.unprefixed route = {:?} names no backend.route prefix",
                entry.route
            ));
        }
        if entry.starts_with.is_empty()
            || entry
                .starts_with
                .iter()
                .any(|start| start.is_empty() || start.contains('/'))
        {
            return invalid(format!(
                "backend.unprefixed for {:?}: starts_with needs one or more beginnings of a model name, without '/'",
                entry.route
            ));
        }
    }
    Ok(())
}

/// A provider or plugin name: 1 to 64 lowercase letters, digits, `_` and `-`.
fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use crate::manifest::Manifest;

    /// A backend manifest with `routes` after its `[backend]` tables.
    fn with_routes(routes: &str) -> Result<Manifest, String> {
        let text = format!(
            r#"
            id = "acme"
            version = "0.1.0"
            kind = "llm-backend"
            component = "acme.wasm"

            [backend.destination]
            default = "https://api.acme.example/v1"

            [backend.key]
            env = ["ACME_API_KEY"]

            {routes}
            "#
        );
        Manifest::parse(&text).map_err(|e| e.to_string())
    }

    #[test]
    fn a_valid_table_parses() {
        let manifest = with_routes(
            r#"
            [[backend.route]]
            prefix = "acme/"

            [[backend.route]]
            prefix = "other/"
            backend = "other"

            [[backend.route]]
            prefix = "cloud/"
            provider = "cloud"
            base_url = "https://api.cloud.example/v1"
            base_env = ["CLOUD_API_BASE"]
            key_env = ["CLOUD_API_KEY"]
            config = { response-format = "json_object" }
            settings.api-version = { env = ["CLOUD_API_VERSION"] }

            [[backend.unprefixed]]
            starts_with = ["cl-", "cloud-"]
            route = "cloud/"
            "#,
        )
        .expect("valid");
        let backend = manifest.backend.expect("backend");
        assert_eq!(backend.routes.len(), 3);
        assert_eq!(backend.unprefixed[0].starts_with, ["cl-", "cloud-"]);
    }

    #[test]
    fn each_mistake_is_named() {
        for (routes, expected) in [
            (
                "[[backend.route]]\nprefix = \"acme\"",
                "the prefix must be a provider name and '/'",
            ),
            (
                "[[backend.route]]\nprefix = \"a/b/\"",
                "the prefix must be a provider name and '/'",
            ),
            (
                "[[backend.route]]\nprefix = \"x/\"\nbackend = \"other\"\nprovider = \"x\"\nbase_url = \"https://x.example\"",
                "names both backend",
            ),
            (
                "[[backend.route]]\nprefix = \"x/\"\nprovider = \"x\"",
                "a provider needs base_url or base_env",
            ),
            (
                "[[backend.route]]\nprefix = \"x/\"\nbackend = \"other\"\nkey_env = [\"X_KEY\"]",
                "key_env is only for a route with a provider",
            ),
            (
                "[[backend.route]]\nprefix = \"x/\"\nprovider = \"x\"\nbase_url = \"ftp://x.example\"",
                "base_url",
            ),
            (
                "[[backend.route]]\nprefix = \"x/\"\nprovider = \"x\"\nbase_url = \"https://x.example\"\nconfig = { base-url = \"https://y.example\" }",
                "base-url is derived by the host",
            ),
            (
                "[[backend.route]]\nprefix = \"x/\"\n[[backend.route]]\nprefix = \"x/\"",
                "is declared twice",
            ),
            (
                "[[backend.route]]\nprefix = \"x/\"\nprovider = \"p\"\nbase_url = \"https://x.example\"\n[[backend.route]]\nprefix = \"y/\"\nprovider = \"p\"\nbase_url = \"https://y.example\"",
                "one route per provider",
            ),
            (
                "[[backend.route]]\nprefix = \"x/\"\n[[backend.unprefixed]]\nstarts_with = [\"y-\"]\nroute = \"y/\"",
                "names no backend.route prefix",
            ),
            (
                "[[backend.route]]\nprefix = \"x/\"\n[[backend.unprefixed]]\nstarts_with = []\nroute = \"x/\"",
                "starts_with needs one or more",
            ),
        ] {
            let error = with_routes(routes).expect_err(routes);
            assert!(error.contains(expected), "{routes}\n=> {error}");
        }
    }

    #[test]
    fn routes_need_a_destination() {
        let error = Manifest::parse(
            r#"
            id = "acme"
            version = "0.1.0"
            kind = "llm-backend"
            component = "acme.wasm"

            [[backend.route]]
            prefix = "x/"
            "#,
        )
        .expect_err("no destination");
        assert!(
            error.to_string().contains("needs [backend.destination]"),
            "{error}"
        );
    }
}
