//! Indexing a library's folders, in phases: discover (walk) → read and hash → decode → embed →
//! store. Decoding runs on worker threads while the model encodes the previous batch; channels are
//! bounded, so memory stays bounded whatever the folder size. Each batch is one catalog
//! transaction: a crash loses at most the batch in flight, and the next run resumes from there.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use serde::Serialize;

use crate::Result;
use crate::catalog::{Batch, Catalog, DATABASE, ImageRow, NewImage, Stamp};
use crate::decode::{self, Format};
use crate::embed;
use crate::library::Library;
use crate::lock;
use crate::scan::{self, Kind};
use crate::search::BACKGROUND_SAMPLE;
use crate::thumbnail;
use crate::vindex::VectorIndex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Another process is changing this library; `Progress::waiting_for` says which.
    Waiting,
    Discovering,
    Indexing,
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
    /// Folders that were missing (not walked; their images kept).
    pub unreachable: Vec<PathBuf>,
    pub cancelled: bool,
    pub seconds: f64,
}

struct Job {
    folder_id: i64,
    path: PathBuf,
    stamp: Stamp,
    /// The catalog row this file replaces (same path, changed size or mtime).
    replaces: Option<i64>,
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
}

enum Outcome {
    Decoded(Ready),
    /// The bytes are already in the catalog under another id: no need to decode.
    Known {
        job: Job,
        hash: [u8; 32],
    },
    Skipped {
        job: Job,
        reason: String,
    },
    /// Deleted between the walk and the read: forgotten, not skipped.
    Gone {
        job: Job,
    },
}

impl Library {
    /// Bring the catalog and vector index up to date with the library's folders.
    pub fn index(
        &self,
        on_progress: &mut dyn FnMut(&Progress),
        cancel: &AtomicBool,
    ) -> Result<Report> {
        let _one_run = self.indexing.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let enc = self.encoders()?;
        let mut report = Report::default();
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
            report.cancelled = true;
            return Ok(report);
        };
        VectorIndex::remove_partial_saves(&self.dir);
        // A connection of its own: searches keep reading through the library's while this writes.
        let mut writer = Catalog::open(&self.dir.join(DATABASE))?;
        // Start from what another process may have added or removed since we last read.
        self.refresh(&writer, false)?;
        progress.phase = Phase::Discovering;
        progress.waiting_for = None;
        on_progress(&progress);

        // Discover: compare what is on disk with the catalog.
        let mut jobs = Vec::new();
        let mut batch = Batch::default();
        let mut vanished: HashMap<[u8; 32], Vec<i64>> = HashMap::new();
        let hashes = writer.hashes()?;
        let id_hash: HashMap<i64, [u8; 32]> = hashes.iter().map(|(h, id)| (*id, *h)).collect();
        let folders = writer.folders()?;
        let roots: Vec<PathBuf> = folders.iter().map(|f| f.path.clone()).collect();
        for folder in folders {
            if !folder.path.is_dir() {
                report.unreachable.push(folder.path);
                continue;
            }
            let walk = scan::walk(&folder.path, &roots, cancel);
            let mut images = writer.images_of(folder.id)?;
            let mut skipped = writer.skipped_of(folder.id)?;
            for f in walk.found {
                progress.found += 1;
                let known = images.remove(&f.path);
                let was_skipped = skipped.remove(&f.path);
                if known.is_some_and(|(_, s)| s == f.stamp) || was_skipped == Some(f.stamp) {
                    report.unchanged += 1;
                    continue;
                }
                if was_skipped.is_some() {
                    // Changed since it was skipped: try again; a new failure records a new reason.
                    batch.unskip.push(f.path.clone());
                }
                if let Kind::Unsupported(name) = f.kind {
                    batch.skip.push((
                        folder.id,
                        f.path,
                        f.stamp,
                        format!("{name} files are not supported yet"),
                    ));
                    report.skipped += 1;
                    continue;
                }
                jobs.push(Job {
                    folder_id: folder.id,
                    path: f.path,
                    stamp: f.stamp,
                    replaces: known.map(|(id, _)| id),
                });
            }
            for (path, why) in walk.errors {
                log_unreadable(&mut batch, folder.id, path, why, &mut report);
            }
            if !cancel.load(Ordering::Relaxed) {
                for (_, (id, _)) in images {
                    if let Some(h) = id_hash.get(&id) {
                        vanished.entry(*h).or_default().push(id);
                    }
                }
                batch.unskip.extend(skipped.into_keys());
            }
            on_progress(&progress);
        }
        report.found = progress.found;
        progress.phase = Phase::Indexing;
        progress.to_process = jobs.len() as u64;
        progress.skipped = report.skipped;
        on_progress(&progress);

