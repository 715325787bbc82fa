//! The memory budget all plugin calls in flight share: a call that would take the total past
//! it stops with its own error while the calls holding memory finish, and the budget is
//! whole again once they have.

use decision_matrix::plugins::CallError;
use decision_matrix_testkit::hostile::gated_server;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_in_flight_share_one_memory_budget() {
    let (server, gate) = gated_server().await;
    let limits = LimitSettings {
        max_memory_mib: 32,
        max_total_memory_mib: 48,
        ..test_limits()
    };
    let (_host, catalog) = host_with_limits(grant_for(&server, true), limits);
    let plugin = adversary(&catalog);

    // One call holds 20 MiB (plus its baseline) until the test opens the gate.
    let holder = {
        let plugin = plugin.clone();
        let command = format!("hold 20 {}/gate", server.base_url());
        tokio::spawn(async move { run(&plugin, &command).await })
    };
    gate.arrived().await;

    // Another grows without bound: the budget stops it before its own 32 MiB cap would.
    let err = run(&plugin, "oom").await.unwrap_err();
    assert!(
        matches!(err, CallError::MemoryBudget { budget_bytes, .. } if budget_bytes == 48 << 20),
        "{err:?}"
    );
    assert!(err.is_retryable(), "other calls give their memory back");
    let text = err.to_string();
    assert!(
        text.contains("memory budget of 48 MiB") && text.contains("max_total_memory_mib"),
        "{text}"
    );

    gate.open();
    assert_eq!(holder.await.expect("task").expect("holder"), "held");

    // With the budget whole again, the same runaway call meets its own cap instead.
    let err = run(&plugin, "oom").await.unwrap_err();
    assert!(matches!(err, CallError::MemoryLimit { .. }), "{err:?}");
    still_serving(&plugin).await;
}
