//! Reading the words in photos: the stage after the embeddings. A photo is searchable by its
//! meaning as soon as its embedding is committed; this stage then reads the text in each content
//! not read yet ([`crate::ingest::words`]), oldest first, and commits its lines every few photos,
//! so a photo is found by its words as soon as they are read. It holds no writer lock: indexing,
//! adding or removing a folder go on beside it (each commit checks that the content is still
//! catalogued), and [`Library::pause_words`] stops it between two photos. Resumable: what was
//! read is kept by content, so a stopped or killed pass goes on where it was.
//!
//! A crash in the OCR (ONNX Runtime, a C decoder at the larger size this stage decodes at) costs
//! one file: the photo being read is noted in `<library>/reading/`, and a note left by a dead
//! process is judged in a child process, as the decoders' are ([`crate::ingest::probe`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use serde::Serialize;

use crate::ingest::decode;
use crate::ingest::journal::Journal;
use crate::ingest::probe;
use crate::ingest::run::{Phase, Progress};
use crate::ingest::words::{self, GLANCE, Glance, Reader};
use crate::library::{Library, WordsHandOver};
use crate::store::catalog::{Catalog, DATABASE, TextLine, Unread};
use crate::{Error, Result};

/// What a pass over the unread photos did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WordsReport {
    /// The models' folder, or `None` when no OCR models are installed (nothing was read).
    pub models: Option<PathBuf>,
    /// Photos read this pass, and how many of them hold text.
    pub read: u64,
    pub with_text: u64,
    /// Photos the reader failed on (recorded: not read again until their bytes change).
    pub failed: u64,
    /// Photos left to read (stopped, cancelled, or paused for other work).
    pub left: u64,
    pub seconds: f64,
}

/// Photos whose lines are committed together.
const COMMIT_EVERY: usize = 8;
/// Photos listed from the catalog at a time.
const PAGE: usize = 64;

/// A photo ready to read: its bytes and its glance, or why there are none.
struct Fetched {
    unread: Unread,
    photo: std::result::Result<(Vec<u8>, Glance), Unreadable>,
}

enum Unreadable {
    /// Gone or changed since it was catalogued: the next indexing run sees to it.
    Later,
    /// The decoder refused it: recorded as failed.
    Failed,
}

