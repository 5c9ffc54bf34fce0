//! Small PNG bar charts for the report tools, drawn in Rust.
//!
//! Shapes are drawn with `plotters` on an in-memory RGB bitmap and encoded
//! with `png`. Labels use the 5x7 pixel font below, so no system font
//! library (fontconfig, freetype) and no font file is needed.

use base64::Engine as _;
use plotters::prelude::*;
use rmcp::model::ContentBlock;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::ToolError;

pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 400;
/// Bars drawn at most; the text lists every group.
pub const MAX_BARS: usize = 30;

/// Whether a report also returns a chart image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Chart {
    /// Text only (default).
    #[default]
    None,
    /// Also a PNG bar chart (800x400) as an MCP image content block.
    Png,
}

/// One bar: a label and a percentage (0-100).
pub struct Bar {
    pub label: String,
    pub percent: f64,
    /// Whether the bar meets its own target: coloured green or red by that instead of by its
    /// percentage (a check's target need not be 90%).
    pub passed: Option<bool>,
}

/// A percentage bar chart as PNG bytes.
pub fn percent_bars(title: &str, bars: &[Bar]) -> Result<Vec<u8>, ToolError> {
    let (w, h) = (WIDTH, HEIGHT);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    draw(&mut rgb, title, bars).map_err(|e| {
        ToolError::Zebrunner(zebrunner_client::Error::Other(format!(
            "the chart could not be drawn ({e}); call again with chart=none"
        )))
    })?;
    encode_png(&rgb, w, h)
}

/// A chart as an MCP image content block.
pub fn image_block(png: &[u8]) -> ContentBlock {
    ContentBlock::image(
        base64::engine::general_purpose::STANDARD.encode(png),
        "image/png",
    )
}

/// Bar colours by percentage, shared by the bars and the legend.
const GOOD: RGBColor = RGBColor(46, 160, 67);
const FAIR: RGBColor = RGBColor(230, 160, 30);
const POOR: RGBColor = RGBColor(210, 60, 50);
/// Lines of a label under its bar, at most.
const LABEL_LINES: usize = 2;
/// Where the key starts when labels go there instead of under the bars.
const KEY_X: i32 = 560;

fn colour(pct: f64) -> RGBColor {
    if pct >= 90.0 {
        GOOD
    } else if pct >= 75.0 {
        FAIR
    } else {
        POOR
    }
}

