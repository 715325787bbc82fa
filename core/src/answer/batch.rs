//! Batch answers: the option entries of an array, a wrapper, or separate objects.

use super::*;

/// The option entries of `value`, if it is an array of them or wraps
/// exactly one such array.
pub(super) fn batch_items(value: &Value) -> Option<&Vec<Value>> {
    match value {
        Value::Array(items) if is_entry_array(items) => Some(items),
        // An entry with an array field (say, a list of evidence objects) is
        // not a wrapper, hence the check on the object's own keys.
        Value::Object(object) if !looks_like_entry(object) => {
            let mut arrays = object.values().filter_map(|inner| match inner {
                Value::Array(items) if is_entry_array(items) => Some(items),
                _ => None,
            });
            let first = arrays.next()?;
            arrays.next().is_none().then_some(first)
        }
        _ => None,
    }
}

/// Requiring a recognisable entry keeps JSON-looking fragments of prose,
/// such as `[{}]`, from being taken for the answer.
pub(super) fn is_entry_array(items: &[Value]) -> bool {
    items
        .iter()
        .any(|item| matches!(item, Value::Object(object) if looks_like_entry(object)))
}

pub(super) fn looks_like_entry(object: &Map<String, Value>) -> bool {
    option_key(object).is_some() || looks_like_verdict(object)
}

pub(super) fn batch_entry(value: &Value) -> (String, Result<Verdict, Malformed>) {
    match value {
        Value::Object(object) => object_entry(object),
        other => (
            String::new(),
            Err(Malformed::NotAnObject {
                given: excerpt(&other.to_string()),
            }),
        ),
    }
}

pub(super) fn object_entry(object: &Map<String, Value>) -> (String, Result<Verdict, Malformed>) {
    match option_key(object) {
        Some(key) => (key, read_verdict(object)),
        None => (
            String::new(),
            Err(Malformed::MissingOptionKey {
                excerpt: excerpt(&object_text(object)),
            }),
        ),
    }
}

pub(super) fn option_key(object: &Map<String, Value>) -> Option<String> {
    OPTION_KEYS
        .iter()
        .find_map(|name| match field(object, &[name]) {
            Some(Value::String(key)) if !key.trim().is_empty() => Some(key.trim().to_owned()),
            Some(Value::Number(number)) => Some(number.to_string()),
            _ => None,
        })
}

/// The fallback for answers that are not one complete array: every
/// separate option object, including those of a truncated array.
pub(super) fn separate_objects(text: &str) -> Vec<(String, Result<Verdict, Malformed>)> {
    let mut entries = Vec::new();
    let mut spans = Spans::new(text, b"{");
    while let Some(found) = spans.next() {
        match found {
            Found::Span { start, slice } => match parse_json(slice) {
                Some(Value::Object(object)) if option_key(&object).is_some() => {
                    entries.push(object_entry(&object));
                }
                // A wrapper or an invalid entry may still hold options.
                _ => spans.descend(start),
            },
            Found::Unclosed(span) => {
                let partial = repairs(text, &span)
                    .iter()
                    .filter_map(|candidate| parse_json(candidate))
                    .find_map(|value| match value {
                        Value::Object(object) if option_key(&object).is_some() => Some(object),
                        _ => None,
                    });
                // Everything after an unclosed option object is inside it.
                if let Some(object) = partial {
                    entries.push(object_entry(&object));
                    break;
                }
            }
        }
    }
    entries
}
