//! Image bytes → upright RGB images (the model's input, a thumbnail, a preview) plus metadata.
//!
//! The format comes from the file's magic bytes, not its name. The pixel count is checked from the
//! header before any pixel is allocated (decompression bombs). The image is resized before the
//! EXIF orientation is applied: rotating a 224-px image is ~100× cheaper than a 12-MP one.

mod heif;
pub mod jpeg;
mod raw;

use fast_image_resize::images::{Image as FirImage, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use std::io::{Cursor, Read};
use std::path::Path;

/// Refuse images with more pixels than this (a 200-megapixel panorama still passes).
pub const DEFAULT_MAX_PIXELS: u64 = 200_000_000;

/// Refuse files larger than this before reading them: an uncompressed 8-bit RGB image at the
/// pixel limit is 600 MB, and every byte read is memory until the file is decoded.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1 << 30;

/// Four times the most pixels a byte of baseline or progressive JPEG data can describe.
const JPEG_MAX_PIXELS_PER_BYTE: u64 = 2048;

/// Above `SPARSE_ABOVE_PIXELS`, an image of any format with more pixels per byte of file than this
/// (under 0.001 bits per pixel) holds no photo: it is a blank canvas or a decompression bomb. Real
/// photos spend 0.5–8 bits per pixel; a flat 16-bit grey PNG has ~400 pixels per byte.
const MAX_PIXELS_PER_BYTE: u64 = 8192;
const SPARSE_ABOVE_PIXELS: u64 = 16_000_000;

/// The longest side the model input keeps, in multiples of the short side (see `model_input`).
pub const MAX_ASPECT: u32 = 4;

/// Why a file could not be decoded; recorded in the catalog as the reason it was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Read a whole file, refusing one over `max_bytes` from its size before any byte is read (and
/// never reading more than that, should it grow meanwhile). The error is the reason shown to the
/// user; a file that vanished keeps its `NotFound` kind.
pub fn read_capped(path: &Path, max_bytes: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let too_large = |size: u64| {
        std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("{size} bytes is over the limit of {max_bytes} bytes for one file; not read"),
        )
    };
    if size > max_bytes {
        return Err(too_large(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(max_bytes + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// The image formats ClipStream decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    WebP,
    Gif,
    Bmp,
    Tiff,
    /// HEIC/HEIF (HEVC in an ISO-BMFF container; what iPhones write).
    Heic,
    Avif,
    JpegXl,
    /// A camera RAW, indexed by its embedded preview.
    Raw,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::WebP => "webp",
            Format::Gif => "gif",
            Format::Bmp => "bmp",
            Format::Tiff => "tiff",
            Format::Heic => "heic",
            Format::Avif => "avif",
            Format::JpegXl => "jxl",
            Format::Raw => "raw",
        }
    }


    /// What the file's first bytes say it is, where `image` does not know (or, for the TIFF
    /// containers of camera RAWs, may be wrong): ISO-BMFF brands, JPEG XL, Fujifilm RAF.
    fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0x0A]) || bytes.starts_with(b"\0\0\0\x0cJXL \r\n\x87\n") {
            return Some(Format::JpegXl);
        }
        if bytes.starts_with(b"FUJIFILMCCD-RAW") {
            return Some(Format::Raw);
        }
        if bytes.get(4..8) != Some(b"ftyp") {
            return None;
        }
        // The major brand, then the compatible brands, up to the end of the `ftyp` box.
        let size = usize::try_from(u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?)).ok()?;
        let brands = bytes.get(8..size.min(bytes.len()).max(12))?;
        let has = |brand: &[u8]| brands.chunks_exact(4).any(|b| b == brand);
        if has(b"crx ") {
            Some(Format::Raw)
        } else if has(b"avif") || has(b"avis") {
            Some(Format::Avif)
        } else if [
            "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1",
        ]
        .iter()
        .any(|b| has(b.as_bytes()))
        {
            Some(Format::Heic)
        } else {
            None
        }
    }

    fn from_image(format: ImageFormat) -> Option<Self> {
        Some(match format {
            ImageFormat::Jpeg => Format::Jpeg,
            ImageFormat::Png => Format::Png,
            ImageFormat::WebP => Format::WebP,
            ImageFormat::Gif => Format::Gif,
            ImageFormat::Bmp => Format::Bmp,
            ImageFormat::Tiff => Format::Tiff,
            _ => return None,
        })
    }
}

