//! The app's commands through Tauri's mock runtime, with the real capabilities (the app's
//! `tauri.conf.json` and `capabilities/`), the real core library, SQLite and ONNX Runtime.

use std::path::{Path, PathBuf};

use clipstream_app::protocol::{self, Kind};
use clipstream_app::state::{AppState, Mode, Setup};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tauri::Manager;
use tauri::test::{INVOKE_KEY, MockRuntime, mock_builder};
use tauri::webview::{InvokeRequest, WebviewWindow};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("src-tauri/ is in the repo")
        .to_path_buf()
}

fn setup(mode: Mode, model_dir: Option<PathBuf>, library_dir: &Path) -> Setup {
    Setup {
        mode,
        model_dir,
        library_dir: library_dir.to_path_buf(),
        demo_folder: None,
        model_locations: vec![PathBuf::from("/nowhere/model")],
    }
}

fn tiny_clip() -> PathBuf {
    repo().join("models/tiny-clip")
}

struct App {
    _app: tauri::App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
}

impl App {
    fn new(setup: Setup) -> Self {
        let app = clipstream_app::app(mock_builder(), AppState::new(setup))
            .build(tauri::generate_context!())
            .expect("the app builds on the mock runtime");
        let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("main window");
        Self { _app: app, window }
    }

    /// Invoke `cmd` as the UI does; Ok(value) or Err({code, message}).
    fn call<T: DeserializeOwned>(&self, cmd: &str, args: Value) -> Result<T, Value> {
        call(&self.window, cmd, args)
    }

    fn state(&self) -> tauri::State<'_, AppState> {
        self.window.state::<AppState>()
    }
}

/// As the app does when it exits: the pass reading words stops before the process ends.
impl Drop for App {
    fn drop(&mut self) {
        self.state().stop_reading_words();
    }
}

/// Invoke `cmd` on `window` as the UI does (from any thread: windows are shared handles).
fn call<T: DeserializeOwned>(
    window: &WebviewWindow<MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<T, Value> {
    {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().expect("url"),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        tauri::test::get_ipc_response(window, request).map(|body| {
            body.deserialize::<T>()
                .expect("response has the expected shape")
        })
    }
}

fn error_code(e: &Value) -> &str {
    e["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not a {{code, message}} error: {e}"))
}

/// `n` shape images including every red circle among the first 300 of the gallery.
fn shape_folder(dir: &Path) -> PathBuf {
    let folder = dir.join("shapes");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let gallery = repo().join("tests/fixtures/shapes");
    for i in (0..300).step_by(6) {
        let name = format!("{i:05}.png");
        std::fs::copy(gallery.join(&name), folder.join(&name)).expect("copy");
    }
    folder
}

fn labels() -> Value {
    let text =
        std::fs::read_to_string(repo().join("tests/fixtures/shapes/labels.json")).expect("labels");
    serde_json::from_str(&text).expect("json")
}

fn name_of(hit: &Value) -> String {
    let path = hit["path"].as_str().expect("path");
    path.rsplit('/').next().expect("file name").to_string()
}

