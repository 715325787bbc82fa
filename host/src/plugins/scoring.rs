//! Typed handle to a loaded scoring strategy plugin.

use std::sync::Arc;

use super::bindings::scoring::ScoringPluginPre;
use super::bindings::scoring_export::{Matrix, RankedOption, StrategyInfo};
use super::call::{CallRunner, guest_error};
use super::descriptor::PluginDescriptor;
use super::error::CallError;
use super::state::{CallState, PluginContext};

/// A loaded `scoring` plugin. Cheap to clone; each call runs in a fresh instance.
#[derive(Clone)]
pub struct ScoringPlugin {
    inner: Arc<Inner>,
}

struct Inner {
    pre: ScoringPluginPre<CallState>,
    context: Arc<PluginContext>,
    runner: CallRunner,
    descriptor: PluginDescriptor,
}

impl ScoringPlugin {
    pub(crate) fn new(
        pre: ScoringPluginPre<CallState>,
        context: Arc<PluginContext>,
        runner: CallRunner,
        descriptor: PluginDescriptor,
    ) -> ScoringPlugin {
        ScoringPlugin { inner: Arc::new(Inner { pre, context, runner, descriptor }) }
    }

    /// The plugin's id, version and limits.
    pub fn descriptor(&self) -> &PluginDescriptor {
        &self.inner.descriptor
    }

    /// The strategy's static facts.
    pub async fn info(&self) -> Result<StrategyInfo, CallError> {
        let pre = self.inner.pre.clone();
        self.inner
            .runner
            .run(&self.inner.context, move |store| {
                Box::pin(async move {
                    let instance = pre.instantiate_async(&mut *store).await?;
                    instance.decision_matrix_plugin_scoring().call_info(store).await
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
        let pre = self.inner.pre.clone();
        let answer = self
            .inner
            .runner
            .run(&self.inner.context, move |store| {
                Box::pin(async move {
                    let instance = pre.instantiate_async(&mut *store).await?;
                    instance
                        .decision_matrix_plugin_scoring()
                        .call_rank(store, &matrix, &params)
                        .await
                })
            })
            .await?;
        answer.map_err(|error| guest_error(&self.inner.context, error))
    }
}
