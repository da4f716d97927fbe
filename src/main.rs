//! `clipstream`: search your photos by what is in them, from the command line.
//!
//! A thin layer over `clipstream-core`'s [`Library`]: [`args`] says what the commands take, this
//! file dispatches them, [`output`] prints, [`models`] gets, imports and checks the model. Errors
//! are printed with their context chain and mapped to exit codes: 1 failure, 2 usage, 3 model or
//! ONNX Runtime missing, 4 the library was built with another model.

mod args;
mod models;
mod output;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};
use clap::Parser;
use clipstream_core::{
    Error, IndexBuild, Library, Model, Options, Request, Sort, WatchEvent, WatchOptions, setup,
};
use signal_hook::consts::{SIGINT, SIGTERM};

use crate::args::{Cli, Command, ModelCommand, SortArg};
use crate::output::{Reporter, print_duplicates, print_folder, print_results};

const EXIT_FAILURE: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_MISSING_MODEL: u8 = 3;
const EXIT_MODEL_MISMATCH: u8 = 4;

fn main() -> ExitCode {
    clipstream_core::return_freed_memory();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            let code = match err.downcast_ref::<Error>() {
                Some(
                    Error::ModelMissing { .. }
                    | Error::ModelNotFound { .. }
                    | Error::RuntimeMissing { .. },
                ) => EXIT_MISSING_MODEL,
                Some(Error::NoModel) => EXIT_MISSING_MODEL,
                Some(Error::ModelMismatch { .. }) => EXIT_MODEL_MISMATCH,
                Some(Error::Query(_)) => EXIT_USAGE,
                _ if err.downcast_ref::<Usage>().is_some() => EXIT_USAGE,
                _ => EXIT_FAILURE,
            };
            ExitCode::from(code)
        }
    }
}

/// A usage error found after argument parsing (exit code 2).
#[derive(Debug)]
pub(crate) struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

pub(crate) fn library_dir(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("CLIPSTREAM_LIBRARY") {
        return Ok(PathBuf::from(dir));
    }
    setup::default_library_dir().context("no data directory; pass --library DIR")
}

