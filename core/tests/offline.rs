//! Never lose a library: drives that come and go, folders that cannot be read, and the last
//! fault windows. Real mounts (tmpfs, in a mount namespace of the test's own) where the machine
//! allows them; each such test says so and passes untested where it does not (not root, no
//! `unshare`).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clipstream_core::store::catalog::{Batch, Catalog, DATABASE};
use clipstream_core::{Error, IndexBuild, Library, Model, Options, Request};
use clipstream_core::{WatchEvent, WatchOptions};
use common::{index, open_library, repo, shape};

/// Set in the child process that a mount test runs in (inside `unshare -m`).
const CHILD: &str = "CLIPSTREAM_TEST_MOUNT_CHILD";

/// Run the ignored test `name` of this binary again in a mount namespace of its own, where it may
/// mount and unmount at will; its failure is this test's. `false` (and a note) where mounting
/// cannot be tested.
fn in_mount_namespace(name: &str) -> bool {
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    });
    if !root || Command::new("unshare").arg("--version").output().is_err() {
        eprintln!("SKIPPED {name}: mounting needs root and unshare (util-linux)");
        return false;
    }
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private"])
        .arg(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            &format!("offline::{name}"),
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .expect("unshare runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{name} in its mount namespace:\n{text}"
    );
    assert!(text.contains("1 passed"), "{name} did not run:\n{text}");
    true
}

/// In a mount test's child only.
fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

