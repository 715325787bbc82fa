//! The lenient reading of tool arguments, against the tools' own schemas and hand-written ones.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::params::{AddCriterionArgs, EvaluateArgs, SensitivityArgs, StartArgs};

/// The input schema of `T` as the server's MCP library generates it.
fn schema_of<T: schemars::JsonSchema>() -> Map<String, Value> {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>();
    match serde_json::to_value(schema) {
        Ok(Value::Object(schema)) => schema,
        other => panic!("not an object schema: {other:?}"),
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(members) => members,
        other => panic!("not an object: {other}"),
    }
}

/// `arguments` as read against `schema`.
fn read(schema: &Map<String, Value>, arguments: Value) -> Result<Value, Mismatch> {
    let mut arguments = object(arguments);
    coerce(schema, Some(&mut arguments))?;
    Ok(Value::Object(arguments))
}

/// The message of the mismatch reading `arguments` against `schema`.
fn refused(schema: &Map<String, Value>, arguments: Value) -> String {
    match read(schema, arguments.clone()) {
        Err(mismatch) => mismatch.to_string(),
        Ok(read) => panic!("{arguments} was read as {read}"),
    }
}

fn criterion(extra: Value) -> Value {
    let mut arguments = object(json!({"session_id": "s", "name": "c", "description": "d"}));
    arguments.extend(object(extra));
    Value::Object(arguments)
}

#[test]
fn numbers_given_as_strings_are_read_as_numbers() {
    let schema = schema_of::<AddCriterionArgs>();
    let got = read(
        &schema,
        criterion(json!({"weight": "2", "temperature": " 0.5 "})),
    )
    .expect("read");
    assert_eq!(
        (&got["weight"], &got["temperature"]),
        (&json!(2.0), &json!(0.5))
    );
    let args: AddCriterionArgs = serde_json::from_value(got).expect("deserializes");
    assert_eq!((args.weight, args.temperature), (2.0, Some(0.5)));
    let got = read(&schema, criterion(json!({"weight": "1e-1"}))).expect("read");
    assert_eq!(got["weight"], json!(0.1));
}

#[test]
fn arrays_and_objects_given_as_json_text_are_read_and_their_contents_too() {
    let schema = schema_of::<StartArgs>();
    let got = read(
        &schema,
        json!({
            "topic": "t",
            "options": "[\"A\", \"B\"]",
            "initial_criteria": "[{\"name\":\"c\",\"description\":\"d\",\"weight\":\"2\"}]",
            "temperature": "0",
        }),
    )
    .expect("read");
    assert_eq!(got["options"], json!(["A", "B"]));
    assert_eq!(
        got["initial_criteria"],
        json!([{"name": "c", "description": "d", "weight": 2.0}])
    );
    let args: StartArgs = serde_json::from_value(got).expect("deserializes");
    let criteria = args.initial_criteria.expect("criteria");
    assert_eq!(
        (criteria.len(), criteria[0].weight, args.temperature),
        (1, 2.0, 0.0)
    );

    let schema = schema_of::<SensitivityArgs>();
    let got = read(
        &schema,
        json!({"session_id": "s", "weights": "{\"cost\": \"3\", \"speed\": 0.5}"}),
    )
    .expect("read");
    assert_eq!(got["weights"], json!({"cost": 3.0, "speed": 0.5}));
}

#[test]
fn booleans_are_read_from_the_words_and_numbers_pydantic_reads() {
    let schema = schema_of::<EvaluateArgs>();
    for (given, read_as) in [
        (json!("true"), true),
        (json!("FALSE"), false),
        (json!(" yes "), true),
        (json!("off"), false),
        (json!("1"), true),
        (json!(0), false),
        (json!(1.0), true),
        (json!(true), true),
    ] {
        let got = read(&schema, json!({"session_id": "s", "force": given})).expect("read");
        assert_eq!(got["force"], json!(read_as), "{given}");
    }
    assert_eq!(
        refused(&schema, json!({"session_id": "s", "force": "maybe"})),
        "Invalid value for parameter 'force': expected a boolean (or a string saying true \
         or false), got the string \"maybe\""
    );
    assert!(refused(&schema, json!({"session_id": "s", "force": 2})).contains("the number 2"));
}

