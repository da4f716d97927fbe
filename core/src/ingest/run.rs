//! Indexing a library's folders, in phases around one [`Run`]: discover (walk and compare with
//! the catalog) → read and hash → decode → embed → commit, then finish (what vanished is
//! deleted, the vector index saved). Decoding runs on worker threads while the model encodes the
//! previous batch; channels are bounded, so memory stays bounded whatever the folder size. Each
//! batch is one catalog transaction: a crash loses at most the batch in flight, and the next run
//! resumes from there. After each commit, memory reads the rows it changed back from the catalog
//! ([`Library::absorb`]); nothing here edits what searches read.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use serde::Serialize;

use crate::store::catalog::{Batch, Catalog, DATABASE, Known, NewImage, Stamp};
use crate::ingest::decode::{self, Format};
use crate::model::encoders;
use crate::ingest::journal::Journal;
use crate::library::Library;
use crate::store::lock;
use crate::model::Preprocess;
use crate::ingest::offline::{self, Judgement};
use crate::ingest::probe;
use crate::ingest::scan;
use crate::ingest::thumbnail;
use crate::ingest::words::{self, Reader};
use crate::store::vindex::VectorIndex;
use image::RgbImage;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Another process is changing this library; `Progress::waiting_for` says which.
    Waiting,
    Discovering,
    Indexing,
    /// Reading the words in photos ([`crate::ingest::reading`]): `found` is the contents
    /// catalogued, `to_process` those unread when the pass began, `done` those read since.
    ReadingWords,
    Done,
}

/// Progress of a run, reported through the callback after every batch.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub phase: Phase,
    /// Candidate files found so far.
    pub found: u64,
    /// Files that need reading this run (new or changed).
    pub to_process: u64,
    /// Of those, how many are finished (indexed, moved, or skipped).
    pub done: u64,
    /// Files skipped this run, with a reason recorded in the catalog.
    pub skipped: u64,
    pub images_per_s: f64,
    pub eta_s: Option<f64>,
    /// While waiting: who holds the library ("another ClipStream process (clipstream, pid 12)").
    pub waiting_for: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub found: u64,
    pub unchanged: u64,
    pub added: u64,
    pub updated: u64,
    pub moved: u64,
    pub copied: u64,
    pub removed: u64,
    /// Skipped this run (new reasons), and all currently skipped files.
    pub skipped: u64,
    pub skipped_total: u64,
    /// Parts of folders that could not be walked (missing, not mounted, unreadable), with why:
    /// their photos are kept, offline.
    pub offline: Vec<(PathBuf, String)>,
    /// Files the disk would not read this run (an I/O error: a drive going away?): kept as they
    /// were, and read again by the next run.
    pub not_read: u64,
    pub cancelled: bool,
    /// Why no glance for text was taken (the OCR models would not load), if so.
    pub words_error: Option<String>,
    pub seconds: f64,
    /// Where the time went.
    pub stages: Stages,
}

/// Seconds spent in each stage of a run, summed over the threads that ran it (so they may add up
/// to more than the run's wall time). Read, hash, decode (pixels, resize, orientation, EXIF),
/// thumbnail (encode and write) and preprocess run on the decode workers; model and commit on
/// the run's own thread.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stages {
    pub read: f64,
    pub hash: f64,
    pub decode: f64,
    pub thumbnail: f64,
    pub preprocess: f64,
    pub model: f64,
    pub commit: f64,
    /// The OCR's glance for text in each new photo (after its commit).
    pub glance: f64,
}

/// [`Stages`] as the threads add to them.
#[derive(Default)]
struct Clock {
    read: AtomicU64,
    hash: AtomicU64,
    decode: AtomicU64,
    thumbnail: AtomicU64,
    preprocess: AtomicU64,
}

impl Clock {
    /// Run `work`, adding its duration to `stage`.
    fn time<T>(stage: &AtomicU64, work: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = work();
        stage.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        out
    }

