//! What a library holds in memory of its catalog: the vector index (or, while it is built, every
//! embedding for exact search), the relevance cutoff's background sample, what filters need per
//! photo ([`Facts`], 16 bytes each, read the first time a filter is used), and the catalog
//! generation all of it reflects. Rows are not held: searches read the rows of the results they
//! show from the catalog.
//!
//! **One truth.** The catalog (SQLite) is the only truth; this is a mirror of it: loaded from the
//! catalog, and after each write of this process brought up to date by reading back, from the
//! catalog, exactly the rows that write changed ([`Changes`]). Nothing is copied into memory beside
//! the catalog. [`Mirror::differences`] compares the two; the model-based test (`truth` in
//! `core/tests`) runs it after every step of random operation sequences.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

use crate::Result;
use crate::query::search::BACKGROUND_SAMPLE;
use crate::store::catalog::{self, Catalog, Changes, Sample};
use crate::store::facts::{Facts, PhotoFacts};
use crate::store::lock;
use crate::store::vectors::{self, BuildPace, BuildProgress, ExactVectors, Vectors};
use crate::store::vindex::{Scalar, VectorIndex};

/// When the saved vector index is missing or stale: rebuild it before the library opens, or
/// open at once and search exactly while it is built in the background (the app).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexBuild {
    AtOpen,
    Background,
}

/// How the mirror is loaded: the vector index's precision, whether a saved index is used in place
/// (memory-mapped), and what to do when it is missing or stale.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loading {
    pub scalar: Scalar,
    pub map: bool,
    pub build: IndexBuild,
}

/// What searches read: a mirror of the catalog (see the module comment).
pub(crate) struct Mirror {
    pub vectors: Option<Vectors>,
    /// What filters need per photo: read from the catalog the first time a filter is used
    /// ([`Mirror::facts`]), kept up to date from then on.
    facts: OnceLock<Facts>,
    /// The relevance cutoff's sample of library embeddings ([`Catalog::background_sample`]).
    pub background: Vec<Sample>,
    /// The catalog generation this reflects: another process's changes show as a newer one.
    pub generation: i64,
}

impl Mirror {
    /// Everything from one snapshot of the catalog (the vector index from its file when the
    /// file's stamp matches, else rebuilt now or, with [`IndexBuild::Background`], every
    /// embedding for exact search until the caller's build is done).
    pub fn load(dir: &Path, catalog: &Catalog, how: &Loading) -> Result<Self> {
        let (scalar, map) = (how.scalar, how.map);
        catalog.snapshot(|catalog| {
            let vectors = match catalog.embedding_dim()? {
                None => None,
                Some(dim) => {
                    let saved = VectorIndex::load_current(dir, catalog, dim, scalar, map)?;
                    Some(match (saved, how.build) {
                        (Some(index), _) => Vectors::Index(index),
                        (None, IndexBuild::AtOpen) => {
                            Vectors::Index(vectors::rebuilt(dir, catalog, dim, scalar)?)
                        }
                        // Nothing to build: no thread, and no save racing the library's writers.
                        (None, IndexBuild::Background) if catalog.count_images()? == 0 => {
                            Vectors::Index(VectorIndex::new(dim, scalar)?)
                        }
                        (None, IndexBuild::Background) => {
                            let exact = ExactVectors::from_catalog(catalog, dim)?;
                            Vectors::Building {
                                build: Arc::new(BuildProgress::of(exact.len())),
                                exact,
                                touched: HashSet::new(),
                            }
                        }
                    })
                }
            };
            Ok(Mirror {
                vectors,
                facts: OnceLock::new(),
                background: catalog.background_sample(BACKGROUND_SAMPLE)?,
                generation: catalog.generation()?,
            })
        })
    }

