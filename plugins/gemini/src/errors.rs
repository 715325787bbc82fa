//! Turning the Gemini API's errors into errors that say what to do.
//!
//! Every error is Google's `{"error":{"code","message","status","details":[...]}}`, where
//! `status` is the canonical code (`INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`, ...) and
//! `details` holds typed entries told apart by `@type`:
//!
//! * `google.rpc.ErrorInfo` with a `reason`: `API_KEY_INVALID` is how a wrong key is
//!   reported, as a 400 rather than a 401;
//! * `google.rpc.RetryInfo` with `retryDelay` (a duration such as `"12s"`): how long to wait
//!   after a 429, preferred over a `retry-after` header;
//! * `google.rpc.QuotaFailure` with `violations[].quotaId`: a per-day quota
//!   (`...PerDay...`) will not come back within any retry, unlike a per-minute one.

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::http::{HttpError, Response, is_retryable_status};
use serde::Deserialize;
use serde_json::Value;

use crate::settings::Settings;
use crate::wire::SafetyRating;

#[derive(Debug, Default, Deserialize)]
struct Envelope {
    error: Option<ErrorBody>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    message: Option<String>,
    status: Option<String>,
    #[serde(default)]
    details: Vec<Value>,
}

/// What the `details` entries say.
#[derive(Debug, Default)]
struct Details {
    reason: Option<String>,
    retry_delay_ms: Option<u64>,
    daily_quota: bool,
}

impl ErrorBody {
    fn details(&self) -> Details {
        let mut found = Details::default();
        for detail in &self.details {
            let kind = detail.get("@type").and_then(Value::as_str).unwrap_or("");
            if kind.ends_with("google.rpc.ErrorInfo") {
                found.reason = detail
                    .get("reason")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            } else if kind.ends_with("google.rpc.RetryInfo") {
                found.retry_delay_ms = detail
                    .get("retryDelay")
                    .and_then(Value::as_str)
                    .and_then(duration_ms);
            } else if kind.ends_with("google.rpc.QuotaFailure") {
                found.daily_quota |= detail
                    .get("violations")
                    .and_then(Value::as_array)
                    .is_some_and(|violations| {
                        violations.iter().any(|v| {
                            v.get("quotaId")
                                .and_then(Value::as_str)
                                .is_some_and(|id| id.contains("PerDay"))
                        })
                    });
            }
        }
        found
    }
}

/// A protobuf `Duration` in its JSON form (`"12s"`, `"0.5s"`), in milliseconds.
fn duration_ms(text: &str) -> Option<u64> {
    let seconds: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| (seconds * 1000.0).round() as u64)
}

/// The error for a non-2xx answer to a request for `model`.
pub fn from_response(response: &Response, settings: &Settings, model: &str) -> PluginError {
    let mut upstream = response.upstream_error();
    let body: ErrorBody = serde_json::from_slice::<Envelope>(&response.body)
        .ok()
        .and_then(|e| e.error)
        .unwrap_or_default();
    let details = body.details();
    let status_name = body.status.clone().unwrap_or_default();
    let labels = [Some(status_name.clone()), details.reason.clone()]
        .into_iter()
        .flatten()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("/");
    let detail = match (&body.message, labels.is_empty()) {
        (Some(message), true) => message.clone(),
        (Some(message), false) => format!("{message} [{labels}]"),
        (None, _) => upstream.message.clone(),
    };
    let reason = details.reason.as_deref().unwrap_or("");
    let lower = body.message.as_deref().unwrap_or("").to_ascii_lowercase();
    let status = response.status;
    let (advice, retryable) = match status {
        400 if reason == "API_KEY_INVALID" || lower.contains("api key not valid") => (
            format!("the API key was rejected ({})", key_hint(settings)),
            false,
        ),
        400 if status_name == "FAILED_PRECONDITION" => (
            "the free tier is not available here: enable billing for the key's project in \
             Google AI Studio"
                .to_owned(),
            false,
        ),
        400 => (bad_request_advice(&lower), false),
        401 => (
            format!("the API key was rejected ({})", key_hint(settings)),
            false,
        ),
        403 if matches!(reason, "SERVICE_DISABLED" | "API_KEY_SERVICE_BLOCKED") => (
            "the key may not call the Generative Language API: enable the API for its project, \
             or lift the key's API restrictions"
                .to_owned(),
            false,
        ),
        403 => (format!("this API key may not use model '{model}'"), false),
        404 => (
            format!(
                "model '{model}' or the endpoint was not found: check the model name (set \
                 DMM_GEMINI_MODEL) and that GEMINI_API_BASE is the API root, such as \
                 https://generativelanguage.googleapis.com"
            ),
            false,
        ),
        429 if details.daily_quota => (
            "a daily quota is exhausted, so retrying today will not help: wait for the reset \
             or enable billing for a higher tier"
                .to_owned(),
            false,
        ),
        429 => ("rate limited; wait and retry".to_owned(), true),
        504 => (
            "the model did not finish within Gemini's own deadline; retry, or ask for less"
                .to_owned(),
            true,
        ),
        status if is_retryable_status(status) => {
            ("Gemini failed on its side; retry".to_owned(), true)
        }
        _ => ("the request was refused".to_owned(), false),
    };
    upstream.message = format!(
        "Gemini at {}: HTTP {status}: {detail} - {advice}",
        settings.base_url
    );
    upstream.retryable = retryable;
    upstream.retry_after_ms = if retryable {
        details.retry_delay_ms.or(upstream.retry_after_ms)
    } else {
        None
    };
    PluginError::Upstream(upstream)
}

