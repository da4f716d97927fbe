//! `clipstream`: search your photos by what is in them, from the command line.
//!
//! A thin layer over `clipstream-core`'s [`Library`]. Errors are printed with their context chain
//! and mapped to exit codes: 1 failure, 2 usage, 3 model or ONNX Runtime missing, 4 the library was
//! built with another model.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use clipstream_core::watch::{WatchEvent, WatchOptions, watch_library};
use clipstream_core::{
    Error, Filters, IndexBuild, Library, Model, Options, Progress, Request, Results, Sort, date,
    embed,
};
use clipstream_core::{Phase, duplicates, library, model, runtime};
use indicatif::{ProgressBar, ProgressStyle};
use signal_hook::consts::{SIGINT, SIGTERM};

#[derive(Parser)]
#[command(
    name = "clipstream",
    version,
    about = "Search your photos by what is in them, offline"
)]
struct Cli {
    /// Library folder (default: $CLIPSTREAM_LIBRARY, then $XDG_DATA_HOME/clipstream/library).
    #[arg(long, global = true, value_name = "DIR")]
    library: Option<PathBuf>,

    /// Model folder holding manifest.json (default: $CLIPSTREAM_MODEL, then
    /// $XDG_DATA_HOME/clipstream/model).
    #[arg(long, global = true, value_name = "DIR")]
    model: Option<PathBuf>,