    /// What filters need per photo, read from `catalog` the first time. Callers hold the state
    /// lock, so no absorb runs meanwhile; a write committed but not yet absorbed is read here
    /// already, and its absorb then finds it in place (inserting facts replaces them).
    pub fn facts(&self, catalog: &Catalog) -> Result<&Facts> {
        if let Some(facts) = self.facts.get() {
            return Ok(facts);
        }
        let mut loaded = Facts::default();
        catalog.for_each_fact(|f| loaded.push(f))?;
        let loaded = loaded.sorted();
        Ok(self.facts.get_or_init(|| loaded))
    }

    /// Bring memory up to date after a write, reading every row it changed back from `catalog`.
    pub fn absorb(
        &mut self,
        catalog: &Catalog,
        changes: &Changes,
        scalar: Scalar,
    ) -> Result<()> {
        // The sample holds each of its contents by its lowest id: a deleted image changes it only
        // if it was one of those, and a new one only if its hash sorts into the sample.
        let mut background_moved = changes
            .deleted
            .iter()
            .any(|id| self.background.iter().any(|s| s.id == *id));
        for id in &changes.deleted {
            if let Some(v) = &mut self.vectors {
                v.remove(*id)?;
            }
        }
        let mut facts = self.facts.get_mut();
        if let Some(facts) = &mut facts {
            facts.remove(&changes.deleted);
            // A move can change an image's folder; only the facts hold anything of it.
            for id in &changes.updated {
                match catalog.image(*id)? {
                    Some(row) => facts.insert(row.facts()),
                    None => facts.remove(&[*id]),
                }
            }
        }
        for &id in &changes.inserted {
            let (Some(row), Some(embedding)) = (catalog.image(id)?, catalog.embedding(id)?) else {
                continue;
            };
            if self.vectors.is_none() {
                self.vectors = Some(Vectors::Index(VectorIndex::new(embedding.len(), scalar)?));
            }
            if let Some(v) = &mut self.vectors {
                v.add(id, &embedding)?;
            }
            background_moved |= self.background.len() < BACKGROUND_SAMPLE
                || self.background.last().is_some_and(|last| row.hash <= last.hash);
            if let Some(facts) = &mut facts {
                facts.insert(row.facts());
            }
        }
        if background_moved {
            self.background = catalog.background_sample(BACKGROUND_SAMPLE)?;
        }
        self.generation = catalog.generation()?;
        Ok(())
    }

    /// Where this mirror differs from `catalog` (empty: nowhere). It is derived from the
    /// catalog and must always equal it; tests check this after every step.
    pub fn differences(&self, catalog: &Catalog) -> Result<Vec<String>> {
        let state = self;
        catalog.snapshot(|catalog| {
            let mut out = Vec::new();
            let generation = catalog.generation()?;
            if state.generation != generation {
                out.push(format!(
                    "generation: memory {}, catalog {generation}",
                    state.generation
                ));
            }
            let kept = catalog.count_images()?;
            let counted = catalog.count_image_rows()?;
            if kept != counted {
                out.push(format!("image count kept in the catalog {kept}, rows {counted}"));
            }
            let (words_kept, words_counted) =
                (catalog.words_progress()?, catalog.words_progress_counted()?);
            if words_kept != words_counted {
                out.push(format!(
                    "contents and words read kept in the catalog {words_kept:?}, counted {words_counted:?}"
                ));
            }
            let count = usize::try_from(counted).unwrap_or(usize::MAX);
            if let Some(facts) = state.facts.get() {
                let mut want: HashMap<i64, PhotoFacts> = HashMap::new();
                catalog.for_each_fact(|f| {
                    want.insert(f.id, f);
                })?;
                let mut held = HashSet::new();
                for f in facts.all() {
                    match want.get(&f.id) {
                        None => out.push(format!("image {} in memory only (a phantom)", f.id)),
                        Some(w) if *w != f => {
                            out.push(format!("image {}: memory {f:?}, catalog {w:?}", f.id))
                        }
                        Some(_) => {}
                    }
                    held.insert(f.id);
                }
                for id in want.keys().filter(|id| !held.contains(id)) {
                    out.push(format!("image {id} missing from memory"));
                }
                if facts.len() != held.len() {
                    out.push(format!("{} facts, {} readable", facts.len(), held.len()));
                }
            }
            match &state.vectors {
                None if count > 0 => out.push("no vector index in memory".into()),
                None => {}
                Some(vectors) => {
                    if vectors.len() != count {
                        out.push(format!(
                            "vectors in memory: {}, catalog {count}",
                            vectors.len(),
                        ));
                    }
                    let mut failed = None;
                    catalog.for_each_embedding(|id, want| match vectors {
                        Vectors::Index(v) => {
                            let want = match v.stored_form(&want) {
                                Ok(want) => want,
                                Err(e) => return failed = Some(e),
                            };
                            match v.get(id) {
                                None => {
                                    out.push(format!("image {id} missing from the vector index"))
                                }
                                Some(got) if got != want => out.push(format!(
                                    "image {id}: another vector in the vector index"
                                )),
                                Some(_) => {}
                            }
                        }
                        Vectors::Building { exact, .. } => match exact.get(id) {
                            None => out.push(format!("image {id} missing from the exact vectors")),
                            Some(got) if got != want.as_slice() => {
                                out.push(format!("image {id}: another vector in the exact vectors"))
                            }
                            Some(_) => {}
                        },
                    })?;
                    if let Some(e) = failed {
                        return Err(e);
                    }
                }
            }
            let background = catalog.background_sample(BACKGROUND_SAMPLE)?;
            if background != state.background {
                out.push(format!(
                    "relevance background: memory {} samples, catalog {} (or other ones)",
                    state.background.len(),
                    background.len()
                ));
            }
            Ok(out)
        })
    }
}


