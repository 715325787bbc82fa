//! From the JSON Schema the host sends to the Gemini API's `Schema`.
//!
//! `responseSchema` takes a select subset of the OpenAPI 3.0 schema object, not JSON Schema:
//! one `type` (upper-case) plus `nullable` instead of a list of types, string-valued `enum`,
//! no references, and a closed set of keywords; a request with anything else is refused.
//! The translation keeps what the subset can say and drops the rest:
//!
//! * adapted: `"type": ["number", "null"]` becomes `NUMBER` with `nullable: true`; several
//!   non-null types become `anyOf` with one branch per type; `null` in `enum` becomes
//!   `nullable`; numbers and booleans in `enum` and `const` become strings (the form the
//!   subset documents for `INTEGER` enums); `const` becomes a one-value `enum`; `oneOf`
//!   becomes `anyOf` (looser: "at least one" instead of "exactly one"); local `$ref`s
//!   (`#/$defs/...`, `#/definitions/...`) are inlined, and `allOf` with one schema is merged
//!   into its parent; `format` is kept only where the subset gives it a meaning
//!   (`date-time` and `enum` for strings, `float`/`double`, `int32`/`int64`);
//! * dropped: everything else, notably `$schema`, `$id`, `$defs`, `additionalProperties`,
//!   `patternProperties`, `exclusiveMinimum`/`exclusiveMaximum`, `multipleOf`,
//!   `uniqueItems`, `not`, `if`/`then`/`else`, `examples` and tuple-form `items`. Each dropped
//!   keyword is reported so the caller can log it; the host parses and checks the answer
//!   itself, so a looser schema costs precision of decoding, not correctness;
//! * ignored: keywords that constrain another type than the node's (`minLength` on a
//!   number), which JSON Schema ignores too and the subset would refuse.
//!
//! What cannot be translated without changing the meaning (a `$ref` outside the document, a
//! recursive schema, `allOf` over several schemas, an unknown type) is an error that says so,
//! rather than a silently weaker schema.

use std::collections::BTreeSet;

use dmx_plugin_sdk::PluginError;
use serde_json::{Map, Value};

/// Deepest nesting followed; a recursive `$ref` is detected by reaching it.
const MAX_DEPTH: usize = 64;

/// The translated schema and the JSON Schema keywords it left out.
#[derive(Debug)]
pub struct Translation {
    /// The `responseSchema` value.
    pub schema: Value,
    /// Keywords dropped anywhere in the schema, by name.
    pub dropped: BTreeSet<String>,
}

/// Translates `schema`.
pub fn translate(schema: &Value) -> Result<Translation, PluginError> {
    let mut translator = Translator {
        root: schema,
        dropped: BTreeSet::new(),
    };
    let schema = translator.node(schema, 0)?;
    Ok(Translation {
        schema,
        dropped: translator.dropped,
    })
}

fn invalid(message: impl Into<String>) -> PluginError {
    PluginError::InvalidInput(format!(
        "the answer schema cannot be expressed as a Gemini responseSchema: {}; set \
         DMM_GEMINI_STRUCTURED_OUTPUT=json to send no schema",
        message.into()
    ))
}

struct Translator<'a> {
    root: &'a Value,
    dropped: BTreeSet<String>,
}

impl<'a> Translator<'a> {
    fn node(&mut self, schema: &Value, depth: usize) -> Result<Value, PluginError> {
        if depth > MAX_DEPTH {
            return Err(invalid(format!(
                "it nests deeper than {MAX_DEPTH} levels (a recursive $ref?)"
            )));
        }
        match schema {
            // `true` allows anything, which an empty schema says too.
            Value::Bool(true) => Ok(Value::Object(Map::new())),
            Value::Object(map) => {
                let expanded = self.expand(map.clone(), depth)?;
                self.object(&expanded, depth)
            }
            other => Err(invalid(format!(
                "a schema must be an object or true, not {other}"
            ))),
        }
    }

    /// `map` with its local `$ref`s and one-schema `allOf`s folded in, until it has neither;
    /// the keys written beside them win.
    fn expand(
        &mut self,
        mut map: Map<String, Value>,
        depth: usize,
    ) -> Result<Map<String, Value>, PluginError> {
        let mut level = depth;
        loop {
            if level > MAX_DEPTH {
                return Err(invalid(format!(
                    "it nests deeper than {MAX_DEPTH} levels (a recursive $ref?)"
                )));
            }
            let folded = if let Some(reference) = map.remove("$ref") {
                self.resolve(&reference)?.clone()
            } else if let Some(all_of) = map.remove("allOf") {
                match all_of.as_array().map(Vec::as_slice) {
                    Some([Value::Object(only)]) => only.clone(),
                    _ => {
                        return Err(invalid(
                            "allOf over several schemas has no equivalent; allowed: allOf with \
                             one schema object",
                        ));
                    }
                }
            } else {
                return Ok(map);
            };
            for (key, value) in folded {
                map.entry(key).or_insert(value);
            }
            level += 1;
        }
    }

