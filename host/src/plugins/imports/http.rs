//! `http` import: hands the request to the plugin's capability-checked network.

use super::super::bindings::http::{Host, HttpError, Request, Response};
use super::super::state::CallState;

impl Host for CallState {
    async fn send(&mut self, req: Request) -> Result<Response, HttpError> {
        match &self.context.network {
            Some(network) => network.send(req).await,
            // Only backend plugins are linked with `http`, and each gets a network; this arm
            // keeps the host honest should that ever change.
            None => Err(HttpError::Denied(format!(
                "plugin {} has no network access",
                self.context.label
            ))),
        }
    }
}
