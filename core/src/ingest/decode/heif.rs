//! HEIC/HEIF and AVIF through the system's libheif (HEVC by libde265, AV1 by dav1d/aom). The
//! primary image only (depth maps, auxiliary images and thumbnails are other items); libheif
//! assembles grid tiles and applies the file's `irot`/`imir` transforms, so the picture comes out
//! upright and EXIF orientation must not be applied again. 10-bit images are converted to 8 bits;
//! transparency is laid over white.

use image::RgbImage;
use libheif_rs::{ColorSpace, HeifContext, ItemId, LibHeif, RgbChroma};

use super::{Format, Unreadable, check_size};

/// The file's primary image, upright, with its EXIF date.
pub(super) struct Heif {
    pub rgb: RgbImage,
    pub taken_at: Option<i64>,
}

fn fail(what: &str, e: impl std::fmt::Display) -> Unreadable {
    Unreadable(format!("{what}: {e}"))
}

pub(super) fn decode(bytes: &[u8], format: Format, max_pixels: u64) -> Result<Heif, Unreadable> {
    let mut context =
        HeifContext::read_from_bytes(bytes).map_err(|e| fail("unreadable HEIF container", e))?;
    // One file per decode worker: libheif's own tile threads would take the model's cores.
    context.set_max_decoding_threads(1);
    let handle = context
        .primary_image_handle()
        .map_err(|e| fail("no primary image", e))?;
    // The size after the file's transforms, what libheif will allocate: refused before it does.
    check_size(
        format,
        handle.width(),
        handle.height(),
        bytes.len(),
        max_pixels,
    )?;
    let alpha = handle.has_alpha_channel();
    let chroma = if alpha {
        RgbChroma::Rgba
    } else {
        RgbChroma::Rgb
    };
    // libheif's default options (transforms applied). Not `DecodingOptions`: libheif-rs 0.20
    // frees them before libheif reads them (its `decode` maps the options to their pointer and
    // drops the owner), which showed up as iPhone photos decoded sideways.
    let image = LibHeif::new()
        .decode(&handle, ColorSpace::Rgb(chroma), None)
        .map_err(|e| fail("corrupt image data", e))?;
    let planes = image.planes();
    let plane = planes
        .interleaved
        .ok_or_else(|| Unreadable("libheif returned no interleaved RGB plane".into()))?;
    let channels = if alpha { 4 } else { 3 };
    let (w, h) = (plane.width, plane.height);
    let mut rgb = RgbImage::new(w, h);
    for (y, row) in rgb.as_mut().chunks_exact_mut(3 * w as usize).enumerate() {
        let start = y * plane.stride;
        let source = plane
            .data
            .get(start..start + channels * w as usize)
            .ok_or_else(|| Unreadable("libheif returned a short image".into()))?;
        for (out, px) in row.chunks_exact_mut(3).zip(source.chunks_exact(channels)) {
            if alpha {
                // Over white: what a viewer shows for a transparent photo.
                let a = u16::from(px[3]);
                for c in 0..3 {
                    out[c] = ((u16::from(px[c]) * a + 255 * (255 - a) + 127) / 255) as u8;
                }
            } else {
                out.copy_from_slice(px);
            }
        }
    }
    Ok(Heif {
        rgb,
        taken_at: exif_date(&handle),
    })
}

/// The date taken, from the primary image's EXIF block.
fn exif_date(handle: &libheif_rs::ImageHandle) -> Option<i64> {
    let mut ids: [ItemId; 1] = [0];
    if handle.metadata_block_ids(&mut ids, b"Exif") == 0 {
        return None;
    }
    super::date_from_exif_box(&handle.metadata(ids[0]).ok()?)
}