/// `label` in lines of at most `width` characters, broken between words, or
/// `None` when it needs more than `LABEL_LINES` lines or a word is too long.
fn wrap(label: &str, width: usize) -> Option<Vec<String>> {
    let mut lines: Vec<String> = Vec::new();
    for word in label.split_whitespace() {
        if word.chars().count() > width {
            return None;
        }
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    (lines.len() <= LABEL_LINES).then_some(lines)
}

fn draw(rgb: &mut [u8], title: &str, bars: &[Bar]) -> Result<(), String> {
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let ink = RGBColor(40, 40, 40);
    let grid = RGBColor(220, 220, 220);
    text(
        &root,
        10,
        10,
        2,
        ink,
        &cut(title, (WIDTH as usize - 20) / 12),
    )?;
    let verdicts = bars.iter().any(|b| b.passed.is_some());
    legend(&root, 10, 32, ink, verdicts)?;
    let shown = &bars[..bars.len().min(MAX_BARS)];
    // Labels go under their bars when each fits in two lines of its slot;
    // otherwise the bars are numbered and a key beside the plot names them,
    // so no label is cut to an unreadable stub.
    let fits = |right: i32| {
        let slot = f64::from(right - 50) / shown.len().max(1) as f64;
        let width = ((slot / 6.0).floor() as usize).max(1);
        shown
            .iter()
            .map(|b| wrap(&b.label, width))
            .collect::<Option<Vec<_>>>()
    };
    let full_right = WIDTH as i32 - 20;
    let under = fits(full_right);
    let (left, right, top, bottom) = (
        50i32,
        if under.is_some() {
            full_right
        } else {
            KEY_X - 16
        },
        56i32,
        HEIGHT as i32 - 34,
    );
    let plot_h = (bottom - top) as f64;
    for pct in [0, 25, 50, 75, 100] {
        let y = bottom - (plot_h * f64::from(pct) / 100.0).round() as i32;
        root.draw(&PathElement::new(vec![(left, y), (right, y)], grid))
            .map_err(|e| e.to_string())?;
        let label = format!("{pct}%");
        text(
            &root,
            left - 6 - 6 * label.len() as i32,
            y - 3,
            1,
            ink,
            &label,
        )?;
    }
    root.draw(&PathElement::new(vec![(left, top), (left, bottom)], ink))
        .map_err(|e| e.to_string())?;
    root.draw(&PathElement::new(
        vec![(left, bottom), (right, bottom)],
        ink,
    ))
    .map_err(|e| e.to_string())?;
    if shown.is_empty() {
        text(&root, left + 20, top + 20, 2, ink, "NO DATA")?;
        return root.present().map_err(|e| e.to_string());
    }
    let slot = f64::from(right - left) / shown.len() as f64;
    let bar_w = (slot * 0.7).max(2.0);
    for (i, bar) in shown.iter().enumerate() {
        let pct = bar.percent.clamp(0.0, 100.0);
        let x0 = left + (slot * i as f64 + (slot - bar_w) / 2.0).round() as i32;
        let x1 = x0 + bar_w.round() as i32;
        let y0 = bottom - (plot_h * pct / 100.0).round() as i32;
        root.draw(&Rectangle::new(
            [(x0, y0), (x1, bottom)],
            match bar.passed {
                Some(true) => GOOD,
                Some(false) => POOR,
                None => colour(pct),
            }
            .filled(),
        ))
        .map_err(|e| e.to_string())?;
        let value = format!("{pct:.0}%");
        let cx = (x0 + x1) / 2;
        if (6 * value.len()) as f64 <= slot {
            text(&root, cx - 3 * value.len() as i32, y0 - 10, 1, ink, &value)?;
        }
        let lines = match &under {
            Some(labels) => labels.get(i).cloned().unwrap_or_default(),
            None => vec![(i + 1).to_string()],
        };
        for (n, line) in lines.iter().enumerate() {
            let lx = cx - 3 * line.chars().count() as i32;
            text(&root, lx, bottom + 6 + 10 * n as i32, 1, ink, line)?;
        }
    }
    if under.is_none() {
        let width = (WIDTH as i32 - KEY_X - 10) as usize / 6;
        for (i, bar) in shown.iter().enumerate() {
            let number = format!("{:>2} ", i + 1);
            let line = format!("{number}{}", tail(&bar.label, width - number.len()));
            text(&root, KEY_X, top + 11 * i as i32, 1, ink, &line)?;
        }
    }
    root.present().map_err(|e| e.to_string())
}

/// The colour key: what green, amber and red bars mean (or green and red, when bars are
/// coloured by their own targets).
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    x: i32,
    y: i32,
    ink: RGBColor,
    verdicts: bool,
) -> Result<(), String> {
    let mut at = x;
    let by_percent = [(GOOD, "90% OR MORE"), (FAIR, "75-89%"), (POOR, "UNDER 75%")];
    let by_target = [(GOOD, "MEETS ITS TARGET"), (POOR, "MISSES ITS TARGET")];
    let keys: &[(RGBColor, &str)] = if verdicts { &by_target } else { &by_percent };
    for &(colour, meaning) in keys {
        area.draw(&Rectangle::new([(at, y), (at + 9, y + 8)], colour.filled()))
            .map_err(|e| e.to_string())?;
        text(area, at + 14, y + 1, 1, ink, meaning)?;
        at += 14 + 6 * meaning.len() as i32 + 18;
    }
    Ok(())
}

/// Keep the last `max` characters, marking a cut with `.` in front: the end
/// of a suite path is the part that tells suites apart.
fn tail(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let kept: String = text.chars().skip(count - max.saturating_sub(1)).collect();
    format!(".{kept}")
}

/// Keep at most `max` characters, marking a cut with `.`.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('.');
    s
}

