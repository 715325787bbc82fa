//! `[backend]` in an `llm-backend` plugin's `plugin.toml`: what the host derives for the
//! backend from the environment, and how evaluations treat it.
//!
//! The host keeps no table of backends. Everything it knows about `ollama`, `litellm` or
//! `bedrock` (which variables point it somewhere, which carry its key and model, how long its
//! calls may take, how many may run at once, how it is checked) is written here, in the
//! plugin's own manifest, and a plugin from the plugins directory is read the same way.
//!
//! ```toml
//! [backend]
//! default_model = "acme-large"
//! model_env = ["ACME_MODEL"]           # first one set wins
//! timeout_base_seconds = 45            # base of the computed per-call timeout
//! max_concurrent_calls = 8             # calls in flight to this backend
//! check = "GET /models with the key"   # what `backends check` asks the provider
//!
//! [backend.destination]                # granted, and given to the plugin as `base-url`
//! env = ["ACME_BASE_URL"]
//! default = "https://api.acme.example/v1"
//!
//! [backend.key]                        # sent by the host; the plugin names `api-key-secret`
//! env = ["ACME_API_KEY"]
//! ```
//!
//! The host derives these plugin settings (the `config` import), so `[config]` may not set
//! them: `default-model`; the destination's `setting` (`base-url` unless said otherwise);
//! `timeout-ms` with `[backend.request_timeout]`; `api-key-secret` and `api-key-env` with
//! `[backend.key]`; `auth` and `credentials-secret` with `auth = "aws-sigv4"`; `region` with
//! `[backend.aws]`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ManifestError;
use super::address::AddressForm;
use super::routes::{self, Route, Unprefixed};

/// The setting holding the default model.
pub const MODEL_SETTING: &str = "default-model";
/// The setting holding the plugin's own time limit of one request, in milliseconds.
pub const TIMEOUT_SETTING: &str = "timeout-ms";
/// The setting naming the host secret that holds the key.
pub const KEY_SECRET_SETTING: &str = "api-key-secret";
/// The setting naming the variable the key came from, for the plugin's messages.
pub const KEY_ENV_SETTING: &str = "api-key-env";
/// The setting saying which authentication is in force: `bearer` or `sigv4`.
pub const AUTH_SETTING: &str = "auth";
/// The setting naming the host secret that holds AWS credentials.
pub const CREDENTIALS_SETTING: &str = "credentials-secret";
/// The setting holding the AWS region.
pub const REGION_SETTING: &str = "region";
/// The destination's setting unless `[backend.destination] setting` names another.
pub const DEFAULT_DESTINATION_SETTING: &str = "base-url";

/// `[backend]`. Every key is optional; a backend plugin without the table gets nothing
/// derived, only what the operator grants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendManifest {
    /// Model used when a request names none and no `model_env` variable is set.
    pub default_model: Option<String>,
    /// Variables that set the default model; the first one set wins.
    #[serde(default)]
    pub model_env: Vec<String>,
    /// Base of the computed per-call timeout, in seconds (1 to 600); the host's default
    /// otherwise.
    pub timeout_base_seconds: Option<u32>,
    /// Calls in flight to this backend across the server; the host's default otherwise.
    pub max_concurrent_calls: Option<u32>,
    /// Requests per minute to each of its models; no limit otherwise.
    pub requests_per_minute: Option<u32>,
    /// Whether a session uses this backend when its client names none. Reserved for the
    /// server's own plugins, and only one of them says so.
    #[serde(default)]
    pub session_default: bool,
    /// How requests are authenticated when no `[backend.key]` variable is set.
    #[serde(default)]
    pub auth: Auth,
    /// What `backends check` asks the provider, in one line, shown with the result.
    pub check: Option<String>,
    /// Where requests go.
    pub destination: Option<Destination>,
    /// Where the API key comes from.
    pub key: Option<Key>,
    /// Region and default endpoint of an AWS service.
    pub aws: Option<Aws>,
    /// The plugin's own time limit of one request.
    pub request_timeout: Option<RequestTimeout>,
    /// Further settings taken from variables when they are set (`[config]` holds the value
    /// otherwise), by setting name.
    #[serde(default)]
    pub settings: BTreeMap<String, EnvSetting>,
    /// Where model names go by their prefix (`[[backend.route]]`, see [`routes`]).
    #[serde(default, rename = "route")]
    pub routes: Vec<Route>,
    /// Model names without a prefix that go to a route (`[[backend.unprefixed]]`).
    #[serde(default)]
    pub unprefixed: Vec<Unprefixed>,
}

