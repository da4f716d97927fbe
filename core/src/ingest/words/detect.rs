//! Finding the text lines in a photo: PP-OCR's DB detector, its post-processing ported from the
//! reference pipeline (PaddleOCR's `DBPostProcess`, as RapidOCR ships it): threshold the
//! probability map, dilate it (2×2), follow the borders of its regions, a minimum-area rectangle
//! around each, scored by the mean probability inside, grown ("unclipped") by
//! `area × ratio / perimeter`, then mapped back to the image and sorted in reading order.
//!
//! Geometry comes from imageproc (contours, minimum-area rectangles, the perspective warp that
//! cuts each line out). The reference grows each box with a polygon offset (Clipper, round
//! joins); the box is a rectangle, and the minimum-area rectangle around a rectangle offset with
//! round joins is that rectangle with each side moved out by the distance: exact, so no polygon
//! library is needed for it.

use image::{GrayImage, Luma, RgbImage};
use imageproc::contours::find_contours;
use imageproc::geometry::min_area_rect;
use imageproc::point::Point;

/// The detector's post-processing constants (the reference's `config.yaml`, `Det`).
#[derive(Debug, Clone, Copy)]
pub struct DetectSettings {
    /// A pixel of the probability map above this is text.
    pub thresh: f32,
    /// A region whose mean probability is below this is dropped.
    pub box_thresh: f32,
    /// How much a region's box is grown (`area × ratio / perimeter` on each side).
    pub unclip_ratio: f32,
    /// At most this many regions are looked at.
    pub max_candidates: usize,
}

impl Default for DetectSettings {
    fn default() -> Self {
        Self {
            thresh: 0.3,
            box_thresh: 0.5,
            unclip_ratio: 1.6,
            max_candidates: 1000,
        }
    }
}

/// A text line's box in image coordinates: top-left, top-right, bottom-right, bottom-left.
pub type Quad = [(f32, f32); 4];

/// The detector's input size for an image of `width`×`height`: scaled so that its short side is
/// at least `min_side` (`limit_type: min`) and its long side at most `max_side`, each side a
/// multiple of 32 (what the network needs).
pub fn input_size(width: u32, height: u32, min_side: u32, max_side: u32) -> (u32, u32) {
    let (w, h) = (width as f32, height as f32);
    let mut ratio = 1.0f32;
    if w.min(h) < min_side as f32 {
        ratio = min_side as f32 / w.min(h);
    }
    if w.max(h) * ratio > max_side as f32 {
        ratio = max_side as f32 / w.max(h);
    }
    // Python's round (ties to even), as the reference rounds.
    let round32 =
        |v: f32| ((((v * ratio) as u32) as f32 / 32.0).round_ties_even() as u32 * 32).max(32);
    (round32(w), round32(h))
}

/// NCHW input of the detector: BGR, `(x / 255 − 0.5) / 0.5`.
pub fn tensor(image: &RgbImage) -> Vec<f32> {
    let (w, h) = image.dimensions();
    let plane = (w * h) as usize;
    let mut out = vec![0f32; 3 * plane];
    for (i, p) in image.pixels().enumerate() {
        // BGR: the models were trained on OpenCV's channel order.
        for (c, value) in [p[2], p[1], p[0]].into_iter().enumerate() {
            out[c * plane + i] = (f32::from(value) / 255.0 - 0.5) / 0.5;
        }
    }
    out
}

/// The boxes of the text lines in a `map_w`×`map_h` probability map, in the coordinates of an
/// image of `image_w`×`image_h`, in reading order, with their scores.
pub fn boxes(
    map: &[f32],
    (map_w, map_h): (u32, u32),
    (image_w, image_h): (u32, u32),
    settings: &DetectSettings,
) -> Vec<(Quad, f32)> {
    let mut mask = GrayImage::new(map_w, map_h);
    for (i, &p) in map.iter().enumerate() {
        if p > settings.thresh {
            mask.put_pixel(i as u32 % map_w, i as u32 / map_w, Luma([255]));
        }
    }
    let mask = dilate_2x2(&mask);
    let mut found = Vec::new();
    for contour in find_contours::<i32>(&mask)
        .into_iter()
        .take(settings.max_candidates)
    {
        if contour.points.is_empty() {
            continue;
        }
        let rect = to_f32(min_area_rect(&contour.points));
        if short_side(&rect) < MIN_SIZE {
            continue;
        }
        let score = mean_inside(map, (map_w, map_h), &rect);
        if score < settings.box_thresh {
            continue;
        }
        let grown = unclip(&rect, settings.unclip_ratio);
        if short_side(&grown) < MIN_SIZE + 2.0 {
            continue;
        }
        let scale = |(x, y): (f32, f32)| {
            (
                (x / map_w as f32 * image_w as f32)
                    .round()
                    .clamp(0.0, image_w as f32),
                (y / map_h as f32 * image_h as f32)
                    .round()
                    .clamp(0.0, image_h as f32),
            )
        };
        let quad = clockwise(grown.map(scale)).map(|(x, y)| {
            (
                x.clamp(0.0, image_w as f32 - 1.0).trunc(),
                y.clamp(0.0, image_h as f32 - 1.0).trunc(),
            )
        });
        if distance(quad[0], quad[1]) as i32 <= 3 || distance(quad[0], quad[3]) as i32 <= 3 {
            continue;
        }
        found.push((quad, score));
    }
    reading_order(found)
}