pub(crate) fn open(cli: &Cli, with_model: bool, reindex: bool) -> anyhow::Result<Library> {
    let dir = library_dir(cli.library.as_deref())?;
    let mut options = Options {
        reindex,
        // Indexing never encodes text: the text model (~250 MB) loads only for a search.
        text_at_open: !matches!(cli.command, Command::Index { .. }),
        // `watch` lives on: a missing or stale vector index is built beside it, not before it.
        index_build: if matches!(cli.command, Command::Watch { .. }) {
            IndexBuild::Background
        } else {
            IndexBuild::AtOpen
        },
        // `index --no-words`: no OCR at all this time, not even the glance at new photos.
        read_words: !matches!(cli.command, Command::Index { no_words: true, .. }),
        ..Options::default()
    };
    if let Some(t) = cli.threads {
        options.threads = t.max(1);
        options.decode_threads = t.max(1);
    }
    let model = if with_model {
        let model_dir = setup::locate_model(cli.model.as_deref())?;
        Some(
            Model::open(&model_dir)
                .with_context(|| format!("opening the model in {}", model_dir.display()))?,
        )
    } else {
        None
    };
    Library::open(&dir, model.as_ref(), options)
        .with_context(|| format!("opening the library in {}", dir.display()))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Index {
            folders,
            reindex,
            retry_skipped,
            no_words,
        } => {
            let lib = open(&cli, true, *reindex)?;
            add_folders(&lib, folders, "index")?;
            if *retry_skipped {
                let n = lib.retry_skipped()?;
                println!("reading {n} skipped files again");
            }
            // Ctrl-C stops cleanly: what was indexed and read is kept, the next run goes on.
            let cancel = cancel_on_signals()?;
            index(&lib, &cancel)?;
            if !*no_words && !cancel.load(std::sync::atomic::Ordering::SeqCst) {
                read_words(&lib, &cancel)?;
            }
        }
        Command::Text { photo, json } => {
            let lib = open(&cli, false, false)?;
            output::print_words(&lib, photo, *json)?;
        }
        Command::Watch { folders } => {
            let lib = open(&cli, true, false)?;
            add_folders(&lib, folders, "watch")?;
            watch(&lib)?;
        }
        Command::Search {
            query,
            show,
            sort,
            filters,
        } => {
            let lib = open(&cli, true, false)?;
            let mut request = Request::new(query.clone(), show.k);
            request.all = show.all;
            request.image_paths = true;
            request.filters = filters.to_filters(&lib)?;
            request.sort = match sort {
                SortArg::Relevance => Sort::Relevance,
                SortArg::Date => Sort::DateTaken,
            };
            print_results(&lib.search(&request)?, show.json)?;
        }
        Command::Similar {
            image,
            show,
            filters,
        } => {
            let lib = open(&cli, true, false)?;
            let results = lib.similar(image, show.k, show.all, &filters.to_filters(&lib)?)?;
            print_results(&results, show.json)?;
        }
        Command::List {
            json,
            limit,
            filters,
        } => {
            let lib = open(&cli, false, false)?;
            output::list(&lib, &filters.to_filters(&lib)?, *limit, *json)?;
        }
        Command::Duplicates { json, threshold } => {
            if !(0.0..=1.0).contains(threshold) {
                return Err(
                    Usage(format!("--threshold {threshold} is not between 0 and 1")).into(),
                );
            }
            let lib = open(&cli, false, false)?;
            print_duplicates(&lib.duplicates(*threshold)?, *json)?;
        }
        Command::Trash { files } => {
            let lib = open(&cli, false, false)?;
            let mut rows = Vec::new();
            for f in files {
                let path = std::fs::canonicalize(f)
                    .with_context(|| format!("{} cannot be trashed", f.display()))?;
                rows.push(
                    lib.image_at(&path)?
                        .ok_or_else(|| Usage(format!("{} is not in the library", f.display())))?,
                );
            }
            let done = lib.trash(&rows.iter().map(|r| r.id).collect::<Vec<_>>())?;
            println!("moved {} files to the trash", done.ids.len());
            for (id, why) in &done.failed {
                if let Some(row) = rows.iter().find(|r| r.id == *id) {
                    eprintln!("not moved: {}: {why}", row.path.display());
                }
            }
            if !done.failed.is_empty() {
                bail!(
                    "{} files could not be moved to the trash",
                    done.failed.len()
                );
            }
        }
        Command::Status { json, skipped } => {
            let lib = open(&cli, false, false)?;
            let status = lib.status()?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                println!("library: {}", status.library.display());
                println!(
                    "model:   {}",
                    status.model_id.as_deref().unwrap_or("(none yet)")
                );
                println!("images:  {}", status.images);
                println!("skipped: {}", status.skipped);
                output::print_words_status(&status.words);
                for f in &status.folders {
                    print_folder(f);
                }
            }
            if *skipped {
                for s in lib.skipped()? {
                    println!("{}\t{}", s.path.display(), s.reason);
                }
            }
        }
        Command::Remove { folder } => {
            let lib = open(&cli, false, false)?;
            let n = lib.remove_folder(lib.folder_at(folder)?.id)?;
            println!(
                "removed {} and its {n} images from the library",
                folder.display()
            );
        }
        Command::Model { action } => match action {
            ModelCommand::Import { dir, out, model_id } => {
                models::import_model(&cli, dir, out.as_deref(), model_id.clone())?
            }
            ModelCommand::Get {
                repo,
                revision,
                out,
            } => models::get_model(&cli, repo, revision, out.as_deref())?,
        },
        Command::Doctor { query } => models::doctor(&cli, query)?,
    }
    Ok(())
}

/// Add `folders` to the library (remembered); an error if it then has none.
fn add_folders(lib: &Library, folders: &[PathBuf], command: &str) -> anyhow::Result<()> {
    for f in folders {
        let added = lib
            .add_folder(f)
            .with_context(|| format!("adding folder {}", f.display()))?;
        eprintln!("folder: {}", added.path.display());
    }
    if lib.folders()?.is_empty() {
        return Err(Usage(format!("no folders yet: `clipstream {command} FOLDER...`")).into());
    }
    Ok(())
}

