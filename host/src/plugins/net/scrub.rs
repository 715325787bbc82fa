//! Removing secret values from anything that goes back to a plugin or into a log.
//!
//! APIs echo request headers in error bodies ("invalid key sk-…"), and proxies echo whole
//! requests. Whatever the host injected must not come back to the plugin that way. Only exact
//! byte matches are replaced: encoded forms (base64, JSON escapes of odd characters) are not
//! searched, which is why plugins still never receive a value directly.

use std::borrow::Cow;

/// What a secret value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Replaces every occurrence of each needle in `haystack` with [`REDACTED`]. Empty needles
/// are ignored. Longer needles go first, so a secret that contains another secret is replaced
/// whole.
pub(crate) fn scrub_bytes(haystack: &mut Vec<u8>, needles: &[&str]) {
    for needle in sorted_longest_first(needles) {
        if let Some(replaced) = replace_all(haystack, needle.as_bytes()) {
            *haystack = replaced;
        }
    }
}

/// [`scrub_bytes`] for text; borrows when nothing matched, which is the usual case.
pub(crate) fn scrub_str<'a>(text: &'a str, needles: &[&str]) -> Cow<'a, str> {
    let mut current = Cow::Borrowed(text);
    for needle in sorted_longest_first(needles) {
        if current.contains(needle) {
            current = Cow::Owned(current.replace(needle, REDACTED));
        }
    }
    current
}

fn sorted_longest_first<'a>(needles: &[&'a str]) -> Vec<&'a str> {
    let mut sorted: Vec<&str> = needles.iter().copied().filter(|n| !n.is_empty()).collect();
    sorted.sort_by_key(|n| std::cmp::Reverse(n.len()));
    sorted
}

/// A copy of `haystack` with every occurrence of `needle` replaced, or `None` when there is
/// none (so an unaffected multi-megabyte body is not copied).
fn replace_all(haystack: &[u8], needle: &[u8]) -> Option<Vec<u8>> {
    let first = *needle.first()?;
    let mut out: Option<Vec<u8>> = None;
    let mut copied_up_to = 0;
    let mut at = 0;
    while at + needle.len() <= haystack.len() {
        // Skip straight to the next possible start; the slice search is vectorised.
        let Some(offset) = haystack[at..].iter().position(|&b| b == first) else {
            break;
        };
        at += offset;
        if haystack[at..].starts_with(needle) {
            let buffer = out.get_or_insert_with(|| Vec::with_capacity(haystack.len()));
            buffer.extend_from_slice(&haystack[copied_up_to..at]);
            buffer.extend_from_slice(REDACTED.as_bytes());
            at += needle.len();
            copied_up_to = at;
        } else {
            at += 1;
        }
    }
    let mut buffer = out?;
    buffer.extend_from_slice(&haystack[copied_up_to..]);
    Some(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn replaces_every_occurrence() {
        let mut body = b"key=sk-123; again sk-123sk-123 end sk-12".to_vec();
        scrub_bytes(&mut body, &["sk-123"]);
        assert_eq!(
            body,
            b"key=[REDACTED]; again [REDACTED][REDACTED] end sk-12".to_vec()
        );
    }

    #[test]
    fn longer_secrets_win_over_their_substrings() {
        assert_eq!(scrub_str("abcdef", &["abc", "abcdef"]), "[REDACTED]");
        let mut body = b"abcdef abc".to_vec();
        scrub_bytes(&mut body, &["abc", "abcdef"]);
        assert_eq!(body, b"[REDACTED] [REDACTED]".to_vec());
    }

    #[test]
    fn untouched_text_is_borrowed_and_empty_needles_ignored() {
        assert!(matches!(
            scrub_str("nothing here", &["sk-1", ""]),
            Cow::Borrowed(_)
        ));
        let mut body = b"nothing".to_vec();
        scrub_bytes(&mut body, &[""]);
        assert_eq!(body, b"nothing".to_vec());
    }

    #[test]
    fn works_on_non_utf8_bodies() {
        let mut body = vec![0xff, b's', b'k', 0xfe, b's', b'k'];
        scrub_bytes(&mut body, &["sk"]);
        let mut want = vec![0xff];
        want.extend_from_slice(b"[REDACTED]");
        want.push(0xfe);
        want.extend_from_slice(b"[REDACTED]");
        assert_eq!(body, want);
    }

    proptest! {
        #[test]
        fn no_occurrence_survives(
            parts in proptest::collection::vec("[a-c]{0,6}", 0..8),
            secret in "[a-c]{2,5}",
        ) {
            let text = parts.join(&secret);
            let mut bytes = text.clone().into_bytes();
            scrub_bytes(&mut bytes, &[secret.as_str()]);
            let scrubbed = String::from_utf8(bytes).unwrap();
            // The marker itself contains none of a, b, c, so any survivor would be real.
            prop_assert!(!scrubbed.contains(&secret), "{} in {}", secret, scrubbed);
            prop_assert!(!scrub_str(&text, &[secret.as_str()]).contains(&secret));
        }
    }
}
