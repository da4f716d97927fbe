//! Integration tests of the core library on the committed test model and the real ONNX Runtime.

use std::path::{Path, PathBuf};

use clipstream_core::model::encoders::TextEncoder;
use clipstream_core::{Error, Model};

use crate::hostile;
use hostile::png_claiming;
use serde::Deserialize;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("core/ lives in the repo root")
        .to_path_buf()
}

fn tiny_clip() -> PathBuf {
    repo().join("models").join("tiny-clip")
}

fn golden<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    let path = repo().join("tests/fixtures/golden").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("golden file is valid JSON")
}

#[derive(Deserialize)]
struct TokenCase {
    text: String,
    ids: Vec<i64>,
}

#[derive(Deserialize)]
struct EmbeddingCase {
    text: String,
    embedding: Vec<f32>,
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

#[test]
fn tokenizer_ids_equal_the_reference_clip_tokenizer() {
    let model = Model::open(tiny_clip()).expect("test model opens");
    let encoder = TextEncoder::new(&model, 1).expect("encoder loads");
    let cases: Vec<TokenCase> = golden("tokens.json");
    assert!(cases.len() >= 500, "golden set too small: {}", cases.len());
    let mismatches: Vec<&str> = cases
        .iter()
        .filter(|c| encoder.token_ids(&c.text).expect("tokenizes") != c.ids)
        .map(|c| c.text.as_str())
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} differ, e.g. {:?}",
        mismatches.len(),
        cases.len(),
        &mismatches[..mismatches.len().min(5)]
    );
    assert!(
        cases
            .iter()
            .any(|c| c.ids.len() == model.manifest.context_length),
        "no truncated case"
    );
}

#[test]
fn text_embeddings_match_the_python_reference() {
    let model = Model::open(tiny_clip()).expect("test model opens");
    let encoder = TextEncoder::new(&model, 2).expect("encoder loads");
    let cases: Vec<EmbeddingCase> = golden("text_embeddings.json");
    for case in &cases {
        let got = encoder.encode(&case.text).expect("encodes");
        assert_eq!(got.len(), model.manifest.embedding_dim);
        let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "not normalised: {norm}");
        let cos = cosine(&got, &case.embedding);
        assert!(cos > 0.99999, "{:?}: cosine {cos}", case.text);
    }
}

#[test]
fn different_queries_give_different_embeddings() {
    let model = Model::open(tiny_clip()).expect("test model opens");
    let encoder = TextEncoder::new(&model, 1).expect("encoder loads");
    let red = encoder.encode("a red circle").expect("encodes");
    let blue = encoder.encode("a blue square").expect("encodes");
    assert!(cosine(&red, &blue) < 0.99);
}

#[test]
fn a_recent_query_is_answered_from_memory_and_the_oldest_is_forgotten() {
    let model = Model::open(tiny_clip()).expect("test model opens");
    let encoder = TextEncoder::new(&model, 1).expect("encoder loads");
    assert!(!encoder.remembers("a red circle"));
    let first = encoder.encode("a red circle").expect("encodes");
    assert!(encoder.remembers("a red circle"));
    assert_eq!(encoder.encode("a red circle").expect("encodes"), first);
    // 256 others push it out, oldest first.
    for i in 0..256 {
        encoder.encode(&format!("query {i}")).expect("encodes");
    }
    assert!(!encoder.remembers("a red circle"));
    assert!(encoder.remembers("query 0") && encoder.remembers("query 255"));
    assert_eq!(encoder.encode("a red circle").expect("encodes"), first);
}

/// Copy the test model to a temporary folder, so a test can damage its copy.
fn copy_of_tiny_clip(dir: &Path) -> PathBuf {
    let out = dir.join("model");
    std::fs::create_dir_all(&out).expect("mkdir");
    for entry in std::fs::read_dir(tiny_clip()).expect("read tiny-clip") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), out.join(entry.file_name())).expect("copy");
    }
    out
}

#[test]
fn tampered_model_file_is_refused_naming_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = copy_of_tiny_clip(tmp.path());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("read"))
            .expect("json");
    let vision = manifest["vision"]["file"].as_str().expect("vision file");
    // Verified once (and remembered, so later opens skip the hashing)...
    Model::open(&dir).expect("the untouched copy opens");
    // ...then changed in place, same size, modification time put back: still caught.
    let path = dir.join(vision);
    let modified = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("mtime");
    let mut bytes = std::fs::read(&path).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, &bytes).expect("write");
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(modified))
        .expect("set mtime");
    match Model::open(&dir) {
        Err(err @ Error::ModelFile { .. }) => {
            let msg = err.to_string();
            assert!(msg.contains(vision) && msg.contains("SHA-256"), "{msg}");
        }
        other => panic!("expected a ModelFile error, got {other:?}"),
    }
}

