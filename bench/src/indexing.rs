//! Indexing throughput: `Library::index` images/s on generated JPEGs against the bare vision model
//! fed preprocessed batches, at the same threads; per-stage times, peak memory, searches meanwhile.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context;
use clipstream_core::ingest::decode;
use clipstream_core::model::encoders::{self as embed, VisionEncoder};
use clipstream_core::{Library, Model, Options};

use crate::measure::{ms_since, percentiles, reset_peak_rss, rss_mb};
use crate::synthetic::{self, Photos};

pub fn run(
    model_dir: &Path,
    photos: &Photos,
    threads: Option<usize>,
    with_library: Option<&Path>,
) -> anyhow::Result<serde_json::Value> {
    let files = photos.files()?;
    let count = files.len();
    let bytes: u64 = files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    let model =
        Model::open(model_dir).with_context(|| format!("model in {}", model_dir.display()))?;
    let threads = threads.unwrap_or_else(embed::default_threads);

    // One photo's decode + resize + orient (+ thumbnail pixels) on one thread, as each worker
    // does per file, and the DCT scale its JPEG decodes at.
    let short_side = model.manifest.vision.preprocess.resize_shortest_edge;
    let mut decode_ms = decode_times(&files[..files.len().min(8)], short_side)?;
    decode_ms.sort_by(f64::total_cmp);
    let need = decode::Need {
        short: short_side,
        long: clipstream_core::ingest::thumbnail::BOX,
    };
    let scale = decode::jpeg::scale(photos.width, photos.height, need);

    // The product, alone; its memory (with the big library open, if given).
    let alone = index_once(
        &model,
        &photos.folder,
        &files[0],
        threads,
        with_library,
        false,
    )?;
    let (report, product) = (&alone.report, alone.images_per_s);
    // Again as the app runs it: at low priority, with searches meanwhile.
    let app = index_once(
        &model,
        &photos.folder,
        &files[0],
        threads,
        with_library,
        true,
    )?;
    let mut during = app.search_ms.clone();
    let (search_p50_during, search_p99_during) = if during.is_empty() {
        (f64::NAN, f64::NAN)
    } else {
        percentiles(&mut during)
    };

    // Bare model: the same number of images, already preprocessed, through the same session setup.
    let vision = VisionEncoder::new(&model, threads)?;
    let [ch, cw] = model.manifest.vision.preprocess.center_crop;
    let pixels = vec![vec![0.1f32; 3 * ch as usize * cw as usize]; 16];
    vision.encode_batch(&pixels[..2])?;
    let started = Instant::now();
    let mut done = 0;
    while done < count {
        let n = (count - done).min(16);
        vision.encode_batch(&pixels[..n])?;
        done += n;
    }
    let bare = count as f64 / started.elapsed().as_secs_f64();
    drop(vision);

    let summary = serde_json::json!({
        "images": count,
        "width": photos.width,
        "height": photos.height,
        "megapixels": f64::from(photos.width) * f64::from(photos.height) / 1e6,
        "mean_file_mib": bytes as f64 / count as f64 / (1024.0 * 1024.0),
        "jpeg_dct_scale": format!("1/{scale}"),
        "threads": threads,
        "decode_resize_ms_median_1_thread": decode_ms[decode_ms.len() / 2],
        "model": model.manifest.model_id,
        "product_images_per_s": product,
        "bare_model_images_per_s": bare,
        "ratio": product / bare,
        "per_image_ms": per_image_ms(report),
        "with_library": with_library.map(|p| p.display().to_string()),
        "rss_after_open_mb": alone.rss_open_mb,
        "rss_after_vision_load_mb": alone.rss_vision_mb,
        "indexing_peak_rss_mb": alone.rss_peak_mb,
        "app_rss_after_open_mb": app.rss_open_mb,
        "app_indexing_peak_rss_mb": app.rss_peak_mb,
        "app_priority_images_per_s_with_searches": app.images_per_s,
        "searches_during_run": during.len(),
        "search_p50_ms_during_run": search_p50_during,
        "search_p99_ms_during_run": search_p99_during,
    });
    Ok(summary)
}

