//! `clipstream-bench`: measurements behind BENCHMARKS.md. Not tests: nothing here asserts a time.
//!
//! - `vindex`: recall@10 of the usearch HNSW index against exact search, per storage scalar, on
//!   synthetic CLIP-like vectors, with query latency.
//! - `indexing`: images/s of `Library::index` on a folder of large JPEGs against the bare vision
//!   model fed already-preprocessed images, at the same thread count.
//! - `query`: the product's query encoding (tokenizer + hybrid text model at the query's length).
//! - `search`: end-to-end search through the façade over a library of synthetic embeddings in a
//!   real catalog and index file, with the process's memory.
//! - `startup`: launch of the `clipstream` binary to its first printed result.
//!
//! Each can write its figures as JSON (`--json FILE`) for `scripts/bench.sh`'s summary.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};
use clipstream_core::ingest::decode;
use clipstream_core::model::encoders::{self as embed, TextEncoder, VisionEncoder};
use clipstream_core::store::catalog::{Batch, Catalog, NewImage, Stamp};
use clipstream_core::store::vindex::{Scalar, VectorIndex};
use clipstream_core::{Library, Model, Options};

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
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// The product's query encoding: median and p99 over RUNS after warm-up.
    Query {
        #[arg(long)]
        model: PathBuf,
        #[arg(long, default_value = "dog on a beach at sunset")]
        query: String,
        #[arg(long, default_value_t = 60)]
        runs: usize,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// JSON with the PyTorch FP32 embedding of the same query ({"embedding": [...]}).
        #[arg(long)]
        reference: Option<PathBuf>,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Search a library whose vector index is missing, as the app does: exact search over every
    /// embedding while the index is built in the background (the saved index is only set aside
    /// and put back: `search --rebuild` must have made it).
    SearchWhileBuilding {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        library: PathBuf,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// End-to-end search (tokenize → encode → vector search → catalog rows) over N images.
    Search {
        #[arg(long)]
        model: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        n: usize,
        /// Library folder; made once and reused while it holds N images.
        #[arg(long)]
        library: PathBuf,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Read the vector index into memory instead of using the file in place (memory-mapped).
        #[arg(long)]
        index_in_memory: bool,
        /// Skip the duplicates pass (minutes at 1M photos).
        #[arg(long)]
        no_duplicates: bool,
        /// Results asked for per search (the app asks for up to 1000).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only time opening the library with its vector index rebuilt from the catalog, and
        /// leave the index file for the next run (memory is measured in a process of its own).
        #[arg(long)]
        rebuild: bool,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Launch of `clipstream search` to its first result, as a user runs it.
    Startup {
        #[arg(long)]
        cli: PathBuf,
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        library: PathBuf,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Resident memory of the vision model alone: loaded, after a batch of 1, after a batch of 16.
    VisionMemory {
        #[arg(long)]
        model: PathBuf,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Indexing speed per format (JPEG, HEIC, AVIF, JPEG XL, DNG) on the same generated photos,
    /// and whether a HEIC's embedded thumbnail could feed the model instead of its full image.
    Formats {
        #[arg(long)]
        model: PathBuf,
        /// Where the photos of each format are made (once; heif-enc and cjxl must be installed).
        #[arg(long)]
        folder: PathBuf,
        #[arg(long, default_value_t = 8)]
        count: usize,
        #[arg(long, default_value_t = 4000)]
        width: u32,
        #[arg(long, default_value_t = 3000)]
        height: u32,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Where one JPEG's decode goes, step by step (medians over the folder's files, one thread).
    Decode {
        #[arg(long)]
        folder: PathBuf,
        #[arg(long, default_value_t = 224)]
        short_side: u32,
        #[arg(long)]
        json: Option<PathBuf>,
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
        /// Index into a copy of this library (e.g. the 100k one `search` made), as a user with a
        /// big library adds a folder: memory is measured with it open.
        #[arg(long)]
        with_library: Option<PathBuf>,
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    if std::env::var_os("CLIPSTREAM_GLIBC_DEFAULTS").is_none() {
        clipstream_core::return_freed_memory();
    }
    let (summary, json) = match Cli::parse().command {
        Command::Vindex {
            n,
            dim,
            queries,
            ef,
            scalars,
            json,
        } => (vindex(n, dim, queries, &ef, &scalars)?, json),
        Command::Indexing {
            model,
            folder,
            generate,
            width,
            height,
            threads,
            with_library,
            json,
        } => {
            let photos = Photos {
                folder,
                count: generate,
                width,
                height,
            };
            (
                indexing(&model, &photos, threads, with_library.as_deref())?,
                json,
            )
        }
        Command::Query {
            model,
            query,
            runs,
            threads,
            reference,
            json,
        } => (
            query_encoding(&model, &query, runs, threads, reference.as_deref())?,
            json,
        ),
        Command::Search {
            model,
            n,
            library,
            threads,
            rounds,
            index_in_memory,
            no_duplicates,
            limit,
            rebuild,
            json,
        } => (
            search_e2e(
                &model,
                n,
                &library,
                threads,
                rounds,
                rebuild,
                SearchParts {
                    map_index: !index_in_memory,
                    find_duplicates: !no_duplicates,
                    limit,
                },
            )?,
            json,
        ),
        Command::SearchWhileBuilding {
            model,
            library,
            threads,
            json,
        } => (search_while_building(&model, &library, threads)?, json),
        Command::Startup {
            cli,
            model,
            library,
            runs,
            json,
        } => (startup(&cli, &model, &library, runs)?, json),
        Command::VisionMemory {
            model,
            threads,
            json,
        } => (vision_memory(&model, threads)?, json),
        Command::Formats {
            model,
            folder,
            count,
            width,
            height,
            threads,
            json,
        } => {
            let photos = Photos {
                folder: folder.join("jpeg"),
                count,
                width,
                height,
            };
            (formats(&model, &photos, &folder, threads)?, json)
        }
        Command::Decode {
            folder,
            short_side,
            json,
        } => (decode_profile(&folder, short_side)?, json),
    };
    let text = serde_json::to_string_pretty(&summary)?;
    println!("{text}");
    if let Some(path) = json {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Median and 99th percentile of `times` (sorted here).
fn percentiles(times: &mut [f64]) -> (f64, f64) {
    if times.is_empty() {
        return (f64::NAN, f64::NAN); // null in the JSON
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    (pct(0.5), pct(0.99))
}

/// Each file's decode + resize + orient (+ thumbnail pixels) on this thread, as an indexing
/// worker does it, in milliseconds.
fn decode_times(files: &[PathBuf], short_side: u32) -> anyhow::Result<Vec<f64>> {
    let mut times = Vec::with_capacity(files.len());
    for path in files {
        let bytes = std::fs::read(path)?;
        let t = Instant::now();
        decode::decode_with_thumbnail(
            &bytes,
            short_side,
            clipstream_core::ingest::thumbnail::BOX,
            decode::DEFAULT_MAX_PIXELS,
        )
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        times.push(ms_since(t));
    }
    Ok(times)
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// A memory field of this process's /proc status (`VmRSS:`, …), in MB (10^6 bytes).
fn memory_field(name: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib * 1024.0 / 1e6)
}

/// This process's resident memory now and at its peak, in MB.
fn rss_mb() -> (f64, f64) {
    (memory_field("VmRSS:"), memory_field("VmHWM:"))
}

/// This process's resident memory now, split: anonymous (heap; this process's alone) and file
/// pages (a memory-mapped vector index: page cache, shared, dropped under pressure), in MB.
fn rss_split_mb() -> serde_json::Value {
    serde_json::json!({ "anon": memory_field("RssAnon:"), "file": memory_field("RssFile:") })
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

fn query_encoding(
    model_dir: &Path,
    query: &str,
    runs: usize,
    threads: usize,
    reference: Option<&Path>,
) -> anyhow::Result<serde_json::Value> {
    let started = Instant::now();
    let model = Model::open(model_dir)?;
    let open_ms = ms_since(started);
    let started = Instant::now();
    let encoder = TextEncoder::new(&model, threads)?;
    let load_ms = ms_since(started);
    let tokens = encoder.token_ids(query)?.len();
    // The first query after loading, then the steady state.
    let t = Instant::now();
    let first = encoder.encode(query)?;
    let first_ms = ms_since(t);
    for _ in 0..10 {
        encoder.encode(query)?;
    }
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            encoder.encode(query).map(|_| ms_since(t))
        })
        .collect::<Result<_, _>>()?;
    let (p50, p99) = percentiles(&mut times);
    let (rss, _) = rss_mb();
    let cos = match reference {
        Some(path) => {
            let value: serde_json::Value = serde_json::from_slice(&std::fs::read(path)?)?;
            let reference: Vec<f32> = serde_json::from_value(value["embedding"].clone())?;
            Some(cosine(&first, &reference))
        }
        None => None,
    };
    Ok(serde_json::json!({
        "model": model.manifest.model_id,
        "text_file": model.manifest.text.file,
        "query": query,
        "tokens": tokens,
        "threads": threads,
        "runs": runs,
        "model_open_ms": open_ms,
        "text_session_load_ms": load_ms,
        "first_query_ms": first_ms,
        "median_ms": p50,
        "p99_ms": p99,
        "cosine_vs_pytorch": cos,
        "rss_mb_text_model_loaded": rss,
    }))
}

/// Queries of typical length, all different, so nothing can be cached between them.
const QUERIES: &[&str] = &[
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

/// Open `dir` as if its vector index were missing (its stamp set aside, then put back) the way the
/// app does, and time the exact searches that answer while the index is built at low priority.
fn search_while_building(
    model_dir: &Path,
    dir: &Path,
    threads: usize,
) -> anyhow::Result<serde_json::Value> {
    let model = Model::open(model_dir)?;
    let stamp = dir.join(clipstream_core::store::vindex::STAMP_FILE);
    let aside = dir.join("vectors.usearch.json.aside");
    anyhow::ensure!(
        stamp.is_file(),
        "run search --rebuild first to make {}",
        dir.display()
    );
    std::fs::rename(&stamp, &aside)?;
    let measured = (|| -> anyhow::Result<serde_json::Value> {
        let options = Options {
            threads,
            background: true,
            index_build: clipstream_core::IndexBuild::Background,
            // Never a checkpoint: it would overwrite the index file this bench only set aside.
            build_pace: clipstream_core::store::vectors::BuildPace {
                checkpoint_every: std::time::Duration::MAX,
                ..Default::default()
            },
            ..Options::default()
        };
        let (rss_before_open, _) = rss_mb();
        let started = Instant::now();
        let library = Library::open(dir, Some(&model), options)?;
        let open_ms = ms_since(started);
        let (rss_after_open, _) = rss_mb();
        let mut times = Vec::new();
        for q in QUERIES {
            let t = Instant::now();
            library.search(&clipstream_core::Request::new(*q, 20))?;
            times.push(ms_since(t));
        }
        let build = library.index_build();
        let (p50, p99) = percentiles(&mut times);
        let (rss, peak) = rss_mb();
        Ok(serde_json::json!({
            "n": library.status()?.images,
            "open_ms": open_ms,
            "exact_search_ms": { "p50": p50, "p99": p99, "searches": times.len() },
            "still_building_after_the_searches": build.is_some(),
            "build": build,
            "rss_mb_before_open": rss_before_open,
            "rss_mb_after_open": rss_after_open,
            "rss_mb_after_searches": rss,
            "rss_mb_after_searches_split": rss_split_mb(),
            "peak_rss_mb": peak,
        }))
    })();
    std::fs::rename(&aside, &stamp)?;
    measured
}

/// How `search` runs: the vector index mapped or in memory, the duplicates pass or not.
struct SearchParts {
    map_index: bool,
    find_duplicates: bool,
    /// Results per search.
    limit: usize,
}

fn search_e2e(
    model_dir: &Path,
    n: usize,
    dir: &Path,
    threads: usize,
    rounds: usize,
    rebuild: bool,
    SearchParts {
        map_index,
        find_duplicates,
        limit,
    }: SearchParts,
) -> anyhow::Result<serde_json::Value> {
    let model = Model::open(model_dir)?;
    let dim = model.manifest.embedding_dim;
    let options = Options {
        threads,
        map_index,
        ..Options::default()
    };
    if rebuild {
        let build = synthetic_library(dir, &model, n)?;
        let _ = std::fs::remove_file(dir.join("vectors.usearch.json"));
        let started = Instant::now();
        Library::open(dir, Some(&model), options)?;
        return Ok(serde_json::json!({
            "n": n,
            "library_build_s": build,
            "open_with_index_rebuild_ms": ms_since(started),
            "rebuild_threads": embed::default_threads(),
        }));
    }
    anyhow::ensure!(
        dir.join("vectors.usearch.json").is_file(),
        "run with --rebuild first to make the library in {}",
        dir.display()
    );
    let (rss_before_open, _) = rss_mb();
    // As the app and CLI open it: catalog, vector index file, text model.
    let started = Instant::now();
    let library = Library::open(dir, Some(&model), options)?;
    let open_ms = ms_since(started);
    // The first time a query is asked it goes through the text model; asked again, its
    // embedding is one of the encoder's recent ones. Timed apart.
    let (mut times, mut repeated) = (Vec::new(), Vec::new());
    let mut hits = 0;
    for round in 0..rounds {
        for q in QUERIES {
            let t = Instant::now();
            let results = library.search(&clipstream_core::Request::new(*q, limit))?;
            if round == 0 {
                &mut times
            } else {
                &mut repeated
            }
            .push(ms_since(t));
            hits += results.hits.len() + results.hidden;
        }
    }
    let searches = times.len() + repeated.len();
    let (p50, p99) = percentiles(&mut times);
    let (repeated_p50, repeated_p99) = percentiles(&mut repeated);
    let (rss_after_searches, _) = rss_mb();
    let rss_split_after_searches = rss_split_mb();
    // Browsing (an empty query): the first page of 200 newest photos, and the page after 50
    // pages' worth of scrolling, each a keyset page over the catalog's rows.
    let filters = clipstream_core::Filters::default();
    let (mut first_page, mut deep_page) = (Vec::new(), Vec::new());
    let mut deep_cursor = None;
    for _ in 0..50 {
        let page = library.list(&filters, deep_cursor, 200)?;
        deep_cursor = page.next;
    }
    for _ in 0..rounds * QUERIES.len() {
        let t = Instant::now();
        let page = library.list(&filters, None, 200)?;
        first_page.push(ms_since(t));
        anyhow::ensure!(page.images.len() == 200.min(n), "a short first page");
        let t = Instant::now();
        library.list(&filters, deep_cursor, 200)?;
        deep_page.push(ms_since(t));
    }
    // Duplicates over the whole library: every content's nearest neighbours, threshold 0.95.
    let t = Instant::now();
    let groups = if find_duplicates {
        Some(
            library
                .duplicates(clipstream_core::query::duplicates::DEFAULT_THRESHOLD)?
                .len(),
        )
    } else {
        None
    };
    let duplicates_s = find_duplicates.then(|| t.elapsed().as_secs_f64());
    let (list_p50, list_p99) = percentiles(&mut first_page);
    let (deep_p50, deep_p99) = percentiles(&mut deep_page);
    let (rss, peak) = rss_mb();
    Ok(serde_json::json!({
        "n": n,
        "list_first_page_ms": { "p50": list_p50, "p99": list_p99, "page": 200 },
        "list_page_51_ms": { "p50": deep_p50, "p99": deep_p99, "page": 200 },
        "duplicates_s": duplicates_s,
        "duplicate_groups": groups,
        "dimensions": dim,
        "threads": threads,
        "index_mapped": map_index,
        "searches": searches,
        "results_per_search": hits as f64 / searches as f64,
        "p50": p50,
        "p99": p99,
        "first_time_queries": times.len(),
        "repeated_query_ms": { "p50": repeated_p50, "p99": repeated_p99 },
        "rss_mb_after_searches": rss_after_searches,
        "rss_mb_after_searches_split": rss_split_after_searches,
        "rss_mb_split": rss_split_mb(),
        "open_ms": open_ms,
        "rss_mb": rss,
        "rss_mb_before_open": rss_before_open,
        "peak_rss_mb": peak,
    }))
}

/// A catalog of `n` images with synthetic CLIP-like embeddings (made once, reused), as indexing
/// would have written it. Returns the seconds spent making it (0 when reused).
fn synthetic_library(dir: &Path, model: &Model, n: usize) -> anyhow::Result<f64> {
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
    let vectors = synthetic_vectors(n, model.manifest.embedding_dim, 7);
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

fn startup(
    cli: &Path,
    model: &Path,
    library: &Path,
    runs: usize,
) -> anyhow::Result<serde_json::Value> {
    let run = |query: &str| -> anyhow::Result<f64> {
        let t = Instant::now();
        let out = std::process::Command::new(cli)
            .arg("--library")
            .arg(library)
            .arg("--model")
            .arg(model)
            .args(["search", query, "-k", "10", "--all"])
            .output()?;
        anyhow::ensure!(
            out.status.success() && !out.stdout.is_empty(),
            "{} failed: {}",
            cli.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(ms_since(t))
    };
    // One run to fill the page cache and the model check cache: a user's second launch.
    let first_ever = run(QUERIES[0])?;
    let mut times: Vec<f64> = QUERIES[1..=runs]
        .iter()
        .map(|q| run(q))
        .collect::<Result<_, _>>()?;
    let (p50, _) = percentiles(&mut times);
    Ok(serde_json::json!({
        "command": format!("{} --library L --model M search QUERY -k 10 --all", cli.display()),
        "runs": runs,
        "first_launch_ms": first_ever,
        "median_ms": p50,
        "max_ms": times.last(),
    }))
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
) -> anyhow::Result<serde_json::Value> {
    let vectors = synthetic_vectors(n, dim, 1);
    let probes = synthetic_vectors(queries, dim, 2);
    let truth: Vec<Vec<i64>> = probes.iter().map(|q| exact_top(&vectors, q, 10)).collect();
    eprintln!(
        "{n} synthetic CLIP-like {dim}-d vectors, {queries} queries, recall@10 vs exact f32 search"
    );
    eprintln!(
        "| scalar | build (s) | memory (MiB) | ef | recall@10 | search p50 (ms) | search p99 (ms) |"
    );
    eprintln!("| :-- | --: | --: | --: | --: | --: | --: |");
    let mut rows = Vec::new();
    for name in scalars {
        let scalar = match name.as_str() {
            "f32" => Scalar::F32,
            "bf16" => Scalar::Bf16,
            "f16" => Scalar::F16,
            "i8" => Scalar::I8,
            other => anyhow::bail!("unknown scalar {other}"),
        };
        let threads = embed::default_threads();
        let started = Instant::now();
        let index = VectorIndex::with_capacity(dim, scalar, n)?;
        for (c, chunk) in vectors.chunks(8192).enumerate() {
            let items: Vec<(i64, Vec<f32>)> = chunk
                .iter()
                .enumerate()
                .map(|(i, v)| ((c * 8192 + i) as i64, v.clone()))
                .collect();
            index.add_parallel(&items)?;
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
            let (p50, p99) = percentiles(&mut times);
            let memory = index.memory_usage() as f64 / (1024.0 * 1024.0);
            let recall = found as f64 / (10 * queries) as f64;
            eprintln!(
                "| {scalar:?} | {build:.1} | {memory:.0} | {ef} | {recall:.4} | {p50:.2} | {p99:.2} |"
            );
            rows.push(serde_json::json!({
                "scalar": format!("{scalar:?}"), "build_s": build, "build_threads": threads,
                "memory_mib": memory, "ef": ef, "recall_at_10": recall,
                "search_p50_ms": p50, "search_p99_ms": p99,
            }));
        }
    }
    Ok(serde_json::json!({ "n": n, "dimensions": dim, "queries": queries, "rows": rows }))
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

/// Run a converter, failing with its name when it is missing or fails.
fn convert(program: &str, args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .with_context(|| {
            format!("running {program} (apt install libheif-examples libjxl-tools)")
        })?;
    anyhow::ensure!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// The generated JPEGs again in each format (made once).
fn format_folders(jpegs: &[PathBuf], root: &Path) -> anyhow::Result<Vec<(&'static str, PathBuf)>> {
    let mut out = vec![("jpeg", root.join("jpeg"))];
    for (ext, dir) in [
        ("heic", "heic"),
        ("avif", "avif"),
        ("jxl", "jxl"),
        ("dng", "dng"),
    ] {
        let folder = root.join(dir);
        std::fs::create_dir_all(&folder)?;
        for jpeg in jpegs {
            let target = folder.join(jpeg.with_extension(ext).file_name().expect("name"));
            if target.is_file() {
                continue;
            }
            eprintln!("making {}", target.display());
            match ext {
                // A 320-px thumbnail in the file, as phones write.
                "heic" => convert(
                    "heif-enc",
                    &[
                        "-q".as_ref(),
                        "85".as_ref(),
                        "-t".as_ref(),
                        "320".as_ref(),
                        jpeg.as_os_str(),
                        "-o".as_ref(),
                        target.as_os_str(),
                    ],
                )?,
                "avif" => convert(
                    "heif-enc",
                    &[
                        "-A".as_ref(),
                        "-q".as_ref(),
                        "85".as_ref(),
                        jpeg.as_os_str(),
                        "-o".as_ref(),
                        target.as_os_str(),
                    ],
                )?,
                "jxl" => convert(
                    "cjxl",
                    &[
                        jpeg.as_os_str(),
                        target.as_os_str(),
                        "--lossless_jpeg=0".as_ref(),
                        "-q".as_ref(),
                        "90".as_ref(),
                    ],
                )?,
                _ => {
                    // rawler's DNG writer: linear RGB "sensor" data and its largest (1024-px) preview.
                    use rawler::dng::writer::DngWriter;
                    use rawler::dng::{DNG_VERSION_V1_4, DngCompression};
                    let picture = image::open(jpeg)?;
                    let rgb = picture.to_rgb8();
                    let mut file = std::io::BufWriter::new(std::fs::File::create(&target)?);
                    let mut dng = DngWriter::new(&mut file, DNG_VERSION_V1_4)?;
                    let mut raw = dng.subframe(0);
                    raw.rgb_image_u8(
                        rgb.as_raw(),
                        rgb.width() as usize,
                        rgb.height() as usize,
                        DngCompression::Uncompressed,
                        1,
                    )?;
                    raw.finalize()?;
                    let mut preview = dng.subframe(1);
                    preview.preview(&picture, 0.9)?;
                    preview.finalize()?;
                    dng.close()?;
                }
            }
        }
        out.push((ext, folder));
    }
    Ok(out)
}

fn formats(
    model_dir: &Path,
    photos: &Photos,
    root: &Path,
    threads: usize,
) -> anyhow::Result<serde_json::Value> {
    let jpegs = photos.files()?;
    let model = Model::open(model_dir)?;
    let short_side = model.manifest.vision.preprocess.resize_shortest_edge;
    let mut rows = Vec::new();
    for (name, folder) in format_folders(&jpegs, root)? {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)?
            .filter_map(|e| Some(e.ok()?.path()))
            .collect();
        files.sort();
        let bytes: u64 = files
            .iter()
            .filter_map(|f| f.metadata().ok())
            .map(|m| m.len())
            .sum();
        let mut decode_ms = decode_times(&files, short_side)?;
        let run = index_once(&model, &folder, &files[0], threads, None, false)?;
        rows.push(serde_json::json!({
            "format": name,
            "files": files.len(),
            "mean_file_mib": bytes as f64 / files.len() as f64 / (1024.0 * 1024.0),
            "decode_ms_median_1_thread": percentiles(&mut decode_ms).0,
            "index_images_per_s": run.images_per_s,
            "per_image_ms": per_image_ms(&run.report),
        }));
    }
    Ok(serde_json::json!({
        "width": photos.width, "height": photos.height, "threads": threads,
        "formats": rows,
        "heic_thumbnail": heic_thumbnail_quality(&model, &root.join("heic"), threads)?,
    }))
}

/// Whether the 320-px thumbnail a HEIC carries could stand in for its full decode: the model
/// input from each (CLIP's resize and crop) and the vision model's embeddings of both.
fn heic_thumbnail_quality(
    model: &Model,
    folder: &Path,
    threads: usize,
) -> anyhow::Result<serde_json::Value> {
    use libheif_rs::{ColorSpace, HeifContext, ItemId, LibHeif, RgbChroma};
    let spec = &model.manifest.vision.preprocess;
    let vision = VisionEncoder::new(model, threads)?;
    let (mut diffs, mut cosines, mut thumb_ms, mut full_ms) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    files.sort();
    for path in files {
        let bytes = std::fs::read(&path)?;
        let t = Instant::now();
        let full = decode::decode(
            &bytes,
            spec.resize_shortest_edge,
            decode::DEFAULT_MAX_PIXELS,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        full_ms.push(ms_since(t));
        let t = Instant::now();
        let context = HeifContext::read_from_bytes(&bytes)?;
        let primary = context.primary_image_handle()?;
        let mut ids: [ItemId; 1] = [0];
        anyhow::ensure!(
            primary.thumbnail_ids(&mut ids) == 1,
            "{} has no thumbnail",
            path.display()
        );
        let thumb = LibHeif::new().decode(
            &primary.thumbnail(ids[0])?,
            ColorSpace::Rgb(RgbChroma::Rgb),
            None,
        )?;
        let plane = thumb.planes().interleaved.context("interleaved plane")?;
        let mut rgb = image::RgbImage::new(plane.width, plane.height);
        for (y, row) in rgb
            .as_mut()
            .chunks_exact_mut(3 * plane.width as usize)
            .enumerate()
        {
            row.copy_from_slice(&plane.data[y * plane.stride..y * plane.stride + row.len()]);
        }
        let (w, h) = decode::resized_size(rgb.width(), rgb.height(), spec.resize_shortest_edge);
        let small = image::imageops::resize(&rgb, w, h, image::imageops::FilterType::CatmullRom);
        thumb_ms.push(ms_since(t));
        let (a, b) = (
            embed::preprocess(&full.image, spec),
            embed::preprocess(&small, spec),
        );
        let levels = 255.0 * spec.std[0];
        diffs.push(
            a.iter()
                .zip(&b)
                .map(|(x, y)| f64::from((x - y).abs() * levels))
                .sum::<f64>()
                / a.len() as f64,
        );
        let e = vision.encode_batch(&[a, b])?;
        cosines.push(cosine(&e[0], &e[1]));
    }
    Ok(serde_json::json!({
        "thumbnail_decode_ms_median": percentiles(&mut thumb_ms).0,
        "full_decode_ms_median": percentiles(&mut full_ms).0,
        "model_input_mean_abs_levels_median": percentiles(&mut diffs).0,
        "embedding_cosine_min": cosines.iter().cloned().fold(f64::INFINITY, f64::min),
        "embedding_cosine_mean": cosines.iter().sum::<f64>() / cosines.len() as f64,
    }))
}

fn vision_memory(model_dir: &Path, threads: usize) -> anyhow::Result<serde_json::Value> {
    let model = Model::open(model_dir)?;
    let base = rss_mb().0;
    let vision = VisionEncoder::new(&model, threads)?;
    let [ch, cw] = model.manifest.vision.preprocess.center_crop;
    let pixels = vec![vec![0.1f32; 3 * ch as usize * cw as usize]; 16];
    vision.encode_batch(&pixels[..1])?;
    let one = rss_mb().0;
    vision.encode_batch(&pixels)?;
    let sixteen = rss_mb().0;
    vision.unload();
    let unloaded = rss_mb().0;
    clipstream_core::memory::trim();
    let trimmed = rss_mb().0;
    Ok(serde_json::json!({
        "base_mb": base, "after_batch_1_mb": one, "after_batch_16_mb": sixteen,
        "after_unload_mb": unloaded, "after_trim_mb": trimmed, "peak_mb": rss_mb().1,
    }))
}

/// One JPEG's decode in steps: the whole product call, and its parts measured alone.
fn decode_profile(folder: &Path, short_side: u32) -> anyhow::Result<serde_json::Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no JPEGs in {}", folder.display());
    let need = decode::Need {
        short: short_side,
        long: clipstream_core::ingest::thumbnail::BOX,
    };
    let mut steps: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    let mut time = |name, work: &mut dyn FnMut()| {
        let t = Instant::now();
        work();
        steps.entry(name).or_default().push(ms_since(t));
    };
    for path in &files {
        let bytes = std::fs::read(path)?;
        let header = turbojpeg::read_header(&bytes)?;
        let scale = decode::jpeg::scale(header.width as u32, header.height as u32, need) as usize;
        time("complete_check", &mut || {
            decode::jpeg::is_complete(&bytes);
        });
        time("exif_date", &mut || {
            decode::taken_at(&bytes);
        });
        time("blake3", &mut || {
            blake3::hash(&bytes);
        });
        time("turbojpeg_scaled", &mut || {
            let mut d = turbojpeg::Decompressor::new().expect("decompressor");
            let factor = turbojpeg::ScalingFactor::new(1, scale);
            d.set_scaling_factor(factor).expect("scale");
            let h = d.read_header(&bytes).expect("header").scaled(factor);
            let mut image = turbojpeg::Image {
                pixels: vec![0u8; 3 * h.width * h.height],
                width: h.width,
                pitch: 3 * h.width,
                height: h.height,
                format: turbojpeg::PixelFormat::RGB,
            };
            d.decompress(&bytes, image.as_deref_mut()).expect("decodes");
        });
        time("turbojpeg_full", &mut || {
            turbojpeg::decompress(&bytes, turbojpeg::PixelFormat::RGB).expect("decodes");
        });
        time("image_crate_full", &mut || {
            image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).expect("decodes");
        });
        time("product_decode_with_thumbnail", &mut || {
            decode::decode_with_thumbnail(
                &bytes,
                short_side,
                clipstream_core::ingest::thumbnail::BOX,
                decode::DEFAULT_MAX_PIXELS,
            )
            .expect("decodes");
        });
    }
    let medians: serde_json::Map<String, serde_json::Value> = steps
        .into_iter()
        .map(|(name, mut v)| (name.to_string(), percentiles(&mut v).0.into()))
        .collect();
    Ok(serde_json::json!({ "files": files.len(), "median_ms": medians }))
}

/// A folder of generated photo-like JPEGs.
struct Photos {
    folder: PathBuf,
    count: usize,
    width: u32,
    height: u32,
}

impl Photos {
    /// The JPEGs, generated (quality 90) when the folder is empty.
    fn files(&self) -> anyhow::Result<Vec<PathBuf>> {
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
                let img = synthetic_photo(self.width, self.height, i as u64);
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

/// Reset this process's peak resident memory (Linux's clear_refs), so VmHWM measures what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A fresh library folder for one run: empty, or a copy of `template`'s catalog and index.
fn scratch_library(template: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("clipstream-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    if let Some(template) = template {
        for name in [
            "catalog.sqlite",
            "catalog.sqlite-wal",
            "catalog.sqlite-shm",
            "vectors.usearch",
            "vectors.usearch.json",
        ] {
            if template.join(name).is_file() {
                std::fs::copy(template.join(name), dir.join(name))
                    .with_context(|| format!("copying {name} of {}", template.display()))?;
            }
        }
    }
    Ok(dir)
}

/// What one bench run of `Library::index` gives.
struct IndexRun {
    report: clipstream_core::Report,
    images_per_s: f64,
    search_ms: Vec<f64>,
    /// Resident memory (MB) after opening the library, after loading the vision model, and at
    /// the peak of the run.
    rss_open_mb: f64,
    rss_vision_mb: f64,
    rss_peak_mb: f64,
}

/// One `Library::index` run over `folder` in a scratch library; with `searches`, another thread
/// searches every 100 ms meanwhile (as a person typing in the app), at the app's low indexing
/// priority.
fn index_once(
    model: &Model,
    folder: &Path,
    warm_up: &Path,
    threads: usize,
    template: Option<&Path>,
    searches: bool,
) -> anyhow::Result<IndexRun> {
    reset_peak_rss();
    let dir = scratch_library(template)?;
    let options = Options {
        threads,
        decode_threads: threads,
        // As the app runs it (low priority, text model loaded for searches), or as the CLI's
        // `index` does (normal priority, no text model).
        background: searches,
        text_at_open: searches,
        ..Options::default()
    };
    let library = Library::open(&dir, Some(model), options)?;
    let rss_open_mb = rss_mb().0;
    library.add_folder(folder)?;
    // Load the vision session first (it loads on first use), as the bare model's is loaded.
    library.image_embedding(warm_up)?;
    let rss_vision_mb = rss_mb().0;
    let done = AtomicBool::new(false);
    let mut latencies = Vec::new();
    let (report, seconds) = std::thread::scope(|scope| -> anyhow::Result<_> {
        if searches {
            scope.spawn(|| {
                let mut i = 0;
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let t = Instant::now();
                    let query = clipstream_core::Request::new(QUERIES[i % QUERIES.len()], 20);
                    if library.search(&query).is_ok() {
                        latencies.push(ms_since(t));
                    }
                    i += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            });
        }
        let started = Instant::now();
        let report = library.index(&mut |_| {}, &AtomicBool::new(false));
        let seconds = started.elapsed().as_secs_f64();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok((report?, seconds))
    })?;
    let rss_peak_mb = rss_mb().1;
    drop(library);
    std::fs::remove_dir_all(&dir)?;
    Ok(IndexRun {
        images_per_s: report.added as f64 / seconds,
        report,
        search_ms: latencies,
        rss_open_mb,
        rss_vision_mb,
        rss_peak_mb,
    })
}

/// Milliseconds per image of each stage of a run.
fn per_image_ms(report: &clipstream_core::Report) -> serde_json::Value {
    let n = report.added.max(1) as f64;
    let s = &report.stages;
    let ms = |secs: f64| 1000.0 * secs / n;
    serde_json::json!({
        "read": ms(s.read), "hash": ms(s.hash), "decode_resize_orient": ms(s.decode),
        "thumbnail": ms(s.thumbnail), "preprocess": ms(s.preprocess), "model": ms(s.model),
        "commit": ms(s.commit),
        "decode_side_total": ms(s.read + s.hash + s.decode + s.thumbnail + s.preprocess),
    })
}

fn indexing(
    model_dir: &Path,
    photos: &Photos,
    threads: Option<usize>,
    with_library: Option<&Path>,
) -> anyhow::Result<serde_json::Value> {
    let files = photos.files()?;
    let count = files.len();
    let bytes: u64 = files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    let model =
        Model::open(model_dir).with_context(|| format!("model in {}", model_dir.display()))?;
    let threads = threads.unwrap_or_else(embed::default_threads);

    // One photo's decode + resize + orient (+ thumbnail pixels) on one thread, as each worker
    // does per file, and the DCT scale its JPEG decodes at.
    let short_side = model.manifest.vision.preprocess.resize_shortest_edge;
    let mut decode_ms = decode_times(&files[..files.len().min(8)], short_side)?;
    decode_ms.sort_by(f64::total_cmp);
    let need = decode::Need {
        short: short_side,
        long: clipstream_core::ingest::thumbnail::BOX,
    };
    let scale = decode::jpeg::scale(photos.width, photos.height, need);

    // The product, alone; its memory (with the big library open, if given).
    let alone = index_once(
        &model,
        &photos.folder,
        &files[0],
        threads,
        with_library,
        false,
    )?;
    let (report, product) = (&alone.report, alone.images_per_s);
    // Again as the app runs it: at low priority, with searches meanwhile.
    let app = index_once(
        &model,
        &photos.folder,
        &files[0],
        threads,
        with_library,
        true,
    )?;
    let mut during = app.search_ms.clone();
    let (search_p50_during, search_p99_during) = if during.is_empty() {
        (f64::NAN, f64::NAN)
    } else {
        percentiles(&mut during)
    };

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

    let summary = serde_json::json!({
        "images": count,
        "width": photos.width,
        "height": photos.height,
        "megapixels": f64::from(photos.width) * f64::from(photos.height) / 1e6,
        "mean_file_mib": bytes as f64 / count as f64 / (1024.0 * 1024.0),
        "jpeg_dct_scale": format!("1/{scale}"),
        "threads": threads,
        "decode_resize_ms_median_1_thread": decode_ms[decode_ms.len() / 2],
        "model": model.manifest.model_id,
        "product_images_per_s": product,
        "bare_model_images_per_s": bare,
        "ratio": product / bare,
        "per_image_ms": per_image_ms(report),
        "with_library": with_library.map(|p| p.display().to_string()),
        "rss_after_open_mb": alone.rss_open_mb,
        "rss_after_vision_load_mb": alone.rss_vision_mb,
        "indexing_peak_rss_mb": alone.rss_peak_mb,
        "app_rss_after_open_mb": app.rss_open_mb,
        "app_indexing_peak_rss_mb": app.rss_peak_mb,
        "app_priority_images_per_s_with_searches": app.images_per_s,
        "searches_during_run": during.len(),
        "search_p50_ms_during_run": search_p50_during,
        "search_p99_ms_during_run": search_p99_during,
    });
    Ok(summary)
}
