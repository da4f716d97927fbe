//! `hub` against a real HTTP/1.1 server on 127.0.0.1 that plays the Hugging Face Hub: its API
//! answer for a revision, `resolve` URLs that redirect LFS files to a CDN path, and `Range`
//! requests answered with 206. Each test steers the server (drop a connection, list a wrong hash or
//! size, ignore `Range`) and reads back what it was asked.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

use clipstream_core::Error;
use clipstream_core::model::hub::{self, Progress, Request};
use sha2::{Digest, Sha256};

const REPO: &str = "openai/clip-fixture";
const COMMIT: &str = "4b0f1b8a9c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f";
const MODEL: &str = "model.safetensors";
/// Not a multiple of the client's chunk, so the last chunk is a short one.
const MODEL_SIZE: usize = (3 << 20) + 12_345;
const MIB: u64 = 1 << 20;

struct Served {
    name: &'static str,
    bytes: Vec<u8>,
    /// Stored in LFS: listed with a SHA-256 and fetched through a redirect to `/cdn/`.
    lfs: bool,
}

/// What the server does, set by each test.
#[derive(Default)]
struct Control {
    /// Listed by the API instead of the served bytes' hash or size.
    listed_sha256: HashMap<&'static str, String>,
    listed_size: HashMap<&'static str, u64>,
    /// Close the connection after this many body bytes of `/cdn/model.safetensors`, this many
    /// more times.
    drop_after: u64,
    drops_left: u32,
    /// Answer 200 with the whole file to a `Range` request.
    ignore_range: bool,
}

#[derive(Clone, Debug)]
struct Seen {
    path: String,
    range: Option<String>,
    user_agent: Option<String>,
}

struct State {
    files: Vec<Served>,
    control: Control,
    seen: Vec<Seen>,
}

struct Hub {
    base: String,
    state: Arc<Mutex<State>>,
}

