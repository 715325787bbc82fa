//! What to do with one line read on stdio: hand a message to the MCP service, answer a line
//! that is not one with the JSON-RPC error it deserves, or let it pass in silence.
//!
//! rmcp's own stdio transport drops a line that is not JSON (`NaN`, `1e309`, nesting past
//! serde_json's depth limit of 128, invalid UTF-8) without a word, so a client that sent a
//! request that way waits forever for its answer. JSON-RPC 2.0 wants an answer: `-32700`
//! (parse error) when the line is not JSON, `-32600` (invalid request) when it is JSON but
//! not a request, both with `"id": null` unless an id could be read. Notifications (no `id`)
//! and responses are never answered, valid or not: the spec forbids answering a
//! notification, and answering a broken response could start two peers answering each
//! other's errors forever.

use rmcp::RoleServer;
use rmcp::model::{ErrorCode, RequestId};
use rmcp::service::RxJsonRpcMessage;
use serde_json::{Value, json};

/// UTF-8 byte order mark, which RFC 8259 lets a parser ignore at the start.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The verdict on one line.
#[derive(Debug)]
pub enum Triage {
    /// A message for the service.
    Deliver(Box<RxJsonRpcMessage<RoleServer>>),
    /// Not a message: this error line (without its newline) is the answer.
    Answer(String),
    /// Blank, or something that must not be answered.
    Ignore,
}

/// A JSON-RPC error response, one line of JSON.
pub fn error_line(code: ErrorCode, message: &str, id: Option<&RequestId>) -> String {
    let id = id.map_or(Value::Null, |id| json!(id));
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code.0, "message": message}}).to_string()
}

/// The verdict on `line` (without its newline).
pub fn triage(line: &[u8]) -> Triage {
    let line = line.strip_prefix(BOM).unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Triage::Ignore;
    }
    let typed_error = match serde_json::from_slice::<RxJsonRpcMessage<RoleServer>>(line) {
        Ok(message) => return Triage::Deliver(Box::new(message)),
        Err(error) => error,
    };
    let value: Value = match serde_json::from_slice(line) {
        Ok(value) => value,
        Err(error) => {
            return Triage::Answer(error_line(
                ErrorCode::PARSE_ERROR,
                &format!("Parse error: the line is not JSON ({error})"),
                None,
            ));
        }
    };
    let Value::Object(object) = &value else {
        let what = if value.is_array() {
            "a batch (an array); send one JSON-RPC object per line"
        } else {
            "not a JSON-RPC object"
        };
        return Triage::Answer(error_line(
            ErrorCode::INVALID_REQUEST,
            &format!("Invalid Request: the message is {what}"),
            None,
        ));
    };
    let is_response = object.contains_key("result") || object.contains_key("error");
    if !object.contains_key("id") || (is_response && !object.contains_key("method")) {
        tracing::debug!(error = %typed_error, "ignoring a malformed notification or response on stdio");
        return Triage::Ignore;
    }
    let id = object
        .get("id")
        .and_then(|id| serde_json::from_value::<RequestId>(id.clone()).ok());
    Triage::Answer(error_line(
        ErrorCode::INVALID_REQUEST,
        &format!(
            "Invalid Request: {typed_error}; a request is {{\"jsonrpc\": \"2.0\", \"id\": a string or an integer, \"method\": a string, \"params\": an object}}"
        ),
        id.as_ref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(line: &str) -> Value {
        match triage(line.as_bytes()) {
            Triage::Answer(text) => serde_json::from_str(&text).expect("JSON"),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn lines_that_are_not_json_get_a_parse_error_with_a_null_id() {
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        let not_utf8 = [b'{', b'"', 0xff, b'"', b':', b'1', b'}'];
        for line in [
            "NaN",
            "1e309",
            "{\"jsonrpc\":\"2.0\",\"id\":1,",
            deep.as_str(),
        ] {
            let error = answer(line);
            assert_eq!(error["id"], Value::Null, "{line}");
            assert_eq!(error["error"]["code"], -32700, "{line}");
            let message = error["error"]["message"].as_str().expect("message");
            assert!(
                message.starts_with("Parse error: the line is not JSON"),
                "{message}"
            );
        }
        let Triage::Answer(text) = triage(&not_utf8) else {
            panic!("invalid UTF-8 is answered");
        };
        assert!(text.contains("-32700"), "{text}");
    }

    #[test]
    fn json_that_is_not_a_request_gets_an_invalid_request_error() {
        let batch = answer("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]");
        assert_eq!(batch["error"]["code"], -32600);
        assert!(
            batch["error"]["message"]
                .as_str()
                .expect("text")
                .contains("batch")
        );
        assert_eq!(answer("\"hello\"")["error"]["code"], -32600);
        let no_method = answer("{\"jsonrpc\":\"2.0\",\"id\":8}");
        assert_eq!(
            (no_method["id"].clone(), no_method["error"]["code"].clone()),
            (json!(8), json!(-32600))
        );
        let bad_version = answer("{\"jsonrpc\":\"1.0\",\"id\":\"a\",\"method\":\"ping\"}");
        assert_eq!(bad_version["id"], "a");
        assert_eq!(bad_version["error"]["code"], -32600);
        let bad_id = answer("{\"jsonrpc\":\"2.0\",\"id\":{\"x\":1},\"method\":\"ping\"}");
        assert_eq!(bad_id["id"], Value::Null);
    }

    #[test]
    fn messages_are_delivered_and_notifications_and_responses_never_answered() {
        assert!(matches!(
            triage(b"\xEF\xBB\xBF{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r"),
            Triage::Deliver(_)
        ));
        assert!(matches!(triage(b"  "), Triage::Ignore));
        for line in [
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\",\"params\":7}",
            "{\"jsonrpc\":\"1.0\",\"method\":\"notifications/initialized\"}",
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":5,\"error\":5}",
        ] {
            assert!(
                matches!(triage(line.as_bytes()), Triage::Ignore | Triage::Deliver(_)),
                "{line}"
            );
            assert!(
                !matches!(triage(line.as_bytes()), Triage::Answer(_)),
                "{line}"
            );
        }
    }
}