/// Authentication without a key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    /// Nothing: a local server, or the key is required and missing.
    #[default]
    None,
    /// The host finds AWS credentials with the AWS SDK's default chain and signs each request
    /// with SigV4 (the plugin asks with `aws_sigv4`). Needs `[backend.aws]`.
    AwsSigv4,
}

/// `[backend.destination]`: the one destination the backend is granted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// The setting it is given to the plugin as.
    #[serde(default = "default_destination_setting")]
    pub setting: String,
    /// Variables that set it; the first one set wins.
    #[serde(default)]
    pub env: Vec<String>,
    /// The destination when no variable is set. Required, except with `[backend.aws]`, whose
    /// default is the service's endpoint in the region.
    pub default: Option<String>,
    /// How the variables and the default are written.
    #[serde(default)]
    pub address: AddressForm,
    /// Port of a `host-port` address that names none.
    pub default_port: Option<u16>,
}

fn default_destination_setting() -> String {
    DEFAULT_DESTINATION_SETTING.to_owned()
}

/// `[backend.key]`: an API key the host holds for the plugin, bound to the destination only.
/// The host names the secret `<id>-api-key` and gives that name as `api-key-secret`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    /// Variables that hold the key; the first one set wins. Without one, `auth` applies.
    pub env: Vec<String>,
}

/// `[backend.aws]`: the backend is an AWS service. The region is found as the AWS SDKs find it
/// (`AWS_REGION`, `AWS_DEFAULT_REGION`, the active profile's `region`, else `us-east-1`) and
/// given as `region`; the destination defaults to the service's endpoint in that region, and
/// its variables are ignored when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aws {
    /// The service's endpoint prefix: `bedrock-runtime` for
    /// `https://bedrock-runtime.{region}.amazonaws.com`.
    pub endpoint_prefix: String,
}

/// `[backend.request_timeout]`: the plugin's own time limit of one request, given in
/// milliseconds as `timeout-ms`; set in whole seconds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestTimeout {
    /// Variables that set it, in seconds; the first one set wins.
    #[serde(default)]
    pub env: Vec<String>,
    /// Seconds when no variable is set.
    pub default_seconds: u32,
    /// Smallest value a variable may give.
    pub min_seconds: u32,
    /// Largest value a variable may give.
    pub max_seconds: u32,
}

/// `[backend.settings.<name>]`: a setting taken from a variable when one is set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSetting {
    /// Variables that set it; the first one set wins.
    pub env: Vec<String>,
    /// The values allowed; any value when empty.
    #[serde(default)]
    pub allowed: Vec<String>,
}

/// Longest a request timeout may be, in seconds: as long as a plugin call may take at most.
const MAX_REQUEST_TIMEOUT_SECONDS: u32 = 3600;

impl BackendManifest {
    /// The destination's setting name, when the host derives a destination.
    pub fn destination_setting(&self) -> Option<&str> {
        match (&self.destination, &self.aws) {
            (Some(destination), _) => Some(&destination.setting),
            (None, Some(_)) => Some(DEFAULT_DESTINATION_SETTING),
            (None, None) => None,
        }
    }

    /// The settings the host writes for this backend (some only in some environments).
    pub fn derived_settings(&self) -> Vec<&str> {
        let mut names = Vec::new();
        if self.default_model.is_some() || !self.model_env.is_empty() {
            names.push(MODEL_SETTING);
        }
        names.extend(self.destination_setting());
        if self.request_timeout.is_some() {
            names.push(TIMEOUT_SETTING);
        }
        if self.key.is_some() {
            names.extend([KEY_SECRET_SETTING, KEY_ENV_SETTING]);
        }
        if self.auth == Auth::AwsSigv4 {
            names.extend([AUTH_SETTING, CREDENTIALS_SETTING]);
        }
        if self.aws.is_some() {
            names.push(REGION_SETTING);
        }
        names
    }

