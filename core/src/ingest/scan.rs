//! Walking photo folders: which files are candidates, and their size and modification time.
//!
//! Candidates are chosen by extension (any case); the decoder then trusts only the magic bytes.
//! Hidden entries and system folders are skipped. Symbolic links are followed only while their
//! targets stay inside the library's folders (a link out of them could put any file the user can
//! read into the catalog and the app's thumbnails); loops are detected.
//!
//! A walk also says what it could *not* see: the parts the disk refused to read (an I/O error, a
//! permission, a network share gone) and the mount points it passed, with their device. The
//! indexing run uses both to tell a drive that is away from photos that are gone.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::UNIX_EPOCH;

use walkdir::WalkDir;

use crate::store::catalog::Stamp;

/// Extensions of formats we decode (the content decides the format; these pick candidates).
const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "bmp", "dib", "tif", "tiff", "heic",
    "heif", "hif", "avif", "jxl",
];

/// Extensions of camera RAW files (indexed by their embedded preview).
const RAW_EXTENSIONS: &[&str] = &[
    "dng", "cr2", "cr3", "nef", "nrw", "arw", "srf", "sr2", "orf", "rw2", "raf", "pef", "srw",
    "erf", "kdc", "dcr", "mrw", "mos", "iiq", "3fr", "mef",
];

/// Folders that hold system files or other programs' caches, never photos to search.
const SYSTEM_FOLDERS: &[&str] = &[
    "$RECYCLE.BIN",
    "System Volume Information",
    "lost+found",
    "@eaDir",
    "#recycle",
    "__MACOSX",
    "node_modules",
];

/// What a candidate file is, judged by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    /// A camera RAW (a JPEG of the same name beside it is its twin).
    Raw,
}

#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    pub stamp: Stamp,
}

/// The candidates under one root, and what could not be used.
#[derive(Debug, Default)]
pub struct Walk {
    pub found: Vec<Found>,
    /// Entries not used, with why (a link out of the library, a loop, a folder or file the disk
    /// would not read): listed for the user.
    pub errors: Vec<(PathBuf, String)>,
    /// Of those, the ones the disk refused (not the library's rules): what is catalogued there is
    /// not known to be gone.
    pub unreadable: Vec<(PathBuf, String)>,
    /// Folders inside the root that are mount points (on another device than their parent),
    /// with their device.
    pub mounts: Vec<(PathBuf, u64)>,
    /// The root holds no entry at all (what an empty mount point looks like).
    pub empty: bool,
    /// Walked to the end (not stopped by a cancel).
    pub complete: bool,
}

/// The device a library folder is on now, or why it cannot be read at all.
pub fn probe(root: &Path) -> Result<u64, String> {
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_dir() => Ok(meta.dev()),
        Ok(_) => Err("is no longer a folder".into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err("missing (an unplugged drive?)".into())
        }
        Err(e) => Err(format!("unreadable: {e}")),
    }
}

/// Classify a file name; `None` when it is not a photo at all.
pub fn kind_of(path: &Path) -> Option<Kind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    if IMAGE_EXTENSIONS.contains(&ext.as_str()) {
        Some(Kind::Image)
    } else if RAW_EXTENSIONS.contains(&ext.as_str()) {
        Some(Kind::Raw)
    } else {
        None
    }
}

pub(crate) fn skipped_dir(name: &std::ffi::OsStr) -> bool {
    let bytes = name.as_encoded_bytes();
    bytes.first() == Some(&b'.') || SYSTEM_FOLDERS.iter().any(|s| s.as_bytes() == bytes)
}

/// Why a link is not followed, or `None` when its target lies inside one of `folders`
/// (canonical paths, as the catalog stores them).
pub fn link_outside(link: &Path, folders: &[PathBuf]) -> Option<String> {
    match std::fs::canonicalize(link) {
        Ok(target) if folders.iter().any(|f| target.starts_with(f)) => None,
        Ok(target) => Some(format!(
            "link to {} is outside the library's folders (add that folder to include it)",
            target.display()
        )),
        Err(e) => Some(format!("broken link: {e}")),
    }
}