    /// Cores to use: threads per model run, and image decoders while indexing (default: all
    /// cores). Fewer leaves the rest free for other work.
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Add folders (remembered) and index them; with no folder, re-scan the remembered ones.
    Index {
        folders: Vec<PathBuf>,
        /// Drop every embedding and index again (after changing the model).
        #[arg(long)]
        reindex: bool,
        /// Read every skipped file again (one that crashed the decoder, or whose permissions
        /// were fixed), not only those that changed.
        #[arg(long)]
        retry_skipped: bool,
    },
    /// Search by text; combine terms with + and -, weight them with 2:term, or name an image file
    /// to search by it.
    Search {
        query: String,
        #[command(flatten)]
        show: Show,
        #[arg(long, value_enum, default_value = "relevance")]
        sort: SortArg,
        #[command(flatten)]
        filters: FilterArgs,
    },
    /// Find images that look like IMAGE (which need not be in the library).
    Similar {
        image: PathBuf,
        #[command(flatten)]
        show: Show,
        #[command(flatten)]
        filters: FilterArgs,
    },
    /// Every image, newest first (date taken; undated ones last); filters as for search.
    List {
        /// Print a JSON array: each image's path, date taken (or null), format, size in pixels
        /// and bytes, and its RAW twin.
        #[arg(long)]
        json: bool,
        /// At most this many images (default: all).
        #[arg(short = 'k', long = "limit", value_parser = clap::value_parser!(u64).range(1..))]
        limit: Option<u64>,
        #[command(flatten)]
        filters: FilterArgs,
    },
    /// Groups of identical files and of near-identical photos (bursts, resized or re-encoded
    /// copies), largest saving first, the suggested photo to keep first in each.
    Duplicates {
        /// Print a JSON array of groups: {"kind": "identical" | "similar", "images": [...]}.
        #[arg(long)]
        json: bool,
        /// Similarity (cosine, 0–1) from which two photos count as near-identical.
        #[arg(long, default_value_t = duplicates::DEFAULT_THRESHOLD)]
        threshold: f32,
    },
    /// Move catalogued photos to the desktop's trash (restorable; never deleted) and forget them.
    Trash {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Images, skipped files and folders in the library.
    Status {
        #[arg(long)]
        json: bool,
        /// List every skipped file with its reason.
        #[arg(long)]
        skipped: bool,
    },
    /// Keep the library up to date by itself: add FOLDERs (remembered), index, then index again
    /// whenever a photo is added, changed, moved or deleted, until Ctrl-C or SIGTERM (exit 0).
    Watch { folders: Vec<PathBuf> },
    /// Forget a folder and its images (the photos themselves are not touched); also a folder
    /// whose drive is not connected.
    Remove { folder: PathBuf },
    /// Get the CLIP model: import a downloaded Hugging Face checkpoint, or download one.
    Model {
        #[command(subcommand)]
        action: ModelCommand,
    },
    /// Check that ONNX Runtime and the model load, and encode a sample query.
    Doctor {
        #[arg(default_value = "dog on a beach at sunset")]
        query: String,
    },
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Turn a Hugging Face CLIP checkpoint folder (config.json, model.safetensors, vocab.json +
    /// merges.txt or tokenizer.json) into ClipStream's model folder. No Python needed.
    Import {
        /// The checkpoint folder (a `git clone` of a hub repository, or its files downloaded).
        dir: PathBuf,
        /// Where to write the model (default: $XDG_DATA_HOME/clipstream/model, where the app and
        /// the CLI look); a model already there is replaced only when the new one is complete.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// The id recorded in the manifest (default: the checkpoint's own name).
        #[arg(long)]
        model_id: Option<String>,
    },
    /// Download a CLIP checkpoint from the Hugging Face Hub ($HF_ENDPOINT if set), check each
    /// file's SHA-256, and import it. An interrupted download resumes when run again.
    Get {
        /// The hub repository.
        #[arg(default_value = clipstream_core::hub::DEFAULT_REPO)]
        repo: String,
        /// A branch, tag or commit of the repository.
        #[arg(long, default_value = clipstream_core::hub::DEFAULT_REVISION)]
        revision: String,
        /// Where to write the model (default: $XDG_DATA_HOME/clipstream/model).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct Show {
    /// How many results at most.
    #[arg(short = 'k', long = "limit", default_value_t = 20)]
    k: usize,
    /// Print a JSON array, best first.
    #[arg(long)]
    json: bool,
    /// Show every result, ignoring the relevance cutoff.
    #[arg(long)]
    all: bool,
}

#[derive(clap::Args)]
struct FilterArgs {
    /// Only images under this folder (repeatable).
    #[arg(long = "folder", value_name = "DIR")]
    folders: Vec<PathBuf>,
    /// Only images taken on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "DAY")]
    from: Option<String>,
    /// Only images taken on or before this day, the whole day included (YYYY-MM-DD).
    #[arg(long, value_name = "DAY", conflicts_with = "until")]
    to: Option<String>,
    /// Only images taken before this day, the day itself excluded (YYYY-MM-DD).
    #[arg(long, value_name = "DAY")]
    until: Option<String>,
    /// Only these formats: jpeg, png, webp, gif, bmp, tiff, heic, avif, jxl, raw (repeatable).
    #[arg(long = "type", value_name = "FORMAT")]
    types: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum SortArg {
    Relevance,
    Date,
}

const EXIT_FAILURE: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_MISSING_MODEL: u8 = 3;
const EXIT_MODEL_MISMATCH: u8 = 4;

fn main() -> ExitCode {
    clipstream_core::memory::return_freed_memory();
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
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

fn library_dir(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("CLIPSTREAM_LIBRARY") {
        return Ok(PathBuf::from(dir));
    }
    library::default_dir().context("no data directory; pass --library DIR")
}

fn open(cli: &Cli, with_model: bool, reindex: bool) -> anyhow::Result<Library> {
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
        ..Options::default()
    };
    if let Some(t) = cli.threads {
        options.threads = t.max(1);
        options.decode_threads = t.max(1);
    }
    let model = if with_model {
        let model_dir = model::locate(cli.model.as_deref())?;
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
        } => {
            let lib = open(&cli, true, *reindex)?;
            add_folders(&lib, folders, "index")?;
            if *retry_skipped {
                let n = lib.retry_skipped()?;
                println!("reading {n} skipped files again");
            }
            index(&lib, &AtomicBool::new(false))?;
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
            request.filters = filters.to_filters()?;
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
            let results = lib.similar(image, show.k, show.all, &filters.to_filters()?)?;
            print_results(&results, show.json)?;
        }
        Command::List {
            json,
            limit,
            filters,
        } => {
            let lib = open(&cli, false, false)?;
            list(&lib, &filters.to_filters()?, *limit, *json)?;
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
                import_model(&cli, dir, out.as_deref(), model_id.clone())?
            }
            ModelCommand::Get {
                repo,
                revision,
                out,
            } => get_model(&cli, repo, revision, out.as_deref())?,
        },
        Command::Doctor { query } => doctor(&cli, query)?,
    }
    Ok(())
}

impl FilterArgs {
    fn to_filters(&self) -> anyhow::Result<Filters> {
        let day = |text: &Option<String>, parse: fn(&str) -> Result<i64, String>| {
            text.as_deref()
                .map(|d| parse(d).map_err(|e| anyhow::Error::from(Usage(e))))
                .transpose()
        };
        Ok(Filters {
            folders: self
                .folders
                .iter()
                .map(|f| std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()))
                .collect(),
            folder_ids: Vec::new(),
            taken_from: day(&self.from, date::day_start)?,
            taken_until: match day(&self.to, date::day_end)? {
                Some(end) => Some(end),
                None => day(&self.until, date::day_start)?,
            },
            formats: self.types.clone(),
        })
    }
}

/// One folder of `status`: online or offline (since when, why), and the parts it could not read.
fn print_folder(f: &clipstream_core::library::FolderStatus) {
    let state = match &f.offline {
        None => "online".to_string(),
        Some(off) => match off.since.and_then(date::moment) {
            Some(since) => format!("OFFLINE since {since}: {}; its photos are kept", off.reason),
            None => format!("OFFLINE: {}; its photos are kept", off.reason),
        },
    };
    println!(
        "folder:  {} ({} images) {state}",
        f.path.display(),
        f.images
    );
    for part in &f.unreadable {
        println!(
            "         not read: {}: {} (its photos are kept)",
            part.path.display(),
            part.reason
        );
    }
}

fn print_results(results: &Results, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&results.hits)?);
        return Ok(());
    }
    for hit in &results.hits {
        let offline = if hit.offline {
            "  (offline: its drive is not connected)"
        } else {
            ""
        };
        println!("{:.3}  {}{offline}", hit.score, hit.path.display());
    }
    if results.hits.is_empty() {
        println!("no confident matches");
    }
    if results.hidden > 0 {
        println!(
            "({} weaker matches hidden below score {:.3}; --all shows them)",
            results.hidden,
            results.cutoff.unwrap_or(0.0)
        );
    }
    Ok(())
}

