//! What a component declares about itself: that it is a component at all, which of our worlds
//! it implements, and which contract version it was built against.
//!
//! The version comes from the component's type (its exported interface names, such as
//! `decision-matrix:plugin/scoring@0.1.0`), not from a custom section a toolchain might drop.

use wasmtime::Engine;
use wasmtime::component::Component;

use super::manifest::PluginKind;

/// The WIT package every plugin interface belongs to.
pub const PACKAGE: &str = "decision-matrix:plugin";

/// Contract versions this host loads: `major.minor` must match, any patch is accepted up to
/// [`NEWEST_PATCH`] (0.1.x only ever adds imports).
pub const SUPPORTED_MAJOR_MINOR: (u64, u64) = (0, 1);
/// Newest 0.1.x patch this host implements.
pub const NEWEST_PATCH: u64 = 0;

/// The supported range, as printed in messages: `0.1.0`, or `0.1.0 to 0.1.N` once patch
/// releases of the contract exist.
pub fn supported_range() -> String {
    let (major, minor) = SUPPORTED_MAJOR_MINOR;
    if NEWEST_PATCH == 0 {
        format!("{major}.{minor}.0")
    } else {
        format!("{major}.{minor}.0 to {major}.{minor}.{NEWEST_PATCH}")
    }
}

/// First eight bytes of a component binary (`\0asm`, layer 1, version 0x0d).
const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
/// First eight bytes of a core module (`\0asm`, version 1).
const MODULE_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/// Why a file is not a plugin this host can load.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InspectError {
    /// A core wasm module, not a component.
    #[error(
        "this is a core WebAssembly module, not a component; build the plugin for the wasm32-wasip2 target (`cargo build --release --target wasm32-wasip2`)"
    )]
    CoreModule,
    /// Not WebAssembly at all.
    #[error("not a WebAssembly component (the file does not start with the component header)")]
    NotWasm,
    /// Exports none of our interfaces.
    #[error(
        "the component exports no {PACKAGE} interface; a plugin exports `{PACKAGE}/llm-backend` or `{PACKAGE}/scoring`"
    )]
    NoPluginExport,
    /// Built against a contract version outside the supported range.
    #[error("the plugin targets {PACKAGE}@{found}, but this host supports {supported}; {hint}")]
    UnsupportedVersion {
        /// The version found in the component.
        found: String,
        /// [`supported_range`].
        supported: String,
        /// What to do about it.
        hint: &'static str,
    },
    /// Exports the interface of another kind than its manifest says.
    #[error(
        "plugin.toml says kind = \"{manifest}\", but the component exports `{PACKAGE}/{found}`"
    )]
    KindMismatch {
        /// Kind in the manifest.
        manifest: PluginKind,
        /// Interface the component exports.
        found: String,
    },
    /// A scoring plugin that imports the network.
    #[error("a scoring plugin may not import `{PACKAGE}/http`: scoring plugins have no network")]
    ScoringImportsHttp,
}

/// What [`inspect`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentFacts {
    /// Kind implied by the exported interface.
    pub kind: PluginKind,
    /// Contract version of the exported interface, e.g. `0.1.0`.
    pub wit_version: String,
    /// Every import name, sorted (`decision-matrix:plugin/http@0.1.0`, `wasi:cli/stdout@0.2.6`).
    pub imports: Vec<String>,
}

/// Checks the header bytes before anything is compiled.
pub fn check_header(bytes: &[u8]) -> Result<(), InspectError> {
    match bytes.get(..8) {
        Some(header) if header == COMPONENT_HEADER => Ok(()),
        Some(header) if header == MODULE_HEADER => Err(InspectError::CoreModule),
        _ => Err(InspectError::NotWasm),
    }
}

/// Reads kind, version and imports from a compiled component's type.
pub fn inspect(engine: &Engine, component: &Component) -> Result<ComponentFacts, InspectError> {
    let ty = component.component_type();
    let mut exported = None;
    for (name, _) in ty.exports(engine) {
        let Some((interface, version)) = split_interface_name(name) else {
            continue;
        };
        let kind = match interface {
            "llm-backend" => PluginKind::LlmBackend,
            "scoring" => PluginKind::Scoring,
            _ => continue,
        };
        exported = Some((kind, version.to_owned()));
        break;
    }
    let (kind, wit_version) = exported.ok_or(InspectError::NoPluginExport)?;
    check_version(&wit_version)?;

    let mut imports: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    imports.sort();
    for name in &imports {
        if let Some((interface, version)) = split_interface_name(name) {
            check_version(version)?;
            if kind == PluginKind::Scoring && interface == "http" {
                return Err(InspectError::ScoringImportsHttp);
            }
        }
    }
    Ok(ComponentFacts {
        kind,
        wit_version,
        imports,
    })
}

/// Checks the facts agree with the manifest.
pub fn check_kind(facts: &ComponentFacts, manifest_kind: PluginKind) -> Result<(), InspectError> {
    if facts.kind == manifest_kind {
        Ok(())
    } else {
        Err(InspectError::KindMismatch {
            manifest: manifest_kind,
            found: facts.kind.export_interface().to_owned(),
        })
    }
}

/// Splits `decision-matrix:plugin/scoring@0.1.0` into `("scoring", "0.1.0")`; None for names
/// of other packages.
fn split_interface_name(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
    rest.split_once('@')
}

fn check_version(version: &str) -> Result<(), InspectError> {
    let unsupported = |hint| InspectError::UnsupportedVersion {
        found: version.to_owned(),
        supported: supported_range(),
        hint,
    };
    let mut parts = version.split('.').map(|p| p.parse::<u64>());
    let (Some(Ok(major)), Some(Ok(minor)), Some(Ok(patch)), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unsupported(
            "the version is not of the form MAJOR.MINOR.PATCH",
        ));
    };
    let (want_major, want_minor) = SUPPORTED_MAJOR_MINOR;
    if (major, minor) > (want_major, want_minor)
        || (major, minor) == (want_major, want_minor) && patch > NEWEST_PATCH
    {
        return Err(unsupported("it needs a newer decision-matrix host"));
    }
    if (major, minor) < (want_major, want_minor) {
        return Err(unsupported("rebuild it against the current plugin SDK"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_told_apart() {
        assert_eq!(check_header(&COMPONENT_HEADER), Ok(()));
        assert_eq!(check_header(&MODULE_HEADER), Err(InspectError::CoreModule));
        assert_eq!(
            check_header(b"\x7fELF\x02\x01\x01\x00"),
            Err(InspectError::NotWasm)
        );
        assert_eq!(check_header(b"\0as"), Err(InspectError::NotWasm));
    }

    #[test]
    fn interface_names_are_split() {
        assert_eq!(
            split_interface_name("decision-matrix:plugin/scoring@0.1.0"),
            Some(("scoring", "0.1.0"))
        );
        assert_eq!(split_interface_name("wasi:cli/stdout@0.2.6"), None);
        assert_eq!(
            split_interface_name("decision-matrix:pluginx/scoring@0.1.0"),
            None
        );
    }

    #[test]
    fn versions_outside_the_range_say_why() {
        assert!(check_version("0.1.0").is_ok());
        let newer = check_version("0.2.0").unwrap_err().to_string();
        assert!(
            newer.contains("newer decision-matrix host") && newer.contains("supports 0.1.0;"),
            "{newer}"
        );
        assert!(
            check_version("0.1.1")
                .unwrap_err()
                .to_string()
                .contains("newer")
        );
        assert!(
            check_version("0.0.9")
                .unwrap_err()
                .to_string()
                .contains("rebuild")
        );
        assert!(check_version("1.0").is_err());
    }
}
