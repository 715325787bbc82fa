//! Turning Anthropic's error answers into errors that say what to do.
//!
//! Every error is `{"type":"error","error":{"type","message"},"request_id"}` with the status
//! telling the kind: 400 `invalid_request_error`, 401 `authentication_error`, 402
//! `billing_error`, 403 `permission_error`, 404 `not_found_error`, 413 `request_too_large`
//! (from the edge, before the API), 429 `rate_limit_error`, 500 `api_error`, 529
//! `overloaded_error`. Two answers look alike and are not: a 429 for a rate limit passes
//! (wait `retry-after` seconds), a 429 whose `error.details.error_code` is
//! `enforced_spend_limit_reached` does not until the month ends. A 400 that says the credit
//! balance is too low, or that a spend limit is reached, is likewise final.

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::http::{HttpError, Response, is_retryable_status};
use serde::Deserialize;

use crate::settings::Settings;

#[derive(Debug, Default, Deserialize)]
struct Envelope {
    error: Option<ErrorBody>,
    request_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
    details: Option<Details>,
}

#[derive(Debug, Default, Deserialize)]
struct Details {
    error_code: Option<String>,
}

/// The error for a non-2xx answer to a request for `model`.
pub fn from_response(response: &Response, settings: &Settings, model: &str) -> PluginError {
    let mut upstream = response.upstream_error();
    let envelope: Envelope = serde_json::from_slice(&response.body).unwrap_or_default();
    let body = envelope.error.unwrap_or_default();
    let kind = body.kind.clone().unwrap_or_default();
    let detail = match &body.message {
        Some(message) if kind.is_empty() => message.clone(),
        Some(message) => format!("{message} [{kind}]"),
        None => upstream.message.clone(),
    };
    let lower = body.message.as_deref().unwrap_or("").to_ascii_lowercase();
    let error_code = body.details.and_then(|d| d.error_code).unwrap_or_default();
    let status = response.status;
    let (advice, retryable) = match status {
        429 if error_code == "enforced_spend_limit_reached" => (
            "the organization reached its monthly spend limit, so retrying will not help \
             until the limit is raised or the month ends"
                .to_owned(),
            false,
        ),
        429 => ("rate limited; wait and retry".to_owned(), true),
        400 => (bad_request_advice(&lower), false),
        401 => (
            format!("the API key was rejected ({})", key_hint(settings)),
            false,
        ),
        402 => (
            "a billing problem stops requests: check the plan and payment details in the \
             Anthropic console"
                .to_owned(),
            false,
        ),
        403 => (format!("this API key may not use model '{model}'"), false),
        404 => (
            format!(
                "model '{model}' or the endpoint was not found: check the model name (set \
                 DMM_ANTHROPIC_MODEL) and that ANTHROPIC_API_BASE is the API root, such as \
                 https://api.anthropic.com"
            ),
            false,
        ),
        413 => (
            "the request is larger than the Messages API accepts (32 MB)".to_owned(),
            false,
        ),
        408 | 409 => ("retry".to_owned(), true),
        529 => (
            "Anthropic is overloaded for everyone; retry later".to_owned(),
            true,
        ),
        status if is_retryable_status(status) => {
            ("Anthropic failed on its side; retry".to_owned(), true)
        }
        _ => ("the request was refused".to_owned(), false),
    };
    let request_id = envelope
        .request_id
        .as_deref()
        .or(response.header("request-id"))
        .map(|id| format!(" (request id {id})"))
        .unwrap_or_default();
    upstream.message = format!(
        "Anthropic at {}: HTTP {status}: {detail} - {advice}{request_id}",
        settings.base_url
    );
    upstream.retryable = retryable;
    if !retryable {
        upstream.retry_after_ms = None;
    }
    PluginError::Upstream(upstream)
}

