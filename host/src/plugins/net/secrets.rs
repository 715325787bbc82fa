//! Secret values, resolved lazily and held where no plugin can reach them.
//!
//! Values are read on first use, not at start-up: a server with ten configured backends should
//! not fail to start (or hit the AWS credential chain's network look-ups) because the one
//! backend nobody uses today has no key. A failed read is not cached, so fixing the
//! environment or the file takes effect on the next request.
//!
//! Values live in [`SecretString`]s, whose `Debug` prints a placeholder, and no error produced
//! here contains a value: errors name the secret and its source only.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

use crate::plugins::grants::{SecretSource, toml_key};

/// Credentials closer than this to their expiry are refreshed before signing, so a request
/// that is slow to reach AWS still carries valid credentials.
const AWS_REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// How long credentials without an expiry (static keys from the environment or a profile) are
/// reused before the chain is asked again, so edited credential files are picked up without a
/// restart. The AWS SDK's own identity cache uses the same period.
const AWS_NO_EXPIRY_REUSE: Duration = Duration::from_secs(15 * 60);

/// The host's secrets, by name. Shared by every plugin; each plugin's grant decides which
/// names it may use and where.
pub struct SecretStore {
    entries: BTreeMap<String, Entry>,
}

/// What a secret holds, which decides which kinds of `auth` may use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretKind {
    /// A single string, for `bearer` and `header` auth.
    Value,
    /// AWS credentials, for `aws-sigv4` auth.
    Aws,
}

enum Entry {
    Value {
        /// `None` for values given literally, which cannot be re-read.
        source: Option<SecretSource>,
        value: OnceCell<SecretString>,
    },
    Aws(AwsEntry),
}

struct AwsEntry {
    /// `None` for fixed credentials given literally.
    profile: Option<Option<String>>,
    provider: OnceCell<SharedCredentialsProvider>,
    /// The credentials last handed out and when they were fetched: the cache, and what
    /// scrubbing looks for.
    current: Mutex<Option<(Credentials, Instant)>>,
    /// One refresh at a time, so a burst of requests makes one trip to the credential chain.
    refreshing: tokio::sync::Mutex<()>,
}

/// A secret could not be used. The message names the secret and where it comes from, never
/// its value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No `[secrets.<name>]` entry.
    #[error("secret '{name}' is not defined; add a [secrets.{}] table with env, file or aws", toml_key(.name))]
    Undefined {
        /// Secret name.
        name: String,
    },
    /// The environment variable the secret comes from is not set.
    #[error("secret '{name}' comes from environment variable {var}, which is not set")]
    EnvNotSet {
        /// Secret name.
        name: String,
        /// Variable name.
        var: String,
    },
    /// The environment variable is set but is not valid Unicode.
    #[error("secret '{name}' comes from environment variable {var}, which is not valid Unicode")]
    EnvNotUnicode {
        /// Secret name.
        name: String,
        /// Variable name.
        var: String,
    },
    /// The file the secret comes from could not be read.
    #[error("secret '{name}' comes from file {path}, which could not be read: {kind}")]
    FileUnreadable {
        /// Secret name.
        name: String,
        /// File path, as configured.
        path: String,
        /// What went wrong, without the file's contents.
        kind: std::io::ErrorKind,
    },
    /// The source exists but holds nothing after trimming.
    #[error("secret '{name}' comes from {source_desc}, which is empty")]
    Empty {
        /// Secret name.
        name: String,
        /// Where the value was read.
        source_desc: String,
    },
    /// The secret is of the wrong kind for the requested authentication.
    #[error("secret '{name}' {holds}; {usable}")]
    WrongKind {
        /// Secret name.
        name: String,
        /// What the secret holds.
        holds: &'static str,
        /// Which auth it can be used with.
        usable: &'static str,
    },
    /// The AWS credential chain did not produce credentials.
    #[error("secret '{name}' comes from {source_desc}, which gave no credentials: {message}")]
    Aws {
        /// Secret name.
        name: String,
        /// Which chain and profile.
        source_desc: String,
        /// The chain's explanation.
        message: String,
    },
}

