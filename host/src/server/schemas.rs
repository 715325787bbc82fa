//! The tools' schemas as they are published: portable to every client, and offering the
//! installed backends.
//!
//! The schema generator writes a nullable value as a list of types (`"type": ["number",
//! "null"]`). That is legal JSON Schema, but clients that map a schema onto a dialect with
//! one type per schema (the OpenAPI subset of Gemini's function declarations, the MCP
//! Inspector's conversion of `--tool-arg` strings) cannot read it; [`portable`] writes each
//! as `anyOf` branches of one type each, as the Python server's schemas have them. It also
//! writes the integer formats only this generator knows (`uint32`, `uint`, ...), which
//! validators report as unknown, as the range they stand for (`minimum`, `maximum`).
//! [`offer_backends`] lists the installed backends as the `enum` of `model_backend`, as the
//! Python server's schema lists its three.

use std::sync::Arc;

use decision_matrix_core::lenient::integer_format_range;
use rmcp::handler::server::router::tool::ToolRouter;
use serde_json::{Map, Value};

/// Keywords that describe a value rather than constrain it: they stay beside the `anyOf`.
const ANNOTATIONS: [&str; 8] = [
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
];

/// Keywords whose values are schemas.
const SUBSCHEMA: [&str; 12] = [
    "items",
    "additionalProperties",
    "additionalItems",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "contentSchema",
];

/// Keywords whose values are lists of schemas.
const SUBSCHEMA_LISTS: [&str; 4] = ["anyOf", "oneOf", "allOf", "prefixItems"];

/// Keywords whose values map names to schemas.
const SUBSCHEMA_MAPS: [&str; 5] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// Integer formats validators know (OpenAPI's): kept as they are.
const KNOWN_INTEGER_FORMATS: [&str; 2] = ["int32", "int64"];

/// Tools whose `model_backend` also takes `""`: there it means "the session's again".
const BACKEND_CLEARED_BY_EMPTY: [&str; 1] = ["update_criterion"];

/// The types a keyword constrains, when it constrains values of some types only.
fn constrained_types(keyword: &str) -> Option<&'static [&'static str]> {
    Some(match keyword {
        "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "multipleOf" => {
            &["number", "integer"]
        }
        "minLength" | "maxLength" | "pattern" | "contentEncoding" | "contentMediaType" => {
            &["string"]
        }
        "items" | "prefixItems" | "additionalItems" | "unevaluatedItems" | "minItems"
        | "maxItems" | "uniqueItems" | "contains" | "minContains" | "maxContains" => &["array"],
        "properties"
        | "patternProperties"
        | "additionalProperties"
        | "unevaluatedProperties"
        | "required"
        | "propertyNames"
        | "minProperties"
        | "maxProperties"
        | "dependentRequired"
        | "dependentSchemas" => &["object"],
        _ => return None,
    })
}

/// Whether `value` is of the JSON Schema type `name`.
fn is_of_type(value: &Value, name: &str) -> bool {
    match value {
        Value::Null => name == "null",
        Value::Bool(_) => name == "boolean",
        Value::Number(n) => name == "number" || (name == "integer" && (n.is_i64() || n.is_u64())),
        Value::String(_) => name == "string",
        Value::Array(_) => name == "array",
        Value::Object(_) => name == "object",
    }
}

/// Rewrites every list of types in `schema`, at any depth, as `anyOf` branches of one type
/// each: each branch carries the constraints that apply to its type (a `null` branch none),
/// and the annotations stay beside the `anyOf`. An integer format validators do not know
/// becomes the range it stands for.
pub fn portable(schema: &mut Map<String, Value>) {
    split_type_list(schema);
    integer_format_as_bounds(schema);
    for keyword in SUBSCHEMA {
        if let Some(Value::Object(sub)) = schema.get_mut(keyword) {
            portable(sub);
        }
    }
    for keyword in SUBSCHEMA_LISTS {
        if let Some(Value::Array(subs)) = schema.get_mut(keyword) {
            subs.iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(portable);
        }
    }
    for keyword in SUBSCHEMA_MAPS {
        if let Some(Value::Object(subs)) = schema.get_mut(keyword) {
            subs.values_mut()
                .filter_map(Value::as_object_mut)
                .for_each(portable);
        }
    }
}

