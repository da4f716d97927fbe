//! Every photo a phone or a camera makes: HEIC (grid-tiled, rotated, 10-bit, alpha), AVIF,
//! JPEG XL and camera RAW (DNG made here by rawler's writer), decoded upright with their dates,
//! and found by a query exactly as the same pictures saved as PNG.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use clipstream_core::ingest::decode;
use clipstream_core::{Library, Model, Options, Request};
use image::RgbImage;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("core/ lives in the repo root")
        .to_path_buf()
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/formats").join(name)
}

fn shape(name: &str) -> PathBuf {
    repo().join("tests/fixtures/shapes").join(name)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A DNG as a camera converter writes it: the picture as linear RGB sensor data, and, if asked,
/// a JPEG preview of it (rawler's DNG writer, dnglab's).
fn dng(picture: &RgbImage, with_preview: bool) -> Vec<u8> {
    use rawler::dng::writer::DngWriter;
    use rawler::dng::{DNG_VERSION_V1_4, DngCompression};
    let mut out = Cursor::new(Vec::new());
    let mut dng = DngWriter::new(&mut out, DNG_VERSION_V1_4).expect("writer");
    let mut raw = dng.subframe(0);
    raw.rgb_image_u8(
        picture.as_raw(),
        picture.width() as usize,
        picture.height() as usize,
        DngCompression::Uncompressed,
        1,
    )
    .expect("raw data");
    raw.finalize().expect("raw frame");
    if with_preview {
        let mut preview = dng.subframe(1);
        preview
            .preview(&image::DynamicImage::ImageRgb8(picture.clone()), 0.95)
            .expect("preview");
        preview.finalize().expect("preview frame");
    }
    dng.close().expect("closes");
    out.into_inner()
}

/// Mean absolute difference per channel value, in 8-bit levels, of two same-size pictures.
fn mean_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum::<f64>()
        / a.as_raw().len() as f64
}

/// What the app shows: the upright picture scaled to fit 320 px.
fn shown(bytes: &[u8]) -> RgbImage {
    decode::decode_to_fit(bytes, 320, decode::DEFAULT_MAX_PIXELS).expect("decodes")
}

#[test]
fn a_phone_heic_decodes_upright_once_with_its_date() {
    // A grid of 12 HEVC tiles, stored sideways with an irot transform and an EXIF orientation
    // that must not be applied a second time.
    let heic = read(&fixture("iphone-like.heic"));
    let decoded = decode::decode(&heic, 224, decode::DEFAULT_MAX_PIXELS).expect("decodes");
    assert_eq!(decoded.format, decode::Format::Heic);
    assert_eq!(
        (decoded.width, decoded.height),
        (768, 1024),
        "upright: portrait"
    );
    assert_eq!(
        decoded.taken_at,
        Some(clipstream_core::date::day_start("2021-06-15").expect("day") + 14 * 3600 + 30 * 60)
    );
    let upright = shown(&read(&fixture("iphone-like-upright.png")));
    let diff = mean_diff(&shown(&heic), &upright);
    assert!(
        diff < 4.0,
        "differs from the upright original by {diff:.1} levels"
    );
}

#[test]
fn ten_bit_and_transparent_heic_and_avif_and_jxl_look_like_their_originals() {
    for (file, original, limit) in [
        ("deep-10bit.heic", fixture("deep-10bit.png"), 3.0),
        ("shape-00000.avif", shape("00000.png"), 4.0),
        ("shape-00000.jxl", shape("00000.png"), 3.0),
        ("shape-00000.heic", shape("00000.png"), 4.0),
    ] {
        let diff = mean_diff(&shown(&read(&fixture(file))), &shown(&read(&original)));
        assert!(diff < limit, "{file}: {diff:.2} levels from its original");
    }
    // Transparency over white, as a viewer shows it.
    let alpha = shown(&read(&fixture("alpha.heic")));
    let right = *alpha.get_pixel(alpha.width() - 10, alpha.height() / 2);
    assert!(
        right.0.iter().all(|&c| c > 240),
        "transparent half {right:?}"
    );
    let left = *alpha.get_pixel(10, alpha.height() / 2);
    assert!(
        left.0[2] > 150 && left.0[0] < 100,
        "opaque blue edge {left:?}"
    );
}

