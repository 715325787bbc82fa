//! `test_aws_bedrock_connection`: one tiny Converse call through the Bedrock backend
//! ([`crate::plugins::check::probe`], the request `decision-matrix backends check bedrock`
//! makes), reported the way the reference server reports its connection test: the length of
//! the answer on success; on failure the provider's error code and message, and what to do.

use serde_json::Value;

use crate::plugins::PluginCatalog;
use crate::plugins::check::{
    BedrockTarget, ProviderFailure, aws_backend, bedrock_suggestion, probe,
};

use super::super::error::ToolError;
use super::super::results::BedrockConnection;
use super::super::service::ToolResult;

/// A real, minimal Converse call through the Bedrock plugin of `catalog`, with what to fix
/// when it fails.
pub async fn test_connection(catalog: &PluginCatalog) -> ToolResult<BedrockConnection> {
    let backend = aws_backend(catalog);
    let BedrockTarget { region, model } = BedrockTarget::of(backend);
    let failed = |failure: ProviderFailure| {
        let suggestion = bedrock_suggestion(&failure.error);
        let mut error = ToolError::new("Bedrock test error", failure.error.as_str());
        error.formatted_output = format!(
            "## ❌ Error Encountered\n\n**Issue**: ❌ Bedrock connection failed: {}\n\n**Context**: Suggestion: {suggestion}\n",
            failure.error
        );
        for (key, value) in [
            ("status", "error"),
            ("region", &region),
            ("model_tested", &model),
            ("error_code", &failure.error_code),
            ("suggestion", suggestion),
        ] {
            error.extra.insert(key.into(), Value::from(value));
        }
        error
    };
    let Some(backend) = backend else {
        return Err(failed(ProviderFailure {
            error_code: "NotLoaded".to_owned(),
            error: "the bedrock backend plugin is not loaded".to_owned(),
        }));
    };
    match probe(backend).await {
        Ok(answer) => {
            let response_length = answer.chars().count();
            Ok(BedrockConnection {
                status: "ok".to_owned(),
                message: "Bedrock connection successful".to_owned(),
                api_version: "converse".to_owned(),
                formatted_output: format!(
                    "# ✅ Bedrock Connection Test: SUCCESS\n\n**Status**: OK\n**Region**: {region}\n**Model Tested**: {model}\n**Response Length**: {response_length} characters\n\nBedrock connection successful"
                ),
                region,
                model_tested: model,
                response_length,
            })
        }
        Err(error) => {
            // The whole error, plugin and sandbox detail included, is for the operator.
            tracing::warn!(%error, "Bedrock connection test failed");
            Err(failed(ProviderFailure::of(&error)))
        }
    }
}
