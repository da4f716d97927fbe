//! The benchmarks' instruments: the clock in milliseconds, medians and 99th percentiles, this
//! process's resident memory from `/proc/self/status`, and cosine similarity of two embeddings.

use std::time::Instant;

/// Milliseconds since `t`.
pub fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Median and 99th percentile of `times` (sorted here).
pub fn percentiles(times: &mut [f64]) -> (f64, f64) {
    if times.is_empty() {
        return (f64::NAN, f64::NAN); // null in the JSON
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    (pct(0.5), pct(0.99))
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
pub fn rss_mb() -> (f64, f64) {
    (memory_field("VmRSS:"), memory_field("VmHWM:"))
}

/// This process's resident memory now, split: anonymous (heap; this process's alone) and file
/// pages (a memory-mapped vector index: page cache, shared, dropped under pressure), in MB.
pub fn rss_split_mb() -> serde_json::Value {
    serde_json::json!({ "anon": memory_field("RssAnon:"), "file": memory_field("RssFile:") })
}

/// Reset this process's peak resident memory (Linux's clear_refs), so VmHWM measures what follows.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}