/// What one bench run of `Library::index` gives.
pub struct IndexRun {
    pub report: clipstream_core::Report,
    pub images_per_s: f64,
    pub search_ms: Vec<f64>,
    /// Resident memory (MB) after opening the library, after loading the vision model, and at
    /// the peak of the run.
    rss_open_mb: f64,
    rss_vision_mb: f64,
    rss_peak_mb: f64,
}

/// One `Library::index` run over `folder` in a scratch library; with `searches`, another thread
/// searches every 100 ms meanwhile (as a person typing in the app), at the app's low indexing
/// priority.
pub fn index_once(
    model: &Model,
    folder: &Path,
    warm_up: &Path,
    threads: usize,
    template: Option<&Path>,
    searches: bool,
) -> anyhow::Result<IndexRun> {
    reset_peak_rss();
    let dir = scratch_library(template)?;
    let options = Options {
        threads,
        decode_threads: threads,
        // As the app runs it (low priority, text model loaded for searches), or as the CLI's
        // `index` does (normal priority, no text model).
        background: searches,
        text_at_open: searches,
        ..Options::default()
    };
    let library = Library::open(&dir, Some(model), options)?;
    let rss_open_mb = rss_mb().0;
    library.add_folder(folder)?;
    // Load the vision session first (it loads on first use), as the bare model's is loaded.
    library.image_embedding(warm_up)?;
    let rss_vision_mb = rss_mb().0;
    let done = AtomicBool::new(false);
    let mut latencies = Vec::new();
    let (report, seconds) = std::thread::scope(|scope| -> anyhow::Result<_> {
        if searches {
            scope.spawn(|| {
                let mut i = 0;
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let t = Instant::now();
                    // A new text every time, as typing makes: never a recent query's embedding.
                    let query = clipstream_core::Request::new(synthetic::query(i), 20);
                    if library.search(&query).is_ok() {
                        latencies.push(ms_since(t));
                    }
                    i += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            });
        }
        let started = Instant::now();
        let report = library.index(&mut |_| {}, &AtomicBool::new(false));
        let seconds = started.elapsed().as_secs_f64();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok((report?, seconds))
    })?;
    let rss_peak_mb = rss_mb().1;
    drop(library);
    std::fs::remove_dir_all(&dir)?;
    Ok(IndexRun {
        images_per_s: report.added as f64 / seconds,
        report,
        search_ms: latencies,
        rss_open_mb,
        rss_vision_mb,
        rss_peak_mb,
    })
}

/// Milliseconds per image of each stage of a run.
pub fn per_image_ms(report: &clipstream_core::Report) -> serde_json::Value {
    let n = report.added.max(1) as f64;
    let s = &report.stages;
    let ms = |secs: f64| 1000.0 * secs / n;
    serde_json::json!({
        "read": ms(s.read), "hash": ms(s.hash), "decode_resize_orient": ms(s.decode),
        "thumbnail": ms(s.thumbnail), "preprocess": ms(s.preprocess), "model": ms(s.model),
        "commit": ms(s.commit),
        "decode_side_total": ms(s.read + s.hash + s.decode + s.thumbnail + s.preprocess),
    })
}

/// A fresh library folder for one run: empty, or a copy of `template`'s catalog and index.
fn scratch_library(template: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("clipstream-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    if let Some(template) = template {
        crate::synthetic::copy_library(template, &dir)?;
    }
    Ok(dir)
}

/// Each file's decode + resize + orient (+ thumbnail pixels) on this thread, as an indexing
/// worker does it, in milliseconds.
pub fn decode_times(files: &[PathBuf], short_side: u32) -> anyhow::Result<Vec<f64>> {
    let mut times = Vec::with_capacity(files.len());
    for path in files {
        let bytes = std::fs::read(path)?;
        let t = Instant::now();
        decode::decode_with_thumbnail(
            &bytes,
            short_side,
            clipstream_core::ingest::thumbnail::BOX,
            decode::DEFAULT_MAX_PIXELS,
        )
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        times.push(ms_since(t));
    }
    Ok(times)
}
