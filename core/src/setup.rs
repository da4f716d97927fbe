//! The second public API: what the CLI and the app need to set up, beside the [`Library`] façade.
//! Finding the model and the library, getting the model from the Hugging Face Hub or importing a
//! checkpoint folder, and checking that ONNX Runtime and the model work (`clipstream doctor`).
//!
//! [`Library`]: crate::Library

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::model::encoders::TextEncoder;
use crate::model::{self, Model};
use crate::{Error, Result};

pub use crate::model::MANIFEST;
pub use crate::model::encoders::default_threads;
pub use crate::model::hub::{DEFAULT_REPO, DEFAULT_REVISION, Request as HubRequest, endpoint};
pub use crate::model::import::{Imported, Options as ImportOptions, Step, get, import};
pub use crate::model::installed::{demo_model, demo_photos};

/// The model folder to use: `explicit`, else the first of [`model_locations`] that holds one.
pub fn locate_model(explicit: Option<&Path>) -> Result<PathBuf> {
    model::locate(explicit)
}

/// Where a model is looked for, in order (`$CLIPSTREAM_MODEL`, the data folder).
pub fn model_locations() -> Vec<PathBuf> {
    model::default_locations()
}

/// The user's own model folder, `$XDG_DATA_HOME/clipstream/model`: where `model import` and
/// `model get` write by default, and the last place a model is looked for.
pub fn user_model_dir() -> Option<PathBuf> {
    model::user_dir()
}

/// Whether `dir` holds a library already (without creating one).
pub fn has_library(dir: &Path) -> bool {
    dir.join(crate::store::catalog::DATABASE).is_file()
}

/// The default library folder: `$XDG_DATA_HOME/clipstream/library`.
pub fn default_library_dir() -> Option<PathBuf> {
    crate::library::default_dir()
}

/// ONNX Runtime loaded (once per process): where it was found.
pub fn runtime() -> Result<PathBuf> {
    crate::model::runtime::environment()?;
    crate::model::runtime::library_path()
}

/// What [`check_text_model`] saw.
#[derive(Debug, Clone)]
pub struct TextCheck {
    pub tokens: usize,
    pub dimensions: usize,
    pub load: Duration,
    pub encode: Duration,
}

/// Load `model`'s text encoder and encode `query` once: the model answers, in its dimension.
pub fn check_text_model(model: &Model, threads: usize, query: &str) -> Result<TextCheck> {
    let started = Instant::now();
    let encoder = TextEncoder::new(model, threads)?;
    let load = started.elapsed();
    let tokens = encoder.token_ids(query)?.len();
    let started = Instant::now();
    let vector = encoder.encode(query)?;
    let encode = started.elapsed();
    if vector.len() != model.manifest.embedding_dim {
        return Err(Error::Internal(format!(
            "the text model returned {} dimensions, the manifest says {}",
            vector.len(),
            model.manifest.embedding_dim
        )));
    }
    Ok(TextCheck {
        tokens,
        dimensions: vector.len(),
        load,
        encode,
    })
}

/// What `check_words` found: the OCR models, and what they read in a sample.
#[derive(Debug, Clone)]
pub struct WordsCheck {
    pub dir: PathBuf,
    pub reader: String,
    pub load: Duration,
    pub read: Duration,
    /// The sample's lines as read (it says "WiFi", "password: hunter22", "你好世界", "Receipt 42").
    pub lines: Vec<String>,
}

/// A sample with English and Chinese lines, drawn with real fonts (tests/fixtures/words).
const WORDS_SAMPLE: &[u8] = include_bytes!("../../tests/fixtures/words/wifi-and-chinese.png");

/// Find the OCR models, load them, and read a sample: `None` when none are installed.
pub fn check_words(threads: usize) -> Result<Option<WordsCheck>> {
    use crate::ingest::words::{self, Effort, Reader};
    let Some(dir) = words::locate() else {
        return Ok(None);
    };
    let started = Instant::now();
    let reader = Reader::open(&dir, threads)?;
    let load = started.elapsed();
    let image = image::load_from_memory(WORDS_SAMPLE)
        .map_err(|e| Error::Internal(format!("the OCR sample does not decode: {e}")))?
        .to_rgb8();
    let started = Instant::now();
    let lines = reader.read(&image, &Effort::PRODUCT)?;
    let read = started.elapsed();
    Ok(Some(WordsCheck {
        reader: reader.name(),
        dir,
        load,
        read,
        lines: lines.into_iter().map(|l| l.text).collect(),
    }))
}

/// Where OCR models are looked for, in order (the first holding a detector and a recogniser is
/// used).
pub fn words_locations() -> Vec<PathBuf> {
    crate::ingest::words::locations()
}
