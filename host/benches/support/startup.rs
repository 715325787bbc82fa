//! Start-up: process spawn to the answer to MCP `initialize` over stdio, which is what an
//! assistant waits for when it launches the server.

use std::time::Instant;

use decision_matrix_testkit::MockServer;

use super::figures::{Samples, time};
use super::process::{Server, Transport};

/// Whether the plugin compile cache holds the built-in plugins already.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    /// Every start finds an empty cache directory and compiles every plugin: a first start.
    Cold,
    /// Every start after one that filled the cache: every start but the first.
    Warm,
}

impl Cache {
    pub fn name(self) -> &'static str {
        match self {
            Cache::Cold => "cold",
            Cache::Warm => "warm",
        }
    }
}

/// `starts` timed starts with the compile cache `cache`.
pub async fn startups(llm: &MockServer, cache: Cache, starts: usize) -> Samples {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut samples = Vec::with_capacity(starts);
    // A warm run begins with an untimed start that fills its cache.
    let untimed = usize::from(cache == Cache::Warm);
    for i in 0..starts + untimed {
        let cache_dir = match cache {
            Cache::Cold => dir.path().join(format!("cache-{i}")),
            Cache::Warm => dir.path().join("cache"),
        };
        let setting = format!("plugins.cache_dir={:?}", cache_dir.display().to_string());
        let started = Instant::now();
        let server = Server::start(Transport::Stdio, 1, llm, &["--set", &setting]).await;
        let elapsed = started.elapsed();
        server.stop().await;
        if i >= untimed {
            samples.push(elapsed);
        }
    }
    let samples = Samples::new(samples);
    eprintln!(
        "start-up, {} compile cache: median {}, fastest {}, slowest {}",
        cache.name(),
        time(samples.p50()),
        time(samples.percentile(0)),
        time(samples.percentile(100))
    );
    samples
}