impl SecretStore {
    /// A store that reads each secret from its configured source on first use.
    pub fn new(sources: BTreeMap<String, SecretSource>) -> Self {
        let entries = sources
            .into_iter()
            .map(|(name, source)| {
                let entry = match source {
                    SecretSource::Aws { profile } => Entry::Aws(AwsEntry::new(Some(profile), None)),
                    source => Entry::Value {
                        source: Some(source),
                        value: OnceCell::new(),
                    },
                };
                (name, entry)
            })
            .collect();
        Self { entries }
    }

    /// A store holding literal values. Meant for tests and for embedding the host in another
    /// program that manages its own secrets; the configuration file never produces one.
    pub fn from_values<I, K>(values: I) -> Self
    where
        I: IntoIterator<Item = (K, SecretString)>,
        K: Into<String>,
    {
        let entries = values
            .into_iter()
            .map(|(name, value)| {
                let entry = Entry::Value {
                    source: None,
                    value: OnceCell::new_with(Some(value)),
                };
                (name.into(), entry)
            })
            .collect();
        Self { entries }
    }

    /// Adds (or replaces) a secret holding fixed AWS credentials, for `aws-sigv4` auth without
    /// the AWS credential chain. Like [`SecretStore::from_values`], for tests and embedding.
    pub fn with_aws_credentials(
        mut self,
        name: impl Into<String>,
        credentials: Credentials,
    ) -> Self {
        self.entries.insert(
            name.into(),
            Entry::Aws(AwsEntry::new(None, Some(credentials))),
        );
        self
    }

    /// Whether a secret of this name is defined.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// Checks, without resolving anything, that `name` is defined and holds `wanted`.
    pub(crate) fn check_kind(&self, name: &str, wanted: SecretKind) -> Result<(), SecretError> {
        let holds = match self.entries.get(name) {
            None => return Err(SecretError::Undefined { name: name.into() }),
            Some(Entry::Value { .. }) => SecretKind::Value,
            Some(Entry::Aws(_)) => SecretKind::Aws,
        };
        match (holds, wanted) {
            _ if holds == wanted => Ok(()),
            (SecretKind::Aws, _) => Err(SecretError::WrongKind {
                name: name.into(),
                holds: "holds AWS credentials",
                usable: "it can only be used with aws-sigv4 auth",
            }),
            (SecretKind::Value, _) => Err(SecretError::WrongKind {
                name: name.into(),
                holds: "is a single value, not AWS credentials",
                usable: "use bearer or header auth, or define it with aws = true for aws-sigv4",
            }),
        }
    }

    /// The value of a string secret, reading it from its source the first time.
    pub(crate) async fn value(&self, name: &str) -> Result<&SecretString, SecretError> {
        self.check_kind(name, SecretKind::Value)?;
        let Some(Entry::Value { source, value }) = self.entries.get(name) else {
            unreachable!("check_kind guarantees a value entry");
        };
        value
            .get_or_try_init(|| async {
                match source {
                    Some(source) => read_source(name, source),
                    // Literal values are initialised at construction.
                    None => Err(SecretError::Undefined { name: name.into() }),
                }
            })
            .await
    }

    /// Current AWS credentials of an `aws = true` secret, loading the credential chain the
    /// first time and refreshing credentials that are about to expire.
    pub(crate) async fn aws_credentials(&self, name: &str) -> Result<Credentials, SecretError> {
        self.check_kind(name, SecretKind::Aws)?;
        let Some(Entry::Aws(entry)) = self.entries.get(name) else {
            unreachable!("check_kind guarantees an AWS entry");
        };
        entry.credentials(name).await
    }

    /// Calls `visit` with each value of `name` that has already been resolved. Never resolves:
    /// scrubbing must not be what triggers a read of a secret the plugin never used.
    pub(crate) fn visit_resolved(&self, name: &str, mut visit: impl FnMut(&str)) {
        match self.entries.get(name) {
            Some(Entry::Value { value, .. }) => {
                if let Some(value) = value.get() {
                    visit(value.expose_secret());
                }
            }
            Some(Entry::Aws(entry)) => {
                let current = entry.current.lock();
                if let Some((credentials, _)) = current.as_ref() {
                    visit(credentials.secret_access_key());
                    if let Some(token) = credentials.session_token() {
                        visit(token);
                    }
                }
            }
            None => {}
        }
    }
}

