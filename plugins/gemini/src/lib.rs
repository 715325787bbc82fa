//! The `gemini` backend: the Gemini API's `generateContent`.
//!
//! `POST {base-url}/v1beta/models/{model}:generateContent` with the system prompt in
//! `systemInstruction`, the conversation in `contents`, and `generationConfig` holding the
//! temperature, `maxOutputTokens`, `responseMimeType: application/json` and the answer's
//! schema translated to the API's OpenAPI subset ([`schema`]). Token counts come from
//! `usageMetadata`. The API key is a host secret: the plugin names it (`api-key-secret`) and
//! the header it belongs in (`api-key-header`, `x-goog-api-key`), and the host adds it after
//! its checks, so the key never enters the plugin (nor the URL, where `?key=` would put it).
//! The health check fetches the default model (`GET /v1beta/models/{model}`), which proves
//! the address, the key and the model name at once.
//!
//! The wire format, the schema translation and the error mapping live in [`wire`],
//! [`schema`] and [`errors`] and are unit-tested on the build machine:
//!
//! ```text
//! cd plugins && cargo test --target x86_64-unknown-linux-gnu -p gemini
//! ```

mod errors;
mod schema;
mod settings;
mod wire;

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::backend::{BackendInfo, GenerateRequest, Generation, LlmBackend};
use dmx_plugin_sdk::http::{Request, Response};

use settings::{Settings, StructuredOutput};

/// The exported backend.
struct Gemini;

impl LlmBackend for Gemini {
    fn info() -> BackendInfo {
        let settings = Settings::load().ok();
        BackendInfo {
            id: "gemini".into(),
            display_name: "Google Gemini".into(),
            default_model: settings.as_ref().map(|s| s.default_model.clone()),
            supports_response_schema: settings
                .is_some_and(|s| s.structured_output == StructuredOutput::Schema),
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
        if !info
            .supported_generation_methods
            .iter()
            .any(|m| m == "generateContent")
        {
            return Err(PluginError::InvalidInput(format!(
                "{} ({}) does not support generateContent; set DMM_GEMINI_MODEL to a text model \
                 such as gemini-2.5-flash",
                info.name, settings.base_url
            )));
        }
        Ok(())
    }

    fn generate(request: GenerateRequest) -> Result<Generation, PluginError> {
        let settings = Settings::load()?;
        let schema = request.schema_json()?;
        let prepared = wire::generate_request(&request, &settings, schema.as_deref())?;
        if !prepared.dropped.is_empty() {
            dmx_plugin_sdk::log::debug!(
                "responseSchema leaves out JSON Schema keywords Gemini does not take: {}",
                prepared.dropped.join(", ")
            );
        }
        let model = request.model_or(&settings.default_model).to_owned();
        let max_tokens = prepared.body.generation_config.max_output_tokens;
        let response = send(
            Request::post(settings.url(&wire::generate_path(&model))).json(&prepared.body)?,
            &settings,
        )?;
        if !response.is_success() {
            return Err(errors::from_response(&response, &settings, &model));
        }
        let answer: wire::GenerateContentResponse = response.json()?;
        answer.into_generation(&model, prepared.structured, max_tokens)
    }
}

/// Sends `request` with the key (when one is configured) and the configured time limit.
fn send(request: Request, settings: &Settings) -> Result<Response, PluginError> {
    request
        .optional_api_key(settings.api_key_secret.as_deref(), &settings.key_auth)
        .optional_timeout_ms(settings.timeout_ms)
        .send()
        .map_err(|e| errors::from_transport(e, settings))
}

dmx_plugin_sdk::export_backend!(Gemini);