impl Library {
    /// Read the words in every catalogued photo not read yet. Returns at once (with `models:
    /// None`) when no OCR models are installed.
    pub fn read_words(
        &self,
        on_progress: &mut (dyn FnMut(&Progress) + Send),
        cancel: &AtomicBool,
    ) -> Result<WordsReport> {
        self.words_paused.store(false, Ordering::SeqCst);
        let Some(models) = words::locate() else {
            return Ok(WordsReport::default());
        };
        if !self.options.background {
            return self.read_words_from(&models, on_progress, cancel);
        }
        // At low priority, as indexing runs (see `Library::index`).
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    crate::library::lower_priority();
                    self.read_words_from(&models, on_progress, cancel)
                })
                .join()
                .unwrap_or_else(|_| Err(Error::Internal("the reading thread panicked".into())))
        })
    }

    /// Stop a pass of [`Library::read_words`] after the photo it is reading (its lines are kept):
    /// other work wants the machine.
    pub fn pause_words(&self) {
        self.words_paused.store(true, Ordering::SeqCst);
    }

    fn read_words_from(
        &self,
        models: &Path,
        on_progress: &mut (dyn FnMut(&Progress) + Send),
        cancel: &AtomicBool,
    ) -> Result<WordsReport> {
        let started = Instant::now();
        let mut writer = Catalog::open(&self.dir.join(DATABASE))?;
        writer.forget_orphan_words()?;
        // The models the indexing run loaded, if it did (taken: they go when the pass ends), and
        // the photos its glance found text in.
        let WordsHandOver { reader, found_text } = self.take_words_hand_over();
        let reader = match reader.filter(|r| r.dir() == models) {
            Some(reader) => reader,
            None => Arc::new(Reader::open(models, self.options.threads)?),
        };
        let name = reader.name();
        let mut report = WordsReport {
            models: Some(models.to_path_buf()),
            ..WordsReport::default()
        };
        self.judge_reading_suspects(&mut writer, models, &name, &mut report)?;
        let (read_before, total) = writer.words_progress()?;
        let mut progress = Progress {
            phase: Phase::ReadingWords,
            found: total,
            to_process: total.saturating_sub(read_before),
            done: 0,
            skipped: 0,
            images_per_s: 0.0,
            eta_s: None,
            waiting_for: None,
        };
        on_progress(&progress);
        let stop = || cancel.load(Ordering::Relaxed) || self.words_paused.load(Ordering::Relaxed);
        let journal = &Journal::reading(&self.dir);
        let dir = self.dir.clone();
        let max_pixels = self.options.max_pixels;
        let max_file_bytes = self.options.max_file_bytes;
        let (tx, rx) = bounded::<Fetched>(2);
        let mut pending: Vec<([u8; 32], Option<Vec<TextLine>>)> = Vec::new();
        let mut last_commit = Instant::now();
        let reading_started = Instant::now();
        std::thread::scope(|scope| -> Result<()> {
            // Dropped on every way out of here, so the lister never waits on a full channel.
            let rx = rx;
            // Lists the unread photos, reads and glances at the next while the models read this
            // one.
            scope.spawn(move || {
                let Ok(catalog) = Catalog::open(&dir.join(DATABASE)) else {
                    return;
                };
                let mut seen: HashSet<[u8; 32]> = HashSet::new();
                let mut after = 0;
                loop {
                    let Ok(page) = catalog.words_unread(after, PAGE) else {
                        return;
                    };
                    let Some(last) = page.last() else {
                        return;
                    };
                    after = last.id;
                    for unread in page {
                        if !seen.insert(unread.hash) {
                            continue; // a copy of a content already on its way
                        }
                        if stop() {
                            return;
                        }
                        // Decoding is C code too (libheif): noted while it runs.
                        let note = journal.begin(1, &unread.path, Default::default());
                        let glanced = found_text.contains(&unread.hash);
                        let photo = fetch(&unread, glanced, max_pixels, max_file_bytes);
                        drop(note);
                        if tx.send(Fetched { unread, photo }).is_err() {
                            return;
                        }
                    }
                }
            });
            for Fetched { unread, photo } in rx.iter() {
                let lines = match photo {
                    Err(Unreadable::Later) => None,
                    Err(Unreadable::Failed) => Some(None),
                    Ok((bytes, glance)) => {
                        let note = journal.begin(0, &unread.path, Default::default());
                        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            words::read_photo(&reader, &bytes, glance, max_pixels)
                        }));
                        drop(note);
                        match read {
                            Ok(Ok(Ok(lines))) => Some(Some(lines)),
                            Ok(Ok(Err(_not_decoded))) => Some(None),
                            Ok(Err(e)) => return Err(e),
                            Err(_panicked) => Some(None),
                        }
                    }
                };
                progress.done += 1;
                if let Some(lines) = lines {
                    match &lines {
                        Some(l) => {
                            report.read += 1;
                            report.with_text += u64::from(!l.is_empty());
                        }
                        None => report.failed += 1,
                    }
                    pending.push((unread.hash, lines));
                }
                if pending.len() >= COMMIT_EVERY || last_commit.elapsed() > Duration::from_secs(2) {
                    writer.store_words(&name, &std::mem::take(&mut pending))?;
                    last_commit = Instant::now();
                }
                let secs = reading_started.elapsed().as_secs_f64();
                progress.images_per_s = progress.done as f64 / secs.max(1e-9);
                progress.eta_s = Some(
                    progress.to_process.saturating_sub(progress.done) as f64
                        / progress.images_per_s.max(1e-9),
                );
                on_progress(&progress);
                if stop() {
                    break;
                }
            }
            Ok(())
        })?;
        writer.store_words(&name, &pending)?;
        let (read_after, total) = writer.words_progress()?;
        report.left = total.saturating_sub(read_after);
        report.seconds = started.elapsed().as_secs_f64();
        drop(reader);
        crate::memory::trim();
        progress.phase = Phase::Done;
        progress.eta_s = Some(0.0);
        on_progress(&progress);
        Ok(report)
    }

    /// Photos being read when a process died: each is read again in a child process first, and
    /// recorded as failed only when that child crashes too.
    fn judge_reading_suspects(
        &self,
        writer: &mut Catalog,
        models: &Path,
        name: &str,
        report: &mut WordsReport,
    ) -> Result<()> {
        let journal = Journal::reading(&self.dir);
        for (n, left) in journal.take_leftovers().into_iter().enumerate() {
            let Some((hash, _)) = writer.hash_of_path(&left.path)? else {
                continue;
            };
            let note = journal.begin_suspect(n, &left.path, left.stamp);
            let limits = probe::Limits {
                short_side: 0,
                max_pixels: self.options.max_pixels,
                max_file_bytes: self.options.max_file_bytes,
            };
            match probe::read_words_in_child(&left.path, models, &limits) {
                probe::Verdict::Crashed(_) => {
                    drop(note);
                    writer.store_words(name, &[(hash, None)])?;
                    report.failed += 1;
                }
                probe::Verdict::Clean => drop(note),
                probe::Verdict::Unknown(_) => note.keep(),
            }
        }
        Ok(())
    }
}

/// The photo's bytes, if they are still the content the catalog has, and its glance (decoded
/// here unless the indexing run's glance found text already).
fn fetch(
    unread: &Unread,
    glanced: bool,
    max_pixels: u64,
    max_file_bytes: u64,
) -> std::result::Result<(Vec<u8>, Glance), Unreadable> {
    let bytes = decode::read_capped(&unread.path, max_file_bytes).map_err(|_| Unreadable::Later)?;
    if <[u8; 32]>::from(blake3::hash(&bytes)) != unread.hash {
        return Err(Unreadable::Later);
    }
    if glanced {
        return Ok((bytes, Glance::FoundText));
    }
    let glance = std::panic::catch_unwind(|| decode::decode_to_fit(&bytes, GLANCE, max_pixels))
        .map_err(|_| Unreadable::Failed)?
        .map_err(|_| Unreadable::Failed)?;
    Ok((bytes, Glance::Decoded(glance)))
}
