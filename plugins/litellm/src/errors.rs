//! Turning OpenAI-compatible error answers into errors that say what to do.
//!
//! Every server in this family answers `{"error":{"message","type","param","code"}}`, but
//! `code` is a string on OpenAI (`rate_limit_exceeded`), a string holding a status on a LiteLLM
//! proxy (`"429"`) and a number on llama.cpp's server (`400`). A 429 is two different things:
//! a rate limit (wait and retry) or an exhausted quota or budget (retrying cannot help), told
//! apart by `code` and `type`. The retry delay comes from `retry-after-ms`, then `retry-after`,
//! as OpenAI's own SDK reads them.

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::http::{HttpError, Response, is_retryable_status};
use serde::Deserialize;

use crate::settings::Settings;

/// Codes and types meaning the account cannot pay for more requests.
const QUOTA_MARKERS: &[&str] = &[
    "insufficient_quota",
    "credit_balance_exhausted",
    "project_spend_limit_exceeded",
    "billing_hard_limit_reached",
    "budget_exceeded",
];

#[derive(Debug, Default, Deserialize)]
struct Envelope {
    error: Option<ErrorBody>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    message: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<serde_json::Value>,
}

impl ErrorBody {
    fn code(&self) -> Option<String> {
        match self.code.as_ref()? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn is_quota(&self) -> bool {
        let code = self.code();
        [code.as_deref(), self.kind.as_deref()]
            .into_iter()
            .flatten()
            .any(|marker| QUOTA_MARKERS.contains(&marker))
    }
}

/// The error for a non-2xx answer to a request for `model`.
pub fn from_response(response: &Response, settings: &Settings, model: &str) -> PluginError {
    let mut upstream = response.upstream_error();
    let body: ErrorBody = serde_json::from_slice::<Envelope>(&response.body)
        .ok()
        .and_then(|e| e.error)
        .unwrap_or_default();
    let provider = body
        .message
        .clone()
        .unwrap_or_else(|| upstream.message.clone());
    let labels = [body.kind.clone(), body.code()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("/");
    let detail = if labels.is_empty() {
        provider
    } else {
        format!("{provider} [{labels}]")
    };
    let request_id = response
        .header("x-request-id")
        .map(|id| format!(" (request id {id})"))
        .unwrap_or_default();
    let at = &settings.base_url;
    let status = response.status;
    let (message, retryable) = match status {
        429 if body.is_quota() => (
            format!(
                "{at}: the account's quota or budget is exhausted, so retrying will not help; \
                 check billing or the proxy's budget: {detail}"
            ),
            false,
        ),
        429 => (format!("{at}: rate limited: {detail}"), true),
        401 => (
            format!(
                "{at}: the API key was rejected ({}): {detail}",
                key_hint(settings)
            ),
            false,
        ),
        403 => (
            format!("{at}: this API key may not use model '{model}': {detail}"),
            false,
        ),
        404 => (
            format!(
                "{at}: model '{model}' was not found; check the name (a LiteLLM proxy expects \
                 one of its model_name aliases) or set DMM_LITELLM_MODEL: {detail}"
            ),
            false,
        ),
        408 | 409 => (format!("{at}: HTTP {status}: {detail}"), true),
        _ => (
            format!("{at}: HTTP {status}: {detail}"),
            is_retryable_status(status),
        ),
    };
    upstream.message = format!("{message}{request_id}");
    upstream.retryable = retryable;
    if !retryable {
        upstream.retry_after_ms = None;
    }
    PluginError::Upstream(upstream)
}

/// Which variable to set, for a rejected or missing key.
fn key_hint(settings: &Settings) -> String {
    dmx_plugin_sdk::http::key_hint(
        settings.api_key_env.as_deref(),
        settings.api_key_secret.is_some(),
        "LITELLM_API_KEY or OPENAI_API_KEY",
    )
}

/// The error for a request that got no answer.
pub fn from_transport(error: HttpError, settings: &Settings) -> PluginError {
    match error {
        HttpError::Connection(detail) => PluginError::upstream(
            format!(
                "cannot reach {} ({detail}): check that the server is running, or set \
                 LITELLM_BASE_URL / OPENAI_BASE_URL to where it runs",
                settings.base_url
            ),
            true,
        ),
        HttpError::Timeout => PluginError::upstream(
            format!(
                "{} did not answer in time; raise DMM_LITELLM_TIMEOUT_SECONDS if the model is \
                 expected to be slow",
                settings.base_url
            ),
            true,
        ),
        other => PluginError::from(other),
    }
}

/// A 200 answer that is not the documented shape.
pub fn malformed(what: &str) -> PluginError {
    PluginError::upstream(format!("malformed chat completion: {what}"), false)
}

/// The model declined to answer (structured outputs' `refusal`). Asking the same again gets
/// the same refusal, and it must not be mistaken for an abstention.
pub fn refused(reason: &str) -> PluginError {
    PluginError::upstream(format!("the model refused to answer: {reason}"), false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmx_plugin_sdk::UpstreamError;
    use dmx_plugin_sdk::config;

    fn settings(key: bool) -> Settings {
        let mut pairs = vec![
            ("base-url", "http://127.0.0.1:4000"),
            ("default-model", "gpt-4o-mini"),
        ];
        if key {
            pairs.push(("api-key-secret", "litellm-api-key"));
            pairs.push(("api-key-env", "LITELLM_API_KEY"));
        }
        Settings::from_lookup(config::from_pairs(&pairs)).unwrap()
    }

    fn map(status: u16, headers: &[(&str, &str)], body: &str) -> UpstreamError {
        let error = from_response(
            &Response::new(status, headers, body),
            &settings(true),
            "gpt-4o-mini",
        );
        error.as_upstream().cloned().expect("an upstream error")
    }

    #[test]
    fn rate_limit_is_retryable_and_prefers_retry_after_ms() {
        let u = map(
            429,
            &[
                ("retry-after-ms", "1500"),
                ("retry-after", "20"),
                ("x-request-id", "req_1"),
            ],
            r#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
        );
        assert!(u.retryable);
        assert_eq!(u.retry_after_ms, Some(1500));
        assert!(
            u.message.contains("rate_limit_exceeded") && u.message.contains("req_1"),
            "{}",
            u.message
        );
        let u = map(
            429,
            &[("retry-after", "3")],
            r#"{"error":{"message":"slow down","code":null}}"#,
        );
        assert_eq!(u.retry_after_ms, Some(3000));
    }

    #[test]
    fn litellm_string_status_code_is_read() {
        let u = map(
            429,
            &[],
            r#"{"error":{"message":"litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached. Limit 3, Used 3.","type":"throttling_error","param":null,"code":"429"}}"#,
        );
        assert!(u.retryable);
        assert!(u.message.contains("throttling_error/429"), "{}", u.message);
    }

    #[test]
    fn exhausted_quota_and_budgets_are_final() {
        for body in [
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
            r#"{"error":{"message":"spend limit","type":"invalid_request_error","code":"project_spend_limit_exceeded"}}"#,
            r#"{"error":{"message":"Budget has been exceeded","type":"budget_exceeded","param":null,"code":"429"}}"#,
        ] {
            let u = map(429, &[("retry-after", "1")], body);
            assert!(!u.retryable, "{body}");
            assert_eq!(u.retry_after_ms, None);
            assert!(u.message.contains("quota or budget"), "{}", u.message);
        }
    }

    #[test]
    fn client_errors_are_final_with_advice() {
        let u = map(
            401,
            &[],
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#,
        );
        assert!(
            !u.retryable && u.message.contains("LITELLM_API_KEY"),
            "{}",
            u.message
        );
        let u = map(
            404,
            &[],
            r#"{"error":{"message":"The model `x` does not exist","type":"invalid_request_error","code":"model_not_found"}}"#,
        );
        assert!(
            !u.retryable && u.message.contains("model_name aliases"),
            "{}",
            u.message
        );
        let u = map(
            403,
            &[],
            r#"{"error":{"message":"key not allowed","type":"key_model_access_denied","code":"401"}}"#,
        );
        assert!(
            !u.retryable && u.message.contains("may not use model"),
            "{}",
            u.message
        );
        let u = map(
            400,
            &[],
            r#"{"error":{"code":400,"message":"bad schema","type":"invalid_request_error"}}"#,
        );
        assert!(
            !u.retryable && u.message.contains("invalid_request_error/400"),
            "{}",
            u.message
        );
    }

    #[test]
    fn server_errors_are_retryable() {
        for status in [500, 502, 503, 504] {
            let u = map(
                status,
                &[],
                r#"{"error":{"message":"overloaded","type":"server_error","code":null}}"#,
            );
            assert!(u.retryable, "{status}");
        }
        let u = map(
            501,
            &[],
            r#"{"error":{"code":501,"message":"not supported","type":"not_supported_error"}}"#,
        );
        assert!(!u.retryable);
        let u = map(502, &[], "<html>bad gateway</html>");
        assert!(
            u.retryable && u.message.contains("bad gateway"),
            "{}",
            u.message
        );
    }

    #[test]
    fn missing_key_is_named() {
        let error = from_response(&Response::new(401, &[], "{}"), &settings(false), "m");
        assert!(format!("{error:?}").contains("no key is configured"));
    }
}