/// Every image `filters` keep, newest first, read page by page (a million images never sit in
/// one answer); JSON is streamed as one array.
fn list(lib: &Library, filters: &Filters, limit: Option<u64>, json: bool) -> anyhow::Result<()> {
    use std::io::Write;
    const PAGE: usize = 1000;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut left = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let mut after = None;
    let mut first = true;
    if json {
        write!(out, "[")?;
    }
    while left > 0 {
        let page = lib.list(filters, after, PAGE.min(left))?;
        for image in &page.images {
            let taken = image.taken_at.and_then(date::text);
            if json {
                let item = serde_json::json!({
                    "id": image.id,
                    "path": image.path.to_string_lossy(),
                    "taken": taken,
                    "format": image.format,
                    "width": image.width,
                    "height": image.height,
                    "size": image.size,
                    "twin": image.twin.as_ref().map(|t| t.path.to_string_lossy()),
                });
                write!(out, "{}\n  {item}", if first { "" } else { "," })?;
                first = false;
            } else {
                let taken = taken.unwrap_or_else(|| "(no date)".into());
                writeln!(out, "{taken:<19}  {}", image.path.display())?;
            }
        }
        // Folded RAW twins count once: the page may be shorter than asked.
        left = left.saturating_sub(page.images.len());
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    if json {
        writeln!(out, "{}]", if first { "" } else { "\n" })?;
    }
    out.flush()?;
    Ok(())
}

fn print_duplicates(groups: &[duplicates::Group], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(groups)?);
        return Ok(());
    }
    for g in groups {
        let kind = match g.kind {
            duplicates::Kind::Identical => "identical files",
            duplicates::Kind::Similar => "near-identical photos",
        };
        println!(
            "{} {kind}, {:.1} MB to free (keep the first: {})",
            g.images.len(),
            g.reclaimable as f64 / 1e6,
            g.keep_because
        );
        for (i, m) in g.images.iter().enumerate() {
            let taken = m
                .taken_at
                .and_then(date::text)
                .unwrap_or_else(|| "(no date)".into());
            println!(
                "  {} {:>9}x{:<5} {:>8.2} MB  {taken:<19}  {}",
                if i == 0 { "keep" } else { "    " },
                m.width,
                m.height,
                m.size as f64 / 1e6,
                m.path.display()
            );
        }
    }
    if groups.is_empty() {
        println!("no duplicates");
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

/// Index, then index again whenever the folders change, until Ctrl-C or SIGTERM: the first
/// signal stops cleanly (a run in progress is cancelled, what it did is kept), a second one at once.
fn watch(lib: &Library) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))?;
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    watch_library(lib, WatchOptions::default(), &stop, &mut |event| {
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
                // Ctrl-C cancels the run; the watch then ends.
                index(lib, &stop).map_err(|e| match e.downcast::<Error>() {
                    Ok(e) => e,
                    Err(e) => Error::Internal(format!("{e:#}")),
                })?;
            }
        }
        Ok(())
    })?;
    eprintln!("stopped watching");
    Ok(())
}

