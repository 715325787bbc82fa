//! One backend's grant, secrets and settings, derived from its manifest's `[backend]` table
//! and the environment. The same steps for every backend, built-in or not.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use url::{Host, Url};

use crate::address::classify;
use crate::config::BackendDefaults;
use crate::config::grants::{Grant, HostPattern, SecretSource};
use crate::manifest::address::AddressForm;
use crate::manifest::backend::{
    AUTH_SETTING, Auth, BackendManifest, CREDENTIALS_SETTING, DEFAULT_DESTINATION_SETTING,
    Destination, EnvSetting, KEY_ENV_SETTING, KEY_SECRET_SETTING, Key, MODEL_SETTING,
    REGION_SETTING, RequestTimeout, TIMEOUT_SETTING,
};
use crate::manifest::routes::Route;

use super::{DerivedBackend, Environment, ProviderError, aws};

/// How a destination that no variable set is named in messages.
const DEFAULT_DESTINATION: &str = "[backend.destination] default";

/// Where requests go, and the variable that said so (`None`: the manifest's default).
struct Target {
    url: Url,
    variable: Option<String>,
}

/// The settings being derived, and which variable each came from.
#[derive(Default)]
struct Settings {
    config: BTreeMap<String, String>,
    sources: Vec<(String, String)>,
}

impl Settings {
    fn set(&mut self, setting: &str, value: impl Into<String>, source: Option<&str>) {
        self.config.insert(setting.to_owned(), value.into());
        if let Some(var) = source {
            self.sources.push((setting.to_owned(), var.to_owned()));
        }
    }
}

/// Derives backend `id` from `backend` over `env`; `profile_region` is the active AWS
/// profile's region, for `[backend.aws]`.
pub(super) fn derive(
    id: &str,
    backend: &BackendManifest,
    env: &Environment,
    profile_region: Option<&str>,
) -> Result<DerivedBackend, ProviderError> {
    let mut settings = Settings::default();
    let region = match &backend.aws {
        Some(_) => {
            let (region, source) = aws::region(env, profile_region)?;
            settings.set(REGION_SETTING, region.clone(), source.as_deref());
            Some(region)
        }
        None => None,
    };
    let target = destination(backend, env, region.as_deref())?;
    if let (Some(target), Some(setting)) = (&target, backend.destination_setting()) {
        // Plugins append paths (`/chat/completions`) to it.
        let value = target.url.as_str().trim_end_matches('/');
        settings.set(setting, value, target.variable.as_deref());
    }
    match env.first(&strs(&backend.model_env)) {
        Some((var, model)) => settings.set(MODEL_SETTING, model, Some(var)),
        None => {
            if let Some(model) = &backend.default_model {
                settings.set(MODEL_SETTING, model.clone(), None);
            }
        }
    }
    if let Some(timeout) = &backend.request_timeout {
        let (ms, source) = timeout_ms(env, timeout)?;
        settings.set(TIMEOUT_SETTING, ms, source.as_deref());
    }
    for (name, setting) in &backend.settings {
        if let Some((var, value)) = from_variable(env, setting)? {
            settings.set(name, value, Some(&var));
        }
    }
    let secret = credentials(id, backend, env, &mut settings);
    // A destination set by a variable (a proxy, a gateway) routes by itself.
    let routes_in_force = !backend.routes.is_empty()
        && target
            .as_ref()
            .is_some_and(|target| target.variable.is_none());
    let Settings { config, sources } = settings;
    let grant = match &target {
        Some(target) => grant_for(target, secret.as_ref().map(|s| s.0.as_str()), config)?,
        None => Grant {
            config,
            ..Grant::default()
        },
    };
    Ok(DerivedBackend {
        id: id.to_owned(),
        grant,
        secrets: secret.into_iter().collect(),
        sources,
        defaults: BackendDefaults {
            timeout_base: backend
                .timeout_base_seconds
                .map(|s| Duration::from_secs(u64::from(s))),
            max_concurrent_calls: backend.max_concurrent_calls.map(|n| n as usize),
            requests_per_minute: backend.requests_per_minute,
        },
        instance_of: None,
        routes_in_force,
    })
}

/// The backend `<id>:<provider>` of a route with a provider: plugin `id` pointed at that
/// provider's address with its key, derived the same way as any backend, with the route's
/// fixed settings over the plugin's. `None` when the route has no default address and no
/// variable gives one.
pub(super) fn provider(
    id: &str,
    backend: &BackendManifest,
    route: &Route,
    provider: &str,
    env: &Environment,
) -> Result<Option<DerivedBackend>, ProviderError> {
    if route.base_url.is_none() && env.first(&strs(&route.base_env)).is_none() {
        return Ok(None);
    }
    let mut settings = backend.settings.clone();
    settings.extend(route.settings.clone());
    let instance = BackendManifest {
        default_model: None,
        model_env: Vec::new(),
        session_default: false,
        auth: Auth::None,
        destination: Some(Destination {
            setting: backend
                .destination_setting()
                .unwrap_or(DEFAULT_DESTINATION_SETTING)
                .to_owned(),
            env: route.base_env.clone(),
            default: route.base_url.clone(),
            address: AddressForm::Url,
            default_port: None,
        }),
        key: (!route.key_env.is_empty()).then(|| Key {
            env: route.key_env.clone(),
        }),
        aws: None,
        settings,
        routes: Vec::new(),
        unprefixed: Vec::new(),
        ..backend.clone()
    };
    let mut derived = derive(&format!("{id}:{provider}"), &instance, env, None)?;
    derived.grant.config.extend(route.config.clone());
    derived.instance_of = Some(id.to_owned());
    Ok(Some(derived))
}

