//! How full memory is, for the session store's memory-aware cleanup and the memory alert,
//! and how much of it this process holds ([`resident_bytes`]), for metrics.
//!
//! In a container the limit that matters is the cgroup's, not the machine's RAM, so the
//! process's cgroup v2 limit is used when one is set (`memory.current` / `memory.max`);
//! otherwise `/proc/meminfo` (used = total − available). Where neither exists the use is
//! unknown and memory never triggers a cleanup.
//!
//! Every `server_stats`, `/healthz` and `/metrics` reading takes these figures, so they are
//! read the cheap way: the cgroup directory is found once and each file is read with one
//! `read` into a buffer on the stack (`read_to_string` probes and grows). The kernel
//! composes `/proc/meminfo` afresh at every read, which costs more than the rest of a
//! `server_stats` call, so the machine's figure is reused for up to [`MACHINE_MAX_AGE`]: a
//! second-old percentage judges a memory threshold as well as a new one. Reading the files
//! was half of `server_stats`'s own time before.

use parking_lot::Mutex;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a reading of the machine's memory (`/proc/meminfo` or the cgroup) is reused.
pub const MACHINE_MAX_AGE: Duration = Duration::from_secs(1);

/// Reports memory use.
pub trait MemoryProbe: Send + Sync {
    /// Percent of the available memory in use, if known.
    fn used_percent(&self) -> Option<f64>;
}

/// The memory of this process's container or machine.
#[derive(Debug, Default)]
pub struct SystemMemory {
    /// This process's cgroup v2 directory, when it has one with a memory controller.
    cgroup: Option<PathBuf>,
    /// The last reading and when it was taken.
    last: Mutex<Option<(Instant, Option<f64>)>>,
}

impl SystemMemory {
    /// Finds this process's cgroup. A process is not expected to move to another cgroup
    /// while it runs; the limit itself is read afresh each time, as it may be changed.
    pub fn detect() -> SystemMemory {
        SystemMemory {
            cgroup: cgroup_dir().filter(|dir| dir.join("memory.max").exists()),
            last: Mutex::default(),
        }
    }

    fn read_used_percent(&self) -> Option<f64> {
        let mut buffer = [0; SMALL_FILE];
        if let Some(dir) = &self.cgroup {
            let current = read_small(&dir.join("memory.current"), &mut buffer)
                .and_then(|text| text.trim().parse().ok());
            let max = read_small(&dir.join("memory.max"), &mut buffer);
            if let (Some(current), Some(max)) = (current, max)
                && let Some(percent) = cgroup_percent(current, max)
            {
                return Some(percent);
            }
        }
        meminfo_used_percent(read_small(Path::new("/proc/meminfo"), &mut buffer)?)
    }
}

impl MemoryProbe for SystemMemory {
    fn used_percent(&self) -> Option<f64> {
        let mut last = self.last.lock();
        let now = Instant::now();
        match *last {
            Some((taken, used)) if now.duration_since(taken) < MACHINE_MAX_AGE => used,
            _ => {
                let used = self.read_used_percent();
                *last = Some((now, used));
                used
            }
        }
    }
}

/// The largest text read from `/proc` or a cgroup here: `/proc/meminfo` and
/// `/proc/self/status` are about 1.5 KiB (status grows with the CPU masks of very large
/// machines, hence the room).
const SMALL_FILE: usize = 8192;

/// The text of a small pseudo-file, read into `buffer`; `None` when it cannot be read, is
/// not UTF-8, or does not fit.
fn read_small<'a>(path: &Path, buffer: &'a mut [u8]) -> Option<&'a str> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut filled = 0;
    // A pseudo-file hands over its whole text in the first read; the loop is for files that
    // do not, and ends at the end of the file or of the buffer.
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => return std::str::from_utf8(&buffer[..filled]).ok(),
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    None
}

/// The cgroup v2 directory of this process, from `/proc/self/cgroup`.
fn cgroup_dir() -> Option<PathBuf> {
    let mut buffer = [0; SMALL_FILE];
    let membership = read_small(Path::new("/proc/self/cgroup"), &mut buffer)?;
    let path = membership
        .lines()
        .find_map(|line| line.strip_prefix("0::"))?
        .trim();
    Some(Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/')))
}

/// This process's resident set size, from `/proc/self/status`; `None` where there is none.
pub fn resident_bytes() -> Option<u64> {
    let mut buffer = [0; SMALL_FILE];
    vm_rss_bytes(read_small(Path::new("/proc/self/status"), &mut buffer)?)
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
fn cgroup_percent(current: f64, max: &str) -> Option<f64> {
    let max: f64 = max.trim().parse().ok().filter(|max: &f64| *max > 0.0)?;
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
        assert!(resident_bytes().is_some_and(|bytes| bytes > 1024 * 1024));
    }

    #[test]
    fn small_files_are_read_whole_or_not_at_all() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("memory.max");
        std::fs::write(&path, "1048576\n").expect("write");
        let mut buffer = [0; 64];
        assert_eq!(read_small(&path, &mut buffer), Some("1048576\n"));
        let mut too_small = [0; 4];
        assert_eq!(read_small(&path, &mut too_small), None);
        assert_eq!(read_small(&dir.path().join("absent"), &mut buffer), None);
    }

    #[test]
    fn an_unlimited_cgroup_defers_to_the_machine() {
        assert_eq!(cgroup_percent(512.0, "1024\n"), Some(50.0));
        assert_eq!(cgroup_percent(512.0, "max\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_machine_reports_a_plausible_figure() {
        let memory = SystemMemory::detect();
        let used = memory.used_percent().expect("Linux reports memory use");
        assert!((0.0..=100.0).contains(&used), "{used}");
        // Within a second the last reading is returned; afterwards it is taken again.
        *memory.last.lock() = Some((Instant::now(), Some(-1.0)));
        assert_eq!(memory.used_percent(), Some(-1.0));
        *memory.last.lock() = Some((
            Instant::now().checked_sub(MACHINE_MAX_AGE).expect("uptime"),
            Some(-1.0),
        ));
        let fresh = memory.used_percent().expect("read again");
        assert!((0.0..=100.0).contains(&fresh), "{fresh}");
    }
}
