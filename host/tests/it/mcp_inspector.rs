//! The MCP server driven by the MCP Inspector's command line (`--cli`), both of its lines as
//! pinned in `tests/inspector/package-lock.json`: 0.15, the release `npx
//! @modelcontextprotocol/inspector` picks on Node 20 (every later one asks for Node 22), and
//! the current 2.x line. Each completes the reference workflow over stdio and over
//! streamable HTTP with its arguments given as `--tool-arg key=value` strings, as users type
//! them: a line converts a string only where it can read the parameter's schema (the 0.15
//! line only where the schema has a single `type`) and sends it as it is otherwise, for the
//! server to read leniently. The 2.x line's `--strict` check of the tool schemas'
//! portability finds nothing.
//!
//! Over stdio every Inspector run starts a server of its own, so the sessions are kept in a
//! SQLite file that the runs share; over HTTP, one server serves every run.
//!
//! It needs Node 20 or later (`DMM_TEST_NODE`, else `node` on the PATH) and the packages
//! `npm ci --prefix tests/inspector --ignore-scripts` installs (README, Test).

use crate::common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use common::repo_root;
use common::server::{REFERENCE_TOOLS, http_server, llm, server_binary, server_env};
use decision_matrix_testkit::{MockServer, judge};
use serde_json::{Map, Value, json};

/// Longest one Inspector run may take (it starts node, twice for the 0.15 line, and over
/// stdio the server); a hung run fails the test rather than hanging it.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The oldest Node the 2.x line runs on (Node 18 lacks globals it uses).
const MIN_NODE_MAJOR: u32 = 20;

const OPTIONS: [&str; 3] = ["Postgres", "SQLite", "DynamoDB"];

fn inspector_dir() -> PathBuf {
    repo_root().join("tests/inspector")
}

fn setup_hint() -> String {
    format!(
        "the MCP Inspector tests need Node {MIN_NODE_MAJOR} or later and the Inspector \
         packages pinned in tests/inspector; in {} run\n  npm ci --prefix tests/inspector --ignore-scripts\n\
         (on Debian, `apt-get install nodejs npm` first; DMM_TEST_NODE may name a newer node \
         than the PATH's)",
        repo_root().display()
    )
}

/// The Node the Inspector runs on.
async fn node() -> OsString {
    common::node::node(MIN_NODE_MAJOR, &setup_hint()).await
}

/// A line of the Inspector, as `tests/inspector/package.json` names it.
#[derive(Debug, Clone, Copy)]
enum Line {
    V0_15,
    V2,
}