/// What to do about a 400 `INVALID_ARGUMENT`, from its (lower-cased) message.
fn bad_request_advice(message: &str) -> String {
    if message.contains("thinking") {
        "this model does not accept the thinking setting: change or unset \
         DMM_GEMINI_THINKING_BUDGET / DMM_GEMINI_THINKING_LEVEL"
            .to_owned()
    } else if message.contains("response_schema")
        || message.contains("responseschema")
        || message.contains("schema")
    {
        "the model refused the translated answer schema: set DMM_GEMINI_STRUCTURED_OUTPUT=json"
            .to_owned()
    } else if message.contains("token count") || message.contains("too long") {
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
        "GEMINI_API_KEY or GOOGLE_API_KEY",
    )
}

/// The error for a request that got no answer.
pub fn from_transport(error: HttpError, settings: &Settings) -> PluginError {
    match error {
        HttpError::Connection(detail) => PluginError::upstream(
            format!(
                "cannot reach Gemini at {} ({detail}): check the network, or set \
                 GEMINI_API_BASE to the address of the API or gateway",
                settings.base_url
            ),
            true,
        ),
        HttpError::Timeout => PluginError::upstream(
            format!(
                "Gemini at {} did not answer in time; raise DMM_GEMINI_TIMEOUT_SECONDS if the \
                 model is expected to be slow (thinking models often are)",
                settings.base_url
            ),
            true,
        ),
        other => PluginError::from(other),
    }
}

/// A 200 answer that is not the documented shape.
pub fn malformed(what: &str) -> PluginError {
    PluginError::upstream(format!("malformed generateContent answer: {what}"), false)
}

/// `what` ("the prompt" or "the answer") was withheld for `reason`. The same request is
/// withheld again, so this is final.
pub fn blocked(what: &str, reason: &str, ratings: &[SafetyRating]) -> PluginError {
    let flagged: Vec<String> = ratings
        .iter()
        .filter(|r| r.blocked || matches!(r.probability.as_deref(), Some("HIGH" | "MEDIUM")))
        .map(|r| match &r.probability {
            Some(probability) => format!("{} ({probability})", r.category),
            None => r.category.clone(),
        })
        .collect();
    let because = if flagged.is_empty() {
        String::new()
    } else {
        format!(": {}", flagged.join(", "))
    };
    let advice = match reason {
        "RECITATION" => "the answer repeated protected text too closely",
        "LANGUAGE" => "the language is not supported",
        _ => "content filters withheld it; rephrasing the decision may help, asking again will not",
    };
    PluginError::upstream(
        format!("Gemini blocked {what} ({reason}{because}) - {advice}"),
        false,
    )
}

/// The answer stopped at `maxOutputTokens`. Thinking counts against that limit, which is
/// the usual cause with Gemini 2.5 and newer.
pub fn cut_off(max_tokens: Option<u32>, thoughts: u32) -> PluginError {
    let limit = max_tokens.map_or("the model's output limit".to_owned(), |n| {
        format!("the token limit ({n} tokens)")
    });
    let thinking = if thoughts > 0 {
        format!(
            "; {thoughts} of them went to thinking: lower DMM_GEMINI_THINKING_BUDGET (0 turns it \
             off on Flash models) or set DMM_GEMINI_THINKING_LEVEL=low"
        )
    } else {
        String::new()
    };
    PluginError::upstream(
        format!(
            "the answer was cut off at {limit} before it was complete; raise \
             max_tokens_per_option in [evaluation]{thinking}"
        ),
        false,
    )
}