    fn add_to(&self, stages: &mut Stages) {
        let s = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / 1e9;
        stages.read += s(&self.read);
        stages.hash += s(&self.hash);
        stages.decode += s(&self.decode);
        stages.thumbnail += s(&self.thumbnail);
        stages.preprocess += s(&self.preprocess);
    }
}

struct Job {
    /// The order the walk found it in: images decoded in one run are catalogued in this order,
    /// whichever decoding thread finished first.
    seq: usize,
    folder_id: i64,
    path: PathBuf,
    stamp: Stamp,
    /// The catalog row this file replaces (same path, changed size or mtime).
    replaces: Option<Known>,
}

/// A decoded image waiting for the vision model.
struct Ready {
    job: Job,
    hash: [u8; 32],
    pixels: Vec<f32>,
    format: Format,
    width: u32,
    height: u32,
    taken_at: Option<i64>,
    /// The upright photo at the OCR's glance size, when words are read.
    glance: Option<RgbImage>,
}

enum Outcome {
    Decoded(Ready),
    /// The bytes were in the catalog when the run began: no need to decode.
    Known {
        job: Job,
        hash: [u8; 32],
    },
    Skipped {
        job: Job,
        reason: String,
    },
    /// Not found when read (deleted, or its drive gone since the walk): left to the next run's
    /// walk, which tells the two apart.
    Gone,
    /// The disk would not read it (an I/O error, not the file's content): kept as it was.
    NotRead {
        job: Job,
        reason: String,
    },
}

/// What the decode workers need to turn a job into an outcome.
struct Decoder<'a> {
    /// Content already catalogued when the run began.
    known: &'a HashSet<[u8; 32]>,
    short_side: u32,
    spec: &'a Preprocess,
    max_pixels: u64,
    max_file_bytes: u64,
    library: &'a Path,
    /// Also decode a glance for the OCR ([`words::GLANCE`]), from the same pixels.
    glance: bool,
    clock: Clock,
}

/// One indexing run: the writer's own catalog connection and everything the phases share.
struct Run<'a> {
    library: &'a Library,
    writer: Catalog,
    cancel: &'a AtomicBool,
    on_progress: &'a mut (dyn FnMut(&Progress) + Send),
    progress: Progress,
    report: Report,
    /// What the next commit writes.
    batch: Batch,
    /// Catalogued files not found on disk, by content: a file with the same bytes elsewhere is
    /// the same photo moved; whatever is left at the end was deleted.
    vanished: HashMap<[u8; 32], Vec<(i64, i64, PathBuf)>>,
    /// Per folder walked to the end: which parts are offline (and so prove nothing gone).
    judged: HashMap<i64, Judgement>,
    /// Folders whose state changed after the walk (files the disk would not read, a drive gone).
    restated: HashSet<i64>,
    /// Decoded images waiting for the vision model.
    pending: Vec<Ready>,
    encoded: u64,
    encode_started: Instant,
    /// Images/s of the last full run on this library: the ETA's rate until this run has its own.
    rate_hint: Option<f64>,
    /// Files being decoded when a run died: each decoded first in a child process.
    suspects: Vec<Job>,
    /// The OCR models, when installed: each new photo gets a glance for text once its
    /// embedding is committed, and those without any are done ([`crate::ingest::reading`]).
    reader: Option<Arc<Reader>>,
    /// New photos' glances, waiting for their embeddings' commit.
    glances: Vec<([u8; 32], RgbImage)>,
}

/// Where the catalog remembers the last run's rate (same machine and model, most likely).
const RATE_KEY: &str = "indexing_images_per_s";

