//! Secret values, in every spelling [`secret_forms`](super::secret_forms) knows, removed
//! from what goes back to a plugin or into a log, and found in what a plugin sends.
//!
//! APIs echo request headers in error bodies ("invalid key sk-…"), proxies and debugging
//! endpoints echo whole requests, some of them encoded. Whatever the host injected must not
//! come back to the plugin that way, and a value that got through anyway must not leave for
//! a destination it is not bound to. All spellings of all of a plugin's secrets are searched
//! in one pass (Aho-Corasick), ASCII-case-insensitively: hex and percent escapes come in
//! either case, and redacting a case-changed copy of a key costs nothing.

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use secrecy::{ExposeSecret, SecretString};

use super::secret_forms::{Encoding, forms};

/// What a secret value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// A secret by name, with its value.
pub(crate) type NamedSecret = (String, SecretString);

/// The searcher for a set of secret values. Built once per set: a plugin's set changes only
/// when a secret is first read or AWS credentials are refreshed.
pub(crate) struct Scrubber {
    secrets: Vec<NamedSecret>,
    /// `None` when there is nothing to look for.
    automaton: Option<AhoCorasick>,
    /// For each pattern of the automaton: which secret, spelled how.
    patterns: Vec<(usize, Encoding)>,
}

/// A secret found in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found<'a> {
    /// The secret's name.
    pub(crate) name: &'a str,
    /// How the text spells it.
    pub(crate) encoding: Encoding,
}

