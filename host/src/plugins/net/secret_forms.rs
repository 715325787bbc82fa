//! The spellings of a secret value that a server may echo back: the value itself and the
//! encodings APIs, proxies and debugging endpoints commonly apply to what they reflect.
//!
//! An API that reflects a request (an error message quoting the key, an endpoint that returns
//! the request's headers as JSON or base64) would otherwise hand a plugin the value the host
//! injected on its behalf. Each form here is searched for in what goes back to the plugin and
//! in what the plugin sends elsewhere ([`super::scrub`]). Matching is ASCII-case-insensitive,
//! so one spelling covers upper- and lower-case hex digits and percent escapes.
//!
//! What is not covered (an encoding not listed here, a value split across responses, a
//! server that can be made to compute other functions of the key) is the residual risk
//! docs/plugins.md states.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};

/// Encoded forms shorter than this are not searched for: a short run of base64 or hex
/// characters occurs by chance in ordinary text, and redacting it would garble answers. The
/// raw value is always searched for, however short.
pub(crate) const MIN_ENCODED_LEN: usize = 8;

/// How a [`Form`] spells the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// As is.
    Raw,
    /// Characters in reverse order.
    Reversed,
    /// Hexadecimal bytes.
    Hex,
    /// Base64 (standard alphabet), at any offset inside a longer encoded text.
    Base64,
    /// Base64 with the URL-safe alphabet, at any offset.
    Base64Url,
    /// Percent-encoded, keeping RFC 3986 unreserved characters or only letters and digits.
    Percent,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// Every byte percent-encoded.
    PercentEveryByte,
    /// Inside a JSON string, with `/` escaped as some serialisers do.
    JsonSlash,
    /// Every character as a JSON `\u` escape.
    JsonUnicode,
}

impl Encoding {
    /// A short name for messages ("base64-encoded").
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Encoding::Raw => "as is",
            Encoding::Reversed => "reversed",
            Encoding::Hex => "hex-encoded",
            Encoding::Base64 => "base64-encoded",
            Encoding::Base64Url => "base64url-encoded",
            Encoding::Percent | Encoding::Form | Encoding::PercentEveryByte => "URL-encoded",
            Encoding::JsonSlash | Encoding::JsonUnicode => "JSON-escaped",
        }
    }
}

/// One spelling of a secret value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Form {
    /// The text to look for.
    pub(crate) text: String,
    /// How it spells the value.
    pub(crate) encoding: Encoding,
}

/// Bytes a URL component keeps as they are (RFC 3986 unreserved).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Every spelling of `value` worth looking for, without duplicates. Empty for an empty value.
pub(crate) fn forms(value: &str) -> Vec<Form> {
    if value.is_empty() {
        return Vec::new();
    }
    let bytes = value.as_bytes();
    let mut candidates = vec![
        (value.to_owned(), Encoding::Raw),
        (value.chars().rev().collect(), Encoding::Reversed),
        (hex::encode(bytes), Encoding::Hex),
        (
            percent_encode(bytes, COMPONENT).to_string(),
            Encoding::Percent,
        ),
        (
            percent_encode(bytes, NON_ALPHANUMERIC).to_string(),
            Encoding::Percent,
        ),
        (
            form_urlencoded::byte_serialize(bytes).collect(),
            Encoding::Form,
        ),
        (
            bytes.iter().map(|b| format!("%{b:02x}")).collect(),
            Encoding::PercentEveryByte,
        ),
        (json_escaped(value).replace('/', "\\/"), Encoding::JsonSlash),
        (json_unicode_escaped(value), Encoding::JsonUnicode),
    ];
    for offset in 0..3 {
        candidates.push((
            base64_core(&STANDARD_NO_PAD, bytes, offset),
            Encoding::Base64,
        ));
        candidates.push((
            base64_core(&URL_SAFE_NO_PAD, bytes, offset),
            Encoding::Base64Url,
        ));
    }

    let mut forms: Vec<Form> = Vec::with_capacity(candidates.len());
    for (text, encoding) in candidates {
        let long_enough = encoding == Encoding::Raw || text.len() >= MIN_ENCODED_LEN;
        let known = forms.iter().any(|f| f.text.eq_ignore_ascii_case(&text));
        if long_enough && !known {
            forms.push(Form { text, encoding });
        }
    }
    forms
}

