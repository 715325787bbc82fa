//! The built-in `litellm` backend: any OpenAI-compatible chat completions API.
//!
//! `POST {base-url}/chat/completions` to a LiteLLM proxy, OpenAI, vLLM, llama.cpp's server or
//! anything else that speaks the same format; with `api-style = "azure"`, to an Azure OpenAI
//! deployment (`/openai/deployments/{model}/chat/completions?api-version=`, key in `api-key`). The answer's JSON Schema goes in
//! `response_format` in the nested `json_schema` form; token counts come from `usage`. The
//! API key is a host secret: the plugin names it (`api-key-secret`) and the host adds the
//! `Authorization` header after its checks, so the key never enters the plugin. The health
//! check lists the models (`GET /models`), which proves both the address and the key.
//!
//! The wire format and error mapping live in [`wire`] and [`errors`] and are unit-tested on
//! the build machine:
//!
//! ```text
//! cd plugins && cargo test --target x86_64-unknown-linux-gnu -p litellm
//! ```

mod errors;
mod settings;
mod wire;

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::backend::{BackendInfo, GenerateRequest, Generation, LlmBackend};
use dmx_plugin_sdk::http::{Request, Response};

use settings::{ResponseFormat, Settings};

/// The exported backend.
struct Litellm;

impl LlmBackend for Litellm {
    fn info() -> BackendInfo {
        let settings = Settings::load().ok();
        BackendInfo {
            id: "litellm".into(),
            display_name: "LiteLLM / OpenAI-compatible".into(),
            default_model: settings.as_ref().and_then(|s| s.default_model.clone()),
            supports_response_schema: settings
                .is_some_and(|s| s.response_format == ResponseFormat::JsonSchema),
        }
    }

    fn check(deep: bool) -> Result<(), PluginError> {
        let settings = Settings::load()?;
        if !deep {
            return Ok(());
        }
        let response = send(Request::get(settings.models_url()), &settings)?;
        if !response.is_success() {
            let model = settings.default_model.as_deref().unwrap_or_default();
            return Err(errors::from_response(&response, &settings, model));
        }
        let models: wire::ModelList = response.json()?;
        // Not an error: llama.cpp's server lists one alias yet answers to any model name, and
        // a proxy may route names it does not list.
        if let Some(default) = &settings.default_model
            && !models.data.iter().any(|m| &m.id == default)
        {
            dmx_plugin_sdk::log::warn!(
                "{} does not list the default model '{default}' among its {} models",
                settings.base_url,
                models.data.len()
            );
        }
        Ok(())
    }

    fn generate(request: GenerateRequest) -> Result<Generation, PluginError> {
        let settings = Settings::load()?;
        let schema = request.schema_json()?;
        let body = wire::chat_request(&request, &settings, schema.as_deref())?;
        let model = body.model.to_owned();
        let response = send(
            Request::post(settings.chat_url(&model)).json(&body)?,
            &settings,
        )?;
        if !response.is_success() {
            return Err(errors::from_response(&response, &settings, &model));
        }
        let answer: wire::ChatResponse = response.json()?;
        answer.into_generation(&model)
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

dmx_plugin_sdk::export_backend!(Litellm);
