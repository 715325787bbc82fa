//! The SVG chart as a PNG image, rasterised in-process by resvg: no browser, no external
//! program, and no system fonts (the static binary and its container image have none).
//!
//! The binary carries one font, a subset of DejaVu Sans (Latin, Greek, Cyrillic, common
//! punctuation and symbols: `host/assets/fonts/`), loaded once. Text in other scripts is
//! drawn with the glyphs the subset lacks left out; the SVG export keeps it whole.

use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

/// The font the chart is drawn with.
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");

/// Pixels per SVG unit: twice, for screens that have two pixels to a point.
const SCALE: f32 = 2.0;

/// Why an SVG could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum RasterError {
    /// The SVG did not parse (a bug in the chart, never the user's input).
    #[error("the chart did not parse as SVG: {0}")]
    Parse(#[from] usvg::Error),
    /// Its size is zero or too large for one image.
    #[error("the chart's size ({width} x {height}) cannot be one image")]
    Size {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// PNG encoding failed.
    #[error("the chart did not encode as PNG: {0}")]
    Encode(String),
}

/// The font database with the chart's font, made once per process.
fn fonts() -> Arc<usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut fonts = usvg::fontdb::Database::new();
            fonts.load_font_data(FONT.to_vec());
            fonts.set_sans_serif_family(super::svg::FONT_FAMILY);
            Arc::new(fonts)
        })
        .clone()
}

/// `svg` drawn at twice its size as PNG bytes.
pub fn rasterise(svg: &str) -> Result<Vec<u8>, RasterError> {
    let options = usvg::Options {
        font_family: super::svg::FONT_FAMILY.to_owned(),
        fontdb: fonts(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options)?;
    let size = tree.size().to_int_size().scale_by(SCALE);
    let (width, height) = size.map_or((0, 0), |s| (s.width(), s.height()));
    let too_large = RasterError::Size { width, height };
    // Checked before the pixels are allocated.
    if width.saturating_mul(height) > MAX_PIXELS {
        return Err(too_large);
    }
    let mut pixmap = tiny_skia::Pixmap::new(width, height).ok_or(too_large)?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(SCALE, SCALE),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|error| RasterError::Encode(error.to_string()))
}

/// The largest image drawn: 20 options by 15 criteria at twice the size is about 2.4 M
/// pixels; four times that leaves room and bounds the memory one call takes (64 MB).
const MAX_PIXELS: u32 = 16_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG of the right size whose text was drawn: the pixels under a word are not all the
    /// background's.
    #[test]
    fn text_is_drawn_with_the_carried_font() {
        let svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="white"/><text x="4" y="28" font-family="{}" font-size="24" fill="black">Decide</text></svg>"#,
            super::super::svg::FONT_FAMILY
        );
        let png = rasterise(&svg).expect("drawn");
        assert_eq!(&png[1..4], b"PNG");
        let pixmap = tiny_skia::Pixmap::decode_png(&png).expect("decodes");
        assert_eq!((pixmap.width(), pixmap.height()), (240, 80));
        let dark = pixmap
            .pixels()
            .iter()
            .filter(|p| p.red() < 128 && p.alpha() == 255)
            .count();
        assert!(dark > 200, "only {dark} dark pixels: no text drawn");
    }

    #[test]
    fn a_bad_svg_is_an_error_not_a_panic() {
        assert!(matches!(rasterise("<svg"), Err(RasterError::Parse(_))));
        let empty = r#"<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0"/>"#;
        assert!(rasterise(empty).is_err());
    }
}
