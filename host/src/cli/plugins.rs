//! `decision-matrix plugins list` and `plugins check`.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use crate::config::Config;
use crate::plugins::discover;
use crate::plugins::grants::{GrantsConfig, HostPattern};
use crate::plugins::{
    ComponentBinary, Origin, PluginCatalog, PluginDescriptor, PluginHost, PluginSource,
};

/// Runs `plugins list`; returns the process exit code (1 when some plugin failed to load).
pub fn list(
    config: &Config,
    grants: GrantsConfig,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    let host = PluginHost::new(config.plugins.clone(), grants)?;
    let dir = host.settings().plugins_dir();
    let catalog = PluginCatalog::load(&host, dir.as_deref());
    let failures: Vec<String> = catalog.failures().iter().map(ToString::to_string).collect();
    if json {
        let plugins: Vec<Value> = catalog.descriptors().map(describe_json).collect();
        let doc = json!({
            "plugins_dir": dir.as_ref().map(|d| d.display().to_string()),
            "compile_cache": host.settings().cache_dir().map(|d| d.display().to_string()),
            "instance_allocation": format!("{:?}", host.allocation()).to_lowercase(),
            "plugins": plugins,
            "failures": failures,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        match &dir {
            Some(dir) => writeln!(out, "plugins directory: {}", dir.display())?,
            None => writeln!(out, "plugins directory: none")?,
        }
        for descriptor in catalog.descriptors() {
            writeln!(out)?;
            write_text(descriptor, out)?;
        }
        for failure in &failures {
            writeln!(out, "\nnot loaded: {failure}")?;
        }
    }
    Ok(if failures.is_empty() { 0 } else { 1 })
}

/// Runs `plugins check FILE`; returns the exit code. Invalid plugins are reported as an error.
pub fn check(
    config: &Config,
    grants: GrantsConfig,
    file: &Path,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    let host = PluginHost::new(config.plugins.clone(), grants)?;
    let plugin = discover::read_component_file(file, host.max_component_bytes())?;
    let loaded = host.load(PluginSource {
        manifest: plugin.manifest,
        wasm: ComponentBinary::new(&plugin.wasm),
        origin: Origin::File(plugin.path),
    })?;
    let descriptor = loaded.descriptor();
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&describe_json(descriptor))?
        )?;
    } else {
        writeln!(out, "ok: {} is a valid plugin", file.display())?;
        write_text(descriptor, out)?;
    }
    Ok(0)
}

fn describe_json(d: &PluginDescriptor) -> Value {
    let m = &d.manifest;
    json!({
        "id": m.id,
        "version": m.version,
        "kind": m.kind.to_string(),
        "description": m.description,
        "origin": d.origin.to_string(),
        "wit_version": d.wit_version,
        "imports": d.imports,
        "requested": {
            "hosts": m.requests.hosts,
            "secrets": m.requests.secrets,
            "allow_private": m.requests.allow_private,
        },
        "granted": {
            "hosts": d.grant.hosts.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "secrets": d.grant.secrets.iter().map(|(name, hosts)| {
                (name.clone(), hosts.iter().map(ToString::to_string).collect::<Vec<_>>())
            }).collect::<std::collections::BTreeMap<_, _>>(),
            "allow_private": d.grant.allow_private,
        },
        "limits": {
            "memory_mib": d.limits.memory_bytes / (1024 * 1024),
            "cpu_ms": d.limits.cpu.as_millis() as u64,
            "timeout_ms": d.limits.wall.as_millis() as u64,
        },
    })
}

fn write_text(d: &PluginDescriptor, out: &mut dyn Write) -> std::io::Result<()> {
    let m = &d.manifest;
    writeln!(
        out,
        "{} {} ({}, WIT {})",
        m.id, m.version, m.kind, d.wit_version
    )?;
    if let Some(description) = &m.description {
        writeln!(out, "  {description}")?;
    }
    writeln!(out, "  origin:    {}", d.origin)?;
    writeln!(
        out,
        "  limits:    {} MiB memory, {} ms CPU, {} ms per call",
        d.limits.memory_bytes / (1024 * 1024),
        d.limits.cpu.as_millis(),
        d.limits.wall.as_millis()
    )?;
    if m.kind == crate::plugins::manifest::PluginKind::Scoring {
        return writeln!(out, "  network:   none (scoring plugins have no network)");
    }
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    };
    writeln!(
        out,
        "  requests:  hosts {}; secrets {}; private addresses {}",
        list(m.requests.hosts.clone()),
        list(m.requests.secrets.clone()),
        if m.requests.allow_private {
            "yes"
        } else {
            "no"
        }
    )?;
    writeln!(
        out,
        "  granted:   hosts {}; secrets {}; private addresses {}",
        list(d.grant.hosts.iter().map(ToString::to_string).collect()),
        list(
            d.grant
                .secrets
                .iter()
                .map(|(name, hosts)| {
                    format!(
                        "{name} -> {}",
                        hosts
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                })
                .collect()
        ),
        if d.grant.allow_private { "yes" } else { "no" }
    )?;
    // A request counts as granted when some granted pattern covers it (same scheme and port,
    // same host or a wildcard over it). A request that does not even parse is shown too.
    let ungranted: Vec<&String> = m
        .requests
        .hosts
        .iter()
        .filter(|h| match h.parse::<HostPattern>() {
            Ok(asked) => !d.grant.hosts.iter().any(|g| g.covers(&asked)),
            Err(_) => true,
        })
        .collect();
    if !ungranted.is_empty() {
        writeln!(
            out,
            "  note:      requested but not granted: {}; grant with hosts = [...] under [grants.{}]",
            ungranted
                .iter()
                .map(|h| h.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            m.id
        )?;
    }
    Ok(())
}