impl Library {
    /// Bring the catalog and vector index up to date with the library's folders.
    pub fn index(
        &self,
        on_progress: &mut (dyn FnMut(&Progress) + Send),
        cancel: &AtomicBool,
    ) -> Result<Report> {
        if !self.options.background {
            return self.run_index(on_progress, cancel);
        }
        // On a thread of its own at low priority: the decode workers and the vision model's
        // threads (made from it) inherit the priority, and the caller's thread keeps its own (an
        // unprivileged process cannot raise a priority back once lowered).
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    crate::library::lower_priority();
                    self.run_index(on_progress, cancel)
                })
                .join()
                .unwrap_or_else(|_| Err(Error::Internal("the indexing thread panicked".into())))
        })
    }

    fn run_index(
        &self,
        on_progress: &mut (dyn FnMut(&Progress) + Send),
        cancel: &AtomicBool,
    ) -> Result<Report> {
        let slot = self.writer_slot();
        let started = Instant::now();
        self.encoders()?;
        let mut progress = Progress {
            phase: Phase::Waiting,
            found: 0,
            to_process: 0,
            done: 0,
            skipped: 0,
            images_per_s: 0.0,
            eta_s: None,
            waiting_for: None,
        };
        let waited = lock::acquire(&self.dir, cancel, &mut |holder| {
            progress.waiting_for = Some(holder.to_string());
            on_progress(&progress);
        })?;
        let Some(_writer_lock) = waited else {
            return Ok(Report {
                cancelled: true,
                ..Report::default()
            });
        };
        VectorIndex::remove_partial_saves(&self.dir);
        // Start from what another process may have added or removed since we last read.
        self.refresh_for_writer(&slot)?;
        progress.waiting_for = None;
        let mut run = Run {
            library: self,
            // A connection of its own: searches keep reading through the library's.
            writer: Catalog::open(&self.dir.join(DATABASE))?,
            cancel,
            on_progress,
            progress,
            report: Report::default(),
            batch: Batch::default(),
            vanished: HashMap::new(),
            judged: HashMap::new(),
            restated: HashSet::new(),
            pending: Vec::new(),
            encoded: 0,
            encode_started: Instant::now(),
            rate_hint: None,
            suspects: Vec::new(),
            reader: None,
            glances: Vec::new(),
        };
        let outcome = run.discover().and_then(|jobs| {
            // The OCR models load only when there is something new to glance at.
            if !jobs.is_empty() || !run.suspects.is_empty() {
                run.reader = run.open_reader();
            }
            run.process(jobs)
        });
        let outcome = outcome.and_then(|()| run.finish(started));
        // A finished run leaves the OCR models to the reading pass that follows it; no pass
        // follows a cancelled or failed one.
        let pass_follows = matches!(&outcome, Ok(report) if !report.cancelled);
        if !pass_follows {
            self.take_words_hand_over();
        }
        // The vision model's session and buffers are the run's biggest allocation: let them go,
        // back to the system.
        if let Ok(enc) = self.encoders() {
            enc.vision.unload();
            crate::memory::trim();
        }
        outcome
    }
}

