//! What is kept: the catalog (SQLite, the one truth) and what is derived from it.
//!
//! - [`catalog`]: folders, images with their embeddings, skipped files, folder states; schema
//!   steps in `migrations/`.
//! - [`vindex`]: the usearch vector index, saved beside the catalog as a checked cache.
//! - [`vectors`]: what searches read (the index, or exact search while it is built) and the build.
//! - [`mirror`]: what a library holds in memory of the catalog, always equal to it.
//! - [`facts`]: the few bytes per photo that filters read, in memory.
//! - [`lock`]: one writer per library across processes.
//!
//! Nothing here knows folders on disk, models or queries.

pub mod catalog;
pub mod facts;
pub mod lock;
pub mod mirror;
pub mod vectors;
pub mod vindex;