    /// The schema a local reference points at.
    fn resolve(&self, reference: &Value) -> Result<&'a Map<String, Value>, PluginError> {
        let text = reference
            .as_str()
            .ok_or_else(|| invalid("$ref must be a string"))?;
        let pointer = text
            .strip_prefix('#')
            .ok_or_else(|| invalid(format!("$ref {text:?} is not local; allowed: #/...")))?;
        match self.root.pointer(pointer) {
            Some(Value::Object(target)) => Ok(target),
            Some(_) => Err(invalid(format!("$ref {text:?} does not point at a schema"))),
            None => Err(invalid(format!("$ref {text:?} points at nothing"))),
        }
    }

    fn object(&mut self, map: &Map<String, Value>, depth: usize) -> Result<Value, PluginError> {
        let (types, mut nullable) = types_of(map)?;
        if types.len() > 1 {
            // One branch per type, each with the keywords that apply to it.
            let mut branches = Vec::with_capacity(types.len());
            for kind in &types {
                let mut single = map.clone();
                single.insert("type".into(), Value::String((*kind).to_owned()));
                single.remove("nullable");
                single.remove("description");
                single.remove("title");
                branches.push(self.object(&single, depth + 1)?);
            }
            let mut out = Map::new();
            copy_text(map, &mut out, "description");
            copy_text(map, &mut out, "title");
            out.insert("anyOf".into(), Value::Array(branches));
            if nullable {
                out.insert("nullable".into(), Value::Bool(true));
            }
            return Ok(Value::Object(out));
        }
        let kind = types
            .first()
            .copied()
            .or_else(|| implied_type(map))
            .map(str::to_ascii_uppercase);
        let mut out = Map::new();
        for (key, value) in map {
            // JSON Schema ignores a keyword meant for another type; so does the translation.
            if kind.as_deref().is_some_and(|k| !applies_to(k, key)) {
                continue;
            }
            let kept = self.keyword(key, value, kind.as_deref(), depth, &mut out, &mut nullable)?;
            if !kept {
                self.dropped.insert(key.clone());
            }
        }
        if let Some(kind) = kind {
            out.insert("type".into(), Value::String(kind));
        }
        if nullable {
            out.insert("nullable".into(), Value::Bool(true));
        }
        Ok(Value::Object(out))
    }

    /// Translates one keyword into `out`; `false` when the subset has no place for it.
    fn keyword(
        &mut self,
        key: &str,
        value: &Value,
        kind: Option<&str>,
        depth: usize,
        out: &mut Map<String, Value>,
        nullable: &mut bool,
    ) -> Result<bool, PluginError> {
        match key {
            "type" => {}
            "nullable" => *nullable |= value.as_bool() == Some(true),
            "description" | "title" | "pattern" if value.is_string() => {
                out.insert(key.to_owned(), value.clone());
            }
            "format" if value.as_str().is_some_and(|f| format_applies(kind, f)) => {
                out.insert(key.to_owned(), value.clone());
            }
            "minItems" | "maxItems" | "minLength" | "maxLength" | "minProperties"
            | "maxProperties"
                if value.as_u64().is_some() =>
            {
                out.insert(key.to_owned(), value.clone());
            }
            "minimum" | "maximum" if value.is_number() => {
                out.insert(key.to_owned(), value.clone());
            }
            "default" | "example" => {
                out.insert(key.to_owned(), value.clone());
            }
            "enum" | "const" => {
                let values = enum_values(key, value, nullable)?;
                if !values.is_empty() {
                    out.insert("enum".into(), Value::Array(values));
                }
            }
            "properties" => {
                let Value::Object(properties) = value else {
                    return Err(invalid("properties must be an object"));
                };
                let mut translated = Map::new();
                for (name, schema) in properties {
                    translated.insert(name.clone(), self.node(schema, depth + 1)?);
                }
                out.insert(key.to_owned(), Value::Object(translated));
            }
            "required" | "propertyOrdering" => {
                if !value
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string))
                {
                    return Err(invalid(format!("{key} must be a list of names")));
                }
                out.insert(key.to_owned(), value.clone());
            }
            "items" if value.is_array() => {
                self.dropped.insert("items (tuple form)".into());
            }
            "items" => {
                out.insert(key.to_owned(), self.node(value, depth + 1)?);
            }
            "anyOf" | "oneOf" => {
                if out.contains_key("anyOf") {
                    return Err(invalid("anyOf and oneOf together have no equivalent"));
                }
                let Value::Array(branches) = value else {
                    return Err(invalid(format!("{key} must be a list of schemas")));
                };
                let mut translated = Vec::with_capacity(branches.len());
                for branch in branches {
                    translated.push(self.node(branch, depth + 1)?);
                }
                out.insert("anyOf".into(), Value::Array(translated));
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// The values of `enum` (or the one of `const`) as strings; `null` among them sets
/// `nullable` instead.
fn enum_values(key: &str, value: &Value, nullable: &mut bool) -> Result<Vec<Value>, PluginError> {
    let values = match (key, value) {
        ("enum", Value::Array(values)) => values.as_slice(),
        ("const", single) => std::slice::from_ref(single),
        _ => return Err(invalid("enum must be an array")),
    };
    let mut texts = Vec::with_capacity(values.len());
    for value in values {
        match value {
            Value::Null => *nullable = true,
            Value::String(text) => texts.push(Value::String(text.clone())),
            Value::Number(_) | Value::Bool(_) => texts.push(Value::String(value.to_string())),
            _ => {
                return Err(invalid(format!(
                    "{key} holds {value}, but enum values must be strings, numbers or booleans"
                )));
            }
        }
    }
    Ok(texts)
}

/// The non-null types a schema names, and whether it names `null`.
fn types_of(map: &Map<String, Value>) -> Result<(Vec<&str>, bool), PluginError> {
    let names: Vec<&str> = match map.get("type") {
        None => Vec::new(),
        Some(Value::String(name)) => vec![name.as_str()],
        Some(Value::Array(names)) => names
            .iter()
            .map(|n| {
                n.as_str()
                    .ok_or_else(|| invalid("type lists must hold names"))
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(invalid(format!("type {other} is not a name"))),
    };
    let mut types = Vec::with_capacity(names.len());
    let mut nullable = false;
    for name in names {
        match name {
            "null" => nullable = true,
            "string" | "number" | "integer" | "boolean" | "array" | "object" => {
                if !types.contains(&name) {
                    types.push(name);
                }
            }
            other => {
                return Err(invalid(format!(
                    "type {other:?} is unknown; allowed: string, number, integer, boolean, \
                     array, object, null"
                )));
            }
        }
    }
    if types.is_empty() && nullable {
        types.push("null");
        nullable = false;
    }
    Ok((types, nullable))
}

/// The type a schema without `type` implies by its keywords.
fn implied_type(map: &Map<String, Value>) -> Option<&'static str> {
    if map.contains_key("properties") {
        Some("object")
    } else if map.contains_key("items") {
        Some("array")
    } else {
        None
    }
}

/// Whether `keyword` constrains values of `kind`; those that do not are ignored by JSON Schema
/// and would be refused by the subset.
fn applies_to(kind: &str, keyword: &str) -> bool {
    match keyword {
        "minLength" | "maxLength" | "pattern" => kind == "STRING",
        "minimum" | "maximum" => matches!(kind, "NUMBER" | "INTEGER"),
        "items" | "minItems" | "maxItems" => kind == "ARRAY",
        "properties" | "required" | "propertyOrdering" | "minProperties" | "maxProperties" => {
            kind == "OBJECT"
        }
        _ => true,
    }
}

/// Whether the subset gives `format` a meaning for `kind`.
fn format_applies(kind: Option<&str>, format: &str) -> bool {
    matches!(
        (kind, format),
        (Some("STRING"), "date-time" | "enum")
            | (Some("NUMBER"), "float" | "double")
            | (Some("INTEGER"), "int32" | "int64" | "enum")
    )
}

fn copy_text(from: &Map<String, Value>, to: &mut Map<String, Value>, key: &str) {
    if let Some(text) = from.get(key).filter(|v| v.is_string()) {
        to.insert(key.to_owned(), text.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(schema: Value) -> Translation {
        translate(&schema).unwrap()
    }

    fn refused(schema: Value) -> String {
        match translate(&schema) {
            Err(PluginError::InvalidInput(message)) => message,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn the_hosts_verdict_schema() {
        let t = ok(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "score": {"type": ["number", "null"]},
                "justification": {"type": "string"},
                "status": {"type": "string", "enum": ["scored", "abstain"]}
            },
            "required": ["score", "justification", "status"],
            "additionalProperties": false
        }));
        assert_eq!(
            t.schema,
            json!({
                "type": "OBJECT",
                "properties": {
                    "score": {"type": "NUMBER", "nullable": true},
                    "justification": {"type": "STRING"},
                    "status": {"type": "STRING", "enum": ["scored", "abstain"]}
                },
                "required": ["score", "justification", "status"]
            })
        );
        assert_eq!(
            t.dropped.into_iter().collect::<Vec<_>>(),
            ["$schema", "additionalProperties"]
        );
    }

    #[test]
    fn batches_nest_through_arrays() {
        let t = ok(json!({
            "type": "object",
            "properties": {"evaluations": {"type": "array", "minItems": 1, "items": {
                "type": "object",
                "properties": {"option": {"type": "string"}, "score": {"type": "integer", "minimum": 1, "maximum": 10}},
                "required": ["option"],
                "additionalProperties": false
            }}},
            "required": ["evaluations"]
        }));
        let items = &t.schema["properties"]["evaluations"];
        assert_eq!(items["type"], "ARRAY");
        assert_eq!(items["minItems"], 1);
        assert_eq!(
            items["items"]["properties"]["score"],
            json!({"type": "INTEGER", "minimum": 1, "maximum": 10})
        );
        assert!(items["items"].get("additionalProperties").is_none());
    }

    #[test]
    fn unions_nulls_and_constants_are_adapted() {
        let t = ok(json!({
            "type": ["string", "integer", "null"],
            "description": "either",
            "minLength": 2
        }));
        assert_eq!(
            t.schema,
            json!({
                "description": "either",
                "nullable": true,
                "anyOf": [{"type": "STRING", "minLength": 2}, {"type": "INTEGER"}]
            })
        );
        let t = ok(json!({"type": "integer", "enum": [1, 2, null]}));
        assert_eq!(
            t.schema,
            json!({"type": "INTEGER", "enum": ["1", "2"], "nullable": true})
        );
        let t = ok(json!({"const": "yes"}));
        assert_eq!(t.schema, json!({"enum": ["yes"]}));
        let t = ok(json!({"oneOf": [{"type": "string"}, {"type": "boolean"}]}));
        assert_eq!(
            t.schema,
            json!({"anyOf": [{"type": "STRING"}, {"type": "BOOLEAN"}]})
        );
        assert_eq!(ok(json!({"type": "null"})).schema, json!({"type": "NULL"}));
        assert_eq!(ok(json!(true)).schema, json!({}));
    }

    #[test]
    fn local_references_and_single_all_of_are_inlined() {
        let t = ok(json!({
            "$defs": {"verdict": {"type": "object", "properties": {"score": {"type": "number"}}}},
            "type": "object",
            "properties": {
                "first": {"$ref": "#/$defs/verdict", "description": "the first"},
                "second": {"allOf": [{"$ref": "#/$defs/verdict"}]}
            }
        }));
        let expected = json!({"type": "OBJECT", "properties": {"score": {"type": "NUMBER"}}});
        assert_eq!(t.schema["properties"]["second"], expected);
        assert_eq!(t.schema["properties"]["first"]["description"], "the first");
        assert_eq!(
            t.schema["properties"]["first"]["properties"],
            expected["properties"]
        );
        assert!(t.dropped.contains("$defs"));
    }

    #[test]
    fn formats_are_kept_only_where_they_mean_something() {
        let t = ok(json!({"type": "object", "properties": {
            "when": {"type": "string", "format": "date-time"},
            "mail": {"type": "string", "format": "email"},
            "ratio": {"type": "number", "format": "double", "exclusiveMinimum": 0},
            "pair": {"type": "array", "items": [{"type": "string"}], "uniqueItems": true}
        }}));
        let p = &t.schema["properties"];
        assert_eq!(p["when"], json!({"type": "STRING", "format": "date-time"}));
        assert_eq!(p["mail"], json!({"type": "STRING"}));
        assert_eq!(p["ratio"], json!({"type": "NUMBER", "format": "double"}));
        assert_eq!(p["pair"], json!({"type": "ARRAY"}));
        for keyword in [
            "format",
            "exclusiveMinimum",
            "items (tuple form)",
            "uniqueItems",
        ] {
            assert!(t.dropped.contains(keyword), "{keyword}: {:?}", t.dropped);
        }
    }

    #[test]
    fn what_cannot_be_said_is_refused_with_the_reason() {
        for (schema, says) in [
            (
                json!({"$ref": "https://example.com/schema.json"}),
                "not local",
            ),
            (json!({"$ref": "#/$defs/missing"}), "points at nothing"),
            (
                json!({"$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}}, "$ref": "#/$defs/node"}),
                "recursive",
            ),
            (json!({"$ref": "#"}), "recursive"),
            (
                json!({"allOf": [{"type": "string"}, {"minLength": 1}]}),
                "allOf",
            ),
            (json!({"type": "text"}), "allowed: string"),
            (json!({"type": "string", "enum": [{"a": 1}]}), "enum values"),
            (
                json!({"anyOf": [{"type": "string"}], "oneOf": [{"type": "number"}]}),
                "together",
            ),
            (json!(42), "must be an object"),
        ] {
            let message = refused(schema.clone());
            assert!(
                message.contains(says) && message.contains("DMM_GEMINI_STRUCTURED_OUTPUT=json"),
                "{schema}: {message}"
            );
        }
    }
}
