//! Plugin calls that each grow to nearly their own memory cap, [`CALLS`] at once: the shared
//! budget (`[plugins.limits] max_total_memory_mib`) at its default, and set out of the way
//! (to [`CALLS`] × the per-call cap, where it never refuses a growth), which is how plugin
//! memory was bounded before the budget existed. Each setting runs in a process of its own.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use decision_matrix::plugins::grants::{Grant, GrantsConfig};
use decision_matrix::plugins::limits::LimitSettings;
use decision_matrix::plugins::{CallError, PluginCatalog, PluginHost, PluginSettings};
use decision_matrix_testkit::MockServer;
use tokio::sync::watch;

use crate::support::plugin_host::request;
use crate::support::process::within;
use crate::{Memory, row, table_head};

/// The argument that runs one setting in this process: `ONE_SETTING <budget MiB>`.
pub const ONE_SETTING: &str = "plugin-memory-setting";
/// Calls at once.
const CALLS: usize = 16;
/// Each call's memory cap (`default_memory_mib` and `max_memory_mib`).
const CAP_MIB: u64 = 200;
/// What each call allocates and touches; its linear memory is this and the guest's own few.
const HOLD_MIB: u64 = 196;

/// Where the calls wait, holding their memory, until the bench opens the gate.
struct Gate {
    arrived: AtomicUsize,
    open: watch::Sender<bool>,
}

async fn wait_at_gate(State(gate): State<Arc<Gate>>) -> &'static str {
    gate.arrived.fetch_add(1, Ordering::SeqCst);
    let mut open = gate.open.subscribe();
    // A closed channel (the bench is over) lets the call through as well.
    let _ = open.wait_for(|open| *open).await;
    "through"
}

/// The adversary fixture with no memory request of its own, so that the operator's
/// `default_memory_mib` is its cap, laid out in `dir`.
fn adversary_without_memory_request(dir: &Path) {
    let fixture = decision_matrix_testkit::plugins_dir().join("fixture-adversary");
    let copy = dir.join("fixture-adversary");
    std::fs::create_dir_all(&copy).expect("the plugin's directory");
    for entry in std::fs::read_dir(&fixture).expect("the fixture's directory") {
        let path = entry.expect("a fixture file").path();
        let name = path.file_name().expect("a file name");
        if name == "plugin.toml" {
            let manifest = std::fs::read_to_string(&path).expect("the fixture's manifest");
            let manifest: Vec<&str> = manifest
                .lines()
                .filter(|line| !line.starts_with("memory_mib"))
                .collect();
            std::fs::write(copy.join(name), manifest.join("\n")).expect("manifest");
        } else {
            std::fs::copy(&path, copy.join(name)).expect("the fixture's component");
        }
    }
}

/// Runs one setting: [`CALLS`] calls at once under a budget of `budget_mib`, printing its rows
/// of the table [`attack`] began.
pub async fn one_setting(budget_mib: u64) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    adversary_without_memory_request(&dir.path().join("plugins"));
    let gate = Arc::new(Gate {
        arrived: AtomicUsize::new(0),
        open: watch::channel(false).0,
    });
    let server = MockServer::start(
        axum::Router::new()
            .route("/gate", get(wait_at_gate))
            .with_state(gate.clone()),
    )
    .await;
    let settings = PluginSettings {
        dir: Some(dir.path().join("plugins")),
        cache_dir: Some(dir.path().join("cache")),
        limits: LimitSettings {
            default_memory_mib: CAP_MIB,
            max_memory_mib: CAP_MIB,
            max_total_memory_mib: budget_mib,
            ..LimitSettings::default()
        },
        ..PluginSettings::default()
    };
    let mut grants = GrantsConfig::default();
    grants.grants.insert(
        "fixture-adversary".to_owned(),
        Grant {
            hosts: vec![server.base_url().parse().expect("the gate's address")],
            allow_private: true,
            ..Grant::default()
        },
    );
    let host = PluginHost::new(settings, grants).expect("host");
    let catalog = PluginCatalog::load(&host, host.settings().plugins_dir().as_deref());
    let plugin = catalog
        .backend("fixture-adversary")
        .expect("fixture-adversary loaded")
        .clone();
    plugin.generate(request("echo ready")).await.expect("echo");

    let me = std::process::id();
    let label = format!("budget {budget_mib} MiB");
    row(&format!("{label}: host ready"), Memory::of(me), "0");
    let command = format!("hold {HOLD_MIB} {}/gate", server.base_url());
    let calls: Vec<_> = (0..CALLS)
        .map(|_| {
            let (plugin, command) = (plugin.clone(), command.clone());
            tokio::spawn(async move { plugin.generate(request(&command)).await })
        })
        .collect();
    // Every call either holds its memory at the gate or has ended.
    within("the calls to settle", async {
        while gate.arrived.load(Ordering::SeqCst) + calls.iter().filter(|c| c.is_finished()).count()
            < CALLS
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let (holding, during) = (gate.arrived.load(Ordering::SeqCst), Memory::of(me));
    gate.open.send_replace(true);
    let mut refused = 0;
    for call in calls {
        match call.await.expect("the call's task") {
            Ok(_) => {}
            Err(CallError::MemoryBudget { .. }) => refused += 1,
            Err(other) => panic!("a call failed otherwise than on the budget: {other}"),
        }
    }
    row(
        &format!("{label}: {CALLS} calls in flight"),
        during,
        &format!("{holding} ({refused} stopped by the budget)"),
    );
    row(&format!("{label}: calls ended"), Memory::of(me), "0");
}

pub fn attack() {
    let out_of_the_way = CALLS as u64 * CAP_MIB;
    let default = LimitSettings::default().max_total_memory_mib;
    println!(
        "\n**Plugin memory**: {CALLS} calls of the adversary fixture at once, each touching {HOLD_MIB} MiB under a per-call cap of {CAP_MIB} MiB and holding it until all have started; budget {out_of_the_way} MiB ({CALLS} × the cap: never reached, as before the budget) and {default} MiB (the default). The bench process's own memory, a process per budget."
    );
    table_head("calls holding memory");
    let bench = std::env::current_exe().expect("this bench's executable");
    for budget in [out_of_the_way, default] {
        let status = std::process::Command::new(&bench)
            .args([ONE_SETTING, &budget.to_string()])
            .status()
            .expect("the bench runs one setting");
        assert!(status.success(), "budget {budget} MiB: {status}");
    }
}
