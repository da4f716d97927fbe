//! The one way to a catalogued photo's file, by id: previews, thumbnails, and (through
//! [`Library::original`]) copying, trashing, opening, showing in a folder and dragging out. A
//! file now linked out of the library's folders is refused; one on a drive that is not connected
//! is [`Error::Offline`], and its preview is its thumbnail.

use std::path::{Path, PathBuf};

use crate::ingest::{decode, thumbnail};
use crate::library::Library;
use crate::store::catalog::{ImageRow, TextLine};
use crate::{Error, Result};

impl Library {
    /// The catalogued image at `path` (as the catalog stores it: absolute, canonical).
    pub fn image_at(&self, path: &Path) -> Result<Option<ImageRow>> {
        self.catalog().image_by_path(path)
    }

    /// The catalogued image `id`, or [`Error::UnknownImage`].
    pub fn image(&self, id: i64) -> Result<ImageRow> {
        self.catalog().image(id)?.ok_or(Error::UnknownImage { id })
    }

    /// The words read in catalogued image `id`, in reading order: `None` while they have not
    /// been read (the reading stage has not come to it, or no OCR models are installed), empty
    /// when it holds no text.
    pub fn words(&self, id: i64) -> Result<Option<Vec<TextLine>>> {
        let row = self.image(id)?;
        self.catalog().lines_of(&row.hash)
    }

    /// The words in any image file, read now, without the glance the reading stage takes first
    /// (a photo not in the library, say). [`Error::ModelMissing`] when no OCR models are
    /// installed.
    pub fn read_words_in_file(&self, path: &Path) -> Result<Vec<TextLine>> {
        use crate::ingest::words::{self, Effort, Reader};
        let dir = words::locate().ok_or_else(|| Error::ModelMissing {
            dir: words::locations().into_iter().next().unwrap_or_default(),
        })?;
        let reader = Reader::open(&dir, self.options.threads)?;
        let bytes = decode::read_capped(path, self.options.max_file_bytes).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let image = decode::decode_to_fit(&bytes, Effort::PRODUCT_FIT, self.options.max_pixels)
            .map_err(|e| Error::Io {
                path: path.to_path_buf(),
                reason: e.0,
            })?;
        let full = Effort {
            gate_side: 0,
            ..Effort::PRODUCT
        };
        let lines = reader.read(&image, &full)?;
        Ok(crate::ingest::words::stored(&lines, image.dimensions()))
    }

    /// The JPEG thumbnail of catalogued image `id`, made from the original file if it is missing
    /// (a library indexed before thumbnails existed, or a thumbnail that could not be written).
    pub fn thumbnail(&self, id: i64) -> Result<Vec<u8>> {
        let row = self.image(id)?;
        if let Ok(bytes) = std::fs::read(thumbnail::path(&self.dir, &row.hash)) {
            return Ok(bytes);
        }
        let image = self.read_upright(id, thumbnail::BOX)?;
        thumbnail::store(&self.dir, &row.hash, &image)
    }

    /// Catalogued image `id`, upright and scaled to fit in `max_side`×`max_side`, as JPEG. An
    /// offline photo is shown by its thumbnail (the original is not there to read).
    pub fn preview(&self, id: i64, max_side: u32) -> Result<Vec<u8>> {
        let row = self.image(id)?;
        let image = match self.read_upright(id, max_side) {
            Err(Error::Offline { path, reason }) => {
                return std::fs::read(thumbnail::path(&self.dir, &row.hash))
                    .map_err(|_| Error::Offline { path, reason });
            }
            read => read?,
        };
        thumbnail::jpeg(&image, 90).map_err(|e| Error::Io {
            path: row.path,
            reason: e.to_string(),
        })
    }

    fn read_upright(&self, id: i64, max_side: u32) -> Result<image::RgbImage> {
        let path = self.original(id)?;
        let bytes = self.read_file(&path)?;
        decode::decode_to_fit(&bytes, max_side, self.options.max_pixels).map_err(|e| Error::Io {
            path: path.clone(),
            reason: e.0,
        })
    }

    /// A file's bytes, refused unread over the size limit.
    pub(crate) fn read_file(&self, path: &Path) -> Result<Vec<u8>> {
        decode::read_capped(path, self.options.max_file_bytes).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// The file of catalogued image `id`, as it resolves now: every access to a photo by id goes
    /// through here (previews, thumbnails, copies, opening, showing in a folder, dragging out).
    /// Refused when the file now resolves outside the library's folders (replaced by a link since
    /// it was indexed: the app shows catalogued photos and nothing else), and
    /// [`Error::Offline`] when it lies in a part of a folder that is not there now.
    pub fn original(&self, id: i64) -> Result<PathBuf> {
        let row = self.image(id)?;
        let refuse = |reason: String| Error::Io {
            path: row.path.clone(),
            reason,
        };
        let real = match std::fs::canonicalize(&row.path) {
            Ok(real) => real,
            Err(e) => {
                let parts = self.offline_parts()?;
                if let Some(part) = parts.into_iter().find(|p| row.path.starts_with(&p.path)) {
                    return Err(Error::Offline {
                        path: row.path.clone(),
                        reason: part.reason,
                    });
                }
                let folder = self.folders()?.into_iter().find(|f| f.id == row.folder_id);
                if let Some(Err(reason)) = folder.map(|f| crate::ingest::scan::probe(&f.path)) {
                    return Err(Error::Offline {
                        path: row.path.clone(),
                        reason,
                    });
                }
                return Err(refuse(format!("{e}; re-scan to update the library")));
            }
        };
        if self.folders()?.iter().any(|f| real.starts_with(&f.path)) {
            Ok(real)
        } else {
            Err(refuse(format!(
                "now leads to {}, outside the library's folders; not shown",
                real.display()
            )))
        }
    }
}
