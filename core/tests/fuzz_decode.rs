//! A short mutation fuzz of the decode + preprocess path on the stable toolchain, run by
//! `make test`: the fuzzer's seeds and a few real photos, mutated the ways bytes rot (bit flips,
//! overwritten bytes, extreme header values, cut, spliced, duplicated runs), through exactly what
//! the indexer and the preview do with a file. Errors are fine; a panic is a finding. Inputs that
//! once failed are kept in `fuzz/regressions/` and replayed first. The long run is `make fuzz`
//! (cargo-fuzz, libFuzzer); `FUZZ_ITERATIONS` lengthens this one.

use crate::hostile;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clipstream_core::Model;
use clipstream_core::ingest::{decode, thumbnail};
use clipstream_core::model::Preprocess;
use clipstream_core::model::encoders as embed;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("core/ lives in the repo root")
        .to_path_buf()
}

/// The test model's preprocessing at ViT-B/32's 224 px (the same steps as the real model's).
fn clip_preprocess() -> Preprocess {
    let model = Model::open(repo().join("models/tiny-clip")).expect("test model opens");
    Preprocess {
        resize_shortest_edge: 224,
        center_crop: [224, 224],
        ..model.manifest.vision.preprocess
    }
}

/// What the indexer and the app's preview do with untrusted bytes.
fn exercise(bytes: &[u8], spec: &Preprocess) -> bool {
    let decoded =
        decode::decode_with_thumbnail(bytes, 224, thumbnail::BOX, decode::DEFAULT_MAX_PIXELS);
    if let Ok((d, thumb)) = &decoded {
        // Bounded work whatever the header claims (a 3000×1 strip is cut to 4:1 first).
        let (w, h) = d.image.dimensions();
        assert!(w.max(h) <= 224 * decode::MAX_ASPECT, "{w}×{h} model input");
        let pixels = embed::preprocess(&d.image, spec);
        assert_eq!(pixels.len(), 3 * 224 * 224);
        assert!(pixels.iter().all(|v| v.is_finite()));
        assert!(thumb.width().max(thumb.height()) <= thumbnail::BOX);
    }
    let _ = decode::decode_to_fit(bytes, 2048, decode::DEFAULT_MAX_PIXELS);
    let _ = decode::taken_at(bytes);
    let _ = decode::jpeg::is_complete(bytes);
    decoded.is_ok()
}

fn mutate(rng: &mut hostile::Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        if out.is_empty() {
            out.push(0);
        }
        let at = rng.below(out.len());
        match rng.below(7) {
            0 => out[at] ^= 1 << rng.below(8),
            1 => out[at] = rng.next() as u8,
            2 => {
                // An extreme value where a header field may be: sizes, counts, offsets.
                let value: [u8; 4] =
                    [[0xFF; 4], [0; 4], [0x7F, 0xFF, 0xFF, 0xFF], [0, 0, 0, 1]][rng.below(4)];
                for (i, b) in value.iter().enumerate() {
                    if let Some(slot) = out.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
            3 => out.truncate(at.max(1)),
            4 => {
                let len = rng.below(64).min(out.len() - at);
                let run = out[at..at + len].to_vec();
                let to = rng.below(out.len());
                out.splice(to..to, run);
            }
            5 => {
                let end = (at + rng.below(64)).min(out.len());
                out.drain(at..end);
            }
            _ => {
                let len = 1 + rng.below(16);
                let noise = rng.bytes(len);
                out.splice(at..at, noise);
            }
        }
    }
    out
}

/// The process's peak resident memory (kB) since the last [`reset_peak_memory`].
fn peak_memory_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

fn reset_peak_memory() {
    // "5" resets the peak resident set size (Linux's clear_refs).
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
}

/// Each input that once hung, blew up or crashed must now finish quickly and in bounded
/// memory: at most these (generous, in a debug build; the fixes refuse them from the header).
const REGRESSION_SECONDS: f64 = 10.0;
const REGRESSION_MEMORY_KB: u64 = 400 * 1024;

/// Replay `fuzz/regressions/`; returns how many inputs it replayed (all of them, never none).
fn replay_regressions(spec: &Preprocess) -> usize {
    let dir = repo().join("fuzz/regressions");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 12,
        "fuzz/regressions holds {} inputs, expected the 12 kept ones",
        inputs.len()
    );
    for path in &inputs {
        let bytes = std::fs::read(path).expect("read");
        reset_peak_memory();
        let started = Instant::now();
        let ok = std::panic::catch_unwind(|| exercise(&bytes, spec));
        let (seconds, peak) = (started.elapsed().as_secs_f64(), peak_memory_kb());
        assert!(ok.is_ok(), "regression {} panics again", path.display());
        eprintln!(
            "{}: {seconds:.3} s, peak {} MB",
            path.display(),
            peak / 1024
        );
        assert!(
            seconds < REGRESSION_SECONDS,
            "{} took {seconds:.1} s",
            path.display()
        );
        assert!(
            peak < REGRESSION_MEMORY_KB,
            "{} peaked at {} MB",
            path.display(),
            peak / 1024
        );
    }
    inputs.len()
}

#[test]
fn mutated_images_never_panic_the_decode_and_preprocess_path() {
    let iterations: usize =
        std::env::var("FUZZ_ITERATIONS").map_or(3000, |v| v.parse().expect("a number"));
    let spec = clip_preprocess();
    let (seeds, photos) = hostile::sources(&repo());
    let regressions = replay_regressions(&spec);
    let inputs: Vec<Vec<u8>> = seeds.into_iter().chain(photos).map(|(_, b)| b).collect();
    let mut rng = hostile::Rng(0xF022_D3C0 ^ iterations as u64);
    let (started, mut decoded) = (Instant::now(), 0);
    let mut findings = Vec::new();
    for i in 0..iterations {
        let input = mutate(&mut rng, &inputs[i % inputs.len()]);
        match std::panic::catch_unwind(|| exercise(&input, &spec)) {
            Ok(ok) => decoded += usize::from(ok),
            Err(_) => {
                let path = std::env::temp_dir().join(format!("clipstream-fuzz-finding-{i}.bin"));
                std::fs::write(&path, &input).expect("write finding");
                findings.push(path);
            }
        }
    }
    eprintln!(
        "{iterations} mutated inputs in {:.1} s ({decoded} still decoded), {regressions} regressions replayed, {} findings",
        started.elapsed().as_secs_f64(),
        findings.len()
    );
    assert!(findings.is_empty(), "inputs that panic: {findings:?}");
    assert!(
        decoded > 0 && decoded < iterations,
        "mutations both break and keep images"
    );
}
