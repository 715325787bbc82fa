//! Arguments as clients and models send them: numbers, booleans and arrays as strings, read
//! as the Python server reads them (pydantic in lax mode), and what cannot be read refused as
//! an error result naming the parameter. The built server over stdio, driven by rmcp's
//! client and scored by the loopback judge.

use crate::common;

use std::collections::BTreeMap;

use common::client::{call, err, ok, stdio_client};
use common::server::llm;
use decision_matrix_testkit::judge;
use serde_json::{Value, json};

#[tokio::test]
async fn numbers_booleans_and_arrays_given_as_strings_are_read_as_such() {
    let llm = llm().await;
    let (client, _) = stdio_client(&llm).await;

    let started = ok(
        &client,
        "start_decision_analysis",
        json!({
            "topic": "Pick a database",
            "options": "[\"Postgres\", \"SQLite\"]",
            "initial_criteria":
                "[{\"name\": \"cost\", \"description\": \"Total cost\", \"weight\": \"2\"}]",
            "model_backend": "litellm",
            "temperature": "0.5",
        }),
    )
    .await;
    assert_eq!(started["options"], json!(["Postgres", "SQLite"]));
    assert_eq!(started["criteria_added"], json!(["cost"]));
    assert_eq!(started["temperature"], json!(0.5));
    let id = started["session_id"].as_str().expect("id").to_owned();

    let added = ok(
        &client,
        "add_criterion",
        json!({
            "session_id": id,
            "name": "latency",
            "description": "Read latency",
            "weight": " 1.5 ",
            "temperature": "0.2",
        }),
    )
    .await;
    assert_eq!(added["weight"], json!(1.5));

    let evaluated = ok(
        &client,
        "evaluate_options",
        json!({"session_id": id, "force": "true"}),
    )
    .await;
    assert_eq!(
        evaluated["summary"]["successful_scores"], 4,
        "{evaluated:?}"
    );

    let matrix = ok(&client, "get_decision_matrix", json!({"session_id": id})).await;
    assert_eq!(
        matrix["criteria_weights"],
        json!({"cost": 2.0, "latency": 1.5})
    );
    for option in ["Postgres", "SQLite"] {
        for criterion in ["cost", "latency"] {
            assert_eq!(
                matrix["matrix"][option][criterion]["raw_score"],
                json!(judge::expected_score(criterion, option))
            );
        }
    }

    // The temperatures given as strings are those the judge was asked with: the session's
    // for the initial criterion, its own for the added one.
    let temperatures: BTreeMap<String, Value> = llm
        .requests()
        .iter()
        .map(|request| {
            let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
            let (system, _) = judge::openai_prompt(&body);
            (judge::criterion_of(&system), body["temperature"].clone())
        })
        .collect();
    assert_eq!(
        temperatures,
        BTreeMap::from([
            ("cost".to_owned(), json!(0.5)),
            ("latency".to_owned(), json!(0.2)),
        ])
    );
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn what_cannot_be_read_is_an_error_result_naming_the_parameter() {
    let llm = llm().await;
    let (client, _) = stdio_client(&llm).await;
    let started = ok(
        &client,
        "start_decision_analysis",
        json!({"topic": "Pick a database", "options": ["Postgres", "SQLite"]}),
    )
    .await;
    let id = started["session_id"].as_str().expect("id").to_owned();

    let criterion = |weight: Value| json!({"session_id": id, "name": "cost", "description": "Total cost", "weight": weight});
    assert_eq!(
        err(&client, "add_criterion", criterion(json!("heavy"))).await,
        "Invalid value for parameter 'weight': expected a number (or a string holding one), \
         got the string \"heavy\""
    );
    let result = call(&client, "add_criterion", criterion(json!([2]))).await;
    let content = Value::Object(common::client::dict(&result));
    assert_eq!(result.is_error, Some(true));
    assert_eq!(content["context"], "Invalid arguments");
    assert_eq!(content["parameter"], "weight");
    assert!(content["timestamp"].is_string(), "{content}");

    // Text is never read as a number, nor a number as text.
    assert_eq!(
        err(
            &client,
            "start_decision_analysis",
            json!({"topic": 42, "options": ["A", "B"]})
        )
        .await,
        "Invalid value for parameter 'topic': expected a string, got the number 42"
    );
    assert_eq!(
        err(
            &client,
            "start_decision_analysis",
            json!({"topic": "t", "options": "A, B"})
        )
        .await,
        "Invalid value for parameter 'options': expected an array (or a string holding one as \
         JSON), got the string \"A, B\""
    );
    assert_eq!(
        err(
            &client,
            "start_decision_analysis",
            json!({
                "topic": "t",
                "options": ["A", "B"],
                "initial_criteria": "[{\"name\": \"c\", \"description\": \"d\", \"weight\": \"x\"}]",
            })
        )
        .await,
        "Invalid value for parameter 'initial_criteria[0].weight': expected a number (or a \
         string holding one), got the string \"x\""
    );
    assert_eq!(
        err(
            &client,
            "start_decision_analysis",
            json!({"options": ["A", "B"]})
        )
        .await,
        "Missing required parameter 'topic': expected a string"
    );
    assert_eq!(
        err(
            &client,
            "evaluate_options",
            json!({"session_id": id, "force": "maybe"})
        )
        .await,
        "Invalid value for parameter 'force': expected a boolean (or a string saying true or \
         false), got the string \"maybe\""
    );

    // The refused calls added nothing: the criterion is not a duplicate now.
    let added = ok(&client, "add_criterion", criterion(json!("2"))).await;
    assert_eq!(added["all_criteria"], json!(["cost"]));
    client.cancel().await.expect("close");
}
