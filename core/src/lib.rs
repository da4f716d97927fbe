//! ClipStream's library: everything the CLI and the desktop app do, behind one façade.
//!
//! So far: finding and loading ONNX Runtime ([`runtime`]), reading an exported model's
//! `manifest.json` ([`model`]) and turning a query into an embedding ([`embed`]).

pub mod embed;
pub mod error;
pub mod model;
pub mod runtime;

pub use embed::TextEncoder;
pub use error::{Error, Result};
pub use model::{Manifest, Model};
