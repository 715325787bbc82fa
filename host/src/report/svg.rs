//! The decision as one SVG picture: the heatmap of the matrix above the ranking as bars.
//!
//! It is what `export_matrix` with `format: "svg"` returns and what [`super::png`]
//! rasterises, so it uses only what every SVG reader draws the same way: rectangles, lines,
//! text in one font family and one pattern. Names are the users' text: they are escaped for
//! XML (characters XML 1.0 cannot hold are dropped), shortened to fit their column, and kept
//! whole in each element's `<title>`, which is also the picture's text alternative.

use std::fmt::Write as _;

use crate::server::results::{DecisionMatrix, MatrixCell, Ranking};

/// The font family the chart names; [`super::png`] carries this font.
pub const FONT_FAMILY: &str = "DejaVu Sans";

const MARGIN: f64 = 24.0;
const LABEL_WIDTH: f64 = 190.0;
const CELL_WIDTH: f64 = 96.0;
const CELL_HEIGHT: f64 = 30.0;
const HEADER_HEIGHT: f64 = 44.0;
const BAR_HEIGHT: f64 = 22.0;
const BAR_GAP: f64 = 8.0;
const BAR_MAX: f64 = 360.0;
/// Characters of an option's name before it is shortened (about `LABEL_WIDTH` at 13 px).
const LABEL_CHARS: usize = 26;
/// Characters of a criterion's name in its column header.
const HEADER_CHARS: usize = 13;

/// The palette, the view's light one: scores 1 to 10 run in OKLCH from pale yellow to deep
/// blue (lightness, chroma, hue), so the order reads by lightness alone; the number is in
/// every cell as well. Text is black on cells lighter than [`DARK_BELOW`], white on others.
const RAMP: [[f64; 3]; 2] = [[0.97, 0.06, 100.0], [0.43, 0.12, 255.0]];
const DARK_BELOW: f64 = 0.57;
const INK: &str = "#1a1a1a";
const MUTED: &str = "#5c5c5c";
const BAR: &str = "#3b6ea8";
const WINNER_BAR: &str = "#1d4e89";

/// `matrix` drawn as SVG.
pub fn chart(matrix: &DecisionMatrix) -> String {
    let criteria: Vec<(&String, &f64)> = matrix.criteria_weights.iter().collect();
    let width = (MARGIN * 2.0 + LABEL_WIDTH + CELL_WIDTH * criteria.len() as f64)
        .max(MARGIN * 2.0 + LABEL_WIDTH + BAR_MAX + 170.0);
    let heatmap_top = MARGIN + 52.0;
    let rows = matrix.rankings.len() as f64;
    let ranking_top = heatmap_top + HEADER_HEIGHT + CELL_HEIGHT * rows + 40.0;
    let legend_top = ranking_top + 28.0 + (BAR_HEIGHT + BAR_GAP) * rows + 12.0;
    let height = legend_top + 30.0 + MARGIN;

    let mut svg = String::with_capacity(4096 + 600 * criteria.len() * matrix.rankings.len());
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="{FONT_FAMILY}, sans-serif" font-size="13" role="img" aria-labelledby="dm-title dm-desc">"##
    );
    let _ = write!(
        svg,
        r##"<title id="dm-title">Decision matrix: {}</title><desc id="dm-desc">{}</desc>"##,
        escape(&matrix.topic),
        escape(&description(matrix)),
    );
    svg.push_str(
        r##"<defs><pattern id="dm-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ececec"/><line x1="0" y1="0" x2="0" y2="6" stroke="#bdbdbd" stroke-width="2"/></pattern></defs>"##,
    );
    let _ = write!(
        svg,
        r##"<rect width="100%" height="100%" fill="#ffffff"/><text x="{MARGIN}" y="{}" font-size="17" font-weight="bold" fill="{INK}">{}</text><text x="{MARGIN}" y="{}" fill="{MUTED}">{}</text>"##,
        MARGIN + 14.0,
        escape(&shorten(&matrix.topic, 80)),
        MARGIN + 36.0,
        escape(&shorten(&verdict(matrix), 100)),
    );
    heatmap(&mut svg, matrix, &criteria, heatmap_top);
    ranking(&mut svg, matrix, ranking_top);
    legend(&mut svg, legend_top);
    svg.push_str("</svg>");
    svg
}