/// Write `s` with the pixel font; each glyph cell is 6x8 pixels times `scale`.
fn text<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    x: i32,
    y: i32,
    scale: i32,
    colour: RGBColor,
    s: &str,
) -> Result<(), String> {
    for (i, ch) in s.chars().enumerate() {
        let rows = glyph(ch);
        let gx = x + i as i32 * 6 * scale;
        for (r, bits) in rows.iter().enumerate() {
            for c in 0..5 {
                if bits & (0b10000 >> c) != 0 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            area.draw_pixel(
                                (gx + c * scale + dx, y + r as i32 * scale + dy),
                                &colour,
                            )
                            .map_err(|e| e.to_string())?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// A 5x7 glyph, one row per byte (low 5 bits, leftmost pixel first).
/// Lower-case letters are drawn as capitals; unknown characters as `?`.
fn glyph(ch: char) -> [u8; 7] {
    match ch.to_ascii_uppercase() {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        ' ' => [0; 7],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        ',' => [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '+' => [0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0],
        '_' => [0, 0, 0, 0, 0, 0, 0x1F],
        '/' => [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '>' => [0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08],
        '#' => [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
        _ => [0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04],
    }
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, ToolError> {
    let mut out = Vec::new();
    let fail = |e: png::EncodingError| {
        ToolError::Zebrunner(zebrunner_client::Error::Other(format!(
            "the chart could not be encoded ({e}); call again with chart=none"
        )))
    };
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(fail)?;
        writer.write_image_data(rgb).map_err(fail)?;
        writer.finish().map_err(fail)?;
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Decode a PNG: (width, height, RGB pixels). Panics unless it is one.
    pub(crate) fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().expect("PNG header");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("PNG frame");
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    #[test]
    fn bars_make_a_decodable_png_of_the_announced_size() {
        let bars = vec![
            Bar {
                label: "Login".into(),
                percent: 95.0,
                passed: None,
            },
            Bar {
                label: "Checkout > Payments".into(),
                percent: 40.0,
                passed: None,
            },
        ];
        let png = percent_bars("Coverage DEMO", &bars).unwrap();
        let (w, h, pixels) = decode(&png);
        assert_eq!((w, h), (WIDTH, HEIGHT));
        // Green (>= 90 %) and red (< 75 %) bars are really drawn.
        let has = |rgb: [u8; 3]| pixels.chunks(3).any(|p| p == rgb);
        assert!(has([46, 160, 67]));
        assert!(has([210, 60, 50]));
        assert!(
            png.len() < 100_000,
            "charts stay small: {} bytes",
            png.len()
        );
    }

    /// Whether any pixel in the rectangle is dark (text or lines).
    pub(crate) fn ink_in(pixels: &[u8], x0: u32, y0: u32, x1: u32, y1: u32) -> bool {
        (y0..y1).any(|y| {
            (x0..x1).any(|x| {
                let i = ((y * WIDTH + x) * 3) as usize;
                pixels[i..i + 3].iter().all(|&c| c < 100)
            })
        })
    }

    #[test]
    fn labels_wrap_between_words_or_go_to_a_numbered_key() {
        assert_eq!(
            wrap("Password Reset", 10).unwrap(),
            vec!["Password", "Reset"]
        );
        assert!(wrap("Registration", 5).is_none());
        assert!(wrap("a b c d e", 1).is_none());
        assert_eq!(tail("Checkout > Payments > Cards", 12), ".nts > Cards");
        // Many bars: the key beside the plot names them; few: labels under bars.
        let many: Vec<Bar> = (0..24)
            .map(|i| Bar {
                label: format!("Checkout > Payments {i}"),
                percent: 50.0,
                passed: None,
            })
            .collect();
        let (_, _, pixels) = decode(&percent_bars("Many", &many).unwrap());
        assert!(
            ink_in(&pixels, KEY_X as u32, 56, WIDTH - 10, 70),
            "a key is drawn"
        );
        let few = vec![Bar {
            label: "Login".into(),
            percent: 95.0,
            passed: None,
        }];
        let (_, _, pixels) = decode(&percent_bars("Few", &few).unwrap());
        assert!(
            !ink_in(&pixels, KEY_X as u32, 56, WIDTH - 10, 70),
            "no key needed"
        );
    }

    #[test]
    fn the_legend_shows_each_colour() {
        let (_, _, pixels) = decode(&percent_bars("Legend", &[]).unwrap());
        for colour in [GOOD, FAIR, POOR] {
            let rgb = [colour.0, colour.1, colour.2];
            let found = (32..40).any(|y| {
                (0..WIDTH).any(|x| {
                    let i = ((y * WIDTH + x) * 3) as usize;
                    pixels[i..i + 3] == rgb
                })
            });
            assert!(found, "legend swatch {rgb:?}");
        }
    }

    #[test]
    fn bars_with_targets_are_coloured_by_them() {
        let bars = [
            Bar {
                label: "high but failing".into(),
                percent: 95.0,
                passed: Some(false),
            },
            Bar {
                label: "low but passing".into(),
                percent: 30.0,
                passed: Some(true),
            },
        ];
        let (_, _, pixels) = decode(&percent_bars("Targets", &bars).unwrap());
        let colour_at = |x: u32, y: u32| {
            let i = ((y * WIDTH + x) * 3) as usize;
            [pixels[i], pixels[i + 1], pixels[i + 2]]
        };
        // Just above the axis, in the middle of each bar's slot.
        let y = HEIGHT - 40;
        let slot = (WIDTH - 20 - 50) / 2;
        assert_eq!(colour_at(50 + slot / 2, y), [POOR.0, POOR.1, POOR.2]);
        assert_eq!(colour_at(50 + slot + slot / 2, y), [GOOD.0, GOOD.1, GOOD.2]);
        // No amber in the key: it speaks of targets, not percentages.
        let amber =
            (32..40).any(|y| (0..WIDTH).any(|x| colour_at(x, y) == [FAIR.0, FAIR.1, FAIR.2]));
        assert!(!amber);
    }

    #[test]
    fn empty_charts_still_render() {
        let (w, h, _) = decode(&percent_bars("Nothing", &[]).unwrap());
        assert_eq!((w, h), (WIDTH, HEIGHT));
    }

    #[test]
    fn glyphs_fall_back_to_a_question_mark() {
        assert_eq!(glyph('é'), glyph('?'));
        assert_eq!(glyph('a'), glyph('A'));
        assert_ne!(glyph('1'), glyph('7'));
    }
}
