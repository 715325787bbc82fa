//! How a tool call ended, for the telemetry: answered, refused for the client's own input,
//! or failed on the server's side. Only the last counts toward the error-rate alert.
//!
//! By the time [`super::mcp::McpServer::call_tool`] sees a call's outcome, a
//! [`ToolError`](super::error::ToolError) has become an `isError` result; its [`Fault`]
//! travels in the result's `_meta` under [`FAULT_KEY`], which [`settle`] reads and removes,
//! so clients never see it. Arguments rmcp could not read for the tool are the client's too:
//! rmcp answers them with an `isError` result of its own (or, for a name that is not a tool,
//! an invalid-params error).

use rmcp::ErrorData;
use rmcp::model::{CallToolResponse, CallToolResult, ErrorCode, MetaObject};
use serde_json::Value;

use super::error::Fault;
use crate::telemetry::CallOutcome;

/// The `_meta` key that carries a failure's fault from the tool to the telemetry.
const FAULT_KEY: &str = "decision-matrix/fault";
/// How rmcp's text starts when a tool's arguments did not deserialize.
const BAD_ARGUMENTS: &str = "failed to deserialize parameters";

/// Marks `result`, a failure, as `fault`'s.
pub fn mark(mut result: CallToolResult, fault: Fault) -> CallToolResult {
    let name = match fault {
        Fault::Client => "client",
        Fault::Server => "server",
    };
    result
        .meta
        .get_or_insert_with(MetaObject::new)
        .0
        .insert(FAULT_KEY.to_owned(), Value::from(name));
    result
}

/// How `outcome` ended; removes the fault mark so the client gets the result as it was.
pub fn settle(outcome: &mut Result<CallToolResponse, ErrorData>) -> CallOutcome {
    match outcome {
        Ok(CallToolResponse::Complete(result)) if result.is_error == Some(true) => {
            let marked = result.meta.as_mut().and_then(|meta| {
                let fault = meta.0.remove(FAULT_KEY);
                fault.map(|fault| (fault, meta.0.is_empty()))
            });
            let fault = match marked {
                Some((fault, emptied)) => {
                    if emptied {
                        result.meta = None;
                    }
                    fault.as_str() == Some("client")
                }
                None => result.structured_content.is_none() && rmcp_refused_arguments(result),
            };
            if fault {
                CallOutcome::ClientError
            } else {
                CallOutcome::ServerError
            }
        }
        Ok(_) => CallOutcome::Ok,
        Err(error) if error.code == ErrorCode::INVALID_PARAMS => CallOutcome::ClientError,
        Err(_) => CallOutcome::ServerError,
    }
}

/// Whether `result` is rmcp's answer to arguments that do not fit the tool's parameters.
fn rmcp_refused_arguments(result: &CallToolResult) -> bool {
    result
        .content
        .first()
        .and_then(|block| block.as_text())
        .is_some_and(|text| text.text.starts_with(BAD_ARGUMENTS))
}

#[cfg(test)]
mod tests {
    use rmcp::model::ContentBlock;

    use super::*;

    fn failure(fault: Fault) -> Result<CallToolResponse, ErrorData> {
        let result = CallToolResult::structured_error(serde_json::json!({"error": "x"}));
        Ok(mark(result, fault).into())
    }

    #[test]
    fn the_fault_decides_and_its_mark_does_not_reach_the_client() {
        let mut client = failure(Fault::Client);
        assert_eq!(settle(&mut client), CallOutcome::ClientError);
        let Ok(CallToolResponse::Complete(result)) = client else {
            panic!("a result");
        };
        assert_eq!(result.meta, None);
        assert_eq!(
            settle(&mut failure(Fault::Server)),
            CallOutcome::ServerError
        );
        assert_eq!(
            settle(&mut Ok(CallToolResult::success(Vec::new()).into())),
            CallOutcome::Ok
        );
    }

    #[test]
    fn arguments_rmcp_could_not_read_are_the_clients() {
        let refused = CallToolResult::error(vec![ContentBlock::text(
            "failed to deserialize parameters: invalid type: string \"2\", expected f64",
        )]);
        assert_eq!(settle(&mut Ok(refused.into())), CallOutcome::ClientError);
        let unknown_tool = ErrorData::invalid_params("tool not found", None);
        assert_eq!(settle(&mut Err(unknown_tool)), CallOutcome::ClientError);
        let internal = ErrorData::internal_error("boom", None);
        assert_eq!(settle(&mut Err(internal)), CallOutcome::ServerError);
    }
}
