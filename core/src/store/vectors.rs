//! What searches read vectors from: the HNSW index ([`VectorIndex`]) or, while that index is
//! being built in the background, every embedding held as it is and searched exactly.
//!
//! A library whose saved index is missing or stale need not wait for the rebuild (~46 s at 100k
//! photos, minutes at 1M): it opens with [`ExactVectors`] read from the catalog, and [`build`]
//! makes the index on a thread of its own, from pages of the catalog. Changes absorbed meanwhile
//! are applied to the exact set and their ids noted; when the build is done those ids are brought
//! up to date from the exact set under the state's lock, and the index takes its place. The
//! build saves a checkpoint every so often, so one that stops (a crash, the app closed) goes on
//! from there next time.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::store::catalog::Catalog;
use crate::store::vindex::{Neighbor, Scalar, VectorIndex};
use crate::{Error, Result};

/// The vectors searches read.
pub(crate) enum Vectors {
    Index(VectorIndex),
    /// The index is being built; until then searches are exact over these.
    Building {
        exact: ExactVectors,
        build: Arc<BuildProgress>,
        /// Ids changed since the build began: it brings them up to date before it takes over.
        touched: HashSet<i64>,
    },
}

impl Vectors {
    pub fn len(&self) -> usize {
        match self {
            Vectors::Index(index) => index.len(),
            Vectors::Building { exact, .. } => exact.len(),
        }
    }

    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        keep: Option<&dyn Fn(i64) -> bool>,
    ) -> Result<Vec<Neighbor>> {
        match self {
            Vectors::Index(index) => index.search(query, k, keep),
            Vectors::Building { exact, .. } => Ok(exact.search(query, k, keep)),
        }
    }

    pub fn add(&mut self, id: i64, vector: &[f32]) -> Result<()> {
        match self {
            Vectors::Index(index) => index.add(id, vector),
            Vectors::Building { exact, touched, .. } => {
                exact.add(id, vector);
                touched.insert(id);
                Ok(())
            }
        }
    }

    pub fn remove(&mut self, id: i64) -> Result<()> {
        match self {
            Vectors::Index(index) => index.remove(id),
            Vectors::Building { exact, touched, .. } => {
                exact.remove(id);
                touched.insert(id);
                Ok(())
            }
        }
    }

    /// The index, when it is built.
    pub fn index(&self) -> Option<&VectorIndex> {
        match self {
            Vectors::Index(index) => Some(index),
            Vectors::Building { .. } => None,
        }
    }

    pub fn index_mut(&mut self) -> Option<&mut VectorIndex> {
        match self {
            Vectors::Index(index) => Some(index),
            Vectors::Building { .. } => None,
        }
    }

    /// How far the build has come, while there is one.
    pub fn build(&self) -> Option<&Arc<BuildProgress>> {
        match self {
            Vectors::Index(_) => None,
            Vectors::Building { build, .. } => Some(build),
        }
    }
}

/// Every embedding as the catalog holds it (f32), searched by brute force: ~15 ms for 100k
/// photos at 512 dimensions on one core. Only held while the index is built.
pub(crate) struct ExactVectors {
    dimensions: usize,
    ids: Vec<i64>,
    /// `ids.len() × dimensions` values, row by row.
    values: Vec<f32>,
    row_of: HashMap<i64, usize>,
}

