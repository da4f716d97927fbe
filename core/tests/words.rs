//! Reading the words in photos with the real PP-OCR models (`make setup` puts them where the
//! product finds them): the Rust pipeline end to end, on fixtures drawn with real fonts.

use std::path::PathBuf;

use clipstream_core::ingest::words::{self, Effort, Reader};

use crate::common::repo;

fn reader() -> Reader {
    let dir = words::locate().expect("the OCR models (make setup extracts them)");
    Reader::open(&dir, 2).expect("the OCR models load")
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/words").join(name)
}

fn texts(lines: &[words::Line]) -> Vec<String> {
    lines.iter().map(|l| l.text.clone()).collect()
}

#[test]
fn english_and_chinese_lines_are_read_in_order() {
    let image = image::open(fixture("wifi-and-chinese.png"))
        .expect("png")
        .to_rgb8();
    let lines = reader().read(&image, &Effort::REFERENCE).expect("reads");
    let read = texts(&lines).join(" | ");
    // In reading order; DB detection splits a line at a wide gap, as the reference does.
    assert_eq!(read, "WiFi | password: hunter22 | 你好世界 | Receipt 42");
    // Boxes in the image: the first line above the second.
    assert!(lines[0].quad[2].1 <= lines[2].quad[0].1 + 5.0, "{lines:?}");
}

#[test]
fn an_upside_down_photo_is_read_the_right_way_up() {
    let image = image::open(fixture("wifi-and-chinese.png"))
        .expect("png")
        .to_rgb8();
    let upside = image::imageops::rotate180(&image);
    let read = texts(&reader().read(&upside, &Effort::REFERENCE).expect("reads"));
    assert!(read.iter().any(|t| t.contains("hunter22")), "{read:?}");
}

#[test]
fn a_photo_without_text_has_no_lines() {
    let image = image::open(repo().join("tests/fixtures/shapes/00003.png"))
        .expect("png")
        .to_rgb8();
    let lines = reader().read(&image, &Effort::REFERENCE).expect("reads");
    assert!(lines.is_empty(), "{lines:?}");
}

// The stage in a library: glance while indexing, read after, searched from the one box.

use std::sync::atomic::AtomicBool;

use clipstream_core::{Filters, Library, Phase, Request, TextLine};

use crate::common::{index, open_library, shape};

fn read_words(library: &Library) -> clipstream_core::WordsReport {
    library
        .read_words(&mut |_| {}, &AtomicBool::new(false))
        .expect("reads words")
}

/// The sticker photo, stored turned a quarter (EXIF orientation 6): a JPEG whose upright view
/// is the fixture.
fn turned_jpeg(to: &std::path::Path) {
    let upright = image::open(fixture("wifi-and-chinese.png"))
        .expect("png")
        .to_rgb8();
    // Stored rotated 90° counter-clockwise; orientation 6 turns it back clockwise.
    let stored = image::imageops::rotate270(&upright);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 92)
        .encode_image(&stored)
        .expect("encodes");
    // An APP1 Exif segment with one IFD entry: Orientation (0x0112) = 6.
    let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0".to_vec();
    let mut app1 = b"Exif\0\0".to_vec();
    app1.append(&mut tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    std::fs::write(to, out).expect("writes");
}

fn hit_texts(library: &Library, query: &str) -> Vec<(String, Vec<String>)> {
    let mut request = Request::new(query, 20);
    request.all = false;
    library
        .search(&request)
        .expect("searches")
        .hits
        .into_iter()
        .filter(|h| !h.text.is_empty())
        .map(|h| {
            let name = h
                .path
                .file_name()
                .expect("a photo path names a file")
                .to_string_lossy()
                .to_string();
            (
                name,
                h.text.iter().map(|l: &TextLine| l.text.clone()).collect(),
            )
        })
        .collect()
}

