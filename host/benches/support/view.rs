//! The decision drawn: how long the server takes to write the standalone report, the SVG
//! chart and the PNG chart (`include_chart`), and how long Chromium takes from the tool result
//! to the rendered view, for a small decision and the largest one the limits allow.
//!
//! The render time comes from `tests/view/drive.mjs --measure N`, the browser test's driver:
//! the test host page hands the view a `get_decision_matrix` result and the time is taken
//! from that message to the view's first full render, in fresh pages after one untimed
//! render.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::figures::{Samples, time};
use super::process::{Client, call, within};
use super::workload::{Judge, criterion, one_pass, option_names, session_id};
use super::{client, server};

/// Untimed calls before the timed ones, per figure.
const WARM_UP: usize = 5;
/// Timed calls per figure.
const TIMED: usize = 50;
/// Timed renders per decision.
const RENDERS: usize = 20;

/// The decisions drawn: options × criteria, the second the largest the default limits allow.
const SIZES: [(usize, usize); 2] = [(5, 4), (20, 10)];

/// One decision's figures.
pub struct Drawn {
    pub options: usize,
    pub criteria: usize,
    pub html: Samples,
    pub html_bytes: usize,
    pub svg: Samples,
    pub svg_bytes: usize,
    pub png: Samples,
    pub png_bytes: usize,
    pub render: Samples,
    pub view_bytes: usize,
}

/// Times `tool` with `args` on `client`; returns the samples and the last result.
async fn timed(client: &Client, tool: &str, args: Value) -> (Samples, rmcp::model::CallToolResult) {
    let mut samples = Vec::with_capacity(TIMED);
    let mut last = None;
    for i in 0..WARM_UP + TIMED {
        let started = Instant::now();
        let result = within(tool, client.call_tool(client::request(tool, args.clone())))
            .await
            .unwrap_or_else(|error| panic!("{tool}: {error}"));
        let elapsed = started.elapsed();
        assert_ne!(result.is_error, Some(true), "{tool}: {result:?}");
        if i >= WARM_UP {
            samples.push(elapsed);
        }
        last = Some(result);
    }
    (Samples::new(samples), last.expect("a call was made"))
}

/// The view rendered [`RENDERS`] times by the browser test's driver: the render times and the
/// view's size.
async fn renders(url: &str, session: &str) -> (Samples, usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = root.join("target/view-bench");
    let node = std::env::var_os("DMM_TEST_NODE").unwrap_or_else(|| "node".into());
    let output = within(
        "the browser renders",
        tokio::process::Command::new(node)
            .arg(root.join("tests/view/drive.mjs"))
            .args(["--url", url, "--session", session, "--out"])
            .arg(&out)
            .args(["--measure", &RENDERS.to_string()])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("node runs (npm ci --prefix tests/view; Chromium installed)");
    assert!(
        output.status.success(),
        "drive.mjs: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let figures: Value = serde_json::from_str(stdout.trim()).expect("drive.mjs prints JSON");
    let samples = figures["render_ms"]
        .as_array()
        .expect("render_ms")
        .iter()
        .filter_map(Value::as_f64)
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .collect();
    let bytes = figures["view_bytes"].as_u64().expect("view_bytes") as usize;
    (Samples::new(samples), bytes)
}

fn text_bytes(result: &rmcp::model::CallToolResult) -> usize {
    result
        .structured_content
        .as_ref()
        .and_then(|content| content["content"].as_str())
        .map_or(0, str::len)
}

fn png_bytes(result: &rmcp::model::CallToolResult) -> usize {
    result
        .content
        .iter()
        .find_map(|content| match content {
            rmcp::model::ContentBlock::Image(image) => Some(image.data.len() / 4 * 3),
            _ => None,
        })
        .expect("an image")
}

/// Every figure for [`SIZES`], over HTTP.
pub async fn drawn(llm: &Judge) -> Vec<Drawn> {
    let (_server, url) = server::http_server(&llm.mock, &[]).await;
    let (client, _) = within("initialize", client::http_client(&url)).await;
    let mut figures = Vec::new();
    for (options, criteria) in SIZES {
        let started = call(
            &client,
            "start_decision_analysis",
            json!({
                "topic": format!("Choose among {options} platforms"),
                "options": option_names(options),
                "model_backend": "litellm",
                "initial_criteria": (0..criteria).map(criterion).collect::<Vec<_>>(),
            }),
        )
        .await;
        let id = session_id(&started);
        call(&client, "evaluate_options", one_pass(&id)).await;
        let export = |format: &str| json!({"session_id": id, "format": format});
        let (html, last_html) = timed(&client, "export_matrix", export("html")).await;
        let (svg, last_svg) = timed(&client, "export_matrix", export("svg")).await;
        let (png, last_png) = timed(
            &client,
            "get_decision_matrix",
            json!({"session_id": id, "include_chart": true}),
        )
        .await;
        let (render, view_bytes) = renders(&url, &id).await;
        figures.push(Drawn {
            options,
            criteria,
            html,
            html_bytes: text_bytes(&last_html),
            svg,
            svg_bytes: text_bytes(&last_svg),
            png,
            png_bytes: png_bytes(&last_png),
            render,
            view_bytes,
        });
    }
    client.cancel().await.expect("close");
    figures
}

/// The figures as a markdown table.
pub fn table(figures: &[Drawn]) -> String {
    let mut out = String::from(
        "| decision | `export_matrix` html p50 / p99 (bytes) | svg p50 / p99 (bytes) | \
         `include_chart` p50 / p99 (PNG bytes) | view rendered p50 / p99 (view bytes) |\n\
         | --- | --- | --- | --- | --- |\n",
    );
    for f in figures {
        out.push_str(&format!(
            "| {} × {} | {} / {} ({}) | {} / {} ({}) | {} / {} ({}) | {} / {} ({}) |\n",
            f.options,
            f.criteria,
            time(f.html.p50()),
            time(f.html.p99()),
            f.html_bytes,
            time(f.svg.p50()),
            time(f.svg.p99()),
            f.svg_bytes,
            time(f.png.p50()),
            time(f.png.p99()),
            f.png_bytes,
            time(f.render.p50()),
            time(f.render.p99()),
            f.view_bytes,
        ));
    }
    out
}