/// A decoded photo, ready for the model's preprocessing.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Upright (EXIF orientation applied), short side resized to the requested size; the long
    /// side keeps at most [`MAX_ASPECT`] times that, around the centre.
    pub image: RgbImage,
    /// The photo's upright size before resizing.
    pub width: u32,
    pub height: u32,
    pub format: Format,
    /// EXIF DateTimeOriginal as seconds since 1970 in the camera's local time, if present.
    pub taken_at: Option<i64>,
}

/// Decode `bytes`, apply EXIF orientation, and resize so the short side is `short_side`
/// (bicubic, the long side rounded down as CLIP's image processor does). The pixels come from
/// the same decode as indexing's (sized for the thumbnail too), so a photo searched for by file
/// gets the embedding indexing gives it.
pub fn decode(bytes: &[u8], short_side: u32, max_pixels: u64) -> Result<Decoded, Unreadable> {
    let need = Need {
        short: short_side,
        long: crate::ingest::thumbnail::BOX,
    };
    let raw = decode_raw(bytes, max_pixels, need)?;
    let image = raw.model_input(short_side)?;
    Ok(raw.into_decoded(image))
}

/// [`decode`], plus an upright thumbnail fitting in `thumb_box`×`thumb_box` from the same pixels.
pub fn decode_with_thumbnail(
    bytes: &[u8],
    short_side: u32,
    thumb_box: u32,
    max_pixels: u64,
) -> Result<(Decoded, RgbImage), Unreadable> {
    let need = Need {
        short: short_side,
        long: thumb_box,
    };
    let raw = decode_raw(bytes, max_pixels, need)?;
    let image = raw.model_input(short_side)?;
    let thumbnail = raw.fitted(thumb_box)?;
    Ok((raw.into_decoded(image), thumbnail))
}

/// [`decode_with_thumbnail`], plus the upright image fitted in `glance`×`glance` from the same
/// pixels (the reading stage's first look for text, [`crate::ingest::words`]): the decode then
/// keeps at least that many pixels on the long side.
pub fn decode_with_glance(
    bytes: &[u8],
    short_side: u32,
    thumb_box: u32,
    glance: u32,
    max_pixels: u64,
) -> Result<(Decoded, RgbImage, RgbImage), Unreadable> {
    let need = Need {
        short: short_side,
        long: thumb_box.max(glance),
    };
    let raw = decode_raw(bytes, max_pixels, need)?;
    let image = raw.model_input(short_side)?;
    let thumbnail = raw.fitted(thumb_box)?;
    let glanced = raw.fitted(glance)?;
    Ok((raw.into_decoded(image), thumbnail, glanced))
}

/// The upright image scaled down (never up) to fit in `max_side`×`max_side`, for display.
pub fn decode_to_fit(bytes: &[u8], max_side: u32, max_pixels: u64) -> Result<RgbImage, Unreadable> {
    let need = Need {
        short: 0,
        long: max_side,
    };
    decode_raw(bytes, max_pixels, need)?.fitted(max_side)
}

/// The smallest image the caller can make what it wants from without enlarging: a short side of
/// at least `short` (the model input) and a long side of at least `long` (a thumbnail or preview).
#[derive(Debug, Clone, Copy)]
pub struct Need {
    pub short: u32,
    pub long: u32,
}

impl Need {
    fn covered_by(self, w: u32, h: u32) -> bool {
        w.min(h) >= self.short && w.max(h) >= self.long
    }
}

/// Decoded pixels as stored in the file, before orientation; possibly at a reduced scale.
struct Raw {
    rgb: RgbImage,
    orientation: Orientation,
    format: Format,
    /// The photo's size in the file (before orientation), whatever scale `rgb` was decoded at.
    full: (u32, u32),
    taken_at: Option<i64>,
}

impl Raw {
    fn swaps(&self) -> bool {
        matches!(
            self.orientation,
            Orientation::Rotate90
                | Orientation::Rotate270
                | Orientation::Rotate90FlipH
                | Orientation::Rotate270FlipH
        )
    }