/// Every candidate under `root` (one of `folders`), stopping early when `cancel` is set. A folder
/// of the library inside `root` is left to its own walk, so each file is found once, under the
/// innermost library folder holding it.
pub fn walk(root: &Path, folders: &[PathBuf], cancel: &AtomicBool) -> Walk {
    let mut out = Walk {
        empty: true,
        ..Walk::default()
    };
    // The device of each folder walked, to find the mount points among them.
    let mut devices: HashMap<PathBuf, u64> = HashMap::new();
    // In name order: ids are given in the order files are found, and "the first copy found" of
    // identical files must not depend on the order the file system lists them.
    let mut entries = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !(skipped_dir(e.file_name())
                    || e.file_type().is_dir() && folders.iter().any(|f| f == e.path()))
        });
    while let Some(entry) = entries.next() {
        if cancel.load(Ordering::Relaxed) {
            return out;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                if e.loop_ancestor().is_some() {
                    out.errors.push((path, "symbolic link loop".into()));
                } else {
                    let reason = format!("unreadable: {e}");
                    out.unreadable.push((path.clone(), reason.clone()));
                    out.errors.push((path, reason));
                }
                continue;
            }
        };
        if entry.depth() > 0 {
            out.empty = false;
        }
        if entry.path_is_symlink()
            && let Some(why) = link_outside(entry.path(), folders)
        {
            if entry.file_type().is_dir() {
                entries.skip_current_dir();
            }
            out.errors.push((entry.into_path(), why));
            continue;
        }
        if entry.file_type().is_dir() {
            if let Ok(meta) = entry.metadata() {
                let parent = entry.path().parent().and_then(|p| devices.get(p));
                if parent.is_some_and(|&d| d != meta.dev()) {
                    out.mounts.push((entry.path().to_path_buf(), meta.dev()));
                }
                devices.insert(entry.path().to_path_buf(), meta.dev());
            }
            continue;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        if kind_of(entry.path()).is_none() {
            continue;
        }
        match entry.metadata() {
            Ok(meta) => {
                let mtime_ns = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos() as i64);
                out.found.push(Found {
                    path: entry.into_path(),
                    stamp: Stamp {
                        size: meta.len(),
                        mtime_ns,
                    },
                });
            }
            Err(e) => {
                let reason = format!("unreadable: {e}");
                out.unreadable
                    .push((entry.path().to_path_buf(), reason.clone()));
                out.errors.push((entry.into_path(), reason));
            }
        }
    }
    out.complete = true;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_extension_in_any_case() {
        assert_eq!(kind_of(Path::new("a/B.JPG")), Some(Kind::Image));
        assert_eq!(kind_of(Path::new("x.TiFf")), Some(Kind::Image));
        assert_eq!(kind_of(Path::new("IMG_1.HEIC")), Some(Kind::Image));
        assert_eq!(kind_of(Path::new("photo.avif")), Some(Kind::Image));
        assert_eq!(kind_of(Path::new("raw.nef")), Some(Kind::Raw));
        assert_eq!(kind_of(Path::new("DSC_1.CR3")), Some(Kind::Raw));
        assert_eq!(kind_of(Path::new("notes.txt")), None);
        assert_eq!(kind_of(Path::new("jpg")), None);
    }

    #[test]
    fn skips_hidden_and_system_folders_and_survives_loops() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for d in ["a", ".hidden", "@eaDir", "a/b"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        for f in [
            "a/1.jpg",
            ".hidden/2.jpg",
            "@eaDir/3.jpg",
            "a/b/4.PNG",
            "a/b/readme.txt",
        ] {
            std::fs::write(root.join(f), b"x").expect("write");
        }
        std::os::unix::fs::symlink(root.join("a"), root.join("a/b/loop")).expect("symlink");
        let walk = walk(root, &[root.to_path_buf()], &AtomicBool::new(false));
        let mut names: Vec<_> = walk
            .found
            .iter()
            .map(|f| f.path.strip_prefix(root).expect("under root").to_path_buf())
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec![PathBuf::from("a/1.jpg"), PathBuf::from("a/b/4.PNG")]
        );
        assert!(
            walk.errors
                .iter()
                .any(|(_, why)| why == "symbolic link loop"),
            "{:?}",
            walk.errors
        );
        // `a/b` is a library folder of its own: its files belong to its walk, not its parent's.
        let nested = [root.to_path_buf(), root.join("a/b")];
        let outer = super::walk(root, &nested, &AtomicBool::new(false));
        let inner = super::walk(&root.join("a/b"), &nested, &AtomicBool::new(false));
        let names = |w: &Walk| -> Vec<PathBuf> {
            let mut v: Vec<_> = w.found.iter().map(|f| f.path.clone()).collect();
            v.sort();
            v
        };
        assert_eq!(names(&outer), vec![root.join("a/1.jpg")]);
        assert_eq!(names(&inner), vec![root.join("a/b/4.PNG")]);
    }
}
