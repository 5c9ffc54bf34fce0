//! Screenshots as MCP image blocks: a PNG from Zebrunner decoded (within
//! memory limits, since the bytes are untrusted), downscaled with a box
//! filter so its longest side fits, and encoded again as an RGB PNG.

use base64::Engine as _;
use rmcp::model::ContentBlock;

/// Memory a decoder may use for one image (a 4K RGBA frame is 33 MB).
const DECODE_LIMIT_BYTES: usize = 64 * 1024 * 1024;

/// A screenshot ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub original_width: u32,
    pub original_height: u32,
}

impl Prepared {
    pub fn block(&self) -> ContentBlock {
        ContentBlock::image(
            base64::engine::general_purpose::STANDARD.encode(&self.png),
            "image/png",
        )
    }
}

/// Whether `bytes` start like a PNG file.
pub fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
}

/// Decodes a PNG and scales it so that neither side exceeds `max_side`
/// (never enlarged). Errors say what is wrong with the file.
pub fn downscale_png(bytes: &[u8], max_side: u32) -> Result<Prepared, String> {
    let mut decoder = png::Decoder::new_with_limits(
        std::io::Cursor::new(bytes),
        png::Limits {
            bytes: DECODE_LIMIT_BYTES,
        },
    );
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("not a readable PNG ({e})"))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("not a readable PNG ({e})"))?;
    let (w, h) = (frame.width, frame.height);
    if w == 0 || h == 0 {
        return Err("the PNG has no pixels".into());
    }
    let channels = match frame.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err("an indexed PNG that did not expand".into()),
    };
    let rgb = to_rgb(&buf[..frame.buffer_size()], channels, frame.line_size, w, h);
    let scale = (f64::from(max_side.max(1)) / f64::from(w.max(h))).min(1.0);
    let nw = ((f64::from(w) * scale).round() as u32).max(1);
    let nh = ((f64::from(h) * scale).round() as u32).max(1);
    let scaled = if (nw, nh) == (w, h) {
        rgb
    } else {
        box_filter(&rgb, w, h, nw, nh)
    };
    Ok(Prepared {
        png: encode(&scaled, nw, nh)?,
        width: nw,
        height: nh,
        original_width: w,
        original_height: h,
    })
}

/// 8-bit pixels of 1 to 4 channels as RGB, alpha composited over white.
fn to_rgb(buf: &[u8], channels: usize, line: usize, w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for row in buf.chunks(line).take(h as usize) {
        for px in row.chunks(channels).take(w as usize) {
            let (rgb, alpha) = match *px {
                [g] => ([g, g, g], 255),
                [g, a] => ([g, g, g], a),
                [r, g, b] => ([r, g, b], 255),
                [r, g, b, a] => ([r, g, b], a),
                _ => ([255, 255, 255], 255),
            };
            let a = u32::from(alpha);
            out.extend(rgb.map(|c| ((u32::from(c) * a + 255 * (255 - a)) / 255) as u8));
        }
    }
    out
}

/// Each target pixel is the mean of the source pixels it covers.
fn box_filter(rgb: &[u8], w: u32, h: u32, nw: u32, nh: u32) -> Vec<u8> {
    let (w, h, nw, nh) = (w as usize, h as usize, nw as usize, nh as usize);
    let mut out = Vec::with_capacity(nw * nh * 3);
    for ty in 0..nh {
        let y0 = ty * h / nh;
        let y1 = ((ty + 1) * h / nh).max(y0 + 1).min(h);
        for tx in 0..nw {
            let x0 = tx * w / nw;
            let x1 = ((tx + 1) * w / nw).max(x0 + 1).min(w);
            let mut sum = [0u64; 3];
            for y in y0..y1 {
                for x in x0..x1 {
                    let i = (y * w + x) * 3;
                    for (c, s) in sum.iter_mut().enumerate() {
                        *s += u64::from(rgb[i + c]);
                    }
                }
            }
            let n = ((y1 - y0) * (x1 - x0)) as u64;
            out.extend(sum.map(|s| (s / n) as u8));
        }
    }
    out
}

fn encode(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, String> {
    let fail = |e: png::EncodingError| format!("could not encode the screenshot: {e}");
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    let mut writer = encoder.write_header().map_err(fail)?;
    writer.write_image_data(rgb).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_of(w: u32, h: u32, color: png::ColorType, px: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(color);
        e.set_depth(png::BitDepth::Eight);
        let mut wr = e.write_header().unwrap();
        wr.write_image_data(px).unwrap();
        wr.finish().unwrap();
        out
    }

    #[test]
    fn downscales_to_the_longest_side_and_keeps_colour() {
        let (w, h) = (400, 200);
        let px: Vec<u8> = (0..w * h).flat_map(|_| [200u8, 10, 10]).collect();
        let p = downscale_png(&png_of(w, h, png::ColorType::Rgb, &px), 100).unwrap();
        assert_eq!((p.width, p.height, p.original_width), (100, 50, 400));
        let back = png::Decoder::new(std::io::Cursor::new(&p.png));
        let mut r = back.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        r.next_frame(&mut buf).unwrap();
        assert_eq!(&buf[..3], &[200, 10, 10]);
    }

    #[test]
    fn small_images_are_not_enlarged_and_alpha_goes_over_white() {
        let px = [0u8, 0, 0, 0, 0, 0, 0, 255];
        let p = downscale_png(&png_of(2, 1, png::ColorType::Rgba, &px), 640).unwrap();
        assert_eq!((p.width, p.height), (2, 1));
        let mut r = png::Decoder::new(std::io::Cursor::new(&p.png))
            .read_info()
            .unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        r.next_frame(&mut buf).unwrap();
        assert_eq!(&buf[..6], &[255, 255, 255, 0, 0, 0]);
    }

    #[test]
    fn garbage_is_refused_not_a_panic() {
        assert!(downscale_png(b"\x89PNG\r\n\x1a\nnot really", 100).is_err());
        assert!(downscale_png(b"", 100).is_err());
        assert!(!is_png(b"GIF89a"));
    }
}
