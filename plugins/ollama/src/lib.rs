//! The built-in `ollama` backend: Ollama's native chat API.
//!
//! `POST {base-url}/api/chat` with `stream: false`, the answer's JSON Schema in `format`
//! (Ollama constrains decoding to it), and `options.temperature`, `num_predict` and `num_ctx`.
//! Token counts come from `prompt_eval_count` and `eval_count`. The health check lists the
//! pulled models (`GET /api/tags`) and says which `ollama pull` is missing.
//!
//! The host grants exactly the `OLLAMA_HOST` destination; see `docs/backends.md`. The wire
//! format and error mapping live in [`wire`] and [`errors`], which do not call the host and
//! are unit-tested on the build machine:
//!
//! ```text
//! cd plugins && cargo test --target x86_64-unknown-linux-gnu -p ollama
//! ```

mod errors;
mod settings;
mod wire;

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::backend::{BackendInfo, GenerateRequest, Generation, LlmBackend};
use dmx_plugin_sdk::http::{Request, Response};

use settings::Settings;

/// The exported backend.
struct Ollama;

impl LlmBackend for Ollama {
    fn info() -> BackendInfo {
        BackendInfo {
            id: "ollama".into(),
            display_name: "Ollama".into(),
            default_model: Settings::load().ok().map(|s| s.default_model),
            supports_response_schema: true,
        }
    }

    fn check(deep: bool) -> Result<(), PluginError> {
        let settings = Settings::load()?;
        if !deep {
            return Ok(());
        }
        let response = send(Request::get(settings.url("/api/tags")), &settings)?;
        if !response.is_success() {
            return Err(errors::from_response(
                &response,
                &settings,
                &settings.default_model,
            ));
        }
        let tags: wire::TagsResponse = response.json()?;
        if tags.has(&settings.default_model) {
            Ok(())
        } else {
            let model = &settings.default_model;
            Err(PluginError::InvalidInput(format!(
                "Ollama at {} is running, but the default model '{model}' is not pulled: run \
                 `ollama pull {model}`, or set DMM_OLLAMA_MODEL to one of: {}",
                settings.base_url,
                pulled_list(&tags)
            )))
        }
    }

    fn generate(request: GenerateRequest) -> Result<Generation, PluginError> {
        let settings = Settings::load()?;
        let schema = request.schema_json()?;
        let body = wire::chat_request(&request, &settings, schema.as_deref())?;
        let model = body.model.to_owned();
        let response = send(
            Request::post(settings.url("/api/chat")).json(&body)?,
            &settings,
        )?;
        if !response.is_success() {
            return Err(errors::from_response(&response, &settings, &model));
        }
        let answer: wire::ChatResponse = response.json()?;
        answer.into_generation(&model)
    }
}

/// Sends `request` with the configured time limit, naming Ollama's address on failure.
fn send(request: Request, settings: &Settings) -> Result<Response, PluginError> {
    request
        .optional_timeout_ms(settings.timeout_ms)
        .send()
        .map_err(|e| errors::from_transport(e, settings))
}

fn pulled_list(tags: &wire::TagsResponse) -> String {
    if tags.models.is_empty() {
        return "(no model is pulled yet)".into();
    }
    tags.models
        .iter()
        .map(|m| m.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

dmx_plugin_sdk::export_backend!(Ollama);
