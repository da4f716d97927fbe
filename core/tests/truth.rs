//! The library stays true to the disk: SQLite is the one truth, and what a library holds in
//! memory (rows, vector index, relevance background, generation) is always what a fresh open of
//! the same folder reads. Regression tests for each way the two drifted apart, then the
//! lock-order test.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use clipstream_core::store::catalog::{Catalog, DATABASE};
use clipstream_core::{Library, Model, Options, Request};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("core/ lives in the repo root")
        .to_path_buf()
}

fn shape(n: usize) -> PathBuf {
    repo().join(format!("tests/fixtures/shapes/{n:05}.png"))
}

fn model() -> Model {
    Model::open(repo().join("models/tiny-clip")).expect("test model opens")
}

fn open_with(dir: &Path, options: Options) -> Library {
    Library::open(dir, Some(&model()), options).expect("library opens")
}

fn open(dir: &Path) -> Library {
    open_with(dir, Options::default())
}

fn index(library: &Library) -> clipstream_core::Report {
    library
        .index(&mut |_| {}, &AtomicBool::new(false))
        .expect("indexes")
}

/// Every (path, score) for a query, all results, in a stable order.
fn everything(library: &Library, query: &str) -> (Vec<(PathBuf, i64)>, Option<f32>) {
    let mut request = Request::new(query, 1000);
    request.all = true;
    let results = library.search(&request).expect("searches");
    let mut hits: Vec<(PathBuf, i64)> = results
        .hits
        .into_iter()
        .map(|h| (h.path, (h.score * 1e5).round() as i64))
        .collect();
    hits.sort();
    let cutoff = library
        .search(&Request::new(query, 10))
        .expect("searches")
        .cutoff;
    (hits, cutoff)
}

fn paths_of(library: &Library) -> Vec<PathBuf> {
    everything(library, "a shape")
        .0
        .into_iter()
        .map(|(p, _)| p)
        .collect()
}

fn copy(from: &Path, to: &Path) {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::copy(from, to).expect("copy");
}

#[test]
fn deleting_one_of_two_identical_files_leaves_no_phantom() {
    let dir = tempfile::tempdir().expect("tempdir");
    let photos = dir.path().join("photos");
    copy(&shape(1), &photos.join("a.png"));
    copy(&shape(2), &photos.join("b.png"));
    let library = open(&dir.path().join("library"));
    library.add_folder(&photos).expect("adds");
    index(&library);
    copy(&shape(1), &photos.join("copy of a.png"));
    let copied = index(&library);
    assert_eq!((copied.added, copied.copied), (0, 1), "{copied:?}");

    std::fs::remove_file(photos.join("a.png")).expect("rm");
    let second = index(&library);
    assert_eq!(second.removed, 1, "{second:?}");
    assert_eq!(library.status().expect("status").images, 2);
    let photos = std::fs::canonicalize(&photos).expect("exists");
    assert_eq!(
        paths_of(&library),
        [photos.join("b.png"), photos.join("copy of a.png")]
    );
    let reopened = open(&dir.path().join("library"));
    assert_eq!(reopened.status().expect("status").images, 2);
}

#[test]
fn moving_one_of_two_identical_files_is_a_move_not_a_copy_and_a_phantom() {
    let dir = tempfile::tempdir().expect("tempdir");
    let photos = dir.path().join("photos");
    copy(&shape(3), &photos.join("a.png"));
    copy(&shape(3), &photos.join("b.png"));
    let library = open(&dir.path().join("library"));
    library.add_folder(&photos).expect("adds");
    index(&library);

    std::fs::create_dir(photos.join("sub")).expect("mkdir");
    std::fs::rename(photos.join("a.png"), photos.join("sub/a.png")).expect("move");
    let report = index(&library);
    assert_eq!(
        (report.moved, report.copied, report.removed, report.added),
        (1, 0, 0, 0),
        "{report:?}"
    );
    let photos = std::fs::canonicalize(&photos).expect("exists");
    assert_eq!(
        paths_of(&library),
        [photos.join("b.png"), photos.join("sub/a.png")]
    );
}

