//! Indexing per format: the same photos as JPEG, HEIC, AVIF, JPEG XL and DNG, each format's decode
//! and `Library::index` images/s; and whether a HEIC's own thumbnail could feed the model instead.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clipstream_core::Model;
use clipstream_core::ingest::decode;
use clipstream_core::model::encoders::{self as embed, VisionEncoder};

use crate::indexing::{decode_times, index_once, per_image_ms};
use crate::measure::{cosine, ms_since, percentiles};
use crate::synthetic::Photos;

pub fn run(
    model_dir: &Path,
    photos: &Photos,
    root: &Path,
    threads: usize,
) -> anyhow::Result<serde_json::Value> {
    let jpegs = photos.files()?;
    let model = Model::open(model_dir)?;
    let short_side = model.manifest.vision.preprocess.resize_shortest_edge;
    let mut rows = Vec::new();
    for (name, folder) in format_folders(&jpegs, root)? {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)?
            .filter_map(|e| Some(e.ok()?.path()))
            .collect();
        files.sort();
        let bytes: u64 = files
            .iter()
            .filter_map(|f| f.metadata().ok())
            .map(|m| m.len())
            .sum();
        let mut decode_ms = decode_times(&files, short_side)?;
        let run = index_once(&model, &folder, &files[0], threads, None, false)?;
        rows.push(serde_json::json!({
            "format": name,
            "files": files.len(),
            "mean_file_mib": bytes as f64 / files.len() as f64 / (1024.0 * 1024.0),
            "decode_ms_median_1_thread": percentiles(&mut decode_ms).0,
            "index_images_per_s": run.images_per_s,
            "per_image_ms": per_image_ms(&run.report),
        }));
    }
    Ok(serde_json::json!({
        "width": photos.width, "height": photos.height, "threads": threads,
        "formats": rows,
        "heic_thumbnail": heic_thumbnail_quality(&model, &root.join("heic"), threads)?,
    }))
}