/// The matrix's verdict: the confidence's when it has one, else the recommendation.
fn verdict(matrix: &DecisionMatrix) -> String {
    matrix
        .confidence
        .as_ref()
        .map_or_else(|| matrix.recommendation.clone(), |c| c.verdict.clone())
}

/// The whole picture in words, for readers that cannot see it.
fn description(matrix: &DecisionMatrix) -> String {
    let mut text = verdict(matrix);
    for ranking in &matrix.rankings {
        let ranked = &ranking.ranked;
        let _ = write!(
            text,
            " Rank {}: {}, total {:.2}",
            ranked.rank, ranked.option, ranked.weighted_total
        );
        if let Some(p) = ranked.probability_best {
            let _ = write!(text, ", probability of being best {}", percent(p));
        }
        text.push('.');
    }
    text
}

fn heatmap(svg: &mut String, matrix: &DecisionMatrix, criteria: &[(&String, &f64)], top: f64) {
    let left = MARGIN + LABEL_WIDTH;
    for (column, (name, weight)) in criteria.iter().enumerate() {
        let x = left + CELL_WIDTH * column as f64 + CELL_WIDTH / 2.0;
        let _ = write!(
            svg,
            r##"<g><title>{} (weight {})</title><text x="{x}" y="{}" text-anchor="middle" font-weight="bold" fill="{INK}">{}</text><text x="{x}" y="{}" text-anchor="middle" font-size="11" fill="{MUTED}">weight {}</text></g>"##,
            escape(name),
            number(**weight),
            top + 16.0,
            escape(&shorten(name, HEADER_CHARS)),
            top + 32.0,
            number(**weight),
        );
    }
    for (row, ranking) in matrix.rankings.iter().enumerate() {
        let option = &ranking.ranked.option;
        let y = top + HEADER_HEIGHT + CELL_HEIGHT * row as f64;
        let _ = write!(
            svg,
            r##"<text x="{MARGIN}" y="{}" fill="{INK}"><title>{}</title>{}</text>"##,
            y + CELL_HEIGHT / 2.0 + 5.0,
            escape(option),
            escape(&shorten(option, LABEL_CHARS)),
        );
        let cells = matrix.matrix.get(option);
        for (column, (criterion, _)) in criteria.iter().enumerate() {
            let x = left + CELL_WIDTH * column as f64;
            let cell = cells.and_then(|cells| cells.get(*criterion));
            draw_cell(svg, option, criterion, cell, x, y);
        }
    }
}