#[test]
fn a_new_file_whose_content_left_the_catalog_earlier_in_the_run_is_still_indexed() {
    // x.png held shape 5 and now holds shape 6; z.png is new and holds shape 5. With one image
    // per batch, x's old row is gone from the catalog before z is read.
    let dir = tempfile::tempdir().expect("tempdir");
    let (first, second) = (dir.path().join("a"), dir.path().join("b"));
    copy(&shape(5), &first.join("x.png"));
    copy(&shape(7), &second.join("y.png"));
    let options = || Options {
        batch_size: 1,
        decode_threads: 1,
        ..Options::default()
    };
    let library = open_with(&dir.path().join("library"), options());
    library.add_folder(&first).expect("adds");
    library.add_folder(&second).expect("adds");
    index(&library);

    copy(&shape(6), &first.join("x.png"));
    copy(&shape(5), &second.join("z.png"));
    let report = index(&library);
    assert_eq!(report.updated, 1, "{report:?}");
    assert_eq!(report.added + report.copied + report.moved, 1, "{report:?}");
    assert_eq!(library.status().expect("status").images, 3, "{report:?}");
    let second = std::fs::canonicalize(&second).expect("exists");
    assert!(paths_of(&library).contains(&second.join("z.png")));
}

#[test]
fn copies_are_counted_and_share_the_embedding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let photos = dir.path().join("photos");
    copy(&shape(8), &photos.join("a.png"));
    let library = open(&dir.path().join("library"));
    library.add_folder(&photos).expect("adds");
    index(&library);
    copy(&shape(8), &photos.join("again.png"));
    copy(&shape(8), &photos.join("and again.png"));
    let report = index(&library);
    assert_eq!((report.copied, report.added), (2, 0), "{report:?}");
    let (hits, _) = everything(&library, "a shape");
    assert_eq!(hits.len(), 3);
    assert!(
        hits.iter().all(|(_, score)| *score == hits[0].1),
        "{hits:?}"
    );
}

#[test]
fn moves_and_touches_bump_the_generation_and_another_process_sees_the_new_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let photos = dir.path().join("photos");
    copy(&shape(9), &photos.join("a.png"));
    copy(&shape(10), &photos.join("b.png"));
    let lib_dir = dir.path().join("library");
    let writer = open(&lib_dir);
    writer.add_folder(&photos).expect("adds");
    index(&writer);
    // Another process (the app while the CLI indexes): a library of its own on the same folder.
    let reader = open(&lib_dir);
    let generation = || {
        Catalog::open(&lib_dir.join(DATABASE))
            .expect("opens")
            .generation()
            .expect("reads")
    };
    let before = generation();

    std::fs::rename(photos.join("a.png"), photos.join("renamed.png")).expect("rename");
    let report = index(&writer);
    assert_eq!(report.moved, 1, "{report:?}");
    let after_move = generation();
    assert!(after_move > before, "a move bumps the generation");
    let photos = std::fs::canonicalize(&photos).expect("exists");
    assert!(
        paths_of(&reader).contains(&photos.join("renamed.png")),
        "the other library shows the new path: {:?}",
        paths_of(&reader)
    );

    // Same bytes, new modification time: a touch.
    let file = std::fs::File::options()
        .write(true)
        .open(photos.join("b.png"))
        .expect("open");
    file.set_modified(std::time::SystemTime::now() - Duration::from_secs(3600))
        .expect("touch");
    let report = index(&writer);
    assert_eq!(report.updated, 1, "{report:?}");
    assert!(generation() > after_move, "a touch bumps the generation");
}

#[test]
fn the_relevance_cutoff_is_the_same_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let photos = dir.path().join("photos");
    for i in 0..40 {
        copy(&shape(i * 37), &photos.join(format!("{i:02}.png")));
    }
    let lib_dir = dir.path().join("library");
    let library = open(&lib_dir);
    library.add_folder(&photos).expect("adds");
    index(&library);
    for i in 0..15 {
        std::fs::remove_file(photos.join(format!("{i:02}.png"))).expect("rm");
    }
    assert_eq!(index(&library).removed, 15);
    for query in ["a red circle", "a small blue square", "a green triangle"] {
        let during = everything(&library, query);
        let restarted = everything(&open(&lib_dir), query);
        assert!(during.1.is_some(), "25 images get a cutoff");
        assert_eq!(
            during, restarted,
            "{query}: results and cutoff after a restart"
        );
    }
}

