//! Where the backends point: the built-in and installed backends' manifests, derived over
//! the process environment.
//!
//! The derivation itself is pure and lives in `decision_matrix_core::providers` (re-exported
//! here); this module adds what needs the host: the manifests embedded in the binary and found
//! in the plugins directory, the process environment, and the AWS profile's region, read from
//! the AWS config file ([`aws_profile`]).

pub mod aws_profile;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use decision_matrix_core::providers::*;

use crate::plugins::manifest::Manifest;
use crate::plugins::{PluginCatalog, builtin, discover};

/// The manifests of the built-in plugins, then those of the plugins directory (each id once;
/// plugins the catalog would refuse for claiming `builtin` are left out). Only manifests are
/// read here: a plugin that cannot be read is reported when the catalog loads it.
pub fn manifests(plugins_dir: Option<&Path>) -> Vec<Manifest> {
    let mut manifests = builtin::manifests();
    if let Some(dir) = plugins_dir {
        for manifest in discover::scan_manifests(dir) {
            if !manifest.builtin && !manifests.iter().any(|m| m.id == manifest.id) {
                manifests.push(manifest);
            }
        }
    }
    manifests
}

/// The `(id, parent)` of every derived backend that runs another's code (a route's
/// provider), for [`PluginCatalog::with_instances`](crate::plugins::PluginCatalog::with_instances).
pub fn instances(derived: &[DerivedBackend]) -> impl Iterator<Item = (&str, &str)> {
    derived
        .iter()
        .filter_map(|d| Some((d.id.as_str(), d.instance_of.as_deref()?)))
}

/// The routes in force for the backends `catalog` loaded, derived as `derived` says.
pub fn routing(catalog: &PluginCatalog, derived: &[DerivedBackend]) -> Routing {
    let manifests: Vec<Manifest> = catalog
        .backends()
        .map(|backend| backend.descriptor().manifest.clone())
        .collect();
    Routing::new(&manifests, derived)
}

/// [`derive()`] for the built-in backends alone.
pub fn derive_builtins(
    env: &Environment,
    profile_region: Option<&str>,
) -> Result<Vec<DerivedBackend>, ProviderError> {
    derive(&builtin::manifests(), env, profile_region)
}

/// [`derive()`] over the process environment for the built-ins and the plugins in
/// `plugins_dir`, reading the AWS profile's region only when an AWS backend needs it and no
/// region variable is set.
pub async fn from_process(
    plugins_dir: Option<&Path>,
) -> Result<Vec<DerivedBackend>, ProviderError> {
    let env = Environment::from_process();
    let manifests = manifests(plugins_dir);
    let uses_aws = manifests
        .iter()
        .filter_map(|manifest| manifest.backend.as_ref())
        .any(|backend| backend.aws.is_some());
    let profile_region = match (uses_aws, env.first(aws::REGION_VARS)) {
        (true, None) => aws_profile::profile_region(&env).await,
        _ => None,
    };
    derive(&manifests, &env, profile_region.as_deref())
}
