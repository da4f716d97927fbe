//! Downloading a CLIP checkpoint from the Hugging Face Hub: the only code in ClipStream that opens
//! a socket.
//!
//! [`plan`] asks the hub's API what one revision of a repository holds and picks the files the
//! model import needs; [`download`] fetches them from that revision's commit (so a push to the
//! branch mid-download cannot mix two versions) into `NAME.part` files that a later run resumes
//! with a `Range` request, and renames each into place only once it is verified.
//!
//! Verification follows `huggingface_hub`: an LFS file (the weights) is checked against the
//! SHA-256 and size the API lists, never against a response header, because after the hub's
//! redirect to its CDN the `ETag` is the CDN's, not the file's hash; small files stored in git
//! are checked by size.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
pub const DEFAULT_REPO: &str = "openai/clip-vit-base-patch32";
pub const DEFAULT_REVISION: &str = "main";

/// Connecting, and each read: a dead server fails the download instead of hanging it.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Further attempts at one file after a dropped connection, each resuming where the last stopped.
const RETRIES: usize = 3;
/// The first pause before a retry; it doubles with each one.
const RETRY_PAUSE: Duration = Duration::from_millis(250);
const CHUNK: usize = 1 << 20;
/// Progress is reported when this much time has passed or [`CHUNK`] bytes have arrived.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// Left free beyond the download itself: a disk filled to the last byte fails everything else.
const SPACE_MARGIN: u64 = 64 << 20;
/// The API's answer for one revision is a few KiB; this only bounds a misbehaving server.
const API_LIMIT: u64 = 16 << 20;
const USER_AGENT: &str = concat!("clipstream/", env!("CARGO_PKG_VERSION"));

/// The hub to talk to: `$HF_ENDPOINT` if set (as `huggingface_hub` does, e.g. for a mirror), else
/// [`DEFAULT_ENDPOINT`].
pub fn endpoint() -> String {
    match std::env::var("HF_ENDPOINT") {
        Ok(v) if !v.trim().is_empty() => v.trim().trim_end_matches('/').to_owned(),
        _ => DEFAULT_ENDPOINT.to_owned(),
    }
}

/// Which checkpoint to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Scheme and host, like `https://huggingface.co`.
    pub endpoint: String,
    /// `OWNER/NAME`.
    pub repo: String,
    /// A branch, tag or commit; [`DEFAULT_REVISION`] unless asked otherwise.
    pub revision: String,
}

impl Request {
    /// `repo` at [`DEFAULT_REVISION`] on [`endpoint()`].
    pub fn new(repo: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint(),
            repo: repo.into(),
            revision: DEFAULT_REVISION.to_owned(),
        }
    }

    fn base(&self) -> &str {
        self.endpoint.trim_end_matches('/')
    }
}

impl Default for Request {
    fn default() -> Self {
        Self::new(DEFAULT_REPO)
    }
}

/// How far a [`download`] has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The file being fetched.
    pub file: String,
    /// Bytes of `file` on disk, and its size.
    pub done: u64,
    pub total: u64,
    /// The same over all the plan's files.
    pub all_done: u64,
    pub all_total: u64,
}

/// One file of a revision, as the hub lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    pub name: String,
    pub size: u64,
    /// Lower-case hex, for files stored in LFS (the weights); small git files have none.
    pub sha256: Option<String>,
}

/// What [`download`] will fetch: the files the model import needs, from one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The commit the revision resolved to; every file is fetched from it.
    pub commit: String,
    pub files: Vec<RemoteFile>,
    pub total_bytes: u64,
}

/// The API's answer for one revision (`?blobs=true` adds sizes and LFS hashes).
#[derive(Deserialize)]
struct ModelInfo {
    sha: String,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Deserialize)]
struct Sibling {
    rfilename: String,
    size: Option<u64>,
    lfs: Option<Lfs>,
}

