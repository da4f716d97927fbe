//! `clipstream-bench`: measurements behind BENCHMARKS.md. Not tests: nothing here asserts a time.
//!
//! - `vindex`: recall@10 of the usearch HNSW index against exact search, per storage scalar, on
//!   synthetic CLIP-like vectors, with query latency.
//! - `indexing`: images/s of `Library::index` on a folder of large JPEGs against the bare vision
//!   model fed already-preprocessed images, at the same thread count.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};
use clipstream_core::vindex::{Scalar, VectorIndex};
use clipstream_core::{Library, Model, Options, VisionEncoder, decode, embed};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Recall and latency of the vector index per scalar type.
    Vindex {
        #[arg(long, default_value_t = 100_000)]
        n: usize,
        #[arg(long, default_value_t = 512)]
        dim: usize,
        #[arg(long, default_value_t = 200)]
        queries: usize,
        /// Search expansions (HNSW ef) to try.
        #[arg(long, value_delimiter = ',', default_value = "64")]
        ef: Vec<usize>,
        /// Scalar types to try.
        #[arg(long, value_delimiter = ',', default_value = "f32,bf16,f16,i8")]
        scalars: Vec<String>,
    },
    /// Indexing throughput on a folder of large JPEGs (generated if missing).
    Indexing {
        /// Model folder (manifest.json), e.g. models/build/random-vit-b-32.
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        folder: PathBuf,
        /// JPEGs to generate in FOLDER when it is empty.
        #[arg(long, default_value_t = 32)]
        generate: usize,
        #[arg(long, default_value_t = 4000)]
        width: u32,
        #[arg(long, default_value_t = 3000)]
        height: u32,
        #[arg(long)]
        threads: Option<usize>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Vindex {
            n,
            dim,
            queries,
            ef,
            scalars,
        } => vindex(n, dim, queries, &ef, &scalars),
        Command::Indexing {
            model,
            folder,
            generate,
            width,
            height,
            threads,
        } => indexing(&model, &folder, generate, width, height, threads),
    }
}

/// A small deterministic generator (SplitMix64), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f32 {
        let (u, v) = (self.unit().max(1e-7), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f32::consts::PI * v).cos()
    }
}

/// CLIP-like vectors: real embeddings have a low intrinsic dimension, so points are drawn in a
/// 64-d latent space around 1000 topic centres (photos of similar things cluster), mapped to `dim`
/// dimensions by a fixed random matrix, offset by a direction all embeddings share, plus a little
/// isotropic noise; then normalised. Queries come from the same distribution with another seed.
pub fn synthetic_vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    const LATENT: usize = 64;
    let mut fixed = Rng(7);
    let common: Vec<f32> = (0..dim).map(|_| fixed.normal()).collect();
    let centres: Vec<Vec<f32>> = (0..1000)
        .map(|_| (0..LATENT).map(|_| fixed.normal()).collect())
        .collect();
    let projection: Vec<Vec<f32>> = (0..dim)
        .map(|_| (0..LATENT).map(|_| fixed.normal() / 8.0).collect())
        .collect();
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            let c = &centres[(rng.next() % 1000) as usize];
            let z: Vec<f32> = c.iter().map(|x| x + 0.5 * rng.normal()).collect();
            let v: Vec<f32> = (0..dim)
                .map(|i| {
                    let projected: f32 = projection[i].iter().zip(&z).map(|(a, b)| a * b).sum();
                    projected + 0.6 * common[i] + 0.1 * rng.normal()
                })
                .collect();
            embed::normalized(&v)
        })
        .collect()
}

fn exact_top(vectors: &[Vec<f32>], q: &[f32], k: usize) -> Vec<i64> {
    let mut scored: Vec<(f32, i64)> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| (v.iter().zip(q).map(|(a, b)| a * b).sum(), i as i64))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

fn vindex(
    n: usize,
    dim: usize,
    queries: usize,
    efs: &[usize],
    scalars: &[String],
) -> anyhow::Result<()> {
    let vectors = synthetic_vectors(n, dim, 1);
    let probes = synthetic_vectors(queries, dim, 2);
    let truth: Vec<Vec<i64>> = probes.iter().map(|q| exact_top(&vectors, q, 10)).collect();
    println!(
        "{n} synthetic CLIP-like {dim}-d vectors, {queries} queries, recall@10 vs exact f32 search"
    );
    println!(
        "| scalar | build (s) | memory (MiB) | ef | recall@10 | search p50 (ms) | search p99 (ms) |"
    );
    println!("| :-- | --: | --: | --: | --: | --: | --: |");
    for name in scalars {
        let scalar = match name.as_str() {
            "f32" => Scalar::F32,
            "bf16" => Scalar::Bf16,
            "f16" => Scalar::F16,
            "i8" => Scalar::I8,
            other => anyhow::bail!("unknown scalar {other}"),
        };
        let index = VectorIndex::new(dim, scalar)?;
        let started = Instant::now();
        for (i, v) in vectors.iter().enumerate() {
            index.add(i as i64, v)?;
        }
        let build = started.elapsed().as_secs_f64();
        for &ef in efs {
            index.set_expansion_search(ef);
            let mut found = 0usize;
            let mut times = Vec::with_capacity(queries);
            for (q, want) in probes.iter().zip(&truth) {
                let t = Instant::now();
                let got = index.search(q, 10, None)?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                found += got.iter().filter(|h| want.contains(&h.id)).count();
            }
            times.sort_by(f64::total_cmp);
            let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
            println!(
                "| {scalar:?} | {build:.1} | {:.0} | {ef} | {:.4} | {:.2} | {:.2} |",
                index.memory_usage() as f64 / (1024.0 * 1024.0),
                found as f64 / (10 * queries) as f64,
                pct(0.5),
                pct(0.99)
            );
        }
    }
    Ok(())
}

