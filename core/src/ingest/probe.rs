//! Deciding for certain whether a file crashes the decoder (or the OCR, [`crate::ingest::reading`]):
//! it is decoded (or read) in a child process.
//!
//! A C decoder that segfaults or aborts takes the whole process down, and no `catch_unwind` can
//! stop it. The decoding journal ([`crate::ingest::journal`]) names the files being decoded when a run
//! died, but a death is not a verdict: a person who force-quits, a SIGKILL or the OOM killer leave
//! exactly the same notes. So the next run decodes each such suspect in a child process first, and
//! convicts it only on that child's own death by a crash signal (SIGSEGV, SIGABRT, SIGBUS, SIGILL,
//! SIGFPE), which no kill of the parent can fake. A kill while the child runs leaves the file a
//! suspect, nothing more.
//!
//! The child is this same executable (the CLI, the app, a test binary), started with
//! [`PROBE_PATH`] set: a constructor that runs before `main` decodes the file and exits, so every
//! program that links the core answers, whatever its own `main` does.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::ingest::decode;
use crate::ingest::thumbnail;

/// The file the child decodes (a path's raw bytes: non-UTF-8 names work).
const PROBE_PATH: &str = "CLIPSTREAM_DECODE_PROBE";
/// `short_side max_pixels max_file_bytes`, as the run decodes.
const PROBE_LIMITS: &str = "CLIPSTREAM_DECODE_PROBE_LIMITS";
/// The file whose words the child reads, and the OCR models' folder.
const WORDS_PATH: &str = "CLIPSTREAM_WORDS_PROBE";
const WORDS_MODELS: &str = "CLIPSTREAM_WORDS_PROBE_MODELS";
/// How long one decode may take before the child is stopped (and the file convicted of hanging).
const PROBE_TIMEOUT: Duration = Duration::from_secs(300);

/// What the child's end says of a file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Decoded (or refused with an ordinary error) and the child exited: safe to decode here.
    Clean,
    /// The child died of a crash signal, or hung: the decoder cannot read this file.
    Crashed(String),
    /// The child could not be run (no executable, no memory): judged by a later run.
    Unknown(String),
}

/// The limits the run decodes with, for the child.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub short_side: u32,
    pub max_pixels: u64,
    pub max_file_bytes: u64,
}

/// Decode `path` in a child process and say how that went.
pub(crate) fn decode_in_child(path: &Path, limits: &Limits) -> Verdict {
    let limits = format!(
        "{} {} {}",
        limits.short_side, limits.max_pixels, limits.max_file_bytes
    );
    in_child(&[(PROBE_PATH, path.as_os_str()), (PROBE_LIMITS, limits.as_ref())])
}

/// Read the words of `path` with the OCR models in `models` in a child process, as the reading
/// stage would ([`crate::ingest::reading`]), and say how that went.
pub(crate) fn read_words_in_child(path: &Path, models: &Path, limits: &Limits) -> Verdict {
    let limits = format!("{} {} {}", 0, limits.max_pixels, limits.max_file_bytes);
    in_child(&[
        (WORDS_PATH, path.as_os_str()),
        (WORDS_MODELS, models.as_os_str()),
        (PROBE_LIMITS, limits.as_ref()),
    ])
}

/// Run this program with `env` set, and judge its end.
fn in_child(env: &[(&str, &std::ffi::OsStr)]) -> Verdict {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return Verdict::Unknown(format!("cannot find this program to check it: {e}")),
    };
    let spawned = Command::new(&exe)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return Verdict::Unknown(format!("cannot start a process to check it: {e}")),
    };
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > PROBE_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Verdict::Crashed(format!(
                    "it did not finish in {} s",
                    PROBE_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Verdict::Unknown(format!("lost the checking process: {e}")),
        }
    };
    match status.signal() {
        None if status.code() == Some(0) => Verdict::Clean,
        None => Verdict::Unknown(format!("the checking process failed ({status})")),
        Some(signal) => match crash_signal(signal) {
            Some(name) => Verdict::Crashed(name.into()),
            // Killed by someone (SIGKILL, SIGTERM): that says nothing about the file.
            None => Verdict::Unknown(format!("the checking process was stopped ({status})")),
        },
    }
}

/// The name of a signal a crashing decoder dies of.
fn crash_signal(signal: i32) -> Option<&'static str> {
    Some(match signal {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        _ => return None,
    })
}

/// In the child: decode the file named by [`PROBE_PATH`] as the run would (or read the words of the
/// photo [`read_words_in_child`] names), then exit. Runs before `main` in every program that links
/// the core; does nothing unless one of those variables is set.
// `ctor` places this function in `.init_array` (link sections are what the lint refuses); it only
// reads the environment and exits, and touches nothing `main` would set up.
#[allow(unsafe_code)]
#[ctor::ctor(unsafe)]
fn decode_probe_child() {
    if let Some((path, models, max_pixels, max_file_bytes)) = words_child_request() {
        let (path, models) = (Path::new(&path), Path::new(&models));
        crate::ingest::words::read_in_child(path, models, max_pixels, max_file_bytes);
        std::process::exit(0);
    }
    let Some(path) = std::env::var_os(PROBE_PATH) else {
        return;
    };
    std::process::exit(run_in_child(path, std::env::var(PROBE_LIMITS).ok()));
}

/// In a child started by [`read_words_in_child`]: the photo's path, the models' folder and
/// `max_pixels max_file_bytes`, or `None` when this process is not such a child.
fn words_child_request() -> Option<(OsString, OsString, u64, u64)> {
    let path = std::env::var_os(WORDS_PATH)?;
    let models = std::env::var_os(WORDS_MODELS)?;
    let limits: Vec<u64> = std::env::var(PROBE_LIMITS)
        .ok()?
        .split(' ')
        .filter_map(|n| n.parse().ok())
        .collect();
    match limits.as_slice() {
        &[_, max_pixels, max_file_bytes] => Some((path, models, max_pixels, max_file_bytes)),
        _ => None,
    }
}

fn run_in_child(path: OsString, limits: Option<String>) -> i32 {
    let parsed: Option<Vec<u64>> = limits.map(|l| {
        l.split(' ')
            .filter_map(|n| n.parse().ok())
            .collect::<Vec<u64>>()
    });
    let Some(&[short_side, max_pixels, max_file_bytes]) = parsed.as_deref() else {
        return 2;
    };
    let path = Path::new(&path);
    let Ok(bytes) = decode::read_capped(path, max_file_bytes) else {
        return 0; // unreadable is not a crash; the run says why
    };
    // Whatever the decoder answers, it answered: only a death by signal convicts.
    let _ = decode::decode_with_thumbnail(&bytes, short_side as u32, thumbnail::BOX, max_pixels);
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_crash_signals_convict() {
        assert_eq!(crash_signal(libc::SIGSEGV), Some("SIGSEGV"));
        assert_eq!(crash_signal(libc::SIGABRT), Some("SIGABRT"));
        assert_eq!(crash_signal(libc::SIGKILL), None, "a kill is no verdict");
        assert_eq!(crash_signal(libc::SIGTERM), None);
    }

    #[test]
    fn a_clean_file_is_clean_in_a_child_of_this_very_test_binary() {
        // The test binary links the core too: its constructor answers the probe.
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("not really.png");
        std::fs::write(&file, b"not an image at all").expect("write");
        let limits = Limits {
            short_side: 64,
            max_pixels: 1 << 20,
            max_file_bytes: 1 << 20,
        };
        assert_eq!(decode_in_child(&file, &limits), Verdict::Clean);
    }
}