/// Runs `work` on its own thread; fails (instead of hanging the suite) if it takes over `limit`.
fn finishes_within(limit: Duration, what: &str, work: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        work();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(limit) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not finish in {limit:?}: a deadlock")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what} panicked"),
    }
}

#[test]
fn searches_status_removal_and_indexing_from_several_threads_never_hang() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (kept, churn) = (dir.path().join("kept"), dir.path().join("churn"));
    for i in 0..12 {
        copy(&shape(i * 11), &kept.join(format!("{i}.png")));
        copy(&shape(i * 13 + 500), &churn.join(format!("{i}.png")));
    }
    let library = Arc::new(open(&dir.path().join("library")));
    library.add_folder(&kept).expect("adds");
    index(&library);
    finishes_within(
        Duration::from_secs(120),
        "concurrent library use",
        move || {
            let stop = Arc::new(AtomicBool::new(false));
            let until = Instant::now() + Duration::from_secs(4);
            let mut workers = Vec::new();
            {
                let (library, churn) = (library.clone(), churn.clone());
                workers.push(std::thread::spawn(move || {
                    let mut rounds = 0;
                    while Instant::now() < until {
                        let folder = library.add_folder(&churn).expect("adds");
                        // Busy while the indexing thread's run holds the library.
                        match library.remove_folder(folder.id) {
                            Ok(_) | Err(clipstream_core::Error::Busy { .. }) => {}
                            Err(e) => panic!("remove: {e}"),
                        }
                        rounds += 1;
                    }
                    rounds
                }));
            }
            {
                let (library, stop) = (library.clone(), stop.clone());
                workers.push(std::thread::spawn(move || {
                    let mut runs = 0;
                    while Instant::now() < until {
                        library
                            .index(&mut |_| {}, &AtomicBool::new(false))
                            .expect("indexes");
                        runs += 1;
                    }
                    stop.store(true, Ordering::SeqCst);
                    runs
                }));
            }
            for query in ["a red circle", "a blue square"] {
                let (library, stop) = (library.clone(), stop.clone());
                workers.push(std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        library.search(&Request::new(query, 5)).expect("searches");
                        n += 1;
                    }
                    n
                }));
            }
            {
                let (library, stop) = (library.clone(), stop.clone());
                workers.push(std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        library.status().expect("status");
                        n += 1;
                    }
                    n
                }));
            }
            let counts: Vec<usize> = workers
                .into_iter()
                .map(|w| w.join().expect("worker"))
                .collect();
            assert!(
                counts.iter().all(|&n| n > 0),
                "every thread got work done: {counts:?}"
            );
            if let Ok(folder) = library.folder_at(&churn) {
                library.remove_folder(folder.id).expect("removes");
            }
            index(&library);
            assert_eq!(library.status().expect("status").images, 12);
            assert_eq!(
                library.cache_differences().expect("compares"),
                Vec::<String>::new()
            );
        },
    );
}

// ---------------------------------------------------------------------------------------------
// The model-based test: random sequences of what users do to their folders and their library,
// against a real library (SQLite file, ONNX Runtime, vector index on disk). After every step, the
// library's memory equals its catalog, a fresh open of the same folder equals both (images,
// paths, hashes, generation, search results, cutoff), and after every run that went to the end,
// the catalog equals a plain model of the folders.
// ---------------------------------------------------------------------------------------------

mod model_based {
    use std::collections::{BTreeMap, BTreeSet};
    use std::panic::AssertUnwindSafe;

    use proptest::prelude::*;

    use super::*;

    /// The library folders a sequence may have: two side by side and one inside the first.
    const FOLDERS: [&str; 3] = ["a", "b", "a/nested"];
    /// File contents: few enough that identical copies are common. The last one has words in it
    /// (read by the real OCR models): the words follow its copies, moves and deletions.
    const CONTENTS: usize = 5;
    const TEXT: usize = CONTENTS - 1;

