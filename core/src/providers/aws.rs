//! An AWS service's region and default endpoint (`[backend.aws]`), found as the AWS SDKs find
//! them.
//!
//! - Region: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the active profile's `region`
//!   (`AWS_PROFILE`, else `default`, in `AWS_CONFIG_FILE` or `~/.aws/config`; the host reads
//!   that file and passes the region in), else `us-east-1`.
//! - Endpoint: the destination's variables (for Bedrock `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`,
//!   then `AWS_ENDPOINT_URL`), all ignored when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`;
//!   else `https://{endpoint prefix}.{region}.amazonaws.com` (`.amazonaws.com.cn` in China
//!   regions).
//!
//! Credentials are not read here: `auth = "aws-sigv4"` binds the host secret
//! [`CREDENTIALS_SECRET`], which the host resolves with the AWS credential chain (environment
//! keys, shared files with `AWS_PROFILE`, SSO, web identity, container and instance metadata)
//! when it first signs a request.

use super::{Environment, ProviderError};

/// The variables that name the region, in precedence order.
pub const REGION_VARS: &[&str] = &["AWS_REGION", "AWS_DEFAULT_REGION"];
/// The region when nothing names one, as for the AWS CLI's own default.
const DEFAULT_REGION: &str = "us-east-1";
/// The host secret holding AWS credentials (the credential chain).
pub const CREDENTIALS_SECRET: &str = "aws";
/// What `backends list` and `config show` name as the source of a profile's region.
const PROFILE_SOURCE: &str = "AWS profile";

/// The region, and where it came from (a variable, or the profile) when not the default.
pub(super) fn region(
    env: &Environment,
    profile_region: Option<&str>,
) -> Result<(String, Option<String>), ProviderError> {
    match env.first(REGION_VARS) {
        Some((var, region)) => {
            check_region(var, region)?;
            Ok((region.to_owned(), Some(var.to_owned())))
        }
        None => match profile_region {
            Some(region) => {
                check_region("region in the AWS profile", region)?;
                Ok((region.to_owned(), Some(PROFILE_SOURCE.to_owned())))
            }
            None => Ok((DEFAULT_REGION.to_owned(), None)),
        },
    }
}

/// Whether the endpoint variables are to be ignored, as the AWS SDKs ignore them.
pub(super) fn ignores_endpoint_variables(env: &Environment) -> bool {
    env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The public endpoint of the service with `prefix` in `region`.
pub(super) fn default_endpoint(prefix: &str, region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://{prefix}.{region}.{suffix}")
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
