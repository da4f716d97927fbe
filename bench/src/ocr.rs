//! Reading the words in photos: the product's OCR ([`clipstream_core::ingest::words`]) on a folder
//! of images, written in the shape of the Python reference's results (`ocr-reference`), so
//! `python -m clipstream_models ocr-score` scores both alike (`ocr-read`); and what reading words
//! costs (`ocr`, [`run`]): the product's read of one photo, indexing with and without it, and
//! text search over a library of photos with words ([`crate::text_search`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clipstream_core::ingest::decode;
use clipstream_core::ingest::words::{self, Effort, GLANCE, Reader};
use clipstream_core::{Library, Model, Options};
use serde_json::json;

use crate::indexing;
use crate::measure::ms_since;
use crate::synthetic::Photos;

/// Every image in `folder` read at `effort` after decoding it upright to fit `fit` px (the whole
/// image when `None`); boxes in the upright image's own pixels.
pub fn read(
    folder: &Path,
    effort: &Effort,
    fit: Option<u32>,
    threads: usize,
) -> anyhow::Result<serde_json::Value> {
    let dir = words::locate().ok_or_else(|| anyhow::anyhow!("no OCR models (make setup)"))?;
    let reader = Reader::open(&dir, threads)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| clipstream_core::ingest::scan::kind_of(p).is_some())
        .collect();
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no images in {}", folder.display());
    let mut images = BTreeMap::new();
    for path in &files {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let bytes = std::fs::read(path)?;
        let t = Instant::now();
        let full = decode::decode_to_fit(&bytes, u32::MAX, decode::DEFAULT_MAX_PIXELS);
        let (Ok(upright), decode_ms) = (full, ms_since(t)) else {
            images.insert(name, json!({"error": "not decoded", "lines": []}));
            continue;
        };
        let (w, h) = upright.dimensions();
        let image = match fit {
            Some(side) if w.max(h) > side => {
                let s = side as f32 / w.max(h) as f32;
                let (fw, fh) = (
                    ((w as f32 * s).round() as u32).max(1),
                    ((h as f32 * s).round() as u32).max(1),
                );
                image::imageops::resize(&upright, fw, fh, image::imageops::FilterType::Triangle)
            }
            _ => upright,
        };
        let back = w as f32 / image.width() as f32;
        let t = Instant::now();
        let lines = reader.read(&image, effort)?;
        let ms = ms_since(t);
        let lines: Vec<_> = lines
            .iter()
            .map(|l| {
                json!({
                    "box": l.quad.iter().map(|&(x, y)| [x * back, y * back]).collect::<Vec<_>>(),
                    "text": l.text,
                    "score": l.score,
                })
            })
            .collect();
        images.insert(
            name,
            json!({"lines": lines, "ms": ms, "decode_ms": decode_ms, "size": [w, h]}),
        );
    }
    Ok(json!({
        "reader": "clipstream (Rust)",
        "models": dir,
        "effort": {"min_side": effort.min_side, "max_side": effort.max_side, "text_score": effort.text_score,
                   "max_lines": effort.max_lines, "gate_side": effort.gate_side, "fit": fit},
        "images": images,
    }))
}

/// The four photos of the corpus that time the OCR, and the summary's name for each.
pub const TIMING: [(&str, &str); 4] = [
    ("no_text", "timing-no_text-12mp.jpg"),
    ("text_heavy", "timing-text_heavy-12mp.jpg"),
    ("no_text_3mp", "timing-no_text-3mp.jpg"),
    ("text_heavy_3mp", "timing-text_heavy-3mp.jpg"),
];

/// The corpus's kinds of camera-like photos with text the mixed set draws from, in turn.
const TEXT_KINDS: [&str; 5] = ["photo_text", "receipt", "street_sign", "chinese", "sticker"];

