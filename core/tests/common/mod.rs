//! What the newer integration tests share: the checkout, its shape fixtures and a library on
//! the test model.
#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use clipstream_core::{Library, Model, Options, Report};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("core/ lives in the repo root")
        .to_path_buf()
}

/// Generated shape `n` of `tests/fixtures/shapes`.
pub fn shape(n: usize) -> PathBuf {
    repo().join(format!("tests/fixtures/shapes/{n:05}.png"))
}

/// A library in `dir` on the test model, with default options.
pub fn open_library(dir: &Path) -> Library {
    let model = Model::open(repo().join("models/tiny-clip")).expect("test model opens");
    Library::open(dir, Some(&model), Options::default()).expect("library opens")
}

/// One incremental run, not cancelled.
pub fn index(library: &Library) -> Report {
    library
        .index(&mut |_| {}, &AtomicBool::new(false))
        .expect("indexes")
}