/// A photo-like 8-bit RGB picture: gradients, blocks of colour and sensor-like noise.
fn synthetic_photo(width: u32, height: u32, seed: u64) -> image::RgbImage {
    let mut rng = Rng(seed);
    let blocks: Vec<(u32, u32, u32, [u8; 3])> = (0..40)
        .map(|_| {
            let (x, y) = (
                (rng.next() % u64::from(width)) as u32,
                (rng.next() % u64::from(height)) as u32,
            );
            let r = 50 + (rng.next() % 600) as u32;
            (
                x,
                y,
                r,
                [rng.next() as u8, rng.next() as u8, rng.next() as u8],
            )
        })
        .collect();
    image::RgbImage::from_fn(width, height, |x, y| {
        let mut px = [(x * 255 / width) as u8, (y * 255 / height) as u8, 128];
        for &(bx, by, r, c) in &blocks {
            if x.abs_diff(bx) < r && y.abs_diff(by) < r {
                px = c;
            }
        }
        let noise = (rng.next() % 16) as u8;
        image::Rgb(px.map(|c| c.saturating_add(noise)))
    })
}

fn indexing(
    model_dir: &Path,
    folder: &Path,
    generate: usize,
    w: u32,
    h: u32,
    threads: Option<usize>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(folder)?;
    let existing = std::fs::read_dir(folder)?.count();
    if existing == 0 {
        eprintln!(
            "generating {generate} {w}×{h} JPEGs in {}",
            folder.display()
        );
        for i in 0..generate {
            let img = synthetic_photo(w, h, i as u64);
            let path = folder.join(format!("photo_{i:04}.jpg"));
            let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img)?;
        }
    }
    let count = std::fs::read_dir(folder)?.count();
    let bytes: u64 = std::fs::read_dir(folder)?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    let model =
        Model::open(model_dir).with_context(|| format!("model in {}", model_dir.display()))?;
    let threads = threads.unwrap_or_else(embed::default_threads);

    // One photo's decode + resize + orient on one thread (what each worker does per file).
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    files.sort();
    let short_side = model.manifest.vision.preprocess.resize_shortest_edge;
    let mut decode_ms = Vec::new();
    for path in files.iter().take(8) {
        let bytes = std::fs::read(path)?;
        let t = Instant::now();
        decode::decode(&bytes, short_side, decode::DEFAULT_MAX_PIXELS)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        decode_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    decode_ms.sort_by(f64::total_cmp);

    // Bare model: the same number of images, already preprocessed, through the same session setup.
    let vision = VisionEncoder::new(&model, threads)?;
    let [ch, cw] = model.manifest.vision.preprocess.center_crop;
    let pixels = vec![vec![0.1f32; 3 * ch as usize * cw as usize]; 16];
    vision.encode_batch(&pixels[..2])?;
    let started = Instant::now();
    let mut done = 0;
    while done < count {
        let n = (count - done).min(16);
        vision.encode_batch(&pixels[..n])?;
        done += n;
    }
    let bare = count as f64 / started.elapsed().as_secs_f64();
    drop(vision);

    let lib_dir = std::env::temp_dir().join(format!("clipstream-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&lib_dir);
    let options = Options {
        threads,
        ..Options::default()
    };
    let library = Library::open(&lib_dir, Some(&model), options)?;
    library.add_folder(folder)?;
    let started = Instant::now();
    let report = library.index(&mut |_| {}, &AtomicBool::new(false))?;
    let product = report.added as f64 / started.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&lib_dir)?;
    let summary = serde_json::json!({
        "images": count,
        "megapixels": f64::from(w) * f64::from(h) / 1e6,
        "mean_file_mib": bytes as f64 / count as f64 / (1024.0 * 1024.0),
        "threads": threads,
        "decode_resize_ms_median_1_thread": decode_ms[decode_ms.len() / 2],
        "model": model.manifest.model_id,
        "product_images_per_s": product,
        "bare_model_images_per_s": bare,
        "ratio": product / bare,
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