    /// Checks the table against itself and against the manifest's `[config]` and `builtin`.
    pub(super) fn validate(
        &self,
        config: &BTreeMap<String, String>,
        builtin: bool,
    ) -> Result<(), ManifestError> {
        let invalid = |message: String| Err(ManifestError::Invalid(message));
        check_variables("backend.model_env", &self.model_env)?;
        if let Some(model) = &self.default_model
            && (model.trim().is_empty() || model.len() > 256 || model.contains('\n'))
        {
            return invalid(format!(
                "backend.default_model = {model:?}: expected a model name of 1 to 256 characters on one line"
            ));
        }
        if let Some(seconds) = self.timeout_base_seconds
            && !(1..=600).contains(&seconds)
        {
            return invalid(format!(
                "backend.timeout_base_seconds = {seconds} is out of range; allowed: 1 to 600"
            ));
        }
        for (key, value) in [
            ("max_concurrent_calls", self.max_concurrent_calls),
            ("requests_per_minute", self.requests_per_minute),
        ] {
            if value == Some(0) {
                return invalid(format!(
                    "backend.{key} = 0 is too small; allowed: at least 1 (leave it out for the host's default)"
                ));
            }
        }
        if self.session_default && !builtin {
            return invalid(
                "backend.session_default is reserved for plugins compiled into decision-matrix"
                    .to_owned(),
            );
        }
        if let Some(check) = &self.check
            && (check.len() > 200 || check.contains('\n'))
        {
            return invalid("backend.check must be one line of at most 200 bytes".to_owned());
        }
        if self.auth == Auth::AwsSigv4 && self.aws.is_none() {
            return invalid(
                "backend.auth = \"aws-sigv4\" needs a [backend.aws] table (the service and region it signs for)"
                    .to_owned(),
            );
        }
        if let Some(destination) = &self.destination {
            destination.validate(self.aws.is_some())?;
        }
        if let Some(key) = &self.key {
            if self.destination_setting().is_none() {
                return invalid(
                    "backend.key needs [backend.destination]: a key is only sent to the destination it is granted for"
                        .to_owned(),
                );
            }
            if key.env.is_empty() {
                return invalid(
                    "backend.key.env is empty; allowed: one or more variable names".to_owned(),
                );
            }
            check_variables("backend.key.env", &key.env)?;
        }
        if let Some(aws) = &self.aws
            && !is_host_prefix(&aws.endpoint_prefix)
        {
            return invalid(format!(
                "backend.aws.endpoint_prefix = {:?}: expected lowercase letters, digits, '-' and '.', such as \"bedrock-runtime\"",
                aws.endpoint_prefix
            ));
        }
        if let Some(timeout) = &self.request_timeout {
            timeout.validate()?;
        }
        for (name, setting) in &self.settings {
            check_setting_name(&format!("backend.settings.{name}"), name)?;
            if setting.env.is_empty() {
                return invalid(format!(
                    "backend.settings.{name}.env is empty; allowed: one or more variable names"
                ));
            }
            check_variables(&format!("backend.settings.{name}.env"), &setting.env)?;
        }
        routes::validate(
            &self.routes,
            &self.unprefixed,
            &self.derived_settings(),
            self.destination.is_some(),
        )?;
        self.check_derived_settings(config)
    }

    /// A derived setting is written by the host alone: not by `[config]`, not twice.
    fn check_derived_settings(
        &self,
        config: &BTreeMap<String, String>,
    ) -> Result<(), ManifestError> {
        let derived = self.derived_settings();
        for (i, name) in derived.iter().enumerate() {
            if derived[..i].contains(name) {
                return Err(ManifestError::Invalid(format!(
                    "backend.destination.setting = {name:?} is a setting the host already derives; allowed: another name"
                )));
            }
            if config.contains_key(*name) {
                return Err(ManifestError::Invalid(format!(
                    "[config] {name} is derived by the host from [backend]; set its default in [backend] instead"
                )));
            }
            if self.settings.contains_key(*name) {
                return Err(ManifestError::Invalid(format!(
                    "backend.settings.{name} is derived by the host from [backend]; allowed: other setting names"
                )));
            }
        }
        Ok(())
    }
}

