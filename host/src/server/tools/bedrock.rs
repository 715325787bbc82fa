//! `test_aws_bedrock_connection`: the deep check of the Bedrock backend
//! ([`crate::plugins::check`], as `decision-matrix backends check bedrock` runs it), reported
//! the way the reference server reports its connection test.

use serde_json::Value;

use crate::plugins::PluginCatalog;
use crate::plugins::check::{BedrockTarget, CheckReport, aws_backend, bedrock_suggestion};

use super::super::error::ToolError;
use super::super::results::BedrockConnection;
use super::super::service::ToolResult;

/// A real, minimal Converse call through the Bedrock plugin of `catalog`, with what to fix
/// when it fails.
pub async fn test_connection(catalog: &PluginCatalog) -> ToolResult<BedrockConnection> {
    let backend = aws_backend(catalog);
    let BedrockTarget { region, model } = BedrockTarget::of(backend);
    let failed = |error: String, code: &str| {
        let suggestion = bedrock_suggestion(&error);
        let mut failure = ToolError::new("Bedrock test error", error);
        for (key, value) in [
            ("status", "error"),
            ("region", &region),
            ("model_tested", &model),
            ("error_code", code),
            ("suggestion", suggestion),
        ] {
            failure.extra.insert(key.into(), Value::from(value));
        }
        failure
    };
    let Some(backend) = backend else {
        return Err(failed(
            "the bedrock backend plugin is not loaded".into(),
            "NotLoaded",
        ));
    };
    match CheckReport::run(backend).await.error {
        None => Ok(BedrockConnection {
            status: "ok".to_owned(),
            message: "Bedrock connection successful".to_owned(),
            api_version: "converse".to_owned(),
            formatted_output: format!(
                "# ✅ Bedrock Connection Test: SUCCESS\n\n- **Region**: {region}\n- **Model**: {model}\n- **API**: Converse\n"
            ),
            region,
            model_tested: model,
        }),
        Some(error) => Err(failed(error, "ConnectionFailed")),
    }
}
