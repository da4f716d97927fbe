//! ClipStream's library: everything the CLI and the desktop app do, behind one façade,
//! [`Library`].
//!
//! Modules, in the order data flows: [`scan`] walks folders, [`decode`] turns bytes into upright
//! RGB, [`embed`] runs the CLIP towers (with [`model`] describing them and [`runtime`] loading
//! ONNX Runtime), [`catalog`] stores everything in SQLite, [`vindex`] keeps the usearch index
//! beside it, [`search`] parses queries and ranks, [`index`] runs indexing and writes each image's
//! [`thumbnail`].

pub mod actions;
pub mod catalog;
pub mod date;
pub mod decode;
pub mod duplicates;
pub mod embed;
pub mod error;
pub mod hub;
pub mod import;
pub mod index;
pub mod installed;
pub mod journal;
pub mod library;
pub mod lock;
pub mod memory;
pub mod model;
pub(crate) mod offline;
pub(crate) mod probe;
pub mod runtime;
pub mod scan;
pub mod search;
pub mod thumbnail;
pub mod vectors;
pub mod vindex;
pub mod watch;

pub use embed::{TextEncoder, VisionEncoder};
pub use error::{Error, Result};
pub use index::{Phase, Progress, Report};
pub use library::{IndexBuild, Library, Options, Status};
pub use model::{Manifest, Model};
pub use search::{Filters, Hit, ListCursor, Page, Request, Results, Sort};
