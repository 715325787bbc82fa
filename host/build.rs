//! Builds the plugins in `plugins/` for `wasm32-wasip2` and embeds the built-in ones.
//!
//! `plugins/` is its own Cargo workspace, built here with a nested `cargo build` into its own
//! target directory, `plugins/target`. Inherited flags are cleared: an outer `RUSTFLAGS` or
//! compiler wrapper meant for the host can turn a component build into a core-module build
//! (or hang it), so the plugins build exactly as a plugin author's would. That also makes the
//! build the same whatever the outer build is, so one target directory serves them all: the
//! lint run, the test build, the release build and the fuzz build find the components built
//! (half a minute of compiling each, otherwise), and so does `cargo build` run in `plugins/`.
//! The artifacts are copied into `OUT_DIR` before anything uses them.
//!
//! Outputs:
//! - `$OUT_DIR/builtin_plugins.rs`: `BUILTIN_PLUGINS`, every plugin whose manifest says
//!   `builtin = true`, embedded with `include_bytes!` in a section of its own, with its SHA-256
//!   (so that start-up finds its compile cache entry without reading it; the header is checked
//!   here, so the loader need not read it either).
//! - `$OUT_DIR/plugin-dir/<id>/`: every plugin (built-ins and test fixtures) laid out as a
//!   plugins directory, exported to the crate's tests as `DMX_BUILT_PLUGINS_DIR`. Fixtures are
//!   never embedded in the binary.
//! - On Linux with glibc, the binary is linked with packed relative relocations when the
//!   toolchain and C library support them (see [`link_packed_relocations`]), and with the
//!   code the server runs laid out together when the linker takes a symbol ordering file
//!   (see [`link_code_order`]).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const TARGET: &str = "wasm32-wasip2";
const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
/// The ELF section that holds the embedded components (see where `BUILTIN_PLUGINS` is
/// written).
const BUILTIN_WASM_SECTION: &str = "dmx_builtin_wasm";

/// A plugin to embed in the binary, as laid out in `plugin-dir`.
struct Builtin {
    id: String,
    manifest: PathBuf,
    wasm: PathBuf,
    len: usize,
    sha256: [u8; 32],
}

