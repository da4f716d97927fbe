//! What a person does with photos they chose: copy them to a folder, move them to the desktop's
//! trash (never a permanent delete; the library forgets them at once).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::store::catalog::{Batch, ImageRow};
use crate::library::Library;
use crate::store::lock;
use crate::{Error, Result};

/// What [`Library::trash`] did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Trashed {
    /// Moved to the trash and forgotten by the library.
    pub ids: Vec<i64>,
    /// Images that could not be moved (they stay, in the library too), with why.
    pub failed: Vec<(i64, String)>,
}

impl Library {
    /// Move the catalogued images `ids` to the desktop's trash (never a permanent delete) and
    /// forget them at once. Refused as busy while an indexing run writes. One that cannot be moved
    /// stays on disk and in the library, reported in [`Trashed::failed`].
    pub fn trash(&self, ids: &[i64]) -> Result<Trashed> {
        let slot = self.writer_slot_now()?;
        let _writer = lock::try_acquire(self.dir())?;
        self.refresh_for_writer(&slot)?;
        let rows: Vec<ImageRow> = ids
            .iter()
            .map(|&id| self.image(id))
            .collect::<Result<_>>()?;
        let mut done = Trashed::default();
        for row in rows {
            // Only a photo that is still what was catalogued, where it was (not a link out, not
            // on a drive that is away).
            if let Err(e) = self.original(row.id) {
                done.failed.push((row.id, e.to_string()));
                continue;
            }
            match trash::delete(&row.path) {
                Ok(()) => done.ids.push(row.id),
                Err(e) => done.failed.push((row.id, e.to_string())),
            }
        }
        if done.ids.is_empty() {
            return Ok(done);
        }
        let batch = Batch {
            delete_images: done.ids.clone(),
            ..Batch::default()
        };
        let changes = self.catalog().apply(&batch)?;
        self.after_removal(&changes)?;
        Ok(done)
    }

    /// Copy the catalogued images `ids` into `destination` (a folder that exists), never
    /// overwriting: a name already taken there gets " (2)", " (3)"… before its extension.
    /// Returns where each went, in order. The library is not changed (a destination inside a
    /// library folder is picked up by the next run, as copies).
    pub fn copy_images(&self, ids: &[i64], destination: &Path) -> Result<Vec<PathBuf>> {
        if !destination.is_dir() {
            return Err(Error::Io {
                path: destination.to_path_buf(),
                reason: "is not a folder".into(),
            });
        }
        let sources: Vec<PathBuf> = ids
            .iter()
            .map(|&id| self.original(id))
            .collect::<Result<_>>()?;
        let mut out = Vec::with_capacity(sources.len());
        for source in sources {
            let target = free_name(destination, &source);
            // Fails rather than replaces if the name was taken meanwhile (create_new).
            let copied = std::fs::File::create_new(&target).and_then(|mut to| {
                let mut from = std::fs::File::open(&source)?;
                std::io::copy(&mut from, &mut to)
            });
            copied.map_err(|e| Error::Io {
                path: target.clone(),
                reason: format!("cannot copy {} there: {e}", source.display()),
            })?;
            out.push(target);
        }
        Ok(out)
    }
}

/// `folder/<name of source>`, or with " (n)" before the extension if that is taken.
fn free_name(folder: &Path, source: &Path) -> PathBuf {
    let name = source
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| "photo".into());
    let first = folder.join(&name);
    if !first.exists() {
        return first;
    }
    let stem = name
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let ext = name
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (2..)
        .map(|n| folder.join(format!("{stem} ({n}){ext}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}
