//! Single answers given as JSON: which object of the answer is the verdict.

use super::*;

pub(super) fn single_from_json(text: &str) -> Option<Result<Verdict, Malformed>> {
    let mut first_err = None;
    let (found, unclosed) = walk_json(text, |value| match read_verdict(single_object(value)?) {
        Ok(verdict) => Some(verdict),
        Err(err) => {
            first_err.get_or_insert(err);
            None
        }
    });
    if let Some(verdict) = found {
        return Some(Ok(verdict));
    }
    // A complete object that could not be used still outranks a repaired
    // one: it is what the model finished saying.
    let mut repair_err = None;
    for span in &unclosed {
        for candidate in repairs(text, span) {
            let Some(value) = parse_json(&candidate) else {
                continue;
            };
            let Some(object) = single_object(&value) else {
                continue;
            };
            match read_verdict(object) {
                Ok(verdict) => return Some(Ok(verdict)),
                Err(err) => {
                    repair_err.get_or_insert(err);
                }
            }
        }
    }
    first_err.or(repair_err).map(Err)
}

/// The object a single answer is in, if `value` has the expected shape.
pub(super) fn single_object(value: &Value) -> Option<&Map<String, Value>> {
    if let Some(object) = verdict_object(value) {
        return Some(object);
    }
    // One level of wrapping (`{"evaluation": {...}}`) is common enough to
    // accept, but only when it is unambiguous.
    let Value::Object(wrapper) = value else {
        return None;
    };
    let mut inner = wrapper.values().filter_map(verdict_object);
    let first = inner.next()?;
    inner.next().is_none().then_some(first)
}

/// An object with verdict fields, or an array holding exactly one.
pub(super) fn verdict_object(value: &Value) -> Option<&Map<String, Value>> {
    match value {
        Value::Object(object) if looks_like_verdict(object) => Some(object),
        Value::Array(items) => match items.as_slice() {
            [Value::Object(object)] if looks_like_verdict(object) => Some(object),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn looks_like_verdict(object: &Map<String, Value>) -> bool {
    field(object, SCORE_KEYS).is_some()
        || field(object, JUSTIFICATION_KEYS).is_some()
        || field(object, &[STATUS_KEY]).is_some()
}