/// What `clipstream-bench ocr` measures (see [`run`]).
#[derive(clap::Args)]
pub struct OcrBench {
    /// The OCR corpus (`python -m clipstream_models ocr-corpus --out DIR`).
    #[arg(long)]
    pub corpus: PathBuf,
    /// Model folder (manifest.json), e.g. models/build/random-vit-b-32.
    #[arg(long)]
    pub model: PathBuf,
    /// Generated 12-MP JPEGs without text, as `indexing`'s (made when the folder is empty).
    #[arg(long)]
    pub photos: Option<PathBuf>,
    /// Where the mixed set is made (once): those photos and the corpus's text photos at 12 MP.
    #[arg(long)]
    pub mixed_folder: Option<PathBuf>,
    /// Photos in the mixed set.
    #[arg(long, default_value_t = 32)]
    pub mixed: usize,
    /// One photo in this many holds text.
    #[arg(long, default_value_t = 8)]
    pub text_every: usize,
    /// The library whose copy is given words (the one `search --rebuild` made).
    #[arg(long)]
    pub library_template: Option<PathBuf>,
    /// Where that copy is kept (made once; default: the template's path + "-words").
    #[arg(long)]
    pub words_library: Option<PathBuf>,
    /// Share of the copy's photos given words.
    #[arg(long, default_value_t = 0.15)]
    pub text_share: f64,
    /// Timed reads per timing photo, after one warm-up.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Indexing runs of the mixed set per mode (without and with OCR, alternated; medians).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Rounds of the 60 text queries.
    #[arg(long, default_value_t = 3)]
    pub search_rounds: usize,
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Which parts to measure: per-photo, indexing, text-search.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "per-photo,indexing,text-search"
    )]
    pub parts: Vec<String>,
}

/// The CPU's model and the SIMD flags the figures depend on, from /proc/cpuinfo: this step is
/// often run alone, so its JSON names its machine itself (the summary does so for a whole run).
pub fn cpu() -> serde_json::Value {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let flags = field("flags");
    let have: Vec<&str> = flags.split_whitespace().collect();
    let wanted = [
        "avx2",
        "avx512f",
        "avx512_vnni",
        "avx_vnni",
        "avx512_bf16",
        "amx_bf16",
        "amx_tile",
    ];
    let simd: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|f| have.contains(f))
        .collect();
    json!({
        "model": field("model name"),
        "logical_cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpu_flags": simd.join(" "),
    })
}

/// The 1, 5 and 15 minute load averages (other work on the machine shows here).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn median(times: &mut [f64]) -> f64 {
    crate::measure::percentiles(times).0
}

/// Each part `bench.parts` names, with the CPU and the load average before and after.
pub fn run(bench: &OcrBench) -> anyhow::Result<serde_json::Value> {
    let wants = |part: &str| bench.parts.iter().any(|p| p == part);
    for p in &bench.parts {
        anyhow::ensure!(
            ["per-photo", "indexing", "text-search"].contains(&p.as_str()),
            "--parts takes per-photo, indexing, text-search; not {p}"
        );
    }
    let dir = words::locate().ok_or_else(|| anyhow::anyhow!("no OCR models (make setup)"))?;
    let mut out = json!({
        "cpu": cpu(),
        "load_average_before": load_average(),
        "threads": bench.threads,
        "ocr_models": dir,
        "reader": words::reader_name(&dir),
    });
    if wants("per-photo") {
        eprintln!("ocr: the product's read of each timing photo");
        let (figures, detail) = per_photo(&bench.corpus, &dir, bench.threads, bench.runs)?;
        out["ocr_ms_per_image"] = figures;
        out["ocr_per_image_detail"] = detail;
    }
    if wants("indexing") {
        eprintln!("ocr: indexing the mixed set with and without reading words");
        out["indexing"] = mixed_indexing(bench, &dir)?;
    }
    if wants("text-search") {
        eprintln!("ocr: text search over a library with words");
        let template = bench
            .library_template
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("text-search needs --library-template"))?;
        let copy = bench.words_library.clone().unwrap_or_else(|| {
            let mut name = template.as_os_str().to_owned();
            name.push("-words");
            PathBuf::from(name)
        });
        out["text_search"] = crate::text_search::run(
            &bench.model,
            template,
            &copy,
            bench.text_share,
            bench.threads,
            bench.search_rounds,
        )?;
    }
    out["load_average_after"] = json!(load_average());
    Ok(out)
}