impl Default for SecretStore {
    /// A store with no secrets.
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
        }
    }
}

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, entry) in &self.entries {
            let shown = match entry {
                Entry::Value {
                    source: Some(source),
                    ..
                } => source.to_string(),
                Entry::Value { source: None, .. } => "literal value".to_owned(),
                Entry::Aws(AwsEntry { profile: None, .. }) => "fixed AWS credentials".to_owned(),
                Entry::Aws(AwsEntry {
                    profile: Some(profile),
                    ..
                }) => SecretSource::Aws {
                    profile: profile.clone(),
                }
                .to_string(),
            };
            map.entry(name, &shown);
        }
        map.finish()
    }
}

fn read_source(name: &str, source: &SecretSource) -> Result<SecretString, SecretError> {
    let raw = match source {
        SecretSource::Env { env: var } => match std::env::var(var) {
            Ok(value) => value,
            Err(std::env::VarError::NotPresent) => {
                return Err(SecretError::EnvNotSet {
                    name: name.into(),
                    var: var.clone(),
                });
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(SecretError::EnvNotUnicode {
                    name: name.into(),
                    var: var.clone(),
                });
            }
        },
        // A secret file is a few bytes on local disk; a blocking read is cheaper than a
        // thread hop and happens once per secret.
        SecretSource::File { file: path } => {
            std::fs::read_to_string(path).map_err(|e| SecretError::FileUnreadable {
                name: name.into(),
                path: path.display().to_string(),
                kind: e.kind(),
            })?
        }
        SecretSource::Aws { .. } => unreachable!("AWS secrets are not string values"),
    };
    // Files nearly always end in a newline, and a pasted key often carries spaces.
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(SecretError::Empty {
            name: name.into(),
            source_desc: source.to_string(),
        });
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

impl AwsEntry {
    fn new(profile: Option<Option<String>>, fixed: Option<Credentials>) -> Self {
        Self {
            profile,
            provider: OnceCell::new(),
            current: Mutex::new(fixed.map(|credentials| (credentials, Instant::now()))),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self) -> Option<Credentials> {
        let current = self.current.lock();
        let (credentials, fetched) = current.as_ref()?;
        let fresh = match credentials.expiry() {
            // Fixed credentials have nothing to be refreshed from.
            _ if self.profile.is_none() => true,
            None => fetched.elapsed() < AWS_NO_EXPIRY_REUSE,
            Some(expiry) => expiry > SystemTime::now() + AWS_REFRESH_MARGIN,
        };
        fresh.then(|| credentials.clone())
    }

    async fn credentials(&self, name: &str) -> Result<Credentials, SecretError> {
        if let Some(credentials) = self.fresh() {
            return Ok(credentials);
        }
        let Some(profile) = &self.profile else {
            // Fixed credentials are always fresh, so this store has none at all.
            return Err(SecretError::Undefined { name: name.into() });
        };
        let _refreshing = self.refreshing.lock().await;
        if let Some(credentials) = self.fresh() {
            return Ok(credentials);
        }
        let provider = self
            .provider
            .get_or_init(|| async {
                let mut chain =
                    aws_config::default_provider::credentials::DefaultCredentialsChain::builder();
                if let Some(profile) = profile {
                    chain = chain.profile_name(profile);
                }
                SharedCredentialsProvider::new(chain.build().await)
            })
            .await;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| SecretError::Aws {
                name: name.into(),
                source_desc: SecretSource::Aws {
                    profile: profile.clone(),
                }
                .to_string(),
                message: error_chain(&e),
            })?;
        *self.current.lock() = Some((credentials.clone(), Instant::now()));
        Ok(credentials)
    }
}

/// `error: cause: cause`, the way the AWS SDK's errors are useful to read.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    const UNSET_VAR: &str = "DMX_TEST_SECRET_THAT_IS_NEVER_SET_7C1E";

    #[tokio::test]
    async fn unset_env_var_names_secret_and_variable() {
        assert!(std::env::var_os(UNSET_VAR).is_none());
        let store = SecretStore::new(BTreeMap::from([(
            "openai".to_owned(),
            SecretSource::Env {
                env: UNSET_VAR.to_owned(),
            },
        )]));
        let err = store.value("openai").await.unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "secret 'openai' comes from environment variable {UNSET_VAR}, which is not set"
            )
        );
    }

    #[tokio::test]
    async fn file_values_are_trimmed_and_read_once() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "  sk-file-value  ").unwrap();
        let store = SecretStore::new(BTreeMap::from([(
            "token".to_owned(),
            SecretSource::File {
                file: file.path().to_owned(),
            },
        )]));
        let mut seen = Vec::new();
        store.visit_resolved("token", |v| seen.push(v.to_owned()));
        assert!(seen.is_empty(), "nothing is read before first use");
        assert_eq!(
            store.value("token").await.unwrap().expose_secret(),
            "sk-file-value"
        );
        // Reading once means a changed file does not change the value in use.
        std::fs::write(file.path(), "other").unwrap();
        assert_eq!(
            store.value("token").await.unwrap().expose_secret(),
            "sk-file-value"
        );
        store.visit_resolved("token", |v| seen.push(v.to_owned()));
        assert_eq!(seen, ["sk-file-value"]);
    }

    #[tokio::test]
    async fn missing_and_empty_files_are_reported_without_contents() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n").unwrap();
        let store = SecretStore::new(BTreeMap::from([
            (
                "a".to_owned(),
                SecretSource::File {
                    file: missing.clone(),
                },
            ),
            (
                "b".to_owned(),
                SecretSource::File {
                    file: empty.clone(),
                },
            ),
        ]));
        let err = store.value("a").await.unwrap_err().to_string();
        assert!(
            err.contains("secret 'a'") && err.contains(&missing.display().to_string()),
            "{err}"
        );
        assert!(err.contains("not found"), "{err}");
        let err = store.value("b").await.unwrap_err().to_string();
        assert!(err.contains("secret 'b'") && err.contains("empty"), "{err}");
        // A fixed file is picked up by the next request.
        std::fs::write(&missing, "now-here").unwrap();
        assert_eq!(store.value("a").await.unwrap().expose_secret(), "now-here");
    }

    #[tokio::test]
    async fn kinds_are_enforced() {
        let store = SecretStore::from_values([("key", SecretString::from("v"))])
            .with_aws_credentials("aws", Credentials::for_tests());
        store.check_kind("key", SecretKind::Value).unwrap();
        store.check_kind("aws", SecretKind::Aws).unwrap();
        assert!(matches!(
            store.check_kind("nope", SecretKind::Value),
            Err(SecretError::Undefined { .. })
        ));
        assert!(matches!(
            store.value("aws").await,
            Err(SecretError::WrongKind { .. })
        ));
        assert!(matches!(
            store.aws_credentials("key").await,
            Err(SecretError::WrongKind { .. })
        ));
        assert!(matches!(
            store.value("nope").await,
            Err(SecretError::Undefined { .. })
        ));
        let credentials = store.aws_credentials("aws").await.unwrap();
        assert_eq!(
            credentials.access_key_id(),
            Credentials::for_tests().access_key_id()
        );
    }

    #[test]
    fn debug_shows_sources_not_values() {
        let store = SecretStore::from_values([("key", SecretString::from("sk-very-secret"))])
            .with_aws_credentials(
                "aws",
                Credentials::new(
                    "AKIDTEST",
                    "aws-secret-key",
                    Some("tok".into()),
                    None,
                    "test",
                ),
            );
        let printed = format!("{store:?}");
        assert!(!printed.contains("sk-very-secret") && !printed.contains("aws-secret-key"));
        assert!(printed.contains("literal value") && printed.contains("fixed AWS credentials"));
    }
}
