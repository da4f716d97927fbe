//! What the benchmarks run on, made the same way every time: CLIP-like vectors, photo-like
//! JPEGs, a catalog of synthetic photos, and typical queries that never repeat.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clipstream_core::Model;
use clipstream_core::model::encoders as embed;
use clipstream_core::store::catalog::{Batch, Catalog, NewImage, Stamp};

/// Queries of typical length, all different, so nothing can be cached between them.
pub const QUERIES: &[&str] = &[
    "dog on a beach at sunset",
    "birthday cake with candles",
    "snowy mountains",
    "a red car",
    "children playing in a park",
    "cat sleeping on a sofa",
    "city skyline at night",
    "plate of pasta",
    "wedding dance",
    "receipt",
    "sunflowers in a field",
    "a bicycle",
    "old stone bridge over a river",
    "fireworks",
    "people hiking in the forest",
    "a sailing boat",
    "grandmother smiling",
    "christmas tree with lights",
    "a horse in a meadow",
    "screenshot of a chat",
    "whiteboard with diagrams",
    "rainy street with umbrellas",
    "breakfast table",
    "baby in a bathtub",
    "lighthouse on a cliff",
    "autumn leaves",
    "a tent by a lake",
    "concert crowd",
    "a cup of coffee",
    "dog catching a frisbee",
    "graduation ceremony",
    "desert dunes",
    "a swimming pool",
    "vintage car show",
    "family photo on a couch",
    "skiing down a slope",
    "street food market",
    "a waterfall",
    "cathedral interior",
    "soccer match",
    "tulips in a vase",
    "a passport photo",
    "northern lights",
    "beach volleyball",
    "cooking in the kitchen",
    "a messy desk",
    "sunrise over the sea",
    "train station",
    "a kitten",
    "hot air balloons",
    "book shelf",
    "a bride and groom",
    "surfing a big wave",
    "roses",
    "a camping stove",
    "zoo elephants",
    "a map",
    "museum painting",
    "carnival costumes",
    "a bowl of ramen",
];

/// The `i`-th query of a long run of searches: [`QUERIES`] first, then the same texts with a
/// round number, so no two are alike and none is answered from the text encoder's recent ones.
pub fn query(i: usize) -> String {
    let text = QUERIES[i % QUERIES.len()];
    match i / QUERIES.len() {
        0 => text.to_owned(),
        round => format!("{text} {round}"),
    }
}

/// A small deterministic generator (SplitMix64), so runs are comparable.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [0, 1), at f64's full precision.
    pub fn unit_f64(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
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
pub fn vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
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

/// A photo-like 8-bit RGB picture: gradients, blocks of colour and sensor-like noise.
fn photo(width: u32, height: u32, seed: u64) -> image::RgbImage {
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

/// A folder of generated photo-like JPEGs.
pub struct Photos {
    pub folder: PathBuf,
    pub count: usize,
    pub width: u32,
    pub height: u32,
}

impl Photos {
    /// The JPEGs, generated (quality 90) when the folder is empty.
    pub fn files(&self) -> anyhow::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(&self.folder)?;
        if std::fs::read_dir(&self.folder)?.count() == 0 {
            eprintln!(
                "generating {} {}×{} JPEGs in {}",
                self.count,
                self.width,
                self.height,
                self.folder.display()
            );
            for i in 0..self.count {
                let img = photo(self.width, self.height, i as u64);
                let path = self.folder.join(format!("photo_{i:04}.jpg"));
                let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
                    .encode_image(&img)?;
            }
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.folder)?
            .filter_map(|e| Some(e.ok()?.path()))
            .collect();
        files.sort();
        Ok(files)
    }
}

/// A catalog of `n` images with synthetic CLIP-like embeddings (made once, reused), as indexing
/// would have written it. Returns the seconds spent making it (0 when reused).
pub fn library(dir: &Path, model: &Model, n: usize) -> anyhow::Result<f64> {
    let path = dir.join(clipstream_core::store::catalog::DATABASE);
    if path.is_file() {
        let catalog = Catalog::open(&path)?;
        if catalog.count_images()? as usize == n
            && catalog.meta("model_id")?.as_deref() == Some(model.manifest.model_id.as_str())
        {
            return Ok(0.0);
        }
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let started = Instant::now();
    let mut catalog = Catalog::open(&path)?;
    catalog.reset_embeddings(&model.manifest.model_id, model.manifest.embedding_dim)?;
    let folder = catalog.add_folder(Path::new("/synthetic/photos"))?;
    let vectors = vectors(n, model.manifest.embedding_dim, 7);
    for (chunk_no, chunk) in vectors.chunks(10_000).enumerate() {
        let mut batch = Batch::default();
        for (i, v) in chunk.iter().enumerate() {
            let k = chunk_no * 10_000 + i;
            batch.insert.push(NewImage {
                folder_id: folder,
                path: PathBuf::from(format!("/synthetic/photos/{:03}/IMG_{k:07}.jpg", k / 1000)),
                stamp: Stamp {
                    size: 3_000_000 + k as u64,
                    mtime_ns: 1_600_000_000_000_000_000 + k as i64,
                },
                hash: *blake3::hash(&k.to_le_bytes()).as_bytes(),
                format: "jpeg".into(),
                width: 4000,
                height: 3000,
                taken_at: Some(1_500_000_000 + (k as i64) * 600),
                embedding: v.clone(),
            });
        }
        catalog.apply(&batch)?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// The files of a library that make it whole (catalog and vector index), for copying one.
const LIBRARY_FILES: [&str; 5] = [
    "catalog.sqlite",
    "catalog.sqlite-wal",
    "catalog.sqlite-shm",
    "vectors.usearch",
    "vectors.usearch.json",
];

/// Copy `template`'s catalog and vector index into the (existing) folder `dir`.
pub fn copy_library(template: &Path, dir: &Path) -> anyhow::Result<()> {
    for name in LIBRARY_FILES {
        if template.join(name).is_file() {
            std::fs::copy(template.join(name), dir.join(name))
                .with_context(|| format!("copying {name} of {}", template.display()))?;
        }
    }
    Ok(())
}