fn sh(script: &str) {
    let out = Command::new("sh")
        .args(["-euc", script])
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn mount_tmpfs(at: &Path) {
    std::fs::create_dir_all(at).expect("mount point");
    sh(&format!(
        "mount -t tmpfs clipstream-test '{}'",
        at.display()
    ));
}

fn unmount(at: &Path) {
    sh(&format!("umount '{}'", at.display()));
}

/// `n` distinct shapes written into `folder`, as `name{i}.png`.
fn shapes_into(folder: &Path, name: &str, range: std::ops::Range<usize>) {
    std::fs::create_dir_all(folder).expect("mkdir");
    for i in range {
        std::fs::copy(shape(i), folder.join(format!("{name}{i}.png"))).expect("copy");
    }
}

/// Every path the library finds for a broad query, all of them, with their offline mark.
fn found(library: &Library) -> Vec<(PathBuf, bool)> {
    let mut request = Request::new("a shape", 10_000);
    request.all = true;
    let mut hits: Vec<(PathBuf, bool)> = library
        .search(&request)
        .expect("searches")
        .hits
        .into_iter()
        .map(|h| (h.path, h.offline))
        .collect();
    hits.sort();
    hits
}

fn folder_state(library: &Library, path: &Path) -> clipstream_core::FolderStatus {
    library
        .status()
        .expect("status")
        .folders
        .into_iter()
        .find(|f| f.path == path)
        .expect("the folder is listed")
}

fn no_cache_drift(library: &Library) {
    assert_eq!(
        library.cache_differences().expect("compares"),
        Vec::<String>::new()
    );
}

#[test]
fn a_drive_unmounted_keeps_its_photos_offline_and_searchable_then_reconciles() {
    in_mount_namespace("child_drive_unmounted_and_back");
}

#[test]
#[ignore = "runs in a mount namespace of its own (see in_mount_namespace)"]
fn child_drive_unmounted_and_back() {
    if !is_child() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let drive = tmp.path().join("drive");
    mount_tmpfs(&drive);
    shapes_into(&drive, "p", 0..12);
    let library = open_library(&tmp.path().join("library"));
    library.add_folder(&drive).expect("adds");
    let first = index(&library);
    assert_eq!(first.added, 12);
    let before = found(&library);
    assert_eq!(before.len(), 12);
    assert!(before.iter().all(|(_, offline)| !offline));

    // Unplugged: the mount point stays, empty, on the parent's device.
    unmount(&drive);
    assert!(drive.is_dir());
    assert_eq!(
        library.status().expect("status").folders[0]
            .offline
            .as_ref()
            .map(|o| o.since),
        Some(None),
        "seen offline before any run"
    );
    let report = index(&library);
    assert_eq!(report.removed, 0, "{report:?}");
    assert_eq!(report.offline.len(), 1, "{report:?}");
    let state = folder_state(&library, &drive);
    assert!(!state.online);
    let offline = state.offline.expect("offline");
    assert!(offline.reason.contains("not mounted"), "{offline:?}");
    assert!(offline.since.is_some());
    assert_eq!(state.images, 12, "its photos are kept");
    let during = found(&library);
    assert_eq!(during.len(), 12, "still found");
    assert!(during.iter().all(|(_, offline)| *offline), "{during:?}");
    no_cache_drift(&library);
    // Opening says the drive is not connected; the preview is its thumbnail.
    let id = library
        .image_at(&drive.join("p3.png"))
        .expect("reads")
        .expect("catalogued")
        .id;
    assert!(matches!(library.original(id), Err(Error::Offline { .. })));
    let preview = library.preview(id, 1024).expect("the thumbnail stands in");
    assert_eq!(&preview[..2], &[0xFF, 0xD8], "a JPEG");
    // A second run while away changes nothing, and the offline time is kept.
    let again = index(&library);
    assert_eq!(again.removed, 0);
    assert_eq!(
        folder_state(&library, &drive).offline,
        Some(offline.clone())
    );
    // A fresh open (another process) sees the same.
    drop(library);
    let library = open_library(&tmp.path().join("library"));
    assert_eq!(found(&library).len(), 12);

    // Back, with a photo deleted and one added meanwhile (another computer): reconciled.
    mount_tmpfs(&drive);
    shapes_into(&drive, "p", 1..12);
    shapes_into(&drive, "new", 40..41);
    let back = index(&library);
    assert_eq!((back.added, back.removed), (1, 1), "{back:?}");
    assert!(back.offline.is_empty(), "{back:?}");
    let state = folder_state(&library, &drive);
    assert!(state.online && state.offline.is_none() && state.unreadable.is_empty());
    let after = found(&library);
    assert_eq!(after.len(), 12);
    assert!(after.iter().all(|(p, offline)| !offline && p.exists()));
    no_cache_drift(&library);
    unmount(&drive);
}

#[test]
fn a_drive_unplugged_in_the_middle_of_a_run_loses_nothing() {
    in_mount_namespace("child_drive_unplugged_mid_run");
}

#[test]
#[ignore = "runs in a mount namespace of its own (see in_mount_namespace)"]
fn child_drive_unplugged_mid_run() {
    if !is_child() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let drive = tmp.path().join("drive");
    mount_tmpfs(&drive);
    shapes_into(&drive, "a", 0..40);
    let library = Library::open(
        &tmp.path().join("library"),
        Some(&Model::open(repo().join("models/tiny-clip")).expect("model")),
        Options {
            batch_size: 4,
            decode_threads: 1,
            ..Options::default()
        },
    )
    .expect("opens");
    library.add_folder(&drive).expect("adds");
    assert_eq!(index(&library).added, 40);
    // Every photo changed (so each is read again), and more added; then, after the first batch
    // is in, the drive goes (`umount -l`: as a cable pulled, open files go on, new reads fail).
    for i in 0..40 {
        let f = std::fs::File::options()
            .write(true)
            .open(drive.join(format!("a{i}.png")))
            .expect("open");
        f.set_modified(std::time::SystemTime::now() + Duration::from_secs(10))
            .expect("touch");
    }
    shapes_into(&drive, "b", 40..120);
    let unplugged = AtomicBool::new(false);
    let report = library
        .index(
            &mut |p| {
                if p.done >= 8 && !unplugged.swap(true, Ordering::SeqCst) {
                    sh(&format!("umount -l '{}'", drive.display()));
                }
            },
            &AtomicBool::new(false),
        )
        .expect("the run ends");
    assert!(unplugged.load(Ordering::SeqCst), "the drive went mid-run");
    assert_eq!(report.removed, 0, "{report:?}");
    let ids: usize = library.status().expect("status").images as usize;
    assert!(
        ids >= 40,
        "every photo catalogued before the run is kept: {ids}"
    );
    for i in 0..40 {
        let path = drive.join(format!("a{i}.png"));
        assert!(
            library.image_at(&path).expect("reads").is_some(),
            "{} lost",
            path.display()
        );
    }
    no_cache_drift(&library);
    // The next run, the drive still away: offline, nothing removed.
    let later = index(&library);
    assert_eq!(later.removed, 0);
    assert!(!folder_state(&library, &drive).online);
    // Back: everything there is indexed.
    mount_tmpfs(&drive);
    shapes_into(&drive, "a", 0..40);
    shapes_into(&drive, "b", 40..120);
    let back = index(&library);
    assert_eq!(back.removed, 0, "{back:?}");
    assert_eq!(library.status().expect("status").images, 120);
    no_cache_drift(&library);
    unmount(&drive);
}

#[test]
fn a_drive_mounted_inside_a_folder_goes_offline_alone() {
    in_mount_namespace("child_nested_mount");
}

#[test]
#[ignore = "runs in a mount namespace of its own (see in_mount_namespace)"]
fn child_nested_mount() {
    if !is_child() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    let card = photos.join("card");
    shapes_into(&photos, "home", 0..5);
    mount_tmpfs(&card);
    shapes_into(&card, "card", 5..12);
    let library = open_library(&tmp.path().join("library"));
    library.add_folder(&photos).expect("adds");
    assert_eq!(index(&library).added, 12);
    unmount(&card);
    std::fs::remove_file(photos.join("home0.png")).expect("rm");
    let report = index(&library);
    assert_eq!(report.removed, 1, "the deleted home photo only: {report:?}");
    let state = folder_state(&library, &photos);
    assert!(state.online, "the folder itself is there");
    assert_eq!(state.unreadable.len(), 1, "{state:?}");
    assert_eq!(state.unreadable[0].path, card);
    let during = found(&library);
    assert_eq!(during.len(), 11);
    assert_eq!(during.iter().filter(|(_, offline)| *offline).count(), 7);
    mount_tmpfs(&card);
    shapes_into(&card, "card", 5..12);
    let back = index(&library);
    assert_eq!((back.added, back.removed), (0, 0), "{back:?}");
    assert!(folder_state(&library, &photos).unreadable.is_empty());
    unmount(&card);
}

#[test]
fn the_watcher_says_a_drive_went_and_came_back_and_its_runs_delete_nothing() {
    in_mount_namespace("child_watched_drive");
}

#[test]
#[ignore = "runs in a mount namespace of its own (see in_mount_namespace)"]
fn child_watched_drive() {
    if !is_child() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let drive = tmp.path().join("drive");
    mount_tmpfs(&drive);
    shapes_into(&drive, "p", 0..10);
    let library = Arc::new(open_library(&tmp.path().join("library")));
    library.add_folder(&drive).expect("adds");
    index(&library);
    let stop = Arc::new(AtomicBool::new(false));
    let said = Arc::new(Mutex::new(Vec::<String>::new()));
    let watcher = {
        let (library, stop, said) = (library.clone(), stop.clone(), said.clone());
        std::thread::spawn(move || {
            let options = WatchOptions {
                catch_up: false,
                debounce: Duration::from_millis(100),
                settle: Duration::from_millis(100),
                ..WatchOptions::default()
            };
            library.watch(options, &stop, &mut |event| {
                match event {
                    WatchEvent::Drive { connected, .. } => {
                        said.lock()
                            .expect("lock")
                            .push(format!("drive {connected}"));
                    }
                    WatchEvent::RunDue(_) => {
                        let report = library.index(&mut |_| {}, &AtomicBool::new(false))?;
                        said.lock()
                            .expect("lock")
                            .push(format!("removed {}", report.removed));
                    }
                    WatchEvent::Folders(_) => {}
                }
                Ok(())
            })
        })
    };
    let wait_for = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !said.lock().expect("lock").iter().any(|s| s == what) {
            assert!(
                Instant::now() < deadline,
                "no {what:?} in {:?}",
                said.lock()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // The watches go on a fresh catch-up-less start: give them a moment to be placed.
    std::thread::sleep(Duration::from_millis(300));
    unmount(&drive);
    wait_for("drive false");
    wait_for("removed 0");
    assert_eq!(library.status().expect("status").images, 10);
    assert!(!folder_state(&library, &drive).online);
    said.lock().expect("lock").clear();
    mount_tmpfs(&drive);
    shapes_into(&drive, "p", 0..10);
    wait_for("drive true");
    wait_for("removed 0");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !folder_state(&library, &drive).online {
        assert!(Instant::now() < deadline, "still offline");
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::SeqCst);
    watcher.join().expect("joins").expect("watched");
    assert_eq!(library.status().expect("status").images, 10);
    unmount(&drive);
}

#[test]
fn a_folder_moved_away_is_offline_and_an_emptied_one_with_its_device_is_reconciled() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    shapes_into(&photos, "p", 0..6);
    let library = open_library(&tmp.path().join("library"));
    library.add_folder(&photos).expect("adds");
    index(&library);
    // Missing (a drive whose mount point goes with it): kept.
    std::fs::rename(&photos, tmp.path().join("away")).expect("mv");
    let report = index(&library);
    assert_eq!(report.removed, 0);
    let state = folder_state(&library, &photos);
    assert!(state.offline.expect("offline").reason.contains("missing"));
    assert_eq!(found(&library).len(), 6);
    std::fs::rename(tmp.path().join("away"), &photos).expect("mv back");
    assert_eq!(index(&library).removed, 0);
    assert!(folder_state(&library, &photos).online);
    // Emptied by hand on the same device as its last clean walk: the photos are gone.
    for i in 0..6 {
        std::fs::remove_file(photos.join(format!("p{i}.png"))).expect("rm");
    }
    assert_eq!(index(&library).removed, 6);
    assert!(found(&library).is_empty());
}

#[test]
fn a_library_from_before_devices_were_recorded_keeps_an_empty_folders_photos() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    shapes_into(&photos, "p", 0..4);
    let lib_dir = tmp.path().join("library");
    let library = open_library(&lib_dir);
    library.add_folder(&photos).expect("adds");
    index(&library);
    drop(library);
    // As a catalog migrated from before 0004 has it: no device recorded.
    rusqlite::Connection::open(lib_dir.join(DATABASE))
        .expect("opens")
        .execute("DELETE FROM volumes", [])
        .expect("forgets");
    for i in 0..4 {
        std::fs::remove_file(photos.join(format!("p{i}.png"))).expect("rm");
    }
    let library = open_library(&lib_dir);
    let report = index(&library);
    assert_eq!(
        report.removed, 0,
        "an empty folder where photos were proves nothing"
    );
    let offline = folder_state(&library, &photos).offline.expect("offline");
    assert!(offline.reason.contains("empty"), "{offline:?}");
    // Removing the folder explicitly is the user's way out.
    let id = folder_state(&library, &photos).id;
    assert_eq!(library.remove_folder(id).expect("removes"), 4);
}

#[test]
fn a_truncated_or_damaged_vector_index_is_rebuilt_not_mapped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    shapes_into(&photos, "p", 0..60);
    let lib_dir = tmp.path().join("library");
    let library = open_library(&lib_dir);
    library.add_folder(&photos).expect("adds");
    index(&library);
    let want = found(&library);
    drop(library);
    let file = lib_dir.join("vectors.usearch");
    let original = std::fs::read(&file).expect("the saved index");
    // What a power loss leaves: the stamp names a file whose end never reached the disk. Mapped
    // as it was, a search read past its end (SIGBUS).
    std::fs::write(&file, &original[..original.len() / 3]).expect("truncate");
    let library = open_library(&lib_dir);
    assert_eq!(found(&library), want);
    no_cache_drift(&library);
    drop(library);
    // Its length right and its second half zeros (what delayed allocation leaves after a power
    // loss): the old code's usearch aborted the process at every open (SIGABRT).
    let mut zeroed = original.clone();
    let half = zeroed.len() / 2;
    zeroed[half..].fill(0);
    std::fs::write(&file, &zeroed).expect("zero");
    let library = open_library(&lib_dir);
    assert_eq!(found(&library), want);
    drop(library);
    // A damaged file (any byte): never trusted, never a crash.
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..24 {
        let mut bytes = std::fs::read(&file).expect("the saved index");
        for _ in 0..(1 + round % 4) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let at = (rng % bytes.len() as u64) as usize;
            bytes[at] = bytes[at].wrapping_add(1 + (rng >> 32) as u8 % 255);
        }
        std::fs::write(&file, &bytes).expect("damage");
        let library = open_library(&lib_dir);
        assert_eq!(found(&library), want, "round {round}");
    }
}