fn draw_cell(
    svg: &mut String,
    option: &str,
    criterion: &str,
    cell: Option<&MatrixCell>,
    x: f64,
    y: f64,
) {
    let status = cell.map_or("missing", |c| c.status.as_str());
    let score = cell.and_then(|c| c.raw_score);
    let (fill, stroke, dash, text, ink) = match (status, score) {
        ("abstained", _) => (
            "url(#dm-hatch)".to_owned(),
            "#9e9e9e",
            "",
            "n/a".to_owned(),
            MUTED,
        ),
        ("failed", _) => (
            "#fbe3e3".to_owned(),
            "#b3261e",
            "",
            "failed".to_owned(),
            "#8c1d18",
        ),
        (_, Some(score)) => {
            let ink = if lightness(score) > DARK_BELOW {
                INK
            } else {
                "#ffffff"
            };
            let mut text = score_text(score);
            if status == "manual" {
                text.push_str(" (m)");
            }
            (shade(score), "#ffffff", "", text, ink)
        }
        _ => (
            "#ffffff".to_owned(),
            "#9e9e9e",
            r#" stroke-dasharray="4 3""#,
            "–".to_owned(),
            MUTED,
        ),
    };
    let stale = cell.is_some_and(|c| c.stale);
    let (stroke, dash) = if stale {
        ("#c77700", r#" stroke-dasharray="5 3" stroke-width="2""#)
    } else {
        (stroke, dash)
    };
    let mut title = format!("{option} on {criterion}: ");
    match score {
        Some(score) => title.push_str(&score_text(score)),
        None => title.push_str("no score"),
    }
    let _ = write!(title, " ({status}");
    if stale {
        title.push_str(", stale");
    }
    if let Some(cell) = cell.filter(|c| c.samples > 1) {
        let _ = write!(title, ", {} judgments", cell.samples);
        if let Some(spread) = cell.spread {
            let _ = write!(title, ", sd {spread:.2}");
        }
    }
    title.push(')');
    if let Some(cell) = cell.filter(|c| !c.justification.is_empty()) {
        let _ = write!(title, ". {}", cell.justification);
    }
    let mark = if stale { "*" } else { "" };
    let _ = write!(
        svg,
        r##"<g><title>{}</title><rect x="{}" y="{}" width="{}" height="{}" fill="{fill}" stroke="{stroke}"{dash}/><text x="{}" y="{}" text-anchor="middle" fill="{ink}">{}{mark}</text></g>"##,
        escape(&title),
        x + 1.0,
        y + 1.0,
        CELL_WIDTH - 2.0,
        CELL_HEIGHT - 2.0,
        x + CELL_WIDTH / 2.0,
        y + CELL_HEIGHT / 2.0 + 5.0,
        escape(&text),
    );
}

fn ranking(svg: &mut String, matrix: &DecisionMatrix, top: f64) {
    let _ = write!(
        svg,
        r##"<text x="{MARGIN}" y="{top}" font-weight="bold" fill="{INK}">Ranking ({})</text>"##,
        escape(&matrix.strategy),
    );
    // Totals of other strategies than the weighted average are not on a 0-10 scale; the
    // bars are drawn against the largest total, and the number is written beside each.
    let largest = matrix
        .rankings
        .iter()
        .map(|r| r.ranked.weighted_total)
        .fold(0.0_f64, f64::max);
    for (row, ranking) in matrix.rankings.iter().enumerate() {
        let y = top + 14.0 + (BAR_HEIGHT + BAR_GAP) * row as f64;
        bar(svg, ranking, largest, y);
    }
}

fn bar(svg: &mut String, ranking: &Ranking, largest: f64, y: f64) {
    let ranked = &ranking.ranked;
    let length = if largest > 0.0 && ranked.weighted_total.is_finite() {
        (ranked.weighted_total.max(0.0) / largest * BAR_MAX).max(1.0)
    } else {
        1.0
    };
    let colour = if ranked.rank == 1 { WINNER_BAR } else { BAR };
    let mut figure = format!("{:.2}", ranked.weighted_total);
    if let Some(p) = ranked.probability_best {
        let _ = write!(figure, "   P(best) {}", percent(p));
    }
    if let Some([low, high]) = ranked.rank_interval.filter(|[l, h]| l != h) {
        let _ = write!(figure, "   rank {low}–{high}");
    }
    let left = MARGIN + LABEL_WIDTH;
    let _ = write!(
        svg,
        r##"<g><title>{}. {}: {}</title><text x="{MARGIN}" y="{}" fill="{INK}">{}. {}</text><rect x="{left}" y="{y}" width="{length:.1}" height="{BAR_HEIGHT}" rx="3" fill="{colour}"/><text x="{}" y="{}" fill="{INK}">{}</text></g>"##,
        ranked.rank,
        escape(&ranked.option),
        escape(&figure),
        y + BAR_HEIGHT / 2.0 + 5.0,
        ranked.rank,
        escape(&shorten(&ranked.option, LABEL_CHARS - 3)),
        left + length + 8.0,
        y + BAR_HEIGHT / 2.0 + 5.0,
        escape(&figure),
    );
}

fn legend(svg: &mut String, top: f64) {
    let _ = write!(
        svg,
        r##"<text x="{MARGIN}" y="{top}" font-size="11" fill="{MUTED}">Scores 1 (light) to 10 (dark). n/a: the criterion does not apply. failed: no judge answered. –: not scored.</text><text x="{MARGIN}" y="{}" font-size="11" fill="{MUTED}">(m): set by hand. *: stale, the option or criterion changed since it was scored.</text>"##,
        top + 15.0,
    );
}

/// How far along the ramp `score` lies, 0 to 1.
fn ramp_position(score: f64) -> f64 {
    ((score - 1.0) / 9.0).clamp(0.0, 1.0)
}

/// The OKLCH lightness of a score's fill.
fn lightness(score: f64) -> f64 {
    let t = ramp_position(score);
    RAMP[0][0] + (RAMP[1][0] - RAMP[0][0]) * t
}

/// The fill of a score as sRGB hex: the view computes the same colour with CSS `oklch()`;
/// SVG readers (resvg among them) take hex.
fn shade(score: f64) -> String {
    let t = ramp_position(score);
    let [l, c, h] = [0, 1, 2].map(|i| RAMP[0][i] + (RAMP[1][i] - RAMP[0][i]) * t);
    let (a, b) = (c * h.to_radians().cos(), c * h.to_radians().sin());
    // OKLab to linear sRGB (Björn Ottosson's matrices), then the sRGB transfer function.
    let l_ = (l + 0.396_337_777_4 * a + 0.215_803_757_3 * b).powi(3);
    let m_ = (l - 0.105_561_345_8 * a - 0.063_854_172_8 * b).powi(3);
    let s_ = (l - 0.089_484_177_5 * a - 1.291_485_548 * b).powi(3);
    let linear = [
        4.076_741_662_1 * l_ - 3.307_711_591_3 * m_ + 0.230_969_929_2 * s_,
        -1.268_438_004_6 * l_ + 2.609_757_401_1 * m_ - 0.341_319_396_5 * s_,
        -0.004_196_086_3 * l_ - 0.703_418_614_7 * m_ + 1.707_614_701 * s_,
    ];
    let [r, g, b] = linear.map(|x| {
        let x = x.clamp(0.0, 1.0);
        let encoded = if x <= 0.003_130_8 {
            12.92 * x
        } else {
            1.055 * x.powf(1.0 / 2.4) - 0.055
        };
        (encoded * 255.0).round() as u8
    });
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// A probability as a percentage, written as the view writes it: whole percents, rounded half
/// away from zero, and `<1%` or `>99%` rather than a 0 or 100 that is not one.
fn percent(p: f64) -> String {
    if p > 0.0 && p < 0.005 {
        "<1%".to_owned()
    } else if p > 0.995 && p < 1.0 {
        ">99%".to_owned()
    } else {
        format!("{}%", (p * 100.0).round())
    }
}

/// A score as the view writes it: `7`, or one decimal (`7.3`) for a mean of judgments, a
/// half rounded up as JavaScript's `toFixed` does (Rust's formatting rounds it to even).
fn score_text(score: f64) -> String {
    if score.fract() == 0.0 {
        format!("{score:.0}")
    } else {
        format!("{:.1}", (score * 10.0).round() / 10.0)
    }
}

/// A score or weight as people write it: `7`, `7.5`.
pub(crate) fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').to_owned()
    }
}

