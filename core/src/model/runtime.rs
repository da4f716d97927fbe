//! Finding and loading the ONNX Runtime shared library (`ort` with `load-dynamic`).
//!
//! The library comes from the PyPI `onnxruntime` wheel; `make setup` extracts it into the data
//! directory; the .deb ships it in `/usr/lib/clipstream/`. Search order: `ORT_DYLIB_PATH` (only
//! that, when set), next to the executable, the installed package's `../lib/clipstream/`, then
//! `$XDG_DATA_HOME/clipstream/onnxruntime/` (default `~/.local/share/clipstream/onnxruntime/`).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use crate::model::installed;
use crate::{Error, Result};

/// The exact library file the project pins (onnxruntime 1.31.1).
pub const ORT_LIBRARY: &str = "libonnxruntime.so.1.31.1";

/// Where the library is looked for, in order.
pub fn library_candidates() -> Vec<PathBuf> {
    candidates(
        std::env::var_os("ORT_DYLIB_PATH"),
        std::env::current_exe().ok().as_deref(),
        dirs::data_dir(),
    )
}

/// The search order, from the environment's parts: `ORT_DYLIB_PATH` alone when set (and not
/// empty), else next to the executable, the installed package's folder, then the data folder.
fn candidates(
    explicit: Option<std::ffi::OsString>,
    exe: Option<&Path>,
    data_dir: Option<PathBuf>,
) -> Vec<PathBuf> {
    // Set but empty is as good as unset (a shell's `ORT_DYLIB_PATH= cmd`), not the path "".
    if let Some(path) = explicit.filter(|p| !p.is_empty()) {
        return vec![PathBuf::from(path)];
    }
    let mut out = Vec::new();
    out.extend(exe.and_then(Path::parent).map(|dir| dir.join(ORT_LIBRARY)));
    out.extend(
        exe.and_then(installed::lib_dir_for)
            .map(|dir| dir.join(ORT_LIBRARY)),
    );
    out.extend(data_dir.map(|data| {
        data.join("clipstream")
            .join("onnxruntime")
            .join(ORT_LIBRARY)
    }));
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
    environment_from(library_path)
}

/// One ONNX session over the model file at `path` in the process's environment: full graph
/// optimisation, `threads` for each operator, one at a time. `arena`: ONNX Runtime's CPU memory
/// arena (see `encoders::open_session`). `Session::run` needs `&mut`, hence the mutex.
pub(crate) fn session(path: &Path, threads: usize, arena: bool) -> Result<Mutex<Session>> {
    let fail = |e: ort::Error| Error::Inference {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let session = Session::builder(environment()?)
        .map_err(fail)?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| fail(e.into()))?
        .with_intra_threads(threads)
        .map_err(|e| fail(e.into()))?
        .with_inter_threads(1)
        .map_err(|e| fail(e.into()))?
        .with_execution_providers([ort::ep::CPU::default().with_arena_allocator(arena).build()])
        .map_err(|e| fail(e.into()))?
        .commit_from_file(path)
        .map_err(fail)?;
    Ok(Mutex::new(session))
}

/// [`environment`], with the library looked up by `locate` only when nothing is loaded yet: once
/// loaded, a runtime stays usable even if its file or `ORT_DYLIB_PATH` changes afterwards.
fn environment_from(locate: impl FnOnce() -> Result<PathBuf>) -> Result<&'static Environment> {
    type Loaded = std::result::Result<Environment, (PathBuf, String)>;
    static ENV: OnceLock<Loaded> = OnceLock::new();
    let loaded = match ENV.get() {
        Some(loaded) => loaded,
        None => {
            let path = locate()?;
            ENV.get_or_init(|| {
                let builder = ort::init_from(&path).map_err(|e| (path.clone(), e.to_string()))?;
                builder
                    .with_name("clipstream")
                    .build()
                    .map_err(|e| (path.clone(), e.to_string()))
            })
        }
    };
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
    fn the_explicit_path_alone_else_beside_the_executable_the_package_then_the_data_folder() {
        let exe = Path::new("/usr/bin/clipstream");
        let explicit = candidates(
            Some("/opt/ort/libonnxruntime.so".into()),
            Some(exe),
            Some("/home/u/.local/share".into()),
        );
        assert_eq!(explicit, [PathBuf::from("/opt/ort/libonnxruntime.so")]);
        let found = candidates(None, Some(exe), Some("/home/u/.local/share".into()));
        assert_eq!(
            found,
            [
                PathBuf::from("/usr/bin").join(ORT_LIBRARY),
                PathBuf::from("/usr/lib/clipstream").join(ORT_LIBRARY),
                PathBuf::from("/home/u/.local/share/clipstream/onnxruntime").join(ORT_LIBRARY),
            ]
        );
        assert!(candidates(None, None, None).is_empty());
        let blank = candidates(
            Some("".into()),
            Some(exe),
            Some("/home/u/.local/share".into()),
        );
        assert_eq!(
            blank, found,
            "an empty ORT_DYLIB_PATH is looked up as if unset"
        );
    }

    #[test]
    fn a_loaded_runtime_is_not_looked_up_again() {
        environment().expect("ONNX Runtime loads (make setup installs it)");
        let again = environment_from(|| Err(Error::RuntimeMissing { tried: Vec::new() }));
        assert!(
            again.is_ok(),
            "the loaded runtime is used, not looked for: {again:?}"
        );
    }
}
