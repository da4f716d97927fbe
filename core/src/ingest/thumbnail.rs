//! Small JPEG thumbnails made while indexing and kept in the library folder, keyed by the image's
//! content hash: a moved or copied photo keeps its thumbnail, and a thumbnail is never taken from
//! a path someone asked for, only from a catalogued image.

use std::collections::HashSet;
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
    let hex = blake3::Hash::from_bytes(*hash).to_hex();
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

/// Delete the thumbnails of content no catalogued image has (photos deleted, or whose folder left
/// the library). Returns how many were deleted. A thumbnail another process wrote a moment ago
/// for an image it has not committed yet may go too: it is made again when first shown.
pub fn prune(library: &Path, catalogued: &HashSet<[u8; 32]>) -> usize {
    let keep: HashSet<String> = catalogued
        .iter()
        .map(|h| blake3::Hash::from_bytes(*h).to_hex().to_string())
        .collect();
    let Ok(shards) = std::fs::read_dir(library.join(FOLDER)) else {
        return 0;
    };
    let mut deleted = 0;
    for file in shards
        .flatten()
        .filter_map(|shard| std::fs::read_dir(shard.path()).ok())
        .flatten()
        .flatten()
    {
        let name = file.file_name();
        let stem = name.to_string_lossy();
        let Some(hex) = stem.strip_suffix(".jpg") else {
            continue;
        };
        if !keep.contains(hex) && std::fs::remove_file(file.path()).is_ok() {
            deleted += 1;
        }
    }
    deleted
}
