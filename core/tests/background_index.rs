//! A library whose vector index is missing opens at once and searches exactly while the index is
//! built in the background; a build that dies goes on from its checkpoint.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clipstream_core::store::catalog::{Catalog, DATABASE};
use clipstream_core::store::vectors::{self, BuildPace, BuildProgress};
use clipstream_core::store::vindex::{DEFAULT_SCALAR, INDEX_FILE, STAMP_FILE, VectorIndex};
use clipstream_core::{IndexBuild, Library, Model, Options, Request};
use common::{index, open_library, repo, shape};

const QUERIES: [&str; 3] = ["a large yellow star", "a small red circle", "a blue square"];

fn folder_of_shapes(dir: &Path, name: &str, shapes: std::ops::Range<usize>) -> PathBuf {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).expect("mkdir");
    for n in shapes {
        std::fs::copy(shape(n), folder.join(format!("{n:05}.png"))).expect("copy");
    }
    folder
}

fn open_with(dir: &Path, build: IndexBuild, pace: BuildPace) -> Library {
    let model = Model::open(repo().join("models/tiny-clip")).expect("test model opens");
    let options = Options {
        index_build: build,
        build_pace: pace,
        ..Options::default()
    };
    Library::open(dir, Some(&model), options).expect("library opens")
}

