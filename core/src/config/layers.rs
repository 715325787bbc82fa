//! Configuration layers merged into one TOML tree, remembering which layer set each value.
//!
//! Every source of configuration (a profile, the file, environment variables, command-line
//! flags) is turned into a TOML table and merged over the ones before it, so precedence is
//! simply the order of merging and one deserializer checks all of them alike. The provenance
//! of each leaf is kept for `decision-matrix config show` and for error messages that say
//! where a bad value came from.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;
use toml::{Table, Value};

use super::{Profile, Stage};

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The built-in default.
    Default,
    /// The reference server's environment profile (`DMM_ENVIRONMENT`).
    Stage(Stage),
    /// A deployment profile.
    Profile(Profile),
    /// The configuration file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// A command-line flag.
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::Stage(stage) => write!(f, "{stage}"),
            Source::Profile(profile) => write!(f, "profile {profile}"),
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Env(name) => write!(f, "env {name}"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

impl Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The merged tree and the source of every value in it.
#[derive(Debug, Clone, Default)]
pub struct Layered {
    tree: Table,
    sources: BTreeMap<String, Source>,
}

impl Layered {
    /// Merges `layer` over what is there: tables merge key by key, anything else replaces.
    pub fn merge(&mut self, layer: Table, source: &Source) {
        merge_into(&mut self.tree, layer, "", source, &mut self.sources);
    }

    /// Sets one value at a dotted `path` (each segment a bare key).
    pub fn set(&mut self, path: &str, value: Value, source: &Source) {
        self.merge(nested(path, value), source);
    }

    /// The merged tree.
    pub fn tree(&self) -> &Table {
        &self.tree
    }

    /// Every value a layer set (defaults are not listed), by path.
    pub fn set_keys(&self) -> impl Iterator<Item = (&String, &Source)> {
        self.sources.iter()
    }

    /// Where the value at `path` (or the nearest table above it that a layer set as a
    /// whole) came from.
    pub fn source_of(&self, path: &str) -> Source {
        let mut path = path;
        loop {
            if let Some(source) = self.sources.get(path) {
                return source.clone();
            }
            match path.rfind('.') {
                Some(dot) => path = &path[..dot],
                None => return Source::Default,
            }
        }
    }
}

/// A table holding `value` at the dotted `path` (each segment a bare key).
pub fn nested(path: &str, value: Value) -> Table {
    let mut segments = path.rsplit('.');
    let leaf = segments.next().unwrap_or(path);
    segments.fold(
        Table::from_iter([(leaf.to_owned(), value)]),
        |inner, segment| Table::from_iter([(segment.to_owned(), Value::Table(inner))]),
    )
}

/// `parent.key`, quoting the key when it is not a bare TOML key.
pub fn join(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

fn merge_into(
    into: &mut Table,
    layer: Table,
    prefix: &str,
    source: &Source,
    sources: &mut BTreeMap<String, Source>,
) {
    for (key, value) in layer {
        let path = join(prefix, &key);
        match (into.get_mut(&key), value) {
            (Some(Value::Table(existing)), Value::Table(table)) => {
                merge_into(existing, table, &path, source, sources);
            }
            (_, Value::Table(table)) => {
                let mut fresh = Table::new();
                merge_into(&mut fresh, table, &path, source, sources);
                into.insert(key, Value::Table(fresh));
            }
            (_, value) => {
                sources.retain(|recorded, _| !is_within(recorded, &path));
                sources.insert(path, source.clone());
                into.insert(key, value);
            }
        }
    }
}

/// Whether `path` is `parent` or lies below it.
fn is_within(path: &str, parent: &str) -> bool {
    path == parent
        || path
            .strip_prefix(parent)
            .is_some_and(|rest| rest.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        toml::from_str(text).expect("valid TOML")
    }

    #[test]
    fn later_layers_win_key_by_key_and_remember_their_source() {
        let mut layered = Layered::default();
        layered.merge(
            table("[sessions]\nmax_sessions = 10\nttl_seconds = 1800"),
            &Source::Profile(Profile::Development),
        );
        layered.merge(
            table("[sessions]\nttl_seconds = 600"),
            &Source::File("a.toml".into()),
        );
        layered.set(
            "sessions.max_sessions",
            Value::Integer(7),
            &Source::Env("DMM_MAX_ACTIVE_SESSIONS".into()),
        );
        let sessions = layered.tree()["sessions"].as_table().expect("table");
        assert_eq!(sessions["max_sessions"].as_integer(), Some(7));
        assert_eq!(sessions["ttl_seconds"].as_integer(), Some(600));
        assert_eq!(
            layered.source_of("sessions.max_sessions").to_string(),
            "env DMM_MAX_ACTIVE_SESSIONS"
        );
        assert_eq!(
            layered.source_of("sessions.ttl_seconds").to_string(),
            "file a.toml"
        );
        assert_eq!(layered.source_of("sessions.when_full"), Source::Default);
    }

    #[test]
    fn inline_tables_merge_and_odd_keys_are_quoted() {
        let mut layered = Layered::default();
        layered.merge(
            table("[evaluation]\nrequests_per_minute = { \"litellm/gpt-4o\" = 500 }"),
            &Source::Flag("--set".into()),
        );
        assert_eq!(
            layered
                .source_of("evaluation.requests_per_minute.\"litellm/gpt-4o\"")
                .to_string(),
            "flag --set"
        );
        assert_eq!(join("a", "b.c"), "a.\"b.c\"");
    }
}