#[test]
fn photos_are_found_by_their_words_from_the_one_search_box() {
    let photos = tempfile::tempdir().expect("tempdir");
    let lib_dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        fixture("wifi-and-chinese.png"),
        photos.path().join("sticker.png"),
    )
    .expect("copy");
    turned_jpeg(&photos.path().join("turned.jpg"));
    for n in 0..6 {
        std::fs::copy(shape(n), photos.path().join(format!("shape-{n}.png"))).expect("copy");
    }
    let library = open_library(lib_dir.path());
    library.add_folder(photos.path()).expect("adds");
    index(&library);

    // While indexing, the glance settled the photos without text; the two with text wait.
    let status = library.status().expect("status");
    assert!(
        status.words.models.is_some(),
        "make setup installs the OCR models"
    );
    assert_eq!(
        (status.words.read, status.words.total),
        (6, 8),
        "{:?}",
        status.words
    );
    let id_of = |name: &str| {
        library
            .image_at(&photos.path().canonicalize().expect("canonical").join(name))
            .expect("looks up")
            .expect("catalogued")
            .id
    };
    assert_eq!(
        library.words(id_of("shape-0.png")).expect("words"),
        Some(vec![])
    );
    assert_eq!(
        library.words(id_of("sticker.png")).expect("words"),
        None,
        "not read yet"
    );

    let mut phases = Vec::new();
    let report = library
        .read_words(&mut |p| phases.push(p.phase), &AtomicBool::new(false))
        .expect("reads");
    assert_eq!(
        (report.read, report.with_text, report.failed, report.left),
        (2, 2, 0, 0)
    );
    assert!(phases.contains(&Phase::ReadingWords) && phases.last() == Some(&Phase::Done));
    let lines = library
        .words(id_of("sticker.png"))
        .expect("words")
        .expect("read");
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    // Indexing's effort reads the first line whole (the reference's larger input splits it).
    assert_eq!(texts, ["WiFi password: hunter22", "你好世界", "Receipt 42"]);
    for l in &lines {
        assert!(
            l.quad
                .iter()
                .all(|&(x, y)| (0.0..=1.0).contains(&x) && (0.0..=1.0).contains(&y))
        );
    }
    // The turned photo reads upright, its boxes in the upright photo: the same places.
    let turned = library
        .words(id_of("turned.jpg"))
        .expect("words")
        .expect("read");
    assert!(
        turned.iter().any(|l| l.text.contains("hunter22")),
        "{turned:?}"
    );
    let (a, b) = (
        &lines[0].quad[0],
        &turned
            .iter()
            .find(|l| l.text.contains("hunter22"))
            .expect("the turned photo still reads hunter22")
            .quad[0],
    );
    assert!(
        (a.0 - b.0).abs() < 0.03 && (a.1 - b.1).abs() < 0.03,
        "{a:?} vs {b:?}"
    );

    // "router password": the sticker says "WiFi password", and both photos come first.
    let found = hit_texts(&library, "router password");
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 2, "{found:?}");
    assert!(names.contains(&"sticker.png") && names.contains(&"turned.jpg"));
    assert!(
        found[0].1.iter().any(|t| t.contains("password")),
        "{found:?}"
    );
    // A fragment of a word, and Chinese.
    assert_eq!(hit_texts(&library, "unter2").len(), 2);
    assert_eq!(hit_texts(&library, "世界").len(), 2);
    // Quotes ask for the words as written: these are not next to each other.
    assert!(hit_texts(&library, "\"password receipt\"").is_empty());
    let phrase = hit_texts(&library, "\"password: hunter\"");
    assert!(phrase.iter().any(|(n, _)| n == "sticker.png"), "{phrase:?}");
    // Filters apply: a folder of its own holds neither.
    let mut request = Request::new("password", 20);
    request.filters = Filters {
        formats: vec!["jpeg".into()],
        ..Filters::default()
    };
    let only_jpeg = library.search(&request).expect("searches");
    let with_text: Vec<_> = only_jpeg
        .hits
        .iter()
        .filter(|h| !h.text.is_empty())
        .collect();
    assert_eq!(with_text.len(), 1, "{:?}", only_jpeg.hits);
    assert_eq!(with_text[0].format, "jpeg");

    // Nothing left to read: a second pass reads nothing.
    assert_eq!(read_words(&library).read, 0);
    // A photo that goes takes its words with it; a copy keeps them.
    std::fs::remove_file(photos.path().join("sticker.png")).expect("removes");
    index(&library);
    assert_eq!(hit_texts(&library, "hunter22").len(), 1);
    std::fs::remove_file(photos.path().join("turned.jpg")).expect("removes");
    index(&library);
    assert!(hit_texts(&library, "hunter22").is_empty());
    let status = library.status().expect("status");
    assert_eq!((status.words.read, status.words.total), (6, 6));
}

#[test]
fn a_pass_stops_when_asked_and_goes_on_where_it_was() {
    let photos = tempfile::tempdir().expect("tempdir");
    let lib_dir = tempfile::tempdir().expect("tempdir");
    for n in 0..3 {
        let img = image::open(fixture("wifi-and-chinese.png"))
            .expect("png")
            .to_rgb8();
        // Different bytes each: three contents to read.
        let mut img = img;
        img.put_pixel(0, 0, image::Rgb([n as u8, 0, 0]));
        img.save(photos.path().join(format!("text-{n}.png")))
            .expect("saves");
    }
    let library = open_library(lib_dir.path());
    library.add_folder(photos.path()).expect("adds");
    index(&library);
    let mut seen = 0;
    let report = library
        .read_words(
            &mut |p| {
                if p.phase == Phase::ReadingWords && p.done >= 1 && seen == 0 {
                    seen = p.done;
                    library.pause_words();
                }
            },
            &AtomicBool::new(false),
        )
        .expect("reads");
    assert!(report.left > 0 && report.read < 3, "{report:?}");
    let rest = read_words(&library);
    assert_eq!(report.read + rest.read, 3, "{report:?} then {rest:?}");
    assert_eq!(rest.left, 0);
}
