//! `export_matrix` as CSV: one row per option in ranking order, its rank, total and
//! probability of being best, then each criterion's score (empty when the cell has none).
//! RFC 4180 quoting.
//!
//! Names are text from clients, and a spreadsheet opening the file runs a cell that starts
//! with `=`, `+`, `-` or `@` as a formula (`=HYPERLINK(...)`, `@SUM(...)`, or worse through
//! DDE), and some treat a leading tab or carriage return the same way. Such a cell gets a
//! leading `'`, as OWASP's guidance on CSV injection has it: the spreadsheet shows it as text.
//! The numbers the server writes itself (rank, total, scores) are never touched.

use super::confidence::Assessed;
use crate::analysis::Analysis;
use crate::domain::Session;

/// `session`, ranked by `analysis`, as CSV.
pub fn csv(session: &Session, analysis: &Analysis, confidence: Option<&Assessed>) -> String {
    let mut out = String::new();
    let header: Vec<String> = ["option", "rank", "total", "probability_best"]
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
            confidence
                .and_then(|c| c.odds.get(ranked.option))
                .map_or_else(String::new, |o| format!("{:.4}", o.probability_best)),
        ];
        for criterion in session.criteria() {
            let score = session
                .cell(option.id, criterion.id)
                .and_then(|cell| cell.status.score());
            row.push(score.map_or_else(String::new, |s| s.shown().to_string()));
        }
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Characters that make a spreadsheet read a cell starting with them as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One CSV field of text: defused when it could start a formula, then quoted when it holds a
/// comma, quote or line break.
fn field(text: &str) -> String {
    let text = if text.starts_with(FORMULA_STARTS) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
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

    #[test]
    fn cells_that_could_start_a_formula_are_text() {
        assert_eq!(field("=1+1"), "'=1+1");
        assert_eq!(field("@SUM(A1:A9)"), "'@SUM(A1:A9)");
        assert_eq!(field("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(field("-2+3"), "'-2+3");
        assert_eq!(field("\t=1"), "'\t=1");
        assert_eq!(field("\r=1"), "\"'\r=1\"");
        assert_eq!(
            field("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        assert_eq!(field("a=1"), "a=1", "only a leading sign matters");
    }
}
