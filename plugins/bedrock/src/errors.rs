//! Turning Bedrock's restJson1 errors into errors that say what to do.
//!
//! The error's type comes from the `x-amzn-ErrorType` header, else the body's `code`, else
//! `__type`, and is cut down to the bare name (`aws.protocoljson#ThrottlingException:http://…`
//! → `ThrottlingException`), the order the AWS SDKs use. The message comes from `message`,
//! `Message` or `errorMessage`.

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::http::{HttpError, Response, is_retryable_status};
use serde::Deserialize;

use crate::settings::{Auth, Settings};

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    code: Option<String>,
    #[serde(rename = "__type")]
    kind: Option<String>,
    #[serde(alias = "Message", alias = "errorMessage")]
    message: Option<String>,
}

/// The bare exception name from a header or body value.
fn bare_name(raw: &str) -> &str {
    let raw = raw.split(':').next().unwrap_or(raw);
    raw.rsplit('#').next().unwrap_or(raw).trim()
}

/// The error for a non-2xx answer to a request for `model`.
pub fn from_response(response: &Response, settings: &Settings, model: &str) -> PluginError {
    let mut upstream = response.upstream_error();
    let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let kind = response
        .header("x-amzn-errortype")
        .or(body.code.as_deref())
        .or(body.kind.as_deref())
        .map(bare_name)
        .unwrap_or("")
        .to_owned();
    let detail = body
        .message
        .clone()
        .unwrap_or_else(|| upstream.message.clone());
    let region = &settings.region;
    let (advice, retryable) = match kind.as_str() {
        "ThrottlingException" => (
            "the request rate or token quota was exceeded; wait and retry".to_owned(),
            true,
        ),
        "ModelTimeoutException" => (
            "the model took too long; retry, or ask for fewer tokens".to_owned(),
            true,
        ),
        "ServiceUnavailableException"
        | "InternalServerException"
        | "ModelNotReadyException"
        | "ModelErrorException" => ("Bedrock failed on its side; retry".to_owned(), true),
        "AccessDeniedException" => (
            format!(
                "this identity may not use model '{model}' in {region}: enable access to the model in the \
                 Bedrock console (Model access) and allow bedrock:InvokeModel"
            ),
            false,
        ),
        "ResourceNotFoundException" => (
            format!(
                "model '{model}' was not found in {region}: check the model id and the region (AWS_REGION)"
            ),
            false,
        ),
        "ValidationException" => (validation_advice(&detail, model, region), false),
        "ServiceQuotaExceededException" => (
            "an account quota is exhausted; request a quota increase in Service Quotas".to_owned(),
            false,
        ),
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "IncompleteSignatureException"
        | "MissingAuthenticationTokenException"
        | "ExpiredTokenException"
        | "InvalidClientTokenId" => (credentials_advice(settings), false),
        _ => (
            format!("HTTP {}", response.status),
            is_retryable_status(response.status),
        ),
    };
    let label = if kind.is_empty() {
        String::new()
    } else {
        format!("{kind}: ")
    };
    let request_id = response
        .header("x-amzn-requestid")
        .map(|id| format!(" (request id {id})"))
        .unwrap_or_default();
    upstream.message = format!("Bedrock {label}{detail} - {advice}{request_id}");
    upstream.retryable = retryable;
    if !retryable {
        upstream.retry_after_ms = None;
    }
    PluginError::Upstream(upstream)
}

fn validation_advice(detail: &str, model: &str, region: &str) -> String {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("on-demand throughput") {
        format!(
            "model '{model}' has to be called through an inference profile here: use its profile id, \
             for example 'us.{model}', in BEDROCK_MODEL_ID or the criterion's model"
        )
    } else if lower.contains("model identifier") || lower.contains("model id") {
        format!("'{model}' is not a valid model id in {region}: check BEDROCK_MODEL_ID")
    } else if lower.contains("outputconfig") || lower.contains("structured output") {
        "this model does not accept structured output: set DMM_BEDROCK_STRUCTURED_OUTPUT=never"
            .to_owned()
    } else {
        "the request was rejected; asking again unchanged will not help".to_owned()
    }
}

fn credentials_advice(settings: &Settings) -> String {
    match settings.auth {
        Auth::Bearer { .. } => {
            "the Bedrock API key in AWS_BEARER_TOKEN_BEDROCK was rejected or has expired".to_owned()
        }
        Auth::SigV4 { .. } => {
            "the AWS credentials were rejected or have expired: configure them with \
             `aws configure`, `aws sso login` or AWS_PROFILE, or set AWS_BEARER_TOKEN_BEDROCK"
                .to_owned()
        }
    }
}

