//! Reading each text line found: cut it out of the photo upright (a perspective warp of its box),
//! turn it over when the line classifier says it is upside down (0/180°), and recognise it
//! (PP-OCR's CRNN, its output decoded greedily as CTC: the best class per step, repeats merged,
//! blanks dropped). Ported from the reference pipeline (RapidOCR's `get_rotate_crop_image`,
//! `TextClassifier`, `TextRecognizer`, `CTCLabelDecode`).

use image::{Rgb, RgbImage, imageops};
use imageproc::geometric_transformations::{Border, Interpolation, Projection, warp_into};

use super::detect::Quad;

/// The line classifier's input: 3 × 48 × 192; the recogniser's: 3 × 48 × (at least) 320.
pub const CLS_SHAPE: (u32, u32) = (48, 192);
pub const REC_SHAPE: (u32, u32) = (48, 320);
/// Lines per classifier run (the reference's batch).
pub const CLS_BATCH: usize = 6;
/// Lines per recogniser run: one, at its own width (a batch is as wide as its widest line). On
/// the dense timing photo's 25 lines (ONNX Runtime, 2 threads, 12 interleaved rounds), batches of
/// 6 as the reference runs them took 517 ms at best and 598 ms median, single lines 475 and 536,
/// batches of 2 or 3 about the same as single lines; the machine's noise was larger than that.
pub const REC_BATCH: usize = 1;
/// An upside-down verdict below this confidence is ignored.
pub const CLS_THRESH: f32 = 0.9;

/// The line inside `quad`, cut out straight (the reference's `get_rotate_crop_image`): as wide as
/// its longer top or bottom edge, as tall as its longer side edge; a line much taller than wide
/// (a vertical one) is turned a quarter to lie flat.
pub fn crop(image: &RgbImage, quad: &Quad) -> Option<RgbImage> {
    let d = |a: (f32, f32), b: (f32, f32)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
    let w = d(quad[0], quad[1]).max(d(quad[2], quad[3])) as u32;
    let h = d(quad[0], quad[3]).max(d(quad[1], quad[2])) as u32;
    if w == 0 || h == 0 {
        return None;
    }
    if let Some((x, y)) = level_origin(image, quad, (w, h)) {
        return Some(lie_flat(imageops::crop_imm(image, x, y, w, h).to_image()));
    }
    let to = [
        (0.0, 0.0),
        (w as f32, 0.0),
        (w as f32, h as f32),
        (0.0, h as f32),
    ];
    let projection = Projection::from_control_points(*quad, to)?;
    let mut out = RgbImage::new(w, h);
    warp_into(
        image,
        projection,
        Interpolation::Bicubic,
        Border::Replicate,
        &mut out,
    );
    Some(lie_flat(out))
}

/// Where `quad` starts when it is a level `w`×`h` rectangle on whole pixels inside `image`. Most
/// lines lie so, and the warp would sample exactly the pixels inside (bicubic weights at whole
/// positions are 1 and 0): [`crop`] copies them instead.
fn level_origin(image: &RgbImage, quad: &Quad, (w, h): (u32, u32)) -> Option<(u32, u32)> {
    let [(x0, y0), (x1, y1), (x2, y2), (x3, y3)] = *quad;
    let level = y0 == y1 && y3 == y2 && x0 == x3 && x1 == x2;
    let whole = x0 >= 0.0 && y0 >= 0.0 && x0.fract() == 0.0 && y0.fract() == 0.0;
    let (x, y) = (x0 as u32, y0 as u32);
    let fits = (x1 - x0) as u32 == w && (y3 - y0) as u32 == h;
    let inside = x + w <= image.width() && y + h <= image.height();
    (level && whole && fits && inside).then_some((x, y))
}

/// A line much taller than wide (a vertical one) turned a quarter to lie flat (np.rot90: counter-
/// clockwise).
fn lie_flat(line: RgbImage) -> RgbImage {
    let (w, h) = line.dimensions();
    if h as f32 / w as f32 >= 1.5 {
        imageops::rotate270(&line)
    } else {
        line
    }
}

/// One line resized to `height`, as wide as its aspect ratio asks up to `width`, normalised like
/// the detector's input (BGR, `(x / 255 − 0.5) / 0.5`) and padded with zeros to `width`: CHW.
pub fn normalized(line: &RgbImage, (height, width): (u32, u32)) -> Vec<f32> {
    let (w, h) = line.dimensions();
    let ratio = w as f32 / h as f32;
    let resized_w = ((height as f32 * ratio).ceil() as u32).clamp(1, width);
    let resized = imageops::resize(line, resized_w, height, imageops::FilterType::Triangle);
    let plane = (height * width) as usize;
    let mut out = vec![0f32; 3 * plane];
    for (x, y, Rgb(p)) in resized.enumerate_pixels() {
        let at = (y * width + x) as usize;
        for (c, value) in [p[2], p[1], p[0]].into_iter().enumerate() {
            out[c * plane + at] = (f32::from(value) / 255.0 - 0.5) / 0.5;
        }
    }
    out
}