impl Line {
    fn package(self) -> &'static str {
        match self {
            Line::V0_15 => "inspector-0.15",
            Line::V2 => "inspector-2",
        }
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("{}: {error}: {}", path.display(), setup_hint()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Where the server is: a command the Inspector starts (stdio), or a URL.
enum Target {
    Stdio { store: String },
    Http { url: String },
}

/// One line of the Inspector, installed and checked to be the pinned version, with the
/// judge its servers score with.
struct Inspector<'a> {
    line: Line,
    node: OsString,
    launcher: PathBuf,
    llm: &'a MockServer,
}

impl<'a> Inspector<'a> {
    fn new(line: Line, node: &OsString, llm: &'a MockServer) -> Inspector<'a> {
        let dir = inspector_dir();
        let pinned = read_json(&dir.join("package.json"))["dependencies"][line.package()]
            .as_str()
            .and_then(|spec| spec.rsplit_once('@'))
            .map(|(_, version)| version.to_owned())
            .unwrap_or_else(|| panic!("package.json pins {}", line.package()));
        let package = dir.join("node_modules").join(line.package());
        let manifest = read_json(&package.join("package.json"));
        assert_eq!(
            manifest["version"].as_str(),
            Some(pinned.as_str()),
            "{} is not the pinned version: {}",
            line.package(),
            setup_hint()
        );
        let bin = match &manifest["bin"] {
            Value::String(bin) => bin.as_str(),
            bins => bins["mcp-inspector"]
                .as_str()
                .expect("an mcp-inspector bin"),
        };
        Inspector {
            line,
            node: node.clone(),
            launcher: package.join(bin),
            llm,
        }
    }

    /// Runs the Inspector's CLI on `target` with `args`.
    async fn run(&self, target: &Target, args: &[&str]) -> Output {
        let mut command = tokio::process::Command::new(&self.node);
        command.arg(&self.launcher).arg("--cli");
        match target {
            Target::Stdio { store } => {
                // The server's environment, given with `-e` as users give it: the 2.x line
                // hands the server only these and a few basics, not its own environment.
                let mut server = tokio::process::Command::new("server");
                server_env(&mut server, self.llm);
                server.env("DMM_STORE", store);
                for (name, value) in server.as_std().get_envs() {
                    if let Some(value) = value {
                        let mut pair = name.to_owned();
                        pair.push("=");
                        pair.push(value);
                        command.arg("-e").arg(pair);
                    }
                }
                command.arg(server_binary()).arg("serve");
            }
            Target::Http { url } => {
                command.arg(url);
            }
        }
        // Nothing of the developer's own configuration reaches a server the 0.15 line starts
        // (it passes its environment on), and the process goes with the test.
        server_env(&mut command, self.llm);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        tokio::time::timeout(RUN_TIMEOUT, command.output())
            .await
            .unwrap_or_else(|_| panic!("{:?} {args:?} did not finish in time", self.line))
            .expect("the Inspector runs")
    }

    /// The structured result of calling `tool` with `args` (`key=value` strings), which
    /// must succeed.
    async fn call(&self, target: &Target, tool: &str, args: &[&str]) -> Map<String, Value> {
        let mut argv = vec!["--method", "tools/call", "--tool-name", tool, "--tool-arg"];
        argv.extend_from_slice(args);
        let output = self.run(target, &argv).await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let context = || {
            format!(
                "{:?} {tool} {args:?}\nstdout: {stdout}\nstderr: {stderr}",
                self.line
            )
        };
        assert!(output.status.success(), "{}", context());
        // The SDK's validator warns of every schema keyword value it does not know.
        assert!(!stderr.contains("unknown format"), "{}", context());
        let result: Value =
            serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{}", context()));
        assert_ne!(result["isError"], true, "{}", context());
        match &result["structuredContent"] {
            Value::Object(content) => content.clone(),
            _ => panic!("no structured content: {}", context()),
        }
    }

    /// The reference workflow, every number, boolean and array given as a string, each
    /// result checked against the judge.
    async fn workflow(&self, target: &Target) {
        let options = format!("options={}", json!(OPTIONS));
        let criteria = r#"initial_criteria=[{"name":"cost","description":"Total cost of ownership","weight":2}]"#;
        let started = self
            .call(
                target,
                "start_decision_analysis",
                &[
                    "topic=Pick a database",
                    &options,
                    criteria,
                    "model_backend=litellm",
                    "temperature=0.5",
                ],
            )
            .await;
        assert_eq!(
            started["criteria_added"],
            json!(["cost"]),
            "{:?}",
            self.line
        );
        assert_eq!(started["temperature"], json!(0.5), "{:?}", self.line);
        let id = started["session_id"].as_str().expect("a session id");
        let session = format!("session_id={id}");

        let added = self
            .call(
                target,
                "add_criterion",
                &[
                    &session,
                    "name=latency",
                    "description=Read latency",
                    "weight=1.5",
                    "temperature=0.2",
                ],
            )
            .await;
        assert_eq!(added["weight"], json!(1.5), "{:?}", self.line);
        assert_eq!(added["all_criteria"], json!(["cost", "latency"]));

        let evaluated = self
            .call(target, "evaluate_options", &[&session, "force=false"])
            .await;
        assert_eq!(evaluated["evaluation_complete"], true, "{evaluated:?}");
        assert_eq!(
            evaluated["summary"]["successful_scores"], 6,
            "{evaluated:?}"
        );

        let matrix = self.call(target, "get_decision_matrix", &[&session]).await;
        // JavaScript writes 2.0 as 2.
        let weight = |criterion: &str| matrix["criteria_weights"][criterion].as_f64();
        assert_eq!(
            (weight("cost"), weight("latency")),
            (Some(2.0), Some(1.5)),
            "{:?}",
            self.line
        );
        for option in OPTIONS {
            for criterion in ["cost", "latency"] {
                assert_eq!(
                    matrix["matrix"][option][criterion]["raw_score"].as_f64(),
                    Some(judge::expected_score(criterion, option)),
                    "{:?} {option}/{criterion}",
                    self.line
                );
            }
        }
    }

    /// `tools/list` with the portability check in full: every reference tool listed, and
    /// no finding.
    async fn strict_list(&self, target: &Target) {
        let output = self
            .run(target, &["--method", "tools/list", "--strict"])
            .await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        let findings: Vec<&str> = stderr
            .lines()
            .filter(|line| {
                line.starts_with("Warning") || line.starts_with("Error") || line.contains("across")
            })
            .collect();
        assert!(findings.is_empty(), "--strict found:\n{stderr}");
        let listed: Value = serde_json::from_str(&stdout).expect("the tools as JSON");
        let names: Vec<&str> = listed["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .filter_map(|tool| tool["name"].as_str())
            .collect();
        for tool in REFERENCE_TOOLS {
            assert!(names.contains(&tool), "{tool} missing from {names:?}");
        }
    }
}

#[tokio::test]
async fn both_lines_complete_the_workflow_over_stdio() {
    let llm = llm().await;
    let node = node().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = |name: &str| Target::Stdio {
        store: format!("sqlite://{}", dir.path().join(name).display()),
    };
    let (old_store, current_store) = (store("0.15.db"), store("2.db"));
    let old = Inspector::new(Line::V0_15, &node, &llm);
    let current = Inspector::new(Line::V2, &node, &llm);
    tokio::join!(old.workflow(&old_store), current.workflow(&current_store));
}

#[tokio::test]
async fn both_lines_complete_the_workflow_over_http_and_find_the_schemas_portable() {
    let llm = llm().await;
    let node = node().await;
    let (_server, url) = http_server(&llm, &[]).await;
    let target = Target::Http { url };
    let old = Inspector::new(Line::V0_15, &node, &llm);
    let current = Inspector::new(Line::V2, &node, &llm);
    tokio::join!(
        old.workflow(&target),
        current.workflow(&target),
        current.strict_list(&target),
    );
}