impl Run<'_> {
    /// The OCR models for the glances, when words are read and the models are installed. Models
    /// that fail to load are reported, not fatal: the embeddings go on.
    fn open_reader(&mut self) -> Option<Arc<Reader>> {
        if !self.library.options.read_words {
            return None;
        }
        let dir = words::locate()?;
        match self.library.words_reader(&dir) {
            Ok(reader) => Some(reader),
            Err(e) => {
                self.report.words_error = Some(e.to_string());
                None
            }
        }
    }

    fn tell(&mut self) {
        (self.on_progress)(&self.progress);
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Walk every folder and compare with the catalog: unchanged files are left alone, new and
    /// changed ones become jobs, catalogued files that a clean walk did not find are `vanished`.
    /// What could not be walked is offline ([`crate::ingest::offline`]): its photos are kept.
    fn discover(&mut self) -> Result<Vec<Job>> {
        self.rate_hint = self
            .writer
            .meta(RATE_KEY)?
            .and_then(|r| r.parse::<f64>().ok())
            .filter(|r| r.is_finite() && *r > 0.0);
        self.progress.phase = Phase::Discovering;
        self.tell();
        let mut jobs = Vec::new();
        let mut known_files = self.writer.known_files()?;
        // Files a decoder was working on when a run died: decoded first, each in a child process.
        let mut suspects: HashMap<PathBuf, Stamp> = Journal::new(&self.library.dir)
            .take_leftovers()
            .into_iter()
            .map(|left| (left.path, left.stamp))
            .collect();
        // Per folder walked to the end: what its walk proved (which parts are offline).
        let mut judged: HashMap<i64, Judgement> = HashMap::new();
        let folders = self.writer.folders()?;
        let roots: Vec<PathBuf> = folders.iter().map(|f| f.path.clone()).collect();
        for folder in folders {
            let recorded = self.writer.volumes_of(folder.id)?;
            let root_device = match scan::probe(&folder.path) {
                Ok(device) => device,
                Err(reason) => {
                    let judgement = offline::unreachable(folder.id, &folder.path, reason, recorded);
                    self.note_offline(&judgement);
                    judged.insert(folder.id, judgement);
                    continue;
                }
            };
            let walk = scan::walk(&folder.path, &roots, self.cancel);
            let mut skipped = self.writer.skipped_of(folder.id)?;
            // Which of the walk's files the catalog held (indexes into `walk.found`).
            let mut found_known: Vec<usize> = Vec::new();
            for (i, f) in walk.found.iter().enumerate() {
                self.progress.found += 1;
                let known = known_files.remove(&f.path);
                let was_skipped = skipped.remove(&f.path);
                if known.is_some() {
                    found_known.push(i);
                }
                if let Some(k) = known.filter(|k| k.stamp == f.stamp) {
                    if k.folder_id != folder.id {
                        // Now under a library folder added inside its old one.
                        self.batch
                            .moves
                            .push((k.id, folder.id, f.path.clone(), f.stamp));
                    }
                    self.report.unchanged += 1;
                    continue;
                }
                if was_skipped == Some(f.stamp) {
                    self.report.unchanged += 1;
                    continue;
                }
                if was_skipped.is_some() {
                    // Changed since it was skipped: try again; a new failure records a new reason.
                    self.batch.unskip.push(f.path.clone());
                }
                let suspect = suspects.remove(&f.path) == Some(f.stamp);
                let job = Job {
                    seq: jobs.len() + self.suspects.len(),
                    folder_id: folder.id,
                    path: f.path.clone(),
                    stamp: f.stamp,
                    replaces: known,
                };
                if suspect {
                    self.suspects.push(job);
                } else {
                    jobs.push(job);
                }
            }
            for (path, why) in walk.errors.iter().cloned() {
                self.log_unreadable(folder.id, path, why);
            }
            // A walk cut short by a cancel has not seen everything: it proves nothing gone.
            if !walk.complete {
                self.tell();
                continue;
            }
            let after = scan::probe(&folder.path);
            let judgement = offline::judge(
                folder.id,
                &folder.path,
                root_device,
                &walk,
                after,
                recorded,
                &mut |part| {
                    let missing = known_files
                        .iter()
                        .filter(|(p, k)| k.folder_id == folder.id && p.starts_with(part))
                        .count() as u64;
                    let found = found_known
                        .iter()
                        .filter(|&&i| walk.found[i].path.starts_with(part))
                        .count() as u64;
                    (missing + found, found)
                },
            );
            self.note_offline(&judgement);
            // Skipped files not met again are gone, unless they lie where the walk could not see.
            self.batch.unskip.extend(
                skipped
                    .into_keys()
                    .filter(|path| judgement.proves_gone(path)),
            );
            judged.insert(folder.id, judgement);
            self.tell();
        }
        for (path, known) in known_files {
            let proven = judged
                .get(&known.folder_id)
                .is_some_and(|j| j.proves_gone(&path));
            if proven {
                self.vanished.entry(known.hash).or_default().push((
                    known.id,
                    known.folder_id,
                    path,
                ));
            }
        }
        self.judged = judged;
        self.report.found = self.progress.found;
        self.progress.phase = Phase::Indexing;
        self.progress.to_process = (jobs.len() + self.suspects.len()) as u64;
        self.progress.skipped = self.report.skipped;
        // What the walk found is kept at once: the folders' state, and a file found to have
        // crashed a decoder stays skipped even if this run dies too.
        self.commit()?;
        self.encode_started = Instant::now();
        self.report_rate();
        self.tell();
        Ok(jobs)
    }

    /// Record a folder's state for the catalog, and its offline parts for the report.
    fn note_offline(&mut self, judgement: &Judgement) {
        self.report
            .offline
            .extend(judgement.state.offline.iter().cloned());
        self.batch.folder_states.push(judgement.state.clone());
    }

    /// Read, hash and decode on worker threads; place, encode and commit here.
    fn process(&mut self, jobs: Vec<Job>) -> Result<()> {
        let lib = self.library;
        let enc = lib.encoders()?;
        let known = self.writer.hashes()?;
        let decoder = Decoder {
            known: &known,
            short_side: enc.vision.short_side(),
            spec: enc.vision.preprocess(),
            max_pixels: lib.options.max_pixels,
            max_file_bytes: lib.options.max_file_bytes,
            library: &lib.dir,
            glance: self.reader.is_some(),
            clock: Clock::default(),
        };
        let batch_size = lib.options.batch_size.max(1);
        // Suspects from a run that died: one of them may crash the decoder, or none (the run was
        // killed). A child process decodes each first: only its own crash convicts the file.
        let journal = Journal::new(&lib.dir);
        for (n, job) in std::mem::take(&mut self.suspects).into_iter().enumerate() {
            if self.cancelled() {
                break;
            }
            // Noted while it is judged: a kill now leaves it a suspect, nothing more.
            let note = journal.begin_suspect(n, &job.path, job.stamp);
            match probe::decode_in_child(&job.path, &decoder.probe_limits()) {
                probe::Verdict::Crashed(why) => {
                    drop(note);
                    let reason = format!(
                        "crashed the decoder ({why}); tried again when the file changes or with \
                         `clipstream index --retry-skipped`"
                    );
                    self.place(Outcome::Skipped { job, reason }, &decoder)?;
                }
                probe::Verdict::Clean => {
                    let outcome = decoder.read_and_decode(job);
                    drop(note);
                    self.place(outcome, &decoder)?;
                }
                probe::Verdict::Unknown(why) => {
                    // Judged next run; the note stays.
                    note.keep();
                    self.place(Outcome::NotRead { job, reason: why }, &decoder)?;
                }
            }
        }
        let (job_tx, job_rx) = bounded::<Job>(batch_size * 2);
        let (out_tx, out_rx) = bounded::<Outcome>(batch_size * 2);
        let cancel = self.cancel;
        std::thread::scope(|scope| {
            scope.spawn(move || {
                for job in jobs {
                    if cancel.load(Ordering::Relaxed) || job_tx.send(job).is_err() {
                        break;
                    }
                }
            });
            for slot in 0..lib.options.decode_threads.max(1) {
                let (job_rx, out_tx, decoder) = (job_rx.clone(), out_tx.clone(), &decoder);
                let journal = &journal;
                scope.spawn(move || {
                    for job in job_rx {
                        let note = journal.begin(slot, &job.path, job.stamp);
                        let outcome = decoder.read_and_decode(job);
                        drop(note);
                        if out_tx.send(outcome).is_err() {
                            break;
                        }
                    }
                });
            }
            drop((job_rx, out_tx));
            let result = self.take_outcomes(&out_rx, &decoder, batch_size);
            // Unblocks workers waiting to hand over a result, so the scope can end early.
            drop(out_rx);
            result
        })?;
        decoder.clock.add_to(&mut self.report.stages);
        self.flush()
    }

    fn take_outcomes(
        &mut self,
        outcomes: &crossbeam_channel::Receiver<Outcome>,
        decoder: &Decoder<'_>,
        batch_size: usize,
    ) -> Result<()> {
        let mut last_flush = Instant::now();
        for outcome in outcomes.iter() {
            self.place(outcome, decoder)?;
            if self.pending.len() >= batch_size || last_flush.elapsed() > Duration::from_secs(2) {
                self.flush()?;
                last_flush = Instant::now();
                self.report_rate();
                self.tell();
            }
            if self.cancelled() {
                break;
            }
        }
        Ok(())
    }

    /// Put one file's outcome into the next batch.
    fn place(&mut self, outcome: Outcome, decoder: &Decoder<'_>) -> Result<()> {
        match outcome {
            Outcome::Decoded(ready) => self.pending.push(ready),
            Outcome::Known { job, hash } => match self.place_known(job, hash)? {
                None => self.progress.done += 1,
                Some(job) => {
                    // Its bytes left the catalog earlier in this run: decode it after all.
                    let outcome = decoder.decode(job, &HashSet::new());
                    self.place(outcome, decoder)?;
                }
            },
            Outcome::Gone => self.progress.done += 1,
            Outcome::NotRead { job, reason } => {
                self.progress.done += 1;
                self.report.not_read += 1;
                if let Some(judgement) = self.judged.get_mut(&job.folder_id) {
                    judgement.state.offline.push((job.path, reason));
                    self.restated.insert(job.folder_id);
                }
            }
            Outcome::Skipped { job, reason } => {
                self.progress.done += 1;
                self.progress.skipped += 1;
                self.report.skipped += 1;
                self.batch.delete_images.extend(job.replaces.map(|k| k.id));
                self.batch
                    .skip
                    .push((job.folder_id, job.path, job.stamp, reason));
            }
        }
        Ok(())
    }

    /// A file whose bytes the catalog has: a touch, a move or rename, or a copy. Returns the job
    /// when no catalogued image has those bytes any more (it must be decoded after all).
    fn place_known(&mut self, job: Job, hash: [u8; 32]) -> Result<Option<Job>> {
        if let Some(old) = job.replaces {
            if old.hash == hash {
                // Touched: the same bytes, a new modification time.
                self.batch
                    .moves
                    .push((old.id, job.folder_id, job.path, job.stamp));
                self.report.updated += 1;
                return Ok(None);
            }
            self.batch.delete_images.push(old.id);
        }
        if let Some((id, _, _)) = self.vanished.get_mut(&hash).and_then(Vec::pop) {
            self.batch
                .moves
                .push((id, job.folder_id, job.path, job.stamp));
            self.report.moved += 1;
            return Ok(None);
        }
        // A copy of an image we have: reuse its embedding and metadata.
        let Some((row, embedding)) = self.writer.image_with_hash(&hash)? else {
            return Ok(Some(Job {
                replaces: None,
                ..job
            }));
        };
        self.batch.insert.push(NewImage {
            folder_id: job.folder_id,
            path: job.path,
            stamp: job.stamp,
            hash,
            format: row.format,
            width: row.width,
            height: row.height,
            taken_at: row.taken_at,
            embedding,
        });
        self.report.copied += 1;
        Ok(None)
    }

    /// Encode what is pending and commit the batch; then glance at the new photos for text.
    fn flush(&mut self) -> Result<()> {
        self.encoded += self.pending.len() as u64;
        self.progress.done += self.pending.len() as u64;
        self.encode_pending()?;
        self.commit()?;
        self.glance_for_words()
    }

    /// The new photos in which the OCR's glance finds no text are done: recorded as read, with
    /// no lines. The others are left for the reading stage. After the embeddings' commit, so a
    /// photo is searchable first.
    fn glance_for_words(&mut self) -> Result<()> {
        let Some(reader) = &self.reader else {
            return Ok(());
        };
        let started = Instant::now();
        let (mut blank, mut found) = (Vec::new(), Vec::new());
        for (hash, glance) in std::mem::take(&mut self.glances) {
            if reader.has_text(&glance, words::GLANCE)? {
                found.push(hash);
            } else {
                blank.push((hash, Some(Vec::new())));
            }
        }
        if !blank.is_empty() {
            self.writer.store_words(&reader.name(), &blank)?;
        }
        self.library.found_text(found);
        self.report.stages.glance += started.elapsed().as_secs_f64();
        Ok(())
    }

    /// Run the vision model on the decoded images waiting in `pending`.
    fn encode_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let enc = self.library.encoders()?;
        self.pending.sort_by_key(|ready| ready.job.seq);
        let pixels: Vec<Vec<f32>> = self
            .pending
            .iter_mut()
            .map(|p| std::mem::take(&mut p.pixels))
            .collect();
        let started = Instant::now();
        let vectors = enc.vision.encode_batch(&pixels)?;
        self.report.stages.model += started.elapsed().as_secs_f64();
        for (ready, embedding) in self.pending.drain(..).zip(vectors) {
            let Ready {
                job,
                hash,
                format,
                width,
                height,
                taken_at,
                glance,
                ..
            } = ready;
            self.glances.extend(glance.map(|g| (hash, g)));
            if let Some(old) = job.replaces {
                self.batch.delete_images.push(old.id);
                self.report.updated += 1;
            } else {
                self.report.added += 1;
            }
            self.batch.insert.push(NewImage {
                folder_id: job.folder_id,
                path: job.path,
                stamp: job.stamp,
                hash,
                format: format.name().to_string(),
                width,
                height,
                taken_at,
                embedding,
            });
        }
        Ok(())
    }

    /// Write the batch in one transaction; memory then reads the changed rows back.
    fn commit(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let batch = std::mem::take(&mut self.batch);
        let changes = self.writer.apply(&batch)?;
        self.library.absorb(&self.writer, &changes)?;
        self.report.stages.commit += started.elapsed().as_secs_f64();
        Ok(())
    }

    /// Whatever vanished and was not claimed by a move is deleted; the vector index is saved.
    fn finish(mut self, started: Instant) -> Result<Report> {
        self.report.cancelled = self.cancelled();
        if !self.report.cancelled {
            self.recheck_drives();
            for (id, folder, path) in std::mem::take(&mut self.vanished).into_values().flatten() {
                if self
                    .judged
                    .get(&folder)
                    .is_some_and(|j| j.proves_gone(&path))
                {
                    self.report.removed += 1;
                    self.batch.delete_images.push(id);
                }
            }
        }
        for folder in std::mem::take(&mut self.restated) {
            if let Some(judgement) = self.judged.get(&folder) {
                self.batch.folder_states.push(judgement.state.clone());
            }
        }
        self.commit()?;
        self.library.save_vector_index(self.writer.generation()?)?;
        if self.report.removed + self.report.updated > 0 {
            thumbnail::prune(&self.library.dir, &self.writer.hashes()?);
        }
        if !self.report.cancelled && self.encoded >= 8 {
            let rate = self.encoded as f64 / self.encode_started.elapsed().as_secs_f64();
            self.writer.set_meta(RATE_KEY, &format!("{rate:.3}"))?;
        }
        self.report.skipped_total = self.writer.count_skipped()?;
        self.report.seconds = started.elapsed().as_secs_f64();
        self.progress.phase = Phase::Done;
        self.report_rate();
        self.progress.eta_s = Some(0.0);
        self.tell();
        Ok(self.report)
    }

    /// A drive unplugged after its folder was walked (during decoding, say) makes that walk's
    /// silence worthless: each device the walk saw is looked at again before anything is deleted.
    fn recheck_drives(&mut self) {
        for (&folder, judgement) in &mut self.judged {
            let moved: Vec<(PathBuf, String)> = judgement
                .state
                .volumes
                .iter()
                .filter(|(part, _)| judgement.proves_gone(part))
                .filter_map(|(part, device)| match scan::probe(part) {
                    Ok(now) if now == *device => None,
                    Ok(_) => Some((
                        part.clone(),
                        "changed drive during the run (unplugged?)".into(),
                    )),
                    Err(reason) => Some((part.clone(), reason)),
                })
                .collect();
            if !moved.is_empty() {
                self.report.offline.extend(moved.iter().cloned());
                judgement.state.offline.extend(moved);
                self.restated.insert(folder);
            }
        }
    }

    /// Record an entry the walk could not use, if it is a photo or a folder (a folder the user
    /// cannot read, or a link out of the library, hides photos they may expect to find).
    fn log_unreadable(&mut self, folder: i64, path: PathBuf, why: String) {
        if scan::kind_of(&path).is_some() || path.is_dir() {
            let stamp = Stamp {
                size: 0,
                mtime_ns: 0,
            };
            self.batch.skip.push((folder, path, stamp, why));
            self.report.skipped += 1;
        }
    }

    /// Images/s so far and the time left. Until a few batches are in, the ETA uses the last
    /// run's rate (when there was one): the first batches also wait for the pipeline to fill.
    fn report_rate(&mut self) {
        let secs = self.encode_started.elapsed().as_secs_f64();
        let measured = (secs > 0.0 && self.encoded > 0).then(|| self.encoded as f64 / secs);
        let settled = self.encoded >= 3 * self.library.options.batch_size.max(1) as u64;
        let rate = match (measured, self.rate_hint) {
            (Some(m), Some(hint)) => Some(if settled { m } else { hint }),
            (measured, hint) => measured.or(hint),
        };
        let p = &mut self.progress;
        p.images_per_s = measured.unwrap_or(0.0);
        if let Some(rate) = rate {
            let left = p.to_process.saturating_sub(p.done) as f64;
            p.eta_s = Some(left / rate);
        }
    }
}