        // Read, hash, decode on workers; encode and store here.
        let known: HashSet<[u8; 32]> = hashes.keys().copied().collect();
        let short_side = enc.vision.short_side();
        let spec = enc.vision.preprocess().clone();
        let max_pixels = self.options.max_pixels;
        let batch_size = self.options.batch_size.max(1);
        let (job_tx, job_rx) = bounded::<Job>(batch_size * 2);
        let (out_tx, out_rx) = bounded::<Outcome>(batch_size * 2);
        let mut pending: Vec<Ready> = Vec::new();
        let mut encoded = 0u64;
        let encode_started = Instant::now();
        let result: Result<()> = std::thread::scope(|scope| {
            scope.spawn(move || {
                for job in jobs {
                    if cancel.load(Ordering::Relaxed) || job_tx.send(job).is_err() {
                        break;
                    }
                }
            });
            for _ in 0..self.options.decode_threads.max(1) {
                let (job_rx, out_tx, known, spec) = (job_rx.clone(), out_tx.clone(), &known, &spec);
                let dir = self.dir.as_path();
                scope.spawn(move || {
                    for job in job_rx {
                        let outcome =
                            read_and_decode(job, known, short_side, max_pixels, spec, dir);
                        if out_tx.send(outcome).is_err() {
                            break;
                        }
                    }
                });
            }
            drop((job_rx, out_tx));

            let mut last_flush = Instant::now();
            for outcome in out_rx.iter() {
                match outcome {
                    Outcome::Decoded(ready) => pending.push(ready),
                    Outcome::Known { job, hash } => {
                        progress.done += 1;
                        self.place_known(
                            &writer,
                            job,
                            hash,
                            &hashes,
                            &mut vanished,
                            &mut batch,
                            &mut report,
                        )?;
                    }
                    Outcome::Gone { job } => {
                        progress.done += 1;
                        batch.delete_images.extend(job.replaces);
                    }
                    Outcome::Skipped { job, reason } => {
                        progress.done += 1;
                        progress.skipped += 1;
                        report.skipped += 1;
                        if let Some(old) = job.replaces {
                            batch.delete_images.push(old);
                        }
                        batch
                            .skip
                            .push((job.folder_id, job.path, job.stamp, reason));
                    }
                }
                let due =
                    pending.len() >= batch_size || last_flush.elapsed() > Duration::from_secs(2);
                if due {
                    encoded += pending.len() as u64;
                    progress.done += pending.len() as u64;
                    self.encode_into(&mut pending, &mut batch, &mut report)?;
                    self.commit(&mut writer, &mut batch)?;
                    last_flush = Instant::now();
                    report_rate(&mut progress, encoded, encode_started);
                    on_progress(&progress);
                }
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
            }
            // Unblocks workers waiting to hand over a result, so the scope can end after a cancel.
            drop(out_rx);
            Ok(())
        });
        result?;
        encoded += pending.len() as u64;
        progress.done += pending.len() as u64;
        self.encode_into(&mut pending, &mut batch, &mut report)?;
        report.cancelled = cancel.load(Ordering::Relaxed);
        if !report.cancelled {
            // Whatever vanished and did not turn up elsewhere was deleted.
            for ids in vanished.into_values() {
                report.removed += ids.len() as u64;
                batch.delete_images.extend(ids);
            }
        }
        self.commit(&mut writer, &mut batch)?;
        let state = self.state();
        if let Some(v) = &state.vindex {
            v.save(&self.dir, writer.generation()?)?;
        }
        drop(state);
        if report.removed + report.updated > 0 {
            thumbnail::prune(&self.dir, &writer.hashes()?);
        }
        report.skipped_total = writer.skipped()?.len() as u64;
        report.seconds = started.elapsed().as_secs_f64();
        progress.phase = Phase::Done;
        report_rate(&mut progress, encoded, encode_started);
        progress.eta_s = Some(0.0);
        on_progress(&progress);
        Ok(report)
    }

    /// A file whose bytes the catalog already has: a move/rename, a touch, or a copy.
    #[allow(clippy::too_many_arguments)]
    fn place_known(
        &self,
        writer: &Catalog,
        job: Job,
        hash: [u8; 32],
        hashes: &HashMap<[u8; 32], i64>,
        vanished: &mut HashMap<[u8; 32], Vec<i64>>,
        batch: &mut Batch,
        report: &mut Report,
    ) -> Result<()> {
        if let Some(old) = job.replaces {
            if writer.hash_of(old)? == Some(hash) {
                batch.touch.push((old, job.stamp));
                report.updated += 1;
                return Ok(());
            }
            batch.delete_images.push(old);
        }
        if let Some(ids) = vanished.get_mut(&hash)
            && let Some(id) = ids.pop()
        {
            if ids.is_empty() {
                vanished.remove(&hash);
            }
            batch.moves.push((id, job.folder_id, job.path, job.stamp));
            report.moved += 1;
            return Ok(());
        }
        // A copy of an image we have: reuse its embedding and metadata.
        let Some(&source) = hashes.get(&hash) else {
            return Ok(());
        };
        let (Some(row), Some(embedding)) = (writer.image(source)?, writer.embedding(source)?)
        else {
            return Ok(());
        };
        batch.insert.push(NewImage {
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
        report.copied += 1;
        Ok(())
    }

    /// Run the vision model on the decoded images waiting in `pending`.
    fn encode_into(
        &self,
        pending: &mut Vec<Ready>,
        batch: &mut Batch,
        report: &mut Report,
    ) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let enc = self.encoders()?;
        let pixels: Vec<Vec<f32>> = pending
            .iter_mut()
            .map(|p| std::mem::take(&mut p.pixels))
            .collect();
        let vectors = enc.vision.encode_batch(&pixels)?;
        for (
            Ready {
                job,
                hash,
                format,
                width,
                height,
                taken_at,
                ..
            },
            embedding,
        ) in pending.drain(..).zip(vectors)
        {
            if let Some(old) = job.replaces {
                batch.delete_images.push(old);
                report.updated += 1;
            } else {
                report.added += 1;
            }
            batch.insert.push(NewImage {
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

    /// Commit a batch and mirror it in what searches read.
    fn commit(&self, writer: &mut Catalog, batch: &mut Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let added = writer.apply(batch)?;
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        state.generation = writer.generation()?;
        if state.vindex.is_none() {
            let dim = self.encoders()?.model.manifest.embedding_dim;
            state.vindex = Some(VectorIndex::new(dim, self.options.scalar)?);
        }
        for id in &batch.delete_images {
            state.rows.remove(id);
            if let Some(v) = &state.vindex {
                v.remove(*id)?;
            }
        }
        for (id, folder, path, stamp) in &batch.moves {
            if let Some(r) = state.rows.get_mut(id) {
                r.folder_id = *folder;
                r.path = path.clone();
                r.size = stamp.size;
            }
        }
        for (&id, img) in added.iter().zip(&batch.insert) {
            if let Some(v) = &state.vindex {
                v.add(id, &img.embedding)?;
            }
            if state.background.len() < BACKGROUND_SAMPLE {
                state.background.push(img.embedding.clone());
            }
            let row = ImageRow {
                id,
                folder_id: img.folder_id,
                path: img.path.clone(),
                size: img.stamp.size,
                format: img.format.clone(),
                width: img.width,
                height: img.height,
                taken_at: img.taken_at,
            };
            state.rows.insert(id, row);
        }
        *batch = Batch::default();
        Ok(())
    }
}

/// Record an entry the walk could not use, if it is a photo or a folder (a folder the user cannot
/// read, or a link out of the library, hides photos they may expect to find).
fn log_unreadable(batch: &mut Batch, folder: i64, path: PathBuf, why: String, report: &mut Report) {
    if crate::scan::kind_of(&path).is_some() || path.is_dir() {
        batch.skip.push((
            folder,
            path,
            Stamp {
                size: 0,
                mtime_ns: 0,
            },
            why,
        ));
        report.skipped += 1;
    }
}

fn report_rate(progress: &mut Progress, encoded: u64, since: Instant) {
    let secs = since.elapsed().as_secs_f64();
    if secs > 0.0 && encoded > 0 {
        progress.images_per_s = encoded as f64 / secs;
        let left = progress.to_process.saturating_sub(progress.done) as f64;
        progress.eta_s = Some(left / progress.images_per_s);
    }
}

fn read_and_decode(
    job: Job,
    known: &HashSet<[u8; 32]>,
    short_side: u32,
    max_pixels: u64,
    spec: &crate::model::Preprocess,
    library: &Path,
) -> Outcome {
    let bytes = match std::fs::read(&job.path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Outcome::Gone { job },
        Err(e) => {
            return Outcome::Skipped {
                job,
                reason: format!("unreadable: {e}"),
            };
        }
    };
    let hash: [u8; 32] = blake3::hash(&bytes).into();
    if known.contains(&hash) {
        return Outcome::Known { job, hash };
    }
    // A decoder bug must not take the run down: a panic becomes this file's skip reason.
    let decoded = std::panic::catch_unwind(|| {
        decode::decode_with_thumbnail(&bytes, short_side, thumbnail::BOX, max_pixels)
    });
    match decoded {
        Ok(Ok((d, thumb))) => {
            // The thumbnail is a cache: if it cannot be written (disk full, read-only library),
            // the app makes it again from the original when it is first shown.
            let _ = thumbnail::store(library, &hash, &thumb);
            let pixels = embed::preprocess(&d.image, spec);
            Outcome::Decoded(Ready {
                job,
                hash,
                pixels,
                format: d.format,
                width: d.width,
                height: d.height,
                taken_at: d.taken_at,
            })
        }
        Ok(Err(e)) => Outcome::Skipped { job, reason: e.0 },
        Err(_) => Outcome::Skipped {
            job,
            reason: "the decoder crashed on this file".into(),
        },
    }
}
