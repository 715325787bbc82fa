//! The third-party example in `examples/weighted-product-plugin` builds on its own, outside
//! every workspace, as a plugin author's project would, and loads and runs in the host.

use std::path::{Path, PathBuf};
use std::process::Command;

use decision_matrix::plugins::bindings::scoring_export::{Cell, Criterion, Matrix};
use decision_matrix::plugins::discover::read_component_file;
use decision_matrix::plugins::grants::GrantsConfig;
use decision_matrix::plugins::{
    ComponentBinary, LoadedPlugin, Origin, PluginHost, PluginSettings, PluginSource,
};

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/weighted-product-plugin")
}

#[tokio::test]
async fn example_plugin_builds_outside_the_workspace_and_runs() {
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("example-plugin");
    let status = Command::new(env!("CARGO"))
        .current_dir(example_dir())
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("run cargo");
    assert!(status.success(), "the example plugin failed to build");

    // Lay it out as an operator would install it: plugin.toml beside the component.
    let install = tempfile::tempdir().expect("tempdir");
    let manifest = std::fs::read_to_string(example_dir().join("plugin.toml")).expect("manifest");
    let manifest_value: toml::Table = toml::from_str(&manifest).expect("toml");
    let component = manifest_value["component"]
        .as_str()
        .expect("component key")
        .to_owned();
    std::fs::write(install.path().join("plugin.toml"), &manifest).expect("write");
    std::fs::copy(
        target_dir.join("wasm32-wasip2/release").join(&component),
        install.path().join(&component),
    )
    .expect("copy component");

    let settings = PluginSettings {
        cache: false,
        ..PluginSettings::default()
    };
    let host = PluginHost::new(settings, GrantsConfig::default()).expect("host");
    let file = read_component_file(&install.path().join(&component), host.max_component_bytes())
        .expect("read");
    let loaded = host
        .load(PluginSource {
            manifest: file.manifest,
            wasm: ComponentBinary::new(&file.wasm),
            origin: Origin::File(file.path),
        })
        .expect("load example");
    let LoadedPlugin::Scoring(plugin) = loaded else {
        panic!("the example is a scoring plugin")
    };

    let matrix = Matrix {
        options: vec!["steady".into(), "spiky".into()],
        criteria: vec![
            Criterion {
                name: "a".into(),
                weight: 1.0,
            },
            Criterion {
                name: "b".into(),
                weight: 1.0,
            },
        ],
        // Weighted product punishes a very low score more than the weighted average does:
        // steady 5*5 beats spiky 9*2 (25 > 18), although spiky's average (5.5) is higher.
        cells: vec![
            Cell::Scored(5.0),
            Cell::Scored(5.0),
            Cell::Scored(9.0),
            Cell::Scored(2.0),
        ],
    };
    let ranked = plugin.rank(matrix, Vec::new()).await.expect("rank");
    assert_eq!(ranked[0].option_index, 0, "{ranked:?}");
}
