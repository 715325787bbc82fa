//! `export_matrix` as CSV: one row per option in ranking order, its rank and total, then each
//! criterion's score (empty when the cell has none). RFC 4180 quoting.

use serde_json::{Map, Value};

use crate::domain::Session;

/// The matrix result (`get_decision_matrix`'s dict) of `session` as CSV.
pub fn csv(session: &Session, matrix: &Map<String, Value>) -> String {
    let criteria: Vec<&str> = session.criteria().iter().map(|c| c.name.as_str()).collect();
    let mut out = String::new();
    let header: Vec<String> = ["option", "rank", "total"]
        .into_iter()
        .chain(criteria.iter().copied())
        .map(field)
        .collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for ranked in matrix["rankings"].as_array().into_iter().flatten() {
        let option = ranked["option"].as_str().unwrap_or_default();
        let mut row = vec![
            field(option),
            ranked["rank"].to_string(),
            ranked["weighted_total"]
                .as_f64()
                .map_or_else(String::new, |t| format!("{t:.4}")),
        ];
        for criterion in &criteria {
            let score = &matrix["matrix"][option][*criterion]["raw_score"];
            row.push(score.as_f64().map_or_else(String::new, |s| s.to_string()));
        }
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One CSV field, quoted when it holds a comma, quote or line break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
    }
}