impl ExactVectors {
    pub fn from_catalog(catalog: &Catalog, dimensions: usize) -> Result<Self> {
        let count = catalog.count_images()? as usize;
        let mut out = Self {
            dimensions,
            ids: Vec::with_capacity(count),
            values: Vec::with_capacity(count * dimensions),
            row_of: HashMap::with_capacity(count),
        };
        let mut wrong = None;
        catalog.for_each_embedding(|id, v| {
            if v.len() == dimensions {
                out.add(id, &v);
            } else {
                wrong.get_or_insert((id, v.len()));
            }
        })?;
        match wrong {
            Some((id, len)) => Err(Error::Internal(format!(
                "image {id} has an embedding of {len} values, the library {dimensions}"
            ))),
            None => Ok(out),
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    pub fn add(&mut self, id: i64, vector: &[f32]) {
        match self.row_of.get(&id) {
            Some(&row) => {
                self.values[row * self.dimensions..(row + 1) * self.dimensions]
                    .copy_from_slice(vector);
            }
            None => {
                self.row_of.insert(id, self.ids.len());
                self.ids.push(id);
                self.values.extend_from_slice(vector);
            }
        }
    }

    pub fn remove(&mut self, id: i64) {
        let Some(row) = self.row_of.remove(&id) else {
            return;
        };
        let last = self.ids.len() - 1;
        let d = self.dimensions;
        if row != last {
            self.values.copy_within(last * d..(last + 1) * d, row * d);
            self.ids[row] = self.ids[last];
            self.row_of.insert(self.ids[row], row);
        }
        self.ids.pop();
        self.values.truncate(last * d);
    }

    pub fn get(&self, id: i64) -> Option<&[f32]> {
        let row = *self.row_of.get(&id)?;
        Some(&self.values[row * self.dimensions..(row + 1) * self.dimensions])
    }

    pub fn iter(&self) -> impl Iterator<Item = (i64, &[f32])> {
        self.ids
            .iter()
            .copied()
            .zip(self.values.chunks_exact(self.dimensions))
    }

    /// The `k` most similar (cosine; embeddings and query are L2-normalised) passing `keep`.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        keep: Option<&dyn Fn(i64) -> bool>,
    ) -> Vec<Neighbor> {
        let mut scored: Vec<Neighbor> = self
            .iter()
            .filter(|(id, _)| keep.is_none_or(|keep| keep(*id)))
            .map(|(id, v)| Neighbor {
                id,
                score: dot(query, v),
            })
            .collect();
        let best_first = |a: &Neighbor, b: &Neighbor| b.score.total_cmp(&a.score);
        if scored.len() > k && k > 0 {
            scored.select_nth_unstable_by(k - 1, best_first);
        }
        scored.truncate(k);
        scored.sort_unstable_by(best_first);
        scored
    }
}

/// A dot product in eight lanes, which the compiler turns into SIMD (a plain sum cannot be
/// reordered, so it stays scalar).
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// How far a background build has come.
#[derive(Debug, Default)]
pub struct BuildProgress {
    /// Images of the catalog gone through (added, or found in the checkpoint).
    done: AtomicU64,
    /// Images in the catalog when the build began.
    total: AtomicU64,
    /// Images taken from a checkpoint of an earlier build rather than added again.
    resumed: AtomicU64,
    /// Set when the library closes: the build stops at its next page.
    cancel: AtomicBool,
    /// Why the build stopped short; searches stay exact.
    failed: std::sync::Mutex<Option<String>>,
}

/// What status reports of a build in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildStatus {
    pub done: u64,
    pub total: u64,
    pub resumed: u64,
    /// Why it stopped, if it failed (searches stay exact until the library is opened again).
    pub failed: Option<String>,
}

impl BuildProgress {
    /// A build of `total` images, not begun.
    pub fn of(total: usize) -> Self {
        let progress = Self::default();
        progress.total.store(total as u64, Ordering::Relaxed);
        progress
    }