/// The error for a request that got no answer.
pub fn from_transport(error: HttpError, settings: &Settings) -> PluginError {
    match error {
        HttpError::SecretNotGranted(detail) => PluginError::upstream(
            format!(
                "no usable AWS credentials ({detail}): {}",
                credentials_advice(settings)
            ),
            false,
        ),
        HttpError::Connection(detail) => PluginError::upstream(
            format!(
                "cannot reach Bedrock at {} ({detail}): check AWS_REGION (Bedrock is not in every \
                 region) and AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
                settings.endpoint
            ),
            true,
        ),
        HttpError::Timeout => PluginError::upstream(
            format!(
                "Bedrock at {} did not answer in time; raise DMM_BEDROCK_TIMEOUT_SECONDS if the \
                 model is expected to be slow",
                settings.endpoint
            ),
            true,
        ),
        other => PluginError::from(other),
    }
}

/// A 200 answer that is not the documented shape.
pub fn malformed(what: &str) -> PluginError {
    PluginError::upstream(format!("malformed Converse answer: {what}"), false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmx_plugin_sdk::UpstreamError;
    use dmx_plugin_sdk::config;

    const MODEL: &str = "anthropic.claude-3-sonnet-20240229-v1:0";

    fn settings() -> Settings {
        Settings::from_lookup(config::from_pairs(&[
            ("region", "eu-central-1"),
            (
                "endpoint",
                "https://bedrock-runtime.eu-central-1.amazonaws.com",
            ),
            ("default-model", MODEL),
        ]))
        .unwrap()
    }

    fn map(status: u16, headers: &[(&str, &str)], body: &str) -> UpstreamError {
        from_response(&Response::new(status, headers, body), &settings(), MODEL)
            .as_upstream()
            .cloned()
            .expect("an upstream error")
    }

    #[test]
    fn type_comes_from_the_header_first_then_code_then_type() {
        let u = map(
            429,
            &[
                (
                    "x-amzn-ErrorType",
                    "ThrottlingException:http://internal.amazon.com/",
                ),
                ("x-amzn-RequestId", "r-1"),
            ],
            r#"{"message":"Too many requests, please wait before trying again."}"#,
        );
        assert!(u.retryable);
        assert!(
            u.message
                .starts_with("Bedrock ThrottlingException: Too many requests"),
            "{}",
            u.message
        );
        assert!(u.message.contains("r-1"));
        let u = map(
            400,
            &[],
            r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"The provided model identifier is invalid."}"#,
        );
        assert!(
            !u.retryable
                && u.message.contains("ValidationException")
                && u.message.contains("BEDROCK_MODEL_ID"),
            "{}",
            u.message
        );
        let u = map(
            403,
            &[],
            r#"{"code":"AccessDeniedException","Message":"denied"}"#,
        );
        assert!(
            !u.retryable
                && u.message.contains("Model access")
                && u.message.contains("eu-central-1"),
            "{}",
            u.message
        );
    }

    #[test]
    fn every_documented_exception_is_mapped() {
        for (status, kind, retryable, says) in [
            (429, "ThrottlingException", true, "wait and retry"),
            (408, "ModelTimeoutException", true, "took too long"),
            (503, "ServiceUnavailableException", true, "retry"),
            (500, "InternalServerException", true, "retry"),
            (424, "ModelErrorException", true, "retry"),
            (429, "ModelNotReadyException", true, "retry"),
            (400, "ValidationException", false, "will not help"),
            (403, "AccessDeniedException", false, "bedrock:InvokeModel"),
            (404, "ResourceNotFoundException", false, "AWS_REGION"),
            (
                400,
                "ServiceQuotaExceededException",
                false,
                "quota increase",
            ),
            (403, "UnrecognizedClientException", false, "aws configure"),
            (403, "ExpiredTokenException", false, "aws sso login"),
        ] {
            let u = map(status, &[("x-amzn-errortype", kind)], r#"{"message":"m"}"#);
            assert_eq!(u.retryable, retryable, "{kind}");
            assert_eq!(u.status, Some(status));
            assert!(
                u.message.contains(kind) && u.message.contains(says),
                "{kind}: {}",
                u.message
            );
        }
    }

    #[test]
    fn inference_profile_hint() {
        let u = map(
            400,
            &[("x-amzn-errortype", "ValidationException")],
            r#"{"message":"Invocation of model ID anthropic.claude-sonnet-4 with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model."}"#,
        );
        assert!(u.message.contains("us.anthropic"), "{}", u.message);
    }

    #[test]
    fn unknown_errors_follow_the_status() {
        assert!(map(502, &[], "bad gateway").retryable);
        assert!(!map(418, &[], "{}").retryable);
    }

    #[test]
    fn missing_credentials_say_how_to_configure_them() {
        let error = from_transport(
            HttpError::SecretNotGranted("no credentials in the chain".into()),
            &settings(),
        );
        let u = error.as_upstream().expect("upstream");
        assert!(
            !u.retryable && u.message.contains("AWS_BEARER_TOKEN_BEDROCK"),
            "{}",
            u.message
        );
    }
}