/// `text` cut to `chars` characters, with an ellipsis when cut.
fn shorten(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(chars.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

/// `text` as XML character data or attribute value: the five special characters escaped,
/// and the characters XML 1.0 does not allow at all (most controls) left out.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_controls_dropped() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
        );
        assert_eq!(escape("bell\u{7}ring\u{0}"), "bellring");
        assert_eq!(escape("two\nlines"), "two\nlines");
    }

    #[test]
    fn scores_read_as_the_view_writes_them() {
        assert_eq!(score_text(7.0), "7");
        assert_eq!(score_text(7.25), "7.3");
        assert_eq!(score_text(6.333), "6.3");
    }

    #[test]
    fn numbers_read_as_written() {
        assert_eq!(number(7.0), "7");
        assert_eq!(number(7.5), "7.5");
        assert_eq!(number(1.25), "1.25");
        assert_eq!(number(0.1), "0.1");
    }

    /// The ends of the ramp are the colours a browser computes for the view's
    /// `oklch(0.97 0.06 100)` and `oklch(0.43 0.12 255)` (and the middle, `oklch(0.7 0.09
    /// 177.5)`), as Chromium draws them, to two units per channel.
    #[test]
    fn shades_are_the_views_colours() {
        let channels =
            |hex: &str| [1, 3, 5].map(|i| i32::from_str_radix(&hex[i..i + 2], 16).expect("hex"));
        for (score, expected) in [
            (1.0, [254, 247, 201]),
            (5.5, [89, 177, 158]),
            (10.0, [24, 79, 144]),
        ] {
            let found = channels(&shade(score));
            assert!(
                found.iter().zip(expected).all(|(f, e)| (f - e).abs() <= 2),
                "score {score}: {found:?}, expected {expected:?}"
            );
        }
        assert_eq!(shade(42.0), shade(10.0), "clamped");
        assert!(lightness(1.0) > DARK_BELOW && lightness(10.0) < DARK_BELOW);
    }

    #[test]
    fn percentages_round_as_the_view_rounds() {
        assert_eq!(percent(0.985), "99%");
        assert_eq!(percent(0.5), "50%");
        assert_eq!(percent(0.001), "<1%");
        assert_eq!(percent(0.999), ">99%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(1.0), "100%");
    }

    #[test]
    fn long_names_are_shortened_by_characters() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("ééééééééééé", 5), "éééé…");
    }
}