    #[derive(Debug, Clone)]
    enum Op {
        /// Write content `content` at `folder/name` (a new file, or a changed one).
        Write {
            folder: usize,
            name: u8,
            content: usize,
        },
        /// Copy the `pick`-th file to `folder/name` (a duplicate of its content).
        Copy {
            pick: usize,
            folder: usize,
            name: u8,
        },
        /// Move or rename the `pick`-th file to `folder/name`.
        Move {
            pick: usize,
            folder: usize,
            name: u8,
        },
        Delete {
            pick: usize,
        },
        /// Same bytes, new modification time.
        Touch {
            pick: usize,
        },
        AddFolder {
            folder: usize,
        },
        RemoveFolder {
            folder: usize,
        },
        Index,
        /// Cancel the run after its `after`-th progress report.
        Cancel {
            after: usize,
        },
        /// The process dies after the run's `after`-th progress report; the library is opened
        /// again from its folder.
        Crash {
            after: usize,
        },
        /// Top folder `folder` (`a`, with `a/nested`, or `b`) goes away, as an unplugged drive's
        /// does: its catalogued photos must stay.
        Unplug {
            folder: usize,
        },
        /// It comes back, as it was.
        Plug {
            folder: usize,
        },
        /// A pass reading the words in photos.
        ReadWords,
    }

    fn op() -> impl Strategy<Value = Op> {
        let folder = 0..FOLDERS.len();
        let name = 0u8..6;
        prop_oneof![
            4 => (folder.clone(), name.clone(), 0..CONTENTS)
                .prop_map(|(folder, name, content)| Op::Write { folder, name, content }),
            2 => (any::<usize>(), folder.clone(), name.clone())
                .prop_map(|(pick, folder, name)| Op::Copy { pick, folder, name }),
            2 => (any::<usize>(), folder.clone(), name.clone())
                .prop_map(|(pick, folder, name)| Op::Move { pick, folder, name }),
            2 => any::<usize>().prop_map(|pick| Op::Delete { pick }),
            1 => any::<usize>().prop_map(|pick| Op::Touch { pick }),
            1 => folder.clone().prop_map(|folder| Op::AddFolder { folder }),
            1 => folder.prop_map(|folder| Op::RemoveFolder { folder }),
            4 => Just(Op::Index),
            1 => (0usize..8).prop_map(|after| Op::Cancel { after }),
            1 => (0usize..8).prop_map(|after| Op::Crash { after }),
            1 => (0usize..2).prop_map(|folder| Op::Unplug { folder }),
            1 => (0usize..2).prop_map(|folder| Op::Plug { folder }),
            2 => Just(Op::ReadWords),
        ]
    }

    /// What is on disk, and which folders the library has: the plain model.
    struct World {
        root: PathBuf,
        library_dir: PathBuf,
        files: BTreeMap<PathBuf, usize>,
        folders: BTreeSet<usize>,
        contents: Vec<Vec<u8>>,
        /// Modification times are set by hand, one second apart: the test must not depend on
        /// the file system's clock granularity (same size and same coarse mtime look unchanged).
        clock: u64,
        /// Top folders away (unplugged), each with what the catalog held under it then: kept.
        away: BTreeMap<usize, BTreeSet<(PathBuf, [u8; 32])>>,
    }

    impl World {
        fn path(&self, folder: usize, name: u8) -> PathBuf {
            self.root.join(FOLDERS[folder]).join(format!("{name}.png"))
        }

        fn picked(&self, pick: usize) -> Option<PathBuf> {
            let here: Vec<&PathBuf> = self.files.keys().filter(|p| self.reachable(p)).collect();
            (!here.is_empty()).then(|| here[pick % here.len()].clone())
        }

        /// The top folder `folder` of the test (where it is when plugged in).
        fn top(&self, folder: usize) -> PathBuf {
            self.root.join(FOLDERS[folder])
        }

        /// Where an unplugged top folder waits.
        fn parked(&self, folder: usize) -> PathBuf {
            self.root.join(format!("away-{folder}"))
        }

        /// Not on a drive that is away.
        fn reachable(&self, path: &Path) -> bool {
            !self.away.keys().any(|&f| path.starts_with(self.top(f)))
        }

        fn stamp(&mut self, path: &Path) {
            self.clock += 1;
            let when = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + self.clock);
            std::fs::File::options()
                .write(true)
                .open(path)
                .and_then(|f| f.set_modified(when))
                .expect("set mtime");
        }

        fn write(&mut self, path: &Path, content: usize) {
            std::fs::write(path, &self.contents[content]).expect("write");
            self.stamp(path);
            self.files.insert(path.to_path_buf(), content);
        }