impl Hub {
    fn start(files: Vec<Served>) -> Hub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State {
            files,
            control: Control::default(),
            seen: Vec::new(),
        }));
        let (shared, own_base) = (state.clone(), base.clone());
        // Lives as long as the test process; each connection gets a thread.
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (state, base) = (shared.clone(), own_base.clone());
                thread::spawn(move || handle(stream, &state, &base));
            }
        });
        Hub { base, state }
    }

    /// A CLIP-like repository: config, byte-level BPE tokenizer files and safetensors weights.
    fn clip() -> Hub {
        Hub::start(vec![
            served("config.json", br#"{"model_type": "clip"}"#.to_vec()),
            served("vocab.json", br#"{"a": 0, "b": 1, "ab</w>": 2}"#.to_vec()),
            served("merges.txt", b"#version: 0.2\na b</w>\n".to_vec()),
            Served {
                name: MODEL,
                bytes: pseudo_random(MODEL_SIZE),
                lfs: true,
            },
        ])
    }

    fn control(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("server state")
    }

    fn seen(&self) -> Vec<Seen> {
        self.control().seen.clone()
    }

    fn forget_seen(&self) {
        self.control().seen.clear();
    }

    fn bytes(&self, name: &str) -> Vec<u8> {
        let state = self.control();
        let file = state.files.iter().find(|f| f.name == name);
        file.expect("a served file").bytes.clone()
    }

    fn request(&self) -> Request {
        Request {
            endpoint: self.base.clone(),
            repo: REPO.to_owned(),
            revision: "main".to_owned(),
        }
    }
}

fn served(name: &'static str, bytes: Vec<u8>) -> Served {
    Served {
        name,
        bytes,
        lfs: false,
    }
}

/// Deterministic bytes that do not compress (xorshift64).
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// What the server answers one request with.
enum Answer {
    Plain(&'static str, String, Vec<u8>),
    /// A file's bytes, from the `Range` start if one was honoured; `cut` drops the connection.
    File {
        bytes: Vec<u8>,
        range: Option<usize>,
        cut: Option<usize>,
    },
}

fn handle(stream: TcpStream, state: &Mutex<State>, base: &str) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let answer = {
        let mut state = state.lock().expect("server state");
        state.seen.push(Seen {
            path: path.clone(),
            range: headers.get("range").cloned(),
            user_agent: headers.get("user-agent").cloned(),
        });
        answer(&mut state, &path, headers.get("range"), base)
    };
    match answer {
        Answer::Plain(status, headers, body) => respond(stream, status, &headers, &body),
        Answer::File { bytes, range, cut } => serve(stream, &bytes, range, cut),
    }
}

/// Routes a request the way the hub's URLs are laid out.
fn answer(state: &mut State, path: &str, range: Option<&String>, base: &str) -> Answer {
    let not_found = |code: &str, body: &str| {
        let header = format!("X-Error-Code: {code}\r\n");
        Answer::Plain("404 Not Found", header, body.into())
    };
    let range = range
        .filter(|_| !state.control.ignore_range)
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|r| r.parse::<usize>().ok());
    let api = format!("/api/models/{REPO}/revision/");
    let resolve = format!("/{REPO}/resolve/{COMMIT}/");
    if let Some(revision) = path.strip_prefix(&api) {
        return match revision {
            "main?blobs=true" => Answer::Plain(
                "200 OK",
                "Content-Type: application/json\r\n".into(),
                api_answer(state),
            ),
            _ => not_found("RevisionNotFound", r#"{"error": "Invalid rev id"}"#),
        };
    }
    if path.starts_with("/api/models/private/") {
        // What the hub tells an anonymous client about a private repository.
        let header = "X-Error-Code: RepoNotFound\r\n".into();
        return Answer::Plain("401 Unauthorized", header, b"Invalid credentials".into());
    }
    if path.starts_with("/api/models/") {
        return not_found("RepoNotFound", r#"{"error": "Repository not found"}"#);
    }
    if let Some(name) = path.strip_prefix(&resolve) {
        return match state.files.iter().find(|f| f.name == name) {
            // Like the hub: LFS files are on its CDN, small ones are answered here.
            Some(file) if file.lfs => {
                let location = format!("Location: {base}/cdn/{name}\r\n");
                Answer::Plain("302 Found", location, Vec::new())
            }
            Some(file) => Answer::File {
                bytes: file.bytes.clone(),
                range,
                cut: None,
            },
            None => not_found("EntryNotFound", "Entry not found"),
        };
    }
    if let Some(name) = path.strip_prefix("/cdn/")
        && let Some(file) = state.files.iter().find(|f| f.name == name)
    {
        let bytes = file.bytes.clone();
        let control = &mut state.control;
        let cut = (name == MODEL && control.drops_left > 0).then(|| {
            control.drops_left -= 1;
            control.drop_after as usize
        });
        return Answer::File { bytes, range, cut };
    }
    Answer::Plain("404 Not Found", String::new(), Vec::new())
}

/// The hub's `GET /api/models/{repo}/revision/{rev}?blobs=true`, trimmed to what is read.
fn api_answer(state: &State) -> Vec<u8> {
    let control = &state.control;
    let siblings: Vec<_> = state
        .files
        .iter()
        .map(|f| {
            let size = control
                .listed_size
                .get(f.name)
                .copied()
                .unwrap_or(f.bytes.len() as u64);
            let mut sibling = serde_json::json!({
                "rfilename": f.name,
                "size": size,
                "blobId": "0000000000000000000000000000000000000000",
            });
            if f.lfs {
                let sha256 = control
                    .listed_sha256
                    .get(f.name)
                    .cloned()
                    .unwrap_or_else(|| sha256_hex(&f.bytes));
                sibling["lfs"] = serde_json::json!({
                    "sha256": sha256, "size": size, "pointerSize": 134,
                });
            }
            sibling
        })
        .chain([serde_json::json!({"rfilename": ".gitattributes", "size": 1519})])
        .collect();
    let answer = serde_json::json!({
        "_id": "fixture",
        "id": REPO,
        "sha": COMMIT,
        "private": false,
        "siblings": siblings,
    });
    serde_json::to_vec(&answer).expect("JSON")
}

fn respond(mut stream: TcpStream, status: &str, headers: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
        body.len()
    );
    // The client may have gone (a cancelled download): nothing to do then.
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body));
}

/// Answers a file, honouring `Range: bytes=N-`; `cut` closes the connection after that many body
/// bytes, as a dropped connection does.
fn serve(mut stream: TcpStream, bytes: &[u8], range: Option<usize>, cut: Option<usize>) {
    let len = bytes.len();
    let (status, extra, body) = match range {
        Some(start) if start >= len => {
            let extra = format!("Content-Range: bytes */{len}\r\n");
            return respond(stream, "416 Range Not Satisfiable", &extra, b"");
        }
        Some(start) => (
            "206 Partial Content",
            format!("Content-Range: bytes {start}-{}/{len}\r\n", len - 1),
            &bytes[start..],
        ),
        None => ("200 OK", String::new(), bytes),
    };
    let Some(cut) = cut else {
        return respond(stream, status, &extra, body);
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    );
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&body[..cut.min(body.len())]))
        .and_then(|()| stream.flush());
    let _ = stream.shutdown(Shutdown::Both);
}

