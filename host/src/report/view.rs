//! The decision view: one HTML page, its script and style inline, that draws a session's
//! matrix. It is two things at once:
//!
//! - the MCP App (`ui://decision-matrix/decision.html`): hosts that implement the MCP Apps
//!   extension render it beside the result of the tools that link to it, hand it the result
//!   over `postMessage`, and let it call tools (the weight sliders' what-if, "apply");
//! - the standalone report (`export_matrix` as `html`, `decision-matrix evaluate --report`):
//!   the same page with the matrix written into it, which draws it without a host.
//!
//! One renderer for both means the report and the view cannot drift apart.

use crate::server::results::DecisionMatrix;

/// The view's resource URI, which the tools' `_meta.ui.resourceUri` names.
pub const URI: &str = "ui://decision-matrix/decision.html";

/// The MIME type of an MCP App's HTML.
pub const MIME_TYPE: &str = "text/html;profile=mcp-app";

/// The MCP Apps extension's identifier, advertised in the server's capabilities.
pub const EXTENSION: &str = "io.modelcontextprotocol/ui";

/// The page as the host gets it: it waits for the host's tool result.
pub const PAGE: &str = include_str!("view.html");

/// The line of [`PAGE`] that holds the data of a standalone report (`null` in the view).
const DATA_LINE: &str = r#"<script type="application/json" id="decision-data">null</script>"#;

/// The page with `matrix` written into it: a report that opens offline in any browser.
pub fn standalone(matrix: &DecisionMatrix) -> String {
    let data = serde_json::json!({ "matrix": matrix });
    // JSON inside a <script> element ends at the first "</script"; with every `<`, `>` and
    // `&` written as an escape, no text from a user can end it or open a comment.
    let data = data
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    PAGE.replacen(
        DATA_LINE,
        &format!(r#"<script type="application/json" id="decision-data">{data}</script>"#),
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_its_data_line_once() {
        assert_eq!(PAGE.matches(DATA_LINE).count(), 1);
    }

    #[test]
    fn the_page_fetches_nothing() {
        for outside in ["http://", "https://", "//cdn", "@import", "src=\"http"] {
            let found = PAGE
                .match_indices(outside)
                // The SVG namespace is a name, not an address.
                .filter(|(at, _)| !PAGE[*at..].starts_with("http://www.w3.org/"))
                .count();
            assert_eq!(found, 0, "the page names {outside}");
        }
    }
}
