//! Search through the façade over a library of synthetic embeddings (real catalog and index file):
//! first-time and repeated queries, browsing, duplicates, memory; and while the index is built.

use std::path::Path;
use std::time::Instant;

use clipstream_core::model::encoders as embed;
use clipstream_core::{Library, Model, Options};

use crate::measure::{ms_since, percentiles, rss_mb, rss_split_mb};
use crate::synthetic::{self, QUERIES};

/// Open `dir` as if its vector index were missing (its stamp set aside, then put back) the way the
/// app does, and time the exact searches that answer while the index is built at low priority.
pub fn while_building(
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
pub struct SearchParts {
    pub map_index: bool,
    pub find_duplicates: bool,
    /// Results per search.
    pub limit: usize,
}

pub fn run(
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
        let build = synthetic::library(dir, &model, n)?;
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
    // The core alone (catalog, vector index file), as `clipstream` commands that need no model
    // open it; then as the app and the search command do, with the text model beside it.
    let started = Instant::now();
    let core_only = Library::open(dir, None, options.clone())?;
    let open_core_ms = ms_since(started);
    let (rss_core_only, _) = rss_mb();
    drop(core_only);
    let (rss_before_open, _) = rss_mb();
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
    // A filtered search: the first reads what filters need per photo from the catalog.
    let folders = clipstream_core::Filters {
        folder_ids: library.folders()?.iter().map(|f| f.id).collect(),
        ..Default::default()
    };
    let mut filtered = Vec::new();
    for q in QUERIES {
        let mut request = clipstream_core::Request::new(*q, limit);
        request.filters = folders.clone();
        let t = Instant::now();
        library.search(&request)?;
        filtered.push(ms_since(t));
    }
    let first_filtered_ms = filtered[0];
    let (filtered_p50, filtered_p99) = percentiles(&mut filtered[1..].to_vec());
    let (rss_after_filtered, _) = rss_mb();
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
        "open_core_ms": open_core_ms,
        "rss_mb_core_only_after_open": rss_core_only,
        "filtered_search_ms": { "first": first_filtered_ms, "p50": filtered_p50, "p99": filtered_p99 },
        "rss_mb_after_filtered_searches": rss_after_filtered,
        "rss_mb": rss,
        "rss_mb_before_open": rss_before_open,
        "peak_rss_mb": peak,
    }))
}
