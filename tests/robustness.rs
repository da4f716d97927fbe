//! The `clipstream` binary under hostile input and faults: broken files, unreadable files.

#[path = "../core/tests/hostile/mod.rs"]
mod hostile;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