    pub fn status(&self) -> BuildStatus {
        BuildStatus {
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
            resumed: self.resumed.load(Ordering::Relaxed),
            failed: self
                .failed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    pub(crate) fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub(crate) fn fail(&self, reason: String) {
        *self.failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
    }
}

/// How a background build goes: images per page read from the catalog (and added in parallel),
/// and how often it saves a checkpoint.
#[derive(Debug, Clone)]
pub struct BuildPace {
    pub page: usize,
    pub checkpoint_every: Duration,
    /// While this is set, the build waits before its next page (tests change the library then).
    pub held: Option<Arc<AtomicBool>>,
    /// After this many pages the build waits as if held, for good (a test stops it at a known
    /// checkpoint, then kills the process).
    pub hold_after: Option<usize>,
}

impl Default for BuildPace {
    fn default() -> Self {
        Self {
            page: 8192,
            checkpoint_every: Duration::from_secs(30),
            held: None,
            hold_after: None,
        }
    }
}

/// The saved vector index of the catalog in `dir` if its stamp matches the catalog, else a new
/// one built from the catalog (and saved). Returns the index and whether it was rebuilt.
#[cfg(any(test, feature = "internals"))]
pub fn open_index(
    dir: &Path,
    catalog: &Catalog,
    dimensions: usize,
    scalar: Scalar,
    map: bool,
) -> Result<(VectorIndex, bool)> {
    if let Some(index) = VectorIndex::load_current(dir, catalog, dimensions, scalar, map)? {
        return Ok((index, false));
    }
    Ok((rebuilt(dir, catalog, dimensions, scalar)?, true))
}

/// A new index of the catalog (from a build's checkpoint if there is one), saved when this
/// process may write the library.
pub fn rebuilt(
    dir: &Path,
    catalog: &Catalog,
    dimensions: usize,
    scalar: Scalar,
) -> Result<VectorIndex> {
    let generation = catalog.generation()?;
    let never_cancelled = BuildProgress::default();
    let index = build(
        dir,
        catalog,
        dimensions,
        scalar,
        BuildPace::default(),
        &never_cancelled,
    )?
    .ok_or_else(|| Error::Internal("a build nobody cancelled stopped".into()))?;
    // Only the library's writer saves: a reader opening mid-run keeps its rebuild in memory (the
    // writer saves its own at the end). A caller that holds the lock saves later itself. Saving
    // is for the next start only: on a full disk the library still opens and searches.
    if let Ok(_writer) = crate::store::lock::try_acquire(dir) {
        let _ = index.save(dir, generation); // in memory: nothing to swap
    }
    Ok(index)
}

/// Build the vector index of the catalog in `dir`, from the checkpoint an earlier build left if
/// there is one, reading the catalog a page at a time through `catalog` and adding each page
/// from all cores (HNSW inserts dominate, ~1 ms each). `None` when cancelled. What changed in the
/// catalog after a page was read is the caller's to bring up to date (`touched` of
/// [`Vectors::Building`]).
pub fn build(
    dir: &Path,
    catalog: &Catalog,
    dimensions: usize,
    scalar: Scalar,
    pace: BuildPace,
    progress: &BuildProgress,
) -> Result<Option<VectorIndex>> {
    let total = catalog.count_images()? as usize;
    progress.total.store(total as u64, Ordering::Relaxed);
    let (mut index, built_up_to) = match VectorIndex::load_checkpoint(dir, dimensions, scalar) {
        Some(checkpoint) => checkpoint,
        None => (VectorIndex::new(dimensions, scalar)?, 0),
    };
    index.reserve_for_parallel_adds(total)?;
    // The checkpoint's images were the catalog's then: those gone since are removed, and each
    // kept one must still hold the catalog's embedding (ids are never given twice, so this is a
    // guard against a checkpoint of something else, cheap beside the inserts).
    let mut probe = VectorIndex::new(dimensions, scalar)?;
    let mut kept_ids = HashSet::new();
    let mut after = 0;
    let mut last_checkpoint = Instant::now();
    let mut pages = 0;
    loop {
        let held = |pages: usize| {
            pace.hold_after.is_some_and(|after| pages >= after)
                || pace
                    .held
                    .as_ref()
                    .is_some_and(|held| held.load(Ordering::Relaxed))
        };
        while held(pages) && !progress.cancel.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(5));
        }
        if progress.cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let page = catalog.embeddings_after(after, pace.page)?;
        let Some(&(last, _)) = page.last() else {
            break;
        };
        let page_len = page.len();
        let mut to_add = Vec::with_capacity(page_len);
        for (id, vector) in page {
            if id <= built_up_to {
                kept_ids.insert(id);
                if index.contains(id) {
                    if index.get(id) == Some(probe.round_trip(&vector)?) {
                        progress.resumed.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    index.remove(id)?;
                }
            }
            to_add.push((id, vector));
        }
        index.add_parallel(&to_add)?;
        after = last;
        pages += 1;
        progress.done.fetch_add(page_len as u64, Ordering::Relaxed);
        if last_checkpoint.elapsed() >= pace.checkpoint_every
            && let Ok(_writer) = crate::store::lock::try_acquire(dir)
        {
            // Past the old checkpoint's ids or not, the next build checks every id up to this
            // one again (those deleted since included): a checkpoint claims no more than that.
            let _ = index.save_checkpoint(dir, after.max(built_up_to));
            last_checkpoint = Instant::now();
        }
    }
    for id in 1..=built_up_to {
        if index.contains(id) && !kept_ids.contains(&id) {
            index.remove(id)?;
        }
    }
    Ok(Some(index))
}