impl Destination {
    fn validate(&self, aws: bool) -> Result<(), ManifestError> {
        let invalid = |message: String| Err(ManifestError::Invalid(message));
        check_setting_name("backend.destination.setting", &self.setting)?;
        check_variables("backend.destination.env", &self.env)?;
        match (self.address, self.default_port) {
            (AddressForm::HostPort, None) => {
                return invalid(
                    "backend.destination.address = \"host-port\" needs default_port (the port when an address names none)"
                        .to_owned(),
                );
            }
            (AddressForm::Url, Some(_)) => {
                return invalid(
                    "backend.destination.default_port is only for address = \"host-port\"; a URL names its port"
                        .to_owned(),
                );
            }
            _ => {}
        }
        match (&self.default, aws) {
            (Some(_), true) => invalid(
                "backend.destination.default cannot be set with [backend.aws]: the default is the service's endpoint in the region"
                    .to_owned(),
            ),
            (None, false) => invalid(
                "backend.destination.default is missing; allowed: the address used when no variable is set"
                    .to_owned(),
            ),
            (Some(default), false) => self
                .address
                .parse(default, self.default_port.unwrap_or_default())
                .map(drop)
                .map_err(|problem| {
                    ManifestError::Invalid(format!(
                        "backend.destination.default = {default:?}: {problem}"
                    ))
                }),
            (None, true) => Ok(()),
        }
    }
}

impl RequestTimeout {
    fn validate(&self) -> Result<(), ManifestError> {
        check_variables("backend.request_timeout.env", &self.env)?;
        let ordered = 1 <= self.min_seconds
            && self.min_seconds <= self.default_seconds
            && self.default_seconds <= self.max_seconds
            && self.max_seconds <= MAX_REQUEST_TIMEOUT_SECONDS;
        if ordered {
            Ok(())
        } else {
            Err(ManifestError::Invalid(format!(
                "backend.request_timeout: min_seconds = {}, default_seconds = {}, max_seconds = {}; allowed: 1 <= min_seconds <= default_seconds <= max_seconds <= {MAX_REQUEST_TIMEOUT_SECONDS}",
                self.min_seconds, self.default_seconds, self.max_seconds
            )))
        }
    }
}

/// Variable names as shells write them: letters, digits and `_`, not starting with a digit.
pub(super) fn check_variables(key: &str, names: &[String]) -> Result<(), ManifestError> {
    for name in names {
        let valid = name.len() <= 128
            && name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(ManifestError::Invalid(format!(
                "{key}: {name:?} is not an environment variable name; allowed: letters, digits and '_', not starting with a digit"
            )));
        }
    }
    Ok(())
}

/// Setting names as plugins read them: lowercase letters, digits, `-` and `_`.
pub(super) fn check_setting_name(key: &str, name: &str) -> Result<(), ManifestError> {
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ManifestError::Invalid(format!(
            "{key}: {name:?} is not a setting name; allowed: 1 to 64 lowercase letters, digits, '-' and '_'"
        )))
    }
}