#[test]
fn a_raw_is_indexed_by_its_preview_or_skipped_saying_why() {
    let picture = image::open(shape("00000.png")).expect("shape").to_rgb8();
    let decoded =
        decode::decode(&dng(&picture, true), 64, decode::DEFAULT_MAX_PIXELS).expect("decodes");
    assert_eq!(decoded.format, decode::Format::Raw);
    assert_eq!((decoded.width, decoded.height), picture.dimensions());
    // A big RAW without a preview: nothing fit to show without developing it.
    let big = image::imageops::resize(&picture, 1200, 1170, image::imageops::FilterType::Triangle);
    let err =
        decode::decode(&dng(&big, false), 64, decode::DEFAULT_MAX_PIXELS).expect_err("no preview");
    assert!(
        err.0.contains("without an embedded preview") && err.0.contains("developing RAW files"),
        "{err}"
    );
}

fn open(dir: &Path) -> Library {
    let model = Model::open(repo().join("models/tiny-clip")).expect("test model");
    Library::open(dir, Some(&model), Options::default()).expect("opens")
}

/// Every result's file name and score for `query`, best first.
fn ranks(library: &Library, query: &str) -> Vec<(String, f32)> {
    let mut request = Request::new(query, 1000);
    request.all = true;
    library
        .search(&request)
        .expect("searches")
        .hits
        .into_iter()
        .map(|h| {
            let name = h
                .path
                .file_stem()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, h.score)
        })
        .collect()
}

#[test]
fn shapes_saved_in_every_format_are_found_as_their_png_twins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let twins = ["00000", "00006", "00012", "00300", "00900"];
    // The same gallery of 60 shapes in each folder; the five twins in PNG in one, another
    // format in each of the others.
    let gallery: Vec<String> = (0..60).map(|i| format!("{:05}", 1000 + i * 7)).collect();
    let folders: Vec<(&str, PathBuf)> = ["png", "heic", "avif", "jxl", "dng"]
        .into_iter()
        .map(|ext| (ext, dir.path().join(ext)))
        .collect();
    for (ext, folder) in &folders {
        std::fs::create_dir_all(folder).expect("mkdir");
        for name in &gallery {
            std::fs::copy(
                shape(&format!("{name}.png")),
                folder.join(format!("{name}.png")),
            )
            .expect("copy");
        }
        for name in twins {
            let target = folder.join(format!("s{name}.{ext}"));
            match *ext {
                "png" => std::fs::copy(shape(&format!("{name}.png")), &target).map(|_| ()),
                "dng" => {
                    let picture = image::open(shape(&format!("{name}.png"))).expect("shape");
                    std::fs::write(&target, dng(&picture.to_rgb8(), true))
                }
                _ => std::fs::copy(fixture(&format!("shape-{name}.{ext}")), &target).map(|_| ()),
            }
            .expect("write twin");
        }
    }
    let mut reference = None;
    for (ext, folder) in &folders {
        let library = open(&dir.path().join(format!("library-{ext}")));
        library.add_folder(folder).expect("adds");
        let report = library
            .index(&mut |_| {}, &AtomicBool::new(false))
            .expect("indexes");
        assert_eq!((report.added, report.skipped), (65, 0), "{ext}: {report:?}");
        let found = ranks(&library, "a red circle");
        let positions: Vec<usize> = twins
            .iter()
            .map(|t| {
                found
                    .iter()
                    .position(|(n, _)| n == &format!("s{t}"))
                    .expect("found")
            })
            .collect();
        eprintln!("{ext}: ranks of the five twins for \"a red circle\": {positions:?}");
        match &reference {
            None => reference = Some((positions, library)),
            Some((want, png)) => {
                assert_eq!(&positions, want, "{ext}: ranks differ from the PNG twins'");
                for t in twins {
                    let a = png
                        .image_embedding(&dir.path().join("png").join(format!("s{t}.png")))
                        .expect("embeds");
                    let b = library
                        .image_embedding(&folder.join(format!("s{t}.{ext}")))
                        .expect("embeds");
                    let cos: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
                    assert!(cos >= 0.99, "{ext} s{t}: cosine {cos} to its PNG twin");
                }
            }
        }
    }
}