#[test]
fn folder_without_manifest_says_what_to_do() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let err = Model::open(tmp.path()).expect_err("no manifest");
    assert!(matches!(err, Error::ModelMissing { .. }));
    assert!(err.to_string().contains("clipstream model get"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Decoding and preprocessing against the Python reference (transformers' CLIPImageProcessor).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use clipstream_core::ingest::decode;
use clipstream_core::model::Preprocess;
use clipstream_core::model::encoders as embed;
use clipstream_core::store::catalog::{Catalog, DATABASE};
use clipstream_core::{Library, Options, Request};

#[derive(Deserialize)]
struct Probe {
    channel_mean: [f32; 3],
    step: usize,
    grid: Vec<f32>,
}

#[derive(Deserialize)]
struct PhotoCase {
    file: String,
    size: [u32; 2],
    embedding: Vec<f32>,
    probe_224: Probe,
}

fn photos() -> PathBuf {
    repo().join("tests/fixtures/photos")
}

/// ViT-B/32's preprocessing: the test model's (same OpenAI mean/std) at 224 px.
fn vit_b32_preprocess() -> Preprocess {
    let model = Model::open(tiny_clip()).expect("test model opens");
    Preprocess {
        resize_shortest_edge: 224,
        center_crop: [224, 224],
        ..model.manifest.vision.preprocess
    }
}

#[test]
fn preprocessing_at_224_matches_the_reference() {
    let spec = vit_b32_preprocess();
    let cases: Vec<PhotoCase> = golden("photos.json");
    assert!(cases.len() >= 10);
    for case in &cases {
        let bytes = std::fs::read(photos().join(&case.file)).expect("fixture photo");
        let decoded = decode::decode(&bytes, 224, decode::DEFAULT_MAX_PIXELS).expect("decodes");
        assert_eq!(
            [decoded.width, decoded.height],
            case.size,
            "{}: upright size",
            case.file
        );
        let pixels = embed::preprocess(&decoded.image, &spec);
        let plane = 224 * 224;
        for c in 0..3 {
            let mean = pixels[c * plane..(c + 1) * plane].iter().sum::<f32>() / plane as f32;
            assert!(
                (mean - case.probe_224.channel_mean[c]).abs() < 0.01,
                "{} channel {c}: mean {mean}",
                case.file
            );
        }
        let step = case.probe_224.step;
        let mut max_diff = 0f32;
        let mut sum_diff = 0f32;
        let mut i = 0;
        for c in 0..3 {
            for y in (0..224).step_by(step) {
                for x in (0..224).step_by(step) {
                    let d = (pixels[c * plane + y * 224 + x] - case.probe_224.grid[i]).abs();
                    max_diff = max_diff.max(d);
                    sum_diff += d;
                    i += 1;
                }
            }
        }
        let mean_diff = sum_diff / i as f32;
        eprintln!(
            "{}: 224-px preprocessing vs reference: mean |Δ| {mean_diff:.4}, max |Δ| {max_diff:.4}",
            case.file
        );
        // One 8-bit level is 1/255/std ≈ 0.015 after normalisation.
        assert!(
            mean_diff < 0.02 && max_diff < 0.5,
            "{}: mean |Δ| {mean_diff}, max |Δ| {max_diff}",
            case.file
        );
    }
}

#[test]
fn photo_embeddings_match_the_reference() {
    let model = Model::open(tiny_clip()).expect("test model opens");
    let dir = tempfile::tempdir().expect("tempdir");
    let library = Library::open(dir.path(), Some(&model), Options::default()).expect("opens");
    let cases: Vec<PhotoCase> = golden("photos.json");
    for case in &cases {
        let got = library
            .image_embedding(&photos().join(&case.file))
            .expect("encodes");
        let cos = cosine(&got, &case.embedding);
        eprintln!(
            "{}: test-model embedding vs reference: cosine {cos:.6}",
            case.file
        );
        assert!(cos >= 0.999, "{}: cosine {cos}", case.file);
    }
}

#[test]
fn exif_rotated_photo_encodes_like_its_upright_twin() {
    let model = Model::open(tiny_clip()).expect("test model opens");
    let dir = tempfile::tempdir().expect("tempdir");
    let library = Library::open(dir.path(), Some(&model), Options::default()).expect("opens");
    let upright = library
        .image_embedding(&photos().join("chelsea_upright.jpg"))
        .expect("encodes");
    let rotated = library
        .image_embedding(&photos().join("chelsea_rotated.jpg"))
        .expect("encodes");
    let cos = cosine(&upright, &rotated);
    eprintln!("EXIF-rotated vs upright twin: cosine {cos:.6}");
    assert!(cos > 0.995, "cosine {cos}");
    let bytes = std::fs::read(photos().join("chelsea_rotated.jpg")).expect("read");
    let d = decode::decode(&bytes, 64, decode::DEFAULT_MAX_PIXELS).expect("decodes");
    assert_eq!((d.width, d.height), (451, 300), "upright size");
    let bytes = std::fs::read(photos().join("chelsea_upright.jpg")).expect("read");
    let taken = decode::taken_at(&bytes).expect("has a date");
    assert_eq!(
        taken,
        clipstream_core::date::day_start("2021-06-15").expect("a day") + 14 * 3600 + 30 * 60
    );
}

// ---------------------------------------------------------------------------------------------
// Indexing and search on the generated shapes.

#[derive(Deserialize)]
struct Labels(HashMap<String, HashMap<String, String>>);

#[derive(Deserialize)]
struct QueryCase {
    text: String,
    attributes: HashMap<String, Option<String>>,
}

#[derive(Deserialize)]
struct Queries {
    recall_onnx_python: HashMap<String, HashMap<String, f64>>,
    sets: HashMap<String, Vec<QueryCase>>,
}

fn shapes() -> PathBuf {
    repo().join("tests/fixtures/shapes")
}

fn labels() -> HashMap<String, HashMap<String, String>> {
    let text = std::fs::read_to_string(shapes().join("labels.json")).expect("labels");
    serde_json::from_str::<Labels>(&text).expect("json").0
}

fn matches(attrs: &HashMap<String, Option<String>>, label: &HashMap<String, String>) -> bool {
    attrs
        .iter()
        .all(|(k, v)| v.as_ref().is_none_or(|v| label.get(k) == Some(v)))
}

fn file_name(p: &Path) -> String {
    p.file_name().expect("file").to_string_lossy().into_owned()
}

fn open_library(dir: &Path) -> Library {
    let model = Model::open(tiny_clip()).expect("test model opens");
    Library::open(dir, Some(&model), Options::default()).expect("library opens")
}

fn index(library: &Library) -> clipstream_core::Report {
    library
        .index(&mut |_| {}, &AtomicBool::new(false))
        .expect("indexes")
}

#[test]
fn a_small_library_half_of_which_matches_shows_its_matches() {
    // Six red circles among twelve shapes: the relevance cutoff once landed above every score
    // (1.32) and answered "a red circle" with nothing.
    let dir = tempfile::tempdir().expect("tempdir");
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).expect("mkdir");
    for n in [0, 1, 2, 3, 4, 5, 450, 600, 900, 1050, 1200, 1350] {
        let name = format!("{n:05}.png");
        std::fs::copy(shapes().join(&name), photos.join(&name)).expect("copy");
    }
    let library = open_library(&dir.path().join("library"));
    library.add_folder(&photos).expect("adds");
    assert_eq!(index(&library).added, 12);
    let labels = labels();
    let results = library
        .search(&Request::new("a red circle", 20))
        .expect("searches");
    let shown: Vec<(String, String)> = results
        .hits
        .iter()
        .map(|h| {
            let label = &labels[&file_name(&h.path)];
            (label["colour"].clone(), label["shape"].clone())
        })
        .collect();
    assert_eq!(
        shown,
        vec![("red".to_string(), "circle".to_string()); 6],
        "cutoff {:?}, {} hidden",
        results.cutoff,
        results.hidden
    );
    assert_eq!(results.hidden, 6);
}

#[test]
fn recall_through_rust_equals_the_python_reference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = open_library(dir.path());
    library.add_folder(&shapes()).expect("adds");
    let report = index(&library);
    assert_eq!(report.added, 1800);
    assert_eq!(report.skipped, 0);
    let labels = labels();
    let queries: Queries = serde_json::from_str(
        &std::fs::read_to_string(shapes().join("queries.json")).expect("queries"),
    )
    .expect("json");
    for (name, cases) in &queries.sets {
        let (mut at1, mut at5) = (0usize, 0usize);
        for case in cases {
            let mut request = Request::new(case.text.clone(), 5);
            request.all = true;
            let hits = library.search(&request).expect("searches").hits;
            let hit =
                |h: &clipstream_core::Hit| matches(&case.attributes, &labels[&file_name(&h.path)]);
            at1 += usize::from(hits.first().is_some_and(hit));
            at5 += usize::from(hits.iter().any(hit));
        }
        let n = cases.len() as f64;
        let reference = &queries.recall_onnx_python[name];
        let (r1, r5) = (at1 as f64 / n, at5 as f64 / n);
        eprintln!(
            "{name}: rust r@1 {r1:.4} r@5 {r5:.4}; python r@1 {:.4} r@5 {:.4}",
            reference["r@1"], reference["r@5"]
        );
        assert!(
            (r1 - reference["r@1"]).abs() <= 0.005,
            "{name} r@1: rust {r1}, python {}",
            reference["r@1"]
        );
        assert!(
            (r5 - reference["r@5"]).abs() <= 0.005,
            "{name} r@5: rust {r5}, python {}",
            reference["r@5"]
        );
    }
}

/// A folder with `n` distinct shape images copied from the fixture gallery.
fn shape_folder(dir: &Path, names: &[&str]) -> PathBuf {
    let folder = dir.join("photos");
    std::fs::create_dir_all(&folder).expect("mkdir");
    for name in names {
        std::fs::copy(shapes().join(name), folder.join(name)).expect("copy");
    }
    folder
}

#[test]
fn incremental_add_modify_delete_move_rename() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = shape_folder(
        dir.path(),
        &[
            "00000.png",
            "00001.png",
            "00002.png",
            "00003.png",
            "00004.png",
            "00005.png",
        ],
    );
    let library = open_library(&dir.path().join("library"));
    library.add_folder(&folder).expect("adds");
    let first = index(&library);
    assert_eq!((first.added, first.unchanged), (6, 0));

    // Nothing changed: nothing is read again.
    let again = index(&library);
    assert_eq!(
        (again.added, again.updated, again.moved, again.unchanged),
        (0, 0, 0, 6)
    );

    std::fs::copy(shapes().join("00100.png"), folder.join("00000.png")).expect("modify");
    std::fs::remove_file(folder.join("00001.png")).expect("delete");
    std::fs::create_dir(folder.join("sub")).expect("mkdir");
    std::fs::rename(folder.join("00002.png"), folder.join("sub/00002.png")).expect("move");
    std::fs::rename(folder.join("00003.png"), folder.join("renamed.png")).expect("rename");
    std::fs::copy(shapes().join("00200.png"), folder.join("new.png")).expect("add");
    let report = index(&library);
    assert_eq!(report.updated, 1, "{report:?}");
    assert_eq!(report.removed, 1, "{report:?}");
    assert_eq!(report.moved, 2, "{report:?}");
    assert_eq!(report.added, 1, "{report:?}");
    assert_eq!(report.unchanged, 2, "{report:?}");
    assert_eq!(library.status().expect("status").images, 6);

    // Every catalogued path exists, and the moved files are found under their new names.
    let mut request = Request::new("a circle", 10);
    request.all = true;
    let paths: Vec<PathBuf> = library
        .search(&request)
        .expect("searches")
        .hits
        .into_iter()
        .map(|h| h.path)
        .collect();
    assert_eq!(paths.len(), 6);
    assert!(paths.iter().all(|p| p.is_file()), "{paths:?}");
    assert!(paths.contains(&std::fs::canonicalize(folder.join("sub/00002.png")).expect("exists")));
    assert!(paths.contains(&std::fs::canonicalize(folder.join("renamed.png")).expect("exists")));
}