#[test]
fn add_index_search_similar_through_the_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = App::new(setup(
        Mode::Real,
        Some(tiny_clip()),
        &dir.path().join("library"),
    ));
    let status: Value = app.call("app_status", json!({})).expect("status");
    assert_eq!(status["mode"], "real");
    assert_eq!(status["library"]["folders"], json!([]));
    assert_eq!(status["error"], Value::Null);

    // A folder that does not exist: a clear error, nothing added.
    let e = app
        .call::<Value>("add_folder", json!({ "path": dir.path().join("missing") }))
        .expect_err("missing folder");
    assert_eq!(error_code(&e), "io");
    assert!(e["message"].as_str().expect("message").contains("missing"));

    let folder = shape_folder(dir.path());
    let status: Value = app
        .call("add_folder", json!({ "path": folder }))
        .expect("add folder");
    assert_eq!(status["folders"].as_array().expect("folders").len(), 1);

    let report: Value = app.call("index", json!({})).expect("index");
    assert_eq!(report["added"], 50);
    assert_eq!(report["cancelled"], false);
    let progress = app
        .state()
        .progress
        .lock()
        .expect("lock")
        .clone()
        .expect("progress seen");
    assert_eq!(progress.done, 50);

    // Text search: red circles first; every result carries what the grid and preview show.
    let results: Value = app
        .call("search", json!({ "query": "a red circle", "options": {} }))
        .expect("search");
    let hits = results["hits"].as_array().expect("hits");
    let labels = labels();
    assert!(!hits.is_empty());
    for hit in hits.iter().take(2) {
        let label = &labels[name_of(hit)];
        assert_eq!(
            (label["colour"].as_str(), label["shape"].as_str()),
            (Some("red"), Some("circle"))
        );
        for key in ["id", "score", "width", "height", "size", "format"] {
            assert!(!hit[key].is_null(), "{key} missing in {hit}");
        }
    }
    assert!(
        results["hidden"].as_u64().expect("hidden") > 0,
        "the cutoff hid the rest"
    );
    let everything: Value = app
        .call(
            "search",
            json!({ "query": "a red circle", "options": { "all": true, "limit": 5000 } }),
        )
        .expect("search all");
    assert_eq!(everything["hits"].as_array().expect("hits").len(), 50);

    // Browse (an empty query): every photo a page at a time, the cursor carried back as given.
    let mut listed = Vec::new();
    let mut after = Value::Null;
    loop {
        let page: Value = app
            .call(
                "list",
                json!({ "options": { "limit": 20 }, "after": after }),
            )
            .expect("list");
        listed.extend(
            page["images"]
                .as_array()
                .expect("images")
                .iter()
                .map(|h| h["id"].clone()),
        );
        after = page["next"].clone();
        if after.is_null() {
            break;
        }
    }
    assert_eq!(listed.len(), 50);
    let mut distinct = listed.clone();
    distinct.sort_by_key(|v| v.as_i64());
    distinct.dedup();
    assert_eq!(distinct.len(), 50, "a photo listed twice");

    // Combined query in the same box: the negative term pushes white backgrounds out.
    let combined: Value = app
        .call(
            "search",
            json!({ "query": "a red circle - a white background", "options": { "all": true } }),
        )
        .expect("combined");
    let combined = combined["hits"].as_array().expect("hits");
    assert!(
        combined.len() >= 4,
        "{} hits for the combined query",
        combined.len()
    );
    for hit in combined.iter().take(4) {
        let label = &labels[name_of(hit)];
        assert_eq!(
            (label["colour"].as_str(), label["shape"].as_str()),
            (Some("red"), Some("circle"))
        );
        assert_ne!(label["background"], "white", "{hit}");
    }

    // Find similar never returns the image itself.
    let first = hits[0]["id"].as_i64().expect("id");
    for all in [false, true] {
        let similar: Value = app
            .call("similar", json!({ "id": first, "options": { "all": all } }))
            .expect("similar");
        let similar_ids: Vec<i64> = similar["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .map(|h| h["id"].as_i64().expect("id"))
            .collect();
        assert!(!similar_ids.contains(&first));
        if all {
            assert_eq!(similar_ids.len(), 49, "everything but the image itself");
        }
    }

    let info: Value = app
        .call("image_info", json!({ "id": first }))
        .expect("info");
    assert_eq!(info["id"], first);
    let e = app
        .call::<Value>("image_info", json!({ "id": 999_999 }))
        .expect_err("unknown id");
    assert_eq!(error_code(&e), "not_found");
    let e = app
        .call::<Value>("search", json!({ "query": "- cats", "options": {} }))
        .expect_err("only a negative term");
    assert_eq!(error_code(&e), "bad_query");

    // The protocol serves this id's thumbnail and refuses everything else.
    let get = |kind: Kind, path: &str| {
        let request = tauri::http::Request::builder()
            .uri(format!("{}://localhost{path}", kind.scheme()))
            .body(Vec::new())
            .expect("request");
        protocol::respond(app.state().library(), kind, &request)
    };
    let ok = get(Kind::Thumbnail, &format!("/{first}"));
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["content-type"], "image/jpeg");
    assert!(image::load_from_memory(ok.body()).is_ok());
    assert_eq!(get(Kind::Preview, &format!("/{first}")).status(), 200);
    let catalogued = folder.join("00000.png");
    let encoded: String = catalogued
        .to_string_lossy()
        .bytes()
        .map(|b| format!("%{b:02X}"))
        .collect();
    let attempts = [
        "/999999".to_string(),
        "/0".into(),
        format!("/{encoded}"),
        catalogued.to_string_lossy().into_owned(),
        "/..%2F..%2Fetc%2Fpasswd".into(),
        "/../../etc/passwd".into(),
        format!("/{first}/../1"),
        format!("/{first}%00"),
        "/%2e%2e/%2e%2e/etc/passwd".into(),
        "/..%5c..%5cetc%5cpasswd".into(),
        "/%252e%252e%252fetc%252fpasswd".into(),
        "//etc/passwd".into(),
        "/etc/passwd".into(),
        "/~/.ssh/id_rsa".into(),
        format!("/{first}/"),
        format!("/{first}/thumb.jpg"),
        format!("/{first}.jpg"),
        format!("/%3{first}"),
        "/-1".into(),
        "/+1".into(),
        "/0x1".into(),
        "/1e3".into(),
        "/%201".into(),
        "/\u{ff11}".into(),
        "/9223372036854775808".into(),
        "/".into(),
    ];
    for attempt in &attempts {
        for kind in [Kind::Thumbnail, Kind::Preview] {
            assert_eq!(get(kind, attempt).status(), 404, "{attempt} via {kind:?}");
        }
    }
    // Only GET.
    let post = tauri::http::Request::builder()
        .method("POST")
        .uri(format!("thumb://localhost/{first}"))
        .body(Vec::new())
        .expect("request");
    assert_eq!(
        protocol::respond(app.state().library(), Kind::Thumbnail, &post).status(),
        405
    );
    // A catalogued photo that became a link out of the folders is not followed: the preview
    // (read from the file) is refused; the thumbnail made at index time shows what was indexed.
    let swapped = folder.join("00006.png");
    let swapped_id = everything["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .find(|h| h["path"] == json!(swapped))
        .and_then(|h| h["id"].as_i64())
        .expect("00006.png is catalogued");
    std::fs::remove_file(&swapped).expect("delete");
    std::os::unix::fs::symlink("/etc/passwd", &swapped).expect("symlink");
    assert_eq!(get(Kind::Preview, &format!("/{swapped_id}")).status(), 410);
    eprintln!("{} refused request paths × 2 schemes", attempts.len());

    // A query naming a catalogued file is text to the app: the webview never makes it read a
    // file (an image searching by itself would score 1.0).
    let path_query: Value = app
        .call(
            "search",
            json!({ "query": folder.join("00000.png"), "options": { "all": true } }),
        )
        .expect("search");
    // Answered as text: there are hits, and the best is no image matching itself.
    let best = path_query["hits"][0]["score"]
        .as_f64()
        .expect("the path, read as text, finds photos");
    assert!(
        best < 0.9,
        "the path was read as an image: best score {best}"
    );

    // Removing the folder, by id, removes its images from search.
    let folder_id = status["folders"][0]["id"].as_i64().expect("folder id");
    let status: Value = app
        .call("remove_folder", json!({ "id": folder_id }))
        .expect("remove");
    assert_eq!(status["images"], 0);
}

