//! Untrusted file bytes through what the indexer (`index::read_and_decode`) and the app's preview
//! (`Library::read_upright`) do with them. Errors are fine (they become skip reasons); a panic,
//! abort, OOM or timeout is a finding.
#![no_main]

use clipstream_core::ingest::{decode, thumbnail};
use clipstream_core::model::Preprocess;
use clipstream_core::model::encoders as embed;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

/// CLIP ViT-B/32's image processor, as its manifest describes it.
static SPEC: LazyLock<Preprocess> = LazyLock::new(|| Preprocess {
    resize_shortest_edge: 224,
    resample: "bicubic".into(),
    center_crop: [224, 224],
    rescale_factor: 1.0 / 255.0,
    mean: [0.481_454_66, 0.457_827_5, 0.408_210_73],
    std: [0.268_629_54, 0.261_302_58, 0.275_777_11],
});

fuzz_target!(
    init: {
        // libfuzzer-sys aborts on every panic, even one the library catches itself. ClipStream
        // catches rawler's panics and turns them into the file's skip reason (decode/raw.rs), as
        // the product does; a panic that escapes still aborts (libfuzzer-sys's own wrapper).
        let _ = std::panic::take_hook();
    },
    |data: &[u8]| {
        // The indexer: model input + thumbnail from one decode, then CLIP preprocessing.
        if let Ok((decoded, _thumbnail)) = decode::decode_with_thumbnail(
            data,
            SPEC.resize_shortest_edge,
            thumbnail::BOX,
            decode::DEFAULT_MAX_PIXELS,
        ) {
            let pixels = embed::preprocess(&decoded.image, &SPEC);
            assert_eq!(pixels.len(), 3 * 224 * 224);
            assert!(pixels.iter().all(|v| v.is_finite()));
        }
        // The app's preview.
        let _ = decode::decode_to_fit(data, 2048, decode::DEFAULT_MAX_PIXELS);
        let _ = decode::taken_at(data);
        let _ = decode::jpeg::is_complete(data);
    }
);