#[test]
fn what_a_lax_reading_cannot_make_a_value_of_is_refused_naming_the_parameter() {
    let schema = schema_of::<AddCriterionArgs>();
    assert_eq!(
        refused(&schema, criterion(json!({"weight": "abc"}))),
        "Invalid value for parameter 'weight': expected a number (or a string holding one), \
         got the string \"abc\""
    );
    // pydantic reads no number into a string, and this reader no boolean into a number.
    assert_eq!(
        refused(&schema, criterion(json!({"name": 5}))),
        "Invalid value for parameter 'name': expected a string, got the number 5"
    );
    assert!(refused(&schema, criterion(json!({"weight": true}))).contains("the boolean true"));
    assert!(refused(&schema, criterion(json!({"weight": "NaN"}))).contains("\"NaN\""));
    assert!(refused(&schema, criterion(json!({"weight": ""}))).contains("the string \"\""));
    // A weight may be omitted but not null; a temperature may be null.
    assert!(refused(&schema, criterion(json!({"weight": null}))).ends_with("got null"));
    let got = read(&schema, criterion(json!({"temperature": null}))).expect("read");
    assert_eq!(got["temperature"], Value::Null);
    assert_eq!(
        refused(&schema, criterion(json!({"temperature": [1]}))),
        "Invalid value for parameter 'temperature': expected a number (or a string holding \
         one) or null, got an array"
    );

    let schema = schema_of::<StartArgs>();
    assert_eq!(
        refused(&schema, json!({"topic": "t", "options": ["A", 2]})),
        "Invalid value for parameter 'options[1]': expected a string, got the number 2"
    );
    assert_eq!(
        refused(&schema, json!({"topic": "t", "options": "A, B"})),
        "Invalid value for parameter 'options': expected an array (or a string holding one \
         as JSON), got the string \"A, B\""
    );
    assert_eq!(
        refused(
            &schema,
            json!({"topic": "t", "options": ["A", "B"], "initial_criteria": [{"name": "c", "weight": "heavy"}]})
        ),
        "Invalid value for parameter 'initial_criteria[0].weight': expected a number (or a \
         string holding one), got the string \"heavy\""
    );
    // JSON text of the wrong shape is no better than any other text.
    assert!(refused(&schema, json!({"topic": "t", "options": "{\"A\": 1}"})).contains("'options'"));
}

#[test]
fn a_missing_required_parameter_is_named() {
    let schema = schema_of::<StartArgs>();
    assert_eq!(
        refused(&schema, json!({"options": ["A", "B"]})),
        "Missing required parameter 'topic': expected a string"
    );
    let mismatch = coerce(&schema, None).expect_err("nothing given");
    assert_eq!(
        (mismatch.parameter.as_str(), mismatch.given),
        ("topic", None)
    );
    assert_eq!(coerce(&schema_of::<NoArgs>(), None), Ok(()));
}

/// A tool without parameters.
#[derive(schemars::JsonSchema)]
struct NoArgs {}

/// Integer parameters, as a page of a list might take.
#[derive(schemars::JsonSchema)]
#[expect(dead_code, reason = "only its schema is used")]
struct Page {
    limit: Option<u32>,
    offset: i8,
}

#[test]
fn integers_are_whole_and_within_their_format() {
    let schema = schema_of::<Page>();
    for (given, read_as) in [
        (json!("25"), json!(25)),
        (json!(" 7 "), json!(7)),
        (json!(2.0), json!(2)),
        (json!("3.0"), json!(3)),
        (json!("1e2"), json!(100)),
        (json!(null), json!(null)),
        (json!("null"), json!(null)),
    ] {
        let got = read(&schema, json!({"limit": given, "offset": "-3"})).expect("read");
        assert_eq!(
            (&got["limit"], &got["offset"]),
            (&read_as, &json!(-3)),
            "{given}"
        );
    }
    for given in [
        json!("2.5"),
        json!(2.5),
        json!(-1),
        json!("4294967296"),
        json!("ten"),
    ] {
        let message = refused(&schema, json!({"limit": given, "offset": 0}));
        assert!(
            message.contains(
                "expected an integer from 0 to 4294967295 (or a string holding one) or null"
            ),
            "{given}: {message}"
        );
    }
    assert!(refused(&schema, json!({"offset": 128})).contains("from -128 to 127"));

    // As published, with the range as bounds instead of a format.
    let schema = object(json!({
        "type": "object",
        "properties": {"limit": {"type": "integer", "minimum": 0, "maximum": 65535.0}},
    }));
    assert_eq!(
        read(&schema, json!({"limit": "65535"})),
        Ok(json!({"limit": 65535}))
    );
    assert!(refused(&schema, json!({"limit": -1})).contains("from 0 to 65535"));
}

