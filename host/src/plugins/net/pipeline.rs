//! One plugin's view of the network: [`PluginNetwork::send`] runs every check, then sends.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::header::{self, HeaderMap};
use parking_lot::Mutex;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::headers;
use super::network::Network;
use super::policy;
use super::resolver::BlockedAddress;
use super::scrub::{NamedSecret, Scrubber};
use super::secrets::{SecretError, SecretKind};
use super::sigv4::{SigningScope, sign_request};
use crate::plugins::bindings::http::{Auth, HttpError, Method, Request, Response};
use crate::plugins::grants::Grant;

/// The network as one plugin sees it: its grant applied to the shared [`Network`].
///
/// Cheap to clone (four reference counts); the host keeps one per loaded plugin.
#[derive(Clone)]
pub struct PluginNetwork {
    plugin_id: Arc<str>,
    grant: Arc<Grant>,
    network: Arc<Network>,
    /// The searcher for the secrets resolved so far, rebuilt when that set changes.
    scrubber: Arc<Mutex<Arc<Scrubber>>>,
}

impl std::fmt::Debug for PluginNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginNetwork")
            .field("plugin_id", &self.plugin_id)
            .field("grant", &self.grant)
            .field("network", &self.network)
            .finish_non_exhaustive()
    }
}

impl PluginNetwork {
    /// The network for plugin `plugin_id` under `grant`.
    pub fn new(plugin_id: String, grant: Arc<Grant>, network: Arc<Network>) -> Self {
        Self {
            plugin_id: plugin_id.into(),
            grant,
            network,
            scrubber: Arc::new(Mutex::new(Arc::new(Scrubber::new(Vec::new())))),
        }
    }

    /// The plugin this network belongs to.
    pub fn plugin_id(&self) -> &str {
        &self.plugin_id
    }

    /// The grant being enforced.
    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// Performs one request for the plugin, or says why not.
    ///
    /// Checks, in order: URL syntax (`invalid-request`); scheme and host allow-list
    /// (`denied`); secret grant for this destination (`secret-not-granted`); for IP literals,
    /// the address class (`denied` unless `allow_private`; host names get the same check from
    /// the strict client's resolver when connecting). Then it removes the guest's credential
    /// headers, applies `auth`, sends with redirects off under the request's time limit, reads
    /// at most `max_response_bytes` of body and scrubs this plugin's secrets from what comes
    /// back. Every `denied` and `secret-not-granted` is logged once at `warn`.
    pub async fn send(&self, req: Request) -> Result<Response, HttpError> {
        let url = policy::parse_url(&req.url)?;
        let result = self.send_url(&url, req).await;
        if let Err(HttpError::Denied(reason) | HttpError::SecretNotGranted(reason)) = &result {
            tracing::warn!(
                plugin = %self.plugin_id,
                url = %policy::redacted_url(&url),
                reason = %reason,
                "outbound request refused"
            );
        }
        result
    }

