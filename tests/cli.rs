//! End-to-end tests of the `clipstream` binary.

use std::path::{Path, PathBuf};
use std::process::Command;

fn clipstream() -> Command {
    Command::new(env!("CARGO_BIN_EXE_clipstream"))
}

fn tiny_clip() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join("tiny-clip")
}

#[test]
fn doctor_loads_runtime_and_model_and_encodes() {
    let out = clipstream()
        .arg("--model")
        .arg(tiny_clip())
        .args(["doctor", "a red circle"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("clipstream/tiny-clip-shapes"), "{stdout}");
    assert!(stdout.contains("5 tokens → 64 dims"), "{stdout}");
    // The OCR models `make setup` installed, found with no configuration, read the sample.
    assert!(
        stdout.contains("OCR: ch_PP-OCRv4_det_infer + ch_PP-OCRv4_rec_infer in")
            && stdout.contains("password: hunter22"),
        "{stdout}"
    );
}

#[test]
fn missing_runtime_names_the_path_and_exits_3() {
    let missing = "/nonexistent/libonnxruntime.so.1.31.1";
    let out = clipstream()
        .env("ORT_DYLIB_PATH", missing)
        .arg("--model")
        .arg(tiny_clip())
        .arg("doctor")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(missing) && stderr.contains("make setup"),
        "{stderr}"
    );
}

#[test]
fn missing_model_exits_3_and_says_how_to_export() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // XDG_DATA_HOME hides any model a user exported, so pin the runtime to where set-up put it.
    let runtime =
        clipstream_core::model::runtime::library_path().expect("make setup installed ONNX Runtime");
    let out = clipstream()
        .env("ORT_DYLIB_PATH", runtime)
        .env("CLIPSTREAM_MODEL", tmp.path())
        .env("XDG_DATA_HOME", tmp.path())
        .arg("doctor")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no model found") && stderr.contains("clipstream model get"),
        "{stderr}"
    );
}

#[test]
fn usage_error_exits_2() {
    let out = clipstream().arg("no-such-command").output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn labels() -> serde_json::Value {
    let text =
        std::fs::read_to_string(repo().join("tests/fixtures/shapes/labels.json")).expect("labels");
    serde_json::from_str(&text).expect("json")
}

fn label_of(labels: &serde_json::Value, path: &str) -> (String, String) {
    let name = Path::new(path)
        .file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned();
    let l = &labels[&name];
    (
        l["colour"].as_str().unwrap_or("?").to_string(),
        l["shape"].as_str().unwrap_or("?").to_string(),
    )
}

/// `clipstream --library LIB --model tiny-clip ARGS...`, asserting the exit code; returns stdout.
fn run_ok(library: &Path, args: &[&str]) -> String {
    let out = clipstream()
        .arg("--library")
        .arg(library)
        .arg("--model")
        .arg(tiny_clip())
        .args(args)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn index_search_similar_status_remove() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    std::fs::create_dir(&photos).expect("mkdir");
    for i in (0..1800).step_by(7) {
        let name = format!("{i:05}.png");
        std::fs::copy(
            repo().join("tests/fixtures/shapes").join(&name),
            photos.join(&name),
        )
        .expect("copy");
    }
    let n = (0..1800).step_by(7).count();
    let library = tmp.path().join("library");
    let lib = library.as_path();
    let photos_arg = photos.to_str().expect("utf-8 temp path");

    let out = run_ok(lib, &["index", photos_arg]);
    assert!(out.contains(&format!("indexed {n} new")), "{out}");

    let labels = labels();
    let hits: serde_json::Value = serde_json::from_str(&run_ok(
        lib,
        &["search", "a red circle", "-k", "5", "--json"],
    ))
    .expect("json");
    let hits = hits.as_array().expect("array");
    assert!(!hits.is_empty());
    for hit in hits.iter().take(3) {
        let path = hit["path"].as_str().expect("path");
        assert!(
            Path::new(path).is_absolute() && hit["score"].is_number(),
            "{hit}"
        );
        assert_eq!(
            label_of(&labels, path),
            ("red".to_string(), "circle".to_string()),
            "{hit}"
        );
    }
    let scores: Vec<f64> = hits
        .iter()
        .map(|h| h["score"].as_f64().expect("score"))
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "best first: {scores:?}"
    );

    // Combined query: blue squares, but not on white.
    let text = run_ok(
        lib,
        &[
            "search",
            "a blue square - white background",
            "-k",
            "3",
            "--json",
        ],
    );
    let hits: serde_json::Value = serde_json::from_str(&text).expect("json");
    for hit in hits.as_array().expect("array") {
        let name = Path::new(hit["path"].as_str().expect("path"))
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert_ne!(labels[&name]["background"], "white", "{hit}");
    }

    let example = hits[0]["path"].as_str().expect("path").to_string();
    let similar: serde_json::Value =
        serde_json::from_str(&run_ok(lib, &["similar", &example, "-k", "3", "--json"]))
            .expect("json");
    let similar = similar.as_array().expect("array");
    assert!(!similar.is_empty());
    assert!(
        similar.iter().all(|h| h["path"] != example.as_str()),
        "the example itself is not a result"
    );
    assert_eq!(
        label_of(&labels, similar[0]["path"].as_str().expect("path")).1,
        label_of(&labels, &example).1
    );

    let status: serde_json::Value =
        serde_json::from_str(&run_ok(lib, &["status", "--json"])).expect("json");
    assert_eq!(status["images"], n);
    assert_eq!(status["skipped"], 0);
    assert_eq!(status["folders"].as_array().expect("folders").len(), 1);

    let out = run_ok(lib, &["remove", photos_arg]);
    assert!(out.contains(&format!("its {n} images")), "{out}");
    let status: serde_json::Value =
        serde_json::from_str(&run_ok(lib, &["status", "--json"])).expect("json");
    assert_eq!(status["images"], 0);
}

