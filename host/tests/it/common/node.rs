//! Node.js for the tests that run a JavaScript client (the MCP Inspector, the browser test
//! of the decision view).

use std::ffi::OsString;

/// `DMM_TEST_NODE`, else `node`, checked to be Node `min_major` or later; a missing or too
/// old one fails the test with `hint`, since skipping would pass without having checked
/// anything.
pub async fn node(min_major: u32, hint: &str) -> OsString {
    let node = std::env::var_os("DMM_TEST_NODE").unwrap_or_else(|| "node".into());
    let output = tokio::process::Command::new(&node)
        .arg("--version")
        .output()
        .await
        .unwrap_or_else(|error| panic!("no {node:?} ({error}): {hint}"));
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let major = version
        .strip_prefix('v')
        .and_then(|v| v.split('.').next())
        .and_then(|major| major.parse::<u32>().ok());
    assert!(
        major.is_some_and(|major| major >= min_major),
        "{node:?} is Node {version:?}: {hint}"
    );
    node
}