#[derive(Deserialize)]
struct Lfs {
    sha256: String,
    size: u64,
}

/// Asks the hub what `req`'s revision holds and picks the files to download: `config.json`,
/// `model.safetensors`, the tokenizer (`vocab.json` + `merges.txt`, else `tokenizer.json`) and
/// `preprocessor_config.json` when there is one.
pub fn plan(req: &Request) -> Result<Plan> {
    check_request(req)?;
    // A revision may be a path like `refs/pr/1`: one URL segment, as huggingface_hub quotes it.
    let url = format!(
        "{}/api/models/{}/revision/{}?blobs=true",
        req.base(),
        req.repo,
        req.revision.replace('/', "%2F")
    );
    let fail = |reason: String| Error::Download {
        url: url.clone(),
        reason,
    };
    let mut response = agent().get(&url).call().map_err(|e| {
        fail(format!(
            "could not reach the hub ({e}); check the network connection, or HF_ENDPOINT if it is set"
        ))
    })?;
    // The hub says which of repository and revision it lacks in X-Error-Code, as huggingface_hub
    // reads it; other servers (mirrors) may not.
    let code = response
        .headers()
        .get("x-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match (response.status().as_u16(), code) {
        (200, _) => {}
        (404, "RevisionNotFound") => {
            return Err(fail(format!(
                "{} has no revision {} on {}",
                req.repo,
                req.revision,
                req.base()
            )));
        }
        (404, _) => {
            return Err(fail(format!(
                "no repository {} (or revision {}) on {}",
                req.repo,
                req.revision,
                req.base()
            )));
        }
        // The hub answers 401, not 404, for a repository it will not show an anonymous client.
        (401, _) => {
            return Err(fail(format!(
                "no repository {} (or revision {}) on {}, or it is private or gated (ClipStream \
                 downloads public repositories only)",
                req.repo,
                req.revision,
                req.base()
            )));
        }
        (status, _) => return Err(fail(status_reason(status))),
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(API_LIMIT)
        .read_to_vec()
        .map_err(|e| fail(e.to_string()))?;
    let info: ModelInfo = serde_json::from_slice(&body)
        .map_err(|e| fail(format!("the hub's answer is not the JSON expected: {e}")))?;
    if !is_hex(&info.sha, 40) {
        return Err(fail(format!(
            "the hub's answer names no commit (sha {:?})",
            info.sha
        )));
    }
    let files = choose_files(&req.repo, &info.siblings).map_err(fail)?;
    Ok(Plan {
        commit: info.sha.to_ascii_lowercase(),
        total_bytes: files.iter().map(|f| f.size).sum(),
        files,
    })
}

/// Downloads every file of `plan` into `dest` (created if needed) and returns `dest`.
///
/// Files already in `dest` and intact are kept; a `NAME.part` left by an earlier run is resumed.
/// A dropped connection is retried a few times, resuming each time. `cancel` is checked between
/// chunks: setting it returns [`Error::Cancelled`] and keeps the `.part` files for the next run.
pub fn download(
    plan: &Plan,
    req: &Request,
    dest: &Path,
    progress: &mut dyn FnMut(&Progress),
    cancel: &AtomicBool,
) -> Result<PathBuf> {
    check_request(req)?;
    if !is_hex(&plan.commit, 40) {
        return Err(Error::Repository {
            repo: req.repo.clone(),
            reason: format!(
                "not a commit id: {:?}; make the plan with hub::plan",
                plan.commit
            ),
        });
    }
    // Files that are not simple names would be written outside `dest`.
    if let Some(f) = plan.files.iter().find(|f| !is_plain_name(&f.name)) {
        return Err(Error::Repository {
            repo: req.repo.clone(),
            reason: format!("lists a file that is not a plain name: {:?}", f.name),
        });
    }

    // What is still missing, and whether it fits: checked before any byte is written.
    let mut todo = Vec::new();
    let mut missing = 0;
    for file in &plan.files {
        if is_complete(&dest.join(&file.name), file)? {
            // A part left beside a complete file is of no further use.
            let _ = fs::remove_file(part_path(dest, file));
            continue;
        }
        // A part longer than the file is not a prefix of it: it starts over.
        let have = fs::metadata(part_path(dest, file)).map_or(0, |m| m.len());
        missing += file.size - if have <= file.size { have } else { 0 };
        todo.push(file);
    }
    if missing > 0 {
        let free = free_space(dest)?;
        let needed = missing.saturating_add(SPACE_MARGIN);
        if free < needed {
            return Err(Error::DiskFull {
                path: dest.to_owned(),
                reason: format!(
                    "downloading {} needs {} plus {} to spare, but only {} is free",
                    req.repo,
                    size_text(missing),
                    size_text(SPACE_MARGIN),
                    size_text(free)
                ),
            });
        }
    }
    fs::create_dir_all(dest).map_err(|e| io_error(dest, e))?;

    let agent = agent();
    let mut report = Reporter {
        progress,
        all_total: plan.files.iter().map(|f| f.size).sum(),
        finished: 0,
        last: None,
    };
    for file in &plan.files {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        if todo.iter().any(|t| t.name == file.name) {
            let url = format!(
                "{}/{}/resolve/{}/{}",
                req.base(),
                req.repo,
                plan.commit,
                file.name
            );
            fetch(&agent, &url, file, dest, &mut report, cancel)?;
        }
        report.file_done(file);
    }
    // The renames are durable only once the folder itself is.
    File::open(dest)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dest, e))?;
    Ok(dest.to_owned())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .user_agent(USER_AGENT)
        .timeout_connect(Some(TIMEOUT))
        .timeout_per_read(Some(TIMEOUT))
        // Statuses are answered here, each with its own message.
        .http_status_as_error(false)
        .max_redirects(5)
        .build()
        .new_agent()
}

