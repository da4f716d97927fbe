//! From folders on disk to the catalog: the way a photo comes in.
//!
//! - [`scan`]: walking a folder (candidates, what could not be read, mount points).
//! - [`offline`]: telling a drive that is away from photos that are gone.
//! - [`decode`]: bytes → upright RGB at the model's size, and the thumbnail from the same decode.
//! - [`thumbnail`]: the 320-px JPEGs kept in the library.
//! - [`journal`] and [`probe`]: a crashing C decoder costs one file, and only its own crash
//!   convicts it.
//! - [`run`]: one indexing run, in phases (discover → read and hash → decode → embed → commit).
//! - [`watch`]: when a run is due (inotify, drives coming and going, periodic scans).
//! - [`words`]: the words in a photo (PP-OCR: detection, line orientation, recognition), and
//!   [`reading`]: the stage that reads them after the embeddings, in the background.

pub mod decode;
pub mod journal;
pub mod offline;
pub mod probe;
pub mod reading;
pub mod run;
pub mod scan;
pub mod thumbnail;
pub mod watch;
pub mod words;