    /// Replaces, in `text`, the values of this plugin's granted secrets that have been
    /// resolved so far, in every spelling the scrubber knows, with `[REDACTED]`. For plugin
    /// output, answers and error messages. Secrets are never read just to scrub: one the
    /// plugin has not used cannot be in its output.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        // The scrubber is an `Arc` the caller holds; the text borrows from neither.
        match self.scrubber().scrub_str(text) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(scrubbed) => Cow::Owned(scrubbed),
        }
    }

    /// The searcher for the secrets resolved so far.
    pub(crate) fn scrubber(&self) -> Arc<Scrubber> {
        let resolved = self.resolved_secrets();
        let mut cached = self.scrubber.lock();
        if !cached.is_for(&resolved) {
            *cached = Arc::new(Scrubber::new(resolved));
        }
        cached.clone()
    }

    fn resolved_secrets(&self) -> Vec<NamedSecret> {
        let mut values = Vec::new();
        for name in self.grant.secrets.keys() {
            self.network.secrets().visit_resolved(name, |value| {
                values.push((name.clone(), SecretString::from(value.to_owned())));
            });
        }
        values
    }

    /// Refuses a request whose URL, headers or body spell a secret value (one of this
    /// plugin's, resolved so far) that is not bound to the request's destination: the
    /// plugin learned it somewhere it should not have, and is sending it away.
    fn refuse_unbound_secret_values(&self, url: &Url, req: &Request) -> Result<(), HttpError> {
        let scrubber = self.scrubber();
        let headers = req
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect::<Vec<_>>()
            .join("\n");
        let parts: [(&str, &[u8]); 3] = [
            ("URL", url.as_str().as_bytes()),
            ("headers", headers.as_bytes()),
            ("body", req.body.as_deref().unwrap_or_default()),
        ];
        for (part, bytes) in parts {
            for found in scrubber.find(bytes) {
                if policy::check_secret(&self.plugin_id, &self.grant, found.name, url).is_err() {
                    return Err(HttpError::Denied(format!(
                        "the request's {part} carry the value of secret '{}' ({}), which \
                         plugin '{}' may send only where [grants] binds it, not to {}",
                        found.name,
                        found.encoding.describe(),
                        self.plugin_id,
                        policy::redacted_url(url)
                    )));
                }
            }
        }
        Ok(())
    }

    async fn send_url(&self, url: &Url, req: Request) -> Result<Response, HttpError> {
        policy::check_destination(&self.plugin_id, &self.grant, url)?;
        if let Some((secret, kind)) = secret_of(&req.auth) {
            policy::check_secret(&self.plugin_id, &self.grant, secret, url)?;
            self.network
                .secrets()
                .check_kind(secret, kind)
                .map_err(|e| HttpError::SecretNotGranted(e.to_string()))?;
        }
        policy::check_ip_literal(&self.plugin_id, &self.grant, url)?;
        self.refuse_unbound_secret_values(url, &req)?;
        if req.timeout_ms == Some(0) {
            return Err(HttpError::InvalidRequest(
                "timeout-ms must be greater than 0".to_owned(),
            ));
        }
        let headers = headers::guest_headers(&req.headers)?;
        if let Auth::Header(h) = &req.auth {
            // Checked before any secret is read, like every other property of the request.
            headers::auth_header_name(&h.header)?;
        }

        let limit = self.network.limits().timeout_for(req.timeout_ms);
        let started = Instant::now();
        let method = req.method;
        let result = tokio::time::timeout(limit, self.authorize_and_send(url, req, headers))
            .await
            .unwrap_or(Err(HttpError::Timeout));
        tracing::debug!(
            plugin = %self.plugin_id,
            method = ?method,
            url = %policy::redacted_url(url),
            status = result.as_ref().ok().map(|r| r.status),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "outbound request"
        );
        result
    }

    /// Everything that may wait: reading secrets (the AWS chain can take seconds), sending,
    /// reading the body. Runs under the request's time limit.
    async fn authorize_and_send(
        &self,
        url: &Url,
        req: Request,
        mut headers: HeaderMap,
    ) -> Result<Response, HttpError> {
        let secrets = self.network.secrets();
        let not_granted = |e: SecretError| HttpError::SecretNotGranted(e.to_string());
        let method = reqwest_method(req.method);
        match &req.auth {
            Auth::None => {}
            Auth::Bearer(secret) => {
                let value = secrets.value(secret).await.map_err(not_granted)?;
                let name = header::AUTHORIZATION;
                headers::insert_secret(
                    &mut headers,
                    name,
                    "Bearer ",
                    value.expose_secret(),
                    secret,
                )?;
            }
            Auth::Header(h) => {
                let name = headers::auth_header_name(&h.header)?;
                let value = secrets.value(&h.secret).await.map_err(not_granted)?;
                let prefix = h.prefix.as_deref().unwrap_or("");
                headers::insert_secret(
                    &mut headers,
                    name,
                    prefix,
                    value.expose_secret(),
                    &h.secret,
                )?;
            }
            Auth::AwsSigv4(s) => {
                let credentials = secrets
                    .aws_credentials(&s.credentials)
                    .await
                    .map_err(not_granted)?;
                let scope = SigningScope {
                    region: &s.region,
                    service: &s.service,
                };
                let body = req.body.as_deref().unwrap_or_default();
                let now = SystemTime::now();
                sign_request(
                    method.as_str(),
                    url,
                    &mut headers,
                    body,
                    &credentials,
                    scope,
                    now,
                )?;
            }
        }

        let mut request = reqwest::Request::new(method, url.clone());
        *request.headers_mut() = headers;
        if let Some(body) = req.body {
            *request.body_mut() = Some(body.into());
        }
        let client = self.network.client(self.grant.allow_private);
        let response = client
            .execute(request)
            .await
            .map_err(|e| self.send_error(url, "sending the request", e))?;
        self.read_response(url, response).await
    }

    async fn read_response(
        &self,
        url: &Url,
        mut response: reqwest::Response,
    ) -> Result<Response, HttpError> {
        let cap = self.network.limits().max_response_bytes;
        // Refuse before reading anything when the server announces too much.
        if response.content_length().is_some_and(|length| length > cap) {
            return Err(HttpError::BodyTooLarge(cap));
        }
        let status = response.status().as_u16();
        let initial = response.content_length().unwrap_or(0).min(cap).min(1 << 20);
        let mut body = Vec::with_capacity(usize::try_from(initial).unwrap_or(0));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.send_error(url, "reading the response body", e))?
        {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(HttpError::BodyTooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }

        let scrubber = self.scrubber();
        scrubber.scrub_bytes(&mut body);
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                // `HeaderName` is always lower-case, which is what the contract promises.
                let value = String::from_utf8_lossy(value.as_bytes());
                (
                    name.as_str().to_owned(),
                    scrubber.scrub_str(&value).into_owned(),
                )
            })
            .collect();
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// Maps a reqwest failure: the strict resolver's refusal becomes `denied`, timeouts
    /// `timeout`, everything else `connection` with the cause chain (scrubbed, and without
    /// the URL's query).
    fn send_error(&self, url: &Url, doing: &str, error: reqwest::Error) -> HttpError {
        if let Some(blocked) = find_cause::<BlockedAddress>(&error) {
            return policy::private_denied(&self.plugin_id, url, &blocked.to_string());
        }
        if error.is_timeout() {
            return HttpError::Timeout;
        }
        let error = error.without_url();
        let mut text = format!("{doing} to {} failed", policy::redacted_url(url));
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(current) = cause {
            let current_text = current.to_string();
            if !text.ends_with(&current_text) {
                text.push_str(": ");
                text.push_str(&current_text);
            }
            cause = current.source();
        }
        HttpError::Connection(self.scrub(&text).into_owned())
    }
}

/// The secret a request's `auth` uses, and the kind it must be.
fn secret_of(auth: &Auth) -> Option<(&str, SecretKind)> {
    match auth {
        Auth::None => None,
        Auth::Bearer(secret) => Some((secret, SecretKind::Value)),
        Auth::Header(h) => Some((&h.secret, SecretKind::Value)),
        Auth::AwsSigv4(s) => Some((&s.credentials, SecretKind::Aws)),
    }
}

fn reqwest_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Head => reqwest::Method::HEAD,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

/// The first error of type `T` in `error`'s source chain.
fn find_cause<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(found) = current.downcast_ref::<T>() {
            return Some(found);
        }
        cause = current.source();
    }
    None
}