/// The candidate ended with no text (`OTHER`, a malformed call, or an empty `STOP` now and
/// then). Such failures come from the model run, which a later attempt may not repeat.
pub fn no_answer(reason: &str) -> PluginError {
    PluginError::upstream(
        format!("Gemini returned no answer (finishReason {reason})"),
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmx_plugin_sdk::UpstreamError;
    use dmx_plugin_sdk::config;

    fn settings(key: bool) -> Settings {
        let mut pairs = vec![
            ("base-url", "https://generativelanguage.googleapis.com"),
            ("default-model", "gemini-2.5-flash"),
        ];
        if key {
            pairs.push(("api-key-secret", "gemini-api-key"));
            pairs.push(("api-key-env", "GEMINI_API_KEY"));
        }
        Settings::from_lookup(config::from_pairs(&pairs)).unwrap()
    }

    fn map(status: u16, headers: &[(&str, &str)], body: &str) -> UpstreamError {
        from_response(
            &Response::new(status, headers, body),
            &settings(true),
            "gemini-2.5-flash",
        )
        .as_upstream()
        .cloned()
        .expect("an upstream error")
    }

    fn envelope(code: u16, status: &str, message: &str, details: &str) -> String {
        format!(
            r#"{{"error":{{"code":{code},"message":"{message}","status":"{status}","details":[{details}]}}}}"#
        )
    }

    #[test]
    fn rate_limits_wait_the_retry_delay_and_daily_quotas_are_final() {
        let retry = r#"{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"12s"}"#;
        let minute = r#"{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaValue":"10"}]}"#;
        let u = map(
            429,
            &[("retry-after", "3")],
            &envelope(
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota.",
                &format!("{minute},{retry}"),
            ),
        );
        assert!(u.retryable, "{}", u.message);
        assert_eq!(u.retry_after_ms, Some(12_000));
        assert!(u.message.contains("RESOURCE_EXHAUSTED"), "{}", u.message);
        let u = map(
            429,
            &[("retry-after", "3")],
            &envelope(429, "RESOURCE_EXHAUSTED", "quota", ""),
        );
        assert_eq!(u.retry_after_ms, Some(3000));
        let daily = minute.replace("PerMinute", "PerDay");
        let u = map(
            429,
            &[],
            &envelope(
                429,
                "RESOURCE_EXHAUSTED",
                "quota",
                &format!("{daily},{retry}"),
            ),
        );
        assert!(!u.retryable && u.retry_after_ms.is_none(), "{}", u.message);
        assert!(u.message.contains("daily quota"), "{}", u.message);
    }

    #[test]
    fn a_bad_key_is_named_although_it_comes_as_400() {
        let info = r#"{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}"#;
        let u = map(
            400,
            &[],
            &envelope(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                info,
            ),
        );
        assert!(!u.retryable, "{}", u.message);
        assert!(
            u.message.contains("GEMINI_API_KEY") && u.message.contains("API_KEY_INVALID"),
            "{}",
            u.message
        );
        let error = from_response(&Response::new(401, &[], "{}"), &settings(false), "m");
        assert!(format!("{error:?}").contains("set GEMINI_API_KEY or GOOGLE_API_KEY"));
    }

    #[test]
    fn every_documented_status_is_mapped() {
        for (status, name, retryable, says) in [
            (400, "INVALID_ARGUMENT", false, "will not help"),
            (400, "FAILED_PRECONDITION", false, "enable billing"),
            (403, "PERMISSION_DENIED", false, "may not use model"),
            (404, "NOT_FOUND", false, "DMM_GEMINI_MODEL"),
            (500, "INTERNAL", true, "retry"),
            (503, "UNAVAILABLE", true, "retry"),
            (504, "DEADLINE_EXCEEDED", true, "deadline"),
        ] {
            let u = map(
                status,
                &[("retry-after", "1")],
                &envelope(status, name, "it failed", ""),
            );
            assert_eq!(u.retryable, retryable, "{name}");
            assert_eq!(u.status, Some(status));
            assert!(
                u.message.contains(name)
                    && u.message.contains(says)
                    && u.message.contains("it failed"),
                "{name}: {}",
                u.message
            );
            assert_eq!(u.retry_after_ms, retryable.then_some(1000), "{name}");
        }
        let disabled =
            r#"{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED"}"#;
        let u = map(
            403,
            &[],
            &envelope(403, "PERMISSION_DENIED", "disabled", disabled),
        );
        assert!(u.message.contains("enable the API"), "{}", u.message);
    }

    #[test]
    fn schema_and_thinking_rejections_name_the_setting_to_change() {
        for (message, says) in [
            (
                "* GenerateContentRequest.generation_config.response_schema.properties: should be non-empty for OBJECT type",
                "DMM_GEMINI_STRUCTURED_OUTPUT=json",
            ),
            (
                "Budget 0 is invalid. This model only works in thinking mode.",
                "DMM_GEMINI_THINKING_BUDGET",
            ),
            (
                "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
                "context window",
            ),
        ] {
            let u = map(400, &[], &envelope(400, "INVALID_ARGUMENT", message, ""));
            assert!(!u.retryable && u.message.contains(says), "{}", u.message);
        }
    }

    #[test]
    fn bodies_without_the_envelope_and_transport_failures() {
        let u = map(502, &[], "<html>Bad gateway</html>");
        assert!(
            u.retryable && u.message.contains("Bad gateway"),
            "{}",
            u.message
        );
        assert!(!map(418, &[], "{}").retryable);
        let error = from_transport(HttpError::Connection("refused".into()), &settings(true));
        assert!(
            error
                .as_upstream()
                .is_some_and(|u| u.retryable && u.message.contains("GEMINI_API_BASE"))
        );
        let error = from_transport(HttpError::Timeout, &settings(true));
        assert!(format!("{error:?}").contains("DMM_GEMINI_TIMEOUT_SECONDS"));
    }

    #[test]
    fn durations_parse_in_their_json_form() {
        assert_eq!(duration_ms("12s"), Some(12_000));
        assert_eq!(duration_ms("0.250s"), Some(250));
        assert_eq!(duration_ms("1.5s"), Some(1500));
        for bad in ["12", "s", "-1s", "NaNs", "inf s"] {
            assert_eq!(duration_ms(bad), None, "{bad}");
        }
    }
}
