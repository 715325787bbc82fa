//! "Smart" per-call timeouts: a per-backend base scaled by how much work one
//! call asks for.
//!
//! # Why
//!
//! One fixed timeout is wrong in both directions: too short for a call that
//! evaluates many options in one prompt (the model has to write more), and
//! far too long to notice a hung backend on a small call. Backends also
//! differ: a managed API (Bedrock) answers faster than a proxy (LiteLLM) or
//! a local model (Ollama) on modest hardware.
//!
//! # Formula
//!
//! ```text
//! computed = base(backend) × clamp(options / 5, 1.0, 3.0)
//! timeout  = min(override.unwrap_or(computed), ceiling)
//! ```
//!
//! Bases come from each backend's manifest (`timeout_base_seconds`; the
//! built-ins: Bedrock 30 s, LiteLLM 45 s, Ollama 60 s) or the operator's
//! `evaluation.timeout_base_seconds`; any other backend gets
//! [`TimeoutConfig::default_base`] (60 s).
//!
//! **Deviation from the performance guide:** the guide's factor is
//! `min(options / 5, 3.0)`, which gives a one-option call 0.2× the base —
//! 6 s on Bedrock, shorter than an ordinary LLM response takes. The factor
//! here is floored at 1.0, so the base is the shortest timeout a call gets,
//! and calls with up to 5 options all get the base; above that it grows
//! linearly up to 3× at 15 options. The factor is computed in fifths with
//! integer arithmetic, so results are exact (7 options on Bedrock is exactly
//! 42 s).
//!
//! The **override** is an operator-configured per-call timeout that
//! replaces the computed value (for a backend known to be slow, or for
//! tests). The **ceiling** bounds everything, the override included: it is
//! the longest any single call may take, e.g. to stay below the MCP
//! client's own request timeout so our error, not the client's, reaches the
//! user.

use std::collections::BTreeMap;
use std::time::Duration;

/// Inputs of the timeout computation. All fields are public so the host can
/// load them from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeoutConfig {
    /// Base timeout per backend name. Names are matched ignoring ASCII case.
    pub backend_bases: BTreeMap<String, Duration>,
    /// Base for backends not listed in `backend_bases`.
    pub default_base: Duration,
    /// If set (and non-zero), used instead of the computed timeout for every
    /// call. A zero override is ignored, since it would fail every call
    /// before it starts.
    pub override_timeout: Option<Duration>,
    /// Upper bound on any call's timeout, override included.
    pub ceiling: Duration,
}

impl Default for TimeoutConfig {
    /// No per-backend bases (the manifests add theirs, see
    /// [`EvaluationSettings::with_backend_defaults`](crate::config::EvaluationSettings::with_backend_defaults)),
    /// 60 s for the rest; no override; ceiling 180 s (the largest computed value
    /// with the built-ins' bases: 60 s × 3).
    fn default() -> Self {
        Self {
            backend_bases: BTreeMap::new(),
            default_base: Duration::from_secs(60),
            override_timeout: None,
            ceiling: Duration::from_secs(180),
        }
    }
}

/// Smallest and largest complexity factor, in fifths (1.0× and 3.0×).
const MIN_FIFTHS: u32 = 5;
const MAX_FIFTHS: u32 = 15;

