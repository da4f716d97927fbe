//! `clipstream-bench`: measurements behind BENCHMARKS.md. Not tests: nothing here asserts a time.
//!
//! This file holds the command line and sends each command to its benchmark's module:
//!
//! - `vindex` ([`vindex`]): recall and latency of the vector index per storage scalar.
//! - `query` ([`query`]): the product's query encoding, and the cost of a repeated query beside it.
//! - `search`, `search-while-building` ([`search`]): end-to-end search through the façade over a
//!   library of synthetic embeddings, with the process's memory; and while the index is built.
//! - `startup` ([`startup`]): launch of the `clipstream` binary to its first printed result.
//! - `indexing` ([`indexing`]): images/s of `Library::index` against the bare vision model.
//! - `formats` ([`formats`]): indexing per format (JPEG, HEIC, AVIF, JPEG XL, DNG).
//! - `decode` ([`decode_profile`]): one JPEG's decode, step by step.
//! - `ocr-read` ([`ocr`]): the product's OCR over a folder, in the Python reference's JSON shape.
//! - `ocr` ([`ocr`], [`text_search`]): what reading words costs: per photo, in indexing, and
//!   searching them over a large library.
//! - `vision-memory` ([`vision_memory`]): the vision model's resident memory alone.
//!
//! What they share: [`measure`] (clock, percentiles, memory) and [`synthetic`] (the vectors,
//! photos, libraries and queries they run on). Each can write its figures as JSON
//! (`--json FILE`) for `scripts/bench.sh`'s summary.

mod decode_profile;
mod formats;
mod indexing;
mod measure;
mod ocr;
mod query;
mod search;
mod startup;
mod synthetic;
mod text_search;
mod vindex;
mod vision_memory;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::search::SearchParts;
use crate::synthetic::Photos;

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
    /// The product's query encoding (the model, never the encoder's recent queries): median and
    /// p99 over RUNS after warm-up; and a repeated query's cost, answered from the recent ones.
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
    /// The product's OCR over every image in a folder, written as the Python reference writes its
    /// results (`python -m clipstream_models ocr-score` scores either).
    OcrRead {
        #[arg(long)]
        images: PathBuf,
        /// `reference`: the wheel's own settings (parity); `product`: what indexing uses.
        #[arg(long, default_value = "product")]
        effort: String,
        /// Override the effort's detector limits and score floor.
        #[arg(long)]
        min_side: Option<u32>,
        #[arg(long)]
        max_side: Option<u32>,
        #[arg(long)]
        text_score: Option<f32>,
        #[arg(long)]
        gate_side: Option<u32>,
        /// Decode each image to fit this many pixels first (default: the effort's own).
        #[arg(long)]
        fit: Option<u32>,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// What reading the words in photos costs: the product's read of one photo (the corpus's four
    /// timing photos), indexing a mixed set with and without it, and text search over a copy of a
    /// large library whose photos were given words.
    Ocr {
        #[command(flatten)]
        bench: ocr::OcrBench,
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
        Command::OcrRead {
            images,
            effort,
            min_side,
            max_side,
            text_score,
            gate_side,
            fit,
            threads,
            json,
        } => {
            use clipstream_core::ingest::words::Effort;
            let (mut e, default_fit) = match effort.as_str() {
                "reference" => (Effort::REFERENCE, None),
                "product" => (Effort::PRODUCT, Some(Effort::PRODUCT_FIT)),
                other => anyhow::bail!("--effort is reference or product, not {other}"),
            };
            e.min_side = min_side.unwrap_or(e.min_side);
            e.max_side = max_side.unwrap_or(e.max_side);
            e.text_score = text_score.unwrap_or(e.text_score);
            e.gate_side = gate_side.unwrap_or(e.gate_side);
            (ocr::read(&images, &e, fit.or(default_fit), threads)?, json)
        }
        Command::Ocr { bench, json } => (ocr::run(&bench)?, json),
        Command::Vindex {
            n,
            dim,
            queries,
            ef,
            scalars,
            json,
        } => (vindex::run(n, dim, queries, &ef, &scalars)?, json),
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
                indexing::run(&model, &photos, threads, with_library.as_deref())?,
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
            query::run(&model, &query, runs, threads, reference.as_deref())?,
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
            search::run(
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
        } => (search::while_building(&model, &library, threads)?, json),
        Command::Startup {
            cli,
            model,
            library,
            runs,
            json,
        } => (startup::run(&cli, &model, &library, runs)?, json),
        Command::VisionMemory {
            model,
            threads,
            json,
        } => (vision_memory::run(&model, threads)?, json),
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
            (formats::run(&model, &photos, &folder, threads)?, json)
        }
        Command::Decode {
            folder,
            short_side,
            json,
        } => (decode_profile::run(&folder, short_side)?, json),
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
