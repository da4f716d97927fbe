//! One JPEG's decode, step by step: the product's whole call and its parts alone (EXIF date,
//! BLAKE3, libjpeg-turbo scaled and full, `image` full), medians over a folder on one thread.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clipstream_core::ingest::decode;

use crate::measure::{ms_since, percentiles};

/// One JPEG's decode in steps: the whole product call, and its parts measured alone.
pub fn run(folder: &Path, short_side: u32) -> anyhow::Result<serde_json::Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no JPEGs in {}", folder.display());
    let need = decode::Need {
        short: short_side,
        long: clipstream_core::ingest::thumbnail::BOX,
    };
    let mut steps: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    let mut time = |name, work: &mut dyn FnMut()| {
        let t = Instant::now();
        work();
        steps.entry(name).or_default().push(ms_since(t));
    };
    for path in &files {
        let bytes = std::fs::read(path)?;
        let header = turbojpeg::read_header(&bytes)?;
        let size = (u32::try_from(header.width)?, u32::try_from(header.height)?);
        time("complete_check", &mut || {
            decode::jpeg::is_complete(&bytes);
        });
        time("exif_date", &mut || {
            decode::taken_at(&bytes);
        });
        time("blake3", &mut || {
            blake3::hash(&bytes);
        });
        // The core's own DCT-scaled decode, at the scale it picks for the model and thumbnail.
        time("turbojpeg_scaled", &mut || {
            decode::jpeg::decode_scaled(&bytes, size, need).expect("libjpeg-turbo decodes it");
        });
        time("turbojpeg_full", &mut || {
            turbojpeg::decompress(&bytes, turbojpeg::PixelFormat::RGB).expect("decodes");
        });
        time("image_crate_full", &mut || {
            image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).expect("decodes");
        });
        time("product_decode_with_thumbnail", &mut || {
            decode::decode_with_thumbnail(
                &bytes,
                short_side,
                clipstream_core::ingest::thumbnail::BOX,
                decode::DEFAULT_MAX_PIXELS,
            )
            .expect("decodes");
        });
    }
    let medians: serde_json::Map<String, serde_json::Value> = steps
        .into_iter()
        .map(|(name, mut v)| (name.to_string(), percentiles(&mut v).0.into()))
        .collect();
    Ok(serde_json::json!({ "files": files.len(), "median_ms": medians }))
}
