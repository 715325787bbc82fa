//! The `bedrock` backend's destination and credentials, resolved as the AWS SDKs resolve them.
//!
//! - Region: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the active profile's `region`
//!   (`AWS_PROFILE`, else `default`, in `AWS_CONFIG_FILE` or `~/.aws/config`), else
//!   `us-east-1`.
//! - Endpoint: `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, then `AWS_ENDPOINT_URL` (both ignored when
//!   `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), else
//!   `https://bedrock-runtime.{region}.amazonaws.com` (`.amazonaws.com.cn` in China regions).
//! - Credentials: a Bedrock API key in `AWS_BEARER_TOKEN_BEDROCK` (sent as a bearer token),
//!   else the AWS credential chain (environment keys, shared files with `AWS_PROFILE`, SSO, web
//!   identity, container and instance metadata), used by the host to sign with SigV4.

use std::collections::BTreeMap;
use std::path::PathBuf;

use aws_config::meta::region::ProvideRegion;
use aws_config::profile::ProfileFileRegionProvider;
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};

use crate::plugins::grants::SecretSource;

use super::{
    BuiltinBackend, Environment, ProviderError, base_url_setting, grant_for, parse_base_url,
    timeout_ms,
};

const DEFAULT_REGION: &str = "us-east-1";
/// The reference server's default model (`BEDROCK_MODEL_ID`).
pub const DEFAULT_MODEL: &str = "anthropic.claude-3-sonnet-20240229-v1:0";
/// The host secret holding AWS credentials (the credential chain).
pub const CREDENTIALS_SECRET: &str = "aws";
/// The host secret holding a Bedrock API key.
pub const API_KEY_SECRET: &str = "bedrock-api-key";
const API_KEY_VAR: &str = "AWS_BEARER_TOKEN_BEDROCK";
const ENDPOINT_VARS: &[&str] = &["AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL"];

/// The region of the active AWS profile, read from the shared config file the way the AWS SDK
/// reads it (following `source_profile`). `None` when there is no such file, profile or region.
pub async fn profile_region(env: &Environment) -> Option<String> {
    let path = match env.get("AWS_CONFIG_FILE") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env.get("HOME")?).join(".aws").join("config"),
    };
    // Most machines have no AWS config at all; the SDK would log a warning for the missing
    // file on every start.
    if !path.is_file() {
        return None;
    }
    let files = EnvConfigFiles::builder()
        .with_file(EnvConfigFileKind::Config, path)
        .build();
    let provider = ProfileFileRegionProvider::builder()
        .profile_files(files)
        .profile_name(env.get("AWS_PROFILE").unwrap_or("default"))
        .build();
    provider.region().await.map(|region| region.to_string())
}

/// The backend's grant, credentials and settings.
pub(super) fn derive(
    env: &Environment,
    profile_region: Option<String>,
) -> Result<BuiltinBackend, ProviderError> {
    let mut sources = Vec::new();
    let region = match env.first(&["AWS_REGION", "AWS_DEFAULT_REGION"]) {
        Some((var, region)) => {
            sources.push(("region".to_owned(), var.to_owned()));
            check_region(var, region)?;
            region.to_owned()
        }
        None => match profile_region {
            Some(region) => {
                sources.push(("region".to_owned(), "AWS profile".to_owned()));
                check_region("region in the AWS profile", &region)?;
                region
            }
            None => DEFAULT_REGION.to_owned(),
        },
    };
    let ignore_endpoints = env
        .get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let default_endpoint = default_endpoint(&region);
    let (endpoint_var, endpoint) = match env.first(ENDPOINT_VARS).filter(|_| !ignore_endpoints) {
        Some((var, value)) => {
            sources.push(("endpoint".to_owned(), var.to_owned()));
            (var, value)
        }
        None => ("AWS_REGION", default_endpoint.as_str()),
    };
    let url = parse_base_url(endpoint_var, endpoint)?;

    let mut config = BTreeMap::from([
        ("region".to_owned(), region.clone()),
        ("endpoint".to_owned(), base_url_setting(&url)),
    ]);
    let model = match env.first(&["BEDROCK_MODEL_ID", "DMM_BEDROCK_MODEL"]) {
        Some((var, model)) => {
            sources.push(("default-model".into(), var.into()));
            model
        }
        None => DEFAULT_MODEL,
    };
    config.insert("default-model".into(), model.to_owned());
    let (timeout, source) = timeout_ms(env, "DMM_BEDROCK_TIMEOUT_SECONDS", 30, 5..=300)?;
    config.insert("timeout-ms".into(), timeout);
    sources.extend(source);
    if let Some(mode) = env.get("DMM_BEDROCK_STRUCTURED_OUTPUT") {
        if !matches!(mode, "auto" | "always" | "never") {
            return Err(ProviderError::new(
                "DMM_BEDROCK_STRUCTURED_OUTPUT",
                mode,
                "expected auto, always or never",
            ));
        }
        config.insert("structured-output".into(), mode.to_owned());
        sources.push((
            "structured-output".into(),
            "DMM_BEDROCK_STRUCTURED_OUTPUT".into(),
        ));
    }

    let (secret, source) = if env.get(API_KEY_VAR).is_some() {
        config.insert("auth".into(), "bearer".into());
        config.insert("api-key-secret".into(), API_KEY_SECRET.into());
        config.insert("api-key-env".into(), API_KEY_VAR.into());
        sources.push(("auth".into(), API_KEY_VAR.into()));
        (
            API_KEY_SECRET,
            SecretSource::Env {
                env: API_KEY_VAR.to_owned(),
            },
        )
    } else {
        config.insert("auth".into(), "sigv4".into());
        config.insert("credentials-secret".into(), CREDENTIALS_SECRET.into());
        (CREDENTIALS_SECRET, SecretSource::Aws { profile: None })
    };
    Ok(BuiltinBackend {
        id: "bedrock",
        grant: grant_for(endpoint_var, &url, Some(secret), config)?,
        secrets: BTreeMap::from([(secret.to_owned(), source)]),
        sources,
    })
}

