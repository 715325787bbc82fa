//! How full memory is, for the session store's memory-aware cleanup and the memory alert,
//! and how much of it this process holds ([`resident_bytes`]), for metrics.
//!
//! In a container the limit that matters is the cgroup's, not the machine's RAM, so the
//! process's cgroup v2 limit is used when one is set (`memory.current` / `memory.max`);
//! otherwise `/proc/meminfo` (used = total − available). Where neither exists the use is
//! unknown and memory never triggers a cleanup.

/// Reports memory use.
pub trait MemoryProbe: Send + Sync {
    /// Percent of the available memory in use, if known.
    fn used_percent(&self) -> Option<f64>;
}

/// The memory of this process's container or machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemMemory;

impl MemoryProbe for SystemMemory {
    fn used_percent(&self) -> Option<f64> {
        cgroup_used_percent().or_else(|| {
            let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
            meminfo_used_percent(&meminfo)
        })
    }
}

fn cgroup_used_percent() -> Option<f64> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = membership
        .lines()
        .find_map(|line| line.strip_prefix("0::"))?
        .trim();
    let dir = std::path::Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    cgroup_percent(&read("memory.current")?, &read("memory.max")?)
}

/// This process's resident set size, from `/proc/self/status`; `None` where there is none.
pub fn resident_bytes() -> Option<u64> {
    vm_rss_bytes(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// The `VmRSS` line of a `/proc/PID/status` text, in bytes.
fn vm_rss_bytes(status: &str) -> Option<u64> {
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// `current` of `max` bytes in percent; `None` when the cgroup has no limit (`max`).
fn cgroup_percent(current: &str, max: &str) -> Option<f64> {
    let max: f64 = max.trim().parse().ok().filter(|max: &f64| *max > 0.0)?;
    let current: f64 = current.trim().parse().ok()?;
    Some(current / max * 100.0)
}

/// Used memory in percent from the text of `/proc/meminfo`.
fn meminfo_used_percent(meminfo: &str) -> Option<f64> {
    let field = |name: &str| -> Option<f64> {
        meminfo
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    let total = field("MemTotal").filter(|total| *total > 0.0)?;
    let available = field("MemAvailable")?;
    Some((total - available) / total * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_counts_available_memory_as_free() {
        let text = "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    250 kB\n";
        assert_eq!(meminfo_used_percent(text), Some(75.0));
        assert_eq!(
            meminfo_used_percent("MemTotal: 0 kB\nMemAvailable: 0 kB"),
            None
        );
        assert_eq!(meminfo_used_percent("nonsense"), None);
    }

    #[test]
    fn the_resident_set_is_read_in_bytes() {
        assert_eq!(
            vm_rss_bytes("Name:\tx\nVmRSS:\t  2048 kB\nVmSwap:\t0 kB\n"),
            Some(2 * 1024 * 1024)
        );
        assert_eq!(vm_rss_bytes("Name:\tx\n"), None);
        #[cfg(target_os = "linux")]
        assert!(resident_bytes().is_some_and(|bytes| bytes > 0));
    }

    #[test]
    fn an_unlimited_cgroup_defers_to_the_machine() {
        assert_eq!(cgroup_percent("512\n", "1024\n"), Some(50.0));
        assert_eq!(cgroup_percent("512\n", "max\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_machine_reports_a_plausible_figure() {
        let used = SystemMemory
            .used_percent()
            .expect("Linux reports memory use");
        assert!((0.0..=100.0).contains(&used), "{used}");
    }
}
