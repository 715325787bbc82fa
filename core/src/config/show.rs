//! Every value in force and where it came from: what `decision-matrix config show` prints.

use std::io::Write;

use serde::Serialize;
use toml::{Table, Value};

use super::layers::join;
use super::{Config, Loaded, Source};
use crate::providers::DerivedBackend;
use crate::store_url::redact_url;

/// One effective value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Dotted key, as `--set` takes it.
    pub key: String,
    /// The value in force (secrets shown as `"<set>"`).
    pub value: Value,
    /// Where it came from.
    pub source: Source,
}

/// Keys whose values are never printed.
const SECRET_KEYS: [&str; 1] = ["server.auth_token"];

/// URL keys printed with their password replaced: where the store is helps whoever reads the
/// listing, its credentials do not.
const URL_KEYS: [&str; 1] = ["sessions.store"];

impl Config {
    /// This configuration with the sections that keep their defaults implicit (evaluation,
    /// sessions, directories) written out with the values in force, `backends`' manifest
    /// defaults included.
    pub fn effective(&self, backends: &[DerivedBackend]) -> Result<Config, String> {
        let mut plugins = self.plugins.clone();
        plugins.dir = plugins.plugins_dir();
        plugins.cache_dir = plugins.cache_dir();
        let evaluation = self
            .evaluation
            .settings()?
            .with_backend_defaults(backends.iter().map(|b| (b.id.as_str(), &b.defaults)));
        Ok(Config {
            plugins,
            evaluation: (&evaluation).into(),
            sessions: (&self.sessions.settings()?).into(),
            alerts: (&self.alerts.settings()?).into(),
            ..self.clone()
        })
    }
}

/// Every effective value of `loaded`, then the backends' derived settings (which the backends
/// read from the environment variables their manifests name).
pub fn entries(loaded: &Loaded, backends: &[DerivedBackend]) -> Result<Vec<Entry>, String> {
    let effective = loaded.config.effective(backends)?;
    let table = Table::try_from(&effective).map_err(|e| e.to_string())?;
    let mut entries = Vec::new();
    flatten(&table, "", &mut |key, value| {
        let value = if SECRET_KEYS.contains(&key.as_str()) {
            Value::from("<set>")
        } else if let (true, Some(url)) = (URL_KEYS.contains(&key.as_str()), value.as_str()) {
            Value::from(redact_url(url))
        } else {
            value.clone()
        };
        entries.push(Entry {
            source: loaded.layered.source_of(&key),
            key,
            value,
        });
    });
    for backend in backends {
        for (setting, value) in &backend.grant.config {
            let source = backend
                .sources
                .iter()
                .find(|(name, _)| name == setting)
                .map_or(Source::Default, |(_, var)| Source::Env(var.clone()));
            entries.push(Entry {
                key: join(&join("backends", &backend.id), setting),
                value: Value::from(value.as_str()),
                source,
            });
        }
    }
    Ok(entries)
}

/// Calls `leaf` with the dotted path of every value that is not a table (empty tables
/// included, so a map that is empty by default still shows its key).
fn flatten(table: &Table, prefix: &str, leaf: &mut dyn FnMut(String, &Value)) {
    for (key, value) in table {
        let path = join(prefix, key);
        match value {
            Value::Table(inner) if !inner.is_empty() => flatten(inner, &path, leaf),
            _ => leaf(path, value),
        }
    }
}

