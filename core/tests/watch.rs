//! Watching the library's folders with real inotify on temporary folders: photos added, changed,
//! renamed, moved, deleted (and a burst of 500 copies) become searchable, or go, by themselves;
//! a file still being written is indexed once complete; past the watch limit and for a folder
//! that is gone, periodic scans take over and say why.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use clipstream_core::ingest::watch::WATCH_LIMIT_REASON;
use clipstream_core::{FolderWatch, Library, Request, WatchEvent, WatchOptions};
use common::{open_library, shape};

/// How long a change may take before the test calls it lost: a hang limit, not a promise (how
/// soon changes are seen is measured by `make bench`, never asserted by a test).
const WITHIN: Duration = Duration::from_secs(60);

/// A library with `folders` (created), watched on a thread of its own until dropped.
struct Watched {
    library: Arc<Library>,
    stop: Arc<AtomicBool>,
    runs: Arc<Mutex<usize>>,
    /// Files the runs skipped, summed over every run.
    skipped_in_runs: Arc<Mutex<u64>>,
    folders: mpsc::Receiver<Vec<FolderWatch>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Watched {
    fn start(folders: &[&Path], options: WatchOptions) -> (Self, Vec<FolderWatch>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let library = Arc::new(open_library(&dir.path().join("library")));
        for f in folders {
            std::fs::create_dir_all(f).expect("mkdir");
            library.add_folder(f).expect("folder added");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let runs = Arc::new(Mutex::new(0));
        let skipped_in_runs = Arc::new(Mutex::new(0));
        let (tx, rx) = mpsc::channel();
        let thread = {
            let (library, stop, runs) = (library.clone(), stop.clone(), runs.clone());
            let skipped = skipped_in_runs.clone();
            std::thread::spawn(move || {
                library
                    .watch(options, &stop, &mut |event| {
                        match event {
                            WatchEvent::Folders(f) => {
                                let _ = tx.send(f);
                            }
                            WatchEvent::Drive { .. } => {}
                            WatchEvent::RunDue(_) => {
                                let report = library.index(&mut |_| {}, &AtomicBool::new(false))?;
                                *skipped.lock().expect("lock") += report.skipped;
                                *runs.lock().expect("lock") += 1;
                            }
                        }
                        Ok(())
                    })
                    .expect("watching runs until stopped");
            })
        };
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the watch reports its folders");
        let watched = Self {
            library,
            stop,
            runs,
            skipped_in_runs,
            folders: rx,
            thread: Some(thread),
            _dir: dir,
        };
        // The catch-up run.
        watched.until("the first run", Duration::from_secs(60), |_| {
            *watched.runs.lock().expect("lock") >= 1
        });
        (watched, first)
    }

    /// Every catalogued image: path → file size.
    fn images(&self) -> BTreeMap<PathBuf, u64> {
        let mut request = Request::new("a photo", 100_000);
        request.all = true;
        let results = self.library.search(&request).expect("searches");
        results.hits.into_iter().map(|h| (h.path, h.size)).collect()
    }

    /// Wait until `done` holds of the catalog, at most `limit`; returns how long it took.
    fn until(
        &self,
        what: &str,
        limit: Duration,
        done: impl Fn(&BTreeMap<PathBuf, u64>) -> bool,
    ) -> Duration {
        let started = Instant::now();
        loop {
            let images = self.images();
            if done(&images) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "{what}: not seen within {limit:?}; the catalog holds {images:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let joined = t.join();
            if !std::thread::panicking() {
                joined.expect("the watch thread ends cleanly");
            }
        }
    }
}

fn test_options() -> WatchOptions {
    WatchOptions {
        debounce: Duration::from_millis(200),
        settle: Duration::from_millis(500),
        poll_every: Duration::from_secs(1),
        catch_up: true,
        watch_limit: None,
    }
}

/// Two shapes whose files differ in size (so a rewrite shows in the catalog).
fn two_shapes() -> (PathBuf, PathBuf) {
    let size = |p: &Path| std::fs::metadata(p).expect("shape").len();
    let first = shape(1);
    let other = (2..100)
        .map(shape)
        .find(|p| size(p) != size(&first))
        .expect("shapes of different sizes");
    (first, other)
}

#[test]
fn photos_added_changed_renamed_moved_and_deleted_show_up_by_themselves() {
    let root = tempfile::tempdir().expect("temp dir");
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    std::fs::create_dir_all(a.join("sub/.thumbnails")).expect("mkdir");
    std::fs::create_dir_all(a.join("@eaDir")).expect("mkdir");
    let (w, folders) = Watched::start(&[&a, &b], test_options());
    // Each folder is watched, hidden and system folders are not: a, a/sub and b.
    let watched: Vec<(PathBuf, usize, Option<String>)> = folders
        .iter()
        .map(|f| (f.path.clone(), f.watched_folders, f.polled.clone()))
        .collect();
    assert_eq!(watched, vec![(a.clone(), 2, None), (b.clone(), 1, None)]);

    let (one, two) = two_shapes();
    let one_size = std::fs::metadata(&one).expect("shape").len();
    let two_size = std::fs::metadata(&two).expect("shape").len();

    std::fs::copy(&one, a.join("one.png")).expect("copy");
    let took = w.until("an added photo", WITHIN, |i| {
        i.get(&a.join("one.png")) == Some(&one_size)
    });
    eprintln!("added: {took:?}");

    std::fs::copy(&two, a.join("one.png")).expect("overwrite");
    let took = w.until("a changed photo", WITHIN, |i| {
        i.get(&a.join("one.png")) == Some(&two_size)
    });
    eprintln!("changed: {took:?}");

    std::fs::rename(a.join("one.png"), a.join("sub/uno.png")).expect("rename");
    let took = w.until("a renamed photo", WITHIN, |i| {
        i.keys().collect::<Vec<_>>() == vec![&a.join("sub/uno.png")]
    });
    eprintln!("renamed into a subfolder: {took:?}");

    std::fs::rename(a.join("sub/uno.png"), b.join("uno.png")).expect("move");
    let took = w.until("a photo moved to another folder", WITHIN, |i| {
        i.keys().collect::<Vec<_>>() == vec![&b.join("uno.png")]
    });
    eprintln!("moved between folders: {took:?}");

    // A folder made now is watched too: a photo put in it later is found.
    std::fs::create_dir_all(b.join("new")).expect("mkdir");
    std::thread::sleep(Duration::from_millis(800));
    std::fs::copy(&one, b.join("new/later.png")).expect("copy");
    let took = w.until("a photo in a folder made while watching", WITHIN, |i| {
        i.contains_key(&b.join("new/later.png"))
    });
    eprintln!("added in a new folder: {took:?}");
    assert_eq!(
        w.folders.try_iter().last().map(|f| f[1].watched_folders),
        Some(2)
    );

    // Hidden folders stay out; deleting takes the photo out of the catalog.
    std::fs::copy(&one, a.join("sub/.thumbnails/cache.png")).expect("copy");
    std::fs::remove_file(b.join("uno.png")).expect("delete");
    let took = w.until("a deleted photo", WITHIN, |i| {
        i.keys().collect::<Vec<_>>() == vec![&b.join("new/later.png")]
    });
    eprintln!("deleted: {took:?}");
}

#[test]
fn a_burst_of_500_copies_is_indexed() {
    let root = tempfile::tempdir().expect("temp dir");
    let folder = root.path().join("photos");
    let (w, _) = Watched::start(&[&folder], test_options());
    let started = Instant::now();
    for n in 0..500 {
        std::fs::copy(shape(n), folder.join(format!("{n:03}.png"))).expect("copy");
    }
    let copied = started.elapsed();
    w.until("500 copies", Duration::from_secs(120), |i| i.len() == 500);
    eprintln!(
        "500 copies made in {copied:?}, all searchable after {:?} in {} runs",
        started.elapsed(),
        w.runs.lock().expect("lock")
    );
    assert!(w.library.skipped().expect("skipped").is_empty());
}

#[test]
fn a_photo_still_being_copied_in_is_indexed_once_complete_not_skipped_as_truncated() {
    let root = tempfile::tempdir().expect("temp dir");
    let folder = root.path().join("photos");
    let (w, _) = Watched::start(&[&folder], test_options());
    let bytes = std::fs::read(shape(7)).expect("shape");
    let target = folder.join("slow.png");
    // A slow copy: a piece every 300 ms for ~2.4 s, longer than the debounce and the settle time
    // between pieces would allow if either decided alone.
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&target).expect("create");
        for piece in bytes.chunks(bytes.len().div_ceil(8)) {
            file.write_all(piece).expect("write");
            file.flush().expect("flush");
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    w.until("the slowly copied photo", WITHIN, |i| {
        i.get(&target) == Some(&(bytes.len() as u64))
    });
    // No run read it half-written (it would have been skipped as truncated, then read again).
    assert_eq!(
        *w.skipped_in_runs.lock().expect("lock"),
        0,
        "skipped while incomplete"
    );
    assert!(w.library.skipped().expect("skipped").is_empty());
}

#[test]
fn past_the_watch_limit_folders_are_scanned_periodically_and_the_reason_gives_the_fix() {
    let root = tempfile::tempdir().expect("temp dir");
    let folder = root.path().join("photos");
    std::fs::create_dir_all(folder.join("deep/deeper")).expect("mkdir");
    // As if `fs.inotify.max_user_watches` allowed one more watch only.
    let options = WatchOptions {
        watch_limit: Some(1),
        ..test_options()
    };
    let (w, folders) = Watched::start(&[&folder], options);
    assert_eq!(folders.len(), 1);
    assert_eq!(folders[0].watched_folders, 1);
    let reason = folders[0].polled.as_deref().expect("scanned periodically");
    assert_eq!(reason, WATCH_LIMIT_REASON);
    assert!(reason.contains("fs.inotify.max_user_watches"), "{reason}");
    // A photo in a folder without a watch is found by the periodic scan.
    std::fs::copy(shape(3), folder.join("deep/deeper/found.png")).expect("copy");
    w.until("a photo in an unwatched folder", WITHIN, |i| {
        i.contains_key(&folder.join("deep/deeper/found.png"))
    });
}

#[test]
fn a_folder_that_goes_away_is_checked_periodically_and_watched_again_when_back() {
    let root = tempfile::tempdir().expect("temp dir");
    let folder = root.path().join("drive");
    let (w, _) = Watched::start(&[&folder], test_options());
    std::fs::copy(shape(4), folder.join("kept.png")).expect("copy");
    w.until("a photo", WITHIN, |i| i.len() == 1);
    // Unplugged: the folder is gone, its photos stay in the library.
    let away = root.path().join("away");
    std::fs::rename(&folder, &away).expect("unplug");
    let folders = w
        .folders
        .recv_timeout(Duration::from_secs(10))
        .expect("the watch reports the folder gone");
    assert!(
        folders[0]
            .polled
            .as_deref()
            .is_some_and(|r| r.contains("not connected")),
        "{folders:?}"
    );
    assert_eq!(
        w.images().len(),
        1,
        "photos of an unplugged folder are kept"
    );
    // Plugged in again with a new photo: found by the periodic check, watched again.
    std::fs::copy(shape(5), away.join("new.png")).expect("copy");
    std::fs::rename(&away, &folder).expect("plug in");
    w.until("the new photo on the drive", WITHIN, |i| i.len() == 2);
    let folders = w
        .folders
        .recv_timeout(Duration::from_secs(10))
        .expect("the watch reports the folder back");
    assert_eq!(folders[0].polled, None, "{folders:?}");
    assert_eq!(folders[0].watched_folders, 1);
}
