//! Tool arguments read leniently, as a lax validator reads them, guided by the tool's own
//! published input schema.
//!
//! MCP clients, and models writing tool calls, often send a number as a string (`"2"`), a
//! boolean as `"true"`, or an array as the JSON text of one; the Python server accepts those
//! (its framework parses JSON strings, then pydantic validates in lax mode). [`coerce`] turns
//! such values into what the schema asks for, in place, before the arguments are
//! deserialized, and reports the first value it cannot read as an allowed type as a
//! [`Mismatch`] naming the parameter, what was given and what is allowed.
//!
//! What is read beyond the schema's own types:
//! - a number: a string holding a finite decimal number (`"2"`, `" 0.5 "`, `"1e-1"`);
//! - an integer: a number without a fractional part (`2.0`), or a string holding one;
//! - a boolean: the strings pydantic reads as one, in any case (`true`/`false`, `yes`/`no`,
//!   `on`/`off`, `t`/`f`, `y`/`n`, `1`/`0`), and the numbers 1 and 0;
//! - an array or an object: a string holding one as JSON, whose contents are then read the
//!   same way;
//! - null, where a schema allows it and no string: the string `"null"`.
//!
//! Nothing becomes a string (a number where text is expected is refused, as pydantic refuses
//! it), and a boolean is not a number. Limits (`minimum`, `maxItems`, ...) are not checked
//! here: the tools check them against the limits in force, with messages saying what is
//! allowed; only an integer's are, as the range of the type it is read into. The schema is
//! read as this server publishes it: `type` (a name or a list of names), `anyOf`/`oneOf`,
//! local `$ref`s into `$defs`, `properties`, `additionalProperties`, `items`, `required`,
//! and an integer's `format`, `minimum` and `maximum`; a schema constraining values
//! otherwise is left to the deserializer.

use std::fmt;

use serde_json::{Map, Value};

/// Most `$ref`s followed in a row: a schema referring to itself without nesting a value
/// would otherwise be followed for ever.
const MAX_REF_HOPS: usize = 32;

/// Longest part of a given string quoted in a [`Mismatch`].
const MAX_QUOTED_CHARS: usize = 40;

/// A parameter that is not, and cannot be read as, any type its schema allows, or a required
/// one that is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Where: the parameter's name, then `[index]` and `.key` into it
    /// (`initial_criteria[0].weight`).
    pub parameter: String,
    /// What is allowed (`a number (or a string holding one) or null`).
    pub expected: String,
    /// What was given (`the string "abc"`); `None` when the parameter is missing.
    pub given: Option<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.given {
            Some(given) => write!(
                f,
                "Invalid value for parameter '{}': expected {}, got {given}",
                self.parameter, self.expected
            ),
            None => write!(
                f,
                "Missing required parameter '{}': expected {}",
                self.parameter, self.expected
            ),
        }
    }
}

impl std::error::Error for Mismatch {}

/// Reads `arguments` (absent ones as `{}`) against `schema`, a tool's input schema, in place:
/// values of the types the schema allows stay as they are, values a lax validator would read
/// as one of them are replaced by what it reads, and the first other value, or the first
/// missing required parameter, is the error.
pub fn coerce(
    schema: &Map<String, Value>,
    arguments: Option<&mut Map<String, Value>>,
) -> Result<(), Mismatch> {
    let mut none = Map::new();
    let arguments = arguments.unwrap_or(&mut none);
    Reader { root: schema }.object(schema, arguments, Path::Root)
}

/// Where a value sits in the arguments, as a chain of frames on the stack.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// The JSON types a schema names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    fn named(name: &str) -> Option<Kind> {
        Some(match name {
            "null" => Kind::Null,
            "boolean" => Kind::Boolean,
            "integer" => Kind::Integer,
            "number" => Kind::Number,
            "string" => Kind::String,
            "array" => Kind::Array,
            "object" => Kind::Object,
            _ => return None,
        })
    }

    /// What a value of this kind may be given as, for messages.
    fn phrase(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Boolean => "a boolean (or a string saying true or false)",
            Kind::Integer => "an integer (or a string holding one)",
            Kind::Number => "a number (or a string holding one)",
            Kind::String => "a string",
            Kind::Array => "an array (or a string holding one as JSON)",
            Kind::Object => "an object (or a string holding one as JSON)",
        }
    }
}

