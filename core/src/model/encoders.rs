//! Embeddings: query text through the CLIP tokenizer and text tower, photos through CLIP's image
//! preprocessing and the vision tower. Both L2-normalised.
//!
//! Queries are fed at their real length, unpadded: attention is causal and the tower reads out the
//! end-of-text position, so padding cannot change the result; it only costs time (77 positions
//! instead of ~8 for a typical query).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, OnceLock};

use lru::LruCache;
use ort::session::Session;
use ort::value::Tensor;
use tokenizers::Tokenizer;
use tokenizers::utils::truncation::{TruncationDirection, TruncationParams, TruncationStrategy};

use image::RgbImage;

use crate::model::{Model, Preprocess};
use crate::model::runtime;
use crate::{Error, Result};

/// Threads ONNX Runtime may use inside one model run; the default is every core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// One ONNX session, created once and reused. `Session::run` needs `&mut`, hence the mutex.
///
/// `arena`: ONNX Runtime's CPU memory arena. For the text model it held ~95 MiB more resident
/// memory for no speed (an 8-token query allocates little); the vision model's large batch
/// activations keep it.
pub(crate) fn open_session(
    model: &Model,
    file: &str,
    threads: usize,
    arena: bool,
) -> Result<Mutex<Session>> {
    runtime::session(&model.file(file), threads, arena)
}

/// Run a one-input, one-output model on `data` shaped `shape`; the output, flattened.
fn run<
    T: ort::value::PrimitiveTensorElementType + std::fmt::Debug + Clone + 'static,
    const N: usize,