/// A progress bar on a terminal; plain lines, at most one every few seconds, otherwise.
struct Reporter {
    bar: Option<ProgressBar>,
    last_line: Instant,
}

impl Reporter {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Self {
            bar,
            last_line: Instant::now() - Duration::from_secs(60),
        }
    }

    fn update(&mut self, p: &Progress) {
        if let Some(holder) = &p.waiting_for {
            eprintln!("{holder} is updating this library; waiting for it to finish (Ctrl-C stops)");
            return;
        }
        let eta = p.eta_s.map_or(String::new(), |s| format!(", ETA {s:.0}s"));
        let msg = format!(
            "found {}, skipped {}, {:.1} images/s{eta}",
            p.found, p.skipped, p.images_per_s
        );
        match &self.bar {
            Some(bar) => {
                bar.set_length(p.to_process);
                bar.set_position(p.done);
                bar.set_message(msg);
            }
            None if p.phase == Phase::Done
                || (p.phase == Phase::Indexing
                    && p.to_process > 0
                    && self.last_line.elapsed() > Duration::from_secs(2)) =>
            {
                eprintln!("{}/{} done, {msg}", p.done, p.to_process);
                self.last_line = Instant::now();
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `model import`: writes the model where the app and the CLI look for it, unless told otherwise.
fn import_model(
    cli: &Cli,
    source: &Path,
    out: Option<&Path>,
    model_id: Option<String>,
) -> anyhow::Result<()> {
    runtime::environment()?;
    let out = model_out(out)?;
    let options = import_options(cli, model_id);
    let cancel = cancel_on_signals()?;
    let imported = clipstream_core::import::import(
        source,
        &out,
        &options,
        &mut |step| eprintln!("{step}…"),
        &cancel,
    )?;
    report_import(cli, &imported);
    Ok(())
}

fn import_options(cli: &Cli, model_id: Option<String>) -> clipstream_core::import::Options {
    clipstream_core::import::Options {
        model_id,
        extra: None,
        threads: cli.threads.unwrap_or_else(embed::default_threads),
    }
}

/// Ctrl-C and SIGTERM set the flag: the import or download stops between steps, cleanly.
fn cancel_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let cancel = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&cancel))?;
    }
    Ok(cancel)
}

fn model_out(out: Option<&Path>) -> anyhow::Result<PathBuf> {
    match out {
        Some(dir) => Ok(dir.to_path_buf()),
        None => model::user_dir().context("no data directory; pass --out DIR"),
    }
}

