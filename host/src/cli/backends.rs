//! `decision-matrix backends list` and `backends check`.
//!
//! `check` is the health check users run when something does not work: it runs every
//! backend's deep check ([`crate::plugins::check`]), which talks to the provider, and prints
//! each backend's own explanation of what is wrong and how to fix it, with what was asked
//! (`[backend] check` in its manifest).

use std::io::Write;

use serde_json::{Value, json};

use crate::config::Config;
use crate::plugins::check::CheckReport;
use crate::plugins::grants::GrantsConfig;
use crate::plugins::{BackendPlugin, PluginCatalog, PluginHost};
use crate::providers::{self, DerivedBackend};

fn load(
    config: &Config,
    grants: GrantsConfig,
    backends: &[DerivedBackend],
) -> anyhow::Result<(PluginHost, PluginCatalog)> {
    let host = PluginHost::new(config.plugins.clone(), grants)?;
    let dir = host.settings().plugins_dir();
    let catalog = PluginCatalog::load(&host, dir.as_deref())
        .with_instances(&host, providers::instances(backends));
    Ok((host, catalog))
}

/// Runs `backends list`; returns the exit code.
pub async fn list(
    config: &Config,
    grants: GrantsConfig,
    backends: &[DerivedBackend],
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    let (_host, catalog) = load(config, grants, backends)?;
    let mut rows = Vec::new();
    for backend in catalog.backends() {
        rows.push(describe(backend, backends).await);
    }
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json!({ "backends": rows }))?
        )?;
        return Ok(0);
    }
    for row in &rows {
        writeln!(
            out,
            "{} ({})",
            row["id"].as_str().unwrap_or("?"),
            row["display_name"].as_str().unwrap_or("?")
        )?;
        for (label, key) in [
            ("default model", "default_model"),
            ("destination", "destination"),
            ("auth", "auth"),
        ] {
            writeln!(out, "  {label:<14} {}", row[key].as_str().unwrap_or("-"))?;
        }
        if let Some(sources) = row["configured_by"].as_object().filter(|s| !s.is_empty()) {
            let list: Vec<String> = sources
                .iter()
                .map(|(setting, var)| format!("{setting} from {}", var.as_str().unwrap_or("?")))
                .collect();
            writeln!(out, "  {:<14} {}", "configured by", list.join(", "))?;
        }
    }
    Ok(0)
}

async fn describe(backend: &BackendPlugin, backends: &[DerivedBackend]) -> Value {
    let descriptor = backend.descriptor();
    let id = &descriptor.manifest.id;
    let info = backend.info().await;
    let config = &descriptor.grant.config;
    // The SDK's `api-key-header` setting: where the plugin asks the host to put the key.
    let key_header = config
        .get("api-key-header")
        .or_else(|| descriptor.manifest.config.get("api-key-header"))
        .map(String::as_str)
        .filter(|header| !header.eq_ignore_ascii_case("authorization"));
    let auth = match (
        config.get("auth").map(String::as_str),
        config.get("api-key-env"),
    ) {
        (Some("sigv4"), _) => "AWS SigV4 (AWS credential chain)".to_owned(),
        (_, Some(var)) => match key_header {
            Some(header) => format!("key from {var}, in the {header} header"),
            None => format!("bearer key from {var}"),
        },
        _ if descriptor.grant.secrets.is_empty() => "none".to_owned(),
        _ => "defined by the plugin's grant".to_owned(),
    };
    let sources: serde_json::Map<String, Value> = backends
        .iter()
        .find(|b| &b.id == id)
        .map(|b| {
            b.sources
                .iter()
                .map(|(setting, var)| (setting.clone(), Value::from(var.clone())))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "id": id,
        "display_name": info.as_ref().map(|i| i.display_name.clone()).unwrap_or_else(|_| id.clone()),
        "default_model": info.as_ref().ok().and_then(|i| i.default_model.clone()),
        "supports_response_schema": info.as_ref().map(|i| i.supports_response_schema).unwrap_or(false),
        "destination": descriptor.grant.hosts.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        "allow_private": descriptor.grant.allow_private,
        "auth": auth,
        "origin": descriptor.origin.to_string(),
        "configured_by": sources,
        "error": info.err().map(|e| e.to_string()),
    })
}

/// Runs `backends check [NAME]`; returns 0 when every checked backend is ready, 1 otherwise.
///
/// `NAME` is a backend id, or a backend and a route's provider (`litellm:anthropic`: the backend
/// that takes `anthropic/…` models on `litellm`). Without a name, every backend is checked but
/// a route's provider that nothing configured (no key, no address variable).
pub async fn check(
    config: &Config,
    grants: GrantsConfig,
    backends: &[DerivedBackend],
    name: Option<&str>,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    let (_host, catalog) = load(config, grants, backends)?;
    let routing = providers::routing(&catalog, backends);
    let by_route = |name: &str| {
        let (backend, provider) = name.split_once(':')?;
        catalog.backend(routing.provider(backend, provider)?)
    };
    let selected: Vec<&BackendPlugin> = match name {
        Some(name) => match catalog.backend(name).or_else(|| by_route(name)) {
            Some(backend) => vec![backend],
            None => {
                let (providers, backends): (Vec<&str>, Vec<&str>) = catalog
                    .backends()
                    .map(|b| b.descriptor().manifest.id.as_str())
                    .partition(|id| id.contains(':'));
                let providers = if providers.is_empty() {
                    String::new()
                } else {
                    format!("; the providers routes reach: {}", providers.join(", "))
                };
                anyhow::bail!(
                    "no backend named {name:?}; the backends are: {}{providers}",
                    backends.join(", ")
                );
            }
        },
        None => {
            let unconfigured = |id: &str| {
                backends
                    .iter()
                    .any(|d| d.id == id && d.instance_of.is_some() && d.sources.is_empty())
            };
            catalog
                .backends()
                .filter(|b| !unconfigured(&b.descriptor().manifest.id))
                .collect()
        }
    };
    let mut results = Vec::new();
    for backend in selected {
        results.push(CheckReport::run(backend).await);
    }
    let failed = results.iter().any(|r| !r.ok);
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json!({ "backends": results }))?
        )?;
    } else {
        for r in &results {
            match &r.error {
                None => writeln!(out, "{}: ok ({} ms)", r.id, r.elapsed_ms)?,
                Some(error) => {
                    writeln!(out, "{}: FAILED: {error}", r.id)?;
                    if let Some(check) = &r.check {
                        writeln!(out, "  checked: {check}")?;
                    }
                }
            }
        }
    }
    Ok(i32::from(failed))
}
