//! The vision model's resident memory alone: before and after loading, after a batch of 1 and
//! of 16, after unloading and after returning freed memory to the system.

use std::path::Path;

use clipstream_core::Model;
use clipstream_core::model::encoders::VisionEncoder;

use crate::measure::rss_mb;

pub fn run(model_dir: &Path, threads: usize) -> anyhow::Result<serde_json::Value> {
    let model = Model::open(model_dir)?;
    let base = rss_mb().0;
    let vision = VisionEncoder::new(&model, threads)?;
    let [ch, cw] = model.manifest.vision.preprocess.center_crop;
    let pixels = vec![vec![0.1f32; 3 * ch as usize * cw as usize]; 16];
    vision.encode_batch(&pixels[..1])?;
    let one = rss_mb().0;
    vision.encode_batch(&pixels)?;
    let sixteen = rss_mb().0;
    vision.unload();
    let unloaded = rss_mb().0;
    clipstream_core::memory::trim();
    let trimmed = rss_mb().0;
    Ok(serde_json::json!({
        "base_mb": base, "after_batch_1_mb": one, "after_batch_16_mb": sixteen,
        "after_unload_mb": unloaded, "after_trim_mb": trimmed, "peak_mb": rss_mb().1,
    }))
}