fn main() {
    if let Err(message) = run() {
        // A build script's panic message is what the user sees; keep it to the point.
        eprintln!("\nerror: {message}\n");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let root = manifest_dir
        .parent()
        .ok_or("host/ has no parent directory")?
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let plugins = root.join("plugins");

    for dir in [root.join("plugins"), root.join("wit"), root.join("sdk")] {
        watch(&dir)?;
    }

    check_target_installed()?;
    let target_dir = plugins.join("target");
    build_plugins(&plugins, &target_dir)?;
    let artifacts = target_dir.join(TARGET).join("release");

    let plugin_dir = out_dir.join("plugin-dir");
    if plugin_dir.exists() {
        fs::remove_dir_all(&plugin_dir).map_err(|e| format!("{}: {e}", plugin_dir.display()))?;
    }
    let mut builtins = Vec::new();
    for manifest_path in find_manifests(&plugins)? {
        let text = fs::read_to_string(&manifest_path)
            .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
        let manifest: toml::Table =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", manifest_path.display()))?;
        let field = |key: &str| {
            manifest
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let id = field("id").ok_or_else(|| format!("{}: no id", manifest_path.display()))?;
        let component = field("component").unwrap_or_else(|| "plugin.wasm".to_owned());
        let artifact = artifacts.join(&component);
        let wasm = fs::read(&artifact).map_err(|e| {
            format!(
                "{} names component {component:?}, but {} was not built ({e}); the component must be the crate's artifact name",
                manifest_path.display(),
                artifact.display()
            )
        })?;
        if wasm.get(..8) != Some(&COMPONENT_HEADER[..]) {
            return Err(format!(
                "{} is not a WebAssembly component (a core module was built); check that RUSTFLAGS or a linker override did not leak into the plugin build",
                artifact.display()
            ));
        }
        let dest = plugin_dir.join(&id);
        fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        fs::copy(&manifest_path, dest.join("plugin.toml")).map_err(|e| e.to_string())?;
        fs::copy(&artifact, dest.join(&component)).map_err(|e| e.to_string())?;
        if manifest.get("builtin").and_then(|v| v.as_bool()) == Some(true) {
            let sha256 = Sha256::digest(&wasm);
            builtins.push(Builtin {
                id,
                manifest: dest.join("plugin.toml"),
                wasm: dest.join(&component),
                len: wasm.len(),
                sha256: sha256.into(),
            });
        }
    }
    builtins.sort_by(|a, b| a.id.cmp(&b.id));

    // The components live in a section of their own, away from the read-only data the server
    // uses: the kernel maps a file 64 KB at a time around each page touched, so a manifest
    // parsed at start-up next to a component would bring in 64 KB of it. Apart, the
    // components stay on disk unless one must be compiled (their headers were checked above).
    let mut statics = String::from("// Generated by host/build.rs.\n");
    let mut entries = String::from(
        "/// Every built-in plugin, in id order.\npub static BUILTIN_PLUGINS: &[BuiltinPlugin] = &[\n",
    );
    for (index, builtin) in builtins.iter().enumerate() {
        writeln!(
            statics,
            "#[cfg_attr(target_os = \"linux\", unsafe(link_section = \"{BUILTIN_WASM_SECTION}\"))]\nstatic WASM_{index}: [u8; {}] = *include_bytes!({:?});",
            builtin.len,
            builtin.wasm.display().to_string(),
        )
        .map_err(|e| e.to_string())?;
        writeln!(
            entries,
            "    BuiltinPlugin {{ manifest: include_str!({:?}), wasm: &WASM_{index}, sha256: {:?} }},",
            builtin.manifest.display().to_string(),
            builtin.sha256
        )
        .map_err(|e| e.to_string())?;
    }
    let code = format!("{statics}{entries}];\n");
    fs::write(out_dir.join("builtin_plugins.rs"), code).map_err(|e| e.to_string())?;
    println!(
        "cargo:rustc-env=DMX_BUILT_PLUGINS_DIR={}",
        plugin_dir.display()
    );
    link_packed_relocations(&out_dir);
    link_code_order(&manifest_dir.join("link").join("code.order"), &out_dir);
    Ok(())
}

/// Whether this is a native (not cross) build for Linux with glibc.
fn native_gnu_linux() -> bool {
    env::var("TARGET").ok() == env::var("HOST").ok()
        && env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu")
}

/// Whether a trivial program linked with `flags` links and runs: the linker understands them
/// and the loader accepts the result. Only for native Linux/glibc builds (a cross-built probe
/// could not run).
fn native_link_works(out_dir: &Path, name: &str, flags: &[String]) -> bool {
    if !native_gnu_linux() {
        return false;
    }
    let target = env::var("TARGET").unwrap_or_default();
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let source = out_dir.join(format!("{name}.rs"));
    let probe = out_dir.join(name);
    if fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let mut compile = Command::new(rustc);
    compile
        .arg(&source)
        .args(["--edition", "2024", "--target", &target, "-o"])
        .arg(&probe);
    for flag in flags {
        compile.arg("-C").arg(format!("link-arg={flag}"));
    }
    if let Ok(linker) = env::var("RUSTC_LINKER") {
        compile.arg("-C").arg(format!("linker={linker}"));
    }
    let linked = compile.output().is_ok_and(|out| out.status.success());
    linked && Command::new(&probe).status().is_ok_and(|s| s.success())
}

/// Links the `decision-matrix` binary with the functions listed in `order` (`link/code.order`)
/// placed first and together, in that order, where the linker takes a symbol ordering file
/// (LLD, Rust's default linker on x86-64 Linux).
///
/// The kernel maps a binary's code 64 KB at a time around each page it faults in, so what
/// stays resident is every 64 KB window holding at least one function that ever ran. Left to
/// the linker, the few megabytes the server runs at start-up and while serving are spread
/// over its 32 MB of code, and touching them keeps about 15 MB resident. The list is
/// recorded from a real run by `link/record-code-order`; names that no longer exist (after a
/// dependency or compiler upgrade) are skipped silently, so a stale list costs memory, never
/// a build.
fn link_code_order(order: &Path, out_dir: &Path) {
    println!("cargo:rerun-if-changed={}", order.display());
    if !order.exists() {
        return;
    }
    let flags = [
        format!("-Wl,--symbol-ordering-file={}", order.display()),
        "-Wl,--no-warn-symbol-ordering".to_owned(),
    ];
    if native_link_works(out_dir, "order_probe", &flags) {
        for flag in &flags {
            println!("cargo:rustc-link-arg-bins={flag}");
        }
    }
}

/// Links the `decision-matrix` binary with `-z pack-relative-relocs` (DT_RELR) where that
/// works.
///
/// A position-independent executable carries one 24-byte relocation record per pointer in
/// its read-only data (vtables, string tables), which the loader reads at every start: 1.7 MB
/// here, resident for the life of the process. Packed, the same relocations take a few
/// kilobytes. The loader must understand them (glibc 2.36 or later) and the linker must
/// write them, so the flag is only used when a probe program linked with it runs; a binary
/// built elsewhere still fails cleanly on an older glibc (it asks for the
/// `GLIBC_ABI_DT_RELR` version). Cross builds are left alone: the probe could not run.
fn link_packed_relocations(out_dir: &Path) {
    const FLAG: &str = "-Wl,-z,pack-relative-relocs";
    if !native_gnu_linux() {
        return;
    }
    if native_link_works(out_dir, "relr_probe", &[FLAG.to_owned()]) {
        println!("cargo:rustc-link-arg-bins={FLAG}");
    } else {
        println!(
            "cargo:warning=linking without packed relocations (-z pack-relative-relocs): this \
             toolchain or C library does not support them; the binary works, with about 1.7 MB \
             more resident memory"
        );
    }
}

fn check_target_installed() -> Result<(), String> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("could not run {rustc}: {e}"))?;
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let target_lib = Path::new(&sysroot).join("lib").join("rustlib").join(TARGET);
    if !target_lib.exists() {
        return Err(format!(
            "the Rust standard library for {TARGET} is not installed; the built-in plugins need it.\n       Install it with:  rustup target add {TARGET}"
        ));
    }
    Ok(())
}