#[test]
fn a_run_with_bad_files_exits_0_and_says_how_many_it_skipped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    std::fs::create_dir(&photos).expect("mkdir");
    std::fs::copy(
        repo().join("tests/fixtures/shapes/00001.png"),
        photos.join("good.png"),
    )
    .expect("copy");
    std::fs::write(photos.join("empty.jpg"), b"").expect("write");
    std::fs::write(photos.join("text.png"), b"plain text").expect("write");
    let out = run_ok(
        &tmp.path().join("library"),
        &["index", photos.to_str().expect("utf-8")],
    );
    assert!(
        out.contains("indexed 1 new") && out.contains("skipped 2 files"),
        "{out}"
    );
    let listing = run_ok(&tmp.path().join("library"), &["status", "--skipped"]);
    assert!(listing.contains("empty.jpg\tempty file"), "{listing}");
}

#[test]
fn a_query_with_only_negative_terms_is_a_usage_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = clipstream()
        .arg("--library")
        .arg(tmp.path())
        .arg("--model")
        .arg(tiny_clip())
        .args(["search", "- people"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_day_that_does_not_exist_is_a_usage_error_not_another_day() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for args in [
        ["--from", "2024-02-31"],
        ["--to", "2023-02-29"],
        ["--until", "2024-13-01"],
    ] {
        let out = clipstream()
            .arg("--library")
            .arg(tmp.path())
            .arg("--model")
            .arg(tiny_clip())
            .args(["search", "a red circle"])
            .args(args)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(args[1]) && stderr.contains("is not a day"),
            "{stderr}"
        );
    }
    let help = clipstream()
        .args(["search", "--help"])
        .output()
        .expect("runs");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("the whole day included") && help.contains("the day itself excluded"),
        "{help}"
    );
}

#[test]
fn the_to_day_includes_its_last_second_and_until_excludes_its_day() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let folder = tmp.path().join("photos");
    std::fs::create_dir(&folder).expect("mkdir");
    std::fs::write(folder.join("late.jpg"), jpeg_taken(b"2021:06:15 23:59:59")).expect("write");
    let library = tmp.path().join("library");
    run_ok(&library, &["index", folder.to_str().expect("utf-8")]);
    let found = |args: &[&str]| {
        let mut all = vec!["search", "a cat", "--all", "--json"];
        all.extend_from_slice(args);
        let out: serde_json::Value = serde_json::from_str(&run_ok(&library, &all)).expect("json");
        out.as_array().expect("array").len()
    };
    assert_eq!(found(&["--from", "2021-06-15", "--to", "2021-06-15"]), 1);
    assert_eq!(found(&["--from", "2021-06-15", "--until", "2021-06-15"]), 0);
    assert_eq!(found(&["--until", "2021-06-16"]), 1);
}

