//! Typed handle to a loaded scoring strategy plugin.

use std::sync::Arc;

use super::bindings::scoring::ScoringPluginPre;
use super::bindings::scoring_export::{Matrix, RankedOption, StrategyInfo};
use super::descriptor::PluginDescriptor;
use super::error::CallError;
use super::handle::Handle;
use super::state::CallState;

/// A loaded `scoring` plugin. Cheap to clone; each call runs in a fresh instance.
#[derive(Clone)]
pub struct ScoringPlugin {
    handle: Arc<Handle<ScoringPluginPre<CallState>>>,
}

impl ScoringPlugin {
    pub(crate) fn new(handle: Handle<ScoringPluginPre<CallState>>) -> ScoringPlugin {
        ScoringPlugin {
            handle: Arc::new(handle),
        }
    }

    /// The plugin's id, version and limits.
    pub fn descriptor(&self) -> &PluginDescriptor {
        self.handle.descriptor()
    }

    /// Whether its compiled code is loaded now: a built-in is loaded by its first call when
    /// the compile cache holds it.
    pub fn is_loaded(&self) -> bool {
        self.handle.is_loaded()
    }

    /// The strategy's static facts.
    pub async fn info(&self) -> Result<StrategyInfo, CallError> {
        self.handle
            .call(|instance, store| {
                Box::pin(async move {
                    instance
                        .decision_matrix_plugin_scoring()
                        .call_info(store)
                        .await
                })
            })
            .await
    }

    /// Ranks the options of `matrix`, best first.
    pub async fn rank(
        &self,
        matrix: Matrix,
        params: Vec<(String, String)>,
    ) -> Result<Vec<RankedOption>, CallError> {
        self.handle
            .call_fallible(move |instance, store| {
                Box::pin(async move {
                    instance
                        .decision_matrix_plugin_scoring()
                        .call_rank(store, &matrix, &params)
                        .await
                })
            })
            .await
    }
}