/// The public Bedrock Runtime endpoint of `region`.
fn default_endpoint(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://bedrock-runtime.{region}.{suffix}")
}

/// Regions are lower-case letters, digits and dashes (`us-east-1`, `us-gov-west-1`); anything
/// else would produce a signature AWS rejects with a far less helpful message.
fn check_region(var: &str, region: &str) -> Result<(), ProviderError> {
    let valid = region.len() <= 32
        && region.contains('-')
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(ProviderError::new(
            var,
            region,
            "expected an AWS region such as us-east-1",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_sign_for_us_east_1() {
        let backend = derive(&Environment::default(), None).unwrap();
        let config = &backend.grant.config;
        assert_eq!(config["region"], "us-east-1");
        assert_eq!(
            config["endpoint"],
            "https://bedrock-runtime.us-east-1.amazonaws.com"
        );
        assert_eq!(config["auth"], "sigv4");
        assert_eq!(config["default-model"], DEFAULT_MODEL);
        assert_eq!(
            backend.secrets[CREDENTIALS_SECRET],
            SecretSource::Aws { profile: None }
        );
        assert_eq!(
            backend.grant.secrets[CREDENTIALS_SECRET][0].to_string(),
            "https://bedrock-runtime.us-east-1.amazonaws.com"
        );
        assert!(!backend.grant.allow_private);
    }

    #[test]
    fn region_precedence_env_then_profile() {
        let env = Environment::from_pairs([("AWS_DEFAULT_REGION", "eu-west-1")]);
        let backend = derive(&env, Some("ap-south-1".into())).unwrap();
        assert_eq!(backend.grant.config["region"], "eu-west-1");
        let env = Environment::from_pairs([
            ("AWS_REGION", "us-west-2"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
        ]);
        assert_eq!(
            derive(&env, None).unwrap().grant.config["region"],
            "us-west-2"
        );
        let backend = derive(&Environment::default(), Some("ap-south-1".into())).unwrap();
        assert_eq!(
            backend.grant.config["endpoint"],
            "https://bedrock-runtime.ap-south-1.amazonaws.com"
        );
        let backend = derive(
            &Environment::from_pairs([("AWS_REGION", "cn-north-1")]),
            None,
        )
        .unwrap();
        assert_eq!(
            backend.grant.config["endpoint"],
            "https://bedrock-runtime.cn-north-1.amazonaws.com.cn"
        );
        assert!(derive(&Environment::from_pairs([("AWS_REGION", "US East")]), None).is_err());
    }

    #[test]
    fn endpoint_overrides_as_the_sdks_do() {
        let env = Environment::from_pairs([
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:9100/"),
        ]);
        let backend = derive(&env, None).unwrap();
        assert_eq!(backend.grant.config["endpoint"], "http://127.0.0.1:9100");
        assert!(backend.grant.allow_private);
        let env = Environment::from_pairs([("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")]);
        assert_eq!(
            derive(&env, None).unwrap().grant.config["endpoint"],
            "http://127.0.0.1:9000"
        );
        let env = Environment::from_pairs([
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]);
        assert_eq!(
            derive(&env, None).unwrap().grant.config["endpoint"],
            "https://bedrock-runtime.us-east-1.amazonaws.com"
        );
    }

    #[test]
    fn bedrock_api_key_switches_to_bearer() {
        let env = Environment::from_pairs([(API_KEY_VAR, "bedrock-key-value")]);
        let backend = derive(&env, None).unwrap();
        assert_eq!(backend.grant.config["auth"], "bearer");
        assert_eq!(
            backend.secrets[API_KEY_SECRET],
            SecretSource::Env {
                env: API_KEY_VAR.into()
            }
        );
        assert!(!format!("{backend:?}").contains("bedrock-key-value"));
    }

    #[tokio::test]
    async fn profile_region_follows_aws_profile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "[default]\nregion = eu-north-1\n[profile work]\nregion = ap-southeast-2\n",
        )
        .unwrap();
        let file = path.to_str().unwrap();
        let env = Environment::from_pairs([("AWS_CONFIG_FILE", file)]);
        assert_eq!(profile_region(&env).await.as_deref(), Some("eu-north-1"));
        let env = Environment::from_pairs([("AWS_CONFIG_FILE", file), ("AWS_PROFILE", "work")]);
        assert_eq!(
            profile_region(&env).await.as_deref(),
            Some("ap-southeast-2")
        );
        let env = Environment::from_pairs([("AWS_CONFIG_FILE", file), ("AWS_PROFILE", "none")]);
        assert_eq!(profile_region(&env).await, None);
    }
}