fn check_request(req: &Request) -> Result<()> {
    let segment = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    let repo_ok =
        matches!(req.repo.split_once('/'), Some((owner, name)) if segment(owner) && segment(name));
    if !repo_ok {
        return Err(Error::Repository {
            repo: req.repo.clone(),
            reason: format!(
                "not a Hugging Face repository; expected OWNER/NAME, like {DEFAULT_REPO}"
            ),
        });
    }
    if !req.revision.split('/').all(segment) {
        return Err(Error::Repository {
            repo: req.repo.clone(),
            reason: format!(
                "not a revision: {:?}; expected a branch, tag or commit, like {DEFAULT_REVISION}",
                req.revision
            ),
        });
    }
    Ok(())
}

/// Picks the files the model import reads; the reason names what is missing.
fn choose_files(repo: &str, siblings: &[Sibling]) -> Result<Vec<RemoteFile>, String> {
    let find = |name: &str| siblings.iter().find(|s| s.rfilename == name);
    let mut chosen = Vec::new();
    chosen.push(find("config.json").ok_or_else(|| {
        format!("{repo} has no config.json, so it is not a checkpoint ClipStream can import")
    })?);
    match (find("model.safetensors"), find("pytorch_model.bin")) {
        (Some(weights), _) => chosen.push(weights),
        (None, Some(_)) => {
            return Err(format!(
                "{repo} has only PyTorch pickle weights (pytorch_model.bin), which ClipStream does \
                 not load because loading a pickle can run code. Convert them to \
                 model.safetensors (the hub's \"Convert to Safetensors\" space, or `python -c \
                 \"import torch, safetensors.torch as st; st.save_file(torch.load('pytorch_model.bin', \
                 weights_only=True), 'model.safetensors')\"` in a folder holding the repository's \
                 files), then run `clipstream model import DIR` on that folder"
            ));
        }
        (None, None) => return Err(format!("{repo} has no model.safetensors")),
    }
    match (
        find("vocab.json"),
        find("merges.txt"),
        find("tokenizer.json"),
    ) {
        (Some(vocab), Some(merges), _) => chosen.extend([vocab, merges]),
        (_, _, Some(tokenizer)) => chosen.push(tokenizer),
        _ => {
            return Err(format!(
                "{repo} has no tokenizer: neither vocab.json with merges.txt nor tokenizer.json"
            ));
        }
    }
    chosen.extend(find("preprocessor_config.json"));
    chosen.into_iter().map(remote_file).collect()
}

