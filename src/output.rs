//! What the command line prints: results, folders, duplicates, the library page by page, and an
//! indexing run's progress.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clipstream_core::{
    DuplicateKind, Filters, FolderStatus, Group, Library, Phase, Progress, Results, WordsStatus,
    date,
};
use indicatif::{ProgressBar, ProgressStyle};

/// One folder of `status`: online or offline (since when, why), and the parts it could not read.
pub fn print_folder(f: &FolderStatus) {
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

pub fn print_results(results: &Results, json: bool) -> anyhow::Result<()> {
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
        if !hit.text.is_empty() {
            let lines: Vec<String> = hit.text.iter().map(|l| format!("{:?}", l.text)).collect();
            println!("       text: {}", lines.join(", "));
        }
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

/// The words read in a photo, by id or path (a file outside the library is read now).
pub fn print_words(lib: &Library, photo: &str, json: bool) -> anyhow::Result<()> {
    let path = std::path::Path::new(photo);
    let catalogued = match photo.parse::<i64>() {
        Ok(id) if !path.exists() => Some(match lib.image(id) {
            Err(clipstream_core::Error::UnknownImage { .. }) => {
                return Err(crate::Usage(format!("no photo {id} in this library")).into());
            }
            found => found?,
        }),
        _ => {
            let abs =
                std::fs::canonicalize(path).map_err(|e| crate::Usage(format!("{photo}: {e}")))?;
            lib.image_at(&abs)?
        }
    };
    let lines = match &catalogued {
        Some(row) => match lib.words(row.id)? {
            Some(lines) => lines,
            None => {
                let status = lib.status()?;
                anyhow::bail!(
                    "the words in {} have not been read yet ({} of {} photos read; `clipstream \
                     index` reads them{})",
                    row.path.display(),
                    status.words.read,
                    status.words.total,
                    if status.words.models.is_none() {
                        ", once the OCR models are installed"
                    } else {
                        ""
                    }
                );
            }
        },
        None => lib.read_words_in_file(path)?,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&lines)?);
    } else if lines.is_empty() {
        println!("no text");
    } else {
        for line in &lines {
            println!("{}", line.text);
        }
    }
    Ok(())
}

/// How far reading the words in photos has come, for `status` and `doctor`.
pub fn print_words_status(words: &WordsStatus) {
    match (&words.models, &words.reader) {
        (Some(dir), Some(reader)) => println!(
            "words:   {} of {} photos read ({reader} in {})",
            words.read,
            words.total,
            dir.display()
        ),
        _ => {
            println!("words:   not read: no OCR models (`make setup` or the package installs them)")
        }
    }
}

/// Every image `filters` keep, newest first, read page by page (a million images never sit in
/// one answer); JSON is streamed as one array.
pub fn list(
    lib: &Library,
    filters: &Filters,
    limit: Option<u64>,
    json: bool,
) -> anyhow::Result<()> {
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

pub fn print_duplicates(groups: &[Group], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(groups)?);
        return Ok(());
    }
    for g in groups {
        let kind = match g.kind {
            DuplicateKind::Identical => "identical files",
            DuplicateKind::Similar => "near-identical photos",
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

/// A progress bar on a terminal; plain lines, at most one every few seconds, otherwise.
pub struct Reporter {
    bar: Option<ProgressBar>,
    last_line: Instant,
}

impl Reporter {
    pub fn new() -> Self {
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

    pub fn update(&mut self, p: &Progress) {
        if let Some(holder) = &p.waiting_for {
            eprintln!("{holder} is updating this library; waiting for it to finish (Ctrl-C stops)");
            return;
        }
        let eta = p.eta_s.map_or(String::new(), |s| format!(", ETA {s:.0}s"));
        let msg = if p.phase == Phase::ReadingWords {
            format!(
                "reading the words in photos, {:.1} photos/s{eta}",
                p.images_per_s
            )
        } else {
            format!(
                "found {}, skipped {}, {:.1} images/s{eta}",
                p.found, p.skipped, p.images_per_s
            )
        };
        match &self.bar {
            Some(bar) => {
                bar.set_length(p.to_process);
                bar.set_position(p.done);
                bar.set_message(msg);
            }
            None if p.phase == Phase::Done
                || (matches!(p.phase, Phase::Indexing | Phase::ReadingWords)
                    && p.to_process > 0
                    && self.last_line.elapsed() > Duration::from_secs(2)) =>
            {
                eprintln!("{}/{} done, {msg}", p.done, p.to_process);
                self.last_line = Instant::now();
            }
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