/// Build the vector index (see [`vectors::build`]) and put it in the place of the exact vectors
/// it was built for, bringing the images changed meanwhile up to date; then save it.
pub(crate) fn build_and_take_over(
    dir: &Path,
    state: &RwLock<Mirror>,
    dimensions: usize,
    scalar: Scalar,
    pace: BuildPace,
    build: &Arc<BuildProgress>,
) -> Result<()> {
    let catalog = Catalog::open(&dir.join(catalog::DATABASE))?;
    let Some(mut index) = vectors::build(dir, &catalog, dimensions, scalar, pace, build)? else {
        return Ok(());
    };
    let generation = {
        let mut state = state.write().unwrap_or_else(|p| p.into_inner());
        let Some(Vectors::Building {
            exact,
            build: current,
            touched,
        }) = &state.vectors
        else {
            return Ok(());
        };
        if !Arc::ptr_eq(current, build) {
            return Ok(()); // the state was loaded again meanwhile, with a build of its own
        }
        for &id in touched {
            match exact.get(id) {
                Some(vector) => index.add(id, vector)?,
                None if index.contains(id) => index.remove(id)?,
                None => {}
            }
        }
        state.vectors = Some(Vectors::Index(index));
        state.generation
    };
    // As at open: only the library's writer saves; an indexing run saves at its end anyway.
    if let Ok(_writer) = lock::try_acquire(dir) {
        let state = state.read().unwrap_or_else(|p| p.into_inner());
        if let Some(index) = state.vectors.as_ref().and_then(Vectors::index) {
            index.save(dir, generation)?; // built in memory: nothing to swap
        }
    }
    Ok(())
}

/// Save the vector index as of `generation` (only a writer does this; callers hold the writer
/// slot, so nothing is absorbed between the save and the swap). While the index is being built,
/// the build saves it when done. Searches go on during the write; the view of a rewritten file
/// takes the old one's place after it.
pub(crate) fn save(mirror: &RwLock<Mirror>, dir: &Path, generation: i64) -> Result<()> {
    let rewritten = {
        let read = mirror.read().unwrap_or_else(|p| p.into_inner());
        match read.vectors.as_ref().and_then(Vectors::index) {
            Some(v) => v.save(dir, generation)?,
            None => return Ok(()),
        }
    };
    if let Some(fresh) = rewritten {
        let mut write = mirror.write().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = write.vectors.as_mut().and_then(Vectors::index_mut) {
            *v = fresh;
        }
    }
    Ok(())
}