/// What to do about a 400, from its (lower-cased) message.
fn bad_request_advice(message: &str) -> String {
    if message.contains("credit balance") {
        "the account's credit balance is too low: buy credits in the Anthropic console; \
         retrying will not help"
            .to_owned()
    } else if message.contains("spend limit") || message.contains("usage limit") {
        "a spend limit set for the organization or workspace is reached: raise it in the \
         Anthropic console; retrying will not help"
            .to_owned()
    } else if message.contains("temperature") || message.contains("top_p") {
        "this model rejects sampling parameters: set DMM_ANTHROPIC_TEMPERATURE=never".to_owned()
    } else if message.contains("output_config")
        || message.contains("output_format")
        || message.contains("structured output")
    {
        "this model does not accept output_config.format: set \
         DMM_ANTHROPIC_STRUCTURED_OUTPUT=tool"
            .to_owned()
    } else if message.contains("tool_choice") && message.contains("thinking") {
        "this model always thinks and cannot be forced to call a tool: set \
         DMM_ANTHROPIC_STRUCTURED_OUTPUT=output-format"
            .to_owned()
    } else if message.contains("prompt is too long") {
        "the prompt does not fit the model's context window".to_owned()
    } else {
        "the request was rejected; asking again unchanged will not help".to_owned()
    }
}

/// Which variable to set, for a rejected or missing key.
fn key_hint(settings: &Settings) -> String {
    dmx_plugin_sdk::http::key_hint(
        settings.api_key_env.as_deref(),
        settings.api_key_secret.is_some(),
        "ANTHROPIC_API_KEY",
    )
}

/// The error for a request that got no answer.
pub fn from_transport(error: HttpError, settings: &Settings) -> PluginError {
    match error {
        HttpError::Connection(detail) => PluginError::upstream(
            format!(
                "cannot reach Anthropic at {} ({detail}): check the network, or set \
                 ANTHROPIC_API_BASE to the address of the API or gateway",
                settings.base_url
            ),
            true,
        ),
        HttpError::Timeout => PluginError::upstream(
            format!(
                "Anthropic at {} did not answer in time; raise DMM_ANTHROPIC_TIMEOUT_SECONDS if \
                 the model is expected to be slow",
                settings.base_url
            ),
            true,
        ),
        other => PluginError::from(other),
    }
}

/// A 200 answer that is not the documented shape.
pub fn malformed(what: &str) -> PluginError {
    PluginError::upstream(format!("malformed Messages API answer: {what}"), false)
}

/// The model declined to answer (`stop_reason: "refusal"`). Asking the same again gets the
/// same refusal, and it must not be mistaken for an abstention.
pub fn refused(text: &str) -> PluginError {
    let reason = if text.trim().is_empty() {
        "no reason given"
    } else {
        text.trim()
    };
    PluginError::upstream(format!("the model refused to answer: {reason}"), false)
}