impl Decoder<'_> {
    /// The limits a child process checking a suspect decodes with: the run's own.
    fn probe_limits(&self) -> probe::Limits {
        probe::Limits {
            short_side: self.short_side,
            max_pixels: self.max_pixels,
            max_file_bytes: self.max_file_bytes,
        }
    }

    /// A job's outcome, as a worker finds it.
    fn read_and_decode(&self, job: Job) -> Outcome {
        self.decode(job, self.known)
    }

    /// Read and hash the file; unless its bytes are in `known`, decode it.
    fn decode(&self, job: Job, known: &HashSet<[u8; 32]>) -> Outcome {
        let clock = &self.clock;
        let read = Clock::time(&clock.read, || {
            decode::read_capped(&job.path, self.max_file_bytes)
        });
        let bytes = match read {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Outcome::Gone,
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                return Outcome::Skipped {
                    job,
                    reason: e.to_string(),
                };
            }
            // The user can change a permission: listed, and read again once the file changes.
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Outcome::Skipped {
                    job,
                    reason: format!("unreadable: {e}"),
                };
            }
            // Anything else is the disk's doing (EIO, a network share gone), not the file's.
            Err(e) => {
                return Outcome::NotRead {
                    job,
                    reason: format!("unreadable: {e}"),
                };
            }
        };
        let hash: [u8; 32] = Clock::time(&clock.hash, || blake3::hash(&bytes).into());
        if known.contains(&hash) {
            return Outcome::Known { job, hash };
        }
        // A decoder bug must not take the run down: a panic becomes this file's skip reason.
        let decoded = Clock::time(&clock.decode, || {
            std::panic::catch_unwind(|| {
                if self.glance {
                    decode::decode_with_glance(
                        &bytes,
                        self.short_side,
                        thumbnail::BOX,
                        words::GLANCE,
                        self.max_pixels,
                    )
                    .map(|(d, thumb, glance)| (d, thumb, Some(glance)))
                } else {
                    decode::decode_with_thumbnail(&bytes, self.short_side, thumbnail::BOX, self.max_pixels)
                        .map(|(d, thumb)| (d, thumb, None))
                }
            })
        });
        drop(bytes);
        match decoded {
            Ok(Ok((d, thumb, glance))) => {
                // The thumbnail is a cache: if it cannot be written (disk full, read-only
                // library), the app makes it again from the original when it is first shown.
                Clock::time(&clock.thumbnail, || {
                    let _ = thumbnail::store(self.library, &hash, &thumb);
                });
                let pixels =
                    Clock::time(&clock.preprocess, || encoders::preprocess(&d.image, self.spec));
                Outcome::Decoded(Ready {
                    job,
                    hash,
                    pixels,
                    format: d.format,
                    width: d.width,
                    height: d.height,
                    taken_at: d.taken_at,
                    glance,
                })
            }
            Ok(Err(e)) => Outcome::Skipped { job, reason: e.0 },
            Err(_) => Outcome::Skipped {
                job,
                reason: "the decoder crashed on this file".into(),
            },
        }
    }
}
