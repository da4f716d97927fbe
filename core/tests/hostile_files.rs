//! The library on hostile folders (see `hostile/mod.rs`): a reason for every bad file, never a
//! panic, every good file indexed, nothing from outside the folders.

use crate::hostile;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use clipstream_core::store::catalog::{Catalog, DATABASE};
use clipstream_core::{Library, Model, Options, Phase, Request};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("core/ lives in the repo root")
        .to_path_buf()
}

fn open_library(dir: &Path) -> Library {
    let model = Model::open(repo().join("models/tiny-clip")).expect("test model opens");
    Library::open(dir, Some(&model), Options::default()).expect("library opens")
}

/// One indexing run to the end; `what` says what failed if it errs.
fn index(library: &Library, what: &str) -> clipstream_core::Report {
    library
        .index(&mut |_| {}, &AtomicBool::new(false))
        .expect(what)
}

#[test]
fn every_hostile_file_gets_a_reason_and_every_good_one_is_indexed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (folder, outside) = (tmp.path().join("photos"), tmp.path().join("outside"));
    let cases = hostile::generate(&repo(), &folder, &outside, false);
    let library = open_library(&tmp.path().join("library"));
    library.add_folder(&folder).expect("adds");

    let report = index(&library, "a hostile folder never stops a run");
    let tally = hostile::verify(&cases, &folder, &outside, library.dir());
    eprintln!("{} hostile entries\n{tally}", cases.len());

    // Every indexed image is searchable and has a thumbnail.
    let mut request = Request::new("a photo", 100_000);
    request.all = true;
    let hits = library.search(&request).expect("searches").hits;
    assert_eq!(
        hits.len() as u64,
        report.added + report.copied,
        "{report:?}"
    );
    for hit in &hits {
        library
            .thumbnail(hit.id)
            .unwrap_or_else(|e| panic!("{}: {e}", hit.path.display()));
    }
    // Bad files are not read again until they change.
    let again = index(&library, "indexes");
    assert_eq!(
        (again.added, again.updated, again.copied, again.removed),
        (0, 0, 0, 0),
        "{again:?}"
    );
}

#[test]
fn files_deleted_replaced_or_growing_during_a_run_are_caught_up_by_the_next() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let folder = tmp.path().join("photos");
    std::fs::create_dir(&folder).expect("mkdir");
    let shapes = repo().join("tests/fixtures/shapes");
    for i in 30..40 {
        let name = format!("{i:05}.png");
        std::fs::copy(shapes.join(&name), folder.join(&name)).expect("copy");
    }
    let photo =
        std::fs::read(repo().join("tests/fixtures/photos/chelsea_upright.jpg")).expect("read");
    let growing = folder.join("growing.jpg");
    std::fs::write(&growing, &photo[..photo.len() / 2]).expect("write");
    let replacement = tmp.path().join("replacement.png");
    std::fs::copy(shapes.join("00040.png"), &replacement).expect("copy");

    let library = open_library(&tmp.path().join("library"));
    library.add_folder(&folder).expect("adds");
    // Between the walk and the reads: one file deleted, one replaced, one still being written.
    let mut changed = false;
    let first = library
        .index(
            &mut |p| {
                if p.phase == Phase::Indexing && !changed {
                    changed = true;
                    std::fs::remove_file(folder.join("00030.png")).expect("delete");
                    std::fs::copy(&replacement, folder.join("00031.png")).expect("replace");
                    std::fs::write(&growing, &photo[..photo.len() * 3 / 4]).expect("grow");
                }
            },
            &AtomicBool::new(false),
        )
        .expect("indexes");
    assert!(changed);
    assert_eq!((first.added, first.skipped), (9, 1), "{first:?}");
    let skipped = library.skipped().expect("skipped");
    assert_eq!(
        skipped.len(),
        1,
        "the deleted file is not listed: {skipped:?}"
    );
    assert!(skipped[0].reason.contains("truncated JPEG"), "{skipped:?}");

    std::fs::write(&growing, &photo).expect("finish writing");
    let second = index(&library, "indexes");
    assert_eq!((second.added, second.skipped), (1, 0), "{second:?}");
    assert!(library.skipped().expect("skipped").is_empty());
    assert_eq!(library.status().expect("status").images, 10);

    // The replaced file carries the embedding of what it holds now.
    let catalog = Catalog::open(&library.dir().join(DATABASE)).expect("catalog");
    let row = catalog
        .image_by_path(&std::fs::canonicalize(folder.join("00031.png")).expect("exists"))
        .expect("query")
        .expect("catalogued");
    let stored = catalog
        .embedding(row.id)
        .expect("query")
        .expect("embedding");
    let fresh = library.image_embedding(&replacement).expect("encodes");
    let cosine: f32 = stored.iter().zip(&fresh).map(|(a, b)| a * b).sum();
    assert!(cosine > 0.9999, "cosine {cosine}");
}

#[test]
fn a_catalogued_photo_swapped_for_a_link_out_of_the_folders_is_not_shown() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let folder = tmp.path().join("photos");
    std::fs::create_dir(&folder).expect("mkdir");
    let shapes = repo().join("tests/fixtures/shapes");
    for name in ["00050.png", "00051.png"] {
        std::fs::copy(shapes.join(name), folder.join(name)).expect("copy");
    }
    let secret = tmp.path().join("private.png");
    std::fs::copy(repo().join("tests/fixtures/photos/coffee.png"), &secret).expect("copy");
    let library = open_library(&tmp.path().join("library"));
    library.add_folder(&folder).expect("adds");
    index(&library, "indexes");
    let catalog = Catalog::open(&library.dir().join(DATABASE)).expect("catalog");
    let id = |name: &str| {
        let path = std::fs::canonicalize(folder.join(name)).expect("exists");
        catalog
            .image_by_path(&path)
            .expect("query")
            .expect("catalogued")
            .id
    };
    let (swapped, kept) = (id("00050.png"), id("00051.png"));
    library
        .preview(swapped, 512)
        .expect("served before the swap");

    // After indexing, the photo becomes a link to a file outside every library folder.
    std::fs::remove_file(folder.join("00050.png")).expect("delete");
    std::os::unix::fs::symlink(&secret, folder.join("00050.png")).expect("symlink");
    let thumbnails = library.dir().join("thumbnails");
    std::fs::remove_dir_all(&thumbnails).expect("thumbnail cache cleared");
    for result in [library.preview(swapped, 512), library.thumbnail(swapped)] {
        let err = result.expect_err("a link out of the folders is not followed");
        assert!(
            err.to_string().contains("outside the library's folders"),
            "{err}"
        );
    }
    library
        .preview(kept, 512)
        .expect("the other photo is still shown");
    library
        .thumbnail(kept)
        .expect("and its thumbnail made again");
}