/// Writes `decision-matrix config show`: the effective configuration as a table (or JSON)
/// to `out`; returns the exit code.
pub fn render(
    loaded: &Loaded,
    backends: &[DerivedBackend],
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    let entries = entries(loaded, backends).map_err(anyhow::Error::msg)?;
    let without_effect: Vec<_> = loaded
        .without_effect
        .iter()
        .map(|(variable, reason)| serde_json::json!({"variable": variable, "reason": reason}))
        .collect();
    if json {
        let document = serde_json::json!({
            "file": loaded.file,
            "values": entries,
            "without_effect": without_effect,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
        return Ok(0);
    }
    match &loaded.file {
        Some(file) => writeln!(out, "configuration file: {}", file.display())?,
        None => writeln!(out, "configuration file: none")?,
    }
    writeln!(out)?;
    write_table(&entries, out)?;
    for (variable, reason) in &loaded.without_effect {
        writeln!(
            out,
            "\nnote: {variable} is set but has no effect here: {reason}"
        )?;
    }
    Ok(0)
}

fn write_table(entries: &[Entry], out: &mut dyn Write) -> std::io::Result<()> {
    let rows: Vec<(&str, String, String)> = entries
        .iter()
        .map(|entry| {
            (
                entry.key.as_str(),
                entry.value.to_string(),
                entry.source.to_string(),
            )
        })
        .collect();
    let key_width = rows.iter().map(|row| row.0.len()).max().unwrap_or(0);
    let value_width = rows
        .iter()
        .map(|row| row.1.len())
        .max()
        .unwrap_or(0)
        .min(48);
    for (key, value, source) in rows {
        writeln!(out, "{key:key_width$}  {value:value_width$}  {source}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;
    use crate::providers::Environment;

    #[test]
    fn every_section_is_listed_with_its_source_and_secrets_are_hidden() {
        let mut overrides = Overrides::default();
        overrides.flag("--auth-token", "server.auth_token", "s3cret-token");
        let env = Environment::from_pairs([
            ("DMM_MAX_RETRIES", "2"),
            ("DMM_PROFILE", "production"),
            ("DMM_STORE", "redis://:p4ssw0rd@127.0.0.1:6379/1"),
            ("DMM_ALERT_SESSION_CAPACITY_PERCENT", "50"),
        ]);
        let loaded = crate::config::Config::resolve_text(&overrides, &env, None).expect("valid");
        let entries = entries(&loaded, &[]).expect("effective");
        let find = |key: &str| {
            entries
                .iter()
                .find(|entry| entry.key == key)
                .unwrap_or_else(|| panic!("{key} listed"))
        };
        assert_eq!(find("evaluation.retry_attempts").value, Value::Integer(2));
        assert_eq!(
            find("evaluation.retry_attempts").source,
            Source::Env("DMM_MAX_RETRIES".into())
        );
        assert_eq!(find("sessions.max_sessions").value, Value::Integer(500));
        assert_eq!(
            find("sessions.max_sessions").source,
            Source::Profile(crate::config::Profile::Production)
        );
        assert_eq!(find("evaluation.batch_size").source, Source::Default);
        assert_eq!(find("limits.max_options_allowed").value, Value::Integer(20));
        assert_eq!(find("server.transport").value, Value::from("stdio"));
        assert_eq!(find("logging.level").value, Value::from("warn"));
        assert_eq!(find("logging.format").value, Value::from("text"));
        assert_eq!(find("logging.log_prompts").value, Value::from(false));
        assert_eq!(find("alerts.queue_depth").value, Value::Integer(50));
        assert_eq!(
            find("alerts.evaluation_p95_seconds").value,
            Value::Float(15.0)
        );
        assert_eq!(
            find("alerts.session_capacity_percent").source,
            Source::Env("DMM_ALERT_SESSION_CAPACITY_PERCENT".into())
        );
        assert_eq!(
            find("alerts.session_capacity_percent").value,
            Value::Float(50.0)
        );
        assert_eq!(
            find("evaluation.requests_per_minute").value,
            Value::Table(Table::new())
        );
        assert_eq!(find("server.auth_token").value, Value::from("<set>"));
        let printed = serde_json::to_string(&entries).expect("serializes");
        assert!(!printed.contains("s3cret-token"));
        assert_eq!(
            find("sessions.store").value,
            Value::from("redis://:***@127.0.0.1:6379/1")
        );
        assert_eq!(
            find("sessions.store").source,
            Source::Env("DMM_STORE".into())
        );
        assert_eq!(find("sessions.store_namespace").value, Value::from("dmm"));
        assert!(!printed.contains("p4ssw0rd"));
    }
}