/// The product's read of each timing photo (`words::read_photo` on the file's bytes: a glance decoded
/// at [`words::GLANCE`] px and the detector's gate; if it finds text, a decode at
/// [`Effort::PRODUCT_FIT`] and the full read), median of `runs` after one warm-up; and its steps
/// timed apart, medians as well.
fn per_photo(
    corpus: &Path,
    dir: &Path,
    threads: usize,
    runs: usize,
) -> anyhow::Result<(serde_json::Value, serde_json::Value)> {
    let runs = runs.max(1);
    let reader = Reader::open(dir, threads)?;
    let max_pixels = clipstream_core::Options::default().max_pixels;
    let mut figures = serde_json::Map::new();
    let mut detail = serde_json::Map::new();
    for (key, file) in TIMING {
        let path = corpus.join(file);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let read = || -> anyhow::Result<usize> {
            match words::read_photo(&reader, &bytes, words::Glance::Decode, max_pixels)? {
                Ok(lines) => Ok(lines.len()),
                Err(e) => anyhow::bail!("{}: not decoded: {e}", path.display()),
            }
        };
        read()?; // warm-up
        let mut times = Vec::with_capacity(runs);
        let mut lines = 0;
        for _ in 0..runs {
            let t = Instant::now();
            lines = read()?;
            times.push(ms_since(t));
        }
        // The same steps one by one, to show where the time goes.
        let (mut glance_decode, mut gate, mut full_decode, mut full_read) =
            (vec![], vec![], vec![], vec![]);
        let mut has_text = false;
        for _ in 0..runs {
            let t = Instant::now();
            let glance = decode::decode_to_fit(&bytes, GLANCE, max_pixels)
                .map_err(|e| anyhow::anyhow!(e.0))?;
            glance_decode.push(ms_since(t));
            let t = Instant::now();
            has_text = reader.has_text(&glance, GLANCE)?;
            gate.push(ms_since(t));
            if has_text {
                let t = Instant::now();
                let image = decode::decode_to_fit(&bytes, Effort::PRODUCT_FIT, max_pixels)
                    .map_err(|e| anyhow::anyhow!(e.0))?;
                full_decode.push(ms_since(t));
                let t = Instant::now();
                reader.read(
                    &image,
                    &Effort {
                        gate_side: 0,
                        ..Effort::PRODUCT
                    },
                )?;
                full_read.push(ms_since(t));
            }
        }
        let (w, h) = image::ImageReader::new(std::io::Cursor::new(&bytes))
            .with_guessed_format()?
            .into_dimensions()?;
        let (mut sorted, n) = (times.clone(), times.len());
        sorted.sort_by(f64::total_cmp);
        let value = median(&mut times);
        let opt_median = |v: &mut Vec<f64>| (!v.is_empty()).then(|| median(v));
        figures.insert(key.into(), json!(value));
        detail.insert(
            key.into(),
            json!({
                "file": file,
                "size": [w, h],
                "file_kib": bytes.len() / 1024,
                "median_ms": value,
                "min_ms": sorted[0],
                "max_ms": sorted[n - 1],
                "runs": n,
                "lines": lines,
                "gate_found_text": has_text,
                "steps_median_ms": {
                    "glance_decode": median(&mut glance_decode),
                    "gate": median(&mut gate),
                    "full_decode": opt_median(&mut full_decode),
                    "full_read": opt_median(&mut full_read),
                },
            }),
        );
    }
    figures.insert("runs".into(), json!(runs));
    Ok((
        serde_json::Value::Object(figures),
        serde_json::Value::Object(detail),
    ))
}