fn remote_file(s: &Sibling) -> Result<RemoteFile, String> {
    let name = s.rfilename.clone();
    match &s.lfs {
        Some(lfs) if is_hex(&lfs.sha256, 64) => Ok(RemoteFile {
            name,
            size: lfs.size,
            sha256: Some(lfs.sha256.to_ascii_lowercase()),
        }),
        Some(lfs) => Err(format!(
            "the hub lists {name} with a malformed SHA-256 {:?}",
            lfs.sha256
        )),
        None => Ok(RemoteFile {
            size: s
                .size
                .ok_or_else(|| format!("the hub lists no size for {name}"))?,
            name,
            sha256: None,
        }),
    }
}

/// Whether `path` already holds `file` (right size, and right hash where the hub lists one).
fn is_complete(path: &Path, file: &RemoteFile) -> Result<bool> {
    match fs::metadata(path) {
        Ok(m) if m.len() == file.size => {}
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_error(path, e)),
    }
    let Some(expected) = &file.sha256 else {
        return Ok(true);
    };
    let mut hasher = Sha256::new();
    File::open(path)
        .and_then(|mut f| io::copy(&mut f, &mut hasher))
        .map_err(|e| io_error(path, e))?;
    Ok(format!("{:x}", hasher.finalize()) == *expected)
}