    fn upright_size(&self) -> (u32, u32) {
        let (w, h) = self.rgb.dimensions();
        if self.swaps() { (h, w) } else { (w, h) }
    }

    /// Short side at `short_side`, as CLIP's image processor resizes. The model sees only the
    /// centre square, so a side longer than [`MAX_ASPECT`] times the other is first cut to that,
    /// around the centre: a 3000×1 strip (a few hundred bytes of JPEG) would otherwise become a
    /// 672000×224 image, seconds of work and hundreds of MB. The centre square is unchanged.
    fn model_input(&self, short_side: u32) -> Result<RgbImage, Unreadable> {
        let (w, h) = self.upright_size();
        let (keep_w, keep_h) = (
            w.min(h.saturating_mul(MAX_ASPECT)),
            h.min(w.saturating_mul(MAX_ASPECT)),
        );
        if (keep_w, keep_h) != (w, h) {
            return self.centre(keep_w, keep_h).model_input(short_side);
        }
        let (w, h) = resized_size(w, h, short_side);
        self.upright_resized(w, h)
    }

    /// The centred `w`×`h` (upright) part of the image.
    fn centre(&self, w: u32, h: u32) -> Raw {
        let (raw_w, raw_h) = if self.swaps() { (h, w) } else { (w, h) };
        let (full_w, full_h) = self.rgb.dimensions();
        let rgb = image::imageops::crop_imm(
            &self.rgb,
            (full_w - raw_w) / 2,
            (full_h - raw_h) / 2,
            raw_w,
            raw_h,
        )
        .to_image();
        Raw {
            rgb,
            orientation: self.orientation,
            format: self.format,
            full: self.full,
            taken_at: self.taken_at,
        }
    }

    /// Scaled down (never up) to fit in `max_side`×`max_side`.
    fn fitted(&self, max_side: u32) -> Result<RgbImage, Unreadable> {
        let (w, h) = self.upright_size();
        let (w, h) = fit_within(w, h, max_side);
        self.upright_resized(w, h)
    }

    /// Resize to the upright size `w`×`h`, then orient (rotating the small image is the cheap way).
    fn upright_resized(&self, w: u32, h: u32) -> Result<RgbImage, Unreadable> {
        let (raw_w, raw_h) = if self.swaps() { (h, w) } else { (w, h) };
        let small = resize(&self.rgb, raw_w, raw_h)
            .map_err(|e| Unreadable(format!("resize failed: {e}")))?;
        let mut small = DynamicImage::ImageRgb8(small);
        small.apply_orientation(self.orientation);
        Ok(small.into_rgb8())
    }

    fn into_decoded(self, image: RgbImage) -> Decoded {
        let (w, h) = self.full;
        let (width, height) = if self.swaps() { (h, w) } else { (w, h) };
        Decoded {
            image,
            width,
            height,
            format: self.format,
            taken_at: self.taken_at,
        }
    }
}

