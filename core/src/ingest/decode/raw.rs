//! Camera RAW files (ARW, CR2, CR3, DNG, NEF, ORF, PEF, RAF, RW2, …) through rawler: the JPEG
//! preview the camera embedded, as Immich and PhotoPrism do, when it is large enough for the
//! model input and the thumbnail. Developing the sensor data itself is not done: a RAW without
//! such a preview is skipped with a reason that says so.

use image::RgbImage;
use image::metadata::Orientation;
use rawler::decoders::RawDecodeParams;
use rawler::rawsource::RawSource;

use super::{Need, Unreadable};

/// The preview, as stored (the RAW's orientation is applied like a JPEG's EXIF orientation).
pub(super) struct Preview {
    pub rgb: RgbImage,
    pub orientation: Orientation,
    pub taken_at: Option<i64>,
}

/// `None` when rawler does not take the file for a camera RAW (a plain TIFF, say).
pub(super) fn preview(bytes: &[u8], need: Need) -> Option<Result<Preview, Unreadable>> {
    if is_tiff(bytes) && !tiff_structure_is_sound(bytes) {
        // rawler 0.8 follows an IFD chain without checking for loops: a 718-byte TIFF whose IFD
        // points back at itself kept it busy (and allocating) forever (found by fuzzing).
        return Some(Err(Unreadable(
            "damaged TIFF structure (its directories loop or point outside the file)".into(),
        )));
    }
    // rawler 0.8 panics on some damaged headers (an unchecked offset addition in a RAF header,
    // found by fuzzing): a panic there is this file's error, not the caller's.
    let attempt = std::panic::catch_unwind(|| {
        let source = RawSource::new_from_slice(bytes);
        let decoder = rawler::get_decoder(&source).ok()?;
        Some(largest_preview(&*decoder, &source, need))
    });
    attempt.unwrap_or_else(|_| {
        Some(Err(Unreadable(
            "damaged camera RAW (the RAW decoder failed on it)".into(),
        )))
    })
}

fn largest_preview(
    decoder: &dyn rawler::decoders::Decoder,
    source: &RawSource,
    need: Need,
) -> Result<Preview, Unreadable> {
    let params = RawDecodeParams::default();
    // The sensor image's size, from its header only (no sensor data is read).
    let sensor = decoder
        .raw_image(source, &params, true)
        .map(|r| (r.width as u32, r.height as u32))
        .unwrap_or((u32::MAX, u32::MAX));
    // Largest first: the full-size JPEG some cameras embed, then the preview, then the thumbnail.
    let candidates = [
        decoder.full_image(source, &params),
        decoder.preview_image(source, &params),
        decoder.thumbnail_image(source, &params),
    ];
    let mut largest = (0, 0);
    for candidate in candidates.into_iter().flatten().flatten() {
        let (w, h) = (candidate.width(), candidate.height());
        // Large enough for the model input and the thumbnail, or as large as the photo itself
        // (a small RAW's preview is all there is to see).
        let whole = u64::from(w.max(h)) * 10 >= u64::from(sensor.0.max(sensor.1)) * 9;
        if need.covered_by(w, h) || whole {
            let metadata = decoder.raw_metadata(source, &params).ok();
            let exif = metadata.as_ref().map(|m| &m.exif);
            let orientation = exif
                .and_then(|e| e.orientation)
                .and_then(|o| u8::try_from(o).ok())
                .and_then(Orientation::from_exif)
                .unwrap_or(Orientation::NoTransforms);
            let taken_at = exif
                .and_then(|e| e.date_time_original.as_deref())
                .and_then(super::date_from_exif_text);
            return Ok(Preview {
                rgb: candidate.into_rgb8(),
                orientation,
                taken_at,
            });
        }
        largest = largest.max((w, h));
    }
    Err(Unreadable(if largest == (0, 0) {
        "camera RAW without an embedded preview; developing RAW files is not supported".into()
    } else {
        format!(
            "camera RAW whose largest embedded preview ({}×{}) is too small for the model and \
             the thumbnail; developing RAW files is not supported",
            largest.0, largest.1
        )
    }))
}

fn is_tiff(bytes: &[u8]) -> bool {
    bytes.starts_with(b"II") || bytes.starts_with(b"MM")
}

/// log2 of a TIFF value's size by type (BYTE, ASCII, SHORT, LONG, RATIONAL, …, IFD), as rawler has it.
const VALUE_SIZE_SHIFTS: [u64; 14] = [0, 0, 0, 1, 2, 3, 0, 0, 1, 2, 3, 2, 3, 2];

/// The most directories a TIFF-based RAW is allowed (real ones have a handful to a few dozen).
const MAX_DIRECTORIES: usize = 512;

