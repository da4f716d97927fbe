//! The model: what it is (its manifest), how it runs (ONNX Runtime, the text and vision
//! encoders) and how a person gets it (downloaded from the hub, imported from a checkpoint).
//!
//! - [`manifest`]: a model folder and its constants (read from `manifest.json`, checked by hash).
//! - [`runtime`]: finding and loading ONNX Runtime.
//! - [`encoders`]: the tokenizer and the ONNX sessions; CLIP's crop and normalisation.
//! - [`installed`]: what an installed package carries (ONNX Runtime, the demo).
//! - [`import`]: `model import`, a Hugging Face checkpoint turned into the model folder in Rust.
//! - [`hub`]: `model get`, downloads from the Hugging Face Hub (the only network code).

pub mod encoders;
pub mod hub;
pub mod import;
pub mod installed;
pub mod manifest;
pub mod runtime;

pub use manifest::*;