/// Plans and downloads `hub`'s repository into `dest`; `stop` says when to set the cancel flag.
fn fetch(
    hub: &Hub,
    dest: &Path,
    stop: impl Fn(&Progress) -> bool,
) -> (clipstream_core::Result<PathBuf>, Vec<Progress>) {
    let request = hub.request();
    let plan = hub::plan(&request).expect("plan");
    let cancel = AtomicBool::new(false);
    let mut reports = Vec::new();
    let result = hub::download(
        &plan,
        &request,
        dest,
        &mut |p| {
            if stop(p) {
                cancel.store(true, Ordering::Relaxed);
            }
            reports.push(p.clone());
        },
        &cancel,
    );
    (result, reports)
}

fn never(_: &Progress) -> bool {
    false
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dest")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn assert_all_there(hub: &Hub, dest: &Path) {
    for name in ["config.json", "vocab.json", "merges.txt", MODEL] {
        let got = fs::read(dest.join(name)).expect(name);
        assert!(
            got == hub.bytes(name),
            "{name} differs from what was served"
        );
    }
    assert_eq!(
        entries(dest),
        ["config.json", "merges.txt", MODEL, "vocab.json"],
        "only the final files, no .part"
    );
}

/// The `Range` headers of the requests for the weights' body.
fn model_ranges(hub: &Hub) -> Vec<Option<String>> {
    let cdn = format!("/cdn/{MODEL}");
    hub.seen()
        .into_iter()
        .filter(|s| s.path == cdn)
        .map(|s| s.range)
        .collect()
}

#[test]
fn downloads_every_file_byte_identical_from_the_resolved_commit() {
    let hub = Hub::clip();
    let plan = hub::plan(&hub.request()).expect("plan");
    assert_eq!(plan.commit, COMMIT);
    let names: Vec<&str> = plan.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["config.json", MODEL, "vocab.json", "merges.txt"]);
    let model = &plan.files[1];
    assert_eq!(model.size, MODEL_SIZE as u64);
    assert_eq!(model.sha256, Some(sha256_hex(&hub.bytes(MODEL))));
    assert_eq!(plan.files[0].sha256, None, "git files have no SHA-256");
    let total: u64 = ["config.json", "vocab.json", "merges.txt", MODEL]
        .iter()
        .map(|n| hub.bytes(n).len() as u64)
        .sum();
    assert_eq!(plan.total_bytes, total);

    let tmp = tempfile::tempdir().expect("tempdir");
    let dest = tmp.path().join("clip");
    let (result, reports) = fetch(&hub, &dest, never);
    assert_eq!(result.expect("download"), dest);
    assert_all_there(&hub, &dest);

    let last = reports.last().expect("progress was reported");
    assert_eq!((last.all_done, last.all_total), (total, total));
    for name in ["config.json", "vocab.json", "merges.txt", MODEL] {
        assert!(
            reports
                .iter()
                .any(|p| p.file == name && p.done == p.total && p.total > 0),
            "{name} was reported complete"
        );
    }
    assert!(
        reports.windows(2).all(|w| w[0].all_done <= w[1].all_done),
        "progress never goes back"
    );
    assert!(
        reports
            .iter()
            .any(|p| p.file == MODEL && p.done > 0 && p.done < p.total),
        "progress during the weights, not only at the ends"
    );

    let seen = hub.seen();
    assert_eq!(
        seen[0].path,
        format!("/api/models/{REPO}/revision/main?blobs=true")
    );
    let resolved: Vec<&str> = seen
        .iter()
        .filter(|s| s.path.contains("/resolve/"))
        .map(|s| s.path.as_str())
        .collect();
    assert_eq!(resolved.len(), 4, "{resolved:?}");
    let from_commit = format!("/{REPO}/resolve/{COMMIT}/");
    assert!(
        resolved.iter().all(|p| p.starts_with(&from_commit)),
        "{resolved:?}"
    );
    assert_eq!(
        model_ranges(&hub),
        [None],
        "the redirect to the CDN was followed"
    );
    let agent = seen[0].user_agent.as_deref().unwrap_or("");
    assert!(agent.starts_with("clipstream/"), "User-Agent {agent}");
}

