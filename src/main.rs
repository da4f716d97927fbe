//! `clipstream`: search your photos by what is in them, from the command line.
//!
//! A thin layer over `clipstream-core`; errors are printed with their context chain and mapped to
//! distinct exit codes: 2 usage, 3 model or ONNX Runtime missing, 1 any other failure.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};
use clipstream_core::{Error, Model, TextEncoder, embed, model, runtime};

#[derive(Parser)]
#[command(
    name = "clipstream",
    version,
    about = "Search your photos by what is in them, offline"
)]
struct Cli {
    /// Model folder holding manifest.json (default: $CLIPSTREAM_MODEL, then
    /// $XDG_DATA_HOME/clipstream/model).
    #[arg(long, global = true, value_name = "DIR")]
    model: Option<PathBuf>,

    /// Threads ONNX Runtime uses per model run (default: all cores).
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check that ONNX Runtime and the model load, and encode a sample query.
    Doctor {
        /// The query to encode.
        #[arg(default_value = "dog on a beach at sunset")]
        query: String,
    },
}

const EXIT_FAILURE: u8 = 1;
const EXIT_MISSING_MODEL: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            let missing = matches!(
                err.downcast_ref::<Error>(),
                Some(
                    Error::ModelMissing { .. }
                        | Error::ModelNotFound { .. }
                        | Error::RuntimeMissing { .. }
                )
            );
            ExitCode::from(if missing {
                EXIT_MISSING_MODEL
            } else {
                EXIT_FAILURE
            })
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let threads = cli.threads.unwrap_or_else(embed::default_threads);
    match cli.command {
        Command::Doctor { query } => {
            runtime::environment()?;
            let found = runtime::library_candidates()
                .into_iter()
                .find(|p| p.is_file());
            println!(
                "ONNX Runtime: {}",
                found.map_or("?".into(), |p| p.display().to_string())
            );
            let dir = model::locate(cli.model.as_deref())?;
            let model = Model::open(&dir)
                .with_context(|| format!("opening the model in {}", dir.display()))?;
            let m = &model.manifest;
            println!(
                "Model: {} ({}-d) in {}",
                m.model_id,
                m.embedding_dim,
                dir.display()
            );
            let started = Instant::now();
            let encoder = TextEncoder::new(&model, threads)?;
            let loaded = started.elapsed();
            let ids = encoder.token_ids(&query)?;
            let started = Instant::now();
            let vector = encoder.encode(&query)?;
            println!(
                "Encoded {query:?}: {} tokens → {} dims in {:.1} ms (text model loaded in {:.0} ms, {threads} threads)",
                ids.len(),
                vector.len(),
                started.elapsed().as_secs_f64() * 1000.0,
                loaded.as_secs_f64() * 1000.0
            );
        }
    }
    Ok(())
}