#[test]
fn bad_files_are_skipped_with_reasons_and_good_ones_indexed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = shape_folder(dir.path(), &["00010.png", "00011.png"]);
    let png = std::fs::read(shapes().join("00012.png")).expect("read");
    let jpeg = std::fs::read(photos().join("rocket.jpg")).expect("read");
    std::fs::write(folder.join("zero.jpg"), b"").expect("write");
    std::fs::write(folder.join("truncated.png"), &png[..png.len() / 2]).expect("write");
    std::fs::write(folder.join("truncated.jpg"), &jpeg[..jpeg.len() / 3]).expect("write");
    std::fs::write(folder.join("notes.jpg"), b"this is not an image").expect("write");
    std::fs::write(folder.join("IMG_0001.HEIC"), b"....ftypheic").expect("write");
    std::fs::create_dir(folder.join("folder.jpg")).expect("mkdir");
    std::fs::copy(photos().join("rocket.jpg"), folder.join("rocket.JPG")).expect("copy");

    let library = open_library(&dir.path().join("library"));
    library.add_folder(&folder).expect("adds");
    let report = index(&library);
    assert_eq!(report.added, 3, "{report:?}");
    let skipped: HashMap<String, String> = library
        .skipped()
        .expect("skipped")
        .into_iter()
        .map(|s| (file_name(&s.path), s.reason))
        .collect();
    assert_eq!(skipped.len(), 5, "{skipped:?}");
    assert_eq!(skipped["zero.jpg"], "empty file");
    assert!(
        skipped["notes.jpg"].starts_with("not an image"),
        "{skipped:?}"
    );
    assert!(
        skipped["IMG_0001.HEIC"].contains("unreadable HEIF container"),
        "a HEIC header on 12 bytes of nothing: {skipped:?}"
    );
    assert!(
        skipped["truncated.png"].contains("corrupt")
            || skipped["truncated.png"].contains("unreadable"),
        "{skipped:?}"
    );
    assert!(skipped.contains_key("truncated.jpg"), "{skipped:?}");

    // Skipped files are not retried until they change; a fixed file is indexed and unlisted.
    let again = index(&library);
    assert_eq!((again.skipped, again.unchanged), (0, 8), "{again:?}");
    std::fs::write(folder.join("truncated.png"), &png).expect("repair");
    let repaired = index(&library);
    assert_eq!((repaired.added, repaired.skipped), (1, 0), "{repaired:?}");
    assert_eq!(library.skipped().expect("skipped").len(), 4);
}