/// Each query's ten best photos, by file name (ids differ between libraries), in name order:
/// exact search scores in f32 and the index in bf16, so near-ties may swap places.
fn answers(library: &Library) -> Vec<Vec<String>> {
    QUERIES
        .iter()
        .map(|q| {
            let mut request = Request::new(*q, 10);
            request.all = true;
            let results = library.search(&request).expect("searches");
            let mut names: Vec<String> = results
                .hits
                .iter()
                .map(|h| {
                    h.path
                        .file_name()
                        .expect("a file")
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            names.sort();
            names
        })
        .collect()
}

fn delete_vector_index(dir: &Path) {
    std::fs::remove_file(dir.join(INDEX_FILE)).expect("delete the index");
    std::fs::remove_file(dir.join(STAMP_FILE)).expect("delete its stamp");
}

fn generation(dir: &Path) -> i64 {
    Catalog::open(&dir.join(DATABASE))
        .expect("opens")
        .generation()
        .expect("reads")
}

fn wait_for_the_index(library: &Library) {
    let started = Instant::now();
    while let Some(build) = library.index_build() {
        assert!(build.failed.is_none(), "the build failed: {build:?}");
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "still building after 2 minutes: {build:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The exact answers of an indexed library: opened without its vector index and with the build
/// held, it searches every embedding.
fn exact_answers(dir: &Path) -> Vec<Vec<String>> {
    delete_vector_index(dir);
    let pace = BuildPace {
        held: Some(Arc::new(AtomicBool::new(true))),
        ..BuildPace::default()
    };
    answers(&open_with(dir, IndexBuild::Background, pace))
}

/// An HNSW index is approximate, and built by parallel inserts its graph differs from run to run:
/// each query must find at least 9 of its exact 10 best (one run in CI found 9).
fn assert_nearly_exact(found: &[Vec<String>], exact: &[Vec<String>]) {
    for (query, (found, exact)) in QUERIES.iter().zip(found.iter().zip(exact)) {
        let missed: Vec<&String> = exact.iter().filter(|n| !found.contains(n)).collect();
        assert!(
            missed.len() <= 1,
            "{query:?} missed {missed:?}: found {found:?}, exact {exact:?}"
        );
    }
}

#[test]
fn without_its_vector_index_a_library_answers_at_once_and_the_same_while_it_is_built() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib_dir = tmp.path().join("library");
    let first = folder_of_shapes(tmp.path(), "first", 0..150);
    let later = folder_of_shapes(tmp.path(), "later", 150..200);
    {
        let library = open_library(&lib_dir);
        library.add_folder(&first).expect("adds");
        index(&library);
    }
    let expected_before = exact_answers(&lib_dir);
    // What the finished library must answer: the same photos indexed from scratch.
    let expected_after = {
        let other = tmp.path().join("reference");
        let library = open_library(&other);
        library.add_folder(&first).expect("adds");
        library.add_folder(&later).expect("adds");
        index(&library);
        drop(library);
        exact_answers(&other)
    };
    assert_ne!(
        expected_before, expected_after,
        "the later photos change the answers"
    );

    // The build is held after its first page while the test searches and indexes more.
    let held = Arc::new(AtomicBool::new(false));
    let pace = BuildPace {
        page: 30,
        checkpoint_every: Duration::ZERO,
        held: Some(Arc::clone(&held)),
        hold_after: None,
    };
    held.store(true, Ordering::Relaxed);
    let library = open_with(&lib_dir, IndexBuild::Background, pace);
    let status = library.status().expect("status").index_build;
    assert!(
        status
            .as_ref()
            .is_some_and(|s| (s.done, s.total) == (0, 150) && s.failed.is_none()),
        "{status:?}"
    );
    assert_eq!(answers(&library), expected_before);
    assert_eq!(
        library.cache_differences().expect("compares"),
        Vec::<String>::new()
    );

    // Photos indexed while the build may still run reach the finished index too.
    library.add_folder(&later).expect("adds");
    index(&library);
    assert_eq!(
        library.cache_differences().expect("compares"),
        Vec::<String>::new()
    );
    assert_eq!(answers(&library), expected_after);
    let status = library.index_build().expect("still building");
    assert_eq!((status.done, status.total), (0, 150), "{status:?}");

    held.store(false, Ordering::Relaxed);
    wait_for_the_index(&library);
    assert_eq!(library.index_build(), None);
    assert_eq!(
        library.cache_differences().expect("compares"),
        Vec::<String>::new()
    );
    let built = answers(&library);
    assert_nearly_exact(&built, &expected_after);
    // Saved for the next start (after it took over, on the build's thread: file, stamp and
    // folder synced to disk), stamped with the catalog as it is now.
    let deadline = Instant::now() + Duration::from_secs(60);
    while VectorIndex::saved_generation(&lib_dir) != Some(generation(&lib_dir)) {
        assert!(Instant::now() < deadline, "the built index was never saved");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(library);
    let reopened = open_with(&lib_dir, IndexBuild::Background, BuildPace::default());
    assert_eq!(
        reopened.index_build(),
        None,
        "the saved index loads as it is"
    );
    assert_eq!(
        answers(&reopened),
        built,
        "the saved index is the built one"
    );
}

#[test]
fn a_saved_index_used_in_place_takes_changes_and_saves_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib_dir = tmp.path().join("library");
    let first = folder_of_shapes(tmp.path(), "first", 0..80);
    let second = folder_of_shapes(tmp.path(), "second", 80..120);
    let reference = |folders: &[&Path]| {
        let library = open_library(&tmp.path().join(format!("reference-{}", folders.len())));
        for f in folders {
            library.add_folder(f).expect("adds");
        }
        index(&library);
        answers(&library)
    };
    {
        let library = open_library(&lib_dir);
        library.add_folder(&first).expect("adds");
        index(&library);
    }
    // Opened again, the index is the saved file, viewed: photos added, then a folder of the
    // file's photos removed, go to its changes; each step equals a library built from scratch.
    let library = open_library(&lib_dir);
    library.add_folder(&second).expect("adds");
    index(&library);
    assert_eq!(
        library.cache_differences().expect("compares"),
        Vec::<String>::new()
    );
    assert_eq!(answers(&library), reference(&[&first, &second]));
    let first_id = library.folder_at(&first).expect("a folder").id;
    library.remove_folder(first_id).expect("removes");
    assert_eq!(
        library.cache_differences().expect("compares"),
        Vec::<String>::new()
    );
    let only_second = reference(&[&second]);
    assert_eq!(answers(&library), only_second);
    // Saved with the changes: it loads as it is and answers the same.
    assert_eq!(
        VectorIndex::saved_generation(&lib_dir),
        Some(generation(&lib_dir))
    );
    drop(library);
    let reopened = open_library(&lib_dir);
    assert_eq!(
        reopened.cache_differences().expect("compares"),
        Vec::<String>::new()
    );
    assert_eq!(answers(&reopened), only_second);
}

/// The library the crash test's child process builds in.
const CHILD_LIBRARY: &str = "CLIPSTREAM_TEST_CHILD_LIBRARY";

/// Run by the crash test in a process of its own (ignored otherwise): open the library, whose
/// background build saves a checkpoint after its first page of 25 and holds; then the process
/// dies (an abort, as a crash), with the build's thread mid-way.
#[test]
#[ignore = "the crash test runs it in a child process"]
fn child_builds_a_checkpoint_then_dies() {
    let Some(dir) = std::env::var_os(CHILD_LIBRARY) else {
        return;
    };
    let dir = Path::new(&dir);
    let pace = BuildPace {
        page: 25,
        checkpoint_every: Duration::ZERO,
        held: None,
        hold_after: Some(1),
    };
    let library = open_with(dir, IndexBuild::Background, pace);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while VectorIndex::load_checkpoint(dir, 64, DEFAULT_SCALAR).is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint in 60 s: {:?}",
            library.index_build()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::process::abort();
}

#[test]
fn a_build_that_dies_goes_on_from_its_checkpoint() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib_dir = tmp.path().join("library");
    let kept = folder_of_shapes(tmp.path(), "kept", 0..40);
    let removed = folder_of_shapes(tmp.path(), "removed", 40..60);
    {
        let library = open_library(&lib_dir);
        library.add_folder(&kept).expect("adds");
        index(&library);
        library.add_folder(&removed).expect("adds");
        index(&library);
    }
    delete_vector_index(&lib_dir);

    let child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "background_index::child_builds_a_checkpoint_then_dies",
            "--ignored",
        ])
        .env(CHILD_LIBRARY, &lib_dir)
        .output()
        .expect("runs");
    assert_eq!(
        child.status.code(),
        None,
        "died (its abort), not ended: {}{}",
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
    let catalog = Catalog::open(&lib_dir.join(DATABASE)).expect("opens");
    let dim = 64;
    let (checkpoint, built_up_to) =
        VectorIndex::load_checkpoint(&lib_dir, dim, DEFAULT_SCALAR).expect("a checkpoint");
    assert_eq!((checkpoint.len(), built_up_to), (25, 25));
    drop(checkpoint);

    // Two ways on from the same checkpoint: with the catalog as it was, and after a folder of
    // the images it holds left the catalog (its ids must leave the index too).
    let copy = tmp.path().join("copy");
    std::fs::create_dir_all(&copy).expect("mkdir");
    for entry in std::fs::read_dir(&lib_dir).expect("list") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_file() {
            std::fs::copy(entry.path(), copy.join(entry.file_name())).expect("copy");
        }
    }
    let kept_folder = catalog
        .folders()
        .expect("folders")
        .into_iter()
        .find(|f| f.path.ends_with("kept"))
        .expect("the kept folder");
    let copy_catalog = Catalog::open(&copy.join(DATABASE)).expect("opens");
    copy_catalog.remove_folder(kept_folder.id).expect("removes");

    for (dir, catalog, resumed, count) in
        [(&lib_dir, &catalog, 25, 60), (&copy, &copy_catalog, 0, 20)]
    {
        let progress = BuildProgress::default();
        let index = vectors::build(
            dir,
            catalog,
            dim,
            DEFAULT_SCALAR,
            BuildPace::default(),
            &progress,
        )
        .expect("builds")
        .expect("not cancelled");
        let status = progress.status();
        assert_eq!(
            (status.resumed, status.done, status.total),
            (resumed, count, count)
        );
        assert_eq!(index.len() as u64, count);
        catalog
            .for_each_embedding(|id, want| {
                assert_eq!(
                    index.get(id),
                    Some(index.stored_form(&want).expect("rounds"))
                );
            })
            .expect("reads");
    }
}
