//! The test judge as a program of its own, for checks that run outside `cargo test`: the
//! install channels (`scripts/check-dist`) and the container (`scripts/container`) start it
//! and point the server they test at it, as the integration tests do with
//! [`decision_matrix_testkit::judge::openai_router`].
//!
//! It listens on `127.0.0.1` at a free port, prints `LITELLM_BASE_URL=http://127.0.0.1:PORT/v1`
//! as its first line, and answers OpenAI-compatible chat completions until its standard input
//! closes; then it prints `answered N` (the chat completions it answered), so a check can
//! tell that the server under test really called it.

use std::io::Write;
use std::time::Duration;

use decision_matrix_testkit::MockServer;
use decision_matrix_testkit::judge::openai_router;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let server = MockServer::start(openai_router(Duration::ZERO)).await;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "LITELLM_BASE_URL={}/v1", server.base_url())?;
    stdout.flush()?;
    // Standard input is read to its end on a thread of its own, so the server keeps
    // answering on this one; the parent closes it (or dies) to stop the judge.
    tokio::task::spawn_blocking(|| {
        std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())
    })
    .await
    .map_err(std::io::Error::other)??;
    let answered = server
        .requests()
        .iter()
        .filter(|request| request.uri.path() == "/v1/chat/completions")
        .count();
    writeln!(stdout, "answered {answered}")?;
    Ok(())
}