/// `{"type": [A, B], ...}` as `{"anyOf": [{"type": A, ...}, {"type": B, ...}]}`, unless the
/// node already has an `anyOf` to keep.
fn split_type_list(node: &mut Map<String, Value>) {
    let Some(Value::Array(types)) = node.get("type") else {
        return;
    };
    if node.contains_key("anyOf") {
        return;
    }
    let types: Vec<String> = types
        .iter()
        .filter_map(|name| name.as_str().map(str::to_owned))
        .collect();
    let mut constraints = std::mem::take(node);
    constraints.remove("type");
    for keyword in ANNOTATIONS {
        if let Some(annotation) = constraints.remove(keyword) {
            node.insert(keyword.to_owned(), annotation);
        }
    }
    let branches = types
        .iter()
        .map(|name| {
            let mut branch = Map::new();
            branch.insert("type".to_owned(), Value::from(name.as_str()));
            if name != "null" {
                for (keyword, value) in &constraints {
                    if constrained_types(keyword).is_none_or(|types| types.contains(&name.as_str()))
                    {
                        branch.insert(keyword.clone(), of_type(keyword, value, name));
                    }
                }
            }
            Value::Object(branch)
        })
        .collect();
    node.insert("anyOf".to_owned(), Value::Array(branches));
}

/// `{"format": "uint32", ...}` as `{"minimum": 0, "maximum": 4294967295, ...}`, keeping
/// tighter bounds.
fn integer_format_as_bounds(node: &mut Map<String, Value>) {
    let Some(format) = node.get("format").and_then(Value::as_str) else {
        return;
    };
    if KNOWN_INTEGER_FORMATS.contains(&format) {
        return;
    }
    let Some((low, high)) = integer_format_range(format) else {
        return;
    };
    node.remove("format");
    let bound = |value: i128| {
        i64::try_from(value)
            .map(Value::from)
            .or_else(|_| u64::try_from(value).map(Value::from))
            .unwrap_or(Value::Null)
    };
    let minimum = node.get("minimum").and_then(Value::as_f64);
    if minimum.is_none_or(|minimum| minimum < low as f64) {
        node.insert("minimum".to_owned(), bound(low));
    }
    let maximum = node.get("maximum").and_then(Value::as_f64);
    if maximum.is_none_or(|maximum| maximum > high as f64) {
        node.insert("maximum".to_owned(), bound(high));
    }
}

