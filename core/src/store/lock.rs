//! One writer per library across processes (the app and the CLI may share a library). SQLite
//! already keeps each commit atomic; this lock keeps whole runs apart, so two indexers never race
//! to insert the same file and neither saves a vector index that misses the other's images.
//! Readers never take it. The lock is an advisory `flock` on `<library>/write.lock`: the kernel
//! drops it when its holder exits, even by SIGKILL, so a crash never leaves a library locked.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::{Error, Result};

pub const LOCK_FILE: &str = "write.lock";

/// Held while a process changes the library; released on drop.
#[derive(Debug)]
pub struct WriteLock {
    _file: File,
}

/// Who holds the lock, as its holder wrote it: "another ClipStream process (clipstream, pid 1234)".
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.read_to_string(&mut text);
    match text.trim() {
        "" => "another ClipStream process".to_string(),
        who => format!("another ClipStream process ({who})"),
    }
}

fn open(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::Io {
            path,
            reason: e.to_string(),
        })
}

fn claimed(mut file: File) -> WriteLock {
    // Say who we are, for the message another process shows while it waits.
    let me = std::env::args()
        .next()
        .and_then(|a| {
            Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let _ = file.set_len(0);
    let _ = write!(file, "{me}, pid {}", std::process::id());
    WriteLock { _file: file }
}

/// Take the lock now, or say who has it.
pub fn try_acquire(dir: &Path) -> Result<WriteLock> {
    let mut file = open(dir)?;
    match file.try_lock() {
        Ok(()) => Ok(claimed(file)),
        Err(TryLockError::WouldBlock) => Err(Error::Busy {
            holder: holder(&mut file),
        }),
        Err(TryLockError::Error(e)) => Err(Error::Io {
            path: dir.join(LOCK_FILE),
            reason: e.to_string(),
        }),
    }
}

/// Take the lock, waiting while another process holds it: `on_wait` is told who, once.
/// Returns `None` if `cancel` is set while waiting.
pub fn acquire(
    dir: &Path,
    cancel: &AtomicBool,
    on_wait: &mut dyn FnMut(&str),
) -> Result<Option<WriteLock>> {
    let mut told = false;
    loop {
        match try_acquire(dir) {
            Ok(lock) => return Ok(Some(lock)),
            Err(Error::Busy { holder }) => {
                if !told {
                    on_wait(&holder);
                    told = true;
                }
            }
            Err(e) => return Err(e),
        }
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_told_who_has_it_until_the_first_lets_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = try_acquire(dir.path()).expect("free");
        let Err(Error::Busy { holder }) = try_acquire(dir.path()) else {
            panic!("a second lock on the same library was granted");
        };
        assert!(
            holder.contains(&format!("pid {}", std::process::id())),
            "{holder}"
        );
        let cancel = AtomicBool::new(true);
        let mut waited = None;
        let got = acquire(dir.path(), &cancel, &mut |who| {
            waited = Some(who.to_string())
        })
        .expect("no error");
        assert!(got.is_none(), "cancelled while waiting");
        assert_eq!(waited.as_deref(), Some(holder.as_str()));
        drop(first);
        try_acquire(dir.path()).expect("free again");
    }
}
