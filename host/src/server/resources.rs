//! Each session's decision matrix as MCP resources, so a client can attach a matrix to a
//! conversation or show it beside one without calling a tool.
//!
//! `decision-matrix://sessions/{session_id}/matrix.json` is the matrix `get_decision_matrix`
//! returns (without its markdown rendering); `.../matrix.md` is that rendering. A session
//! that has no criteria yet reads as the same error dict the tool gives, so a listed resource
//! is always readable.
//!
//! The decision view (`ui://decision-matrix/decision.html`, [`crate::report::view`]) is a
//! resource too, listed first on the first page: hosts of the MCP Apps extension read it to
//! render the tools' results that name it, and listing it lets a host review it beforehand.

use rmcp::ErrorData;
use rmcp::model::{
    ListResourcesResult, MetaObject, ReadResourceResult, Resource, ResourceContents,
    ResourceTemplate,
};

use super::params::ExportArgs;
use super::scope::Scoped;
use super::sessions::Cursor;
use crate::report::view;

const PREFIX: &str = "decision-matrix://sessions/";

/// A representation of a session's matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Markdown,
}

impl Format {
    const ALL: [Format; 2] = [Format::Json, Format::Markdown];

    fn file(self) -> &'static str {
        match self {
            Format::Json => "matrix.json",
            Format::Markdown => "matrix.md",
        }
    }

    fn mime_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Markdown => "text/markdown",
        }
    }

    /// The `export_matrix` format that produces this representation.
    fn export_format(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Markdown => "markdown",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Format::Json => "JSON",
            Format::Markdown => "markdown",
        }
    }
}

fn uri(session_id: &str, format: Format) -> String {
    format!("{PREFIX}{session_id}/{}", format.file())
}

/// The session id and format a URI names, if it is one of ours.
fn parse(uri: &str) -> Option<(&str, Format)> {
    let (session_id, file) = uri.strip_prefix(PREFIX)?.split_once('/')?;
    let format = Format::ALL.into_iter().find(|f| f.file() == file)?;
    (!session_id.is_empty()).then_some((session_id, format))
}

/// Sessions whose resources one page of `resources/list` holds.
const PAGE: usize = 100;

/// Two resources per live session of the caller's scope, the most recent sessions first, a
/// page at a time; a failing session store is an internal error naming it.
pub async fn list(
    scoped: &Scoped<'_>,
    cursor: Option<&str>,
) -> Result<ListResourcesResult, ErrorData> {
    let after = match cursor {
        Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
            ErrorData::invalid_params(
                "invalid cursor: pass the nextCursor of the previous resources/list result",
                None,
            )
        })?),
        None => None,
    };
    let page = scoped
        .sessions()
        .page(scoped.scope(), after.as_ref(), PAGE)
        .await
        .map_err(|error| ErrorData::internal_error(error.error, None))?;
    let resources = page
        .sessions
        .iter()
        .flat_map(|session| {
            let (id, topic) = (&session.id, &session.topic);
            Format::ALL.map(|format| {
                Resource::new(uri(id, format), format!("{id}/{}", format.file()))
                    .with_title(format!("Decision matrix ({}): {topic}", format.label()))
                    .with_description(format!(
                        "The ranked decision matrix of session {id}, as {}",
                        format.label()
                    ))
                    .with_mime_type(format.mime_type())
            })
        })
        .collect::<Vec<_>>();
    let resources = if after.is_none() {
        std::iter::once(view_resource()).chain(resources).collect()
    } else {
        resources
    };
    let mut result = ListResourcesResult::with_all_items(resources);
    result.next_cursor = page.next.map(|next| next.encode());
    Ok(result)
}

/// The decision view as `resources/list` shows it.
fn view_resource() -> Resource {
    Resource::new(view::URI, "decision.html")
        .with_title("Decision view")
        .with_description(
            "Interactive view of a decision: the matrix as a heatmap, the ranking, how \
             robust the winner is to each weight, and sliders to try other weights",
        )
        .with_mime_type(view::MIME_TYPE)
}

/// The view's contents with its `_meta.ui`: a host draws a border around it, and the page
/// needs no outside domain (the empty policy is the strictest a host applies).
fn view_contents() -> ReadResourceResult {
    let mut meta = MetaObject::new();
    meta.0.insert(
        "ui".to_owned(),
        serde_json::json!({ "prefersBorder": true, "csp": {} }),
    );
    ReadResourceResult::new(vec![
        ResourceContents::text(view::PAGE, view::URI)
            .with_mime_type(view::MIME_TYPE)
            .with_meta(meta),
    ])
}

/// The URI templates, for sessions a client knows by id.
pub fn templates() -> Vec<ResourceTemplate> {
    Format::ALL
        .map(|format| {
            ResourceTemplate::new(
                format!("{PREFIX}{{session_id}}/{}", format.file()),
                format!("session-matrix-{}", format.export_format()),
            )
            .with_title(format!("A session's decision matrix ({})", format.label()))
            .with_mime_type(format.mime_type())
        })
        .into()
}

/// The contents of `uri`.
pub async fn read(scoped: &Scoped<'_>, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    if uri == view::URI {
        return Ok(view_contents());
    }
    let Some((session_id, format)) = parse(uri) else {
        return Err(ErrorData::resource_not_found(
            format!(
                "unknown resource '{uri}'; resources are {PREFIX}{{session_id}}/matrix.json, {PREFIX}{{session_id}}/matrix.md and {}",
                view::URI
            ),
            None,
        ));
    };
    let found = scoped
        .sessions()
        .load(session_id)
        .await
        .map_err(|error| ErrorData::internal_error(error.error, None))?;
    if !found.is_some_and(|session| scoped.scope().sees(&session)) {
        return Err(ErrorData::resource_not_found(
            format!("Session {session_id} not found or expired"),
            None,
        ));
    }
    let exported = scoped
        .export(ExportArgs {
            session_id: session_id.to_owned(),
            format: Some(format.export_format().to_owned()),
        })
        .await;
    let text = match (exported, format) {
        (Ok(exported), _) => exported.content,
        (Err(error), Format::Json) => serde_json::to_string_pretty(&error).unwrap_or_default(),
        (Err(error), Format::Markdown) => error.formatted_output,
    };
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type(format.mime_type()),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip_and_foreign_ones_are_not_ours() {
        for format in Format::ALL {
            assert_eq!(parse(&uri("abc-123", format)), Some(("abc-123", format)));
        }
        assert_eq!(parse("decision-matrix://sessions//matrix.json"), None);
        assert_eq!(parse("decision-matrix://sessions/abc/matrix.csv"), None);
        assert_eq!(parse("file:///etc/passwd"), None);
    }
}