/// `value` of `keyword` for the branch of type `name`: an `enum` keeps only that type's values.
fn of_type(keyword: &str, value: &Value, name: &str) -> Value {
    match (keyword, value) {
        ("enum", Value::Array(values)) => Value::Array(
            values
                .iter()
                .filter(|value| is_of_type(value, name))
                .cloned()
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// The schema of string values in `schema`: itself, or its `anyOf` branch of type string.
fn string_schema(schema: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    let is_string =
        |schema: &Map<String, Value>| schema.get("type").and_then(Value::as_str) == Some("string");
    if is_string(schema) {
        return Some(schema);
    }
    schema
        .get_mut("anyOf")?
        .as_array_mut()?
        .iter_mut()
        .filter_map(Value::as_object_mut)
        .find(|branch| is_string(branch))
}

/// Lists `backends` (the installed backends' ids) as the values `model_backend` takes in the
/// input schema of `tool`, if it has that parameter and some backend is installed (an empty
/// `enum` would allow no value at all, where the tool's own message says what is wrong).
pub fn offer_backends(tool: &str, schema: &mut Map<String, Value>, backends: &[&str]) {
    if backends.is_empty() {
        return;
    }
    let Some(property) = schema
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .and_then(|properties| properties.get_mut("model_backend"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let Some(strings) = string_schema(property) else {
        return;
    };
    let mut choices: Vec<Value> = backends.iter().map(|id| Value::from(*id)).collect();
    if BACKEND_CLEARED_BY_EMPTY.contains(&tool) {
        choices.push(Value::from(""));
    }
    strings.insert("enum".to_owned(), Value::Array(choices));
}

/// Every tool's input and output schema in `router` made [`portable`], with `model_backend`
/// offering `backends`.
pub fn publish<S>(router: &mut ToolRouter<S>, backends: &[&str]) {
    for route in router.map.values_mut() {
        let tool = &mut route.attr;
        let input = Arc::make_mut(&mut tool.input_schema);
        portable(input);
        offer_backends(&tool.name, input, backends);
        if let Some(output) = tool.output_schema.as_mut() {
            portable(Arc::make_mut(output));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(members) => members,
            other => panic!("not an object: {other}"),
        }
    }

    fn made_portable(schema: Value) -> Value {
        let mut schema = object(schema);
        portable(&mut schema);
        Value::Object(schema)
    }

    #[test]
    fn a_nullable_value_becomes_two_branches_with_the_annotations_beside_them() {
        let schema = made_portable(json!({
            "type": "object",
            "properties": {
                "temperature": {
                    "description": "Sampling temperature.",
                    "type": ["number", "null"],
                    "format": "double",
                    "minimum": 0.0,
                    "maximum": 2.0,
                    "default": null,
                },
            },
        }));
        assert_eq!(
            schema["properties"]["temperature"],
            json!({
                "description": "Sampling temperature.",
                "default": null,
                "anyOf": [
                    {"type": "number", "format": "double", "minimum": 0.0, "maximum": 2.0},
                    {"type": "null"},
                ],
            })
        );
    }

    #[test]
    fn each_branch_of_a_wider_union_keeps_only_its_own_constraints() {
        let schema = made_portable(json!({
            "type": ["string", "array", "null"],
            "maxLength": 5,
            "items": {"type": ["integer", "null"]},
            "enum": ["a", ["b"], null],
        }));
        assert_eq!(
            schema,
            json!({"anyOf": [
                {"type": "string", "maxLength": 5, "enum": ["a"]},
                {
                    "type": "array",
                    "items": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                    "enum": [["b"]],
                },
                {"type": "null"},
            ]})
        );
    }

    #[test]
    fn lists_are_split_at_every_depth_and_data_is_left_alone() {
        let schema = made_portable(json!({
            "type": "object",
            "properties": {"list": {"type": "array", "items": {"$ref": "#/$defs/Entry"}}},
            "$defs": {
                "Entry": {
                    "type": "object",
                    "properties": {"weight": {"type": ["number", "null"]}},
                    "additionalProperties": {"type": ["string", "null"]},
                },
            },
            "default": {"type": ["not", "a schema"]},
        }));
        let entry = &schema["$defs"]["Entry"];
        assert_eq!(
            entry["properties"]["weight"]["anyOf"][0],
            json!({"type": "number"})
        );
        assert_eq!(
            entry["additionalProperties"]["anyOf"][1],
            json!({"type": "null"})
        );
        assert_eq!(schema["default"], json!({"type": ["not", "a schema"]}));
    }

    #[test]
    fn integer_formats_validators_do_not_know_become_bounds() {
        let schema = made_portable(json!({
            "type": "object",
            "properties": {
                "limit": {"type": ["integer", "null"], "format": "uint32", "minimum": 1},
                "count": {"type": "integer", "format": "uint64", "minimum": 0},
                "small": {"type": "integer", "format": "int8", "maximum": 100},
                "wide": {"type": "integer", "format": "int64"},
                "weight": {"type": "number", "format": "double"},
            },
        }));
        let properties = &schema["properties"];
        assert_eq!(
            properties["limit"]["anyOf"][0],
            json!({"type": "integer", "minimum": 1, "maximum": 4294967295u32})
        );
        assert_eq!(
            properties["count"],
            json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})
        );
        assert_eq!(
            properties["small"],
            json!({"type": "integer", "maximum": 100, "minimum": -128})
        );
        assert_eq!(properties["wide"]["format"], "int64");
        assert_eq!(properties["weight"]["format"], "double");
    }

    #[test]
    fn model_backend_offers_the_installed_backends() {
        let mut schema = object(made_portable(json!({
            "type": "object",
            "properties": {"model_backend": {"type": ["string", "null"], "description": "Backend."}},
        })));
        offer_backends("add_criterion", &mut schema, &["bedrock", "litellm"]);
        assert_eq!(
            schema["properties"]["model_backend"]["anyOf"],
            json!([{"type": "string", "enum": ["bedrock", "litellm"]}, {"type": "null"}])
        );
        let mut schema = object(json!({"properties": {"model_backend": {"type": "string"}}}));
        offer_backends("update_criterion", &mut schema, &["ollama"]);
        assert_eq!(
            schema["properties"]["model_backend"]["enum"],
            json!(["ollama", ""])
        );
        let untouched = json!({"properties": {"name": {"type": "string"}}});
        let mut schema = object(untouched.clone());
        offer_backends("add_criterion", &mut schema, &["ollama"]);
        assert_eq!(Value::Object(schema), untouched);
        let untouched = json!({"properties": {"model_backend": {"type": "string"}}});
        let mut schema = object(untouched.clone());
        offer_backends("update_criterion", &mut schema, &[]);
        assert_eq!(Value::Object(schema), untouched);
    }
}