        /// (path, content hash) of every file the library should hold after a full run.
        fn expected(&self) -> BTreeSet<(PathBuf, [u8; 32])> {
            let roots: Vec<PathBuf> = self
                .folders
                .iter()
                .map(|&f| self.root.join(FOLDERS[f]))
                .collect();
            self.files
                .iter()
                .filter(|(path, _)| self.reachable(path))
                .map(|(path, &c)| (path.clone(), blake3::hash(&self.contents[c]).into()))
                .chain(self.away.values().flatten().cloned())
                .filter(|(path, _)| roots.iter().any(|r| path.starts_with(r)))
                .collect()
        }
    }

    fn options() -> Options {
        Options {
            batch_size: 2,
            decode_threads: 1,
            threads: 1,
            ..Options::default()
        }
    }

    fn catalogued(library_dir: &Path) -> BTreeSet<(PathBuf, [u8; 32])> {
        Catalog::open(&library_dir.join(DATABASE))
            .expect("opens")
            .all_images()
            .expect("reads")
            .into_iter()
            .map(|r| (r.path, r.hash))
            .collect()
    }

    /// One image's neighbours (id, path, score ×10⁴) and its cutoff (×10⁵).
    type Answer = (i64, Vec<(i64, PathBuf, i64)>, Option<i64>);

    /// Every image's neighbours (all of them, scores included) and cutoff, by id. A filter that
    /// keeps every folder must keep every neighbour: what filters read in memory (loaded by the
    /// first filtered search, then kept up to date) knows every catalogued image.
    fn answers(library: &Library, ids: &[i64]) -> Vec<Answer> {
        let filters = clipstream_core::Filters::default();
        let every_folder = clipstream_core::Filters {
            folder_ids: library
                .folders()
                .expect("folders")
                .iter()
                .map(|f| f.id)
                .collect(),
            ..Default::default()
        };
        ids.iter()
            .map(|&id| {
                let all = library
                    .similar_to_id(id, 100, true, &filters)
                    .expect("similar");
                let mut hits: Vec<(i64, PathBuf, i64)> = all
                    .hits
                    .into_iter()
                    .map(|h| (h.id, h.path, (h.score * 1e4).round() as i64))
                    .collect();
                hits.sort();
                let mut filtered: Vec<(i64, PathBuf, i64)> = library
                    .similar_to_id(id, 100, true, &every_folder)
                    .expect("similar")
                    .hits
                    .into_iter()
                    .map(|h| (h.id, h.path, (h.score * 1e4).round() as i64))
                    .collect();
                filtered.sort();
                assert_eq!(
                    filtered, hits,
                    "a filter keeping every folder kept fewer images"
                );
                let cut = library
                    .similar_to_id(id, 5, false, &filters)
                    .expect("similar");
                (id, hits, cut.cutoff.map(|c| (c * 1e5).round() as i64))
            })
            .collect()
    }

    /// Memory equals the catalog; a fresh open of the folder equals both.
    fn check_truth(library: &Library, world: &World, step: &str) {
        let differences = library.cache_differences().expect("compares");
        assert!(
            differences.is_empty(),
            "{step}: memory differs from the catalog: {differences:#?}"
        );
        let fresh = Library::open(&world.library_dir, None, options()).expect("fresh open");
        let differences = fresh.cache_differences().expect("compares");
        assert!(
            differences.is_empty(),
            "{step}: a fresh open differs: {differences:#?}"
        );
        let ids: Vec<i64> = Catalog::open(&world.library_dir.join(DATABASE))
            .expect("opens")
            .all_images()
            .expect("reads")
            .into_iter()
            .map(|r| r.id)
            .take(3)
            .collect();
        assert_eq!(
            answers(library, &ids),
            answers(&fresh, &ids),
            "{step}: searches differ between memory and a fresh open"
        );
        assert_eq!(
            library.status().expect("status").images,
            fresh.status().expect("status").images
        );
        check_words(library, world, step);
    }

    /// Words are kept by content while a catalogued image holds it, never longer; the text
    /// content's photos whose words are read are exactly those a search for its words finds.
    fn check_words(library: &Library, world: &World, step: &str) {
        let db = rusqlite::Connection::open(world.library_dir.join(DATABASE)).expect("opens");
        let orphans: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM words_read
                 WHERE NOT EXISTS (SELECT 1 FROM images WHERE images.hash = words_read.hash)",
                [],
                |r| r.get(0),
            )
            .expect("counts");
        assert_eq!(orphans, 0, "{step}: words kept for contents no photo holds");
        let text_hash: [u8; 32] = blake3::hash(&world.contents[TEXT]).into();
        let read: bool = db
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM words_read WHERE hash = ?1 AND lines > 0)",
                [&text_hash[..]],
                |r| r.get(0),
            )
            .expect("reads");
        let expected: BTreeSet<PathBuf> = catalogued(&world.library_dir)
            .into_iter()
            .filter(|(_, hash)| read && *hash == text_hash)
            .map(|(path, _)| path)
            .collect();
        let mut request = Request::new("receipt", 1000);
        request.all = true;
        let found: BTreeSet<PathBuf> = library
            .search(&request)
            .expect("searches")
            .hits
            .into_iter()
            .filter(|h| !h.text.is_empty())
            .map(|h| h.path)
            .collect();
        assert_eq!(found, expected, "{step}: the photos found by their words");
    }

    /// An index run that stops after `after` progress reports by `how`.
    enum Stop {
        Never,
        Cancel(usize),
        Crash(usize),
    }

    fn run(library: &Library, stop: Stop) -> Option<clipstream_core::Report> {
        let cancel = AtomicBool::new(false);
        let mut reports = 0;
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            library.index(
                &mut |_| {
                    reports += 1;
                    match stop {
                        Stop::Cancel(after) if reports > after => {
                            cancel.store(true, Ordering::SeqCst)
                        }
                        Stop::Crash(after) if reports > after => panic!("simulated crash"),
                        _ => {}
                    }
                },
                &cancel,
            )
        }));
        match outcome {
            Ok(report) => Some(report.expect("indexes")),
            Err(_) => None,
        }
    }

    /// Simulated crashes are expected panics: keep them out of the test's output.
    fn quiet_simulated_crashes() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let default = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let simulated = info
                    .payload()
                    .downcast_ref::<&str>()
                    .is_some_and(|m| *m == "simulated crash");
                if !simulated {
                    default(info);
                }
            }));
        });
    }

    /// A small photo with one line of text: the words fixture's second line ("你好世界 Receipt 42").
    fn text_photo() -> Vec<u8> {
        let sticker = image::open(repo().join("tests/fixtures/words/wifi-and-chinese.png"))
            .expect("png")
            .to_rgb8();
        let line = image::imageops::crop_imm(&sticker, 0, 110, sticker.width(), 90).to_image();
        let mut png = Vec::new();
        line.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("encodes");
        png
    }

    fn play(ops: &[Op]) {
        quiet_simulated_crashes();
        let dir = tempfile::tempdir().expect("tempdir");
        let root = std::fs::canonicalize(dir.path()).expect("real path");
        for folder in FOLDERS {
            std::fs::create_dir_all(root.join(folder)).expect("mkdir");
        }
        let contents = (0..CONTENTS)
            .map(|i| {
                if i == TEXT {
                    text_photo()
                } else {
                    std::fs::read(shape(i * 97)).expect("a shape")
                }
            })
            .collect();
        let mut world = World {
            library_dir: root.join("library"),
            root,
            files: BTreeMap::new(),
            folders: BTreeSet::new(),
            contents,
            clock: 0,
            away: BTreeMap::new(),
        };
        let mut library = open_with(&world.library_dir, options());
        for f in [0, 1] {
            library
                .add_folder(&world.root.join(FOLDERS[f]))
                .expect("adds");
            world.folders.insert(f);
        }
        for (i, op) in ops.iter().enumerate() {
            let step = format!("step {i} ({op:?})");
            match *op {
                Op::Write {
                    folder,
                    name,
                    content,
                } => {
                    let path = world.path(folder, name);
                    if world.reachable(&path) {
                        world.write(&path, content);
                    }
                }
                Op::Copy { pick, folder, name } => {
                    let to = world.path(folder, name);
                    if let Some(from) = world.picked(pick).filter(|_| world.reachable(&to)) {
                        let content = world.files[&from];
                        world.write(&to, content);
                    }
                }
                Op::Move { pick, folder, name } => {
                    let to = world.path(folder, name);
                    if let Some(from) = world.picked(pick).filter(|_| world.reachable(&to)) {
                        std::fs::rename(&from, &to).expect("move");
                        let content = world.files.remove(&from).expect("known");
                        world.files.insert(to, content);
                    }
                }
                Op::Delete { pick } => {
                    if let Some(path) = world.picked(pick) {
                        std::fs::remove_file(&path).expect("delete");
                        world.files.remove(&path);
                    }
                }
                Op::Touch { pick } => {
                    if let Some(path) = world.picked(pick) {
                        world.stamp(&path);
                    }
                }
                Op::AddFolder { folder } => {
                    if world.reachable(&world.top(folder)) {
                        library.add_folder(&world.top(folder)).expect("adds");
                        world.folders.insert(folder);
                    }
                }
                Op::RemoveFolder { folder } => {
                    if let Ok(f) = library.folder_at(&world.root.join(FOLDERS[folder])) {
                        library.remove_folder(f.id).expect("removes");
                    }
                    world.folders.remove(&folder);
                }
                Op::Index => {
                    run(&library, Stop::Never).expect("no crash");
                    assert_eq!(
                        catalogued(&world.library_dir),
                        world.expected(),
                        "{step}: the catalog after a full run differs from the folders"
                    );
                }
                Op::Cancel { after } => {
                    run(&library, Stop::Cancel(after)).expect("no crash");
                }
                Op::Crash { after } => {
                    if run(&library, Stop::Crash(after)).is_none() {
                        drop(library);
                        library = open_with(&world.library_dir, options());
                    }
                }
                Op::Unplug { folder } => {
                    if !world.away.contains_key(&folder) {
                        let top = world.top(folder);
                        let kept = catalogued(&world.library_dir)
                            .into_iter()
                            .filter(|(path, _)| path.starts_with(&top))
                            .collect();
                        std::fs::rename(&top, world.parked(folder)).expect("unplug");
                        world.away.insert(folder, kept);
                    }
                }
                Op::Plug { folder } => {
                    if world.away.remove(&folder).is_some() {
                        std::fs::rename(world.parked(folder), world.top(folder)).expect("plug");
                    }
                }
                Op::ReadWords => {
                    library
                        .read_words(&mut |_| {}, &AtomicBool::new(false))
                        .expect("reads words");
                }
            }
            check_truth(&library, &world, &step);
        }
        // Whatever happened, one full run brings the library to the folders.
        run(&library, Stop::Never).expect("no crash");
        assert_eq!(
            catalogued(&world.library_dir),
            world.expected(),
            "after a final run"
        );
        check_truth(&library, &world, "after a final run");
    }

    /// The property test's first finding: two identical files catalogued under `a`, then
    /// `a/nested` added as a folder of its own: both rows moved to one path (UNIQUE failed).
    #[test]
    fn identical_files_taken_over_by_a_folder_added_inside_their_folder() {
        play(&[
            Op::Write {
                folder: 2,
                name: 0,
                content: 1,
            },
            Op::Copy {
                pick: 0,
                folder: 2,
                name: 4,
            },
            Op::Index,
            Op::AddFolder { folder: 2 },
            Op::Index,
        ]);
    }

    fn sequences() -> u32 {
        std::env::var("TRUTH_SEQUENCES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(200)
    }

    /// The sequences, in four shares run side by side (each test its own process under nextest):
    /// `make test` runs 4 × 50; `TRUTH_SEQUENCES=5000` runs more.
    fn share() -> u32 {
        sequences().div_ceil(4)
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: share(),
            max_shrink_iters: 64,
            ..ProptestConfig::default()
        })]

        #[test]
        fn memory_catalog_fresh_open_and_folders_agree_after_every_step_1(
            ops in proptest::collection::vec(op(), 1..14)
        ) {
            play(&ops);
        }

        #[test]
        fn memory_catalog_fresh_open_and_folders_agree_after_every_step_2(
            ops in proptest::collection::vec(op(), 1..14)
        ) {
            play(&ops);
        }

        #[test]
        fn memory_catalog_fresh_open_and_folders_agree_after_every_step_3(
            ops in proptest::collection::vec(op(), 1..14)
        ) {
            play(&ops);
        }

        #[test]
        fn memory_catalog_fresh_open_and_folders_agree_after_every_step_4(
            ops in proptest::collection::vec(op(), 1..14)
        ) {
            play(&ops);
        }
    }
}