/// The space free to this user on the disk that holds (or will hold) `dest`.
fn free_space(dest: &Path) -> Result<u64> {
    // `dest` may not exist yet: ask about the nearest folder that does.
    let at = dest
        .ancestors()
        .find(|p| p.is_dir())
        .unwrap_or(Path::new("."))
        .to_owned();
    let stat = rustix::fs::statvfs(&at).map_err(|e| io_error(&at, e.into()))?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Fetches one file into its `.part`, retrying dropped connections, then verifies and renames it.
fn fetch(
    agent: &ureq::Agent,
    url: &str,
    file: &RemoteFile,
    dest: &Path,
    report: &mut Reporter,
    cancel: &AtomicBool,
) -> Result<()> {
    use backon::{BlockingRetryable, ExponentialBuilder};
    let mut part = Part::open(part_path(dest, file), file.size)?;
    // Each retry resumes where the last attempt stopped; the pauses double (0.25, 0.5, 1 s: short
    // enough that a Cancel meanwhile is answered by the next attempt, which checks it first).
    let backoff = ExponentialBuilder::default()
        .with_min_delay(RETRY_PAUSE)
        .with_max_times(RETRIES);
    let filled = (|| part.fill(agent, url, file, report, cancel))
        .retry(backoff)
        .sleep(std::thread::sleep)
        .when(|e| matches!(e, Attempt::Retry(_)) && !cancel.load(Ordering::Relaxed))
        .call();
    if let Err(Attempt::Retry(failed) | Attempt::Fatal(failed)) = filled {
        // An empty part is no progress to keep.
        if part.len == 0 {
            drop(part);
            let _ = fs::remove_file(part_path(dest, file));
        }
        return Err(if cancel.load(Ordering::Relaxed) {
            Error::Cancelled
        } else {
            failed
        });
    }
    part.finish(url, file, &dest.join(&file.name))
}

fn part_path(dest: &Path, file: &RemoteFile) -> PathBuf {
    dest.join(format!("{}.part", file.name))
}

/// How one attempt at a file failed: worth another try (a dropped connection) or not.
enum Attempt {
    Retry(Error),
    Fatal(Error),
}

/// A file being downloaded: its bytes so far, hashed as they are written.
struct Part {
    path: PathBuf,
    file: File,
    len: u64,
    hasher: Sha256,
}

impl Part {
    /// Opens (or creates) the `.part` and hashes what an earlier run left in it.
    fn open(path: PathBuf, size: u64) -> Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        let mut len = file.metadata().map_err(|e| io_error(&path, e))?.len();
        if len > size {
            // Longer than the file can be: not a prefix of it.
            file.set_len(0).map_err(|e| io_error(&path, e))?;
            len = 0;
        }
        let mut hasher = Sha256::new();
        io::copy(&mut (&mut file).take(len), &mut hasher).map_err(|e| io_error(&path, e))?;
        file.seek(SeekFrom::Start(len))
            .map_err(|e| io_error(&path, e))?;
        Ok(Self {
            path,
            file,
            len,
            hasher,
        })
    }

    fn restart(&mut self) -> Result<()> {
        self.file
            .set_len(0)
            .and_then(|()| self.file.seek(SeekFrom::Start(0)))
            .map_err(|e| io_error(&self.path, e))?;
        self.len = 0;
        self.hasher = Sha256::new();
        Ok(())
    }

    /// One request: appends the rest of the file, from `self.len` on.
    fn fill(
        &mut self,
        agent: &ureq::Agent,
        url: &str,
        file: &RemoteFile,
        report: &mut Reporter,
        cancel: &AtomicBool,
    ) -> Result<(), Attempt> {
        let fatal = Attempt::Fatal;
        let fail = |reason: String| Error::Download {
            url: url.to_owned(),
            reason,
        };
        if self.len == file.size {
            // A complete part from an earlier run: it only needs verifying.
            return Ok(());
        }
        let mut request = agent.get(url);
        if self.len > 0 {
            request = request.header("Range", format!("bytes={}-", self.len));
        }
        let mut response = request.call().map_err(|e| {
            let retry = matches!(
                e,
                ureq::Error::Io(_)
                    | ureq::Error::Timeout(_)
                    | ureq::Error::ConnectionFailed
                    | ureq::Error::HostNotFound
                    | ureq::Error::Protocol(_)
            );
            let e = fail(format!(
                "{e}; run the same command again to resume{}",
                resumed_at(self.len)
            ));
            if retry { Attempt::Retry(e) } else { fatal(e) }
        })?;
        let status = response.status().as_u16();
        let start = match status {
            206 => content_range_start(response.headers()),
            200 => Some(0),
            // The server knows no such range: the part is not a prefix of its file.
            416 => None,
            404 => {
                return Err(fatal(fail(format!(
                    "the hub has no {} at this commit",
                    file.name
                ))));
            }
            401 | 403 => {
                return Err(fatal(fail(format!(
                    "access denied (HTTP {status}); the repository may be private or gated"
                ))));
            }
            408 | 429 | 500..=599 => {
                return Err(Attempt::Retry(fail(format!(
                    "{}; run the same command again later to resume{}",
                    status_reason(status),
                    resumed_at(self.len)
                ))));
            }
            _ => return Err(fatal(fail(status_reason(status)))),
        };
        if start != Some(self.len) {
            // A 200 to a Range request (the server ignored it) sends the whole file again.
            self.restart().map_err(fatal)?;
            if start != Some(0) {
                return Err(Attempt::Retry(fail(format!(
                    "the server did not resume {} at byte {} (HTTP {status})",
                    file.name, self.len
                ))));
            }
        }
        if let Some(length) = response.body().content_length()
            && self.len + length != file.size
        {
            return Err(fatal(fail(format!(
                "the server offers {} bytes from byte {}, but the hub lists {} bytes for {}",
                length, self.len, file.size, file.name
            ))));
        }

        let mut body = response.body_mut().as_reader();
        let mut buf = vec![0; CHUNK];
        report.file_progress(file, self.len, true);
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(fatal(Error::Cancelled));
            }
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Attempt::Retry(fail(format!(
                        "the connection broke after {} of {} bytes of {} ({e}); run the same \
                         command again to resume",
                        self.len, file.size, file.name
                    ))));
                }
            };
            let chunk = &buf[..n];
            if self.len + n as u64 > file.size {
                return Err(fatal(fail(format!(
                    "the server sent more than the {} bytes the hub lists for {}",
                    file.size, file.name
                ))));
            }
            self.file
                .write_all(chunk)
                .map_err(|e| fatal(io_error(&self.path, e)))?;
            self.hasher.update(chunk);
            self.len += n as u64;
            report.file_progress(file, self.len, false);
        }
        if self.len < file.size {
            return Err(Attempt::Retry(fail(format!(
                "the server closed the connection after {} of {} bytes of {}; run the same \
                 command again to resume",
                self.len, file.size, file.name
            ))));
        }
        Ok(())
    }

    /// Checks the complete part against the plan and renames it into place; a part that does not
    /// match is deleted, so the next run starts it afresh.
    fn finish(mut self, url: &str, file: &RemoteFile, to: &Path) -> Result<()> {
        self.file.sync_all().map_err(|e| io_error(&self.path, e))?;
        let mismatch = if self.len != file.size {
            Some(format!(
                "{} has {} bytes but the hub lists {}",
                file.name, self.len, file.size
            ))
        } else if let Some(expected) = &file.sha256 {
            let actual = format!("{:x}", self.hasher.finalize_reset());
            (actual != *expected).then(|| {
                format!(
                    "{} has SHA-256 {actual} but the hub lists {expected}",
                    file.name
                )
            })
        } else {
            None
        };
        if let Some(what) = mismatch {
            drop(self.file);
            fs::remove_file(&self.path).map_err(|e| io_error(&self.path, e))?;
            return Err(Error::Download {
                url: url.to_owned(),
                reason: format!("{what}: the download is corrupt and was deleted; run again"),
            });
        }
        fs::rename(&self.path, to).map_err(|e| io_error(to, e))
    }
}