/// The first labels of a host name (`bedrock-runtime`, `runtime.sagemaker`): lowercase
/// letters, digits and `-`, dot-separated, no label empty or starting or ending with `-`.
fn is_host_prefix(prefix: &str) -> bool {
    prefix.len() <= 128
        && prefix.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use crate::manifest::Manifest;

    const HEAD: &str = "id = \"acme\"\nversion = \"1.0.0\"\nkind = \"llm-backend\"\n";
    const DESTINATION: &str =
        "[backend.destination]\nenv = [\"ACME_URL\"]\ndefault = \"https://api.acme.example\"\n";

    fn error(body: &str) -> String {
        Manifest::parse(&format!("{HEAD}{body}"))
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn a_full_table_parses() {
        let manifest = Manifest::parse(&format!(
            "{HEAD}[backend]\ndefault_model = \"m\"\ntimeout_base_seconds = 45\n{DESTINATION}\
             [backend.key]\nenv = [\"ACME_KEY\"]\n"
        ))
        .expect("valid");
        let backend = manifest.backend.expect("[backend]");
        assert_eq!(backend.timeout_base_seconds, Some(45));
        assert_eq!(
            backend.derived_settings(),
            ["default-model", "base-url", "api-key-secret", "api-key-env"]
        );
    }

    #[test]
    fn errors_name_the_key_and_what_is_allowed() {
        for (body, expected) in [
            (
                "[backend]\ndefault_modle = \"m\"",
                "unknown field `default_modle`, expected one of",
            ),
            (
                "[backend]\nauth = \"oauth\"",
                "unknown variant `oauth`, expected `none` or `aws-sigv4`",
            ),
            (
                "[backend]\ntimeout_base_seconds = 0",
                "backend.timeout_base_seconds = 0 is out of range; allowed: 1 to 600",
            ),
            (
                "[backend]\nmax_concurrent_calls = 0",
                "backend.max_concurrent_calls = 0 is too small; allowed: at least 1",
            ),
            (
                "[backend]\nmodel_env = [\"ACME-MODEL\"]",
                "backend.model_env: \"ACME-MODEL\" is not an environment variable name; allowed: letters, digits and '_', not starting with a digit",
            ),
            (
                "[backend]\nsession_default = true",
                "backend.session_default is reserved for plugins compiled into decision-matrix",
            ),
            (
                "[backend]\nauth = \"aws-sigv4\"",
                "backend.auth = \"aws-sigv4\" needs a [backend.aws] table",
            ),
            (
                "[backend.key]\nenv = [\"ACME_KEY\"]",
                "backend.key needs [backend.destination]",
            ),
            (
                "[backend.destination]\nenv = [\"ACME_URL\"]",
                "backend.destination.default is missing; allowed: the address used when no variable is set",
            ),
            (
                "[backend.destination]\ndefault = \"api.acme.example\"",
                "backend.destination.default = \"api.acme.example\": not a URL",
            ),
            (
                "[backend.destination]\ndefault = \"http://h\"\naddress = \"host-port\"",
                "backend.destination.address = \"host-port\" needs default_port",
            ),
            (
                "[backend.destination]\ndefault = \"http://h\"\naddress = \"socket\"",
                "unknown variant `socket`, expected `url` or `host-port`",
            ),
            (
                "[backend.aws]\nendpoint_prefix = \"Bedrock\"",
                "backend.aws.endpoint_prefix = \"Bedrock\": expected lowercase letters",
            ),
            (
                "[backend.aws]\nendpoint_prefix = \"x\"\n[backend.destination]\ndefault = \"https://x\"",
                "backend.destination.default cannot be set with [backend.aws]",
            ),
            (
                "[backend.request_timeout]\ndefault_seconds = 5\nmin_seconds = 10\nmax_seconds = 60",
                "backend.request_timeout: min_seconds = 10, default_seconds = 5, max_seconds = 60; allowed: 1 <= min_seconds <= default_seconds <= max_seconds <= 3600",
            ),
            (
                "[backend.settings.Tier]\nenv = [\"ACME_TIER\"]",
                "backend.settings.Tier: \"Tier\" is not a setting name",
            ),
            (
                "[backend.settings.tier]\nenv = []",
                "backend.settings.tier.env is empty; allowed: one or more variable names",
            ),
            (
                "[backend]\ndefault_model = \"m\"\n[config]\ndefault-model = \"n\"",
                "[config] default-model is derived by the host from [backend]; set its default in [backend] instead",
            ),
            (
                "[backend.settings.default-model]\nenv = [\"ACME_MODEL\"]\n[backend]\nmodel_env = [\"M\"]",
                "backend.settings.default-model is derived by the host from [backend]",
            ),
        ] {
            let message = error(body);
            assert!(message.contains(expected), "{body}\n=> {message}");
        }
    }

    #[test]
    fn the_destination_setting_cannot_take_another_derived_name() {
        let message = error(&format!(
            "[backend]\ndefault_model = \"m\"\n{}",
            DESTINATION.replace("env =", "setting = \"default-model\"\nenv =")
        ));
        assert!(
            message.contains("backend.destination.setting = \"default-model\" is a setting the host already derives"),
            "{message}"
        );
    }

    #[test]
    fn a_scoring_plugin_has_no_backend_table() {
        let text =
            "id = \"s\"\nversion = \"1.0.0\"\nkind = \"scoring\"\n[backend]\ndefault_model = \"m\"";
        let message = Manifest::parse(text).expect_err("refused").to_string();
        assert!(
            message.contains("[backend] is only for kind = \"llm-backend\""),
            "{message}"
        );
    }
}
