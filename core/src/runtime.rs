//! Finding and loading the ONNX Runtime shared library (`ort` with `load-dynamic`).
//!
//! The library comes from the PyPI `onnxruntime` wheel; `make setup` extracts it into the data
//! directory. Search order: `ORT_DYLIB_PATH` (only that, when set), next to the executable, then
//! `$XDG_DATA_HOME/clipstream/onnxruntime/` (default `~/.local/share/clipstream/onnxruntime/`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;

use crate::{Error, Result};

/// The exact library file the project pins (onnxruntime 1.31.1).
pub const ORT_LIBRARY: &str = "libonnxruntime.so.1.31.1";

/// Where the library is looked for, in order.
pub fn library_candidates() -> Vec<PathBuf> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        return vec![PathBuf::from(path)];
    }
    let mut out = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        out.push(dir.join(ORT_LIBRARY));
    }
    if let Some(data) = dirs::data_dir() {
        out.push(
            data.join("clipstream")
                .join("onnxruntime")
                .join(ORT_LIBRARY),
        );
    }
    out
}

/// The first candidate that exists; the error lists every path tried.
pub fn library_path() -> Result<PathBuf> {
    let candidates = library_candidates();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(Error::RuntimeMissing { tried: candidates })
}

/// The process-wide ONNX Runtime environment, loaded on first use.
///
/// ONNX Runtime allows one environment per process and the library can be loaded once, so the
/// outcome (success or the error) is kept for the life of the process.
pub fn environment() -> Result<&'static Environment> {
    static ENV: OnceLock<std::result::Result<Environment, (PathBuf, String)>> = OnceLock::new();
    let path = library_path()?;
    let loaded = ENV.get_or_init(|| {
        let builder = ort::init_from(&path).map_err(|e| (path.clone(), e.to_string()))?;
        builder
            .with_name("clipstream")
            .build()
            .map_err(|e| (path.clone(), e.to_string()))
    });
    loaded
        .as_ref()
        .map_err(|(path, reason)| Error::RuntimeLoad {
            path: path.clone(),
            reason: reason.clone(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_end_in_the_pinned_library() {
        if std::env::var_os("ORT_DYLIB_PATH").is_none() {
            let c = library_candidates();
            assert!(!c.is_empty());
            assert!(c.iter().all(|p| p.ends_with(ORT_LIBRARY)));
        }
    }
}
