//! The LLM backend side: the [`LlmBackend`] trait and the types of the `llm-backend` interface.
//!
//! A backend adapter turns one chat request into a provider's wire format, sends it through
//! [`crate::http`] and turns the answer back into a [`Generation`]. The host creates a fresh
//! plugin instance for every call, so an adapter has no state between calls; that is why the
//! trait's methods are associated functions rather than methods on `self`.
//!
//! Implement the trait on a unit struct and export it with [`crate::export_backend!`]:
//!
//! ```no_run
//! use dmx_plugin_sdk::backend::{BackendInfo, GenerateRequest, Generation, LlmBackend};
//! use dmx_plugin_sdk::PluginError;
//!
//! struct Echo;
//!
//! impl LlmBackend for Echo {
//!     fn info() -> BackendInfo {
//!         BackendInfo {
//!             id: "echo".into(),
//!             display_name: "Echo".into(),
//!             default_model: None,
//!             supports_response_schema: false,
//!         }
//!     }
//!
//!     fn generate(request: GenerateRequest) -> Result<Generation, PluginError> {
//!         let last = request.messages.last().map(|m| m.content.clone()).unwrap_or_default();
//!         Ok(Generation { text: last, model: "echo".into(), usage: None, stop_reason: None })
//!     }
//! }
//!
//! dmx_plugin_sdk::export_backend!(Echo);
//! ```

use crate::bindings::backend_world::exports::decision_matrix::plugin::llm_backend as wit;

pub use wit::{BackendInfo, GenerateRequest, Generation, Message, Role, Usage};

use crate::PluginError;

/// An LLM backend adapter, exported with [`crate::export_backend!`].
///
/// Every call runs in a fresh instance: keep no state between calls. The SDK installs its
/// [`log`] forwarder before each call, so `log::info!` and friends work in every
/// method.
pub trait LlmBackend {
    /// Static facts about the backend. Must not do I/O.
    fn info() -> BackendInfo;

    /// Readiness check. With `deep == false` only check the configuration (see
    /// [`crate::config`]); with `deep == true` the plugin may call the provider, for example to
    /// list its models. The default accepts every configuration.
    fn check(deep: bool) -> Result<(), PluginError> {
        let _ = deep;
        Ok(())
    }

    /// Produces one completion for `request`.
    fn generate(request: GenerateRequest) -> Result<Generation, PluginError>;
}

/// Bridges the author's trait to the generated one; [`crate::export_backend!`] relies on it.
impl<T: LlmBackend> wit::Guest for T {
    fn info() -> BackendInfo {
        crate::log_init();
        <T as LlmBackend>::info()
    }

    fn check(deep: bool) -> Result<(), PluginError> {
        crate::log_init();
        <T as LlmBackend>::check(deep)
    }

    fn generate(req: GenerateRequest) -> Result<Generation, PluginError> {
        crate::log_init();
        <T as LlmBackend>::generate(req)
    }
}

impl Role {
    /// The role's name as chat APIs spell it: `system`, `user` or `assistant`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

impl Message {
    /// A message with the given role and content.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

impl GenerateRequest {
    /// The content of the last message, if there is one.
    pub fn last_message(&self) -> Option<&str> {
        self.messages.last().map(|m| m.content.as_str())
    }

    /// The value of a provider-specific parameter from `extra`, if set.
    pub fn extra(&self, key: &str) -> Option<&str> {
        self.extra
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A provider-specific parameter from `extra`, parsed into `T`. Fails with
    /// [`PluginError::InvalidInput`] naming the key when the value does not parse.
    pub fn extra_as<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, PluginError> {
        crate::config::parse(
            &format!("extra parameter `{key}`"),
            self.extra(key).map(str::to_owned),
        )
    }

    /// The model to use: the request's own (trimmed, when not blank), else `default`.
    pub fn model_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.model
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .unwrap_or(default)
    }

    /// `response-schema` checked to be JSON, ready to embed in a request body. Fails with
    /// [`PluginError::InvalidInput`] when it is not JSON, before anything is sent.
    pub fn schema_json(&self) -> Result<Option<Box<serde_json::value::RawValue>>, PluginError> {
        self.response_schema
            .as_deref()
            .map(|text| {
                serde_json::from_str(text).map_err(|e| {
                    PluginError::InvalidInput(format!("response-schema is not valid JSON: {e}"))
                })
            })
            .transpose()
    }
}

/// Exports `$ty`, which implements [`backend::LlmBackend`](crate::backend::LlmBackend), as this
/// component's `decision-matrix:plugin/llm-backend@0.1.0` interface.
///
/// Invoke it once, at the crate root of a `cdylib` built for `wasm32-wasip2`. The argument must
/// be a plain type name (import the type first if it lives in a module).
#[macro_export]
macro_rules! export_backend {
    ($ty:ident) => {
        $crate::__export_llm_backend_plugin_impl!($ty with_types_in $crate::bindings::backend_world);
    };
}
