//! Session store URLs (`sessions.store`, `DMM_STORE`): which backend and where, and how to
//! show them without secrets. Read here, beside the configuration that checks them, and used
//! by the store crate to open the store.
//!
//! A Redis URL may carry a password (`redis://:secret@host/`). It must never reach a log
//! line, an error message or a `Debug` print, so everything shown to people goes through
//! [`redact_url`], and backend error texts through [`Secret::scrub`].

use std::path::{Path, PathBuf};

/// Why a store URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// The URL could not be understood.
    #[error("session store URL {url:?} is not valid: {reason}")]
    Invalid {
        /// The URL as given, without user information.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The bare URL `sqlite` was given where no default database file is known.
    #[error(
        "the URL \"sqlite\" needs a default database file and none was configured; give a \
         path, as in \"sqlite:///var/lib/dmm/sessions.db\""
    )]
    NoDefaultSqlite,
}

/// Which backend a URL names, and where.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// In this process only.
    Memory,
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A Redis server. `url` is the URL as given (with any password); `shown` is it without
    /// user information.
    Redis {
        /// The URL to connect with.
        url: String,
        /// The URL to show.
        shown: String,
        /// The password, if any, to scrub from error texts.
        secret: Secret,
    },
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Memory => f.write_str("Memory"),
            Location::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Location::Redis { shown, .. } => f.debug_tuple("Redis").field(shown).finish(),
        }
    }
}

/// Parses a store URL. `default_sqlite` is the file for the bare URL `sqlite`.
pub fn parse(url: &str, default_sqlite: Option<&Path>) -> Result<Location, UrlError> {
    let trimmed = url.trim();
    let invalid = |reason: &str| UrlError::Invalid {
        url: redact_url(trimmed),
        reason: reason.to_owned(),
    };
    let (scheme, rest) = match trimmed.split_once(':') {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), Some(rest)),
        None => (trimmed.to_ascii_lowercase(), None),
    };
    match (scheme.as_str(), rest) {
        ("memory", None | Some("")) => Ok(Location::Memory),
        ("sqlite", None | Some("")) => match default_sqlite {
            Some(path) => Ok(Location::Sqlite(path.to_path_buf())),
            None => Err(UrlError::NoDefaultSqlite),
        },
        ("sqlite", Some(rest)) => sqlite_path(rest).map(Location::Sqlite).map_err(invalid),
        ("redis" | "rediss", Some(rest)) if rest.starts_with("//") => {
            let parsed = ::url::Url::parse(trimmed).map_err(|error| invalid(&error.to_string()))?;
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err(invalid("it names no host"));
            }
            let secret = Secret(
                parsed
                    .password()
                    .filter(|password| !password.is_empty())
                    .map(str::to_owned),
            );
            Ok(Location::Redis {
                url: trimmed.to_owned(),
                shown: redact_url(trimmed),
                secret,
            })
        }
        ("redis" | "rediss", _) => Err(invalid("a Redis URL starts with redis:// or rediss://")),
        _ => Err(invalid("unknown kind of store")),
    }
}

/// The path of `sqlite:REST`: `///abs` is absolute, anything else without `//` is taken as a
/// path as written (relative to the working directory unless it starts with `/`).
fn sqlite_path(rest: &str) -> Result<PathBuf, &'static str> {
    let path = match rest.strip_prefix("//") {
        Some(after) if after.starts_with('/') => after,
        Some(_) => return Err("write sqlite:///absolute/path.db or sqlite:relative/path.db"),
        None => rest,
    };
    if path.is_empty() || path == "/" {
        return Err("it names no file");
    }
    if path.contains('?') {
        return Err("query parameters are not supported in SQLite URLs");
    }
    Ok(PathBuf::from(path))
}

/// `url` with any user information (name, password) replaced by `***`; text that is not a
/// URL is returned as it is, unless it has an `@` in it, which is cut off before it.
pub fn redact_url(url: &str) -> String {
    match ::url::Url::parse(url) {
        Ok(mut parsed) if parsed.has_host() => {
            if !parsed.username().is_empty() || parsed.password().is_some() {
                // Setting these only fails on URLs without a host, excluded above.
                let _ = parsed.set_username("");
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        _ => match url.rfind('@') {
            Some(at) => match url.find("//") {
                Some(slashes) if slashes < at => {
                    format!("{}***@{}", &url[..slashes + 2], &url[at + 1..])
                }
                _ => format!("***@{}", &url[at + 1..]),
            },
            None => url.to_owned(),
        },
    }
}

/// A password to keep out of every message.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Option<String>);

impl Secret {
    /// `text` with every occurrence of the password (as written and percent-decoded)
    /// replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let Some(secret) = &self.0 else {
            return text.to_owned();
        };
        let mut scrubbed = text.replace(secret.as_str(), "***");
        if let Ok(decoded) = percent_decode(secret)
            && !decoded.is_empty()
        {
            scrubbed = scrubbed.replace(decoded.as_str(), "***");
        }
        scrubbed
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Secret(***)"
        } else {
            "Secret(none)"
        })
    }
}

/// `text` with `%XX` escapes decoded, when the result is UTF-8.
fn percent_decode(text: &str) -> Result<String, ()> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).map_err(|_| ())?;
            decoded.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_paths() {
        assert_eq!(parse("memory", None).expect("memory"), Location::Memory);
        assert_eq!(
            parse("sqlite:///var/lib/x.db", None).expect("absolute"),
            Location::Sqlite(PathBuf::from("/var/lib/x.db"))
        );
        assert_eq!(
            parse("sqlite:data/x.db", None).expect("relative"),
            Location::Sqlite(PathBuf::from("data/x.db"))
        );
        assert_eq!(
            parse("sqlite", Some(Path::new("/d/s.db"))).expect("default"),
            Location::Sqlite(PathBuf::from("/d/s.db"))
        );
        assert!(matches!(
            parse("sqlite", None),
            Err(UrlError::NoDefaultSqlite)
        ));
        assert!(matches!(
            parse("sqlite://host/x.db", None),
            Err(UrlError::Invalid { .. })
        ));
        assert!(matches!(
            parse("postgres://u:pw@h/db", None),
            Err(UrlError::Invalid { url, .. }) if !url.contains("pw")
        ));
        assert!(matches!(
            parse("redis://127.0.0.1:6379/2", None),
            Ok(Location::Redis { .. })
        ));
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact_url("redis://user:hunter2@example.com:6380/1"),
            "redis://:***@example.com:6380/1"
        );
        assert_eq!(redact_url("redis://example.com/"), "redis://example.com/");
        assert_eq!(redact_url("rediss://:p%40ss@h/"), "rediss://:***@h/");
        assert_eq!(redact_url("weird//x:pw@y z"), "weird//***@y z");
        let Ok(Location::Redis { secret, shown, .. }) = parse("redis://:p%40ss@h:1/", None) else {
            panic!("a Redis URL");
        };
        assert!(!shown.contains("p%40ss"));
        assert_eq!(
            secret.scrub("auth p@ss failed, p%40ss"),
            "auth *** failed, ***"
        );
        assert!(!format!("{secret:?}").contains("ss"));
    }
}
