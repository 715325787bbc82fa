//! The region of the active AWS profile, read from the AWS shared config file with the AWS
//! SDK's own reader. The rest of the derivation is pure and lives in
//! `decision_matrix_core::providers`; this is the one part that reads a file.

use std::path::PathBuf;

use aws_config::meta::region::ProvideRegion;
use aws_config::profile::ProfileFileRegionProvider;
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};

use super::Environment;

/// The region of the active AWS profile, read from the shared config file the way the AWS SDK
/// reads it (following `source_profile`). `None` when there is no such file, profile or region.
pub async fn profile_region(env: &Environment) -> Option<String> {
    let path = match env.get("AWS_CONFIG_FILE") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env.get("HOME")?).join(".aws").join("config"),
    };
    // Most machines have no AWS config at all; the SDK would log a warning for the missing
    // file on every start.
    if !path.is_file() {
        return None;
    }
    let files = EnvConfigFiles::builder()
        .with_file(EnvConfigFileKind::Config, path)
        .build();
    let provider = ProfileFileRegionProvider::builder()
        .profile_files(files)
        .profile_name(env.get("AWS_PROFILE").unwrap_or("default"))
        .build();
    provider.region().await.map(|region| region.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn profile_region_follows_aws_profile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "[default]\nregion = eu-north-1\n[profile work]\nregion = ap-southeast-2\n",
        )
        .unwrap();
        let file = path.to_str().unwrap();
        let env = Environment::from_pairs([("AWS_CONFIG_FILE", file)]);
        assert_eq!(profile_region(&env).await.as_deref(), Some("eu-north-1"));
        let env = Environment::from_pairs([("AWS_CONFIG_FILE", file), ("AWS_PROFILE", "work")]);
        assert_eq!(
            profile_region(&env).await.as_deref(),
            Some("ap-southeast-2")
        );
        let env = Environment::from_pairs([("AWS_CONFIG_FILE", file), ("AWS_PROFILE", "none")]);
        assert_eq!(profile_region(&env).await, None);
    }
}