fn strs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

/// The destination, from its first variable set, else the default (for an AWS service, its
/// endpoint in `region`).
fn destination(
    backend: &BackendManifest,
    env: &Environment,
    region: Option<&str>,
) -> Result<Option<Target>, ProviderError> {
    if backend.destination_setting().is_none() {
        return Ok(None);
    }
    let (form, default_port, variables) = match &backend.destination {
        Some(d) => (d.address, d.default_port.unwrap_or_default(), strs(&d.env)),
        None => Default::default(),
    };
    // The AWS SDKs' switch for ignoring every configured endpoint.
    let ignore_variables = backend.aws.is_some() && aws::ignores_endpoint_variables(env);
    if let Some((var, value)) = env.first(&variables).filter(|_| !ignore_variables) {
        let url = form
            .parse(value, default_port)
            .map_err(|problem| ProviderError::new(var, value, problem))?;
        let variable = Some(var.to_owned());
        return Ok(Some(Target { url, variable }));
    }
    let default = match (&backend.aws, region) {
        (Some(aws), Some(region)) => aws::default_endpoint(&aws.endpoint_prefix, region),
        _ => backend
            .destination
            .as_ref()
            .and_then(|d| d.default.clone())
            .unwrap_or_default(),
    };
    let url = form
        .parse(&default, default_port)
        .map_err(|problem| ProviderError::new(DEFAULT_DESTINATION, &default, problem))?;
    Ok(Some(Target {
        url,
        variable: None,
    }))
}

/// The key's secret (`<id>-api-key` from the first key variable set), else the AWS credential
/// chain for `auth = "aws-sigv4"`, with the settings that tell the plugin which is in force.
fn credentials(
    id: &str,
    backend: &BackendManifest,
    env: &Environment,
    settings: &mut Settings,
) -> Option<(String, SecretSource)> {
    let key_var = backend
        .key
        .as_ref()
        .and_then(|key| env.first(&strs(&key.env)))
        .map(|(var, _)| var);
    let signs = backend.auth == Auth::AwsSigv4;
    match key_var {
        Some(var) => {
            let secret = format!("{id}-api-key");
            // Where the plugin could also sign, the key decides `auth`; the variable is
            // listed as that setting's source.
            if signs {
                settings.set(AUTH_SETTING, "bearer", Some(var));
            } else {
                settings
                    .sources
                    .push(("api-key".to_owned(), var.to_owned()));
            }
            settings.set(KEY_SECRET_SETTING, secret.clone(), None);
            settings.set(KEY_ENV_SETTING, var, None);
            let source = SecretSource::Env {
                env: var.to_owned(),
            };
            Some((secret, source))
        }
        None if signs => {
            settings.set(AUTH_SETTING, "sigv4", None);
            settings.set(CREDENTIALS_SETTING, aws::CREDENTIALS_SECRET, None);
            let source = SecretSource::Aws { profile: None };
            Some((aws::CREDENTIALS_SECRET.to_owned(), source))
        }
        None => None,
    }
}

/// The request timeout in milliseconds, and the variable that set it.
fn timeout_ms(
    env: &Environment,
    timeout: &RequestTimeout,
) -> Result<(String, Option<String>), ProviderError> {
    let Some((var, value)) = env.first(&strs(&timeout.env)) else {
        return Ok((
            (u64::from(timeout.default_seconds) * 1000).to_string(),
            None,
        ));
    };
    let range = timeout.min_seconds..=timeout.max_seconds;
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
        (u64::from(seconds) * 1000).to_string(),
        Some(var.to_owned()),
    ))
}

/// A `[backend.settings]` value from its first variable that is set, if one is, with that
/// variable.
fn from_variable(
    env: &Environment,
    setting: &EnvSetting,
) -> Result<Option<(String, String)>, ProviderError> {
    let Some((var, value)) = env.first(&strs(&setting.env)) else {
        return Ok(None);
    };
    if !setting.allowed.is_empty() && !setting.allowed.iter().any(|a| a == value) {
        return Err(ProviderError::new(
            var,
            value,
            format!("expected {}", one_of(&setting.allowed)),
        ));
    }
    Ok(Some((var.to_owned(), value.to_owned())))
}

/// `a`, `a or b`, `a, b or c`.
fn one_of(values: &[String]) -> String {
    match values {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The grant for one destination (its URL's origin), with `secret` bound to it when given.
fn grant_for(
    target: &Target,
    secret: Option<&str>,
    config: BTreeMap<String, String>,
) -> Result<Grant, ProviderError> {
    let url = &target.url;
    let origin = HostPattern::for_origin(url).ok_or_else(|| {
        ProviderError::new(
            target.variable.as_deref().unwrap_or(DEFAULT_DESTINATION),
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
pub fn is_local(url: &Url) -> bool {
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