impl Scrubber {
    /// A searcher for every spelling of `secrets`.
    pub(crate) fn new(secrets: Vec<NamedSecret>) -> Scrubber {
        let mut texts = Vec::new();
        let mut patterns = Vec::new();
        for (index, (_, value)) in secrets.iter().enumerate() {
            for form in forms(value.expose_secret()) {
                patterns.push((index, form.encoding));
                texts.push(form.text);
            }
        }
        let automaton = (!texts.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(&texts)
                // Only a pattern set too large for memory fails to build; a plugin's
                // secrets are a handful of short strings.
                .expect("an automaton for a plugin's secret spellings")
        });
        Scrubber {
            secrets,
            automaton,
            patterns,
        }
    }

    /// Whether this searcher was built from exactly `secrets`.
    pub(crate) fn is_for(&self, secrets: &[NamedSecret]) -> bool {
        self.secrets.len() == secrets.len()
            && self
                .secrets
                .iter()
                .zip(secrets)
                .all(|(a, b)| a.0 == b.0 && a.1.expose_secret() == b.1.expose_secret())
    }

    /// Replaces every spelling of every secret in `haystack` with [`REDACTED`]; copies only
    /// when something matched.
    pub(crate) fn scrub_bytes(&self, haystack: &mut Vec<u8>) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        if automaton.is_match(haystack.as_slice()) {
            let replacements = vec![REDACTED.as_bytes(); self.patterns.len()];
            *haystack = automaton.replace_all_bytes(haystack, &replacements);
        }
    }

    /// [`Scrubber::scrub_bytes`] for text; borrows when nothing matched, the usual case.
    pub(crate) fn scrub_str<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match &self.automaton {
            Some(automaton) if automaton.is_match(text) => {
                let replacements = vec![REDACTED; self.patterns.len()];
                // A match starts and ends on character boundaries: the patterns are UTF-8 and
                // match byte for byte except for the case of ASCII letters.
                Cow::Owned(automaton.replace_all(text, &replacements))
            }
            _ => Cow::Borrowed(text),
        }
    }

    /// Every secret spelled in `haystack`, in order of appearance.
    pub(crate) fn find<'s>(&'s self, haystack: &'s [u8]) -> impl Iterator<Item = Found<'s>> + 's {
        self.automaton
            .iter()
            .flat_map(move |automaton| automaton.find_iter(haystack))
            .map(|found| {
                let (index, encoding) = self.patterns[found.pattern().as_usize()];
                Found {
                    name: &self.secrets[index].0,
                    encoding,
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use proptest::prelude::*;

    use super::*;

    const KEY: &str = "sk-live/4f9a+Q2x=7b1c";

    fn scrubber(values: &[&str]) -> Scrubber {
        Scrubber::new(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("s{i}"), SecretString::from(*v)))
                .collect(),
        )
    }

    /// The echoes the attack recovered keys from, each inside ordinary text.
    fn echoes(key: &str) -> Vec<String> {
        let reversed: String = key.chars().rev().collect();
        let unicode: String = key
            .chars()
            .map(|c| format!("\\u{:04X}", c as u32))
            .collect();
        vec![
            format!("invalid key {key}"),
            format!(
                "{{\"auth\":\"{}\"}}",
                STANDARD.encode(format!("Bearer {key}"))
            ),
            format!("token={}", URL_SAFE_NO_PAD.encode(format!("x:{key}"))),
            format!("hex {} end", hex::encode(key).to_uppercase()),
            format!(
                "/echo?k={}",
                percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC)
            ),
            format!("{{\"k\":\"{unicode}\"}}"),
            format!("{{\"k\":\"{}\"}}", key.replace('/', "\\/")),
            format!("yek eht {reversed}"),
            format!("upper {}", key.to_uppercase()),
        ]
    }

    #[test]
    fn every_echo_the_attack_used_is_redacted() {
        let s = scrubber(&[KEY]);
        for echo in echoes(KEY) {
            let scrubbed = s.scrub_str(&echo);
            assert!(scrubbed.contains(REDACTED), "{echo} -> {scrubbed}");
            for form in forms(KEY) {
                assert!(
                    !scrubbed
                        .to_ascii_lowercase()
                        .contains(&form.text.to_ascii_lowercase()),
                    "{:?} survives in {scrubbed}",
                    form.encoding
                );
            }
            let mut bytes = echo.clone().into_bytes();
            s.scrub_bytes(&mut bytes);
            assert_eq!(bytes, scrubbed.as_bytes());
        }
    }

    #[test]
    fn found_spellings_name_the_secret_and_the_encoding() {
        let s = scrubber(&["sk-unrelated-0000", KEY]);
        let body = format!("a={}", hex::encode(KEY));
        let found: Vec<Found> = s.find(body.as_bytes()).collect();
        assert_eq!(
            found,
            [Found {
                name: "s1",
                encoding: Encoding::Hex
            }]
        );
        assert_eq!(s.find(b"nothing to see").count(), 0);
    }

    #[test]
    fn longer_secrets_win_and_clean_text_is_borrowed() {
        let s = scrubber(&["abc", "abcdef"]);
        assert_eq!(s.scrub_str("abcdef abc"), "[REDACTED] [REDACTED]");
        assert!(matches!(s.scrub_str("nothing here"), Cow::Borrowed(_)));
        let none = scrubber(&[]);
        assert!(matches!(none.scrub_str("abc"), Cow::Borrowed(_)));
    }

    #[test]
    fn works_on_non_utf8_bodies() {
        let s = scrubber(&["sk"]);
        let mut body = vec![0xff, b's', b'k', 0xfe];
        s.scrub_bytes(&mut body);
        let mut want = vec![0xff];
        want.extend_from_slice(REDACTED.as_bytes());
        want.push(0xfe);
        assert_eq!(body, want);
    }

    #[test]
    fn is_for_compares_names_and_values() {
        let s = scrubber(&[KEY]);
        assert!(s.is_for(&[("s0".to_owned(), SecretString::from(KEY))]));
        assert!(!s.is_for(&[("s0".to_owned(), SecretString::from("other"))]));
        assert!(!s.is_for(&[]));
    }

    proptest! {
        #[test]
        fn no_occurrence_survives(
            parts in proptest::collection::vec("[a-c]{0,6}", 0..8),
            secret in "[a-c]{2,5}",
        ) {
            let text = parts.join(&secret);
            let s = scrubber(&[&secret]);
            let mut bytes = text.clone().into_bytes();
            s.scrub_bytes(&mut bytes);
            let scrubbed = String::from_utf8(bytes).unwrap();
            // The marker holds none of a, b, c (in either case), so a survivor would be real.
            prop_assert!(!scrubbed.contains(&secret), "{} in {}", secret, scrubbed);
            prop_assert!(!s.scrub_str(&text).contains(&secret));
        }
    }
}
