//! The decoding journal: which files the decoders are working on, so that a decoder that crashes
//! the process (a C library's segfault or abort, which no `catch_unwind` can stop) costs one file,
//! not every run after it.
//!
//! Each decoding thread notes the file it reads in `<library>/decoding/<slot>` and removes the
//! note when done. A note still there when the next run starts names a file that was being
//! decoded when the process died. A death is no verdict (a kill leaves the same notes), so that
//! run decodes such suspects first, each in a child process ([`crate::ingest::probe`]): a file whose child
//! dies of a crash signal is skipped with a reason, and tried again only when it changes; one
//! that decodes fine was innocent and is indexed as usual. While a suspect is being judged it
//! keeps a note of its own, so a kill then leaves it a suspect.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::store::catalog::Stamp;

pub const FOLDER: &str = "decoding";
/// The reading stage's notes ([`crate::ingest::reading`]): the photo whose words are being read.
pub const READING_FOLDER: &str = "reading";

/// A file a decoder was working on when the process died.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub path: PathBuf,
    pub stamp: Stamp,
}

pub struct Journal {
    dir: PathBuf,
}

/// A file being decoded; its note goes when this is dropped.
pub struct Note {
    file: PathBuf,
}

impl Note {
    /// Leave the note in place: the file stays a suspect for the next run.
    pub fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for Note {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

impl Journal {
    pub fn new(library: &Path) -> Self {
        Self {
            dir: library.join(FOLDER),
        }
    }

    /// The journal of the reading stage (OCR), apart from the decoders'.
    pub fn reading(library: &Path) -> Self {
        Self {
            dir: library.join(READING_FOLDER),
        }
    }

    /// The notes a dead run left, removed as they are read (the caller records what they say).
    pub fn take_leftovers(&self) -> Vec<Leftover> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            if let Ok(bytes) = std::fs::read(entry.path())
                && let Some((stamp, path)) = parse(&bytes)
            {
                out.push(Leftover { path, stamp });
            }
            let _ = std::fs::remove_file(entry.path());
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out.dedup();
        out
    }

    /// Note that decoding thread `slot` reads `path` now (a failure to write the note only loses
    /// the protection, never the file).
    pub fn begin(&self, slot: usize, path: &Path, stamp: Stamp) -> Note {
        self.write(&slot.to_string(), path, stamp)
    }

    /// Note that suspect number `n` (from a run that died) is being judged.
    pub fn begin_suspect(&self, n: usize, path: &Path, stamp: Stamp) -> Note {
        self.write(&format!("suspect-{n}"), path, stamp)
    }

    fn write(&self, slot: &str, path: &Path, stamp: Stamp) -> Note {
        let file = self.dir.join(slot);
        let mut bytes = format!("{} {}\n", stamp.size, stamp.mtime_ns).into_bytes();
        bytes.extend_from_slice(path.as_os_str().as_bytes());
        let _ = std::fs::create_dir_all(&self.dir).and_then(|()| std::fs::write(&file, bytes));
        Note { file }
    }
}

/// `"<size> <mtime_ns>\n<path bytes>"`.
fn parse(bytes: &[u8]) -> Option<(Stamp, PathBuf)> {
    let newline = bytes.iter().position(|&b| b == b'\n')?;
    let head = std::str::from_utf8(&bytes[..newline]).ok()?;
    let (size, mtime) = head.split_once(' ')?;
    let stamp = Stamp {
        size: size.parse().ok()?,
        mtime_ns: mtime.parse().ok()?,
    };
    let path = PathBuf::from(OsStr::from_bytes(&bytes[newline + 1..]));
    (!path.as_os_str().is_empty()).then_some((stamp, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_left_behind_name_their_files_and_a_finished_note_is_gone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let journal = Journal::new(dir.path());
        let stamp = Stamp {
            size: 10,
            mtime_ns: 7,
        };
        let odd = Path::new(OsStr::from_bytes(b"/photos/caf\xe9 1.heic"));
        drop(journal.begin(0, Path::new("/photos/done.heic"), stamp));
        let crashed = journal.begin(1, odd, stamp);
        let judged = journal.begin_suspect(0, Path::new("/photos/bad.heic"), stamp);
        // The process dies here: the notes stay.
        std::mem::forget(crashed);
        judged.keep();
        let left = journal.take_leftovers();
        assert_eq!(
            left,
            vec![
                Leftover {
                    path: "/photos/bad.heic".into(),
                    stamp,
                },
                Leftover {
                    path: odd.to_path_buf(),
                    stamp,
                },
            ]
        );
        assert!(journal.take_leftovers().is_empty(), "read once");
    }
}