#[test]
fn type_lists_and_unions_are_read_alike_and_a_string_stays_a_string_where_allowed() {
    for nullable in [
        json!({"type": ["number", "null"]}),
        json!({"anyOf": [{"type": "number"}, {"type": "null"}]}),
        json!({"oneOf": [{"$ref": "#/$defs/N"}, {"type": "null"}]}),
    ] {
        let schema = object(json!({
            "type": "object",
            "properties": {"x": nullable, "s": {"type": ["string", "null"]}},
            "$defs": {"N": {"type": "number"}},
        }));
        let got = read(&schema, json!({"x": "0.5", "s": "null"})).expect("read");
        assert_eq!(got, json!({"x": 0.5, "s": "null"}));
        let got = read(&schema, json!({"x": "null", "s": null})).expect("read");
        assert_eq!(got, json!({"x": null, "s": null}));
    }
}

#[test]
fn values_of_the_right_types_and_unknown_parameters_are_left_alone() {
    let schema = schema_of::<StartArgs>();
    let given = json!({
        "topic": "42",
        "options": ["1", "true"],
        "initial_criteria": [{"name": "c", "description": "d", "weight": 3, "temperature": null}],
        "temperature": 1,
        "model_name": "null",
        "unknown": "7",
    });
    assert_eq!(read(&schema, given.clone()), Ok(given));
}

#[test]
fn schemas_that_constrain_nothing_or_refer_in_circles_take_anything() {
    let schema = object(json!({
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A"}, "b": true, "c": {}, "d": {"$ref": "https://elsewhere/x"}},
        "$defs": {"A": {"$ref": "#/$defs/A"}},
    }));
    let given = json!({"a": "1", "b": [1], "c": {"x": 1}, "d": 5});
    assert_eq!(read(&schema, given.clone()), Ok(given));
}

#[test]
fn a_long_string_is_cut_short_in_the_message() {
    let schema = schema_of::<AddCriterionArgs>();
    let long = "x".repeat(500);
    let message = refused(&schema, criterion(json!({"weight": long})));
    assert!(
        message.ends_with(&format!("\"{}…\"", "x".repeat(40))),
        "{message}"
    );
}

proptest! {
    #[test]
    fn any_finite_number_written_as_text_reads_as_itself(n in proptest::num::f64::NORMAL | proptest::num::f64::ZERO) {
        let schema = schema_of::<AddCriterionArgs>();
        let got = read(&schema, criterion(json!({"weight": n.to_string()}))).expect("read");
        prop_assert_eq!(got["weight"].as_f64(), Some(n));
    }

    /// Whatever is given, arguments read without a mismatch deserialize: no type error is
    /// left for the deserializer to report without the parameter's name.
    #[test]
    fn arguments_read_without_a_mismatch_deserialize(
        topic in arbitrary_json(),
        options in arbitrary_json(),
        criteria in arbitrary_json(),
        temperature in arbitrary_json(),
    ) {
        let schema = schema_of::<StartArgs>();
        let given = json!({
            "topic": topic,
            "options": options,
            "initial_criteria": criteria,
            "temperature": temperature,
        });
        if let Ok(read) = read(&schema, given) {
            let args = serde_json::from_value::<StartArgs>(read.clone());
            prop_assert!(args.is_ok(), "{read}: {args:?}");
        }
    }
}

/// Small JSON values of every kind, nested a little, with strings that look like numbers,
/// booleans and JSON.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("2".to_owned()),
            Just("true".to_owned()),
            Just("[\"A\",\"B\"]".to_owned()),
            Just("[{\"weight\":\"x\"}]".to_owned()),
            Just("[{\"name\":\"c\",\"weight\":\"2\"}]".to_owned()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("name".to_owned()),
                    Just("weight".to_owned()),
                    "[a-z]{1,8}"
                ],
                inner,
                0..4
            )
            .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}