/// `clipstream watch`: a photo copied in is searchable from another process within seconds, and
/// SIGTERM ends the watch cleanly (exit 0).
#[test]
fn watch_indexes_new_photos_by_itself_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    std::fs::create_dir(&photos).expect("mkdir");
    let lib = tmp.path().join("lib");
    let mut watcher = clipstream()
        .arg("--library")
        .arg(&lib)
        .arg("--model")
        .arg(tiny_clip())
        .arg("watch")
        .arg(&photos)
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stderr = BufReader::new(watcher.stderr.take().expect("stderr")).lines();
    let mut said = Vec::new();
    // Watching starts, then the catch-up run reports what it did (on stdout).
    while !said.iter().any(|l: &String| l.starts_with("watching ")) {
        said.push(stderr.next().expect("a line").expect("utf-8"));
    }
    let photo = photos.join("new.png");
    std::fs::copy(repo().join("tests/fixtures/shapes/00042.png"), &photo).expect("copy");
    let copied = Instant::now();
    let canonical = photo.canonicalize().expect("canonical");
    loop {
        let hits: serde_json::Value =
            serde_json::from_str(&run_ok(&lib, &["search", "a shape", "--all", "--json"]))
                .expect("json");
        let paths: Vec<&str> = hits
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|h| h["path"].as_str())
            .collect();
        if paths == [canonical.to_str().expect("utf-8")] {
            break;
        }
        // A hang limit, not a promise (how soon is measured by `make bench`).
        assert!(
            copied.elapsed() < Duration::from_secs(60),
            "not searchable within 60 s: {paths:?}; watch said {said:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &watcher.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = watcher.wait().expect("ends");
    let rest: Vec<String> = stderr.map_while(Result::ok).collect();
    assert!(status.success(), "{status:?}: {rest:?}");
    assert_eq!(
        rest.last().map(String::as_str),
        Some("stopped watching"),
        "{rest:?}"
    );
}

/// `clipstream list --json`: every image newest first, each with its absolute path and date
/// taken (null when the file has none); `--limit` and filters apply.
#[test]
fn list_prints_every_image_newest_first_with_path_and_date() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let folder = tmp.path().join("photos");
    std::fs::create_dir(&folder).expect("mkdir");
    std::fs::write(folder.join("older.jpg"), jpeg_taken(b"2019:01:01 00:00:00")).expect("write");
    std::fs::write(folder.join("newer.jpg"), jpeg_taken(b"2021:06:15 14:30:00")).expect("write");
    std::fs::copy(
        repo().join("tests/fixtures/shapes/00001.png"),
        folder.join("undated.png"),
    )
    .expect("copy");
    let library = tmp.path().join("library");
    run_ok(&library, &["index", folder.to_str().expect("utf-8")]);
    let folder = folder.canonicalize().expect("canonical");
    let listed: serde_json::Value =
        serde_json::from_str(&run_ok(&library, &["list", "--json"])).expect("json");
    let rows: Vec<(String, serde_json::Value)> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|i| {
            (
                i["path"].as_str().expect("path").to_string(),
                i["taken"].clone(),
            )
        })
        .collect();
    let path = |n: &str| folder.join(n).to_str().expect("utf-8").to_string();
    assert_eq!(
        rows,
        [
            (path("newer.jpg"), serde_json::json!("2021-06-15T14:30:00")),
            (path("older.jpg"), serde_json::json!("2019-01-01T00:00:00")),
            (path("undated.png"), serde_json::Value::Null),
        ]
    );
    let one: serde_json::Value = serde_json::from_str(&run_ok(
        &library,
        &["list", "--json", "-k", "1", "--type", "png"],
    ))
    .expect("json");
    assert_eq!(one.as_array().expect("array").len(), 1);
    assert_eq!(one[0]["path"], serde_json::json!(path("undated.png")));
    let text = run_ok(&library, &["list"]);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.starts_with("2021-06-15T14:30:00  "), "{text}");
}