#[test]
fn unicode_and_non_utf8_file_names() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = shape_folder(dir.path(), &[]);
    let unicode = folder.join("café 猫 🐶.png");
    let raw = folder.join(std::ffi::OsStr::from_bytes(b"bad-\xff\xfe-name.png"));
    std::fs::copy(shapes().join("00020.png"), &unicode).expect("copy");
    std::fs::copy(shapes().join("00021.png"), &raw).expect("copy");
    let library = open_library(&dir.path().join("library"));
    library.add_folder(&folder).expect("adds");
    assert_eq!(index(&library).added, 2);
    let mut request = Request::new("a shape", 10);
    request.all = true;
    let paths: Vec<PathBuf> = library
        .search(&request)
        .expect("searches")
        .hits
        .into_iter()
        .map(|h| h.path)
        .collect();
    assert!(
        paths.contains(&std::fs::canonicalize(&unicode).expect("exists")),
        "{paths:?}"
    );
    assert!(
        paths.contains(&std::fs::canonicalize(&raw).expect("exists")),
        "{paths:?}"
    );
}

#[test]
fn vector_index_deleted_or_corrupted_is_rebuilt_with_identical_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let names: Vec<String> = (0..60).map(|i| format!("{:05}.png", i * 29)).collect();
    let folder = shape_folder(
        dir.path(),
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let lib_dir = dir.path().join("library");
    let search = |library: &Library| {
        let mut r = Request::new("a large yellow star", 10);
        r.all = true;
        library
            .search(&r)
            .expect("searches")
            .hits
            .into_iter()
            .map(|h| (h.id, h.score))
            .collect::<Vec<_>>()
    };
    let expected = {
        let library = open_library(&lib_dir);
        library.add_folder(&folder).expect("adds");
        index(&library);
        search(&library)
    };
    assert_eq!(expected.len(), 10);
    let index_file = lib_dir.join(clipstream_core::store::vindex::INDEX_FILE);
    let damages: [(&str, &dyn Fn()); 3] = [
        ("deleted", &|| {
            std::fs::remove_file(&index_file).expect("delete")
        }),
        ("truncated", &|| {
            let bytes = std::fs::read(&index_file).expect("read");
            std::fs::write(&index_file, &bytes[..bytes.len() / 2]).expect("truncate");
        }),
        ("overwritten", &|| {
            std::fs::write(&index_file, vec![0x5a; 4096]).expect("overwrite")
        }),
    ];
    let generation = || {
        Catalog::open(&lib_dir.join(DATABASE))
            .expect("opens")
            .generation()
            .expect("reads")
    };
    for (what, damage) in damages {
        damage();
        let damaged = std::fs::read(&index_file).ok();
        let library = open_library(&lib_dir);
        assert_eq!(
            search(&library),
            expected,
            "after the index file was {what}"
        );
        // Saved again: a new file, stamped with the catalog's generation, that loads as it is.
        assert_ne!(
            std::fs::read(&index_file).ok(),
            damaged,
            "rebuilt index saved after {what}"
        );
        assert_eq!(
            clipstream_core::store::vindex::VectorIndex::saved_generation(&lib_dir),
            Some(generation()),
            "stamp after {what}"
        );
        drop(library);
        let before = std::fs::metadata(&index_file)
            .and_then(|m| m.modified())
            .expect("mtime");
        let reopened = open_library(&lib_dir);
        assert_eq!(search(&reopened), expected);
        let after = std::fs::metadata(&index_file)
            .and_then(|m| m.modified())
            .expect("mtime");
        assert_eq!(
            before, after,
            "the saved index loads without a rebuild after {what}"
        );
    }
}

