//! JPEG through libjpeg-turbo: the header without copying the file, pixels at a reduced DCT
//! scale, and the check that the main image's data is complete.

use image::RgbImage;

use super::Need;

/// The DCT scale (1/8, 1/4, 1/2 or 1) a `w`×`h` JPEG decodes at for `need`: the smallest whose
/// size (libjpeg rounds up) still covers it.
pub fn scale(w: u32, h: u32, need: Need) -> u32 {
    [8, 4, 2]
        .into_iter()
        .find(|&d| need.covered_by(w.div_ceil(d), h.div_ceil(d)))
        .unwrap_or(1)
}

/// A JPEG through libjpeg-turbo at [`scale`]: entropy decoding stays whole, but the inverse
/// DCT, the colour conversion and the resize after it shrink with the scale (a 12-MP photo for a
/// 224-px model input and a 320-px thumbnail decodes at 1/8). `None` when libjpeg-turbo cannot
/// give RGB (CMYK) or refuses the data: the caller decodes it the other way.
pub fn decode_scaled(bytes: &[u8], (w, h): (u32, u32), need: Need) -> Option<RgbImage> {
    let factor = turbojpeg::ScalingFactor::new(1, scale(w, h, need) as usize);
    let mut decompressor = turbojpeg::Decompressor::new().ok()?;
    decompressor.set_scaling_factor(factor).ok()?;
    let header = decompressor.read_header(bytes).ok()?.scaled(factor);
    let mut image = turbojpeg::Image {
        pixels: vec![0u8; 3 * header.width * header.height],
        width: header.width,
        pitch: 3 * header.width,
        height: header.height,
        format: turbojpeg::PixelFormat::RGB,
    };
    decompressor.decompress(bytes, image.as_deref_mut()).ok()?;
    RgbImage::from_raw(
        u32::try_from(header.width).ok()?,
        u32::try_from(header.height).ok()?,
        image.pixels,
    )
}

/// Whether a JPEG's main image data is followed by its end-of-image marker (FF D9).
///
/// Walks the marker segments up to the first start-of-scan, so an EXIF thumbnail's own markers
/// are never mistaken for the main image's; data appended after the end (motion photos) is fine.
pub fn is_complete(bytes: &[u8]) -> bool {
    let mut i = 2; // after SOI
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return false;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        if marker == 0xDA {
            // Entropy-coded data escapes 0xFF as FF 00, so FF D9 can only be a real marker.
            return memchr::memmem::find(&bytes[i..], &[0xFF, 0xD9]).is_some();
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        i += 2 + len;
    }
    false
}
