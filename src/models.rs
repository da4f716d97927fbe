//! The commands that set up rather than search: `model import`, `model get` and `doctor`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clipstream_core::{Model, setup};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::Cli;
use crate::output::print_folder;
use crate::{cancel_on_signals, library_dir, open};

/// `model import`: writes the model where the app and the CLI look for it, unless told otherwise.
pub fn import_model(
    cli: &Cli,
    source: &Path,
    out: Option<&Path>,
    model_id: Option<String>,
) -> anyhow::Result<()> {
    setup::runtime()?;
    let out = model_out(out)?;
    let options = import_options(cli, model_id);
    let cancel = cancel_on_signals()?;
    let imported = setup::import(
        source,
        &out,
        &options,
        &mut |step| eprintln!("{step}…"),
        &cancel,
    )?;
    report_import(cli, &imported);
    Ok(())
}

fn import_options(cli: &Cli, model_id: Option<String>) -> setup::ImportOptions {
    setup::ImportOptions {
        model_id,
        extra: None,
        threads: cli.threads.unwrap_or_else(setup::default_threads),
    }
}

fn model_out(out: Option<&Path>) -> anyhow::Result<PathBuf> {
    match out {
        Some(dir) => Ok(dir.to_path_buf()),
        None => setup::user_model_dir().context("no data directory; pass --out DIR"),
    }
}

/// `model get`: the only command that opens a socket. Ctrl-C stops it; running it again resumes.
pub fn get_model(cli: &Cli, repo: &str, revision: &str, out: Option<&Path>) -> anyhow::Result<()> {
    setup::runtime()?;
    let out = model_out(out)?;
    let request = setup::HubRequest {
        endpoint: setup::endpoint(),
        repo: repo.to_string(),
        revision: revision.to_string(),
    };
    let cancel = cancel_on_signals()?;
    let options = import_options(cli, None);
    let bar = ProgressBar::hidden();
    let imported = setup::get(
        &request,
        &out,
        &options,
        &mut |step| match step {
            setup::Step::Planned(plan) => {
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
            setup::Step::Download(p) => {
                bar.set_position(p.all_done);
                bar.set_message(p.file.clone());
            }
            setup::Step::Import(what) => {
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

fn report_import(cli: &Cli, imported: &setup::Imported) {
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
    if let Ok(located) = setup::locate_model(cli.model.as_deref())
        && located != imported.dir
    {
        println!(
            "Note: the CLI and the app use {} first (--model or $CLIPSTREAM_MODEL); pass --model {} to use the new one.",
            located.display(),
            imported.dir.display()
        );
    }
}

pub fn doctor(cli: &Cli, query: &str) -> anyhow::Result<()> {
    let threads = cli.threads.unwrap_or_else(setup::default_threads);
    println!("ONNX Runtime: {}", setup::runtime()?.display());
    let dir = setup::locate_model(cli.model.as_deref())?;
    let model =
        Model::open(&dir).with_context(|| format!("opening the model in {}", dir.display()))?;
    let m = &model.manifest;
    println!(
        "Model: {} ({}-d) in {}",
        m.model_id,
        m.embedding_dim,
        dir.display()
    );
    let check = setup::check_text_model(&model, threads, query)?;
    println!(
        "Encoded {query:?}: {} tokens → {} dims in {:.1} ms (text model loaded in {:.0} ms, {threads} threads)",
        check.tokens,
        check.dimensions,
        check.encode.as_secs_f64() * 1000.0,
        check.load.as_secs_f64() * 1000.0
    );
    match setup::check_words(threads)? {
        Some(check) => println!(
            "OCR: {} in {} (loaded in {:.0} ms); read the sample in {:.0} ms: {}",
            check.reader,
            check.dir.display(),
            check.load.as_secs_f64() * 1000.0,
            check.read.as_secs_f64() * 1000.0,
            check.lines.join(" | ")
        ),
        None => println!(
            "OCR: no models: the words in photos are not read (looked in {}; `make setup` or the \
             package installs them)",
            setup::words_locations()
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    // The library's folders, if there is a library yet: which are online, which are not and why.
    let library = library_dir(cli.library.as_deref())?;
    if setup::has_library(&library) {
        let status = open(cli, false, false)?.status()?;
        println!(
            "Library: {} ({} images, {} skipped)",
            status.library.display(),
            status.images,
            status.skipped
        );
        crate::output::print_words_status(&status.words);
        for f in &status.folders {
            print_folder(f);
        }
    }
    Ok(())
}
