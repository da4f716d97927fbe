//! Query encoding as the product does it (tokenizer + text model at the query's length), timed
//! through `TextEncoder::encode_now`; a repeated query's cost from the recent ones beside it.

use std::path::Path;
use std::time::Instant;

use clipstream_core::Model;
use clipstream_core::model::encoders::TextEncoder;

use crate::measure::{cosine, ms_since, percentiles, rss_mb};

/// Encodes `query` `runs` times through the model after 10 warm-up runs; `reference` is a JSON
/// file with the PyTorch FP32 embedding of the same query (`{"embedding": [...]}`).
pub fn run(
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
    // The first query after loading, then the steady state. `encode` would answer every repeat
    // of the same text from the encoder's recent queries (a map lookup, not an encode).
    let t = Instant::now();
    let first = encoder.encode_now(query)?;
    let first_ms = ms_since(t);
    for _ in 0..10 {
        encoder.encode_now(query)?;
    }
    let mut times = time_each(runs, || encoder.encode_now(query))?;
    let (p50, p99) = percentiles(&mut times);
    // What a repeated query costs: the text found among the recent ones.
    encoder.encode(query)?;
    anyhow::ensure!(encoder.remembers(query), "the encoder kept no recent query");
    let mut hits = time_each(runs, || encoder.encode(query))?;
    let (hit_p50, hit_p99) = percentiles(&mut hits);
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
        "timed": "TextEncoder::encode_now (the tokenizer and the text model; never the recent queries)",
        "model_open_ms": open_ms,
        "text_session_load_ms": load_ms,
        "first_query_ms": first_ms,
        "median_ms": p50,
        "p99_ms": p99,
        "cache_hit_ms": { "p50": hit_p50, "p99": hit_p99 },
        "cosine_vs_pytorch": cos,
        "rss_mb_text_model_loaded": rss,
    }))
}

/// Milliseconds of each of `runs` calls of `work`.
fn time_each<T>(
    runs: usize,
    mut work: impl FnMut() -> clipstream_core::Result<T>,
) -> anyhow::Result<Vec<f64>> {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            work().map(|_| ms_since(t))
        })
        .collect::<Result<_, _>>()
        .map_err(Into::into)
}