fn build_plugins(plugins: &Path, target_dir: &Path) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .current_dir(plugins)
        .args(["build", "--release", "--locked", "--target", TARGET])
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env("RUSTC_WRAPPER", "")
        .env("CARGO_TERM_COLOR", "never")
        .status()
        .map_err(|e| format!("could not run cargo for the plugins: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the plugins in {} for {TARGET} failed (see the output above)",
            plugins.display()
        ));
    }
    Ok(())
}

/// `plugin.toml` files under `plugins/`, skipping build output.
fn find_manifests(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    walk_sources(dir, &mut |path, is_dir| {
        if !is_dir && path.file_name().is_some_and(|name| name == "plugin.toml") {
            found.push(path.to_path_buf());
        }
    })?;
    found.sort();
    Ok(found)
}

/// Asks Cargo to rerun the script when any source file under `dir` changes. Cargo scans a
/// watched directory recursively, so a directory holding build output (`target/`) is not
/// watched itself, only its other entries; otherwise every plugin build would trigger another.
fn watch(dir: &Path) -> Result<(), String> {
    let mut watch_one = |path: &Path, is_dir: bool| {
        if !is_dir || !path.join("target").exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    };
    watch_one(dir, true);
    walk_sources(dir, &mut watch_one)
}

/// Visits every file and directory below `dir` (not `dir` itself), skipping `target/`.
fn walk_sources(dir: &Path, visit: &mut dyn FnMut(&Path, bool)) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path();
        let is_dir = entry.file_type().map_err(|e| e.to_string())?.is_dir();
        if is_dir && entry.file_name() == "target" {
            continue;
        }
        visit(&path, is_dir);
        if is_dir {
            walk_sources(&path, visit)?;
        }
    }
    Ok(())
}