#[test]
fn folders_travel_by_id_even_when_their_names_are_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let app = App::new(setup(
        Mode::Real,
        Some(tiny_clip()),
        &dir.path().join("library"),
    ));
    let odd = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9-photos"));
    std::fs::create_dir(&odd).expect("mkdir");
    let gallery = repo().join("tests/fixtures/shapes");
    for name in ["00000.png", "00001.png", "00002.png"] {
        std::fs::copy(gallery.join(name), odd.join(name)).expect("copy");
    }
    let plain = shape_folder(dir.path());
    // As a folder dropped on the window arrives: a path from the window system, not a string.
    let library = app.state().library().expect("open");
    library.add_folder(&odd).expect("adds");
    library.add_folder(&plain).expect("adds");
    app.call::<Value>("index", json!({})).expect("index");
    let status: Value = app.call("app_status", json!({})).expect("status");
    let folders = status["library"]["folders"].as_array().expect("folders");
    let odd_folder = folders
        .iter()
        .find(|f| f["images"] == 3)
        .expect("the non-UTF-8 folder is listed");
    assert!(
        odd_folder["path"]
            .as_str()
            .expect("path")
            .contains('\u{fffd}'),
        "shown lossily: {odd_folder}"
    );
    let odd_id = odd_folder["id"].as_i64().expect("id");

    // Filter by it, by id.
    let only: Value = app
        .call(
            "search",
            json!({ "query": "a shape", "options": { "all": true, "folderId": odd_id } }),
        )
        .expect("search");
    assert_eq!(only["hits"].as_array().expect("hits").len(), 3);

    // Remove it, by id; the other folder stays.
    let status: Value = app
        .call("remove_folder", json!({ "id": odd_id }))
        .expect("removes");
    assert_eq!(status["folders"].as_array().expect("folders").len(), 1);
    assert_eq!(status["images"], 50);
    let e = app
        .call::<Value>("remove_folder", json!({ "id": odd_id }))
        .expect_err("gone");
    // An unknown folder is not found, not a bad query.
    assert_eq!(error_code(&e), "not_found");
}

