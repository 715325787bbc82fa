//! `[plugins.http]`'s limits as the outbound HTTP pipeline takes them: time and size bounds
//! of every plugin request.

use std::time::Duration;

/// Time and size limits of the outbound HTTP pipeline, the same for every plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time to establish a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Longest silence while reading a response; catches a stalled stream long before the
    /// total time limit of a long generation.
    pub read_timeout: Duration,
    /// Total time for a request that does not ask for a limit.
    pub default_timeout: Duration,
    /// Largest total time a request may ask for.
    pub max_timeout: Duration,
    /// Largest response body delivered to a plugin, in bytes.
    pub max_response_bytes: u64,
}

impl Default for HttpLimits {
    /// 10 s to connect, 60 s of silence, 120 s per request unless asked otherwise, 300 s at
    /// most, 16 MiB of body: generous for LLM APIs, which answer in JSON of a few kilobytes
    /// but can take minutes on a long generation.
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            default_timeout: Duration::from_secs(120),
            max_timeout: Duration::from_secs(300),
            max_response_bytes: 16 * 1024 * 1024,
        }
    }
}

impl HttpLimits {
    /// The total time limit for a request that asked for `requested_ms` (none: the default),
    /// never above `max_timeout`.
    pub fn timeout_for(&self, requested_ms: Option<u32>) -> Duration {
        let requested = requested_ms
            .map(|ms| Duration::from_millis(u64::from(ms)))
            .unwrap_or(self.default_timeout);
        requested.min(self.max_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_is_capped_and_defaulted() {
        let limits = HttpLimits::default();
        assert_eq!(limits.timeout_for(None), Duration::from_secs(120));
        assert_eq!(
            limits.timeout_for(Some(1_500)),
            Duration::from_millis(1_500)
        );
        assert_eq!(limits.timeout_for(Some(u32::MAX)), Duration::from_secs(300));
        let odd = HttpLimits {
            default_timeout: Duration::from_secs(900),
            ..HttpLimits::default()
        };
        assert_eq!(odd.timeout_for(None), Duration::from_secs(300));
    }
}