/// Greedy CTC decoding of one line's `steps` × `classes` probabilities with `dictionary` (class 0
/// is the blank, class i > 0 is `dictionary[i - 1]`): the text and the mean probability of the
/// characters kept.
pub fn ctc_decode(probabilities: &[f32], classes: usize, dictionary: &[String]) -> (String, f32) {
    let mut text = String::new();
    let (mut sum, mut kept) = (0f32, 0u32);
    let mut previous = usize::MAX;
    for step in probabilities.chunks_exact(classes) {
        let (best, p) = step
            .iter()
            .copied()
            .enumerate()
            .fold((0, f32::MIN), |acc, (i, p)| if p > acc.1 { (i, p) } else { acc });
        if best != 0
            && best != previous
            && let Some(character) = dictionary.get(best - 1)
        {
            text.push_str(character);
            sum += p;
            kept += 1;
        }
        previous = best;
    }
    let score = if kept == 0 { 0.0 } else { sum / kept as f32 };
    (text, score)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctc_merges_repeats_drops_blanks_and_averages_what_it_keeps() {
        let dictionary: Vec<String> = ["a", "b", " "].iter().map(|s| s.to_string()).collect();
        // Steps: a a blank a b b (classes: blank, a, b, space).
        let p = |best: usize, value: f32| {
            let mut step = vec![0.01f32; 4];
            step[best] = value;
            step
        };
        let probs: Vec<f32> = [p(1, 0.9), p(1, 0.8), p(0, 0.9), p(1, 0.7), p(2, 0.6), p(2, 0.9)]
            .concat();
        let (text, score) = ctc_decode(&probs, 4, &dictionary);
        assert_eq!(text, "aab");
        assert!((score - (0.9 + 0.7 + 0.6) / 3.0).abs() < 1e-6, "{score}");
        assert_eq!(ctc_decode(&p(0, 0.9), 4, &dictionary).0, "");
    }

    #[test]
    fn a_tilted_box_is_cut_out_straight_and_a_tall_one_lies_flat() {
        let mut image = RgbImage::from_pixel(100, 100, Rgb([255, 255, 255]));
        for x in 20..80 {
            for y in 40..50 {
                image.put_pixel(x, y, Rgb([0, 0, 0]));
            }
        }
        let flat = crop(&image, &[(20.0, 40.0), (80.0, 40.0), (80.0, 50.0), (20.0, 50.0)])
            .expect("a line");
        assert_eq!(flat.dimensions(), (60, 10));
        assert!(flat.get_pixel(30, 5)[0] < 50, "the line's own pixels");
        let tall = crop(&image, &[(40.0, 10.0), (50.0, 10.0), (50.0, 90.0), (40.0, 90.0)])
            .expect("a line");
        assert_eq!(tall.dimensions(), (80, 10), "turned to lie flat");
    }

    #[test]
    fn a_level_box_is_copied_as_the_warp_would_sample_it() {
        // Noise, so any shift or blur of a pixel shows.
        let mut seed = 7u32;
        let image = RgbImage::from_fn(64, 48, |_, _| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let b = seed.to_le_bytes();
            Rgb([b[1], b[2], b[3]])
        });
        for quad in [
            [(5.0, 7.0), (45.0, 7.0), (45.0, 19.0), (5.0, 19.0)],
            [(0.0, 0.0), (63.0, 0.0), (63.0, 47.0), (0.0, 47.0)],
            [(20.0, 2.0), (28.0, 2.0), (28.0, 40.0), (20.0, 40.0)], // tall: turned
        ] {
            let copied = crop(&image, &quad).expect("a line");
            let (w, h) = ((quad[1].0 - quad[0].0) as u32, (quad[3].1 - quad[0].1) as u32);
            let mut warped = RgbImage::new(w, h);
            let to = [(0.0, 0.0), (w as f32, 0.0), (w as f32, h as f32), (0.0, h as f32)];
            let projection = Projection::from_control_points(quad, to).expect("a projection");
            warp_into(&image, projection, Interpolation::Bicubic, Border::Replicate, &mut warped);
            assert_eq!(copied, lie_flat(warped), "{quad:?}");
        }
    }

    #[test]
    fn a_line_is_normalised_and_padded_to_the_width() {
        let line = RgbImage::from_pixel(20, 10, Rgb([255, 0, 0]));
        let t = normalized(&line, (48, 320));
        assert_eq!(t.len(), 3 * 48 * 320);
        // BGR: the first plane is blue (0 → -1), the last red (255 → 1); padding is 0.
        assert!((t[0] + 1.0).abs() < 1e-6 && (t[2 * 48 * 320] - 1.0).abs() < 1e-6);
        assert_eq!(t[319], 0.0, "96 px of line, then padding");
    }
}
