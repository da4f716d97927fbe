//! The `clipstream` binary under hostile input and faults: broken files, unreadable files.

#[path = "../core/tests/hostile/mod.rs"]
mod hostile;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clipstream_core::store::catalog::DATABASE;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `clipstream --library LIB --model tiny-clip ARGS...`.
fn clipstream(library: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clipstream"));
    cmd.arg("--library")
        .arg(library)
        .arg("--model")
        .arg(repo().join("models/tiny-clip"));
    cmd
}

/// `clipstream index [FOLDER]`, started and left running, its output discarded.
fn indexer_in_background(library: &Path, folder: Option<&Path>) -> std::process::Child {
    clipstream(library)
        .arg("index")
        .args(folder)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts")
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status")
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

/// The same command without root's power to read any file, so permissions bite as they do for
/// a user (tests run as root in CI).
fn without_override(cmd: &Command) -> Command {
    if !is_root() {
        let mut same = Command::new(cmd.get_program());
        same.args(cmd.get_args());
        return same;
    }
    let mut wrapped = Command::new("setpriv");
    wrapped
        .args(["--bounding-set", "-dac_override,-dac_read_search", "--"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    wrapped
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn cli_indexes_a_hostile_folder_with_a_reason_for_every_bad_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (folder, outside) = (tmp.path().join("photos"), tmp.path().join("outside"));
    let library = tmp.path().join("library");
    let cases = hostile::generate(&repo(), &folder, &outside, true);

    let mut index = clipstream(&library);
    index.arg("index").arg(&folder);
    let out = without_override(&index).output().expect("runs");
    hostile::unlock(&folder);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let tally = hostile::verify(&cases, &folder, &outside, &library);
    eprintln!("{} hostile entries through the CLI\n{tally}", cases.len());
    let skipped: usize = tally.0.values().map(|c| c[2]).sum();
    assert!(
        stdout.contains(&format!("skipped {skipped} files")),
        "{}",
        text(&out)
    );

    // Every reason is listed for the user, one line per file.
    let out = clipstream(&library)
        .args(["status", "--skipped"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout);
    for reason in [
        "empty file",
        "not an image",
        "over the limit",
        "Permission denied",
        "outside the library's folders",
        "symbolic link loop",
        "truncated JPEG",
    ] {
        assert!(listing.contains(reason), "no {reason:?} in\n{listing}");
    }
}

/// Every committed embedding by path, read from the database file after the indexer died.
fn committed(library: &Path) -> std::collections::HashMap<Vec<u8>, Vec<u8>> {
    let db = rusqlite::Connection::open(library.join(DATABASE)).expect("opens");
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check runs");
    assert_eq!(check, "ok");
    let (rows, paths, hashes): (i64, i64, i64) = db
        .query_row(
            "SELECT COUNT(*), COUNT(DISTINCT path), COUNT(DISTINCT hash) FROM images",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("counts");
    assert_eq!((rows, rows), (paths, hashes), "an image appears twice");
    let mut stmt = db
        .prepare("SELECT path, embedding FROM images")
        .expect("prepares");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("queries")
        .collect::<rusqlite::Result<_>>()
        .expect("reads")
}

/// SIGKILL the indexer at random moments, again and again: after each kill the catalog is intact,
/// nothing committed is lost or doubled, and a last run finishes the job with every image
/// searchable. `CRASH_KILLS` and `CRASH_IMAGES` make it longer (the CI run is 30 kills of 3000).
#[test]
fn indexer_killed_at_random_moments_loses_nothing() {
    let kills: usize = std::env::var("CRASH_KILLS").map_or(30, |v| v.parse().expect("number"));
    let images: usize = std::env::var("CRASH_IMAGES").map_or(3000, |v| v.parse().expect("number"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let folder = tmp.path().join("photos");
    let library = tmp.path().join("library");
    distinct_pngs(&folder, 0..images);

    let mut rng = hostile::Rng(0xC0FF_EE00 ^ kills as u64);
    let mut before: std::collections::HashMap<Vec<u8>, Vec<u8>> = Default::default();
    let mut survived = 0;
    for kill in 0..kills {
        let mut child = indexer_in_background(&library, Some(&folder));
        // A random moment: one in four during start-up (a person force-quitting at once), the
        // others a random number of images into the run (so kills land mid-run however fast the
        // build is), then a few random milliseconds more (anywhere between two commits).
        let started = std::time::Instant::now();
        if rng.below(4) == 0 {
            std::thread::sleep(std::time::Duration::from_millis(rng.below(300) as u64));
        } else {
            let target = before.len() + 1 + rng.below(300);
            while child.try_wait().expect("polls").is_none()
                && started.elapsed() < std::time::Duration::from_secs(60)
                && (!std::fs::exists(library.join(DATABASE)).expect("stat")
                    || committed_count(&library) < target)
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            std::thread::sleep(std::time::Duration::from_millis(rng.below(50) as u64));
        }
        let wait = started.elapsed();
        let finished = child.try_wait().expect("polls").is_some();
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        if !std::fs::exists(library.join(DATABASE)).expect("stat") {
            continue; // killed before the catalog was created
        }
        let after = committed(&library);
        for (path, embedding) in &before {
            assert_eq!(
                after.get(path),
                Some(embedding),
                "kill {kill} after {wait:?}: {} lost or changed",
                String::from_utf8_lossy(path)
            );
        }
        survived += usize::from(!finished);
        before = after;
    }
    eprintln!(
        "{survived} kills survived; {} of {images} images committed before the last run",
        before.len()
    );
    assert!(
        survived * 2 >= kills,
        "most kills must land mid-run: {survived} of {kills}"
    );

    let out = clipstream(&library).arg("index").output().expect("runs");
    assert!(out.status.success(), "{}", text(&out));
    let after = committed(&library);
    assert_eq!(after.len(), images, "{}", text(&out));
    for (path, embedding) in &before {
        assert_eq!(
            after.get(path),
            Some(embedding),
            "{}",
            String::from_utf8_lossy(path)
        );
    }
    // The saved vector index is of this catalog and holds every image, whatever state the kills
    // left its files in; searches return each image at most once.
    use clipstream_core::store::catalog::Catalog;
    use clipstream_core::store::vindex::DEFAULT_SCALAR;
    let catalog = Catalog::open(&library.join(DATABASE)).expect("opens");
    let dim = catalog
        .meta("embedding_dim")
        .expect("meta")
        .and_then(|d| d.parse().ok())
        .expect("dimension");
    let (index, rebuilt) =
        clipstream_core::store::vectors::open_index(&library, &catalog, dim, DEFAULT_SCALAR, true)
            .expect("opens");
    assert!(!rebuilt, "the saved index is stale or damaged");
    assert_eq!(index.len(), images);
    let out = clipstream(&library)
        .args(["search", "a shape", "--all", "--json", "-k"])
        .arg((images + 10).to_string())
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out));
    let hits: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let ids: std::collections::HashSet<i64> =
        hits.iter().map(|h| h["id"].as_i64().expect("id")).collect();
    assert_eq!(hits.len(), ids.len());
    // HNSW is approximate: asked for everything it may miss a few poorly linked nodes.
    assert!(
        hits.len() * 100 >= images * 99,
        "{} of {images}",
        hits.len()
    );
}

/// A folder of `n` distinct PNGs (the shapes, then the same pictures with other bytes).
fn distinct_pngs(folder: &Path, range: std::ops::Range<usize>) {
    std::fs::create_dir_all(folder).expect("mkdir");
    let shapes = repo().join("tests/fixtures/shapes");
    for i in range {
        let png = std::fs::read(shapes.join(format!("{:05}.png", i % 1800))).expect("read");
        let bytes = if i < 1800 {
            png
        } else {
            hostile::png_with_text(&png, &format!("copy {i}"))
        };
        std::fs::write(folder.join(format!("{i:05}.png")), bytes).expect("write");
    }
}

/// How many images the catalog holds now (a read while the indexer writes: WAL lets it).
fn committed_count(library: &Path) -> usize {
    let db = rusqlite::Connection::open(library.join(DATABASE)).expect("opens");
    db.busy_timeout(std::time::Duration::from_secs(5))
        .expect("timeout");
    db.query_row("SELECT COUNT(*) FROM images", [], |r| r.get::<_, i64>(0))
        .map(|n| n as usize)
        .unwrap_or(0)
}

fn image_count(library: &Path) -> usize {
    committed(library).len()
}

/// Wait until another process has committed at least one batch.
fn wait_for_commits(library: &Path, child: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        assert!(
            child.try_wait().expect("polls").is_none(),
            "the first run ended too soon"
        );
        if std::fs::exists(library.join(DATABASE)).expect("stat") && image_count(library) > 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no commit in 120 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn two_processes_on_one_library_take_turns_and_lose_nothing() {
    use clipstream_core::{Library, Model, Options, Request};
    let tmp = tempfile::tempdir().expect("tempdir");
    let (folder, library) = (tmp.path().join("photos"), tmp.path().join("library"));
    distinct_pngs(&folder, 0..600);

    // A second indexer waits for the first, saying for whom, then finds nothing left to do.
    let mut first = indexer_in_background(&library, Some(&folder));
    wait_for_commits(&library, &mut first);
    let second = clipstream(&library).arg("index").output().expect("runs");
    assert!(first.wait().expect("waits").success());
    assert!(second.status.success(), "{}", text(&second));
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains(&format!(
            "(clipstream, pid {}) is updating this library; waiting",
            first.id()
        )),
        "{}",
        text(&second)
    );
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("indexed 0 new"),
        "{}",
        text(&second)
    );
    assert_eq!(image_count(&library), 600);

    // The app's library stays open while the CLI indexes more: removing a folder meanwhile is
    // refused with who to wait for, and the CLI's images appear in its searches once it is done.
    let model = Model::open(repo().join("models/tiny-clip")).expect("model");
    let app = Library::open(&library, Some(&model), Options::default()).expect("opens");
    distinct_pngs(&folder, 600..1200);
    let mut cli = indexer_in_background(&library, None);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while image_count(&library) <= 600 {
        assert!(std::time::Instant::now() < deadline, "no commit in 120 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let folder_id = app.folder_at(&folder).expect("a library folder").id;
    let refused = app.remove_folder(folder_id).expect_err("busy");
    assert!(
        refused
            .to_string()
            .contains("is updating this library; try again"),
        "{refused}"
    );
    assert!(cli.wait().expect("waits").success());
    let mut request = Request::new("a shape", 5000);
    request.all = true;
    assert_eq!(app.search(&request).expect("searches").hits.len(), 1200);
    assert_eq!(image_count(&library), 1200);

    // And the other way round: while the app indexes, the CLI's removal is refused.
    distinct_pngs(&folder, 1200..1500);
    std::thread::scope(|scope| {
        let run =
            scope.spawn(|| app.index(&mut |_| {}, &std::sync::atomic::AtomicBool::new(false)));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while image_count(&library) <= 1200 {
            assert!(std::time::Instant::now() < deadline, "no commit in 120 s");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let out = clipstream(&library)
            .arg("remove")
            .arg(&folder)
            .output()
            .expect("runs");
        assert!(!out.status.success(), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("is updating this library; try again"),
            "{}",
            text(&out)
        );
        let report = run.join().expect("joins").expect("indexes");
        assert_eq!(report.added, 300, "{report:?}");
    });
    assert_eq!(image_count(&library), 1500);
    assert_eq!(app.search(&request).expect("searches").hits.len(), 1500);
}

/// Run `script` with `sh -eu` in a mount namespace of its own, where it may mount a tmpfs.
fn in_mount_namespace(script: &str, env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new("unshare");
    cmd.arg(if is_root() { "-m" } else { "-rm" })
        .args(["sh", "-eu", "-c", script]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("unshare runs")
}

#[test]
fn disk_full_while_indexing_is_a_clear_error_and_the_library_still_opens() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (photos, more, disk, out) = (
        tmp.path().join("photos"),
        tmp.path().join("more"),
        tmp.path().join("disk"),
        tmp.path().join("out"),
    );
    distinct_pngs(&photos, 0..100);
    distinct_pngs(&more, 100..700);
    std::fs::create_dir_all(&disk).expect("mkdir");
    std::fs::create_dir_all(&out).expect("mkdir");
    // The library lives on a 16 MB disk; after a first run a filler takes the rest of it, then
    // 600 more photos arrive.
    let script = r#"
        mount -t tmpfs -o size=16m tmpfs "$DISK"
        cs() { "$EXE" --library "$DISK/library" --model "$MODEL" "$@"; }
        cs index "$PHOTOS" > "$OUT/first.txt" 2>&1
        dd if=/dev/zero of="$DISK/filler" bs=16k 2>/dev/null || true
        cp "$MORE"/* "$PHOTOS"/
        if cs index > "$OUT/full.txt" 2>&1; then echo 0 > "$OUT/full.rc"; else echo $? > "$OUT/full.rc"; fi
        cs status > "$OUT/status.txt" 2>&1
        cs search "a shape" --all -k 1000 --json > "$OUT/search.json" 2> "$OUT/search.err"
        cp -a "$DISK/library" "$OUT/library-full"
        rm "$DISK/filler"
        cs index > "$OUT/after.txt" 2>&1
        cp -a "$DISK/library" "$OUT/library-after"
    "#;
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_clipstream"));
    let model = repo().join("models/tiny-clip");
    let run = in_mount_namespace(
        script,
        &[
            ("EXE", &exe),
            ("MODEL", &model),
            ("PHOTOS", &photos),
            ("MORE", &more),
            ("DISK", &disk),
            ("OUT", &out),
        ],
    );
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap_or_default();
    assert!(
        run.status.success(),
        "{}\nfirst: {}\nfull: {}\nstatus: {}\nafter: {}",
        text(&run),
        read("first.txt"),
        read("full.txt"),
        read("status.txt"),
        read("after.txt")
    );
    assert!(
        read("first.txt").contains("indexed 100 new"),
        "{}",
        read("first.txt")
    );
    // The full disk stops the run with a message that says what to do.
    assert_eq!(read("full.rc").trim(), "1", "{}", read("full.txt"));
    let full = read("full.txt");
    assert!(
        full.contains("is full") && full.contains("free some space and run again"),
        "{full}"
    );
    // The library still opens and searches, with everything committed before the disk filled.
    let committed_when_full = committed(&out.join("library-full")).len();
    assert!(committed_when_full >= 100, "{committed_when_full}");
    assert!(
        read("status.txt").contains(&format!("images:  {committed_when_full}")),
        "{}",
        read("status.txt")
    );
    let hits: Vec<serde_json::Value> = serde_json::from_str(&read("search.json"))
        .unwrap_or_else(|e| panic!("{e}: {}", read("search.err")));
    assert!(
        hits.len() * 100 >= committed_when_full * 99,
        "{} hits",
        hits.len()
    );
    // With space again, the next run finishes the job.
    assert!(
        read("after.txt").contains("indexed"),
        "{}",
        read("after.txt")
    );
    assert_eq!(committed(&out.join("library-after")).len(), 700);
    eprintln!(
        "disk full after {committed_when_full} of 700 images; message: {}",
        full.trim()
    );
}

/// `socket(2)` calls in an strace log (`strace -f -e trace=socket`), as "FAMILY" strings.
fn socket_families(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .expect("strace log")
        .lines()
        .filter_map(|l| l.split_once("socket(").map(|(_, rest)| rest))
        .map(|rest| rest.split(',').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn cli_works_without_a_network_and_opens_no_sockets() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (folder, library) = (tmp.path().join("photos"), tmp.path().join("library"));
    distinct_pngs(&folder, 0..40);
    let log = tmp.path().join("strace.log");
    // The probe sees sockets where there are some: Python opening one, under the same wrapper.
    let control = Command::new("unshare")
        .arg(if is_root() { "-n" } else { "-rn" })
        .args(["strace", "-f", "-qq", "-e", "trace=socket", "-o"])
        .arg(&log)
        .args(["--", "python3", "-c", "import socket; socket.socket()"])
        .output()
        .expect("runs");
    assert!(control.status.success(), "{}", text(&control));
    // Only "contains": the control may reach Python through a shell script (a pyenv shim), and
    // bash started without $SHELL looks the user up in the C library, which tries nscd's AF_UNIX
    // socket (CI's environment has no $SHELL).
    let control_sockets = socket_families(&log);
    assert!(
        control_sockets.iter().any(|f| f == "AF_INET"),
        "the probe missed Python's socket: {control_sockets:?}"
    );
    let folder_arg = folder.to_str().expect("utf-8");
    for args in [
        vec!["index", folder_arg],
        vec!["search", "a red circle", "--json"],
        vec!["similar", &format!("{folder_arg}/00001.png")],
        vec!["status"],
        vec!["doctor"],
    ] {
        let cli = clipstream(&library);
        // No network interface but loopback, which is down; every socket(2) call recorded.
        let mut cmd = Command::new("unshare");
        cmd.arg(if is_root() { "-n" } else { "-rn" })
            .args(["strace", "-f", "-qq", "-e", "trace=socket", "-o"])
            .arg(&log)
            .arg("--")
            .arg(cli.get_program())
            .args(cli.get_args())
            .args(&args);
        let out = cmd.output().expect("runs");
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        let sockets = socket_families(&log);
        assert!(sockets.is_empty(), "{args:?} opened sockets: {sockets:?}");
    }
}

/// A libheif whose decoding dies as a segfaulting HEVC decoder would (abort), preloaded into the
/// CLI: a real crash in a real C library call, no hook in ClipStream. Built with the system's C
/// compiler (build-essential).
fn crashing_libheif(dir: &Path) -> PathBuf {
    let source = dir.join("crash.c");
    std::fs::write(
        &source,
        "#include <stdlib.h>\n\
         /* libheif's pixel decoding, as a decoder that crashes on every file */\n\
         void *heif_decode_image(void) { abort(); }\n",
    )
    .expect("write");
    let library = dir.join("libcrashing-heif.so");
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .output()
        .expect("cc runs");
    assert!(built.status.success(), "{}", text(&built));
    library
}

#[test]
fn a_decoder_that_crashes_the_process_costs_one_file_not_the_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (folder, library) = (tmp.path().join("photos"), tmp.path().join("library"));
    distinct_pngs(&folder, 0..40);
    let culprit = "IMG_0001.HEIC";
    std::fs::copy(
        repo().join("tests/fixtures/formats/iphone-like.heic"),
        folder.join(culprit),
    )
    .expect("copy");
    let crashing = crashing_libheif(tmp.path());
    let run = |preload: bool, args: &[&str]| {
        let mut cmd = clipstream(&library);
        cmd.args(args);
        if preload {
            cmd.env("LD_PRELOAD", &crashing);
        }
        cmd.output().expect("runs")
    };
    let index = ["index", folder.to_str().expect("utf-8")];
    // The decoder dies on the HEIC: each run dies until the file is judged, in a child process
    // of its own, by that child's own crash.
    let (out, crashes) = until_judged(|| run(true, &index));
    eprintln!("{crashes} runs died before {culprit} was judged");
    assert!(text(&out).contains("skipped 1 files"), "{}", text(&out));
    let listing = run(false, &["status", "--skipped"]);
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    assert!(
        listing.contains(&format!("{culprit}\tcrashed the decoder (SIGABRT)")),
        "{listing}"
    );
    assert_eq!(image_count(&library), 40, "every other file indexed");
    // The decoder fixed: an unchanged file is not read again; once it changes, it is.
    let again = run(false, &["index"]);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(image_count(&library), 40);
    let file = std::fs::File::options()
        .write(true)
        .open(folder.join(culprit))
        .expect("open");
    file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .expect("touch");
    let fixed = run(false, &["index"]);
    assert!(fixed.status.success(), "{}", text(&fixed));
    assert_eq!(image_count(&library), 41, "the changed file is tried again");

    // Or, unchanged, when a person asks: the broken decoder convicts it again (another HEIC in its
    // place, so it is decoded anew)...
    std::fs::copy(
        repo().join("tests/fixtures/formats/shape-00000.heic"),
        folder.join(culprit),
    )
    .expect("copy");
    let died = run(true, &["index"]);
    assert_eq!(died.status.code(), None, "{}", text(&died));
    let judged = run(true, &["index"]);
    assert!(judged.status.success(), "{}", text(&judged));
    assert_eq!(image_count(&library), 40);
    // ...and the decoder fixed, --retry-skipped reads it again.
    let retried = run(false, &["index", "--retry-skipped"]);
    assert!(retried.status.success(), "{}", text(&retried));
    assert_eq!(image_count(&library), 41, "{}", text(&retried));
}

/// The stage reading words decodes photos again, larger (a HEIC through libheif in full): a
/// decoder that crashes there costs that photo's words, not every pass after it.
#[test]
fn a_crash_while_reading_words_costs_one_photo_not_the_pass() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (folder, library) = (tmp.path().join("photos"), tmp.path().join("library"));
    distinct_pngs(&folder, 0..3);
    std::fs::copy(
        repo().join("tests/fixtures/words/wifi-and-chinese.png"),
        folder.join("sticker.png"),
    )
    .expect("copy");
    let culprit = "IMG_0001.HEIC";
    std::fs::copy(
        repo().join("tests/fixtures/formats/iphone-like.heic"),
        folder.join(culprit),
    )
    .expect("copy");
    let crashing = crashing_libheif(tmp.path());
    let run = |preload: bool, args: &[&str]| {
        let mut cmd = clipstream(&library);
        cmd.args(args);
        if preload {
            cmd.env("LD_PRELOAD", &crashing);
        }
        cmd.output().expect("runs")
    };
    // Indexed with a sound libheif, words left for later.
    let indexed = run(
        false,
        &["index", "--no-words", folder.to_str().expect("utf-8")],
    );
    assert!(indexed.status.success(), "{}", text(&indexed));
    // Now libheif dies on every decode: the pass dies on the HEIC until it is judged by its own
    // child process's crash.
    let (out, _) = until_judged(|| run(true, &["index"]));
    assert!(text(&out).contains("1 could not be read"), "{}", text(&out));
    let status = run(false, &["status"]);
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("words:   5 of 5 photos read"),
        "{}",
        text(&status)
    );
    // The other photos' words were read: the sticker is found by them.
    let found = run(false, &["search", "hunter22"]);
    assert!(
        String::from_utf8_lossy(&found.stdout).contains("sticker.png"),
        "{}",
        text(&found)
    );
}

/// Run `run` (a CLI run under a decoder that crashes) until it succeeds: each try dies by a
/// signal, at least once and at most twice, until the suspect file is judged in a child process
/// of its own. The successful run's output, and how many died before it.
fn until_judged(mut run: impl FnMut() -> Output) -> (Output, usize) {
    let mut crashes = 0;
    let out = loop {
        let out = run();
        if out.status.success() {
            break out;
        }
        assert_eq!(
            out.status.code(),
            None,
            "killed by a signal, not an error: {}",
            text(&out)
        );
        crashes += 1;
        assert!(
            crashes <= 2,
            "still crashing after {crashes} runs: {}",
            text(&out)
        );
    };
    assert!(crashes >= 1, "the decoder never crashed");
    (out, crashes)
}

/// Set a folder's permission bits.
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A folder (or a part of one) the user cannot read is offline: its photos are kept, searchable
/// and marked, `status` says which part and why; readable again, it is reconciled.
#[test]
fn folders_that_cannot_be_read_keep_their_photos() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (folder, library) = (tmp.path().join("photos"), tmp.path().join("library"));
    let private = folder.join("private");
    distinct_pngs(&folder, 0..3);
    distinct_pngs(&private, 3..7);
    let run = |cmd: &mut Command| {
        let out = without_override(cmd).output().expect("runs");
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(clipstream(&library).arg("index").arg(&folder));
    assert_eq!(image_count(&library), 7);

    chmod(&private, 0o000);
    let indexed = run(clipstream(&library).arg("index"));
    chmod(&private, 0o755);
    assert!(indexed.contains(" 0 removed"), "{indexed}");
    assert_eq!(
        image_count(&library),
        7,
        "photos of an unreadable part are kept"
    );
    let status = run(clipstream(&library).arg("status"));
    assert!(
        status.contains(&format!("not read: {}: unreadable", private.display()))
            && status.contains("Permission denied"),
        "{status}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&run(clipstream(&library).args(["status", "--json"]))).expect("json");
    assert_eq!(json["folders"][0]["online"], true);
    assert_eq!(
        json["folders"][0]["unreadable"][0]["path"],
        private.to_str().expect("utf-8")
    );
    let hits: Vec<serde_json::Value> = serde_json::from_str(&run(
        clipstream(&library).args(["search", "a shape", "--all", "--json"])
    ))
    .expect("json");
    assert_eq!(hits.len(), 7, "all still found");
    let offline = hits.iter().filter(|h| h["offline"] == true).count();
    assert_eq!(offline, 4, "the private ones are marked offline");

    // The folder itself unreadable: offline as a whole, nothing removed.
    chmod(&folder, 0o000);
    let indexed = run(clipstream(&library).arg("index"));
    chmod(&folder, 0o755);
    assert!(indexed.contains(" 0 removed"), "{indexed}");
    assert!(indexed.contains("offline, its photos kept"), "{indexed}");
    assert_eq!(image_count(&library), 7);

    // Readable again: reconciled, with a photo deleted meanwhile removed.
    std::fs::remove_file(private.join("00003.png")).expect("rm");
    let indexed = run(clipstream(&library).arg("index"));
    assert!(indexed.contains(" 1 removed"), "{indexed}");
    let status = run(clipstream(&library).arg("status"));
    assert!(!status.contains("not read"), "{status}");
    assert!(status.contains("online"), "{status}");
}