/// Regions narrower than this (in map pixels) are noise.
const MIN_SIZE: f32 = 3.0;

/// OpenCV's `dilate` with a 2×2 kernel of ones (anchor at its centre): a pixel is set when it or
/// its left, upper or upper-left neighbour is.
fn dilate_2x2(mask: &GrayImage) -> GrayImage {
    let (w, h) = mask.dimensions();
    let mut out = GrayImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let set = |dx: u32, dy: u32| {
                x >= dx && y >= dy && mask.get_pixel(x - dx, y - dy)[0] > 0
            };
            if set(0, 0) || set(1, 0) || set(0, 1) || set(1, 1) {
                out.put_pixel(x, y, Luma([255]));
            }
        }
    }
    out
}

fn to_f32(rect: [Point<i32>; 4]) -> Quad {
    rect.map(|p| (p.x as f32, p.y as f32))
}

fn distance(a: (f32, f32), b: (f32, f32)) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

fn short_side(rect: &Quad) -> f32 {
    distance(rect[0], rect[1]).min(distance(rect[1], rect[2]))
}

/// The rectangle with each side moved out by `area × ratio / perimeter` (see the module doc).
/// Its corners come in order (top left, top right, bottom right, bottom left, as
/// `min_area_rect` gives them), so each corner's way out is known from its place: away along
/// the top edge's direction and along the perpendicular to it (the corners, rounded to whole
/// pixels, are only nearly a rectangle: its own side edges would tilt a thin line's box).
fn unclip(rect: &Quad, ratio: f32) -> Quad {
    let (w, h) = (distance(rect[0], rect[1]), distance(rect[1], rect[2]));
    if w <= 0.0 || h <= 0.0 {
        return *rect;
    }
    let d = w * h * ratio / (2.0 * (w + h));
    let along_w = ((rect[1].0 - rect[0].0) / w, (rect[1].1 - rect[0].1) / w);
    // Perpendicular, pointing from the top edge to the bottom one.
    let mut along_h = (-along_w.1, along_w.0);
    let down = (rect[3].0 - rect[0].0, rect[3].1 - rect[0].1);
    if down.0 * along_h.0 + down.1 * along_h.1 < 0.0 {
        along_h = (-along_h.0, -along_h.1);
    }
    let signs = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)];
    let mut out = *rect;
    for (p, (sw, sh)) in out.iter_mut().zip(signs) {
        p.0 += sw * d * along_w.0 + sh * d * along_h.0;
        p.1 += sw * d * along_w.1 + sh * d * along_h.1;
    }
    out
}

/// The mean of the probability map inside `rect` (the reference's `box_score_fast`).
fn mean_inside(map: &[f32], (w, h): (u32, u32), rect: &Quad) -> f32 {
    let clamp = |v: f32, hi: u32| (v.max(0.0) as u32).min(hi - 1);
    let xs = rect.iter().map(|p| p.0);
    let ys = rect.iter().map(|p| p.1);
    let x0 = clamp(xs.clone().fold(f32::MAX, f32::min).floor(), w);
    let x1 = clamp(xs.fold(f32::MIN, f32::max).ceil(), w);
    let y0 = clamp(ys.clone().fold(f32::MAX, f32::min).floor(), h);
    let y1 = clamp(ys.fold(f32::MIN, f32::max).ceil(), h);
    let (mut sum, mut n) = (0f64, 0u32);
    for y in y0..=y1 {
        for x in x0..=x1 {
            if inside(rect, (x as f32, y as f32)) {
                sum += f64::from(map[(y * w + x) as usize]);
                n += 1;
            }
        }
    }
    if n == 0 { 0.0 } else { (sum / f64::from(n)) as f32 }
}

/// Whether `p` lies in the convex quadrilateral `quad` (its edge included).
fn inside(quad: &Quad, p: (f32, f32)) -> bool {
    let mut sign = 0f32;
    for i in 0..4 {
        let (a, b) = (quad[i], quad[(i + 1) % 4]);
        let cross = (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0);
        if cross.abs() < 1e-3 {
            continue;
        }
        if sign == 0.0 {
            sign = cross.signum();
        } else if cross.signum() != sign {
            return false;
        }
    }
    true
}