#[test]
fn a_library_folder_whose_name_is_not_utf8_saves_and_maps_its_vector_index() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    shapes_into(&photos, "p", 0..8);
    let lib_dir = tmp
        .path()
        .join(std::ffi::OsStr::from_bytes(b"biblioth\xe8que"));
    let library = open_library(&lib_dir);
    library.add_folder(&photos).expect("adds");
    index(&library);
    assert!(lib_dir.join("vectors.usearch").is_file(), "saved");
    assert!(lib_dir.join("vectors.usearch.json").is_file(), "stamped");
    drop(library);
    let catalog = Catalog::open(&lib_dir.join(DATABASE)).expect("opens");
    let dimensions = catalog
        .meta("embedding_dim")
        .expect("reads")
        .and_then(|d| d.parse().ok())
        .expect("a dimension");
    let (index, rebuilt) = clipstream_core::store::vectors::open_index(
        &lib_dir,
        &catalog,
        dimensions,
        clipstream_core::store::vindex::DEFAULT_SCALAR,
        true,
    )
    .expect("opens");
    assert!(!rebuilt, "the saved index is used");
    assert_eq!(index.len(), 8);
}

#[test]
fn duplicates_never_reload_the_library_under_a_write_not_yet_saved() {
    // A reader landing between a writer's commit and its save (this process's own run between
    // apply and absorb looks the same) used to reload everything: the saved index's stamp is
    // stale then, so the mapped index was dropped for a full rebuild.
    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    shapes_into(&photos, "p", 0..30);
    let lib_dir = tmp.path().join("library");
    let model = Model::open(repo().join("models/tiny-clip")).expect("model");
    let options = Options {
        index_build: IndexBuild::Background,
        ..Options::default()
    };
    {
        let library = open_library(&lib_dir);
        library.add_folder(&photos).expect("adds");
        index(&library);
    }
    let library = Library::open(&lib_dir, Some(&model), options).expect("opens");
    assert!(library.index_build().is_none(), "the saved index is used");
    // A write to the catalog that no save has followed yet.
    let mut writer = Catalog::open(&lib_dir.join(DATABASE)).expect("opens");
    let id = writer
        .known_files()
        .expect("reads")
        .values()
        .next()
        .expect("one")
        .id;
    writer
        .apply(&Batch {
            delete_images: vec![id],
            ..Batch::default()
        })
        .expect("applies");
    let groups = library.duplicates(0.95);
    assert!(groups.is_ok(), "{groups:?}");
    assert!(library.index_build().is_none(), "no rebuild was started");
}