fn decode_raw(bytes: &[u8], max_pixels: u64, need: Need) -> Result<Raw, Unreadable> {
    if bytes.is_empty() {
        return Err(Unreadable("empty file".into()));
    }
    let guessed = image::guess_format(bytes);
    let format = match (Format::sniff(bytes), guessed) {
        (Some(format), _) => format,
        (None, Ok(format)) => Format::from_image(format).ok_or_else(|| {
            Unreadable(format!(
                "{} images are not supported yet",
                format_name(format)
            ))
        })?,
        // Olympus ORF ("IIRO") and Panasonic RW2 ("IIU\0") are TIFF-like RAWs image does not know.
        (None, Err(_)) if bytes.starts_with(b"IIRO") || bytes.starts_with(b"IIU\0") => Format::Raw,
        (None, Err(_)) => return Err(Unreadable("not an image (unrecognised content)".into())),
    };
    match format {
        Format::Heic | Format::Avif => {
            let decoded = heif::decode(bytes, format, max_pixels)?;
            return Ok(Raw {
                full: decoded.rgb.dimensions(),
                rgb: decoded.rgb,
                // libheif applied the file's own transforms: the picture is upright.
                orientation: Orientation::NoTransforms,
                format,
                taken_at: decoded.taken_at,
            });
        }
        // A TIFF may be a camera RAW's container (CR2, NEF, ARW, DNG, PEF…): rawler decides.
        Format::Raw | Format::Tiff => match raw::preview(bytes, need) {
            Some(preview) => {
                let preview = preview?;
                return Ok(Raw {
                    full: preview.rgb.dimensions(),
                    rgb: preview.rgb,
                    orientation: preview.orientation,
                    format: Format::Raw,
                    taken_at: preview.taken_at,
                });
            }
            None if format == Format::Raw => {
                return Err(Unreadable(
                    "camera RAW that could not be read (unsupported camera or damaged file)".into(),
                ));
            }
            None => {}
        },
        _ => {}
    }
    if format == Format::Jpeg && !jpeg::is_complete(bytes) {
        // The JPEG decoder would return the top of the picture padded with grey.
        return Err(Unreadable(
            "truncated JPEG (no end-of-image marker after the image data)".into(),
        ));
    }
    let exif = exif::Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .ok();
    let taken_at = exif.as_ref().and_then(date_taken);
    // A JPEG's header, orientation and pixels through libjpeg-turbo (no copy of the file, one
    // EXIF parse); anything it declines goes the general way below.
    if format == Format::Jpeg
        && let Ok(header) = turbojpeg::read_header(bytes)
        && let (Ok(w), Ok(h)) = (u32::try_from(header.width), u32::try_from(header.height))
    {
        check_size(format, w, h, bytes.len(), max_pixels)?;
        if let Some(rgb) = jpeg::decode_scaled(bytes, (w, h), need) {
            let orientation = exif
                .as_ref()
                .and_then(|e| e.get_field(exif::Tag::Orientation, exif::In::PRIMARY))
                .and_then(|f| f.value.get_uint(0))
                .and_then(|o| u8::try_from(o).ok())
                .and_then(Orientation::from_exif)
                .unwrap_or(Orientation::NoTransforms);
            return Ok(Raw {
                rgb,
                orientation,
                format,
                full: (w, h),
                taken_at,
            });
        }
    }
    // Other formats, and JPEGs libjpeg-turbo does not turn into RGB itself (CMYK, YCCK). The
    // pure-Rust decoders still panic on some damaged files (jxl-oxide 0.12 on two fuzzed JPEG XL
    // files): a panic there is this file's error, not the caller's.
    std::panic::catch_unwind(|| decode_general(bytes, format, max_pixels, taken_at)).unwrap_or_else(
        |_| {
            Err(Unreadable(format!(
                "damaged {} image (its decoder failed on it)",
                format.name()
            )))
        },
    )
}

/// Any format through the `image` crate's decoders (and jxl-oxide's), whole-size.
fn decode_general(
    bytes: &[u8],
    format: Format,
    max_pixels: u64,
    taken_at: Option<i64>,
) -> Result<Raw, Unreadable> {
    let fail = |what: &str, e: &dyn std::fmt::Display| Unreadable(format!("{what}: {e}"));
    let mut limits = Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(8));
    let mut decoder: Box<dyn ImageDecoder> = if format == Format::JpegXl {
        let mut jxl = jxl_oxide::integration::JxlDecoder::new(Cursor::new(bytes))
            .map_err(|e| fail("unreadable header", &e))?;
        jxl.set_limits(limits)
            .map_err(|e| fail("over the memory limit", &e))?;
        Box::new(jxl)
    } else {
        let mut reader = ImageReader::new(Cursor::new(bytes));
        reader.set_format(
            image_format(format)
                .ok_or_else(|| Unreadable(format!("{} has no general decoder", format.name())))?,
        );
        reader.limits(limits);
        Box::new(
            reader
                .into_decoder()
                .map_err(|e| fail("unreadable header", &e))?,
        )
    };
    let (w, h) = decoder.dimensions();
    check_size(format, w, h, bytes.len(), max_pixels)?;
    // JPEG XL's own header orientation is applied by its decoder (its EXIF copy must not be);
    // its EXIF sits in a box of its own.
    let (orientation, taken_at) = match format {
        Format::JpegXl => (
            Orientation::NoTransforms,
            decoder
                .exif_metadata()
                .ok()
                .flatten()
                .and_then(|b| date_from_exif_box(&b)),
        ),
        _ => (
            decoder.orientation().unwrap_or(Orientation::NoTransforms),
            taken_at,
        ),
    };
    let rgb = DynamicImage::from_decoder(decoder)
        .map_err(|e| fail("corrupt image data", &e))?
        .into_rgb8();
    Ok(Raw {
        rgb,
        orientation,
        format,
        full: (w, h),
        taken_at,
    })
}

