//! The vector index per storage scalar: recall@10 of usearch's HNSW against exact search on
//! synthetic CLIP-like vectors, build time, memory, and one query's latency at each ef.

use std::time::Instant;

use clipstream_core::model::encoders as embed;
use clipstream_core::store::vindex::{Scalar, VectorIndex};

use crate::measure::percentiles;
use crate::synthetic;

/// Candidates per result that "i8-rescored" rescores exactly.
const RESCORE: usize = 4;

fn exact_top(vectors: &[Vec<f32>], q: &[f32], k: usize) -> Vec<i64> {
    let mut scored: Vec<(f32, i64)> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| (v.iter().zip(q).map(|(a, b)| a * b).sum(), i as i64))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

pub fn run(
    n: usize,
    dim: usize,
    queries: usize,
    efs: &[usize],
    scalars: &[String],
) -> anyhow::Result<serde_json::Value> {
    let vectors = synthetic::vectors(n, dim, 1);
    let probes = synthetic::vectors(queries, dim, 2);
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
        // "i8-rescored": the i8 index's best RESCORE × 10, rescored exactly with the f32 vectors
        // (held in memory here; the product would read them from the catalog, ~2 KB each).
        let (scalar, rescore) = match name.as_str() {
            "f32" => (Scalar::F32, 1),
            "bf16" => (Scalar::Bf16, 1),
            "f16" => (Scalar::F16, 1),
            "i8" => (Scalar::I8, 1),
            "i8-rescored" => (Scalar::I8, RESCORE),
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
                let mut got: Vec<(f32, i64)> = index
                    .search(q, 10 * rescore, None)?
                    .into_iter()
                    .map(|h| (h.score, h.id))
                    .collect();
                if rescore > 1 {
                    for (score, id) in &mut got {
                        let v = &vectors[*id as usize];
                        *score = v.iter().zip(q).map(|(a, b)| a * b).sum();
                    }
                    got.sort_by(|a, b| b.0.total_cmp(&a.0));
                    got.truncate(10);
                }
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                found += got.iter().filter(|(_, id)| want.contains(id)).count();
            }
            let (p50, p99) = percentiles(&mut times);
            let memory = index.memory_usage() as f64 / (1024.0 * 1024.0);
            let recall = found as f64 / (10 * queries) as f64;
            eprintln!(
                "| {name} | {build:.1} | {memory:.0} | {ef} | {recall:.4} | {p50:.2} | {p99:.2} |"
            );
            rows.push(serde_json::json!({
                "scalar": name, "rescored_candidates": 10 * rescore, "build_s": build, "build_threads": threads,
                "memory_mib": memory, "ef": ef, "recall_at_10": recall,
                "search_p50_ms": p50, "search_p99_ms": p99,
            }));
        }
    }
    Ok(serde_json::json!({ "n": n, "dimensions": dim, "queries": queries, "rows": rows }))
}