#[test]
fn every_access_to_a_photo_by_id_refuses_a_file_now_linked_out_of_the_library() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    shapes_into(&photos, "p", 0..3);
    let secret = tmp.path().join("secret.png");
    std::fs::copy(shape(9), &secret).expect("copy");
    let library = open_library(&tmp.path().join("library"));
    library.add_folder(&photos).expect("adds");
    index(&library);
    let victim = photos.join("p1.png");
    let id = library.image_at(&victim).expect("reads").expect("in").id;
    std::fs::remove_file(&victim).expect("rm");
    std::os::unix::fs::symlink(&secret, &victim).expect("link");
    let refused =
        |e: Error| matches!(e, Error::Io { reason, .. } if reason.contains("outside the library"));
    assert!(refused(library.original(id).expect_err("refused")));
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    assert!(refused(
        library.copy_images(&[id], &out).expect_err("refused")
    ));
    assert!(
        std::fs::read_dir(&out).expect("ls").next().is_none(),
        "nothing copied"
    );
    assert!(refused(library.preview(id, 256).expect_err("refused")));
    let trashed = library.trash(&[id]).expect("answers");
    assert!(
        trashed.ids.is_empty() && trashed.failed.len() == 1,
        "{trashed:?}"
    );
    assert!(secret.exists());
}