/// The base64 characters that depend on `bytes` alone when they sit `offset` bytes (0–2)
/// into a longer encoded text: whatever precedes and follows them, these characters appear.
fn base64_core(engine: &impl base64::Engine, bytes: &[u8], offset: usize) -> String {
    let mut padded = vec![0u8; offset];
    padded.extend_from_slice(bytes);
    let encoded = engine.encode(&padded);
    // A base64 character carries 6 bits. The first characters mix in the `offset` bytes
    // before the value; the last one may mix in the bits of what follows it.
    let first = (8 * offset).div_ceil(6);
    let end = 8 * padded.len() / 6;
    encoded.get(first..end).unwrap_or_default().to_owned()
}

/// The value as it appears inside a JSON string from a typical serialiser.
fn json_escaped(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_owned()
}

/// Every UTF-16 unit of the value as a `\uXXXX` escape.
fn json_unicode_escaped(value: &str) -> String {
    value
        .encode_utf16()
        .map(|unit| format!("\\u{unit:04x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    fn spelled(value: &str, encoding: Encoding) -> Vec<String> {
        forms(value)
            .into_iter()
            .filter(|f| f.encoding == encoding)
            .map(|f| f.text)
            .collect()
    }

    #[test]
    fn each_encoding_spells_the_value_as_servers_do() {
        let key = "sk-a/b+c=d";
        assert_eq!(spelled(key, Encoding::Raw), [key]);
        assert_eq!(spelled(key, Encoding::Reversed), ["d=c+b/a-ks"]);
        assert_eq!(spelled(key, Encoding::Hex), ["736b2d612f622b633d64"]);
        assert_eq!(
            spelled(key, Encoding::Percent),
            ["sk-a%2Fb%2Bc%3Dd", "sk%2Da%2Fb%2Bc%3Dd"]
        );
        // Form encoding differs from the component encoding only in spaces (and `~`).
        assert_eq!(spelled(key, Encoding::Form), Vec::<String>::new());
        assert_eq!(spelled("ab cd/efgh", Encoding::Form), ["ab+cd%2Fefgh"]);
        assert_eq!(spelled("ab cd/efgh", Encoding::Percent), ["ab%20cd%2Fefgh"]);
        assert_eq!(
            spelled(key, Encoding::JsonUnicode),
            ["\\u0073\\u006b\\u002d\\u0061\\u002f\\u0062\\u002b\\u0063\\u003d\\u0064"]
        );
        assert_eq!(spelled(key, Encoding::JsonSlash), ["sk-a\\/b+c=d"]);
    }

    #[test]
    fn base64_is_found_at_every_offset_inside_a_longer_text() {
        let key = "sk-0123456789abcdef";
        let cores: Vec<String> = forms(key)
            .into_iter()
            .filter(|f| f.encoding == Encoding::Base64)
            .map(|f| f.text)
            .collect();
        assert_eq!(cores.len(), 3, "{cores:?}");
        for prefix in ["", "B", "Be", "Bearer ", "user:", "xx:"] {
            for suffix in ["", "!", "!!", "!!!"] {
                let encoded = STANDARD_NO_PAD.encode(format!("{prefix}{key}{suffix}"));
                assert!(
                    cores.iter().any(|core| encoded.contains(core.as_str())),
                    "{prefix:?}+key+{suffix:?} -> {encoded} contains none of {cores:?}"
                );
            }
        }
    }

    #[test]
    fn short_encodings_are_not_searched_but_the_raw_value_is() {
        let all = forms("ab");
        assert!(all.iter().any(|f| f.encoding == Encoding::Raw));
        assert!(
            all.iter()
                .all(|f| f.text.len() >= MIN_ENCODED_LEN || f.encoding == Encoding::Raw)
        );
        assert!(forms("").is_empty());
    }

    #[test]
    fn spellings_are_not_repeated() {
        // An alphanumeric value is its own percent encoding and form encoding.
        let all = forms("abcdefghij");
        for (i, form) in all.iter().enumerate() {
            assert!(
                all[i + 1..]
                    .iter()
                    .all(|other| !other.text.eq_ignore_ascii_case(&form.text)),
                "{form:?} twice"
            );
        }
        assert_eq!(
            spelled("abcdefghij", Encoding::Percent),
            Vec::<String>::new()
        );
    }
}
