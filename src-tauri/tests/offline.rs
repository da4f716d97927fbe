//! No network at run time: the real app, in the real webview under Xvfb, indexes and serves its
//! demo library with networking unavailable, and none of its processes (the app and WebKit's
//! helpers) opens an internet socket. strace records every socket(2) call they make.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clipstream_core::setup;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("src-tauri/ lives in the repo root")
        .to_path_buf()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status")
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

/// Images in the catalog, or 0 while the app has not created it yet.
fn catalogued(library: &Path) -> u64 {
    if !setup::has_library(library) {
        return 0;
    }
    // Read as any other reader would, straight from SQLite (the app is writing meanwhile).
    rusqlite::Connection::open(library.join("catalog.sqlite"))
        .and_then(|db| db.query_row("SELECT COUNT(*) FROM images", [], |r| r.get::<_, i64>(0)))
        .map_or(0, |n| n as u64)
}

#[test]
fn app_works_without_a_network_and_opens_no_internet_sockets() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (folder, library, log) = (
        tmp.path().join("photos"),
        tmp.path().join("library"),
        tmp.path().join("strace.log"),
    );
    std::fs::create_dir(&folder).expect("mkdir");
    for i in 0..40 {
        let name = format!("{i:05}.png");
        std::fs::copy(
            repo().join("tests/fixtures/shapes").join(&name),
            folder.join(&name),
        )
        .expect("copy");
    }
    // The runtime as this test process finds it: the app's data folder is a temporary one.
    let runtime = setup::runtime().expect("ONNX Runtime (make setup)");
    // Demo mode on our folder: the UI adds it and asks the app to index it, over IPC.
    let mut cmd = Command::new("unshare");
    cmd.arg(if is_root() { "-n" } else { "-rn" })
        .args([
            "xvfb-run",
            "-a",
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=socket",
            "-o",
        ])
        .arg(&log)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_clipstream-app"))
        .env_remove("CLIPSTREAM_MODEL")
        .env("ORT_DYLIB_PATH", runtime)
        .env("XDG_DATA_HOME", tmp.path().join("data"))
        .env("XDG_CONFIG_HOME", tmp.path().join("config"))
        .env("CLIPSTREAM_DEMO_MODEL", repo().join("models/tiny-clip"))
        .env("CLIPSTREAM_DEMO_FOLDER", &folder)
        .env("CLIPSTREAM_DEMO_LIBRARY", &library)
        .process_group(0);
    let mut app = cmd.spawn().expect("xvfb-run starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut indexed = 0;
    while indexed < 40 && Instant::now() < deadline {
        assert!(
            app.try_wait().expect("polls").is_none(),
            "the app exited early"
        );
        std::thread::sleep(Duration::from_millis(500));
        indexed = catalogued(&library);
    }
    // Stop the app, its WebKit processes and Xvfb: the whole process group.
    let group = format!("-{}", app.id());
    let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
    let _ = app.wait();
    assert_eq!(indexed, 40, "the app did not index its demo folder offline");

    let calls = std::fs::read_to_string(&log).expect("strace log");
    let families: Vec<&str> = calls
        .lines()
        .filter_map(|l| l.split_once("socket(").map(|(_, rest)| rest))
        .map(|rest| rest.split(',').next().unwrap_or(""))
        .collect();
    // Local sockets only: AF_UNIX for the X display, D-Bus and WebKit's IPC between its
    // processes; AF_NETLINK is GLib's network monitor asking the kernel about interfaces. No
    // AF_INET/AF_INET6 (or raw) socket: nothing could reach a network even if there were one.
    assert!(
        families
            .iter()
            .all(|f| ["AF_UNIX", "AF_NETLINK"].contains(f)),
        "non-local sockets: {families:?}"
    );
    assert!(
        families.len() > 3,
        "the trace saw the app's local sockets: {families:?}"
    );
    eprintln!("socket(2) calls: {families:?}");
}