#[test]
fn another_model_is_refused_until_reindexed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = shape_folder(dir.path(), &["00030.png", "00031.png"]);
    let lib_dir = dir.path().join("library");
    {
        let library = open_library(&lib_dir);
        library.add_folder(&folder).expect("adds");
        index(&library);
    }
    let other_dir = copy_of_tiny_clip(dir.path());
    let manifest_path = other_dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).expect("read"))
            .expect("json");
    manifest["model_id"] = "someone/other-model".into();
    std::fs::write(&manifest_path, manifest.to_string()).expect("write");
    let other = Model::open(&other_dir).expect("opens");
    match Library::open(&lib_dir, Some(&other), Options::default()) {
        Err(err @ Error::ModelMismatch { .. }) => {
            assert!(err.to_string().contains("--reindex"), "{err}")
        }
        Err(other) => panic!("expected ModelMismatch, got {other}"),
        Ok(_) => panic!("expected ModelMismatch, got a library"),
    }
    let library = Library::open(
        &lib_dir,
        Some(&other),
        Options {
            reindex: true,
            ..Options::default()
        },
    )
    .expect("reindex");
    assert_eq!(library.status().expect("status").images, 0);
    assert_eq!(index(&library).added, 2);
    assert_eq!(
        library.status().expect("status").model_id.as_deref(),
        Some("someone/other-model")
    );
}

#[test]
fn search_works_while_indexing_and_a_cancelled_run_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let names: Vec<String> = (0..80).map(|i| format!("{:05}.png", i * 20)).collect();
    let folder = shape_folder(
        dir.path(),
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let model = Model::open(tiny_clip()).expect("test model opens");
    let options = Options {
        batch_size: 4,
        ..Options::default()
    };
    let library = Library::open(&dir.path().join("library"), Some(&model), options).expect("opens");
    library.add_folder(&folder).expect("adds");
    let cancel = AtomicBool::new(false);
    let (mid_run, searched_mid_run) = (AtomicBool::new(false), AtomicBool::new(false));
    let finished = AtomicBool::new(false);
    let report = std::thread::scope(|scope| {
        // Another thread searches while the run commits, as the app's search box does.
        scope.spawn(|| {
            while !mid_run.load(Ordering::SeqCst) {
                if finished.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::yield_now();
            }
            let mut r = Request::new("a circle", 5);
            r.all = true;
            let hits = library.search(&r).expect("search during indexing").hits;
            searched_mid_run.store(!hits.is_empty(), Ordering::SeqCst);
            cancel.store(true, Ordering::SeqCst);
        });
        let report = library.index(
            &mut |p| {
                if p.done > 0 && p.done < p.to_process {
                    mid_run.store(true, Ordering::SeqCst);
                }
            },
            &cancel,
        );
        finished.store(true, Ordering::SeqCst);
        report.expect("indexes")
    });
    assert!(report.cancelled);
    assert!(
        searched_mid_run.load(Ordering::SeqCst),
        "a search from another thread found the images committed so far"
    );
    let done = library.status().expect("status").images;
    assert!(done > 0 && done < 80, "{done} committed before the cancel");
    let rest = index(&library);
    assert_eq!(rest.added + done, 80, "{rest:?}");
    assert_eq!(library.status().expect("status").images, 80);
}

#[test]
fn committed_v1_library_still_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib_dir = dir.path().join("library");
    std::fs::create_dir_all(&lib_dir).expect("mkdir");
    std::fs::copy(
        repo().join("tests/fixtures/library-v1/catalog.sqlite"),
        lib_dir.join("catalog.sqlite"),
    )
    .expect("copy");
    let library = open_library(&lib_dir);
    let status = library.status().expect("status");
    assert_eq!(status.images, 12);
    assert_eq!(
        status.model_id.as_deref(),
        Some("clipstream/tiny-clip-shapes")
    );
    let mut r = Request::new("a cat", 3);
    r.all = true;
    assert_eq!(library.search(&r).expect("searches").hits.len(), 3);
}