>(
    session: &Mutex<Session>,
    path: &std::path::Path,
    input: &str,
    output: &str,
    shape: [usize; N],
    data: Vec<T>,
) -> Result<Vec<f32>> {
    let fail = |e: ort::Error| Error::Inference {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let tensor = Tensor::from_array((shape, data)).map_err(fail)?;
    // A poisoned lock only means another thread panicked mid-run; the session itself is intact.
    let mut session = session.lock().unwrap_or_else(|p| p.into_inner());
    let outputs = session.run(ort::inputs![input => tensor]).map_err(fail)?;
    let (_, values) = outputs[output].try_extract_tensor::<f32>().map_err(fail)?;
    Ok(values.to_vec())
}

/// How many recent queries' embeddings a text encoder keeps (~2 KB each at 512 dimensions).
const RECENT_QUERIES: usize = 256;

/// Encodes search queries with the model's tokenizer and text tower.
pub struct TextEncoder {
    model: Model,
    tokenizer: Tokenizer,
    session: Mutex<Session>,
    /// Embeddings of recent texts: typing goes back over the same prefixes (a backspace, a
    /// filter changed), and those then skip the model.
    recent: Mutex<LruCache<String, Vec<f32>>>,
}

impl TextEncoder {
    pub fn new(model: &Model, threads: usize) -> Result<Self> {
        let m = &model.manifest;
        let tok_path = model.file(&m.tokenizer.file);
        let tok_err = |reason: String| Error::Tokenizer {
            path: tok_path.clone(),
            reason,
        };
        let mut tokenizer = Tokenizer::from_file(&tok_path).map_err(|e| tok_err(e.to_string()))?;
        // Truncate to the context length, both special tokens included: EOT stays last.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: m.context_length,
                strategy: TruncationStrategy::LongestFirst,
                direction: TruncationDirection::Right,
                stride: 0,
            }))
            .map_err(|e| tok_err(e.to_string()))?;
        tokenizer.with_padding(None);
        let session = open_session(model, &m.text.file, threads, false)?;
        let encoder = Self {
            model: model.clone(),
            tokenizer,
            session,
            recent: Mutex::new(LruCache::new(
                NonZeroUsize::new(RECENT_QUERIES).expect("a constant above zero"),
            )),
        };
        // A session's first run sets up its buffers and is slower: spend it here, so the user's
        // first query is as fast as the tenth.
        encoder.encode_now("a photo")?;
        Ok(encoder)
    }

    /// Token ids of `text` as the model sees them: `<|startoftext|> … <|endoftext|>`, unpadded.
    pub fn token_ids(&self, text: &str) -> Result<Vec<i64>> {
        let path = self.model.file(&self.model.manifest.tokenizer.file);
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| Error::Tokenizer {
                path,
                reason: e.to_string(),
            })?;
        Ok(encoding.get_ids().iter().map(|&id| i64::from(id)).collect())
    }

    /// The L2-normalised embedding of `text`: from the recent ones if it is there, else encoded.
    pub fn encode(&self, text: &str) -> Result<Vec<f32>> {
        if let Some(vector) = self.recent().get(text) {
            return Ok(vector.clone());
        }
        let vector = self.encode_now(text)?;
        self.recent().put(text.to_owned(), vector.clone());
        Ok(vector)
    }

    /// Whether `text`'s embedding is among the recent ones (then [`Self::encode`] skips the model).
    #[cfg(any(test, feature = "internals"))]
    pub fn remembers(&self, text: &str) -> bool {
        self.recent().contains(text)
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, LruCache<String, Vec<f32>>> {
        // A poisoned lock only means another thread panicked; the cache is still consistent.
        self.recent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The embedding of `text` through the tokenizer and the text model, never from the recent
    /// ones (what a benchmark of the encoder times).
    pub fn encode_now(&self, text: &str) -> Result<Vec<f32>> {
        let ids = self.token_ids(text)?;
        let spec = &self.model.manifest.text;
        let path = self.model.file(&spec.file);
        let values = run(
            &self.session,
            &path,
            &spec.input,
            &spec.output,
            [1, ids.len()],
            ids,
        )?;
        let mut vectors = embeddings(values, 1, self.model.manifest.embedding_dim, &path)?;
        Ok(vectors.pop().unwrap_or_default())
    }
}

/// Encodes photos with the vision tower, in batches. The session is created on first use and
/// can be let go after an indexing run: searching never needs it, and the real model's 350 MB
/// graph and its buffers are memory an idle app should not hold (loading it takes ~1 s).
pub struct VisionEncoder {
    model: Model,
    threads: usize,
    session: Mutex<Option<Arc<Mutex<Session>>>>,
}

impl VisionEncoder {
    pub fn new(model: &Model, threads: usize) -> Result<Self> {
        Ok(Self {
            model: model.clone(),
            threads,
            session: Mutex::new(None),
        })
    }

    fn session(&self) -> Result<Arc<Mutex<Session>>> {
        let mut slot = self.session.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(session) = slot.as_ref() {
            return Ok(session.clone());
        }
        let session = Arc::new(open_session(
            &self.model,
            &self.model.manifest.vision.file,
            self.threads,
            true,
        )?);
        *slot = Some(session.clone());
        Ok(session)
    }

    /// Let the session go (a batch still running keeps it until it ends); the next encode loads
    /// it again.
    pub fn unload(&self) {
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The size the short side of a photo must have before [`preprocess`].
    pub fn short_side(&self) -> u32 {
        self.model.manifest.vision.preprocess.resize_shortest_edge
    }

    pub fn preprocess(&self) -> &Preprocess {
        &self.model.manifest.vision.preprocess
    }

    /// Embeddings of preprocessed images (each `3 × crop_h × crop_w`, from [`preprocess`]).
    pub fn encode_batch(&self, pixels: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        if pixels.is_empty() {
            return Ok(Vec::new());
        }
        let spec = &self.model.manifest.vision;
        let [ch, cw] = spec.preprocess.center_crop;
        let per_image = 3 * ch as usize * cw as usize;
        let path = self.model.file(&spec.file);
        let mut flat = Vec::with_capacity(per_image * pixels.len());
        for p in pixels {
            if p.len() != per_image {
                return Err(Error::Internal(format!(
                    "an image was prepared as {} values, the model {} takes {per_image}",
                    p.len(),
                    path.display()
                )));
            }
            flat.extend_from_slice(p);
        }
        let shape = [pixels.len(), 3, ch as usize, cw as usize];
        let session = self.session()?;
        let values = run(&session, &path, &spec.input, &spec.output, shape, flat)?;
        embeddings(
            values,
            pixels.len(),
            self.model.manifest.embedding_dim,
            &path,
        )
    }
}

/// A model's flat output as `count` normalised embeddings of the manifest's `dim`: an output of
/// another size is a model that does not fit its manifest, an error rather than a panic.
fn embeddings(
    values: Vec<f32>,
    count: usize,
    dim: usize,
    path: &std::path::Path,
) -> Result<Vec<Vec<f32>>> {
    if dim == 0 || values.len() != count * dim {
        return Err(Error::ModelFile {
            path: path.to_path_buf(),
            reason: format!(
                "it returned {} values for {count} inputs; manifest.json says {dim} each",
                values.len()
            ),
        });
    }
    Ok(values.chunks_exact(dim).map(normalized).collect())
}

/// CLIP's crop and normalisation of an image whose short side is already `resize_shortest_edge`:
/// centre crop (offset `(size - crop) / 2` truncated, as transformers does), scale,
/// `(x - mean) / std`, channel-major (CHW).
pub fn preprocess(image: &RgbImage, spec: &Preprocess) -> Vec<f32> {
    let [ch, cw] = spec.center_crop;
    let (w, h) = image.dimensions();
    let offset = |size: u32, crop: u32| (i64::from(size) - i64::from(crop)) / 2;
    let (top, left) = (offset(h, ch), offset(w, cw));
    let mut out = vec![0f32; 3 * (ch * cw) as usize];
    let plane = (ch * cw) as usize;
    for y in 0..ch {
        for x in 0..cw {
            let (sy, sx) = (i64::from(y) + top, i64::from(x) + left);
            // Outside the image (only when it is smaller than the crop): zero padding, as transformers.
            let px = if sy >= 0 && sx >= 0 && (sy as u32) < h && (sx as u32) < w {
                image.get_pixel(sx as u32, sy as u32).0
            } else {
                [0, 0, 0]
            };
            let i = (y * cw + x) as usize;
            for c in 0..3 {
                out[c * plane + i] =
                    (f32::from(px[c]) * spec.rescale_factor - spec.mean[c]) / spec.std[c];
            }
        }
    }
    out
}

/// `v / |v|` (a zero vector stays zero).
pub fn normalized(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        v.to_vec()
    } else {
        v.iter().map(|x| x / norm).collect()
    }
}

/// The model's encoders; text and vision always come from the same manifest. The vision model
/// loads on first use; the text model at open (a search's first query is then as quick as the
/// rest) or, with `text_at_open` off, on the first search (an indexing-only run never
/// holds its ~250 MB).
pub(crate) struct Encoders {
    pub model: Model,
    threads: usize,
    text: OnceLock<TextEncoder>,
    text_loading: Mutex<()>,
    pub vision: VisionEncoder,
}

impl Encoders {
    pub fn new(model: &Model, threads: usize, text_at_open: bool) -> Result<Self> {
        let encoders = Self {
            model: model.clone(),
            threads,
            text: OnceLock::new(),
            text_loading: Mutex::new(()),
            vision: VisionEncoder::new(model, threads)?,
        };
        if text_at_open {
            encoders.text()?;
        }
        Ok(encoders)
    }

    pub fn text(&self) -> Result<&TextEncoder> {
        if let Some(text) = self.text.get() {
            return Ok(text);
        }
        let _one_loader = self.text_loading.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(text) = self.text.get() {
            return Ok(text);
        }
        let text = TextEncoder::new(&self.model, self.threads)?;
        Ok(self.text.get_or_init(|| text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(size: u32) -> Preprocess {
        Preprocess {
            resize_shortest_edge: size,
            resample: "bicubic".into(),
            center_crop: [size, size],
            rescale_factor: 1.0 / 255.0,
            mean: [0.5, 0.5, 0.5],
            std: [0.5, 0.5, 0.5],
        }
    }

    #[test]
    fn preprocess_crops_the_centre_channel_major() {
        // 4 wide, 2 high; crop 2×2 takes columns 1..3.
        let img = RgbImage::from_fn(4, 2, |x, _| image::Rgb([(x * 60) as u8, 255, 0]));
        let out = preprocess(&img, &spec(2));
        let v = |p: u8| (f32::from(p) / 255.0 - 0.5) / 0.5;
        assert_eq!(out.len(), 12);
        let want = [v(60), v(120), v(60), v(120)];
        assert!(
            out[0..4]
                .iter()
                .zip(want)
                .all(|(a, b)| (a - b).abs() < 1e-6),
            "{:?}",
            &out[0..4]
        );
        assert!(out[4..8].iter().all(|&g| (g - 1.0).abs() < 1e-6));
        assert!(out[8..12].iter().all(|&b| (b + 1.0).abs() < 1e-6));
    }

    #[test]
    fn an_output_that_does_not_fit_the_manifest_is_an_error() {
        let path = std::path::Path::new("vision.onnx");
        let ok = embeddings(vec![3.0, 4.0, 0.0, 2.0], 2, 2, path).expect("fits");
        assert_eq!(ok, vec![vec![0.6, 0.8], vec![0.0, 1.0]]);
        for (values, count, dim) in [(vec![1.0; 5], 2, 2), (vec![1.0; 4], 1, 2), (vec![], 1, 0)] {
            let err = embeddings(values, count, dim, path).expect_err("does not fit");
            assert!(err.to_string().contains("manifest.json says"), "{err}");
        }
    }

    #[test]
    fn normalized_has_unit_length() {
        let n = normalized(&[3.0, 4.0]);
        assert!((n[0] - 0.6).abs() < 1e-6 && (n[1] - 0.8).abs() < 1e-6);
        assert_eq!(normalized(&[0.0, 0.0]), vec![0.0, 0.0]);
    }
}