/// Top-left, top-right, bottom-right, bottom-left (the reference's `order_points_clockwise`).
fn clockwise(points: Quad) -> Quad {
    let mut by_x = points;
    by_x.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut left, mut right) = ([by_x[0], by_x[1]], [by_x[2], by_x[3]]);
    left.sort_by(|a, b| a.1.total_cmp(&b.1));
    right.sort_by(|a, b| a.1.total_cmp(&b.1));
    [left[0], right[0], right[1], left[1]]
}

/// Top to bottom, left to right within a line (boxes whose tops are within 10 px are one line):
/// the reference's `sorted_boxes`.
fn reading_order(mut boxes: Vec<(Quad, f32)>) -> Vec<(Quad, f32)> {
    boxes.sort_by(|a, b| {
        a.0[0]
            .1
            .total_cmp(&b.0[0].1)
            .then(a.0[0].0.total_cmp(&b.0[0].0))
    });
    for i in 0..boxes.len().saturating_sub(1) {
        for j in (0..=i).rev() {
            let (this, next) = (boxes[j].0[0], boxes[j + 1].0[0]);
            if (next.1 - this.1).abs() < 10.0 && next.0 < this.0 {
                boxes.swap(j, j + 1);
            } else {
                break;
            }
        }
    }
    boxes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_is_a_multiple_of_32_within_its_limits() {
        assert_eq!(input_size(4000, 3000, 736, 2000), (1984, 1504));
        assert_eq!(input_size(100, 50, 736, 2000), (1472, 736));
        assert_eq!(input_size(800, 600, 0, 640), (640, 480));
    }

    #[test]
    fn a_grown_rectangle_keeps_its_centre_and_gains_the_distance_on_each_side() {
        let rect: Quad = [(10.0, 10.0), (50.0, 10.0), (50.0, 20.0), (10.0, 20.0)];
        let grown = unclip(&rect, 1.6);
        // 40 × 10: d = 400 × 1.6 / 100 = 6.4.
        let d = 6.4;
        let want = [
            (10.0 - d, 10.0 - d),
            (50.0 + d, 10.0 - d),
            (50.0 + d, 20.0 + d),
            (10.0 - d, 20.0 + d),
        ];
        for (g, w) in grown.iter().zip(want) {
            assert!((g.0 - w.0).abs() < 1e-4 && (g.1 - w.1).abs() < 1e-4, "{grown:?}");
        }
    }

    #[test]
    fn a_slightly_tilted_line_grows_on_every_side() {
        // min_area_rect's corners for a long thin line tilted by 2 px over 526 (measured on a
        // screenshot): rounded to whole pixels, its side edges lean 1 px, not 0.06.
        let rect: Quad = [(325.0, 401.0), (851.0, 403.0), (850.0, 419.0), (324.0, 417.0)];
        let grown = unclip(&rect, 1.6);
        assert!(grown[0].1 < 401.0 && grown[1].1 < 403.0, "the top goes up: {grown:?}");
        assert!(grown[2].1 > 419.0 && grown[3].1 > 417.0, "the bottom goes down: {grown:?}");
        assert!(grown[0].0 < 325.0 && grown[1].0 > 851.0, "the ends go out: {grown:?}");
    }

    #[test]
    fn a_bright_bar_in_the_map_is_one_box_around_it_in_the_image() {
        // A 64×32 map with a bar of 0.9 from x 8..40, y 12..18; the image is twice the size.
        let (w, h) = (64u32, 32u32);
        let mut map = vec![0.0f32; (w * h) as usize];
        for y in 12..18 {
            for x in 8..40 {
                map[(y * w + x) as usize] = 0.9;
            }
        }
        let found = boxes(&map, (w, h), (128, 64), &DetectSettings::default());
        assert_eq!(found.len(), 1, "{found:?}");
        let (quad, score) = found[0];
        // The dilated region is a pixel wider and taller than the bar: its mean is 0.9 × 192 / 231.
        assert!((score - 0.748).abs() < 0.01, "{score}");
        // Grown around the bar, in image coordinates (×2).
        assert!(quad[0].0 < 16.0 && quad[1].0 > 78.0, "{quad:?}");
        assert!(quad[0].1 < 24.0 && quad[2].1 > 34.0, "{quad:?}");
    }

    #[test]
    fn lines_read_top_to_bottom_and_left_to_right() {
        let at = |x: f32, y: f32| -> (Quad, f32) {
            ([(x, y), (x + 5.0, y), (x + 5.0, y + 5.0), (x, y + 5.0)], 1.0)
        };
        let sorted = reading_order(vec![at(50.0, 12.0), at(0.0, 100.0), at(0.0, 10.0)]);
        let xs: Vec<(f32, f32)> = sorted.iter().map(|b| b.0[0]).collect();
        assert_eq!(xs, [(0.0, 10.0), (50.0, 12.0), (0.0, 100.0)]);
    }
}
