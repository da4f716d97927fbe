//! The façade: one photo library (a folder holding the catalog and the vector index) and, when
//! searching or indexing, the model. The CLI and the desktop app call nothing else.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock, RwLockReadGuard};

use serde::Serialize;

use crate::catalog::{self, Catalog, Folder, ImageRow, Skipped};
use crate::decode::{self, DEFAULT_MAX_PIXELS};
use crate::embed::{self, TextEncoder, VisionEncoder};
use crate::lock;
use crate::model::Model;
use crate::search::{self, Filters, Hit, Request, Results, Sort};
use crate::thumbnail;
use crate::vindex::{DEFAULT_SCALAR, Scalar, VectorIndex};
use crate::{Error, Result};

/// How a library is opened.
#[derive(Debug, Clone)]
pub struct Options {
    /// ONNX Runtime intra-op threads per model run.
    pub threads: usize,
    /// Threads decoding images while the model encodes.
    pub decode_threads: usize,
    /// Images per vision-model run (and per catalog commit).
    pub batch_size: usize,
    pub scalar: Scalar,
    pub max_pixels: u64,
    /// Throw away every embedding and rebuild with this model (after a model change).
    pub reindex: bool,
}

impl Default for Options {
    fn default() -> Self {
        let cores = embed::default_threads();
        Self {
            threads: cores,
            decode_threads: cores,
            batch_size: 16,
            scalar: DEFAULT_SCALAR,
            max_pixels: DEFAULT_MAX_PIXELS,
            reindex: false,
        }
    }
}

/// The model's encoders; text and vision always come from the same manifest.
pub(crate) struct Encoders {
    pub model: Model,
    pub text: TextEncoder,
    pub vision: VisionEncoder,
}

/// What searches read; replaced piecewise as indexing commits.
pub(crate) struct State {
    pub vindex: Option<VectorIndex>,
    pub rows: HashMap<i64, ImageRow>,
    /// A fixed sample of library embeddings for the relevance cutoff.
    pub background: Vec<Vec<f32>>,
    /// The catalog generation this reflects: another process's changes show as a newer one.
    pub generation: i64,
}

pub struct Library {
    pub(crate) dir: PathBuf,
    pub(crate) options: Options,
    pub(crate) catalog: Mutex<Catalog>,
    pub(crate) encoders: Option<Encoders>,
    pub(crate) state: RwLock<State>,
    pub(crate) indexing: Mutex<()>,
}

/// A folder with its image count; `reachable` is false when it is missing (an unplugged drive).
#[derive(Debug, Clone, Serialize)]
pub struct FolderStatus {
    #[serde(serialize_with = "catalog::lossy_path")]
    pub path: PathBuf,
    pub images: u64,
    pub reachable: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    #[serde(serialize_with = "catalog::lossy_path")]
    pub library: PathBuf,
    pub model_id: Option<String>,
    pub embedding_dim: Option<usize>,
    pub images: u64,
    pub skipped: u64,
    pub folders: Vec<FolderStatus>,
}

/// The default library folder: `$XDG_DATA_HOME/clipstream/library`.
pub fn default_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("clipstream").join("library"))
}