/// The mixed set in `folder`, made once: `count` photos, one in `every` (at least one) a
/// camera-like photo with text from the corpus scaled up to ~12 MP (JPEG, quality 90), the
/// others `photos`' generated 12-MP JPEGs without text (hard links). Returns its files and which
/// of them hold text.
fn mixed_set(
    corpus: &Path,
    photos: &Path,
    folder: &Path,
    count: usize,
    every: usize,
) -> anyhow::Result<(Vec<PathBuf>, Vec<String>)> {
    anyhow::ensure!(count >= 2 && every >= 1, "--mixed must be 2 or more");
    let text = (count / every).clamp(1, count - 1);
    // Text photos spread evenly: for 32 and 8, at 8th, 16th, 24th, 32nd.
    let text_at: Vec<usize> = (0..text).map(|j| (j + 1) * count / text - 1).collect();
    let sources: Vec<PathBuf> = (0..text)
        .map(|j| {
            corpus.join(format!(
                "{}-{:02}.jpg",
                TEXT_KINDS[j % TEXT_KINDS.len()],
                j / TEXT_KINDS.len()
            ))
        })
        .collect();
    let name = |i: usize| folder.join(format!("mix_{i:03}.jpg"));
    let made = (0..count).all(|i| name(i).is_file()) && std::fs::read_dir(folder)?.count() == count;
    if !made {
        let plain = Photos {
            folder: photos.to_path_buf(),
            count: count - text,
            width: 4000,
            height: 3000,
        }
        .files()?;
        anyhow::ensure!(
            plain.len() >= count - text,
            "{} holds {} photos; the mixed set needs {} without text (empty it to have them made)",
            photos.display(),
            plain.len(),
            count - text
        );
        let _ = std::fs::remove_dir_all(folder);
        std::fs::create_dir_all(folder)?;
        eprintln!(
            "ocr: making the mixed set of {count} photos ({text} with text) in {}",
            folder.display()
        );
        let mut plain = plain.into_iter();
        let mut sources = sources.iter();
        for i in 0..count {
            if text_at.contains(&i) {
                let src = sources.next().expect("one source per text photo");
                let img = image::open(src)
                    .with_context(|| format!("reading {}", src.display()))?
                    .to_rgb8();
                let (w, h) = img.dimensions();
                let s = (12e6 / (f64::from(w) * f64::from(h))).sqrt();
                let (sw, sh) = (
                    (f64::from(w) * s).round() as u32,
                    (f64::from(h) * s).round() as u32,
                );
                let big =
                    image::imageops::resize(&img, sw, sh, image::imageops::FilterType::CatmullRom);
                let mut out = std::io::BufWriter::new(std::fs::File::create(name(i))?);
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
                    .encode_image(&big)?;
            } else {
                let src = plain.next().expect("enough photos without text");
                if std::fs::hard_link(&src, name(i)).is_err() {
                    std::fs::copy(&src, name(i))?;
                }
            }
        }
    }
    let files = (0..count).map(name).collect();
    let with_text = text_at
        .iter()
        .zip(&sources)
        .map(|(i, s)| {
            format!(
                "mix_{i:03}.jpg: {}",
                s.file_name().unwrap_or_default().to_string_lossy()
            )
        })
        .collect();
    Ok((files, with_text))
}

