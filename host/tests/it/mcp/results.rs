//! What the tools answer, as a client reads it: options and criteria in the order they were
//! added (in the raw JSON text, whatever map type a client parses into), and the Bedrock
//! connection test against a loopback Converse endpoint.

use rmcp::RoleClient;
use rmcp::service::RunningService;
use serde_json::{Value, json};

use crate::common::client::{Client, call, http_client, ok, stdio_client};
use crate::common::server::{http_server_with, llm};
use decision_matrix_testkit::MockServer;

/// A JSON document as its text has it: object keys in the order written, whatever map type
/// `serde_json::Value` is built with.
enum Written {
    Object(Vec<(String, Written)>),
    Other,
}

impl Written {
    fn parse(text: &str) -> Written {
        serde_json::from_str(text).expect("valid JSON")
    }

    /// The value at `path` (object keys).
    fn at(&self, path: &[&str]) -> &Written {
        path.iter().fold(self, |value, key| match value {
            Written::Object(entries) => entries
                .iter()
                .find_map(|(k, v)| (k == key).then_some(v))
                .unwrap_or_else(|| panic!("no {key} in {path:?}")),
            Written::Other => panic!("{key} of {path:?} is not in an object"),
        })
    }

    /// The keys of the object at `path`, in the order written.
    fn keys(&self, path: &[&str]) -> Vec<&str> {
        match self.at(path) {
            Written::Object(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
            Written::Other => panic!("{path:?} is not an object"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Written {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Written, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Written;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Written, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Written::Object(entries))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Written, A::Error> {
                while seq.next_element::<Written>()?.is_some() {}
                Ok(Written::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Written, E> {
                Ok(Written::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Written, E> {
                Ok(Written::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Written, E> {
                Ok(Written::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Written, E> {
                Ok(Written::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Written, E> {
                Ok(Written::Other)
            }
            fn visit_unit<E>(self) -> Result<Written, E> {
                Ok(Written::Other)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The JSON text a tool call answered with (the text content, which carries the structured
/// content as the server wrote it).
async fn answer_text(
    client: &RunningService<RoleClient, Client>,
    tool: &str,
    args: Value,
) -> String {
    let result = call(client, tool, args.clone()).await;
    assert_ne!(
        result.is_error,
        Some(true),
        "{tool}({args}) failed: {result:?}"
    );
    result
        .content
        .first()
        .and_then(|block| block.as_text())
        .map(|text| text.text.clone())
        .unwrap_or_else(|| panic!("{tool}: no text content: {result:?}"))
}

#[tokio::test]
async fn results_list_options_and_criteria_in_the_order_they_were_added() {
    let llm = llm().await;
    let (client, _) = stdio_client(&llm).await;
    let started = ok(
        &client,
        "start_decision_analysis",
        json!({
            "topic": "Pick a database",
            "options": ["Zeta", "Alpha", "Mid"],
            "model_backend": "litellm",
            "initial_criteria": [{"name": "speed", "description": "Read latency"}],
        }),
    )
    .await;
    let id = started["session_id"].as_str().expect("id").to_owned();
    for criterion in ["cost", "beauty"] {
        ok(
            &client,
            "add_criterion",
            json!({"session_id": id, "name": criterion, "description": criterion}),
        )
        .await;
    }
    ok(
        &client,
        "add_option",
        json!({"session_id": id, "option_name": "Beta"}),
    )
    .await;
    let options = ["Zeta", "Alpha", "Mid", "Beta"];
    let criteria = ["speed", "cost", "beauty"];
    // Scores by hand: the order must not depend on an evaluation.
    for (o, option) in options.iter().enumerate() {
        for (c, criterion) in criteria.iter().enumerate() {
            ok(
                &client,
                "set_score",
                json!({"session_id": id, "option_name": option, "criterion_name": criterion, "score": 1 + o + c}),
            )
            .await;
        }
    }
    let session = json!({"session_id": id});

    let matrix =
        Written::parse(&answer_text(&client, "get_decision_matrix", session.clone()).await);
    assert_eq!(matrix.keys(&["matrix"]), options);
    for option in options {
        assert_eq!(matrix.keys(&["matrix", option]), criteria, "{option}");
    }
    assert_eq!(matrix.keys(&["criteria_weights"]), criteria);

    let exported = ok(&client, "export_matrix", session.clone()).await;
    let content = Written::parse(exported["content"].as_str().expect("JSON text"));
    assert_eq!(content.keys(&["matrix"]), options);
    assert_eq!(content.keys(&["matrix", "Beta"]), criteria);
    assert_eq!(content.keys(&["criteria_weights"]), criteria);

    // What-if weights come back in the order given.
    let sensitivity = Written::parse(
        &answer_text(
            &client,
            "analyze_sensitivity",
            json!({"session_id": id, "weights": {"cost": 2.0, "speed": 0.5}}),
        )
        .await,
    );
    assert_eq!(sensitivity.keys(&["criteria_weights"]), criteria);
    assert_eq!(sensitivity.keys(&["what_if", "weights"]), ["cost", "speed"]);
    client.cancel().await.expect("close");
}

/// Answers Bedrock Runtime's Converse: access denied for the model `denied`, a reply for any
/// other.
async fn converse(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path() == "/model/denied/converse" {
        return (
            axum::http::StatusCode::FORBIDDEN,
            [("x-amzn-ErrorType", "AccessDeniedException")],
            axum::Json(json!({"message": "You don't have access to the model with the specified model ID."})),
        )
            .into_response();
    }
    axum::Json(json!({
        "output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4},
    }))
    .into_response()
}

#[tokio::test]
async fn the_bedrock_connection_test_says_what_it_called_and_what_to_fix() {
    let llm = llm().await;
    let bedrock = MockServer::start(axum::Router::new().fallback(converse)).await;
    let endpoint = bedrock.base_url();
    let aws = [
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];

    let (_server, url, _) = http_server_with(&llm, &[], &aws).await;
    let (client, _) = http_client(&url).await;
    let tested = ok(&client, "test_aws_bedrock_connection", json!({})).await;
    assert_eq!(tested["status"], "ok", "{tested:?}");
    assert_eq!(tested["region"], "us-east-1");
    assert_eq!(
        tested["model_tested"],
        "anthropic.claude-3-sonnet-20240229-v1:0"
    );
    assert_eq!(tested["api_version"], "converse");
    // The answer was "ok".
    assert_eq!(tested["response_length"], 2, "{tested:?}");
    let paths: Vec<String> = bedrock
        .requests()
        .iter()
        .map(|r| r.uri.path().to_owned())
        .collect();
    assert_eq!(
        paths,
        ["/model/anthropic.claude-3-sonnet-20240229-v1%3A0/converse"]
    );
    client.cancel().await.expect("close");

    let denied = [aws.as_slice(), &[("BEDROCK_MODEL_ID", "denied")]].concat();
    let (_server, url, _) = http_server_with(&llm, &[], &denied).await;
    let (client, _) = http_client(&url).await;
    let result = call(&client, "test_aws_bedrock_connection", json!({})).await;
    assert_eq!(result.is_error, Some(true), "{result:?}");
    let failure = Value::Object(crate::common::client::dict(&result));
    assert_eq!(failure["status"], "error", "{failure}");
    // The provider's error type, and its message without the plugin host's framing.
    assert_eq!(failure["error_code"], "AccessDeniedException", "{failure}");
    assert_eq!(failure["region"], "us-east-1");
    assert_eq!(failure["model_tested"], "denied");
    let error = failure["error"].as_str().expect("error");
    assert!(
        error.starts_with("Bedrock AccessDeniedException: You don't have access"),
        "{failure}"
    );
    for internal in ["plugin ", "bedrock@", "upstream error", "wasm"] {
        assert!(!error.contains(internal), "{internal}: {failure}");
    }
    assert_eq!(
        failure["suggestion"],
        "Enable model access in AWS Console: Bedrock > Model access > Manage model access"
    );
    client.cancel().await.expect("close");
}