#[test]
fn a_picked_folder_whose_name_is_not_utf8_is_added_as_it_is() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let app = App::new(setup(
        Mode::Real,
        Some(tiny_clip()),
        &dir.path().join("library"),
    ));
    let odd = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9 photos"));
    std::fs::create_dir_all(&odd).expect("mkdir");
    // What the folder picker's answer goes through (`add_picked_folder`): a path, never a string.
    let library = app.state().library().expect("open");
    let status = clipstream_app::commands::add_folder_path(&library, &odd).expect("added");
    assert_eq!(status.folders.len(), 1);
    assert_eq!(
        status.folders[0].path, odd,
        "the exact bytes, not a lossy string"
    );
}

#[test]
fn the_to_day_is_inclusive_and_a_day_that_does_not_exist_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = App::new(setup(
        Mode::Real,
        Some(tiny_clip()),
        &dir.path().join("library"),
    ));
    let folder = dir.path().join("photos");
    std::fs::create_dir(&folder).expect("mkdir");
    // Chelsea taken at the last second of 2021-06-15 (same bytes but the EXIF time).
    let jpeg =
        std::fs::read(repo().join("tests/fixtures/photos/chelsea_upright.jpg")).expect("read");
    let at = jpeg
        .windows(19)
        .position(|w| w == b"2021:06:15 14:30:00")
        .expect("the fixture's EXIF date");
    let mut late = jpeg.clone();
    late[at..at + 19].copy_from_slice(b"2021:06:15 23:59:59");
    std::fs::write(folder.join("late.jpg"), &late).expect("write");
    app.call::<Value>("add_folder", json!({ "path": folder }))
        .expect("add");
    app.call::<Value>("index", json!({})).expect("index");
    let on = |from: &str, to: &str| -> Result<Value, Value> {
        app.call(
            "search",
            json!({ "query": "a cat", "options": { "all": true, "takenFrom": from, "takenTo": to } }),
        )
    };
    let same_day = on("2021-06-15", "2021-06-15").expect("search");
    assert_eq!(
        same_day["hits"].as_array().expect("hits").len(),
        1,
        "23:59:59 is on the To day"
    );
    let day_before = on("2021-06-01", "2021-06-14").expect("search");
    assert_eq!(day_before["hits"].as_array().expect("hits").len(), 0);
    let e = on("2021-02-31", "2021-06-15").expect_err("no such day");
    assert_eq!(error_code(&e), "bad_query");
    assert!(
        e["message"]
            .as_str()
            .expect("message")
            .contains("2021-02-31"),
        "{e}"
    );
}

#[test]
fn a_refused_second_index_keeps_the_users_cancel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = App::new(setup(
        Mode::Real,
        Some(tiny_clip()),
        &dir.path().join("library"),
    ));
    let state = app.state();
    assert!(state.start_indexing(), "the first run starts");
    state
        .cancel
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(!state.start_indexing(), "a second is refused");
    assert!(
        state.cancel.load(std::sync::atomic::Ordering::SeqCst),
        "the refused request did not clear the pending cancel"
    );
    state.finish_indexing();
    assert!(
        state.start_indexing(),
        "the next run starts, with a fresh cancel flag"
    );
    assert!(!state.cancel.load(std::sync::atomic::Ordering::SeqCst));
    state.finish_indexing();
}

/// Runs `work` on its own thread; fails the test instead of hanging it.
fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("{what} did not answer within {secs} s"))
}