#[test]
fn every_supported_format_is_indexed_by_its_content() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = shape_folder(dir.path(), &[]);
    let img = image::open(shapes().join("00040.png"))
        .expect("fixture")
        .into_rgb8();
    for (name, format) in [
        ("a.jpeg", image::ImageFormat::Jpeg),
        ("b.png", image::ImageFormat::Png),
        ("c.webp", image::ImageFormat::WebP),
        ("d.gif", image::ImageFormat::Gif),
        ("e.bmp", image::ImageFormat::Bmp),
        ("f.tiff", image::ImageFormat::Tiff),
        // A PNG behind a .jpg name: the content decides.
        ("g.jpg", image::ImageFormat::Png),
    ] {
        img.save_with_format(folder.join(name), format)
            .expect("encode");
    }
    let library = open_library(&dir.path().join("library"));
    library.add_folder(&folder).expect("adds");
    let report = index(&library);
    assert_eq!((report.added, report.skipped), (7, 0), "{report:?}");
    let mut request = Request::new("a shape", 10);
    request.all = true;
    let mut formats: Vec<(String, String)> = library
        .search(&request)
        .expect("searches")
        .hits
        .into_iter()
        .map(|h| (file_name(&h.path), h.format))
        .collect();
    formats.sort();
    let want = [
        ("a.jpeg", "jpeg"),
        ("b.png", "png"),
        ("c.webp", "webp"),
        ("d.gif", "gif"),
        ("e.bmp", "bmp"),
        ("f.tiff", "tiff"),
        ("g.jpg", "png"),
    ];
    assert_eq!(formats, want.map(|(a, b)| (a.to_string(), b.to_string())));
}

#[test]
fn filters_and_date_sort_through_the_library() {
    use clipstream_core::{Filters, Sort};
    let dir = tempfile::tempdir().expect("tempdir");
    let library = open_library(&dir.path().join("library"));
    library.add_folder(&photos()).expect("adds");
    library.add_folder(&shapes()).expect("adds");
    assert_eq!(index(&library).added, 1812);
    let search = |filters: Filters, sort: Sort| {
        let mut r = Request::new("a photo", 2000);
        r.all = true;
        r.filters = filters;
        r.sort = sort;
        library.search(&r).expect("searches").hits
    };
    let june_2021 = clipstream_core::date::day_start("2021-06-01").expect("a day");
    let dated = search(
        Filters {
            taken_from: Some(june_2021),
            ..Filters::default()
        },
        Sort::Relevance,
    );
    assert_eq!(
        dated.iter().map(|h| file_name(&h.path)).collect::<Vec<_>>(),
        ["chelsea_upright.jpg"]
    );
    let before = search(
        Filters {
            taken_until: Some(june_2021),
            ..Filters::default()
        },
        Sort::Relevance,
    );
    assert!(before.is_empty(), "no photo has an earlier date");
    let gifs = search(
        Filters {
            formats: vec!["gif".into()],
            ..Filters::default()
        },
        Sort::Relevance,
    );
    assert_eq!(
        gifs.iter().map(|h| file_name(&h.path)).collect::<Vec<_>>(),
        ["no_time_for_that_tiny.gif"]
    );
    let photos_id = library.folder_at(&photos()).expect("a library folder").id;
    let in_photos = search(
        Filters {
            folder_ids: vec![photos_id],
            ..Filters::default()
        },
        Sort::Relevance,
    );
    assert_eq!(in_photos.len(), 12);
    let by_date = search(Filters::default(), Sort::DateTaken);
    assert_eq!(
        file_name(&by_date[0].path),
        "chelsea_upright.jpg",
        "dated photos first"
    );
    // A first screenful says whether there is more; the whole answer begins with it.
    let answer = |limit: usize| {
        let mut r = Request::new("a photo", limit);
        r.all = true;
        library.search(&r).expect("searches")
    };
    let (first, whole) = (answer(120), answer(2000));
    assert!(first.more, "120 of 1812 photos");
    assert!(!whole.more, "all 1812 found");
    let ids = |r: &clipstream_core::Results| r.hits.iter().map(|h| h.id).collect::<Vec<_>>();
    let whole_ids = ids(&whole);
    assert!(
        ids(&first).iter().all(|id| whole_ids.contains(id)),
        "the first screenful is part of the whole answer"
    );
    let in_photos = {
        let mut r = Request::new("a photo", 12);
        r.all = true;
        r.filters.folder_ids = vec![photos_id];
        library.search(&r).expect("searches")
    };
    assert_eq!(in_photos.hits.len(), 12);
    assert!(
        in_photos.more,
        "as many as asked for: more may lie beyond (a 13th is not looked for)"
    );
}

#[test]
fn decompression_bomb_is_refused_before_allocation() {
    let err = decode::decode(
        &png_claiming(100_000, 100_000),
        224,
        decode::DEFAULT_MAX_PIXELS,
    )
    .expect_err("refused");
    assert!(
        err.0.contains("over the limit") || err.0.contains("unreadable header"),
        "{err}"
    );
    let err = decode::decode(
        &png_claiming(30_000, 30_000),
        224,
        decode::DEFAULT_MAX_PIXELS,
    )
    .expect_err("refused");
    assert!(
        err.0.contains("30000×30000 pixels is over the limit"),
        "{err}"
    );
}

