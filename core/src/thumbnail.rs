//! Small JPEG thumbnails made while indexing and kept in the library folder, keyed by the image's
//! content hash: a moved or copied photo keeps its thumbnail, and a thumbnail is never taken from
//! a path someone asked for, only from a catalogued image.

use std::path::{Path, PathBuf};

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;

use crate::{Error, Result};

/// Thumbnails fit in this many pixels per side (a 160-px grid cell on a 2× screen).
pub const BOX: u32 = 320;
const QUALITY: u8 = 80;
/// The folder inside the library.
pub const FOLDER: &str = "thumbnails";

/// Where the thumbnail of the image whose BLAKE3 hash is `hash` lives.
pub fn path(library: &Path, hash: &[u8; 32]) -> PathBuf {
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    library
        .join(FOLDER)
        .join(&hex[..2])
        .join(format!("{hex}.jpg"))
}

/// Encode an RGB image as JPEG.
pub fn jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Vec::with_capacity(image.as_raw().len() / 8);
    JpegEncoder::new_with_quality(&mut out, quality).encode_image(image)?;
    Ok(out)
}

/// Encode and store a thumbnail; written beside its final name and renamed, so a crash never
/// leaves half a file under the real name.
pub fn store(library: &Path, hash: &[u8; 32], image: &RgbImage) -> Result<Vec<u8>> {
    let target = path(library, hash);
    let io = |e: &dyn std::fmt::Display| Error::Io {
        path: target.clone(),
        reason: e.to_string(),
    };
    let bytes = jpeg(image, QUALITY).map_err(|e| io(&e))?;
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io(&e))?;
    }
    let partial = target.with_extension(format!("{}.partial", std::process::id()));
    std::fs::write(&partial, &bytes).map_err(|e| io(&e))?;
    std::fs::rename(&partial, &target).map_err(|e| io(&e))?;
    Ok(bytes)
}