impl TimeoutConfig {
    /// Base timeout for `backend` (ASCII case-insensitive), or
    /// [`TimeoutConfig::default_base`] if it is not listed.
    pub fn base_for(&self, backend: &str) -> Duration {
        self.backend_bases
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(backend))
            .map_or(self.default_base, |(_, base)| *base)
    }

    /// Timeout for one call to `backend` evaluating `options` options. See
    /// the module docs for the formula.
    pub fn timeout_for(&self, backend: &str, options: usize) -> Duration {
        let chosen = match self.override_timeout {
            Some(fixed) if !fixed.is_zero() => fixed,
            _ => self.computed(backend, options),
        };
        chosen.min(self.ceiling)
    }

    /// `base × clamp(options / 5, 1, 3)`, before override and ceiling.
    fn computed(&self, backend: &str, options: usize) -> Duration {
        let fifths = u32::try_from(options)
            .unwrap_or(u32::MAX)
            .clamp(MIN_FIFTHS, MAX_FIFTHS);
        let base = self.base_for(backend);
        // Multiply before dividing to keep the result exact; only for bases
        // of centuries does that overflow, and then dividing first is close
        // enough (and the ceiling applies anyway).
        match base.checked_mul(fifths) {
            Some(scaled) => scaled / MIN_FIFTHS,
            None => (base / MIN_FIFTHS)
                .checked_mul(fifths)
                .unwrap_or(Duration::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// The defaults as the built-in backends' manifests set them (`host` checks that the
    /// manifests still say so).
    fn builtin() -> TimeoutConfig {
        let mut config = TimeoutConfig::default();
        for (backend, seconds) in [("bedrock", 30), ("litellm", 45), ("ollama", 60)] {
            config
                .backend_bases
                .insert(backend.to_owned(), secs(seconds));
        }
        config
    }

    #[test]
    fn defaults() {
        let c = builtin();
        assert_eq!(c.base_for("bedrock"), secs(30));
        assert_eq!(c.base_for("litellm"), secs(45));
        assert_eq!(c.base_for("ollama"), secs(60));
        assert_eq!(c.base_for("openai"), secs(60));
        assert_eq!(c.default_base, secs(60));
        assert_eq!(c.override_timeout, None);
        assert_eq!(c.ceiling, secs(180));
    }

    #[test]
    fn backend_names_ignore_ascii_case() {
        let c = builtin();
        assert_eq!(c.base_for("Bedrock"), secs(30));
        assert_eq!(c.base_for("LITELLM"), secs(45));
    }

    #[test]
    fn few_options_get_the_full_base_not_a_fraction() {
        let c = builtin();
        // The guide's formula would give 0 s / 6 s / 24 s here.
        for options in [0, 1, 4, 5] {
            assert_eq!(c.timeout_for("bedrock", options), secs(30), "{options}");
        }
    }

    #[test]
    fn scales_linearly_between_5_and_15_options() {
        let c = builtin();
        assert_eq!(c.timeout_for("bedrock", 6), secs(36));
        assert_eq!(c.timeout_for("bedrock", 7), secs(42));
        assert_eq!(c.timeout_for("bedrock", 10), secs(60));
        assert_eq!(c.timeout_for("litellm", 8), secs(72));
        assert_eq!(c.timeout_for("ollama", 12), secs(144));
        assert_eq!(c.timeout_for("bedrock", 15), secs(90));
    }

    #[test]
    fn factor_is_capped_at_three() {
        let c = builtin();
        assert_eq!(c.timeout_for("bedrock", 16), secs(90));
        assert_eq!(c.timeout_for("bedrock", 1000), secs(90));
        assert_eq!(c.timeout_for("bedrock", usize::MAX), secs(90));
        assert_eq!(c.timeout_for("unknown", 100), secs(180));
    }

    #[test]
    fn fractional_results_are_exact() {
        let c = TimeoutConfig {
            default_base: Duration::from_millis(1001),
            ..builtin()
        };
        // 1.001 s × 7/5 = 1.4014 s
        assert_eq!(c.timeout_for("x", 7), Duration::from_micros(1_401_400));
    }

    #[test]
    fn override_replaces_computed_value() {
        let c = TimeoutConfig {
            override_timeout: Some(secs(20)),
            ..builtin()
        };
        assert_eq!(c.timeout_for("bedrock", 1), secs(20));
        assert_eq!(c.timeout_for("ollama", 15), secs(20));
    }

    #[test]
    fn zero_override_is_ignored() {
        let c = TimeoutConfig {
            override_timeout: Some(Duration::ZERO),
            ..builtin()
        };
        assert_eq!(c.timeout_for("bedrock", 1), secs(30));
    }

    #[test]
    fn ceiling_bounds_computed_and_override() {
        let c = TimeoutConfig {
            ceiling: secs(100),
            ..builtin()
        };
        assert_eq!(c.timeout_for("ollama", 15), secs(100));
        assert_eq!(c.timeout_for("bedrock", 15), secs(90));

        let c = TimeoutConfig {
            override_timeout: Some(secs(300)),
            ceiling: secs(100),
            ..builtin()
        };
        assert_eq!(c.timeout_for("bedrock", 1), secs(100));
    }

    #[test]
    fn custom_backend_bases() {
        let mut c = builtin();
        c.backend_bases.insert("openrouter".to_owned(), secs(40));
        c.default_base = secs(50);
        assert_eq!(c.timeout_for("openrouter", 10), secs(80));
        assert_eq!(c.timeout_for("other", 1), secs(50));
    }

    #[test]
    fn huge_base_does_not_overflow() {
        let c = TimeoutConfig {
            default_base: Duration::MAX,
            ceiling: Duration::MAX,
            ..builtin()
        };
        assert_eq!(c.timeout_for("x", 15), Duration::MAX);
        assert_eq!(c.timeout_for("x", 1), (Duration::MAX / 5) * 5);
        let c = TimeoutConfig {
            default_base: Duration::MAX / 4,
            ceiling: Duration::MAX,
            ..builtin()
        };
        assert_eq!(c.timeout_for("x", 6), (Duration::MAX / 4 / 5) * 6);
    }
}