#[test]
fn thumbnails_are_made_at_index_time_upright_and_served_by_id_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().join("photos");
    std::fs::create_dir_all(&folder).expect("mkdir");
    for name in ["chelsea_rotated.jpg", "chelsea_upright.jpg", "rocket.jpg"] {
        std::fs::copy(photos().join(name), folder.join(name)).expect("copy");
    }
    let library = open_library(&dir.path().join("library"));
    library.add_folder(&folder).expect("add");
    index(&library);
    let thumbs = walkdir_files(&dir.path().join("library").join("thumbnails"));
    assert_eq!(thumbs.len(), 3, "one thumbnail per image: {thumbs:?}");

    let id_of = |name: &str| {
        let request = clipstream_core::Request {
            all: true,
            ..clipstream_core::Request::new("a photo", 10)
        };
        library
            .search(&request)
            .expect("search")
            .hits
            .into_iter()
            .find(|h| file_name(&h.path) == name)
            .expect("indexed")
            .id
    };
    let decode = |bytes: Vec<u8>| image::load_from_memory(&bytes).expect("a JPEG").to_rgb8();
    // Upright and within the box: the EXIF-rotated twin's thumbnail matches the upright one's.
    let rotated = decode(
        library
            .thumbnail(id_of("chelsea_rotated.jpg"))
            .expect("thumb"),
    );
    let upright = decode(
        library
            .thumbnail(id_of("chelsea_upright.jpg"))
            .expect("thumb"),
    );
    assert_eq!(rotated.dimensions(), upright.dimensions());
    let (w, h) = upright.dimensions();
    assert_eq!(w.max(h), clipstream_core::ingest::thumbnail::BOX);
    assert!(w > h, "chelsea is landscape: {w}×{h}");
    let diff: f64 = rotated
        .as_raw()
        .iter()
        .zip(upright.as_raw())
        .map(|(a, b)| f64::from(a.abs_diff(*b)))
        .sum::<f64>()
        / rotated.as_raw().len() as f64;
    assert!(
        diff < 6.0,
        "rotated and upright thumbnails differ by {diff:.1} per channel"
    );

    // A preview is larger, also upright.
    let preview = decode(library.preview(id_of("rocket.jpg"), 2048).expect("preview"));
    assert!(preview.width().max(preview.height()) > clipstream_core::ingest::thumbnail::BOX);

    // A deleted thumbnail is made again from the catalogued original.
    for t in &thumbs {
        std::fs::remove_file(t).expect("rm");
    }
    let again = decode(
        library
            .thumbnail(id_of("chelsea_upright.jpg"))
            .expect("remade"),
    );
    assert_eq!(again.dimensions(), upright.dimensions());

    // A photo deleted from disk takes its thumbnail with it at the next run; removing the
    // folder takes the rest.
    std::fs::remove_file(folder.join("rocket.jpg")).expect("rm");
    let report = index(&library);
    assert_eq!(report.removed, 1);
    let thumbs_dir = dir.path().join("library").join("thumbnails");
    assert_eq!(
        walkdir_files(&thumbs_dir).len(),
        1,
        "only the remade chelsea thumbnail is left"
    );
    let folder_id = library.folder_at(&folder).expect("a library folder").id;
    library.remove_folder(folder_id).expect("remove folder");
    assert!(walkdir_files(&thumbs_dir).is_empty());

    // Ids that are not in the catalog are refused.
    for id in [0, -1, 999_999] {
        assert!(matches!(
            library.thumbnail(id),
            Err(Error::UnknownImage { .. })
        ));
        assert!(matches!(
            library.preview(id, 512),
            Err(Error::UnknownImage { .. })
        ));
    }
}

fn walkdir_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walkdir_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// This thread's nice value (field 19 of /proc/thread-self/stat).
fn nice_of_this_thread() -> i64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
    let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
    // Fields from the 3rd on; nice is the 19th overall.
    after_name
        .split_whitespace()
        .nth(19 - 3)
        .and_then(|n| n.parse().ok())
        .expect("nice value")
}

#[test]
fn a_background_run_works_at_low_priority_and_leaves_the_callers_thread_as_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = shape_folder(dir.path(), &["00300.png", "00301.png", "00302.png"]);
    let model = Model::open(tiny_clip()).expect("test model opens");
    let options = Options {
        background: true,
        ..Options::default()
    };
    let library = Library::open(&dir.path().join("library"), Some(&model), options).expect("opens");
    library.add_folder(&folder).expect("adds");
    let before = nice_of_this_thread();
    let mut seen = Vec::new();
    let report = library
        .index(
            &mut |_| seen.push(nice_of_this_thread()),
            &AtomicBool::new(false),
        )
        .expect("indexes");
    assert_eq!(report.added, 3);
    assert!(
        !seen.is_empty() && seen.iter().all(|&n| n > before),
        "{seen:?} vs {before}"
    );
    assert_eq!(
        nice_of_this_thread(),
        before,
        "the caller's thread keeps its priority"
    );
    let stages = &report.stages;
    assert!(
        stages.decode > 0.0 && stages.model > 0.0 && stages.commit > 0.0,
        "{stages:?}"
    );
}

/// A photo-like picture: smooth gradients, soft discs of colour, sensor-like noise.
fn photo_like(width: u32, height: u32, seed: u32) -> image::RgbImage {
    let discs: Vec<(f32, f32, f32, [f32; 3])> = (0..12u32)
        .map(|i| {
            let h = (i + 1)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(seed.wrapping_mul(40_503));
            let f = |shift: u32| ((h >> shift) & 0xFF) as f32 / 255.0;
            (
                f(0) * width as f32,
                f(8) * height as f32,
                (0.05 + 0.2 * f(16)) * width as f32,
                [f(3) * 255.0, f(11) * 255.0, f(19) * 255.0],
            )
        })
        .collect();
    image::RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let mut px = [
            255.0 * fx / width as f32,
            255.0 * fy / height as f32,
            128.0 + 60.0 * (fx / 300.0).sin(),
        ];
        for &(cx, cy, r, c) in &discs {
            let d = ((fx - cx).powi(2) + (fy - cy).powi(2)).sqrt();
            let w = (1.0 - d / r).clamp(0.0, 1.0);
            for k in 0..3 {
                px[k] = px[k] * (1.0 - w) + c[k] * w;
            }
        }
        let noise = ((x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ seed) % 9) as f32 - 4.0;
        image::Rgb(px.map(|v| (v + noise).clamp(0.0, 255.0) as u8))
    })
}