impl Library {
    /// Open (creating) the library in `dir`. With a model, searching and indexing work, and the
    /// model must be the one the library was built with (see [`Options::reindex`]).
    pub fn open(dir: &Path, model: Option<&Model>, options: Options) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let catalog = Catalog::open(&dir.join(catalog::DATABASE))?;
        if let Some(model) = model {
            guard_model(dir, &catalog, model, options.reindex)?;
        }
        // The text model loads (~0.7 s for ViT-B/32) while this thread reads the catalog and the
        // vector index: start-up is the longer of the two, not their sum.
        let (encoders, loaded) = std::thread::scope(|scope| {
            let encoders = model.map(|m| {
                let threads = options.threads;
                scope.spawn(move || -> Result<Encoders> {
                    Ok(Encoders {
                        model: m.clone(),
                        text: TextEncoder::new(m, threads)?,
                        vision: VisionEncoder::new(m, threads)?,
                    })
                })
            });
            let loaded = load_state(dir, &catalog, options.scalar);
            let encoders = encoders
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Query("the model loader panicked".into())))
                })
                .transpose();
            (encoders, loaded)
        });
        let (encoders, state) = (encoders?, loaded?);
        Ok(Self {
            dir: dir.to_path_buf(),
            options,
            catalog: Mutex::new(catalog),
            encoders,
            state: RwLock::new(state),
            indexing: Mutex::new(()),
        })
    }

    /// Read the catalog and vector index again if another process changed them since we did.
    /// With `saved_only`, wait until that process has saved its vector index (mid-run the file
    /// lags the catalog, and loading it would mean a rebuild on every search).
    pub(crate) fn refresh(&self, catalog: &Catalog, saved_only: bool) -> Result<()> {
        let current = catalog.generation()?;
        if current == self.state().generation
            || (saved_only && VectorIndex::saved_generation(&self.dir) != Some(current))
        {
            return Ok(());
        }
        let fresh = load_state(&self.dir, catalog, self.options.scalar)?;
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn catalog(&self) -> std::sync::MutexGuard<'_, Catalog> {
        self.catalog.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn encoders(&self) -> Result<&Encoders> {
        self.encoders.as_ref().ok_or(Error::Query(
            "this library was opened without a model".into(),
        ))
    }

    pub fn model(&self) -> Option<&Model> {
        self.encoders.as_ref().map(|e| &e.model)
    }

    pub fn folders(&self) -> Result<Vec<Folder>> {
        self.catalog().folders()
    }

    /// Remember a folder to index. The path is made absolute; it must be a readable directory.
    pub fn add_folder(&self, path: &Path) -> Result<Folder> {
        let abs = std::fs::canonicalize(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if !abs.is_dir() {
            return Err(Error::Io {
                path: abs,
                reason: "not a folder".into(),
            });
        }
        let id = self.catalog().add_folder(&abs)?;
        Ok(Folder { id, path: abs })
    }

    /// Forget a folder and its images (the photos on disk are not touched). Returns the count.
    pub fn remove_folder(&self, path: &Path) -> Result<usize> {
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let folder = self
            .folders()?
            .into_iter()
            .find(|f| f.path == abs || f.path == path)
            .ok_or_else(|| Error::Io {
                path: path.to_path_buf(),
                reason: "is not a folder of this library".into(),
            })?;
        let _running = self.indexing.lock().unwrap_or_else(|p| p.into_inner());
        let _writer = lock::try_acquire(&self.dir)?;
        VectorIndex::remove_partial_saves(&self.dir);
        self.refresh(&self.catalog(), false)?;
        let removed = self.catalog().remove_folder(folder.id)?;
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        state.generation = self.catalog().generation()?;
        let gone: Vec<i64> = state
            .rows
            .values()
            .filter(|r| r.folder_id == folder.id)
            .map(|r| r.id)
            .collect();
        for id in &gone {
            state.rows.remove(id);
            if let Some(v) = &state.vindex {
                v.remove(*id)?;
            }
        }
        if let Some(v) = &state.vindex {
            v.save(&self.dir, self.catalog().generation()?)?;
        }
        drop(state);
        thumbnail::prune(&self.dir, &self.catalog().hashes()?);
        Ok(removed)
    }

    pub fn status(&self) -> Result<Status> {
        let catalog = self.catalog();
        let state = self.state();
        let mut per_folder: HashMap<i64, u64> = HashMap::new();
        for r in state.rows.values() {
            *per_folder.entry(r.folder_id).or_default() += 1;
        }
        let folders = catalog
            .folders()?
            .into_iter()
            .map(|f| FolderStatus {
                images: per_folder.get(&f.id).copied().unwrap_or(0),
                reachable: f.path.is_dir(),
                path: f.path,
            })
            .collect();
        Ok(Status {
            library: self.dir.clone(),
            model_id: catalog.meta("model_id")?,
            embedding_dim: catalog.meta("embedding_dim")?.and_then(|d| d.parse().ok()),
            images: catalog.count_images()?,
            skipped: catalog.skipped()?.len() as u64,
            folders,
        })
    }

    pub fn skipped(&self) -> Result<Vec<Skipped>> {
        self.catalog().skipped()
    }

    pub fn image(&self, id: i64) -> Option<ImageRow> {
        self.state().rows.get(&id).cloned()
    }

    /// The JPEG thumbnail of catalogued image `id`, made from the original file if it is missing
    /// (a library indexed before thumbnails existed, or a thumbnail that could not be written).
    pub fn thumbnail(&self, id: i64) -> Result<Vec<u8>> {
        // The row from memory; only the hash needs the catalog (the grid asks for ~120 at once).
        let row = self.image(id).ok_or(Error::UnknownImage { id })?;
        let hash = self
            .catalog()
            .hash_of(id)?
            .ok_or(Error::UnknownImage { id })?;
        if let Ok(bytes) = std::fs::read(thumbnail::path(&self.dir, &hash)) {
            return Ok(bytes);
        }
        let image = self.read_upright(&row, thumbnail::BOX)?;
        thumbnail::store(&self.dir, &hash, &image)
    }

    /// Catalogued image `id`, upright and scaled to fit in `max_side`×`max_side`, as JPEG.
    pub fn preview(&self, id: i64, max_side: u32) -> Result<Vec<u8>> {
        let row = self.image(id).ok_or(Error::UnknownImage { id })?;
        let image = self.read_upright(&row, max_side)?;
        thumbnail::jpeg(&image, 90).map_err(|e| Error::Io {
            path: row.path,
            reason: e.to_string(),
        })
    }

    fn read_upright(&self, row: &ImageRow, max_side: u32) -> Result<image::RgbImage> {
        let path = self.catalogued_file(row)?;
        let bytes = std::fs::read(&path).map_err(|e| Error::Io {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        decode::decode_to_fit(&bytes, max_side, self.options.max_pixels).map_err(|e| Error::Io {
            path: path.clone(),
            reason: e.0,
        })
    }

    /// The file of a catalogued image, refused when it now resolves outside the library's folders
    /// (replaced by a link since it was indexed): the app shows catalogued photos and nothing else.
    fn catalogued_file(&self, row: &ImageRow) -> Result<PathBuf> {
        let refuse = |reason: String| Error::Io {
            path: row.path.clone(),
            reason,
        };
        let real = std::fs::canonicalize(&row.path).map_err(|e| refuse(e.to_string()))?;
        if self.folders()?.iter().any(|f| real.starts_with(&f.path)) {
            Ok(real)
        } else {
            Err(refuse(format!(
                "now leads to {}, outside the library's folders; not shown",
                real.display()
            )))
        }
    }

    /// The normalised embedding of one query term: an image file if the term names one, else text.
    fn term_embedding(&self, term: &str) -> Result<Vec<f32>> {
        let path = Path::new(term);
        if crate::scan::kind_of(path).is_some() && path.is_file() {
            return self.image_embedding(path);
        }
        self.encoders()?.text.encode(term)
    }

    /// The embedding of an image file: from the catalog if indexed, else decoded and encoded now.
    pub fn image_embedding(&self, path: &Path) -> Result<Vec<f32>> {
        Ok(self.image_query(path)?.0)
    }

    /// An image file's embedding and, when it is in the catalog, its id.
    fn image_query(&self, path: &Path) -> Result<(Vec<f32>, Option<i64>)> {
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let catalog = self.catalog();
        if let Some(row) = catalog.image_by_path(&abs)?
            && let Some(v) = catalog.embedding(row.id)?
        {
            return Ok((v, Some(row.id)));
        }
        drop(catalog);
        let enc = self.encoders()?;
        let bytes = std::fs::read(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let decoded = decode::decode(&bytes, enc.vision.short_side(), self.options.max_pixels)
            .map_err(|e| Error::Io {
                path: path.to_path_buf(),
                reason: e.0,
            })?;
        let pixels = embed::preprocess(&decoded.image, enc.vision.preprocess());
        let mut out = enc.vision.encode_batch(&[pixels])?;
        let vector = out
            .pop()
            .ok_or_else(|| Error::Query("the vision model returned nothing".into()))?;
        Ok((vector, None))
    }

    /// Text (or combined) search.
    pub fn search(&self, request: &Request) -> Result<Results> {
        let terms = search::parse_query(&request.query).map_err(Error::Query)?;
        let mut weighted = Vec::with_capacity(terms.len());
        for t in &terms {
            weighted.push((t.weight, self.term_embedding(&t.text)?));
        }
        let query = search::combine(&weighted);
        self.nearest(
            &query,
            request.limit,
            request.all,
            &request.filters,
            request.sort,
            None,
        )
    }

    /// Images that look like the image at `path` (which need not be in the library).
    pub fn similar(
        &self,
        path: &Path,
        limit: usize,
        all: bool,
        filters: &Filters,
    ) -> Result<Results> {
        let (query, own) = self.image_query(path)?;
        self.nearest(&query, limit, all, filters, Sort::Relevance, own)
    }

    /// Images that look like the catalogued image `id`.
    pub fn similar_to_id(
        &self,
        id: i64,
        limit: usize,
        all: bool,
        filters: &Filters,
    ) -> Result<Results> {
        let query = self
            .catalog()
            .embedding(id)?
            .ok_or(Error::UnknownImage { id })?;
        self.nearest(&query, limit, all, filters, Sort::Relevance, Some(id))
    }

    fn nearest(
        &self,
        query: &[f32],
        limit: usize,
        all: bool,
        filters: &Filters,
        sort: Sort,
        exclude: Option<i64>,
    ) -> Result<Results> {
        self.refresh(&self.catalog(), true)?;
        let state = self.state();
        let Some(vindex) = &state.vindex else {
            return Ok(Results {
                hits: Vec::new(),
                cutoff: None,
                hidden: 0,
            });
        };
        let cutoff = if all {
            None
        } else {
            let scores: Vec<f32> = state.background.iter().map(|v| dot(query, v)).collect();
            search::relevance_cutoff(&scores)
        };
        let keep =
            |id: i64| Some(id) != exclude && state.rows.get(&id).is_some_and(|r| filters.keeps(r));
        let needs_filter = exclude.is_some() || !filters.is_empty();
        let neighbors = vindex.search(
            query,
            limit,
            needs_filter.then_some(&keep as &dyn Fn(i64) -> bool),
        )?;
        let mut hidden = 0;
        let mut hits = Vec::with_capacity(neighbors.len());
        for n in neighbors {
            if cutoff.is_some_and(|c| n.score < c) {
                hidden += 1;
                continue;
            }
            if let Some(r) = state.rows.get(&n.id) {
                hits.push(Hit {
                    id: r.id,
                    path: r.path.clone(),
                    score: n.score,
                    format: r.format.clone(),
                    width: r.width,
                    height: r.height,
                    size: r.size,
                    taken_at: r.taken_at,
                });
            }
        }
        search::sort_hits(&mut hits, sort);
        Ok(Results {
            hits,
            cutoff,
            hidden,
        })
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// What searches read, from the catalog and the vector index file.
fn load_state(dir: &Path, catalog: &Catalog, scalar: Scalar) -> Result<State> {
    let generation = catalog.generation()?;
    let dim = catalog
        .meta("embedding_dim")?
        .and_then(|d| d.parse::<usize>().ok());
    let vindex = match dim {
        Some(dim) => Some(VectorIndex::open(dir, catalog, dim, scalar)?.0),
        None => None,
    };
    let rows = catalog
        .all_images()?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    Ok(State {
        vindex,
        rows,
        background: background_sample(catalog)?,
        generation,
    })
}

/// Refuse a model other than the library's, unless the library is empty or a re-index is asked.
fn guard_model(dir: &Path, catalog: &Catalog, model: &Model, reindex: bool) -> Result<()> {
    let m = &model.manifest;
    let stored_id = catalog.meta("model_id")?;
    let stored_dim = catalog
        .meta("embedding_dim")?
        .and_then(|d| d.parse::<usize>().ok());
    let same =
        stored_id.as_deref() == Some(m.model_id.as_str()) && stored_dim == Some(m.embedding_dim);
    if !same && !reindex && catalog.count_images()? > 0 {
        return Err(Error::ModelMismatch {
            library: stored_id.unwrap_or_default(),
            library_dim: stored_dim.unwrap_or(0),
            given: m.model_id.clone(),
            given_dim: m.embedding_dim,
        });
    }
    if !same || reindex {
        // Not under another process's run: it would go on adding the old model's embeddings.
        let _writer = lock::try_acquire(dir)?;
        catalog.reset_embeddings(&m.model_id, m.embedding_dim)?;
    }
    Ok(())
}

/// Every ⌈n / BACKGROUND_SAMPLE⌉-th embedding, by id: the same sample on every open.
fn background_sample(catalog: &Catalog) -> Result<Vec<Vec<f32>>> {
    let n = catalog.count_images()? as usize;
    let stride = n.div_ceil(search::BACKGROUND_SAMPLE).max(1);
    let mut out = Vec::with_capacity(n.min(search::BACKGROUND_SAMPLE));
    let mut i = 0usize;
    catalog.for_each_embedding(|_, v| {
        if i.is_multiple_of(stride) {
            out.push(v);
        }
        i += 1;
    })?;
    Ok(out)
}
