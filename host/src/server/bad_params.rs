//! Requests for an MCP method whose params do not fit it, answered `-32602` (invalid params)
//! with what was wrong.
//!
//! rmcp reads a request whose params do not parse as its method's (a `tools/call` whose
//! `arguments` is an array, say) as a custom request, and a server without custom methods
//! answers those `-32601` (method not found): a misleading answer about a method that
//! exists. Such a request arrives here instead, where the params are read again as the
//! method's own to say what is wrong with them.

use rmcp::ErrorData;
use rmcp::model::{
    CallToolRequest, CompleteRequest, CustomRequest, ErrorCode, GetPromptRequest,
    InitializeRequest, ListPromptsRequest, ListResourceTemplatesRequest, ListResourcesRequest,
    ListToolsRequest, PingRequest, ReadResourceRequest,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Why `request` (as method and params) does not read as a `T`, if it does not.
fn misfit<T: DeserializeOwned>(request: &Value) -> Option<String> {
    serde_json::from_value::<T>(request.clone())
        .err()
        .map(|error| error.to_string())
}

/// The error answering a custom request: `-32602` naming what is wrong when it is one of
/// the MCP methods this server serves with params that do not fit, else `-32601`.
pub fn error(request: &CustomRequest) -> ErrorData {
    let method = request.method.as_str();
    let as_sent = json!({"method": method, "params": request.params});
    let misfit = match method {
        "initialize" => misfit::<InitializeRequest>(&as_sent),
        "ping" => misfit::<PingRequest>(&as_sent),
        "tools/list" => misfit::<ListToolsRequest>(&as_sent),
        "tools/call" => misfit::<CallToolRequest>(&as_sent),
        "prompts/list" => misfit::<ListPromptsRequest>(&as_sent),
        "prompts/get" => misfit::<GetPromptRequest>(&as_sent),
        "resources/list" => misfit::<ListResourcesRequest>(&as_sent),
        "resources/templates/list" => misfit::<ListResourceTemplatesRequest>(&as_sent),
        "resources/read" => misfit::<ReadResourceRequest>(&as_sent),
        "completion/complete" => misfit::<CompleteRequest>(&as_sent),
        _ => None,
    };
    match misfit {
        Some(reason) => ErrorData::new(
            ErrorCode::INVALID_PARAMS,
            format!("Invalid params for {method}: {reason}"),
            None,
        ),
        None => ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use rmcp::RoleServer;
    use rmcp::model::{ClientRequest, JsonRpcMessage};
    use rmcp::service::RxJsonRpcMessage;

    use super::*;

    /// The custom request rmcp makes of `line`.
    fn custom(line: &str) -> CustomRequest {
        match serde_json::from_str::<RxJsonRpcMessage<RoleServer>>(line) {
            Ok(JsonRpcMessage::Request(request)) => match request.request {
                ClientRequest::CustomRequest(custom) => custom,
                other => panic!("{line} read as {other:?}"),
            },
            other => panic!("{line} read as {other:?}"),
        }
    }

    #[test]
    fn params_that_do_not_fit_a_known_method_are_invalid_params() {
        let error = error(&custom(
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"list_sessions","arguments":[1,2]}}"#,
        ));
        assert_eq!(error.code, ErrorCode::INVALID_PARAMS);
        assert!(
            error
                .message
                .starts_with("Invalid params for tools/call: invalid type: sequence"),
            "{}",
            error.message
        );
        let error = super::error(&custom(
            r#"{"jsonrpc":"2.0","id":8,"method":"resources/read","params":{"uri":5}}"#,
        ));
        assert_eq!(error.code, ErrorCode::INVALID_PARAMS);
    }

    #[test]
    fn a_method_that_does_not_exist_is_not_found() {
        let error = error(&custom(
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/dance","params":{}}"#,
        ));
        assert_eq!(error.code, ErrorCode::METHOD_NOT_FOUND);
        assert_eq!(error.message, "Method not found: tools/dance");
    }
}
