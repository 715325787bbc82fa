//! Turning Ollama's failures into errors that say what to do.
//!
//! Ollama answers errors as `{"error": "..."}` with 400 (bad request), 404 (model not pulled),
//! 429, 500 and 502. A server that cannot be reached is the commonest failure of all (Ollama is
//! simply not running), so that message names the address and how to start it.

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::http::{HttpError, Response, is_retryable_status};

use crate::settings::Settings;

/// The error for a non-2xx answer to a request for `model`.
pub fn from_response(response: &Response, settings: &Settings, model: &str) -> PluginError {
    let mut upstream = response.upstream_error();
    match response.status {
        404 => {
            upstream.message = format!(
                "model '{model}' is not available on the Ollama server at {}: run `ollama pull {model}` there, \
                 or choose a pulled model (`ollama list`) ({})",
                settings.base_url, upstream.message
            );
            upstream.retryable = false;
        }
        status => {
            upstream.message = format!("Ollama at {}: {}", settings.base_url, upstream.message);
            upstream.retryable = is_retryable_status(status);
        }
    }
    PluginError::Upstream(upstream)
}

/// The error for a request that got no answer.
pub fn from_transport(error: HttpError, settings: &Settings) -> PluginError {
    match error {
        HttpError::Connection(detail) => PluginError::upstream(
            format!(
                "Ollama is not running at {} ({detail}): start it with `ollama serve`, or set \
                 OLLAMA_HOST to the address where it runs",
                settings.base_url
            ),
            true,
        ),
        HttpError::Timeout => PluginError::upstream(
            format!(
                "Ollama at {} did not answer in time: the model may still be loading, or JSON \
                 mode may be slow for this model; raise DMM_OLLAMA_TIMEOUT_SECONDS if it is \
                 expected",
                settings.base_url
            ),
            true,
        ),
        other => PluginError::from(other),
    }
}

/// An error Ollama reported inside a 200 answer. Those come from a failing model runner, which
/// a later attempt may not hit again.
pub fn in_band(message: &str) -> PluginError {
    PluginError::upstream(format!("Ollama reported an error: {message}"), true)
}

/// A 200 answer that is not the documented shape.
pub fn malformed(what: &str) -> PluginError {
    PluginError::upstream(format!("malformed answer from Ollama: {what}"), false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmx_plugin_sdk::UpstreamError;

    fn settings() -> Settings {
        Settings {
            base_url: "http://127.0.0.1:11434".into(),
            default_model: "llama3.1:8b".into(),
            num_ctx: None,
            timeout_ms: None,
            keep_alive: None,
        }
    }

    fn upstream_of(error: PluginError) -> UpstreamError {
        error.as_upstream().cloned().expect("an upstream error")
    }

    #[test]
    fn missing_model_says_ollama_pull_and_is_final() {
        let error = from_response(
            &Response::new(
                404,
                &[],
                r#"{"error":"model \"phi9\" not found, try pulling it first"}"#,
            ),
            &settings(),
            "phi9",
        );
        let u = upstream_of(error);
        assert!(!u.retryable);
        assert_eq!(u.status, Some(404));
        assert!(u.message.contains("ollama pull phi9"), "{}", u.message);
        assert!(
            u.message.contains("not found, try pulling it first"),
            "{}",
            u.message
        );
    }

    #[test]
    fn statuses_map_to_retryability() {
        for (status, retryable) in [
            (400, false),
            (429, true),
            (500, true),
            (502, true),
            (503, true),
        ] {
            let u = upstream_of(from_response(
                &Response::new(status, &[("retry-after", "2")], r#"{"error":"boom"}"#),
                &settings(),
                "m",
            ));
            assert_eq!(u.retryable, retryable, "status {status}");
            assert!(u.message.contains("boom"), "{}", u.message);
            assert_eq!(u.retry_after_ms, Some(2000));
        }
    }

    #[test]
    fn refused_connection_says_ollama_is_not_running_there() {
        let u = upstream_of(from_transport(
            HttpError::Connection("connection refused".into()),
            &settings(),
        ));
        assert!(
            u.message
                .contains("Ollama is not running at http://127.0.0.1:11434")
        );
        assert!(u.message.contains("OLLAMA_HOST"));
        assert!(u.retryable);
    }
}
