//! Per-call resource limits: the operator's defaults and maxima, and the limits a plugin gets
//! once its manifest's requests are capped by them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::manifest::RequestedLimits;

/// How often the engine's epoch advances. The CPU budget is counted in these ticks, so it is
/// also the budget's resolution.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The operator's limits for plugin calls (`[plugins.limits]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Linear memory a plugin gets when its manifest does not say, in MiB.
    pub default_memory_mib: u64,
    /// Most linear memory any plugin may have, in MiB. Also sizes the pooling allocator.
    pub max_memory_mib: u64,
    /// CPU time a call may spend in wasm when the manifest does not say, in ms.
    pub default_cpu_ms: u64,
    /// Most CPU time any call may spend in wasm, in ms.
    pub max_cpu_ms: u64,
    /// Wall-clock time a call may take (host I/O included) when the manifest does not say, in ms.
    pub default_timeout_ms: u64,
    /// Most wall-clock time any call may take, in ms.
    pub max_timeout_ms: u64,
    /// Plugin calls running at once, across all plugins. Bounds the instance pool.
    pub max_concurrent_calls: u32,
    /// Linear memory all plugin calls in flight may hold together, in MiB. A call whose
    /// growth would pass it stops with a retryable error.
    pub max_total_memory_mib: u64,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            default_memory_mib: 64,
            max_memory_mib: 256,
            default_cpu_ms: 2_000,
            max_cpu_ms: 10_000,
            default_timeout_ms: 120_000,
            max_timeout_ms: 600_000,
            max_concurrent_calls: 128,
            max_total_memory_mib: 1024,
        }
    }
}

/// The limits one plugin's calls run under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginLimits {
    /// Cap on linear memory, in bytes.
    pub memory_bytes: usize,
    /// CPU time a call may spend running wasm.
    pub cpu: Duration,
    /// Wall-clock time a call may take, host I/O included.
    pub wall: Duration,
}

impl PluginLimits {
    /// The CPU budget as a number of epoch ticks (at least one).
    pub fn cpu_ticks(&self) -> u64 {
        (self.cpu.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
    }
}

impl LimitSettings {
    /// Checks the settings are consistent; the message names the key to fix.
    pub fn validate(&self) -> Result<(), String> {
        let pairs = [
            ("memory_mib", self.default_memory_mib, self.max_memory_mib),
            ("cpu_ms", self.default_cpu_ms, self.max_cpu_ms),
            ("timeout_ms", self.default_timeout_ms, self.max_timeout_ms),
        ];
        for (name, default, max) in pairs {
            if default == 0 || max == 0 {
                return Err(format!(
                    "[plugins.limits] default_{name} and max_{name} must be greater than 0"
                ));
            }
            if default > max {
                return Err(format!(
                    "[plugins.limits] default_{name} ({default}) is larger than max_{name} ({max})"
                ));
            }
        }
        if self.max_memory_mib > 4096 {
            return Err(
                "[plugins.limits] max_memory_mib is at most 4096 (wasm32 address space)".to_owned(),
            );
        }
        if self.max_concurrent_calls == 0 {
            return Err("[plugins.limits] max_concurrent_calls must be greater than 0".to_owned());
        }
        if self.max_total_memory_mib < self.max_memory_mib {
            return Err(format!(
                "[plugins.limits] max_total_memory_mib ({}) is smaller than max_memory_mib ({}): \
                 a plugin allowed max_memory_mib could never use it",
                self.max_total_memory_mib, self.max_memory_mib
            ));
        }
        Ok(())
    }

    /// The budget all calls in flight share, in bytes.
    pub fn total_memory_bytes(&self) -> usize {
        usize::try_from(self.max_total_memory_mib * 1024 * 1024).unwrap_or(usize::MAX)
    }

    /// The limits for a plugin that asked for `requested`: its request, or the default, capped
    /// at the maximum.
    pub fn resolve(&self, requested: &RequestedLimits) -> PluginLimits {
        let pick = |asked: Option<u64>, default: u64, max: u64| asked.unwrap_or(default).min(max);
        PluginLimits {
            memory_bytes: (pick(
                requested.memory_mib,
                self.default_memory_mib,
                self.max_memory_mib,
            ) * 1024
                * 1024) as usize,
            cpu: Duration::from_millis(pick(
                requested.cpu_ms,
                self.default_cpu_ms,
                self.max_cpu_ms,
            )),
            wall: Duration::from_millis(pick(
                requested.timeout_ms,
                self.default_timeout_ms,
                self.max_timeout_ms,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_capped_and_defaults_fill_gaps() {
        let settings = LimitSettings::default();
        let limits = settings.resolve(&RequestedLimits {
            memory_mib: Some(100_000),
            cpu_ms: Some(50),
            timeout_ms: None,
        });
        assert_eq!(limits.memory_bytes, 256 * 1024 * 1024);
        assert_eq!(limits.cpu, Duration::from_millis(50));
        assert_eq!(limits.wall, Duration::from_millis(120_000));
        assert_eq!(limits.cpu_ticks(), 5);
    }

    #[test]
    fn inconsistent_settings_name_the_key() {
        let settings = LimitSettings {
            default_cpu_ms: 20_000,
            ..LimitSettings::default()
        };
        let err = settings.validate().unwrap_err();
        assert!(err.contains("default_cpu_ms"), "{err}");

        let settings = LimitSettings {
            max_total_memory_mib: 128,
            ..LimitSettings::default()
        };
        let err = settings.validate().unwrap_err();
        assert!(
            err.contains("max_total_memory_mib (128) is smaller than max_memory_mib (256)"),
            "{err}"
        );
    }
}
