//! The decision drawn: the interactive view, the standalone report and the chart.
//!
//! - [`view`]: the HTML page that is both the MCP App hosts render beside a tool result
//!   and, with the matrix written into it, the standalone report (`export_matrix` as `html`,
//!   `decision-matrix evaluate --report`).
//! - [`svg`]: the heatmap and the ranking as one SVG picture (`export_matrix` as `svg`).
//! - [`png`]: that picture rasterised in-process (`get_decision_matrix` with
//!   `include_chart`), with the font the binary carries.
//!
//! All three draw the matrix result of `get_decision_matrix` ([`DecisionMatrix`]) and
//! nothing else, so what a picture shows is what the tool returns.
//!
//! [`DecisionMatrix`]: crate::server::results::DecisionMatrix

pub mod png;
pub mod svg;
pub mod view;