/// Whether the 320-px thumbnail a HEIC carries could stand in for its full decode: the model
/// input from each (CLIP's resize and crop) and the vision model's embeddings of both.
fn heic_thumbnail_quality(
    model: &Model,
    folder: &Path,
    threads: usize,
) -> anyhow::Result<serde_json::Value> {
    use libheif_rs::{ColorSpace, HeifContext, ItemId, LibHeif, RgbChroma};
    let spec = &model.manifest.vision.preprocess;
    let vision = VisionEncoder::new(model, threads)?;
    let (mut diffs, mut cosines, mut thumb_ms, mut full_ms) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    files.sort();
    for path in files {
        let bytes = std::fs::read(&path)?;
        let t = Instant::now();
        let full = decode::decode(
            &bytes,
            spec.resize_shortest_edge,
            decode::DEFAULT_MAX_PIXELS,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        full_ms.push(ms_since(t));
        let t = Instant::now();
        let context = HeifContext::read_from_bytes(&bytes)?;
        let primary = context.primary_image_handle()?;
        let mut ids: [ItemId; 1] = [0];
        anyhow::ensure!(
            primary.thumbnail_ids(&mut ids) == 1,
            "{} has no thumbnail",
            path.display()
        );
        let thumb = LibHeif::new().decode(
            &primary.thumbnail(ids[0])?,
            ColorSpace::Rgb(RgbChroma::Rgb),
            None,
        )?;
        let plane = thumb.planes().interleaved.context("interleaved plane")?;
        let mut rgb = image::RgbImage::new(plane.width, plane.height);
        for (y, row) in rgb
            .as_mut()
            .chunks_exact_mut(3 * plane.width as usize)
            .enumerate()
        {
            row.copy_from_slice(&plane.data[y * plane.stride..y * plane.stride + row.len()]);
        }
        let (w, h) = decode::resized_size(rgb.width(), rgb.height(), spec.resize_shortest_edge);
        let small = image::imageops::resize(&rgb, w, h, image::imageops::FilterType::CatmullRom);
        thumb_ms.push(ms_since(t));
        let (a, b) = (
            embed::preprocess(&full.image, spec),
            embed::preprocess(&small, spec),
        );
        let levels = 255.0 * spec.std[0];
        diffs.push(
            a.iter()
                .zip(&b)
                .map(|(x, y)| f64::from((x - y).abs() * levels))
                .sum::<f64>()
                / a.len() as f64,
        );
        let e = vision.encode_batch(&[a, b])?;
        cosines.push(cosine(&e[0], &e[1]));
    }
    Ok(serde_json::json!({
        "thumbnail_decode_ms_median": percentiles(&mut thumb_ms).0,
        "full_decode_ms_median": percentiles(&mut full_ms).0,
        "model_input_mean_abs_levels_median": percentiles(&mut diffs).0,
        "embedding_cosine_min": cosines.iter().cloned().fold(f64::INFINITY, f64::min),
        "embedding_cosine_mean": cosines.iter().sum::<f64>() / cosines.len() as f64,
    }))
}

/// The generated JPEGs again in each format (made once).
fn format_folders(jpegs: &[PathBuf], root: &Path) -> anyhow::Result<Vec<(&'static str, PathBuf)>> {
    let mut out = vec![("jpeg", root.join("jpeg"))];
    for (ext, dir) in [
        ("heic", "heic"),
        ("avif", "avif"),
        ("jxl", "jxl"),
        ("dng", "dng"),
    ] {
        let folder = root.join(dir);
        std::fs::create_dir_all(&folder)?;
        for jpeg in jpegs {
            let target = folder.join(jpeg.with_extension(ext).file_name().expect("name"));
            if target.is_file() {
                continue;
            }
            eprintln!("making {}", target.display());
            match ext {
                // A 320-px thumbnail in the file, as phones write.
                "heic" => convert(
                    "heif-enc",
                    &[
                        "-q".as_ref(),
                        "85".as_ref(),
                        "-t".as_ref(),
                        "320".as_ref(),
                        jpeg.as_os_str(),
                        "-o".as_ref(),
                        target.as_os_str(),
                    ],
                )?,
                "avif" => convert(
                    "heif-enc",
                    &[
                        "-A".as_ref(),
                        "-q".as_ref(),
                        "85".as_ref(),
                        jpeg.as_os_str(),
                        "-o".as_ref(),
                        target.as_os_str(),
                    ],
                )?,
                "jxl" => convert(
                    "cjxl",
                    &[
                        jpeg.as_os_str(),
                        target.as_os_str(),
                        "--lossless_jpeg=0".as_ref(),
                        "-q".as_ref(),
                        "90".as_ref(),
                    ],
                )?,
                _ => {
                    // rawler's DNG writer: linear RGB "sensor" data and its largest (1024-px) preview.
                    use rawler::dng::writer::DngWriter;
                    use rawler::dng::{DNG_VERSION_V1_4, DngCompression};
                    let picture = image::open(jpeg)?;
                    let rgb = picture.to_rgb8();
                    let mut file = std::io::BufWriter::new(std::fs::File::create(&target)?);
                    let mut dng = DngWriter::new(&mut file, DNG_VERSION_V1_4)?;
                    let mut raw = dng.subframe(0);
                    raw.rgb_image_u8(
                        rgb.as_raw(),
                        rgb.width() as usize,
                        rgb.height() as usize,
                        DngCompression::Uncompressed,
                        1,
                    )?;
                    raw.finalize()?;
                    let mut preview = dng.subframe(1);
                    preview.preview(&picture, 0.9)?;
                    preview.finalize()?;
                    dng.close()?;
                }
            }
        }
        out.push((ext, folder));
    }
    Ok(out)
}

/// Run a converter, failing with its name when it is missing or fails.
fn convert(program: &str, args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program} (`scripts/setup.sh --bench` installs it)"))?;
    anyhow::ensure!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