/// Calls the progress callback at a bounded rate.
struct Reporter<'a> {
    progress: &'a mut dyn FnMut(&Progress),
    all_total: u64,
    /// Bytes of the files finished so far.
    finished: u64,
    /// When the last report was, and how far the file had got.
    last: Option<(Instant, u64)>,
}

impl Reporter<'_> {
    fn file_progress(&mut self, file: &RemoteFile, done: u64, force: bool) {
        let due = match self.last {
            None => true,
            Some((at, bytes)) => {
                at.elapsed() >= PROGRESS_EVERY || done.saturating_sub(bytes) >= CHUNK as u64
            }
        };
        if force || due {
            self.last = Some((Instant::now(), done));
            (self.progress)(&Progress {
                file: file.name.clone(),
                done,
                total: file.size,
                all_done: self.finished + done,
                all_total: self.all_total,
            });
        }
    }

    /// Every file ends with one report of it complete, fetched or already there.
    fn file_done(&mut self, file: &RemoteFile) {
        self.file_progress(file, file.size, true);
        self.finished += file.size;
        self.last = None;
    }
}

/// The first byte of a 206 answer's `Content-Range: bytes START-END/SIZE` (or `START-END/*`).
fn content_range_start(headers: &ureq::http::HeaderMap) -> Option<u64> {
    use http_content_range::ContentRange;
    match ContentRange::parse_bytes(headers.get("content-range")?.as_bytes())? {
        ContentRange::Bytes(range) => Some(range.first_byte),
        ContentRange::UnboundBytes(range) => Some(range.first_byte),
        ContentRange::Unsatisfied(_) => None,
    }
}