/// One schema a value may match: the schema object and the types it names.
struct Alternative<'s> {
    schema: &'s Map<String, Value>,
    kinds: Vec<Kind>,
}

/// What a schema allows.
enum Allowed<'s> {
    /// Any value: the schema names no type this reader knows.
    Anything,
    /// A value matching one of these.
    OneOf(Vec<Alternative<'s>>),
}

struct Reader<'s> {
    root: &'s Map<String, Value>,
}

impl<'s> Reader<'s> {
    /// The definition a local `$ref` (`#/$defs/Name`, `#/definitions/Name`) points to.
    fn definition(&self, reference: &str) -> Option<&'s Value> {
        let name = reference
            .strip_prefix("#/$defs/")
            .map(|name| ("$defs", name))
            .or_else(|| {
                reference
                    .strip_prefix("#/definitions/")
                    .map(|name| ("definitions", name))
            });
        let (table, name) = name?;
        self.root.get(table)?.get(name)
    }

    /// What `schema` allows, with `$ref`s followed and `anyOf`/`oneOf` branches flattened.
    fn allowed(&self, schema: &'s Value) -> Allowed<'s> {
        let mut alternatives = Vec::new();
        if self.collect(schema, 0, &mut alternatives) {
            Allowed::OneOf(alternatives)
        } else {
            Allowed::Anything
        }
    }

    /// Adds the alternatives of `schema` to `out`; false when it allows anything.
    fn collect(&self, schema: &'s Value, hops: usize, out: &mut Vec<Alternative<'s>>) -> bool {
        let Some(schema) = schema.as_object() else {
            // `true`, `false` or something that is not a schema: nothing to read by.
            return false;
        };
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            return hops < MAX_REF_HOPS
                && self
                    .definition(reference)
                    .is_some_and(|target| self.collect(target, hops + 1, out));
        }
        for union in ["anyOf", "oneOf"] {
            if let Some(branches) = schema.get(union).and_then(Value::as_array) {
                return branches
                    .iter()
                    .all(|branch| self.collect(branch, hops + 1, out));
            }
        }
        if let Some([only]) = schema
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            return self.collect(only, hops + 1, out);
        }
        let kinds: Vec<Kind> = match schema.get("type") {
            Some(Value::String(name)) => Kind::named(name).into_iter().collect(),
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(|name| name.as_str().and_then(Kind::named))
                .collect(),
            _ => Vec::new(),
        };
        if kinds.is_empty() {
            return false;
        }
        out.push(Alternative { schema, kinds });
        true
    }

    /// Reads `value` against `schema`, replacing it by what a lax reading makes of it.
    fn value(&self, schema: &'s Value, value: &mut Value, path: Path<'_>) -> Result<(), Mismatch> {
        let Allowed::OneOf(alternatives) = self.allowed(schema) else {
            return Ok(());
        };
        let each = || {
            alternatives.iter().flat_map(|alternative| {
                alternative
                    .kinds
                    .iter()
                    .map(move |kind| (alternative.schema, *kind))
            })
        };
        // A value of an allowed type is never read as another: `"5"` stays a string where a
        // string is allowed.
        if let Some((schema, kind)) = each().find(|(schema, kind)| fits(value, *kind, schema)) {
            return self.inside(schema, kind, value, path);
        }
        if let Some((schema, kind, read)) = each().find_map(|(schema, kind)| {
            read_as(value, kind, schema).map(|read| (schema, kind, read))
        }) {
            *value = read;
            return self.inside(schema, kind, value, path);
        }
        Err(Mismatch {
            parameter: path.to_string(),
            expected: expected(&alternatives),
            given: Some(given(value)),
        })
    }

    /// Reads the contents of `value`, already of `kind`.
    fn inside(
        &self,
        schema: &'s Map<String, Value>,
        kind: Kind,
        value: &mut Value,
        path: Path<'_>,
    ) -> Result<(), Mismatch> {
        match (kind, value) {
            (Kind::Array, Value::Array(items)) => match schema.get("items") {
                Some(each) => items.iter_mut().enumerate().try_for_each(|(index, item)| {
                    self.value(each, item, Path::Index(&path, index))
                }),
                None => Ok(()),
            },
            (Kind::Object, Value::Object(members)) => self.object(schema, members, path),
            _ => Ok(()),
        }
    }

    /// Reads each member of `members` by its property's schema (or `additionalProperties`),
    /// then checks that every required one is there.
    fn object(
        &self,
        schema: &'s Map<String, Value>,
        members: &mut Map<String, Value>,
        path: Path<'_>,
    ) -> Result<(), Mismatch> {
        let properties = schema.get("properties").and_then(Value::as_object);
        let others = schema.get("additionalProperties");
        for (key, member) in members.iter_mut() {
            let declared = properties
                .and_then(|properties| properties.get(key))
                .or(others);
            if let Some(declared) = declared {
                self.value(declared, member, Path::Key(&path, key))?;
            }
        }
        let required = schema.get("required").and_then(Value::as_array);
        for name in required.into_iter().flatten().filter_map(Value::as_str) {
            if members.contains_key(name) {
                continue;
            }
            let declared = properties.and_then(|properties| properties.get(name));
            let expected = match declared.map(|declared| self.allowed(declared)) {
                Some(Allowed::OneOf(alternatives)) => expected(&alternatives),
                _ => "a value".to_owned(),
            };
            return Err(Mismatch {
                parameter: Path::Key(&path, name).to_string(),
                expected,
                given: None,
            });
        }
        Ok(())
    }
}