/// Whether every image file directory (IFD) reachable from the header, through next-IFD links
/// and the sub-IFD tags rawler follows, lies inside the file, is visited once, lists no more
/// entries than the file can hold, and keeps each entry's values inside the file (rawler
/// allocates count × size before it reads them).
fn tiff_structure_is_sound(bytes: &[u8]) -> bool {
    let big = bytes.starts_with(b"MM");
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = bytes.get(at..at + 2)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    // SubIFDs, Exif, GPS, Interoperability.
    const SUB_IFD_TAGS: [u16; 4] = [0x014A, 0x8769, 0x8825, 0xA005];
    let Some(first) = u32_at(4) else {
        return false;
    };
    let mut pending = vec![first as usize];
    let mut seen = std::collections::HashSet::new();
    while let Some(offset) = pending.pop() {
        if offset == 0 {
            continue;
        }
        if !seen.insert(offset) || seen.len() > MAX_DIRECTORIES {
            return false;
        }
        let Some(count) = u16_at(offset).map(usize::from) else {
            return false;
        };
        if offset + 2 + 12 * count + 4 > bytes.len() {
            return false;
        }
        for i in 0..count {
            let entry = offset + 2 + 12 * i;
            let (Some(tag), Some(kind), Some(n)) =
                (u16_at(entry), u16_at(entry + 2), u32_at(entry + 4))
            else {
                return false;
            };
            // The values' size as rawler computes it (an unknown type counts as bytes); more
            // than 4 bytes live at an offset and must end inside the file.
            let shift = VALUE_SIZE_SHIFTS
                .get(usize::from(kind))
                .filter(|_| kind != 0)
                .copied()
                .unwrap_or(0);
            let size = u64::from(n) << shift;
            if size > 4 {
                let Some(at) = u32_at(entry + 8) else {
                    return false;
                };
                if u64::from(at) + size > bytes.len() as u64 {
                    return false;
                }
            }
            if SUB_IFD_TAGS.contains(&tag) && matches!(kind, 4 | 13) {
                let n = n as usize;
                if n == 1 {
                    pending.extend(u32_at(entry + 8).map(|o| o as usize));
                } else if let Some(list) = u32_at(entry + 8).map(|o| o as usize) {
                    if n > MAX_DIRECTORIES || list + 4 * n > bytes.len() {
                        return false;
                    }
                    pending.extend((0..n).filter_map(|k| u32_at(list + 4 * k).map(|o| o as usize)));
                }
            }
        }
        pending.extend(u32_at(offset + 2 + 12 * count).map(|o| o as usize));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiff(entries: &[(u16, u16, u32, u32)], next: u32) -> Vec<u8> {
        let mut out = b"II*\0\x08\0\0\0".to_vec();
        out.extend((entries.len() as u16).to_le_bytes());
        for &(tag, kind, count, value) in entries {
            out.extend(tag.to_le_bytes());
            out.extend(kind.to_le_bytes());
            out.extend(count.to_le_bytes());
            out.extend(value.to_le_bytes());
        }
        out.extend(next.to_le_bytes());
        out.extend([0u8; 16]);
        out
    }

    #[test]
    fn directories_that_loop_or_leave_the_file_are_refused() {
        assert!(tiff_structure_is_sound(&tiff(&[(0x100, 3, 1, 64)], 0)));
        assert!(
            !tiff_structure_is_sound(&tiff(&[(0x100, 3, 1, 64)], 8)),
            "next IFD is itself"
        );
        assert!(
            !tiff_structure_is_sound(&tiff(&[(0x8769, 4, 1, 8)], 0)),
            "Exif IFD is itself"
        );
        assert!(
            !tiff_structure_is_sound(&tiff(&[(0x100, 3, 1, 64)], 9000)),
            "next IFD outside"
        );
        let fuzzed =
            include_bytes!("../../../../fuzz/regressions/tiff-ifd-chain-loop-hangs-rawler.tif");
        assert!(!tiff_structure_is_sound(fuzzed));
    }

    #[test]
    fn an_entry_whose_values_would_lie_past_the_end_is_refused() {
        // 8 SHORTs at offset 26 end at the last byte of the 42-byte file.
        assert!(tiff_structure_is_sound(&tiff(&[(0x100, 3, 8, 26)], 0)));
        assert!(
            !tiff_structure_is_sound(&tiff(&[(0x100, 3, 4_000_000, 26)], 0)),
            "4 M SHORTs in a 48-byte file"
        );
        assert!(
            !tiff_structure_is_sound(&tiff(&[(0x100, 0x7777, u32::MAX, 26)], 0)),
            "an unknown type counts as bytes"
        );
        // rawler allocated count × size before reading: 8 GB for this 507-byte file (fuzzing).
        let fuzzed = include_bytes!(
            "../../../../fuzz/regressions/tiff-entry-count-past-the-end-allocates-8gb-in-rawler.dng"
        );
        assert!(!tiff_structure_is_sound(fuzzed));
    }

    #[test]
    fn a_panic_inside_rawler_is_this_files_error() {
        // rawler 0.8 adds a RAF header's offset without checking for overflow (fuzzing).
        let fuzzed = include_bytes!(
            "../../../../fuzz/regressions/raf-header-offset-overflow-panics-rawler.raf"
        );
        let need = Need {
            short: 224,
            long: 320,
        };
        match preview(fuzzed, need) {
            Some(Err(Unreadable(reason))) => assert!(reason.contains("RAW decoder"), "{reason}"),
            other => panic!(
                "expected this file's error, got {:?}",
                other.map(|r| r.map(|_| ()))
            ),
        }
    }
}