/// One indexing of the mixed set into a fresh library: `Library::index`, then, with OCR,
/// `Library::read_words` (the photos the glance found text in), wall time of both.
fn index_mixed(
    model: &Model,
    folder: &Path,
    warm_up: &Path,
    threads: usize,
    with_ocr: bool,
    tag: &str,
) -> anyhow::Result<serde_json::Value> {
    let dir =
        std::env::temp_dir().join(format!("clipstream-bench-ocr-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let options = Options {
        threads,
        decode_threads: threads,
        background: false,
        text_at_open: false,
        read_words: with_ocr,
        ..Options::default()
    };
    let measured = (|| -> anyhow::Result<serde_json::Value> {
        let library = Library::open(&dir, Some(model), options)?;
        library.add_folder(folder)?;
        // The vision session loaded first, as `indexing` does; the OCR models load inside the run,
        // as the product loads them (once, for the glances; the reading pass after it uses them).
        library.image_embedding(warm_up)?;
        let cancel = AtomicBool::new(false);
        let started = Instant::now();
        let report = library.index(&mut |_| {}, &cancel)?;
        let index_s = started.elapsed().as_secs_f64();
        let words = if with_ocr {
            let t = Instant::now();
            let words = library.read_words(&mut |_| {}, &cancel)?;
            Some((words, t.elapsed().as_secs_f64()))
        } else {
            None
        };
        let total_s = index_s + words.as_ref().map_or(0.0, |w| w.1);
        anyhow::ensure!(
            report.words_error.is_none(),
            "the glance failed: {:?}",
            report.words_error
        );
        let n = report.added.max(1) as f64;
        let mut per_image = indexing::per_image_ms(&report);
        per_image["glance"] = json!(1000.0 * report.stages.glance / n);
        Ok(json!({
            "with_ocr": with_ocr,
            "images": report.added,
            "images_per_s": report.added as f64 / total_s,
            "seconds": total_s,
            "index_s": index_s,
            "words_pass_s": words.as_ref().map(|w| w.1),
            "stages_s": report.stages,
            "per_image_ms": per_image,
            "words": words.map(|w| w.0),
        }))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    measured
}

/// Indexing images/s of the mixed set, without and with reading words (alternated, `rounds` of
/// each, fresh libraries; medians), and where the time goes.
fn mixed_indexing(bench: &OcrBench, dir: &Path) -> anyhow::Result<serde_json::Value> {
    let need = |o: &Option<PathBuf>, arg: &str| {
        o.clone()
            .ok_or_else(|| anyhow::anyhow!("indexing needs {arg}"))
    };
    let (photos, folder) = (
        need(&bench.photos, "--photos")?,
        need(&bench.mixed_folder, "--mixed-folder")?,
    );
    let (files, with_text) = mixed_set(
        &bench.corpus,
        &photos,
        &folder,
        bench.mixed,
        bench.text_every,
    )?;
    let model =
        Model::open(&bench.model).with_context(|| format!("model in {}", bench.model.display()))?;
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for round in 0..bench.rounds.max(1) {
        without.push(index_mixed(
            &model,
            &folder,
            &files[0],
            bench.threads,
            false,
            &format!("{round}-without"),
        )?);
        with.push(index_mixed(
            &model,
            &folder,
            &files[0],
            bench.threads,
            true,
            &format!("{round}-with"),
        )?);
    }
    // The OCR models' load, which each run with OCR pays once (inside its time).
    let t = Instant::now();
    drop(Reader::open(dir, bench.threads)?);
    let load_ms = ms_since(t);
    let rate = |runs: &[serde_json::Value]| {
        let mut v: Vec<f64> = runs
            .iter()
            .filter_map(|r| r["images_per_s"].as_f64())
            .collect();
        median(&mut v)
    };
    let (product_without, product_with) = (rate(&without), rate(&with));
    let bytes: u64 = files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    Ok(json!({
        "product_with_ocr": product_with,
        "product_without_ocr": product_without,
        "ocr_ratio": product_with / product_without,
        "images": files.len(),
        "with_text": with_text,
        "mix": format!(
            "{} photos: {} generated 12-MP JPEGs without text (as `indexing`'s), {} camera-like photos \
             with text from the OCR corpus scaled up to ~12 MP (JPEG q90)",
            files.len(), files.len() - with_text.len(), with_text.len()
        ),
        "mean_file_mib": bytes as f64 / files.len() as f64 / (1024.0 * 1024.0),
        "rounds": bench.rounds.max(1),
        "ocr_models_load_ms": load_ms,
        "model": model.manifest.model_id,
        "runs_without_ocr": without,
        "runs_with_ocr": with,
    }))
}