#[test]
fn removing_a_folder_during_the_apps_own_run_answers_busy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = dir.path().join("library");
    let app = App::new(setup(Mode::Real, Some(tiny_clip()), &library));
    let folder = shape_folder(dir.path());
    let status: Value = app
        .call("add_folder", json!({ "path": folder }))
        .expect("add");
    let folder_id = status["folders"][0]["id"].as_i64().expect("id");
    // Another process holds the library (its flock on write.lock): the app's run starts and waits
    // for it.
    let other = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(library.join("write.lock"))
        .expect("the lock file");
    other.try_lock().expect("free");
    let runner = app.window.clone();
    let run = std::thread::spawn(move || call::<Value>(&runner, "index", json!({})));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while app
        .state()
        .progress
        .lock()
        .expect("lock")
        .as_ref()
        .map(|p| p.phase)
        != Some(clipstream_core::Phase::Waiting)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started waiting"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let remover = app.window.clone();
    let refused = within(20, "remove_folder during the app's run", move || {
        call::<Value>(&remover, "remove_folder", json!({ "id": folder_id }))
    })
    .expect_err("busy");
    assert_eq!(error_code(&refused), "busy", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .expect("message")
            .contains("indexing run in progress"),
        "{refused}"
    );
    drop(other);
    let report = run.join().expect("thread").expect("index");
    assert_eq!(report["added"], 50);
}

/// How many of this process's threads are in open(2)/openat(2) now (x86_64 syscall numbers):
/// blocked opening a named pipe nobody writes.
fn threads_in_open() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("syscall"))
                .is_ok_and(|s| s.starts_with("257 ") || s.starts_with("2 "))
        })
        .count()
}

#[test]
fn reindexing_runs_off_the_async_runtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A model folder whose text model will block its reader: a named pipe nobody writes yet, which
    // the manifest lists as an empty file (so opening the model reads it to hash it; a pipe in
    // place of the manifest itself is refused before any read, and would test nothing).
    let model = dir.path().join("model");
    std::fs::create_dir_all(&model).expect("mkdir");
    for entry in std::fs::read_dir(tiny_clip()).expect("model dir").flatten() {
        std::fs::copy(entry.path(), model.join(entry.file_name())).expect("copy");
    }
    let app = App::new(setup(
        Mode::Real,
        Some(model.clone()),
        &dir.path().join("library"),
    ));
    let manifest_path = model.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("manifest")).expect("json");
    let text_file = manifest["text"]["file"]
        .as_str()
        .expect("text file")
        .to_string();
    manifest["files"][&text_file] = json!({
        "bytes": 0,
        "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    });
    std::fs::write(&manifest_path, manifest.to_string()).expect("write manifest");
    let pipe = model.join(&text_file);
    let text = std::fs::read(&pipe).expect("the text model");
    std::fs::remove_file(&pipe).expect("rm");
    let made = std::process::Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    // As many re-index requests as the async runtime has workers, each stuck reading the pipe.
    let workers = std::thread::available_parallelism().map_or(2, usize::from) + 1;
    let stuck: Vec<_> = (0..workers)
        .map(|_| {
            let window = app.window.clone();
            std::thread::spawn(move || call::<Value>(&window, "reindex_library", json!({})))
        })
        .collect();
    // Each is stuck now: as many of this process's threads wait in open(2) on the pipe.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while threads_in_open() < workers {
        assert!(
            std::time::Instant::now() < deadline,
            "the re-index requests never reached the model's files"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The runtime still answers other commands.
    let window = app.window.clone();
    let status: Value = within(20, "app_status while re-indexing blocks", move || {
        call(&window, "app_status", json!({}))
    })
    .expect("status");
    assert_eq!(status["mode"], "real");
    // Let the readers go: each gets the model's bytes, part of them or nothing, and refuses a
    // file that is not what the manifest lists; none may hang. (Read and write, so opening never
    // waits for a reader.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !stuck.iter().all(|h| h.is_finished()) {
        assert!(
            std::time::Instant::now() < deadline,
            "re-index requests still stuck"
        );
        let mut writer = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&pipe)
            .expect("open the pipe");
        std::io::Write::write_all(&mut writer, &text[..text.len().min(65_536)]).ok();
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(writer);
    }
}