#[test]
fn a_dropped_connection_is_resumed_within_the_same_call() {
    let hub = Hub::clip();
    {
        let mut state = hub.control();
        state.control.drop_after = MIB;
        state.control.drops_left = 1;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (result, _) = fetch(&hub, tmp.path(), never);
    result.expect("one drop is retried");
    assert_all_there(&hub, tmp.path());
    assert_eq!(
        model_ranges(&hub),
        [None, Some(format!("bytes={MIB}-"))],
        "the retry asked for the rest from where the drop left off"
    );
}

#[test]
fn when_retries_run_out_the_error_says_to_resume_and_the_next_call_does() {
    let hub = Hub::clip();
    let cut = 256 << 10;
    {
        let mut state = hub.control();
        state.control.drop_after = cut;
        state.control.drops_left = u32::MAX;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (result, _) = fetch(&hub, tmp.path(), never);
    let Err(Error::Download { url, reason }) = result else {
        panic!("expected a download error, got {result:?}");
    };
    assert!(
        url.ends_with(&format!("/resolve/{COMMIT}/{MODEL}")),
        "{url}"
    );
    assert!(
        reason.contains("run the same command again to resume"),
        "{reason}"
    );

    let attempts = model_ranges(&hub);
    assert!(attempts.len() > 1, "retried automatically: {attempts:?}");
    for (i, range) in attempts.iter().enumerate() {
        let expected = (i > 0).then(|| format!("bytes={}-", i as u64 * cut));
        assert_eq!(
            *range, expected,
            "each retry resumed where the last stopped"
        );
    }
    let part = tmp.path().join(format!("{MODEL}.part"));
    let kept = fs::metadata(&part).expect("the .part is kept").len();
    assert_eq!(kept, attempts.len() as u64 * cut);
    assert!(!tmp.path().join(MODEL).exists());

    hub.control().control.drops_left = 0;
    hub.forget_seen();
    let (result, _) = fetch(&hub, tmp.path(), never);
    result.expect("the second call completes");
    assert_eq!(model_ranges(&hub), [Some(format!("bytes={kept}-"))]);
    assert_all_there(&hub, tmp.path());
}

#[test]
fn an_unknown_repository_is_named_and_nothing_is_written() {
    let hub = Hub::clip();
    let mut request = hub.request();
    request.repo = "nobody/no-such-model".to_owned();
    let e = hub::plan(&request).expect_err("no such repository");
    let message = e.to_string();
    assert!(matches!(e, Error::Download { .. }), "{e:?}");
    assert!(
        message.contains(&format!(
            "no repository nobody/no-such-model (or revision main) on {}",
            hub.base
        )),
        "{message}"
    );

    request.repo = "private/weights".to_owned();
    let message = hub::plan(&request).expect_err("401").to_string();
    assert!(message.contains("private/weights"), "{message}");
    assert!(message.contains("private or gated"), "{message}");

    let mut request = hub.request();
    request.revision = "v9".to_owned();
    let message = hub::plan(&request)
        .expect_err("no such revision")
        .to_string();
    assert!(
        message.contains(&format!("{REPO} has no revision v9")),
        "{message}"
    );

    assert!(hub.seen().iter().all(|s| s.path.starts_with("/api/")));
}

#[test]
fn a_wrong_hash_names_the_file_and_both_hashes_and_leaves_nothing() {
    let hub = Hub::clip();
    let listed = sha256_hex(b"some other weights");
    hub.control()
        .control
        .listed_sha256
        .insert(MODEL, listed.clone());
    let tmp = tempfile::tempdir().expect("tempdir");
    let (result, _) = fetch(&hub, tmp.path(), never);
    let message = result.expect_err("corrupt").to_string();
    let actual = sha256_hex(&hub.bytes(MODEL));
    assert!(message.contains(MODEL), "{message}");
    assert!(
        message.contains(&listed) && message.contains(&actual),
        "{message}"
    );
    assert!(message.contains("corrupt"), "{message}");
    assert!(!tmp.path().join(MODEL).exists());
    assert!(!tmp.path().join(format!("{MODEL}.part")).exists());
}

#[test]
fn too_little_disk_space_fails_before_any_file_is_requested() {
    let hub = Hub::clip();
    hub.control().control.listed_size.insert(MODEL, 1 << 50);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dest = tmp.path().join("clip");
    let (result, _) = fetch(&hub, &dest, never);
    let Err(Error::DiskFull { path, reason }) = &result else {
        panic!("expected DiskFull, got {result:?}");
    };
    assert_eq!(*path, dest);
    assert!(reason.contains("free"), "{reason}");
    assert!(
        hub.seen().iter().all(|s| s.path.starts_with("/api/")),
        "{:?}",
        hub.seen()
    );
    assert!(!dest.exists(), "nothing written, not even the folder");
}

#[test]
fn cancelling_keeps_the_part_and_the_next_call_resumes_it() {
    let hub = Hub::clip();
    let tmp = tempfile::tempdir().expect("tempdir");
    let (result, _) = fetch(&hub, tmp.path(), |p| p.file == MODEL && p.done >= MIB);
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    let part = tmp.path().join(format!("{MODEL}.part"));
    let kept = fs::metadata(&part).expect("the .part is kept").len();
    assert!(kept >= MIB && kept < MODEL_SIZE as u64, "{kept}");
    assert_eq!(
        fs::read(&part).expect("part")[..],
        hub.bytes(MODEL)[..kept as usize]
    );
    assert!(!tmp.path().join(MODEL).exists());

    hub.forget_seen();
    let (result, _) = fetch(&hub, tmp.path(), never);
    result.expect("resumed");
    assert_eq!(model_ranges(&hub), [Some(format!("bytes={kept}-"))]);
    assert_all_there(&hub, tmp.path());
}

#[test]
fn a_repository_with_only_pytorch_weights_is_refused_with_the_way_out() {
    let hub = Hub::start(vec![
        served("config.json", b"{}".to_vec()),
        served("vocab.json", b"{}".to_vec()),
        served("merges.txt", b"#version: 0.2\n".to_vec()),
        Served {
            name: "pytorch_model.bin",
            bytes: pseudo_random(1000),
            lfs: true,
        },
    ]);
    let message = hub::plan(&hub.request())
        .expect_err("pickle only")
        .to_string();
    for needed in [
        REPO,
        "pytorch_model.bin",
        "can run code",
        "safetensors.torch",
        "clipstream model import DIR",
    ] {
        assert!(
            message.contains(needed),
            "{needed:?} missing from: {message}"
        );
    }
}

#[test]
fn a_file_already_complete_is_not_downloaded_again() {
    let hub = Hub::clip();
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join(MODEL), hub.bytes(MODEL)).expect("write");
    let (result, reports) = fetch(&hub, tmp.path(), never);
    result.expect("download");
    assert_all_there(&hub, tmp.path());
    assert!(
        hub.seen().iter().all(|s| !s.path.ends_with(MODEL)),
        "{:?}",
        hub.seen()
    );
    let last = reports.last().expect("progress");
    assert_eq!(last.all_done, last.all_total);
}

#[test]
fn a_damaged_file_of_the_right_size_is_downloaded_again() {
    let hub = Hub::clip();
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join(MODEL), vec![0u8; MODEL_SIZE]).expect("write");
    let (result, _) = fetch(&hub, tmp.path(), never);
    result.expect("download");
    assert_eq!(model_ranges(&hub), [None]);
    assert_all_there(&hub, tmp.path());
}

#[test]
fn a_complete_part_is_verified_and_kept_without_a_request() {
    let hub = Hub::clip();
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join(format!("{MODEL}.part")), hub.bytes(MODEL)).expect("write");
    let (result, _) = fetch(&hub, tmp.path(), never);
    result.expect("download");
    assert!(hub.seen().iter().all(|s| !s.path.ends_with(MODEL)));
    assert_all_there(&hub, tmp.path());
}

#[test]
fn a_server_that_ignores_range_makes_the_download_start_over() {
    let hub = Hub::clip();
    hub.control().control.ignore_range = true;
    let tmp = tempfile::tempdir().expect("tempdir");
    // Bytes that are not the file's: kept, they would make the result corrupt.
    fs::write(
        tmp.path().join(format!("{MODEL}.part")),
        vec![7u8; MIB as usize],
    )
    .expect("write");
    let (result, _) = fetch(&hub, tmp.path(), never);
    result.expect("download");
    assert_eq!(model_ranges(&hub), [Some(format!("bytes={MIB}-"))]);
    assert_all_there(&hub, tmp.path());
}
