//! The library's one error type; every variant names the file or model at fault.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "ONNX Runtime library not found; looked at: {}. Run `make setup` (it extracts {} from the \
         onnxruntime wheel) or set ORT_DYLIB_PATH to the library's absolute path",
        display_paths(tried),
        crate::model::runtime::ORT_LIBRARY
    )]
    RuntimeMissing { tried: Vec<PathBuf> },

    #[error("could not load ONNX Runtime from {path}: {reason}")]
    RuntimeLoad { path: PathBuf, reason: String },

    #[error(
        "no model at {dir}: it has no manifest.json. Get one with `clipstream model get` (or \
         `clipstream model import DIR` for a downloaded checkpoint), or pass --model with a folder \
         that holds manifest.json"
    )]
    ModelMissing { dir: PathBuf },

    #[error(
        "no model found; looked in: {}. Get the CLIP model with `clipstream model get` (or \
         `clipstream model import DIR` for a downloaded checkpoint folder), or pass --model DIR or \
         set CLIPSTREAM_MODEL",
        display_paths(tried)
    )]
    ModelNotFound { tried: Vec<PathBuf> },

    #[error("model manifest {path} is unreadable: {reason}")]
    Manifest { path: PathBuf, reason: String },

    #[error(
        "model file {path} does not match its manifest: {reason}; get or import the model again \
         (`clipstream model get`)"
    )]
    ModelFile { path: PathBuf, reason: String },

    #[error("tokenizer {path}: {reason}")]
    Tokenizer { path: PathBuf, reason: String },

    #[error("catalog {path}: {reason}")]
    Catalog { path: PathBuf, reason: String },

    #[error(
        "the disk holding {path} is full ({reason}); free some space and run again: the work \
         done before this is kept"
    )]
    DiskFull { path: PathBuf, reason: String },

    #[error("vector index {path}: {reason}")]
    VectorIndex { path: PathBuf, reason: String },

    #[error(
        "this library was built with model {library} ({library_dim}-d) but the model given is {given} \
         ({given_dim}-d); use the library's model, or re-index with the new one (`clipstream index --reindex`)"
    )]
    ModelMismatch {
        library: String,
        library_dim: usize,
        given: String,
        given_dim: usize,
    },

    #[error("{path}: {reason}")]
    Io { path: PathBuf, reason: String },

    /// What the user asked for cannot be done as asked (a query, a filter, a day).
    #[error("{0}")]
    Query(String),

    #[error("this library was opened without a model: searching and indexing need one")]
    NoModel,

    /// A failure inside ClipStream, not the user's input (a worker thread that panicked, a model
    /// whose output does not fit its manifest).
    #[error("internal error: {0}")]
    Internal(String),

    #[error("{holder} is updating this library; try again when it has finished")]
    Busy { holder: String },

    #[error(
        "the search index is still being prepared ({done} of {total} photos); \
         try again when it is ready"
    )]
    IndexBuilding { done: u64, total: u64 },

    /// A checkpoint that `clipstream model import` cannot turn into a model (nothing is written).
    #[error("cannot import {path}: {reason}")]
    Import { path: PathBuf, reason: String },

    /// Fetching from the Hugging Face Hub failed; `url` is the request at fault.
    #[error("download of {url} failed: {reason}")]
    Download { url: String, reason: String },

    /// The user stopped a download; its `.part` files are kept.
    #[error("cancelled; run the same command again to resume where it stopped")]
    Cancelled,

    #[error("no image with id {id} in this library")]
    UnknownImage { id: i64 },

    #[error("no folder with id {id} in this library")]
    UnknownFolder { id: i64 },

    /// A catalogued photo whose drive or folder is not there now; its entry is kept.
    #[error(
        "{path} is on a drive or folder that is not connected ({reason}); connect it and try \
         again (the photo stays in the library meanwhile)"
    )]
    Offline { path: PathBuf, reason: String },

    /// A Hugging Face repository, revision or listing that `model get` cannot use.
    #[error("{repo}: {reason}")]
    Repository { repo: String, reason: String },

    #[error("ONNX Runtime failed on {path}: {reason}")]
    Inference { path: PathBuf, reason: String },
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