/// What one file may cost, decided from its header before any pixel is allocated.
fn check_size(
    format: Format,
    w: u32,
    h: u32,
    len: usize,
    max_pixels: u64,
) -> Result<(), Unreadable> {
    let pixels = u64::from(w) * u64::from(h);
    if pixels > max_pixels {
        return Err(Unreadable(format!(
            "{w}×{h} pixels is over the limit of {max_pixels}"
        )));
    }
    if w == 0 || h == 0 {
        return Err(Unreadable(format!("empty image ({w}×{h})")));
    }
    // Huffman-coded JPEG spends at least a bit per 8×8 block, so no JPEG holds more than 512
    // pixels per byte. A header claiming far more is damaged: decoding it would mean seconds and
    // hundreds of MB of padding (found by fuzzing: 698 bytes claiming 14592×3072).
    let bytes_len = len as u64;
    if format == Format::Jpeg && pixels > bytes_len * JPEG_MAX_PIXELS_PER_BYTE {
        return Err(Unreadable(format!(
            "corrupt JPEG: {bytes_len} bytes cannot hold {w}×{h} pixels"
        )));
    }
    // PNG, GIF, WebP and TIFF can describe a flat canvas in almost no bytes (found by fuzzing: 271
    // bytes of animated WebP claiming a 16×4194316 canvas, 0.7 s and 260 MB to decode).
    if pixels > SPARSE_ABOVE_PIXELS && pixels > bytes_len * MAX_PIXELS_PER_BYTE {
        return Err(Unreadable(format!(
            "{w}×{h} pixels in only {bytes_len} bytes: no photo is that sparse \
             (a blank canvas or a decompression bomb), not decoded"
        )));
    }
    Ok(())
}

/// CLIP's shortest-edge resize: short side → `short_side`, long side → ⌊short_side · long / short⌋.
pub fn resized_size(w: u32, h: u32, short_side: u32) -> (u32, u32) {
    let scale = |long: u32, short: u32| {
        let scaled = (u64::from(short_side) * u64::from(long)) / u64::from(short);
        // Saturates rather than wraps for absurd strips (the model input cuts those first).
        u32::try_from(scaled.max(1)).unwrap_or(u32::MAX)
    };
    if w <= h {
        (short_side, scale(h, w))
    } else {
        (scale(w, h), short_side)
    }
}

/// The size of `w`×`h` scaled down (never up) so the long side is at most `max_side`.
pub fn fit_within(w: u32, h: u32, max_side: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= max_side {
        return (w, h);
    }
    let scale =
        |side: u32| ((u64::from(side) * u64::from(max_side)) / u64::from(long)).max(1) as u32;
    (scale(w), scale(h))
}

fn resize(rgb: &RgbImage, w: u32, h: u32) -> Result<RgbImage, String> {
    if rgb.dimensions() == (w, h) {
        return Ok(rgb.clone());
    }
    let (sw, sh) = rgb.dimensions();
    let src = ImageRef::new(sw, sh, rgb.as_raw(), PixelType::U8x3).map_err(|e| e.to_string())?;
    let mut dst = FirImage::new(w, h, PixelType::U8x3);
    // Catmull-Rom is the a = -0.5 cubic that PIL and torchvision call "bicubic".
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| e.to_string())?;
    RgbImage::from_raw(w, h, dst.into_vec())
        .ok_or_else(|| "resized buffer has the wrong size".to_string())
}

/// The `image` decoder of the formats it decodes (the others have their own paths).
fn image_format(format: Format) -> Option<ImageFormat> {
    Some(match format {
        Format::Jpeg => ImageFormat::Jpeg,
        Format::Png => ImageFormat::Png,
        Format::WebP => ImageFormat::WebP,
        Format::Gif => ImageFormat::Gif,
        Format::Bmp => ImageFormat::Bmp,
        Format::Tiff => ImageFormat::Tiff,
        Format::Heic | Format::Avif | Format::JpegXl | Format::Raw => return None,
    })
}

