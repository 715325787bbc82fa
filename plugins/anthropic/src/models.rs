//! What a Claude model accepts, read from its id.
//!
//! Two request features depend on the model, and a request that uses one the model lacks is
//! refused with a 400:
//!
//! * `output_config.format` (structured outputs) is generally available from the 4.5
//!   generation on (Sonnet 4.5, Haiku 4.5, Opus 4.5 and everything newer); older models only
//!   have forced tool use.
//! * `temperature`, `top_p` and `top_k` are rejected ("`temperature` is deprecated for this
//!   model") from Opus 4.7 on, by every model of major version 5 or later, and by the families
//!   outside Opus, Sonnet and Haiku (Fable, Mythos), which reason adaptively and always.
//!   Those same always-reasoning models refuse a forced `tool_choice`, which is one more
//!   reason they get `output_config.format`.
//!
//! Ids come in two shapes: `claude-3-5-sonnet-20241022` (version first, Claude 3 family) and
//! `claude-sonnet-4-5-20250929` or `claude-opus-4-7` (family first). An id that matches
//! neither (a gateway's alias, say) gets what every model since Claude 3 accepts: a forced
//! tool and a temperature; `structured-output` and `temperature` in the configuration
//! override either choice.

/// What the plugin may send to a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `output_config.format` is accepted.
    pub output_format: bool,
    /// `temperature` is accepted.
    pub sampling: bool,
}

/// What every Claude model since Claude 3 accepts.
const BASELINE: Capabilities = Capabilities {
    output_format: false,
    sampling: true,
};

/// The families whose versions are read from the id; any other family name belongs to the
/// generation after them.
const VERSIONED_FAMILIES: &[&str] = &["opus", "sonnet", "haiku"];

/// The capabilities of `model`, read from its id.
pub fn capabilities(model: &str) -> Capabilities {
    // A routing prefix (`anthropic/claude-...`) is not part of the id.
    let id = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    let Some(rest) = id.strip_prefix("claude-") else {
        return BASELINE;
    };
    let mut parts = rest.split('-');
    let Some(first) = parts.next() else {
        return BASELINE;
    };
    if first.is_empty() || first.starts_with(|c: char| c.is_ascii_digit()) {
        // `claude-3-5-sonnet-...`: the Claude 3 generation (or older).
        return BASELINE;
    }
    if !VERSIONED_FAMILIES.contains(&first) {
        return Capabilities {
            output_format: true,
            sampling: false,
        };
    }
    let Some(major) = parts.next().and_then(version_number) else {
        return BASELINE;
    };
    // The minor version is short; a dated snapshot suffix (`20250929`) is not one.
    let minor = parts.next().and_then(version_number).unwrap_or(0);
    let version = (major, minor);
    Capabilities {
        output_format: version >= (4, 5),
        sampling: version < (4, 7),
    }
}

/// A one- or two-digit version number.
fn version_number(part: &str) -> Option<u32> {
    if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(output_format: bool, sampling: bool) -> Capabilities {
        Capabilities {
            output_format,
            sampling,
        }
    }

    #[test]
    fn generations_are_told_apart() {
        for (model, expected) in [
            ("claude-3-5-sonnet-20241022", caps(false, true)),
            ("claude-3-7-sonnet-latest", caps(false, true)),
            ("claude-3-haiku-20240307", caps(false, true)),
            ("claude-sonnet-4-20250514", caps(false, true)),
            ("claude-opus-4-1-20250805", caps(false, true)),
            ("claude-sonnet-4-5-20250929", caps(true, true)),
            ("claude-sonnet-4-5", caps(true, true)),
            ("claude-haiku-4-5-20251001", caps(true, true)),
            ("claude-opus-4-6", caps(true, true)),
            ("claude-sonnet-4-6", caps(true, true)),
            ("claude-opus-4-7", caps(true, false)),
            ("claude-opus-4-8", caps(true, false)),
            ("claude-sonnet-5", caps(true, false)),
            ("claude-sonnet-5-5", caps(true, false)),
            ("claude-haiku-5-5", caps(true, false)),
            ("claude-fable-5", caps(true, false)),
            ("claude-mythos-preview", caps(true, false)),
            ("anthropic/claude-sonnet-4-6", caps(true, true)),
            ("Claude-Opus-4-7", caps(true, false)),
        ] {
            assert_eq!(capabilities(model), expected, "{model}");
        }
    }

    #[test]
    fn unknown_ids_get_the_baseline() {
        for model in [
            "claude-sonnet",
            "my-gateway-alias",
            "claude-",
            "",
            "claude-opus-latest",
            "claude-2.1",
        ] {
            assert_eq!(capabilities(model), BASELINE, "{model}");
        }
    }
}
