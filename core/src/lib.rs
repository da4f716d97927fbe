//! ClipStream's library: everything the CLI and the desktop app do, behind one façade,
//! [`Library`], and the value types it takes and returns. What setting up needs besides (finding,
//! getting and importing the model, checking the runtime) is the second, small public API,
//! [`setup`]. The rest is this crate's own.
//!
//! The rooms, in the order a photo goes through them:
//!
//! - `ingest`: from folders on disk to the catalog (walk, offline parts, decode, thumbnails, the
//!   decoding journal and its child-process judge, the indexing run, watching).
//! - `store`: what is kept (the SQLite catalog, the one truth; the vector index beside it; what
//!   memory mirrors of it; the cross-process writer lock).
//! - `model`: what the model is and how it runs (manifest, ONNX Runtime, the encoders; import and
//!   download).
//! - `query`: from a question to ranked answers (parsing and scoring, the search pipeline,
//!   duplicates).
//! - `library`: the façade over them all: opening, locks, folders, file access, actions.
//!
//! Rooms only look down this list's dependencies (ingest and query use store and model; the
//! façade's methods written in a room use `library::Library`), never in a circle. The
//! `internals` feature opens the rooms to the crate's own tests and benchmarks; the CLI and the
//! app never use it (`make test` checks their sources).

pub mod date;
mod error;
pub mod setup;

/// The rooms are the crate's own; the `internals` feature makes them public for the crate's
/// tests and benchmarks only.
macro_rules! rooms {
    ($($room:ident),*) => {
        $(
            #[cfg(feature = "internals")]
            pub mod $room;
            #[cfg(not(feature = "internals"))]
            pub(crate) mod $room;
        )*
    };
}
rooms!(ingest, library, memory, model, query, store);

pub use error::{Error, Result};
pub use ingest::reading::WordsReport;
pub use ingest::run::{Phase, Progress, Report, Stages};
pub use ingest::watch::{FolderWatch, WatchEvent, WatchOptions};
pub use library::actions::Trashed;
pub use library::folders::{FolderStatus, OfflineSince, Status, WordsStatus};
pub use library::{Library, Options};
pub use memory::return_freed_memory;
pub use model::Model;
pub use query::duplicates::{
    DEFAULT_THRESHOLD as DUPLICATE_THRESHOLD, Group, Kind as DuplicateKind, Member,
};
pub use query::search::{Filters, Hit, ListCursor, Page, Request, Results, Sort, Twin};
pub use store::catalog::{ImageRow, OfflinePart, Skipped, TextLine};
pub use store::mirror::IndexBuild;
pub use store::vectors::BuildStatus;