/// Any integer a JSON value deserializes into: a 64-bit one, signed or not.
const ANY_INTEGER: (i128, i128) = (i64::MIN as i128, u64::MAX as i128);

/// The range of integers an integer `format` stands for (the Rust type a value is read into,
/// as the schema generator names it), if it is one.
pub fn integer_format_range(format: &str) -> Option<(i128, i128)> {
    Some(match format {
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int16" => (i16::MIN.into(), i16::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "int64" | "int" => (i64::MIN.into(), i64::MAX.into()),
        "uint8" => (0, u8::MAX.into()),
        "uint16" => (0, u16::MAX.into()),
        "uint32" => (0, u32::MAX.into()),
        "uint64" | "uint" => (0, u64::MAX.into()),
        _ => return None,
    })
}

/// The range an integer may take: its `format`'s, narrowed by `minimum` and `maximum`. An
/// integer's bounds are checked here, unlike other limits, because published schemas write
/// the range of an integer's type as bounds, and an integer outside it cannot be read at all.
fn integer_range(schema: &Map<String, Value>) -> (i128, i128) {
    let (mut low, mut high) = schema
        .get("format")
        .and_then(Value::as_str)
        .and_then(integer_format_range)
        .unwrap_or(ANY_INTEGER);
    let bound = |keyword: &str| {
        schema
            .get(keyword)
            .and_then(Value::as_f64)
            .filter(|b| b.is_finite())
    };
    if let Some(minimum) = bound("minimum") {
        low = low.max(minimum.ceil() as i128);
    }
    if let Some(maximum) = bound("maximum") {
        high = high.min(maximum.floor() as i128);
    }
    (low, high)
}

/// The integer `number` is written as, if it is written as one (`2`, not `2.0`).
fn written_integer(number: &serde_json::Number) -> Option<i128> {
    number
        .as_i64()
        .map(i128::from)
        .or_else(|| number.as_u64().map(i128::from))
}

/// The integer `number` equals, if any (`2` and `2.0`).
fn whole(number: &serde_json::Number) -> Option<i128> {
    if let Some(n) = written_integer(number) {
        return Some(n);
    }
    let n = number.as_f64()?;
    // Beyond 2^64 no f64 is read as an integer: every one there is a whole number, and
    // none fits a 64-bit integer anyway.
    (n.is_finite() && n.fract() == 0.0 && n.abs() < 2f64.powi(64)).then_some(n as i128)
}