#[test]
fn library_of_another_model_asks_to_reindex() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = dir.path().join("library");
    {
        let app = App::new(setup(Mode::Real, Some(tiny_clip()), &library));
        let folder = shape_folder(dir.path());
        app.call::<Value>("add_folder", json!({ "path": folder }))
            .expect("add");
        app.call::<Value>("index", json!({})).expect("index");
    }
    // The same files under another model id stand for a different model.
    let other = dir.path().join("other-model");
    std::fs::create_dir_all(&other).expect("mkdir");
    for entry in std::fs::read_dir(tiny_clip()).expect("model dir").flatten() {
        std::fs::copy(entry.path(), other.join(entry.file_name())).expect("copy");
    }
    let manifest = other.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, text.replace("tiny-clip-shapes", "another-model")).expect("write");

    let app = App::new(setup(Mode::Real, Some(other), &library));
    let status: Value = app.call("app_status", json!({})).expect("status");
    assert_eq!(error_code(&status["error"]), "model_mismatch");
    let e = app
        .call::<Value>("search", json!({ "query": "a red circle", "options": {} }))
        .expect_err("no search on a mismatched library");
    assert_eq!(error_code(&e), "model_mismatch");

    let status: Value = app.call("reindex_library", json!({})).expect("reindex");
    assert_eq!(status["images"], 0, "old embeddings dropped, folders kept");
    assert_eq!(status["folders"].as_array().expect("folders").len(), 1);
    let report: Value = app.call("index", json!({})).expect("index");
    assert_eq!(report["added"], 50);
    let status: Value = app.call("app_status", json!({})).expect("status");
    assert_eq!(status["error"], Value::Null);
    assert_eq!(status["model_id"], "clipstream/another-model");
    // The re-indexed library's folders are watched: a photo added appears by itself.
    let folder = dir.path().join("shapes");
    std::fs::copy(
        repo().join("tests/fixtures/shapes/01001.png"),
        folder.join("new.png"),
    )
    .expect("copy");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let status: Value = app.call("app_status", json!({})).expect("status");
        if status["library"]["images"] == 51 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new photo was never indexed: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn without_a_model_every_command_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = App::new(setup(Mode::NoModel, None, &dir.path().join("library")));
    let status: Value = app.call("app_status", json!({})).expect("status");
    assert_eq!(status["mode"], "no_model");
    assert_eq!(status["library"], Value::Null);
    assert_eq!(status["model_locations"], json!(["/nowhere/model"]));
    for (cmd, args) in [
        ("search", json!({ "query": "a dog", "options": {} })),
        ("index", json!({})),
        ("add_folder", json!({ "path": "/tmp" })),
    ] {
        let e = app.call::<Value>(cmd, args).expect_err("no model");
        assert_eq!(error_code(&e), "no_model", "{cmd}");
        assert!(
            e["message"]
                .as_str()
                .expect("message")
                .contains("/nowhere/model")
        );
    }
}

#[test]
fn commands_not_in_the_capability_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = App::new(setup(Mode::NoModel, None, &dir.path().join("library")));
    // The dialog plugin is loaded for the Rust-side picker, but the webview may not call it.
    let e = app
        .call::<Value>("plugin:dialog|open", json!({ "options": {} }))
        .expect_err("not granted");
    assert!(e.to_string().contains("not allowed"), "{e}");
}

#[test]
fn without_its_vector_index_the_app_answers_and_builds_the_index_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = dir.path().join("library");
    let folder = shape_folder(dir.path());
    {
        let app = App::new(setup(Mode::Real, Some(tiny_clip()), &library));
        app.call::<Value>("add_folder", json!({ "path": folder }))
            .expect("add folder");
        app.call::<Value>("index", json!({})).expect("index");
    }
    for name in ["vectors.usearch", "vectors.usearch.json"] {
        std::fs::remove_file(library.join(name)).expect("delete the vector index");
    }
    let app = App::new(setup(Mode::Real, Some(tiny_clip()), &library));
    let status: Value = app.call("app_status", json!({})).expect("status");
    assert_eq!(status["library"]["images"], 50);
    let build = &status["library"]["index_build"];
    assert!(
        build.is_null() || build["total"] == 50,
        "the build's progress, if still running: {build}"
    );
    let results: Value = app
        .call("search", json!({ "query": "a red circle", "options": {} }))
        .expect("search");
    let hits = results["hits"].as_array().expect("hits");
    let labels = labels();
    assert_eq!(labels[name_of(&hits[0])]["shape"], "circle");
    // The index is built, saved, and the status says so.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let status: Value = app.call("app_status", json!({})).expect("status");
        if status["library"]["index_build"].is_null()
            && library.join("vectors.usearch.json").is_file()
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no index after 60 s: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