/// One incremental run with progress, then what it did.
fn index(lib: &Library, cancel: &AtomicBool) -> anyhow::Result<()> {
    let mut reporter = Reporter::new();
    let report = lib.index(&mut |p| reporter.update(p), cancel)?;
    reporter.finish();
    println!(
        "indexed {} new, {} updated, {} moved, {} copies, {} removed, {} unchanged in {:.1}s",
        report.added,
        report.updated,
        report.moved,
        report.copied,
        report.removed,
        report.unchanged,
        report.seconds
    );
    if report.skipped > 0 {
        println!(
            "skipped {} files (`clipstream status --skipped` lists why)",
            report.skipped
        );
    }
    for (part, why) in &report.offline {
        println!("offline, its photos kept: {}: {why}", part.display());
    }
    if report.not_read > 0 {
        println!(
            "{} files could not be read now (a drive going away?); kept, and read again next time",
            report.not_read
        );
    }
    Ok(())
}

/// Read the words in the photos not read yet, with progress, then what it did.
fn read_words(lib: &Library, cancel: &AtomicBool) -> anyhow::Result<()> {
    let mut reporter = Reporter::new();
    let report = lib.read_words(&mut |p| reporter.update(p), cancel)?;
    reporter.finish();
    if report.models.is_none() {
        return Ok(());
    }
    if report.read + report.failed > 0 || report.left > 0 {
        println!(
            "read the words in {} photos ({} with text) in {:.1}s{}{}",
            report.read,
            report.with_text,
            report.seconds,
            if report.failed > 0 {
                format!("; {} could not be read", report.failed)
            } else {
                String::new()
            },
            if report.left > 0 {
                format!("; {} left for the next run", report.left)
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

/// Index, then index again whenever the folders change, until Ctrl-C or SIGTERM: the first
/// signal stops cleanly (a run in progress is cancelled, what it did is kept), a second one at once.
fn watch(lib: &Library) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))?;
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    // Words are read on a thread of their own between runs, paused while a run indexes.
    let (wake_reader, woken) = std::sync::mpsc::channel::<()>();
    let reading = std::thread::scope(|scope| -> anyhow::Result<()> {
        let stop_reading: &AtomicBool = &stop;
        let reader = scope.spawn(move || -> anyhow::Result<()> {
            let stop = stop_reading;
            while woken.recv().is_ok() {
                while woken.try_recv().is_ok() {}
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                read_words(lib, stop)?;
            }
            Ok(())
        });
        let watched = watch_folders(lib, &stop, &wake_reader);
        drop(wake_reader);
        lib.pause_words();
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the reading thread panicked")));
        watched.and(read)
    });
    reading?;
    eprintln!("stopped watching");
    Ok(())
}

fn internal(e: anyhow::Error) -> Error {
    match e.downcast::<Error>() {
        Ok(e) => e,
        Err(e) => Error::Internal(format!("{e:#}")),
    }
}

/// The watch itself: a run whenever one is due, the reading thread woken after each.
fn watch_folders(
    lib: &Library,
    stop: &Arc<AtomicBool>,
    wake_reader: &std::sync::mpsc::Sender<()>,
) -> anyhow::Result<()> {
    lib.watch(WatchOptions::default(), stop, &mut |event| {
        match event {
            WatchEvent::Drive { path, connected } => {
                if connected {
                    eprintln!(
                        "{}: connected again, bringing it up to date",
                        path.display()
                    );
                } else {
                    eprintln!(
                        "{}: its drive is not connected; its photos are kept (offline) until it is back",
                        path.display()
                    );
                }
            }
            WatchEvent::Folders(folders) => {
                for f in folders {
                    match &f.polled {
                        None => eprintln!(
                            "watching {} ({} folders)",
                            f.path.display(),
                            f.watched_folders
                        ),
                        Some(why) => eprintln!("{}: {why}", f.path.display()),
                    }
                }
            }
            WatchEvent::RunDue(why) => {
                eprintln!("{why}");
                // The words wait: new photos are searchable by look first.
                lib.pause_words();
                // Ctrl-C cancels the run; the watch then ends.
                index(lib, stop).map_err(internal)?;
                let _ = wake_reader.send(());
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// Ctrl-C and SIGTERM set the flag: the import or download stops between steps, cleanly.
pub(crate) fn cancel_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let cancel = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&cancel))?;
    }
    Ok(cancel)
}