/// `n` as a JSON integer when `schema` allows it.
fn integer_value(n: i128, schema: &Map<String, Value>) -> Option<Value> {
    let (low, high) = integer_range(schema);
    if n < low || n > high {
        return None;
    }
    u64::try_from(n)
        .map(Value::from)
        .ok()
        .or_else(|| i64::try_from(n).ok().map(Value::from))
}

/// Whether `value` already is of `kind` (an integer within its format's range).
fn fits(value: &Value, kind: Kind, schema: &Map<String, Value>) -> bool {
    match (kind, value) {
        (Kind::Null, Value::Null)
        | (Kind::Boolean, Value::Bool(_))
        | (Kind::Number, Value::Number(_))
        | (Kind::String, Value::String(_))
        | (Kind::Array, Value::Array(_))
        | (Kind::Object, Value::Object(_)) => true,
        (Kind::Integer, Value::Number(number)) => {
            written_integer(number).is_some_and(|n| integer_value(n, schema).is_some())
        }
        _ => false,
    }
}

/// A finite number written in `text`, surrounding spaces aside.
fn number_in(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The integer written in `text`: digits, or a number without a fractional part.
fn integer_in(text: &str) -> Option<i128> {
    let text = text.trim();
    text.parse::<i128>()
        .ok()
        .or_else(|| number_in(text).and_then(|n| whole(&serde_json::Number::from_f64(n)?)))
}

/// The boolean pydantic reads in `text`.
fn boolean_in(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "on" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// What a lax reading makes of `value` as a `kind`, if anything.
fn read_as(value: &Value, kind: Kind, schema: &Map<String, Value>) -> Option<Value> {
    match (kind, value) {
        (Kind::Number, Value::String(text)) => number_in(text).map(Value::from),
        (Kind::Integer, Value::String(text)) => integer_value(integer_in(text)?, schema),
        (Kind::Integer, Value::Number(number)) => integer_value(whole(number)?, schema),
        (Kind::Boolean, Value::String(text)) => boolean_in(text).map(Value::Bool),
        (Kind::Boolean, Value::Number(number)) => match number.as_f64() {
            Some(1.0) => Some(Value::Bool(true)),
            Some(0.0) => Some(Value::Bool(false)),
            _ => None,
        },
        (Kind::Null, Value::String(text)) => (text.trim() == "null").then_some(Value::Null),
        (Kind::Array, Value::String(text)) => serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_array),
        (Kind::Object, Value::String(text)) => serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_object),
        _ => None,
    }
}

/// What `alternatives` allow, in their order, each kind once.
fn expected(alternatives: &[Alternative<'_>]) -> String {
    let mut kinds: Vec<Kind> = Vec::new();
    for kind in alternatives
        .iter()
        .flat_map(|alternative| alternative.kinds.iter())
    {
        if !kinds.contains(kind) {
            kinds.push(*kind);
        }
    }
    // An integer's range is worth saying when its format narrows it.
    let range = alternatives
        .iter()
        .find(|alternative| alternative.kinds.contains(&Kind::Integer))
        .map(|alternative| integer_range(alternative.schema))
        .filter(|range| *range != ANY_INTEGER);
    let phrases: Vec<String> = kinds
        .iter()
        .map(|kind| match (kind, range) {
            (Kind::Integer, Some((low, high))) => {
                format!("an integer from {low} to {high} (or a string holding one)")
            }
            _ => kind.phrase().to_owned(),
        })
        .collect();
    phrases.join(" or ")
}

/// `value` described for a message, a long string cut short.
fn given(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(text) => {
            let mut shown: String = text.chars().take(MAX_QUOTED_CHARS).collect();
            if shown.len() < text.len() {
                shown.push('…');
            }
            format!("the string {}", Value::String(shown))
        }
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

#[cfg(test)]
mod tests;
