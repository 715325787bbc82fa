//! `http` import: hands the request to the plugin's capability-checked network.
//!
//! The request runs as a task of its own rather than inside the import. A plugin call runs
//! on a wasmtime fiber, and a host future awaited there is polled on the fiber's stack: the
//! whole reqwest and hyper call chain would dirty that stack, once per call in flight, and
//! every page it touches stays resident until the call ends. Awaited as a task, the request
//! is polled on a worker's own stack, and the fiber only waits for its result. The handle
//! aborts the request if the call is dropped (its time limit, a cancelled evaluation).

use tokio_util::task::AbortOnDropHandle;

use super::super::bindings::http::{Host, HttpError, Request, Response};
use super::super::state::CallState;

impl Host for CallState {
    async fn send(&mut self, req: Request) -> Result<Response, HttpError> {
        let Some(network) = self.context.network.clone() else {
            // Only backend plugins are linked with `http`, and each gets a network; this arm
            // keeps the host honest should that ever change.
            return Err(HttpError::Denied(format!(
                "plugin {} has no network access",
                self.context.label
            )));
        };
        let request = AbortOnDropHandle::new(tokio::spawn(async move { network.send(req).await }));
        match request.await {
            Ok(result) => result,
            // The task is only aborted by dropping this handle, so this is a panic in the
            // network code: report it as the failure it is.
            Err(error) => Err(HttpError::Connection(format!(
                "the host's request task failed: {error}"
            ))),
        }
    }
}