/// CLIP's reference preprocessing of `files` at `size` px, from the Python pipeline
/// (transformers' CLIPImageProcessor on PIL's full decode): one 3×size×size array per file.
fn reference_pixels(files: &[PathBuf], size: u32, out: &Path) -> Vec<Vec<f32>> {
    let python =
        std::env::var_os("PY").expect("PY (the model pipeline's Python, set by scripts/env.sh)");
    let status = std::process::Command::new(python)
        .current_dir(repo().join("models"))
        .args(["-m", "clipstream_models", "preprocess-reference", "--size"])
        .arg(size.to_string())
        .arg("--out")
        .arg(out)
        .args(files)
        .status()
        .expect("the Python pipeline runs");
    assert!(status.success(), "preprocess-reference failed");
    files
        .iter()
        .map(|f| {
            let name = format!("{}.f32", f.file_name().expect("name").to_string_lossy());
            std::fs::read(out.join(name))
                .expect("reference pixels")
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        })
        .collect()
}

#[test]
fn the_fast_decode_path_matches_clips_reference_preprocessing() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Generated 12-MP and 3-MP JPEGs (decoded at 1/8 and 1/4 of their size), and the real
    // photos of the fixtures (JPEGs among them, small enough to decode whole).
    let mut files = Vec::new();
    for (i, (w, h)) in [(4000, 3000), (3000, 4000), (2000, 1500)]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("generated-{w}x{h}.jpg"));
        photo_like(w, h, i as u32)
            .save_with_format(&path, image::ImageFormat::Jpeg)
            .expect("encode");
        files.push(path);
    }
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(photos())
        .expect("photos")
        .map(|e| e.expect("entry").path())
        .collect();
    fixtures.sort();
    files.extend(fixtures);
    let model = Model::open(tiny_clip()).expect("test model opens");
    let vision = clipstream_core::model::encoders::VisionEncoder::new(&model, 2).expect("vision");
    let tiny = model.manifest.vision.preprocess.clone();
    for (spec, label) in [(vit_b32_preprocess(), "224"), (tiny.clone(), "test model")] {
        let size = spec.resize_shortest_edge;
        let reference = reference_pixels(&files, size, &dir.path().join(format!("ref-{size}")));
        for (file, want) in files.iter().zip(&reference) {
            let bytes = std::fs::read(file).expect("read");
            let (decoded, _thumb) = decode::decode_with_thumbnail(
                &bytes,
                size,
                clipstream_core::ingest::thumbnail::BOX,
                decode::DEFAULT_MAX_PIXELS,
            )
            .expect("decodes");
            let got = embed::preprocess(&decoded.image, &spec);
            assert_eq!(got.len(), want.len());
            let plane = got.len() / 3;
            let mut worst = 0f32;
            for c in 0..3 {
                // In 8-bit levels: undo the normalisation's 1/(255·std).
                let levels = 255.0 * spec.std[c];
                let mean = got[c * plane..(c + 1) * plane]
                    .iter()
                    .zip(&want[c * plane..(c + 1) * plane])
                    .map(|(a, b)| (a - b).abs() * levels)
                    .sum::<f32>()
                    / plane as f32;
                worst = worst.max(mean);
            }
            let name = file
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let cos = if label == "test model" {
                let ours = vision
                    .encode_batch(std::slice::from_ref(&got))
                    .expect("encodes");
                let theirs = vision
                    .encode_batch(std::slice::from_ref(want))
                    .expect("encodes");
                cosine(&ours[0], &theirs[0])
            } else {
                1.0
            };
            eprintln!(
                "{name} at {label} px: mean |Δ| {worst:.3} levels (worst channel), embedding cosine {cos:.6}",
            );
            assert!(
                worst <= 2.0,
                "{name} at {size} px: mean |Δ| {worst:.3} levels"
            );
            assert!(cos >= 0.999, "{name}: test-model embedding cosine {cos}");
        }
    }
}

#[test]
fn a_run_shows_its_time_left_from_the_start_when_the_library_has_run_before() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first: Vec<String> = (0..24).map(|i| format!("{:05}.png", 400 + i)).collect();
    let folder = shape_folder(
        dir.path(),
        &first.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let library = open_library(&dir.path().join("library"));
    library.add_folder(&folder).expect("adds");
    index(&library);
    for i in 0..24 {
        let name = format!("{:05}.png", 500 + i);
        std::fs::copy(shapes().join(&name), folder.join(&name)).expect("copy");
    }
    let mut first_report = None;
    library
        .index(
            &mut |p| {
                if p.phase == clipstream_core::Phase::Indexing && first_report.is_none() {
                    first_report = Some(p.clone());
                }
            },
            &AtomicBool::new(false),
        )
        .expect("indexes");
    let p = first_report.expect("an indexing report");
    assert_eq!((p.done, p.to_process), (0, 24), "{p:?}");
    assert!(
        p.eta_s.is_some_and(|eta| eta > 0.0),
        "no time left shown before the first batch: {p:?}"
    );
}