/// `model get`: the only command that opens a socket. Ctrl-C stops it; running it again resumes.
fn get_model(cli: &Cli, repo: &str, revision: &str, out: Option<&Path>) -> anyhow::Result<()> {
    use clipstream_core::import::Step;
    runtime::environment()?;
    let out = model_out(out)?;
    let request = clipstream_core::hub::Request {
        endpoint: clipstream_core::hub::endpoint(),
        repo: repo.to_string(),
        revision: revision.to_string(),
    };
    let cancel = cancel_on_signals()?;
    let options = import_options(cli, None);
    let bar = ProgressBar::hidden();
    let imported = clipstream_core::import::get(
        &request,
        &out,
        &options,
        &mut |step| match step {
            Step::Planned(plan) => {
                eprintln!(
                    "{}/{} at {}: {} files, {:.1} MB",
                    request.endpoint,
                    request.repo,
                    &plan.commit[..plan.commit.len().min(12)],
                    plan.files.len(),
                    plan.total_bytes as f64 / 1e6
                );
                bar.set_length(plan.total_bytes);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                if std::io::stderr().is_terminal() {
                    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                }
            }
            Step::Download(p) => {
                bar.set_position(p.all_done);
                bar.set_message(p.file.clone());
            }
            Step::Import(what) => {
                if !bar.is_finished() {
                    bar.finish_and_clear();
                    eprintln!("downloaded and checked (SHA-256)");
                }
                eprintln!("{what}…");
            }
        },
        &cancel,
    )?;
    report_import(cli, &imported);
    Ok(())
}

fn report_import(cli: &Cli, imported: &clipstream_core::import::Imported) {
    println!(
        "Imported {} ({}-d) into {} in {:.1} s:",
        imported.model_id,
        imported.embedding_dim,
        imported.dir.display(),
        imported.seconds
    );
    for (name, bytes) in &imported.files {
        println!("  {name:<24} {:>8.1} MB", *bytes as f64 / 1e6);
    }
    if let Ok(located) = model::locate(cli.model.as_deref())
        && located != imported.dir
    {
        println!(
            "Note: the CLI and the app use {} first (--model or $CLIPSTREAM_MODEL); pass --model {} to use the new one.",
            located.display(),
            imported.dir.display()
        );
    }
}

fn doctor(cli: &Cli, query: &str) -> anyhow::Result<()> {
    let threads = cli.threads.unwrap_or_else(embed::default_threads);
    runtime::environment()?;
    println!("ONNX Runtime: {}", runtime::library_path()?.display());
    let dir = model::locate(cli.model.as_deref())?;
    let model =
        Model::open(&dir).with_context(|| format!("opening the model in {}", dir.display()))?;
    let m = &model.manifest;
    println!(
        "Model: {} ({}-d) in {}",
        m.model_id,
        m.embedding_dim,
        dir.display()
    );
    let started = Instant::now();
    let encoder = clipstream_core::TextEncoder::new(&model, threads)?;
    let loaded = started.elapsed();
    let ids = encoder.token_ids(query)?;
    let started = Instant::now();
    let vector = encoder.encode(query)?;
    if vector.len() != m.embedding_dim {
        bail!(
            "the text model returned {} dimensions, the manifest says {}",
            vector.len(),
            m.embedding_dim
        );
    }
    println!(
        "Encoded {query:?}: {} tokens → {} dims in {:.1} ms (text model loaded in {:.0} ms, {threads} threads)",
        ids.len(),
        vector.len(),
        started.elapsed().as_secs_f64() * 1000.0,
        loaded.as_secs_f64() * 1000.0
    );
    // The library's folders, if there is a library yet: which are online, which are not and why.
    let library = library_dir(cli.library.as_deref())?;
    if library.join(clipstream_core::catalog::DATABASE).is_file() {
        let status = open(cli, false, false)?.status()?;
        println!(
            "Library: {} ({} images, {} skipped)",
            status.library.display(),
            status.images,
            status.skipped
        );
        for f in &status.folders {
            print_folder(f);
        }
    }
    Ok(())
}