fn status_reason(status: u16) -> String {
    match status {
        429 => "the hub answered HTTP 429 (too many requests)".to_owned(),
        500..=599 => format!("the hub answered HTTP {status} (a server error)"),
        _ => format!("the hub answered HTTP {status}"),
    }
}

fn resumed_at(len: u64) -> String {
    if len > 0 {
        format!(" (from byte {len})")
    } else {
        String::new()
    }
}

/// A full disk is told apart from other I/O errors: its fix is different.
fn io_error(path: &Path, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::StorageFull || e.raw_os_error() == Some(libc::ENOSPC) {
        Error::DiskFull {
            path: path.to_owned(),
            reason: e.to_string(),
        }
    } else {
        Error::Io {
            path: path.to_owned(),
            reason: e.to_string(),
        }
    }
}

/// `s` is `len` hex digits (a git commit: 40; a SHA-256: 64).
fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && hex::decode(s).is_ok()
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\'])
}

/// Decimal units, as disk sizes are sold and file managers show them.
fn size_text(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        1_000_000_000_000.. => format!("{:.1} TB", b / 1e12),
        1_000_000_000.. => format!("{:.1} GB", b / 1e9),
        1_000_000.. => format!("{:.0} MB", b / 1e6),
        _ => format!("{} kB", bytes.div_ceil(1000)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sibling(name: &str) -> Sibling {
        Sibling {
            rfilename: name.to_owned(),
            size: Some(1),
            lfs: None,
        }
    }

    fn names(files: &[RemoteFile]) -> Vec<&str> {
        files.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn chooses_split_tokenizer_over_tokenizer_json() {
        let all = [
            "config.json",
            "model.safetensors",
            "pytorch_model.bin",
            "vocab.json",
            "merges.txt",
            "tokenizer.json",
            "preprocessor_config.json",
        ]
        .map(sibling);
        let files = choose_files("a/b", &all).expect("chosen");
        assert_eq!(
            names(&files),
            [
                "config.json",
                "model.safetensors",
                "vocab.json",
                "merges.txt",
                "preprocessor_config.json"
            ]
        );
        let fast = ["config.json", "model.safetensors", "tokenizer.json"].map(sibling);
        let files = choose_files("a/b", &fast).expect("chosen");
        assert_eq!(
            names(&files),
            ["config.json", "model.safetensors", "tokenizer.json"]
        );
    }

    #[test]
    fn names_what_is_missing() {
        let no_tokenizer = ["config.json", "model.safetensors", "vocab.json"].map(sibling);
        let e = choose_files("a/b", &no_tokenizer).expect_err("no tokenizer");
        assert!(e.contains("a/b has no tokenizer"), "{e}");
        let no_config = ["model.safetensors", "tokenizer.json"].map(sibling);
        let e = choose_files("a/b", &no_config).expect_err("no config");
        assert!(e.contains("no config.json"), "{e}");
    }

    #[test]
    fn rejects_names_that_would_leave_the_url_or_folder() {
        let mut req = Request::new("openai/clip-vit-base-patch32");
        assert!(check_request(&req).is_ok());
        req.revision = "refs/pr/1".to_owned();
        assert!(check_request(&req).is_ok());
        for bad in ["../x", "x", "a/b/c", "a/b?c", "a/.."] {
            req.repo = bad.to_owned();
            assert!(check_request(&req).is_err(), "{bad}");
        }
        req.repo = DEFAULT_REPO.to_owned();
        req.revision = "main/../x".to_owned();
        assert!(check_request(&req).is_err());
        assert!(!is_plain_name("../config.json"));
        assert!(!is_plain_name("sub/config.json"));
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(size_text(605_157_884), "605 MB");
        assert_eq!(size_text(1_500_000_000), "1.5 GB");
        assert_eq!(size_text(1 << 50), "1125.9 TB");
        assert_eq!(size_text(4519), "5 kB");
    }
}
