//! The `anthropic` backend: Anthropic's Messages API.
//!
//! `POST {base-url}/v1/messages` with `anthropic-version: 2023-06-01`, the system prompt in
//! the top-level `system` field and `max_tokens` always set. The answer's JSON Schema goes in
//! `output_config.format` for the models that have structured outputs and in a forced tool
//! for the others (see [`models`]); token counts come from `usage`. The API key is a host
//! secret: the plugin names it (`api-key-secret`) and the header it belongs in
//! (`api-key-header`, `x-api-key`), and the host adds it after its checks, so the key never
//! enters the plugin. The health check fetches the default model
//! (`GET /v1/models/{model}`), which proves the address, the key and the model name at once.
//!
//! The wire format and error mapping live in [`wire`] and [`errors`] and are unit-tested on
//! the build machine:
//!
//! ```text
//! cd plugins && cargo test --target x86_64-unknown-linux-gnu -p anthropic
//! ```

mod errors;
mod models;
mod settings;
mod wire;

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::backend::{BackendInfo, GenerateRequest, Generation, LlmBackend};
use dmx_plugin_sdk::http::{Request, Response};

use settings::{Settings, StructuredOutput};

/// The exported backend.
struct Anthropic;

impl LlmBackend for Anthropic {
    fn info() -> BackendInfo {
        let settings = Settings::load().ok();
        BackendInfo {
            id: "anthropic".into(),
            display_name: "Anthropic (Claude)".into(),
            default_model: settings.as_ref().map(|s| s.default_model.clone()),
            supports_response_schema: settings
                .is_some_and(|s| s.structured_output != StructuredOutput::None),
        }
    }

    fn check(deep: bool) -> Result<(), PluginError> {
        let settings = Settings::load()?;
        if !deep {
            return Ok(());
        }
        let model = &settings.default_model;
        let response = send(
            Request::get(settings.url(&wire::model_path(model))),
            &settings,
        )?;
        if !response.is_success() {
            return Err(errors::from_response(&response, &settings, model));
        }
        let info: wire::ModelInfo = response.json()?;
        if &info.id != model {
            dmx_plugin_sdk::log::info!(
                "{} resolves the default model '{model}' to '{}' ({})",
                settings.base_url,
                info.id,
                info.display_name.as_deref().unwrap_or("no display name")
            );
        }
        Ok(())
    }

    fn generate(request: GenerateRequest) -> Result<Generation, PluginError> {
        let settings = Settings::load()?;
        let schema = request.schema_json()?;
        let (body, form) = wire::messages_request(&request, &settings, schema.as_deref())?;
        let model = body.model.to_owned();
        let max_tokens = body.max_tokens;
        let response = send(
            Request::post(settings.url("/v1/messages")).json(&body)?,
            &settings,
        )?;
        if !response.is_success() {
            return Err(errors::from_response(&response, &settings, &model));
        }
        let answer: wire::MessagesResponse = response.json()?;
        answer.into_generation(&model, form, max_tokens)
    }
}

/// Sends `request` with the API version, the key (when one is configured) and the configured
/// time limit.
fn send(request: Request, settings: &Settings) -> Result<Response, PluginError> {
    request
        .header("anthropic-version", wire::API_VERSION)
        .optional_api_key(settings.api_key_secret.as_deref(), &settings.key_auth)
        .optional_timeout_ms(settings.timeout_ms)
        .send()
        .map_err(|e| errors::from_transport(e, settings))
}

dmx_plugin_sdk::export_backend!(Anthropic);
