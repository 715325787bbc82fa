//! The built-in `bedrock` backend: the AWS Bedrock Runtime Converse API.
//!
//! `POST {endpoint}/model/{model id}/converse` with the system prompt in `system`,
//! `inferenceConfig` for temperature and token limits, alternating user/assistant messages and,
//! for models that support it, the answer's JSON Schema in `outputConfig`. The plugin never
//! holds credentials: it asks the host to sign each request with SigV4 (service `bedrock`,
//! credentials from the AWS credential chain) or to add the Bedrock API key as a bearer token.
//! The health check makes the same tiny Converse call the reference server's
//! `test_aws_bedrock_connection` makes, which proves region, credentials and model access at
//! once.
//!
//! The wire format and error mapping live in [`wire`] and [`errors`] and are unit-tested on
//! the build machine:
//!
//! ```text
//! cd plugins && cargo test --target x86_64-unknown-linux-gnu -p bedrock
//! ```

mod errors;
mod settings;
mod wire;

use std::time::Duration;

use dmx_plugin_sdk::PluginError;
use dmx_plugin_sdk::backend::{
    BackendInfo, GenerateRequest, Generation, LlmBackend, Message, Role,
};
use dmx_plugin_sdk::http::Request;

use settings::{Auth, Settings};

/// The exported backend.
struct Bedrock;

impl LlmBackend for Bedrock {
    fn info() -> BackendInfo {
        let settings = Settings::load().ok();
        BackendInfo {
            id: "bedrock".into(),
            display_name: "AWS Bedrock".into(),
            default_model: settings.as_ref().map(|s| s.default_model.clone()),
            supports_response_schema: settings
                .is_some_and(|s| s.structured_output_for(&s.default_model)),
        }
    }

    fn check(deep: bool) -> Result<(), PluginError> {
        let settings = Settings::load()?;
        if !deep {
            return Ok(());
        }
        let probe = GenerateRequest {
            model: None,
            messages: vec![Message::new(Role::User, "Hi")],
            temperature: Some(0.1),
            max_tokens: Some(10),
            stop: Vec::new(),
            response_schema: None,
            extra: Vec::new(),
        };
        converse(&probe, &settings).map(|_| ())
    }

    fn generate(request: GenerateRequest) -> Result<Generation, PluginError> {
        let settings = Settings::load()?;
        converse(&request, &settings)
    }
}

fn converse(request: &GenerateRequest, settings: &Settings) -> Result<Generation, PluginError> {
    let model = request.model_or(&settings.default_model);
    let body = wire::converse_request(request, settings, model)?;
    let url = format!("{}{}", settings.endpoint, wire::converse_path(model));
    let http = Request::post(url).json(&body)?;
    let http = match &settings.auth {
        Auth::SigV4 { credentials } => {
            http.aws_sigv4(credentials.clone(), settings.region.clone(), "bedrock")
        }
        Auth::Bearer { secret } => http.bearer(secret.clone()),
    };
    let http = match settings.timeout_ms {
        Some(ms) => http.timeout(Duration::from_millis(u64::from(ms))),
        None => http,
    };
    let response = http
        .send()
        .map_err(|e| errors::from_transport(e, settings))?;
    if !response.is_success() {
        return Err(errors::from_response(&response, settings, model));
    }
    let answer: wire::ConverseResponse = response.json()?;
    answer.into_generation(model)
}

dmx_plugin_sdk::export_backend!(Bedrock);
