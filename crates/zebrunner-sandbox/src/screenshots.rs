//! Screenshots the sandbox draws itself: a browser window at 1280x800 with
//! the shop's header, product cards laid out by the test's name, and, on the
//! screenshot of a failure, a red error banner and the failing card outlined.
//! Flat colours keep a PNG at a few kilobytes; the same test and number give
//! the same bytes.

use crate::seed::fnv;

pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 800;

struct Canvas {
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(background: [u8; 3]) -> Self {
        let mut rgb = Vec::with_capacity((WIDTH * HEIGHT * 3) as usize);
        for _ in 0..WIDTH * HEIGHT {
            rgb.extend_from_slice(&background);
        }
        Canvas { rgb }
    }

    /// Fills the rectangle `x..x+w`, `y..y+h`, clipped to the canvas.
    fn rect(&mut self, x: u32, y: u32, w: u32, h: u32, colour: [u8; 3]) {
        for row in y..(y + h).min(HEIGHT) {
            for col in x..(x + w).min(WIDTH) {
                let i = ((row * WIDTH + col) * 3) as usize;
                self.rgb[i..i + 3].copy_from_slice(&colour);
            }
        }
    }

    fn outline(&mut self, x: u32, y: u32, w: u32, h: u32, thick: u32, colour: [u8; 3]) {
        self.rect(x, y, w, thick, colour);
        self.rect(x, (y + h).saturating_sub(thick), w, thick, colour);
        self.rect(x, y, thick, h, colour);
        self.rect((x + w).saturating_sub(thick), y, thick, h, colour);
    }
}

fn hue(seed: i64) -> [u8; 3] {
    const PALETTE: [[u8; 3]; 6] = [
        [52, 101, 164],
        [78, 154, 6],
        [196, 160, 0],
        [117, 80, 123],
        [206, 92, 0],
        [6, 152, 154],
    ];
    PALETTE[seed.rem_euclid(PALETTE.len() as i64) as usize]
}

/// Screenshot `n` of a test named `test_name` in a launch named
/// `launch_name`; `failure` draws the error state. PNG bytes.
pub fn draw(
    launch_name: &str,
    test_name: &str,
    n: usize,
    failure: bool,
) -> Result<Vec<u8>, String> {
    let mut c = Canvas::new([250, 250, 250]);
    // Window chrome: title bar, address bar, brand header.
    c.rect(0, 0, WIDTH, 36, [60, 60, 64]);
    for (i, colour) in [[237, 106, 94], [245, 191, 79], [98, 197, 84]]
        .into_iter()
        .enumerate()
    {
        c.rect(14 + i as u32 * 22, 12, 12, 12, colour);
    }
    c.rect(0, 36, WIDTH, 44, [228, 228, 232]);
    c.rect(120, 46, 760, 24, [255, 255, 255]);
    let brand = hue(fnv(launch_name));
    c.rect(0, 80, WIDTH, 64, brand);
    c.rect(32, 96, 160, 32, [255, 255, 255]);
    // Content: cards laid out by the test, shifted by the step shown.
    let layout = fnv(test_name);
    let columns = 3 + layout.rem_euclid(2) as u32;
    let card_w = (WIDTH - 64 - (columns - 1) * 24) / columns;
    let accent = hue(layout + n as i64);
    let failing_card = (layout.rem_euclid(columns as i64 * 2)) as u32;
    let top = if failure { 232 } else { 176 };
    for i in 0..columns * 2 {
        let x = 32 + (i % columns) * (card_w + 24);
        let y = top + (i / columns) * 260;
        c.rect(x, y, card_w, 236, [255, 255, 255]);
        c.outline(x, y, card_w, 236, 1, [210, 210, 214]);
        c.rect(x + 16, y + 16, card_w - 32, 120, accent);
        let bar = (card_w - 32) * (3 + ((layout + i64::from(i)).rem_euclid(5)) as u32) / 8;
        c.rect(x + 16, y + 152, bar, 14, [120, 120, 128]);
        c.rect(x + 16, y + 180, (card_w - 32) / 3, 28, brand);
        if failure && i == failing_card {
            c.outline(x, y, card_w, 236, 4, [204, 0, 0]);
        }
    }
    if failure {
        c.rect(32, 164, WIDTH - 64, 48, [253, 226, 226]);
        c.outline(32, 164, WIDTH - 64, 48, 2, [204, 0, 0]);
        c.rect(48, 180, 16, 16, [204, 0, 0]);
        c.rect(80, 182, 420, 12, [160, 0, 0]);
    }
    encode(&c.rgb)
}

fn encode(rgb: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Flat colours: the `Up` filter turns repeated rows into zeros.
    encoder.set_compression(png::Compression::Best);
    encoder.set_filter(png::FilterType::Up);
    let mut writer = encoder
        .write_header()
        .map_err(|e| format!("PNG header: {e}"))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| format!("PNG data: {e}"))?;
    writer.finish().map_err(|e| format!("PNG end: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screenshots_are_small_deterministic_pngs() {
        let a = draw("Web Smoke", "addProductToCart", 1, false).unwrap();
        let b = draw("Web Smoke", "addProductToCart", 1, false).unwrap();
        let failure = draw("Web Smoke", "addProductToCart", 4, true).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, failure);
        assert_eq!(&a[..8], b"\x89PNG\r\n\x1a\n");
        assert!(a.len() < 40_000, "{} bytes", a.len());
        let decoder = png::Decoder::new(std::io::Cursor::new(&failure));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (WIDTH, HEIGHT));
    }
}
