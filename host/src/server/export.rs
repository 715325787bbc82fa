//! `export_matrix` as CSV: one row per option in ranking order, its rank and total, then each
//! criterion's score (empty when the cell has none). RFC 4180 quoting.

use crate::analysis::Analysis;
use crate::domain::Session;

/// `session`, ranked by `analysis`, as CSV.
pub fn csv(session: &Session, analysis: &Analysis) -> String {
    let mut out = String::new();
    let header: Vec<String> = ["option", "rank", "total"]
        .into_iter()
        .chain(session.criteria().iter().map(|c| c.name.as_str()))
        .map(field)
        .collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for ranked in &analysis.ranking {
        let option = &session.options()[ranked.option];
        let mut row = vec![
            field(&option.name),
            ranked.rank.to_string(),
            format!("{:.4}", ranked.total),
        ];
        for criterion in session.criteria() {
            let score = session
                .cell(option.id, criterion.id)
                .and_then(|cell| cell.status.score());
            row.push(score.map_or_else(String::new, |s| s.get().to_string()));
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
