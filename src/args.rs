//! The command line's arguments (clap): the commands, and what the search commands share.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use clipstream_core::{DUPLICATE_THRESHOLD, Filters, Library, setup};

use crate::Usage;

#[derive(Parser)]
pub struct Cli {
    /// Library folder (default: $CLIPSTREAM_LIBRARY, then $XDG_DATA_HOME/clipstream/library).
    #[arg(long, global = true, value_name = "DIR")]
    pub library: Option<PathBuf>,

    /// Model folder holding manifest.json (default: $CLIPSTREAM_MODEL, then
    /// $XDG_DATA_HOME/clipstream/model).
    #[arg(long, global = true, value_name = "DIR")]
    pub model: Option<PathBuf>,

    /// Cores to use: threads per model run, and image decoders while indexing (default: all
    /// cores). Fewer leaves the rest free for other work.
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
        /// Do not read the words in photos (OCR) this time; the next run without it reads them.
        #[arg(long)]
        no_words: bool,
    },
    /// Search by text: by what is in the photos and by the words written in them ("quotes" ask
    /// for exact words); combine terms with + and -, weight them with 2:term, or name an image
    /// file to search by it.
    Search {
        query: String,
        #[command(flatten)]
        show: Show,
        #[arg(long, value_enum, default_value = "relevance")]
        sort: SortArg,
        #[command(flatten)]
        filters: FilterArgs,
    },
    /// The words read in a photo (by its id or path; a file outside the library is read now).
    Text {
        /// A catalogued image's id (as `search --json` gives it), or an image file.
        photo: String,
        /// Print JSON: each line's text, box (fractions of the upright photo's sides) and score.
        #[arg(long)]
        json: bool,
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
        #[arg(long, default_value_t = DUPLICATE_THRESHOLD)]
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
pub enum ModelCommand {
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
        #[arg(default_value = setup::DEFAULT_REPO)]
        repo: String,
        /// A branch, tag or commit of the repository.
        #[arg(long, default_value = setup::DEFAULT_REVISION)]
        revision: String,
        /// Where to write the model (default: $XDG_DATA_HOME/clipstream/model).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
pub struct Show {
    /// How many results at most.
    #[arg(short = 'k', long = "limit", default_value_t = 20)]
    pub k: usize,
    /// Print a JSON array, best first.
    #[arg(long)]
    pub json: bool,
    /// Show every result, ignoring the relevance cutoff.
    #[arg(long)]
    pub all: bool,
}

#[derive(clap::Args)]
pub struct FilterArgs {
    /// Only images under this folder (repeatable).
    #[arg(long = "folder", value_name = "DIR")]
    pub folders: Vec<PathBuf>,
    /// Only images taken on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "DAY")]
    pub from: Option<String>,
    /// Only images taken on or before this day, the whole day included (YYYY-MM-DD).
    #[arg(long, value_name = "DAY", conflicts_with = "until")]
    pub to: Option<String>,
    /// Only images taken before this day, the day itself excluded (YYYY-MM-DD).
    #[arg(long, value_name = "DAY")]
    pub until: Option<String>,
    /// Only these formats: jpeg, png, webp, gif, bmp, tiff, heic, avif, jxl, raw (repeatable).
    #[arg(long = "type", value_name = "FORMAT")]
    pub types: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SortArg {
    Relevance,
    Date,
}

impl FilterArgs {
    /// The filters these arguments ask for; each `--folder` must be one of the library's folders
    /// (filters name folders by id), and days are parsed by the core's one day parser.
    pub fn to_filters(&self, library: &Library) -> anyhow::Result<Filters> {
        let mut folder_ids = Vec::new();
        for folder in &self.folders {
            let found = library.folder_at(folder).map_err(|_| {
                Usage(format!(
                    "{} is not a folder of this library",
                    folder.display()
                ))
            })?;
            folder_ids.push(found.id);
        }
        let filters = Filters {
            folder_ids,
            formats: self.types.clone(),
            ..Filters::default()
        };
        Ok(filters.taken(
            self.from.as_deref(),
            self.to.as_deref(),
            self.until.as_deref(),
        )?)
    }
}