#[test]
fn a_file_a_kill_left_as_suspect_is_judged_in_a_child_and_indexed() {
    // A kill during the judging of a suspect left this note (before, that convicted the file as
    // "crashed the decoder" though no decoder crashed).
    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    shapes_into(&photos, "p", 0..5);
    let lib_dir = tmp.path().join("library");
    let library = open_library(&lib_dir);
    library.add_folder(&photos).expect("adds");
    let innocent = photos.join("p2.png");
    let meta = std::fs::metadata(&innocent).expect("stat");
    let mtime = meta
        .modified()
        .expect("mtime")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    let notes = lib_dir.join("decoding");
    std::fs::create_dir_all(&notes).expect("mkdir");
    for slot in ["alone", "0"] {
        let mut note = format!("{} {mtime}\n", meta.len()).into_bytes();
        note.extend_from_slice(innocent.as_os_str().as_encoded_bytes());
        std::fs::write(notes.join(slot), note).expect("note");
    }
    let report = index(&library);
    assert_eq!((report.added, report.skipped), (5, 0), "{report:?}");
    assert!(library.skipped().expect("reads").is_empty());
    assert!(library.image_at(&innocent).expect("reads").is_some());
}

#[test]
fn skipped_files_can_be_read_again_on_request() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    shapes_into(&photos, "p", 0..2);
    std::fs::write(photos.join("broken.png"), b"not a png").expect("write");
    let library = open_library(&tmp.path().join("library"));
    library.add_folder(&photos).expect("adds");
    assert_eq!(index(&library).skipped, 1);
    // Unchanged, it is not read again...
    assert_eq!(index(&library).skipped, 0);
    // ...unless asked.
    assert_eq!(library.retry_skipped().expect("forgets"), 1);
    let again = index(&library);
    assert_eq!(again.skipped, 1, "read again (and still broken): {again:?}");
    assert_eq!(library.skipped().expect("reads").len(), 1);
}