fn format_name(format: ImageFormat) -> String {
    format!("{format:?}").to_uppercase()
}

/// EXIF DateTimeOriginal (or DateTime) as seconds since 1970, reading the time as if it were UTC:
/// cameras record local time without a zone, and sorting and date filters want exactly that.
#[cfg(feature = "internals")]
pub fn taken_at(bytes: &[u8]) -> Option<i64> {
    let exif = exif::Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .ok()?;
    date_taken(&exif)
}

/// The date in an ISO-BMFF `Exif` item or box (HEIF, JPEG XL): a 4-byte offset to the TIFF
/// header, then EXIF as in a JPEG's APP1.
fn date_from_exif_box(block: &[u8]) -> Option<i64> {
    let offset = u32::from_be_bytes(block.get(..4)?.try_into().ok()?) as usize;
    let tiff = block.get(4usize.checked_add(offset)?..)?.to_vec();
    date_taken(&exif::Reader::new().read_raw(tiff).ok()?)
}

/// An EXIF date as text (`2024:07:31 14:30:00`), checked like any other.
fn date_from_exif_text(text: &str) -> Option<i64> {
    let dt = exif::DateTime::from_ascii(text.as_bytes()).ok()?;
    crate::date::from_parts(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)
}

fn date_taken(exif: &exif::Exif) -> Option<i64> {
    [exif::Tag::DateTimeOriginal, exif::Tag::DateTime]
        .iter()
        .find_map(|&tag| {
            let field = exif.get_field(tag, exif::In::PRIMARY)?;
            let exif::Value::Ascii(ref parts) = field.value else {
                return None;
            };
            let dt = exif::DateTime::from_ascii(parts.first()?).ok()?;
            crate::date::from_parts(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_the_jpeg_xl_decoder_is_this_files_error() {
        // jxl-oxide 0.12 asserts and indexes out of bounds on these fuzzed files (fuzzing, 2026-11-29).
        let fuzzed: [&[u8]; 2] = [
            include_bytes!(
                "../../../../fuzz/regressions/jxl-grid-width-0-assertion-panics-jxl-oxide.jxl"
            ),
            include_bytes!(
                "../../../../fuzz/regressions/jxl-render-index-out-of-bounds-panics-jxl-oxide.jxl"
            ),
        ];
        for bytes in fuzzed {
            // The preview path (`decode_to_fit`) as well as the indexer's.
            let err = decode_to_fit(bytes, 1024, DEFAULT_MAX_PIXELS).expect_err("an error");
            assert!(err.0.contains("decoder failed"), "{err}");
            let err =
                decode_with_thumbnail(bytes, 224, 320, DEFAULT_MAX_PIXELS).expect_err("an error");
            assert!(err.0.contains("decoder failed"), "{err}");
        }
    }

    #[test]
    fn a_jpeg_claiming_more_pixels_than_its_bytes_can_hold_is_refused() {
        // A flat grey 4000×3000 JPEG is as small as real JPEGs get, and still decodes.
        let flat = RgbImage::from_pixel(4000, 3000, image::Rgb([128, 128, 128]));
        let mut jpeg = Vec::new();
        flat.write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .expect("encodes");
        let per_byte = (4000 * 3000) as f64 / jpeg.len() as f64;
        assert!(
            per_byte < JPEG_MAX_PIXELS_PER_BYTE as f64 / 4.0,
            "{per_byte}"
        );
        decode(&jpeg, 224, DEFAULT_MAX_PIXELS).expect("a real flat JPEG decodes");
        // The same header on a file cut to its first kilobytes (with an end marker) is refused.
        let mut cut = jpeg[..jpeg.len().min(2000)].to_vec();
        cut.extend_from_slice(&[0xFF, 0xD9]);
        let err = decode(&cut, 224, DEFAULT_MAX_PIXELS).expect_err("refused");
        assert!(err.0.contains("cannot hold 4000×3000 pixels"), "{err}");
    }

    #[test]
    fn an_image_claiming_far_more_pixels_than_its_bytes_is_refused_in_any_format() {
        // A flat 16-bit grey 20-MP PNG (~400 pixels per byte) is far under the floor and decodes.
        let flat = image::ImageBuffer::<image::Luma<u16>, _>::from_pixel(
            5000,
            4000,
            image::Luma([0x8080]),
        );
        let mut png = Vec::new();
        flat.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .expect("encodes");
        let per_byte = (5000 * 4000) as f64 / png.len() as f64;
        assert!(per_byte < MAX_PIXELS_PER_BYTE as f64 / 4.0, "{per_byte}");
        decode(&png, 224, DEFAULT_MAX_PIXELS).expect("a real flat PNG decodes");
        // The fuzzer's 271-byte animated WebP with a 16×4194316 canvas.
        let webp = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fuzz/regressions/webp-animated-16x4194316-canvas.webp"),
        )
        .expect("the committed fuzz regression");
        let err = decode(&webp, 224, DEFAULT_MAX_PIXELS).expect_err("refused");
        assert!(
            err.0.contains("16×4194316 pixels in only 271 bytes"),
            "{err}"
        );
    }

    #[test]
    fn a_long_strip_keeps_its_centre_without_the_huge_resize() {
        // 600×10: CLIP's resize would make it 13440×224; the model sees the centre 224×224.
        let strip = RgbImage::from_fn(600, 10, |x, y| {
            image::Rgb([(x % 251) as u8, (y * 25) as u8, ((x / 3) % 256) as u8])
        });
        let mut png = Vec::new();
        strip
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .expect("encodes");
        let decoded = decode(&png, 224, DEFAULT_MAX_PIXELS).expect("decodes");
        assert_eq!(decoded.image.dimensions(), (224 * MAX_ASPECT, 224));
        assert_eq!((decoded.width, decoded.height), (600, 10));
        let full = resize(&strip, 13440, 224).expect("resizes");
        let centre = |img: &RgbImage| {
            let x0 = (img.width() - 224) / 2;
            image::imageops::crop_imm(img, x0, 0, 224, 224).to_image()
        };
        let (ours, clips) = (centre(&decoded.image), centre(&full));
        let worst = ours
            .as_raw()
            .iter()
            .zip(clips.as_raw())
            .map(|(a, b)| a.abs_diff(*b))
            .max();
        assert!(worst <= Some(2), "centre differs by up to {worst:?} levels");
    }

    #[test]
    fn resized_size_follows_clip() {
        assert_eq!(resized_size(4000, 3000, 224), (298, 224));
        assert_eq!(resized_size(3000, 4000, 224), (224, 298));
        assert_eq!(resized_size(100, 100, 224), (224, 224));
        assert_eq!(resized_size(451, 300, 224), (336, 224));
        // 224 · (2³²−1) overflows u32: saturates instead of wrapping to a small width.
        assert_eq!(resized_size(u32::MAX, 1, 224), (u32::MAX, 224));
    }

    #[test]
    fn fit_within_only_shrinks() {
        assert_eq!(fit_within(4000, 3000, 320), (320, 240));
        assert_eq!(fit_within(3000, 4000, 320), (240, 320));
        assert_eq!(fit_within(100, 50, 320), (100, 50));
        assert_eq!(fit_within(10000, 10, 320), (320, 1));
    }

    #[test]
    fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.jpg");
        std::fs::write(&path, vec![0xFFu8; 4096]).expect("write");
        assert_eq!(read_capped(&path, 4096).expect("at the limit").len(), 4096);
        let err = read_capped(&path, 4095).expect_err("over the limit");
        assert_eq!(err.kind(), std::io::ErrorKind::FileTooLarge);
        assert!(
            err.to_string()
                .contains("4096 bytes is over the limit of 4095"),
            "{err}"
        );
        let gone = read_capped(&dir.path().join("gone.jpg"), 10).expect_err("missing");
        assert_eq!(gone.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn rejects_empty_and_non_images() {
        assert_eq!(
            decode(b"", 224, DEFAULT_MAX_PIXELS).unwrap_err().0,
            "empty file"
        );
        assert!(
            decode(b"hello, not an image", 224, DEFAULT_MAX_PIXELS)
                .unwrap_err()
                .0
                .starts_with("not an image")
        );
    }
}