/// `clipstream duplicates --json` groups identical files, the suggested keeper first;
/// `clipstream trash` moves the chosen copy to the freedesktop trash (restorable: the file and
/// its .trashinfo under $XDG_DATA_HOME/Trash), the library forgets it at once, and no other file
/// is touched.
#[test]
fn duplicates_then_trash_moves_only_the_chosen_copy_to_the_trash() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let folder = tmp.path().join("photos");
    std::fs::create_dir_all(folder.join("copies")).expect("mkdir");
    for n in [3, 11, 19] {
        std::fs::copy(
            repo().join(format!("tests/fixtures/shapes/{n:05}.png")),
            folder.join(format!("{n}.png")),
        )
        .expect("copy");
    }
    std::fs::copy(folder.join("11.png"), folder.join("copies/11 copy.png")).expect("copy");
    let library = tmp.path().join("library");
    run_ok(&library, &["index", folder.to_str().expect("utf-8")]);
    let folder = folder.canonicalize().expect("canonical");

    let groups: serde_json::Value =
        serde_json::from_str(&run_ok(&library, &["duplicates", "--json"])).expect("json");
    let groups = groups.as_array().expect("array");
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0]["kind"], "identical");
    let paths: Vec<&str> = groups[0]["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| i["path"].as_str().expect("path"))
        .collect();
    let copy = folder.join("copies/11 copy.png");
    assert_eq!(
        paths,
        [
            folder.join("11.png").to_str().expect("utf-8"),
            copy.to_str().expect("utf-8")
        ]
    );

    // Everything on disk before, byte for byte (the library folder aside).
    let snapshot = |root: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut files: Vec<(PathBuf, Vec<u8>)> = walk(root)
            .into_iter()
            .filter(|p| !p.starts_with(&library) && !p.starts_with(tmp.path().join("data")))
            .map(|p| {
                let bytes = std::fs::read(&p).expect("read");
                (p, bytes)
            })
            .collect();
        files.sort();
        files
    };
    let before = snapshot(tmp.path());
    let data = tmp.path().join("data");
    let out = clipstream()
        .env("XDG_DATA_HOME", &data)
        .arg("--library")
        .arg(&library)
        .args(["trash", copy.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // In the trash, restorable.
    let trashed = data.join("Trash/files/11 copy.png");
    assert_eq!(
        std::fs::read(&trashed).expect("in the trash"),
        std::fs::read(folder.join("11.png")).expect("original")
    );
    let info =
        std::fs::read_to_string(data.join("Trash/info/11 copy.png.trashinfo")).expect("trash info");
    assert!(
        info.contains("Path=") && info.contains("copies/11%20copy.png"),
        "{info}"
    );
    // Nothing else touched: the same files with the same bytes, minus the chosen one.
    let after = snapshot(tmp.path());
    let expected: Vec<(PathBuf, Vec<u8>)> =
        before.into_iter().filter(|(p, _)| *p != copy).collect();
    assert_eq!(after, expected);
    // Forgotten at once: no longer listed, no duplicates left.
    let listed = run_ok(&library, &["list"]);
    assert!(!listed.contains("11 copy"), "{listed}");
    assert_eq!(listed.lines().count(), 3);
    assert_eq!(run_ok(&library, &["duplicates"]).trim(), "no duplicates");
    // A file not in the library is refused (usage error), and stays.
    let outside = tmp.path().join("outside.png");
    std::fs::write(&outside, b"not catalogued").expect("write");
    let refused = clipstream()
        .env("XDG_DATA_HOME", &data)
        .arg("--library")
        .arg(&library)
        .args(["trash", outside.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    assert!(outside.exists());
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The fixture JPEG (EXIF date 2021:06:15 14:30:00) with its date replaced by `taken`.
fn jpeg_taken(taken: &[u8; 19]) -> Vec<u8> {
    let mut jpeg =
        std::fs::read(repo().join("tests/fixtures/photos/chelsea_upright.jpg")).expect("read");
    let at = jpeg
        .windows(19)
        .position(|w| w == b"2021:06:15 14:30:00")
        .expect("the fixture's EXIF date");
    jpeg[at..at + 19].copy_from_slice(taken);
    jpeg
}

#[test]
fn words_in_photos_are_read_by_index_found_by_search_and_printed_by_text() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    std::fs::create_dir(&photos).expect("mkdir");
    let sticker = repo().join("tests/fixtures/words/wifi-and-chinese.png");
    std::fs::copy(&sticker, photos.join("sticker.png")).expect("copy");
    for name in ["00001.png", "00002.png", "00003.png"] {
        std::fs::copy(
            repo().join("tests/fixtures/shapes").join(name),
            photos.join(name),
        )
        .expect("copy");
    }
    let library = tmp.path().join("library");
    let lib = library.as_path();
    let photos_arg = photos.to_str().expect("utf-8 temp path");

    let out = run_ok(lib, &["index", photos_arg]);
    assert!(
        out.contains("read the words in 1 photos (1 with text)"),
        "{out}"
    );
    let status = run_ok(lib, &["status"]);
    assert!(
        status.contains("words:   4 of 4 photos read (ch_PP-OCRv4_det_infer"),
        "{status}"
    );

    // One box: "router password" finds the sticker by its words, and says which.
    let hits: serde_json::Value =
        serde_json::from_str(&run_ok(lib, &["search", "router password", "--json"])).expect("json");
    let hit = hits
        .as_array()
        .expect("array")
        .iter()
        .find(|h| {
            h["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("sticker.png"))
        })
        .unwrap_or_else(|| panic!("the sticker is found: {hits}"));
    let lines: Vec<&str> = hit["text"]
        .as_array()
        .expect("text")
        .iter()
        .map(|l| l["text"].as_str().expect("text"))
        .collect();
    assert_eq!(lines, ["WiFi password: hunter22"], "{hit}");
    assert_eq!(
        hit["text"][0]["box"].as_array().expect("box").len(),
        4,
        "{hit}"
    );
    let plain = run_ok(lib, &["search", "router password"]);
    assert!(
        plain.contains("sticker.png\n       text: \"WiFi password: hunter22\""),
        "{plain}"
    );

    // What was read, by path and by id; a shape holds none; a file outside the library is read now.
    let by_path = run_ok(
        lib,
        &["text", photos.join("sticker.png").to_str().expect("utf-8")],
    );
    assert_eq!(by_path, "WiFi password: hunter22\n你好世界\nReceipt 42\n");
    let id = hit["id"].as_i64().expect("id").to_string();
    let by_id: serde_json::Value =
        serde_json::from_str(&run_ok(lib, &["text", &id, "--json"])).expect("json");
    assert_eq!(by_id.as_array().expect("lines").len(), 3, "{by_id}");
    assert_eq!(
        run_ok(
            lib,
            &["text", photos.join("00002.png").to_str().expect("utf-8")]
        ),
        "no text\n"
    );
    let outside = run_ok(lib, &["text", sticker.to_str().expect("utf-8")]);
    assert!(outside.contains("hunter22"), "{outside}");
    let missing = clipstream()
        .arg("--library")
        .arg(lib)
        .args(["text", "987654"])
        .output()
        .expect("runs");
    assert_eq!(
        missing.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );

    // --no-words leaves a new photo's words for the next run, which reads them.
    let mut turned = image::open(&sticker).expect("png").to_rgb8();
    turned.put_pixel(0, 0, image::Rgb([1, 2, 3]));
    turned.save(photos.join("copy.png")).expect("saves");
    let out = run_ok(lib, &["index", "--no-words"]);
    assert!(!out.contains("read the words"), "{out}");
    assert!(run_ok(lib, &["status"]).contains("words:   4 of 5 photos read"));
    let out = run_ok(lib, &["index"]);
    assert!(
        out.contains("read the words in 1 photos (1 with text)"),
        "{out}"
    );
}