/// The answer stopped at `max_tokens` before it was complete.
pub fn cut_off(max_tokens: u32) -> PluginError {
    PluginError::upstream(
        format!(
            "the answer was cut off at the token limit ({max_tokens} tokens) before it was \
             complete; raise max_tokens_per_option in [evaluation]"
        ),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmx_plugin_sdk::UpstreamError;
    use dmx_plugin_sdk::config;

    fn settings(key: bool) -> Settings {
        let mut pairs = vec![
            ("base-url", "https://api.anthropic.com"),
            ("default-model", "claude-sonnet-4-6"),
        ];
        if key {
            pairs.push(("api-key-secret", "anthropic-api-key"));
            pairs.push(("api-key-env", "ANTHROPIC_API_KEY"));
        }
        Settings::from_lookup(config::from_pairs(&pairs)).unwrap()
    }

    fn map(status: u16, headers: &[(&str, &str)], body: &str) -> UpstreamError {
        from_response(
            &Response::new(status, headers, body),
            &settings(true),
            "claude-sonnet-4-6",
        )
        .as_upstream()
        .cloned()
        .expect("an upstream error")
    }

    fn envelope(kind: &str, message: &str) -> String {
        format!(
            r#"{{"type":"error","error":{{"type":"{kind}","message":"{message}"}},"request_id":"req_011"}}"#
        )
    }

    #[test]
    fn every_documented_status_is_mapped() {
        for (status, kind, retryable, says) in [
            (400, "invalid_request_error", false, "will not help"),
            (401, "authentication_error", false, "ANTHROPIC_API_KEY"),
            (402, "billing_error", false, "billing"),
            (403, "permission_error", false, "may not use model"),
            (404, "not_found_error", false, "DMM_ANTHROPIC_MODEL"),
            (413, "request_too_large", false, "32 MB"),
            (429, "rate_limit_error", true, "rate limited"),
            (500, "api_error", true, "retry"),
            (504, "timeout_error", true, "retry"),
            (529, "overloaded_error", true, "overloaded"),
        ] {
            let u = map(
                status,
                &[("retry-after", "7")],
                &envelope(kind, "something happened"),
            );
            assert_eq!(u.retryable, retryable, "{status}");
            assert_eq!(u.status, Some(status));
            assert!(
                u.message.contains(kind)
                    && u.message.contains(says)
                    && u.message.contains("something happened")
                    && u.message.contains("req_011"),
                "{status}: {}",
                u.message
            );
            assert_eq!(
                u.retry_after_ms,
                retryable.then_some(7000),
                "{status}: retry hint"
            );
        }
    }

    #[test]
    fn spend_limits_and_credit_are_final_even_as_429() {
        let u = map(
            429,
            &[("retry-after", "60")],
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"You have reached your specified API usage limits.","details":{"error_code":"enforced_spend_limit_reached"}}}"#,
        );
        assert!(!u.retryable && u.retry_after_ms.is_none(), "{}", u.message);
        assert!(u.message.contains("spend limit"), "{}", u.message);
        let u = map(
            400,
            &[],
            &envelope(
                "invalid_request_error",
                "Your credit balance is too low to access the Anthropic API.",
            ),
        );
        assert!(
            !u.retryable && u.message.contains("credits"),
            "{}",
            u.message
        );
    }

    #[test]
    fn model_specific_rejections_name_the_setting_to_change() {
        for (message, says) in [
            (
                "`temperature` is deprecated for this model.",
                "DMM_ANTHROPIC_TEMPERATURE=never",
            ),
            (
                "output_config.format: not supported for this model",
                "STRUCTURED_OUTPUT=tool",
            ),
            (
                "Thinking may not be enabled when tool_choice forces tool use.",
                "STRUCTURED_OUTPUT=output-format",
            ),
            (
                "prompt is too long: 210000 tokens > 200000 maximum",
                "context window",
            ),
        ] {
            let u = map(400, &[], &envelope("invalid_request_error", message));
            assert!(!u.retryable && u.message.contains(says), "{}", u.message);
        }
    }

    #[test]
    fn bodies_without_the_envelope_still_say_something() {
        let u = map(
            502,
            &[("request-id", "req_edge")],
            "<html>Bad gateway</html>",
        );
        assert!(
            u.retryable && u.message.contains("Bad gateway"),
            "{}",
            u.message
        );
        assert!(u.message.contains("req_edge"), "{}", u.message);
        assert!(!map(418, &[], "{}").retryable);
    }

    #[test]
    fn missing_key_and_unreachable_server_say_which_variable() {
        let error = from_response(&Response::new(401, &[], "{}"), &settings(false), "m");
        assert!(format!("{error:?}").contains("no key is configured: set ANTHROPIC_API_KEY"));
        let error = from_transport(
            HttpError::Connection("connection refused".into()),
            &settings(true),
        );
        let u = error.as_upstream().unwrap();
        assert!(
            u.retryable && u.message.contains("ANTHROPIC_API_BASE"),
            "{}",
            u.message
        );
        let error = from_transport(HttpError::Timeout, &settings(true));
        assert!(format!("{error:?}").contains("DMM_ANTHROPIC_TIMEOUT_SECONDS"));
    }
}
