"""End to end in the real webview: the desktop app driven through tauri-driver and WebKitWebDriver.

Run by `make test` (scripts/test.sh) under Xvfb. Needs the debug app binary (CLIPSTREAM_APP),
tauri-driver (TAURI_DRIVER) and ONNX Runtime (ORT_DYLIB_PATH); all three are set by the test script.
Screenshots go to target/e2e/.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from .webdriver import Session, launched

ROOT = Path(__file__).resolve().parents[2]
SHAPES = ROOT / "tests" / "fixtures" / "shapes"
SHOTS = ROOT / "target" / "e2e"


def required_path(name: str) -> Path:
    value = os.environ.get(name)
    assert value and Path(value).exists(), f"{name} must name an existing file (set by scripts/test.sh); got {value!r}"
    return Path(value)


@pytest.fixture(scope="module")
def labels() -> dict:
    return json.loads((SHAPES / "labels.json").read_text())


@pytest.fixture(scope="module")
def photos(tmp_path_factory, labels) -> Path:
    """300 generated shape images (9 of them red circles), an iPhone-like HEIC and one broken file."""
    folder = tmp_path_factory.mktemp("fixture") / "My Shapes"
    folder.mkdir()
    for name in sorted(labels)[::6]:
        shutil.copy(SHAPES / name, folder / name)
    (folder / "broken.jpg").write_text("this is not a photo")
    # An iPhone-like HEIC: grid-tiled, rotated by its irot transform, with an EXIF date.
    shutil.copy(ROOT / "tests" / "fixtures" / "formats" / "iphone-like.heic", folder / "IMG_0001.HEIC")
    return folder


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """The app's data, config and cache folders (XDG_*_HOME)."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def app(home: Path):
    app_binary = required_path("CLIPSTREAM_APP")
    driver_binary = required_path("TAURI_DRIVER")
    ort = required_path("ORT_DYLIB_PATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPSTREAM_") and k != "HF_ENDPOINT"}
    env.update(
        XDG_DATA_HOME=str(home / "data"),  # no real model here: the app starts in demo mode
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        ORT_DYLIB_PATH=str(ort),
        CLIPSTREAM_DEMO_MODEL=str(ROOT / "models" / "tiny-clip"),
        CLIPSTREAM_DEMO_FOLDER=str(home / "no-demo-folder"),  # start with no folders
        # XDG_DATA_HOME hides where set-up put the OCR models: named instead.
        CLIPSTREAM_OCR=str(required_path("OCR_DIR")),
    )
    for d in ("data", "config", "cache"):
        (home / d).mkdir()
    with launched(app_binary, driver_binary, env, SHOTS.parent / "e2e-tauri-driver.log") as session:
        yield session


def top_tiles(s: Session, n: int) -> list[dict]:
    return s.js(
        "return [...document.querySelectorAll('#grid .tile')].slice(0, arguments[0]).map(t => ({"
        " id: Number(t.dataset.id), name: t.querySelector('img').alt,"
        " score: t.querySelector('.score').textContent }));",
        n,
    )


def search_for(s: Session, query: str) -> None:
    """Type a query as a person would and wait until the grid shows its results."""
    s.click("#query")
    s.clear("#query")
    s.type("#query", query)
    s.wait(
        f"results for {query!r}",
        lambda: s.js("return document.getElementById('grid').dataset.query") == f"“{query}”",
    )


def answer_complete(s: Session) -> None:
    """Wait until the grid holds the whole answer: a short one's rest is asked for at once, and
    its arrival redraws the summary line (a button found before it would be stale)."""
    s.wait("the whole answer", lambda: s.js("return document.getElementById('grid').dataset.complete") == "true")


def indexing_state(s: Session) -> str:
    return s.js("return document.getElementById('indexing').dataset.state")


def image_loads(s: Session, url: str) -> bool:
    """Whether the webview loads `url` as an image (the page's own CSP and protocol apply)."""
    return s.js_async(
        "const done = arguments[arguments.length - 1]; const img = new Image();"
        "img.onload = () => done(img.naturalWidth > 0); img.onerror = () => done(false); img.src = arguments[0];",
        url,
    )


def test_search_preview_similar_and_refused_paths(app: Session, photos: Path, labels: dict):
    s = app
    SHOTS.mkdir(parents=True, exist_ok=True)

    # Starts in demo mode, says so, and asks for a folder.
    s.wait("the first screen", lambda: s.js("return document.getElementById('empty').dataset.kind") == "no-folders")
    assert "test model" in s.text("#banner")
    s.screenshot(SHOTS / "1-no-folders.png")

    # Add the folder by path, as a person would in the Folders panel.
    s.click("#folders-button")
    s.type("#folder-path", str(photos))
    s.click("#add-path button[type=submit]")

    # Indexing shows progress and finishes; the broken file is listed with its reason.
    s.wait(
        "indexing to finish",
        lambda: indexing_state(s) == "done",
        timeout=180,
    )
    detail = s.text("#indexing-detail")
    assert "301 added" in detail and "1 skipped" in detail, detail
    folder_text = s.text("#folder-list")
    assert "My Shapes" in folder_text and "301 photos" in folder_text, folder_text
    s.click("#skipped-box summary")
    s.wait("the skipped list", lambda: "broken.jpg" in s.text("#skipped-list"))
    assert "not an image" in s.text("#skipped-list")
    s.screenshot(SHOTS / "2-folders.png")
    s.click("#close-folders")
    # The words are read after the run (none here): the search below is then the only one asked.
    s.wait("the words read", lambda: not app_status(s)["reading_words"], timeout=60)

    # Search as you type: red circles come first.
    search_for(s, "a red circle")
    tiles = top_tiles(s, 9)
    kinds = [(labels[t["name"]]["colour"], labels[t["name"]]["shape"]) for t in tiles]
    assert len(tiles) == 9 and all(k == ("red", "circle") for k in kinds), kinds
    assert "9 matches" in s.text("#summary")
    assert s.wait(
        "thumbnails to load",
        lambda: s.js(
            "return [...document.querySelectorAll('#grid .tile img')].slice(0, 9)"
            ".every(i => i.complete && i.naturalWidth > 0)"
        ),
    )
    s.screenshot(SHOTS / "3-results.png")

    # "Show all" lifts the relevance cutoff. A screenful is asked for first, the rest of the
    # answer once the reader scrolls towards its end (each search's limit is recorded).
    s.js(
        "window.searchLimits = []; const fetched = window.fetch;"
        "window.fetch = (url, init) => { if (String(url).endsWith('/search'))"
        " window.searchLimits.push(JSON.parse(init.body).options.limit); return fetched(url, init); };"
    )
    answer_complete(s)
    s.click("#show-all")
    s.wait("all results", lambda: len(s.find_all("#grid .tile")) > 9)
    s.js("window.scrollTo(0, document.documentElement.scrollHeight)")
    s.wait("the rest of the answer", lambda: s.js("return document.getElementById('grid').dataset.count") == "301")
    assert s.text("#summary").startswith("301 matches for"), s.text("#summary")
    assert s.js("return window.searchLimits") == [120, 5000]
    s.js("window.scrollTo(0, 0)")

    # Keyboard: into the grid, Enter opens the preview with the photo's details.
    s.click("#query")
    s.press("ArrowDown")
    s.wait("the first tile selected", lambda: s.js("return document.activeElement.classList.contains('tile')"))
    s.press("Enter")
    s.wait("the preview", lambda: s.js("return document.getElementById('preview').open"))
    first = top_tiles(s, 1)[0]
    assert s.text("#preview-name") == first["name"]
    assert "px" in s.text("#preview-dims")
    s.wait(
        "the preview image",
        lambda: s.js("const i = document.getElementById('preview-img'); return i.complete && i.naturalWidth > 0"),
    )
    s.screenshot(SHOTS / "4-preview.png")

    # Find similar: other red circles, never the photo itself.
    s.click("#similar-button")
    s.wait(
        "similar results", lambda: "photos like" in s.js("return document.getElementById('grid').dataset.query || ''")
    )
    similar = top_tiles(s, 5)
    assert similar and first["id"] not in [t["id"] for t in similar]
    assert labels[similar[0]["name"]]["shape"] == "circle", similar
    s.screenshot(SHOTS / "5-similar.png")

    # The HEIC shows like any photo: its tile and its preview load, upright, labelled HEIC.
    search_for(s, "a green circle on a white background")
    answer_complete(s)
    s.click("#show-all")
    heic = "document.querySelector('#grid .tile img[alt=\"IMG_0001.HEIC\"]')"
    s.wait("the HEIC's tile", lambda: s.js(f"return !!{heic}"))
    s.js(f"{heic}.scrollIntoView()")
    s.wait("the HEIC's thumbnail", lambda: s.js(f"const i = {heic}; return i.complete && i.naturalWidth > 0"))
    thumb = s.js(f"const i = {heic}; return [i.naturalWidth, i.naturalHeight]")
    assert thumb[1] > thumb[0], f"portrait (upright) thumbnail expected, got {thumb}"
    s.js(f"{heic}.closest('.tile').click()")
    s.wait(
        "the HEIC's preview",
        lambda: s.js("const i = document.getElementById('preview-img'); return i.complete && i.naturalWidth > 0"),
    )
    assert s.text("#preview-file").startswith("HEIC"), s.text("#preview-file")
    assert s.text("#preview-dims") == "768 × 1024 px", s.text("#preview-dims")
    assert "2021" in s.text("#preview-taken"), s.text("#preview-taken")
    s.screenshot(SHOTS / "5b-heic-preview.png")
    s.press("Escape")

    # Escape leaves "similar"; "/" focuses the search box.
    s.press("Escape")
    s.press("/")
    assert s.js("return document.activeElement.id") == "query"

    # Images reach the webview by catalog id only.
    assert image_loads(s, s.js("return window.__TAURI__.core.convertFileSrc(arguments[0], 'thumb')", str(first["id"])))
    catalogued = str(photos / first["name"])
    refused = [
        "thumb://localhost/999999",
        "thumb://localhost/0",
        "thumb://localhost/" + urllib.parse.quote(catalogued, safe=""),
        "thumb://localhost" + catalogued,
        "thumb://localhost/..%2F..%2F..%2Fetc%2Fpasswd",
        "thumb://localhost/../../etc/passwd",
        "preview://localhost/" + urllib.parse.quote("/etc/passwd", safe=""),
        "preview://localhost/1/../../etc/hostname",
    ]
    for url in refused:
        assert not image_loads(s, url), f"{url} must be refused"


def test_indexing_waits_while_another_process_updates_the_library(app: Session, home: Path):
    """The CLI indexing the same library holds its write lock: the app says who, waits, then runs."""
    s = app
    lock_file = home / "data" / "clipstream" / "demo-library" / "write.lock"
    assert lock_file.is_file(), f"the app's library has no {lock_file.name} (did the first test index?)"
    with open(lock_file, "r+") as lock:
        # The same flock(2) that ClipStream takes, with the text its holder writes.
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.truncate(0)
        lock.write(f"clipstream, pid {os.getpid()}")
        lock.flush()
        s.click("#folders-button")
        s.click("#rescan")
        s.wait("the waiting strip", lambda: s.text("#indexing-title") == "Waiting")
        detail = s.text("#indexing-detail")
        expected = f"another ClipStream process (clipstream, pid {os.getpid()}) is updating this library"
        assert expected in detail, detail
        s.screenshot(SHOTS / "6-waiting.png")
        # Still waiting a while later: nothing runs while the lock is held.
        time.sleep(1.5)
        assert indexing_state(s) == "running"
        assert s.text("#indexing-title") == "Waiting"
        # Search keeps working meanwhile.
        s.click("#close-folders")
        search_for(s, "a blue square")
        assert s.find_all("#grid .tile")
    # Released (as when the CLI exits): the app's run starts and finds nothing new; the broken
    # file is tried again and still skipped.
    s.wait(
        "indexing after the other process",
        lambda: indexing_state(s) == "done",
        timeout=120,
    )
    assert s.text("#indexing-detail") == "1 skipped (see Folders)", s.text("#indexing-detail")


def empty_kind(s: Session) -> str | None:
    """What the centre shows when there are no results ("bad-query", "nothing-found", ...)."""
    return s.js("const e = document.getElementById('empty'); return e.hidden ? null : e.dataset.kind")


def test_an_answer_stays_while_indexing_runs_and_a_reloaded_window_follows_the_run(app: Session, home: Path):
    """A run's progress refreshes counts and results without blanking the answer on screen; a
    window reloaded mid-run picks the run up again and follows it to its end."""
    s = app
    lock_file = home / "data" / "clipstream" / "demo-library" / "write.lock"
    with open(lock_file, "r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.truncate(0)
        lock.write(f"clipstream, pid {os.getpid()}")
        lock.flush()
        # An answer that is not results: a query to fix.
        s.click("#query")
        s.clear("#query")
        s.type("#query", "- cats")
        s.wait("the query's fix", lambda: empty_kind(s) == "bad-query")
        # The searches a running index asks for: the answer's refreshes.
        s.js(
            "window.refreshes = 0; const fetched = window.fetch;"
            "window.fetch = (url, init) => { if (String(url).endsWith('/search')"
            " && document.getElementById('indexing').dataset.state === 'running') window.refreshes++;"
            " return fetched(url, init); };"
        )
        time.sleep(1.6)  # past the strip's refresh interval, so the run's first report refreshes
        s.js("document.getElementById('indexing').dataset.state = 'stale'; document.getElementById('rescan').click()")
        s.wait("the waiting strip", lambda: s.text("#indexing-title") == "Waiting")
        s.wait(
            "the run's refresh of the answer",
            lambda: s.js("return window.refreshes > 0 && !document.body.classList.contains('searching')"),
        )
        assert empty_kind(s) == "bad-query", "the answer on screen was replaced while indexing"
        assert "needs a fix" in s.text("#empty")
        s.screenshot(SHOTS / "7-answer-during-indexing.png")
        # Reload mid-run: the new page shows the run and keeps following it.
        s.refresh()
        s.wait("the reloaded window's strip", lambda: s.text("#indexing-title") == "Waiting", timeout=60)
    s.wait(
        "the reloaded window to see the run finish",
        lambda: indexing_state(s) == "done",
        timeout=120,
    )
    assert s.text("#indexing-detail") == "1 skipped (see Folders)", s.text("#indexing-detail")


def test_photos_copied_into_a_folder_appear_by_themselves(app: Session, photos: Path, labels: dict):
    """No Re-scan: the folder is watched (inotify), so a photo copied in shows in the grid on its
    own, and one deleted leaves it."""
    s = app
    s.click("#folders-button")
    s.wait("the folder's watch note", lambda: "watched: new photos appear by themselves" in s.text("#folder-list"))
    s.click("#close-folders")
    search_for(s, "a red circle")
    shown = {t["name"] for t in top_tiles(s, 50)}
    red_circles = [n for n in sorted(labels) if (labels[n]["colour"], labels[n]["shape"]) == ("red", "circle")]
    new = next(n for n in red_circles if not (photos / n).exists())
    assert new not in shown
    shutil.copy(SHAPES / new, photos / new)
    s.wait("the new photo in the grid", lambda: new in {t["name"] for t in top_tiles(s, 50)}, timeout=20)
    s.screenshot(SHOTS / "9-appeared-by-itself.png")
    (photos / new).unlink()
    s.wait("the deleted photo gone from the grid", lambda: new not in {t["name"] for t in top_tiles(s, 50)}, timeout=20)


def test_a_photo_found_by_its_words_shows_its_badge_and_the_words_on_the_preview(app: Session, photos: Path):
    """A sticker photo copied into the watched folder is indexed, its words read in the background
    (the real PP-OCR models), and "router password" finds it by the line "WiFi password: …": its
    tile says "text", and its preview boxes the line where it is in the photo."""
    s = app
    before = library_images(s)
    sticker = photos / "router-sticker.png"
    shutil.copy(ROOT / "tests" / "fixtures" / "words" / "wifi-and-chinese.png", sticker)
    try:

        def text_tiles() -> list[str]:
            return s.js(
                "return [...document.querySelectorAll('#grid .tile')].filter(t => t.querySelector('.text-mark'))"
                ".map(t => t.querySelector('img').alt)"
            )

        search_for(s, "router password")
        s.wait("the sticker found by its words", lambda: "router-sticker.png" in text_tiles(), timeout=60)
        status = app_status(s)
        words = status["library"]["words"]
        assert words["reader"] == "ch_PP-OCRv4_det_infer + ch_PP-OCRv4_rec_infer", words
        assert words["read"] >= 1, words
        # The Folders drawer (closed now) names the models and how many photos are read.
        s.wait(
            "the drawer's words line",
            lambda: "photos read" in s.js("return document.getElementById('words-info').textContent"),
        )
        words_line = s.js("return document.getElementById('words-info').textContent")
        assert words_line.startswith("Words in photos: ") and "ch_PP-OCRv4_det_infer" in words_line, words_line
        first = s.js("return document.querySelector('#grid .tile .text-mark').closest('.tile').title")
        assert "text: WiFi password: hunter22" in first, first
        s.js("document.querySelector('#grid .tile .text-mark').closest('.tile').click()")
        s.wait("the preview", lambda: s.js("return document.getElementById('preview').open"))
        s.wait(
            "the preview image",
            lambda: s.js("const i = document.getElementById('preview-img'); return i.complete && i.naturalWidth > 0"),
        )
        assert s.text("#preview-text") == "WiFi password: hunter22"
        assert s.js("return document.querySelector('#preview-text mark').textContent") == "password"
        # The box lies over the line in the photo as shown: inside the image's content box, in
        # its upper half (the line is the sticker's first), wider than high.
        placed = s.js(
            "const i = document.getElementById('preview-img'); const img = i.getBoundingClientRect();"
            "const box = document.querySelector('#preview-words polygon').getBoundingClientRect();"
            "return {img: [img.left, img.top, img.width, img.height], natural: [i.naturalWidth, i.naturalHeight],"
            " box: [box.left, box.top, box.width, box.height],"
            " polygons: document.querySelectorAll('#preview-words polygon').length};"
        )
        (ix, iy, iw, ih), (nw, nh), (bx, by, bw, bh) = placed["img"], placed["natural"], placed["box"]
        assert placed["polygons"] == 1, placed
        # The photo as shown: object-fit contain centres it in the element.
        scale = min(iw / nw, ih / nh)
        cx, cy, cw, ch = ix + (iw - nw * scale) / 2, iy + (ih - nh * scale) / 2, nw * scale, nh * scale
        assert cx - 2 <= bx and bx + bw <= cx + cw + 2, placed
        assert cy - 2 <= by and by + bh <= cy + ch / 2, placed
        assert bw > 3 * bh > 0, placed
        s.screenshot(SHOTS / "10-found-by-its-words.png")
        s.js("document.getElementById('close-preview').click()")
    finally:
        # Whatever happened, the library is left as the next test expects it.
        sticker.unlink()
        s.wait("the sticker gone from the library", lambda: library_images(s) == before, timeout=60)
    s.wait("the sticker gone from the grid", lambda: "router-sticker.png" not in text_tiles(), timeout=30)


def test_an_empty_query_browses_every_photo_newest_first_by_month(app: Session, photos: Path):
    """No query: the whole library, newest first under month headings, fetched page by page as
    the grid is scrolled to its end."""
    s = app
    # The previous test's deletion is indexed by now: the library holds still while it is read.
    s.wait("no run going", lambda: indexing_state(s) == "done", timeout=60)
    s.click("#query")
    # Deleted key by key, as a person empties the box (each Backspace an input event).
    s.type("#query", "\ue003" * (len(s.js("return document.getElementById('query').value")) + 1))
    s.wait("browsing", lambda: s.js("return document.getElementById('grid').dataset.browse") == "true")
    assert "newest first" in s.text("#summary")
    # The HEIC is the one dated photo (2021-06-15): first, under its month; the rest have no date.
    first = top_tiles_names(s, 1)
    assert first == ["IMG_0001.HEIC"], first
    s.screenshot(SHOTS / "10-browse.png")
    total = len([p for p in photos.iterdir() if p.name != "broken.jpg"])
    # Read it as a person does, a window at a time: the next page of 200 comes as the end nears.
    # Only the rows near the window are in the DOM (the grid is virtualized), in order.
    seen: dict[int, int] = {}
    headings: list[str] = []
    most_in_dom = 0
    for _ in range(200):
        view = s.js(
            "return {tiles: [...document.querySelectorAll('#grid .tile')]"
            ".map(t => [Number(t.dataset.index), Number(t.dataset.id)]),"
            " months: [...document.querySelectorAll('#grid .month')].map(h => h.textContent),"
            " complete: document.getElementById('grid').dataset.complete === 'true',"
            " bottom: window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2}"
        )
        indexes = [i for i, _ in view["tiles"]]
        assert indexes, "no tile in the DOM"
        assert indexes == sorted(indexes) and indexes == list(range(indexes[0], indexes[0] + len(indexes))), indexes
        most_in_dom = max(most_in_dom, len(indexes))
        for i, photo in view["tiles"]:
            assert seen.setdefault(i, photo) == photo, f"tile {i} changed photo"
        headings += [h for h in view["months"] if h not in headings]
        if view["complete"] and view["bottom"]:
            break
        s.js("window.scrollBy(0, window.innerHeight * 0.8)")
        s.painted()  # the grid draws the rows near the window once a frame
    assert len(seen) == total and sorted(seen) == list(range(total)), f"{len(seen)} of {total} shown"
    assert len(set(seen.values())) == total, "a photo shown twice"
    assert headings == ["June 2021", "Date unknown"], headings
    assert most_in_dom < total, f"{most_in_dom} tiles in the DOM at once: the grid is not virtualized"
    # Back at the top, the first rows are drawn again.
    s.js("window.scrollTo(0, 0)")
    s.wait("the top drawn again", lambda: top_tiles_names(s, 1) == ["IMG_0001.HEIC"])
    # The type filter applies to browsing too.
    s.click("#type-filter option[value='heic']")
    s.wait("only the HEIC", lambda: top_tiles_names(s, 5) == ["IMG_0001.HEIC"])
    s.click("#type-filter option[value='']")
    s.wait("every type again", lambda: len(top_tiles_names(s, 5)) == 5)


def top_tiles_names(s: Session, n: int) -> list[str]:
    return s.js("return [...document.querySelectorAll('#grid .tile img')].slice(0, arguments[0]).map(i => i.alt)", n)


def test_duplicates_are_grouped_and_the_chosen_copy_goes_to_the_trash(app: Session, photos: Path, home: Path):
    """A copy put in the folder shows as an identical group in the Duplicates drawer; moving the
    other copy to the trash puts it in the real trash folder and leaves the original."""
    s = app
    original = next(p for p in sorted(photos.iterdir()) if p.suffix == ".png")
    copy = photos / "copy of photo.png"
    shutil.copy(original, copy)
    # Indexed by the folder watcher; then the drawer lists the pair, the original first.
    s.wait("the copy indexed", lambda: library_images(s) == 302, timeout=20)
    s.click("#duplicates-button")
    s.wait("the duplicate group", lambda: len(s.find_all("#duplicate-groups .duplicate-group")) >= 1, timeout=60)
    groups = s.js(
        "return [...document.querySelectorAll('#duplicate-groups .duplicate-group')].map(g => ({"
        " kind: g.dataset.kind, names: [...g.querySelectorAll('img')].map(i => i.alt) }))"
    )
    assert {"kind": "identical", "names": [original.name, copy.name]} in groups, groups
    s.screenshot(SHOTS / "11-duplicates.png")
    s.js("window.confirm = () => true")
    s.js(
        "const g = [...document.querySelectorAll('#duplicate-groups .duplicate-group')]"
        "  .find(g => [...g.querySelectorAll('img')].some(i => i.alt === arguments[0]));"
        "g.querySelector('.trash-others').click()",
        copy.name,
    )
    trashed = home / "data" / "Trash" / "files" / copy.name
    # The trash crate makes an empty placeholder in the trash before the rename: wait for both ends.
    s.wait("the copy moved to the trash", lambda: trashed.exists() and not copy.exists(), timeout=20)
    assert original.exists()
    assert trashed.read_bytes() == original.read_bytes()
    s.wait("the group gone", lambda: copy.name not in duplicate_names(s), timeout=20)
    s.click("#close-duplicates")


def app_status(s: Session) -> dict:
    return s.js_async(
        "const done = arguments[arguments.length - 1];"
        "window.__TAURI__.core.invoke('app_status').then(done).catch(e => done({error: e}));"
    )


def library_images(s: Session) -> int:
    return app_status(s)["library"]["images"]


def duplicate_names(s: Session) -> list[str]:
    return s.js("return [...document.querySelectorAll('#duplicate-groups img')].map(i => i.alt)")


def test_chosen_results_are_copied_to_a_folder_and_their_paths_copied(
    app: Session, photos: Path, tmp_path: Path, home: Path
):
    """Ctrl-click and Shift-click choose tiles, Space toggles, Esc clears; the bar copies the
    chosen paths, copies the photos into a folder (the desktop's picker), opens them in the
    desktop's default viewer, and they drag out into a file manager."""
    s = app
    # The previous test's trashing makes the folder watcher run once more: let it end first.
    s.wait("no run going", lambda: not app_status(s)["indexing"], timeout=60)
    search_for(s, "a red circle")
    tiles = top_tiles(s, 4)
    s.click_holding("#grid .tile[data-index='0']", "Control")
    s.click_holding("#grid .tile[data-index='2']", "Shift")
    s.wait("the action bar", lambda: s.text("#chosen-count") == "3 chosen")
    s.press("Space")  # the focused tile (the last clicked) leaves the choice
    s.wait("two chosen", lambda: s.text("#chosen-count") == "2 chosen")
    s.wait(
        "the chosen tiles' thumbnails",
        lambda: s.js(
            "return [...document.querySelectorAll('#grid .tile.chosen img')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        ),
        timeout=10,
    )
    s.screenshot(SHOTS / "12-chosen.png")
    # A run's refresh draws the same answer again: the choice stays.
    s.js("document.getElementById('rescan').click()")
    s.wait("the run's end", lambda: indexing_state(s) == "done", timeout=120)
    assert s.text("#chosen-count") == "2 chosen"
    assert len(s.find_all("#grid .tile.chosen")) == 2
    s.click("#copy-paths")
    copied = s.js("return document.getElementById('actions').dataset.copied").split("\n")
    # On the X clipboard itself, as another program pastes it (xclip, installed by setup.sh).
    clipboard = subprocess.run(
        ["xclip", "-o", "-selection", "clipboard"], capture_output=True, text=True, timeout=10, check=True
    ).stdout
    assert clipboard.split("\n") == copied, clipboard
    assert [Path(p).name for p in copied] == [tiles[0]["name"], tiles[1]["name"]], copied
    destination = tmp_path / "chosen"
    destination.mkdir()
    # Copy to folder…: the desktop's folder picker (GTK, a window of its own) answered by keys.
    before = visible_windows()
    s.click("#copy-to")
    answer_folder_picker(before, destination)
    s.wait(
        "the copy reported", lambda: "Copied 2 photos to" in s.js("return document.getElementById('toast').textContent")
    )
    copies = sorted(destination.iterdir())
    assert sorted(c.name for c in copies) == sorted([tiles[0]["name"], tiles[1]["name"]]), copies
    for c in copies:
        assert c.read_bytes() == (photos / c.name).read_bytes()
    # Copied again: nothing is overwritten, the new copies get free names.
    before = visible_windows()
    s.click("#copy-to")
    answer_folder_picker(before, destination)
    s.wait("four files", lambda: len(list(destination.iterdir())) == 4)
    assert {c.name for c in destination.iterdir()} >= {
        f"{Path(t['name']).stem} (2){Path(t['name']).suffix}" for t in tiles[:2]
    }
    # Dragged out with the real mouse into a real file manager (PCManFM, setup.sh): it copies them.
    dropped = tmp_path / "dropped"
    dropped.mkdir()
    drop_chosen_into_file_manager(s, dropped, tmp_path / "file-manager-home")
    s.wait("both photos dropped", lambda: len(list(dropped.iterdir())) == 2, timeout=20)
    for t in tiles[:2]:
        assert (dropped / t["name"]).read_bytes() == (photos / t["name"]).read_bytes()
        assert (photos / t["name"]).exists(), "a drop must copy, never move"
    # Open: each in the desktop's default viewer for its type. A viewer registered for PNG under
    # the app's XDG folders (as a desktop would have one) writes down what it was asked to open.
    opened = tmp_path / "opened.txt"
    register_default_viewer(home, "image/png", opened)
    s.click("#open-chosen")
    s.wait("both opened", lambda: opened.is_file() and len(opened.read_text().splitlines()) == 2, timeout=20)
    assert sorted(opened.read_text().splitlines()) == sorted(str(photos / t["name"]) for t in tiles[:2])
    s.press("Escape")
    s.wait("the choice cleared", lambda: s.js("return document.getElementById('actions').hidden"))


def visible_windows() -> set[str]:
    found = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", ""], capture_output=True, text=True, timeout=10
    )
    return set(found.stdout.split())


def answer_folder_picker(before: set[str], folder: Path) -> None:
    """Choose `folder` in the folder picker opened since `before`, by keys as a person can: "/"
    opens the location bar (and leaves "Recent", where a typed path is not taken), the path, Tab
    to take the completion, Enter. xdotool (setup.sh) sends real key events to the X server."""
    deadline = time.monotonic() + 30
    picker = new_window("Select Folder", before, deadline)
    time.sleep(1)
    subprocess.run(["xdotool", "windowfocus", "--sync", picker], check=True, timeout=10)
    for step in (
        ["type", "/"],
        ["key", "ctrl+a"],
        ["type", "--delay", "20", str(folder)],
        ["key", "Tab"],
        ["key", "Return"],
    ):
        subprocess.run(["xdotool", *step], check=True, timeout=30)
        time.sleep(0.7)
    while picker in visible_windows():
        if time.monotonic() > deadline:
            subprocess.run(["xdotool", "key", "Escape"], timeout=10)
            raise AssertionError("the folder picker did not take the folder")
        time.sleep(0.2)


def new_window(title: str, before: set[str], deadline: float) -> str:
    """A visible window named exactly `title` that was not there `before` (GTK maps helper
    windows too, and a closing dialog may linger a moment: only the named one will do)."""
    while True:
        found = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"], capture_output=True, text=True, timeout=10
        )
        new = [w for w in found.stdout.split() if w not in before]
        if new:
            return new[-1]
        assert time.monotonic() < deadline, f"no window {title!r} appeared"
        time.sleep(0.2)


def drop_chosen_into_file_manager(s: Session, folder: Path, home: Path) -> None:
    """Open PCManFM on `folder` beside the app, then press the mouse on a chosen tile, move it
    into the file manager's window and release it: an X drag and drop between two programs."""
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config")}
    before = visible_windows()
    manager = subprocess.Popen(
        ["pcmanfm", "--new-win", str(folder)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        window = new_window(folder.name, before, time.monotonic() + 20)
        subprocess.run(["xdotool", "windowmove", "--sync", window, "640", "520"], check=True, timeout=10)
        time.sleep(1)
        app_window = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", "^ClipStream$"], capture_output=True, text=True, timeout=10
        ).stdout.split()[0]
        where = subprocess.run(
            ["xdotool", "getwindowgeometry", "--shell", app_window], capture_output=True, text=True, timeout=10
        ).stdout
        origin = dict(line.split("=") for line in where.split())
        x, y = s.js(
            "const r = document.querySelector('#grid .tile.chosen').getBoundingClientRect();"
            "return [r.left + r.width / 2, r.top + r.height / 2]"
        )
        start = (int(origin["X"]) + int(x), int(origin["Y"]) + int(y))
        end = (640 + 400, 520 + 300)  # inside the file manager's list of files
        mouse = ["xdotool", "mousemove", *map(str, start)]
        subprocess.run(mouse, check=True, timeout=10)
        time.sleep(0.3)
        subprocess.run(["xdotool", "mousedown", "1"], check=True, timeout=10)
        for k in range(1, 21):
            step = [start[i] + (end[i] - start[i]) * k // 20 for i in (0, 1)]
            subprocess.run(["xdotool", "mousemove", *map(str, step)], check=True, timeout=10)
            time.sleep(0.05)
        time.sleep(0.5)
        subprocess.run(["xdotool", "mouseup", "1"], check=True, timeout=10)
        deadline = time.monotonic() + 20
        while len(list(folder.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        manager.kill()  # PCManFM may sit out a SIGTERM; nothing of it is kept
        manager.wait(timeout=10)


def register_default_viewer(home: Path, mime: str, log: Path) -> None:
    """A desktop entry in the app's XDG_DATA_HOME, made the default for `mime` in its
    XDG_CONFIG_HOME: what the desktop's opener (gio or xdg-open) launches for such a file."""
    viewer = home / "viewer.sh"
    viewer.write_text(f'#!/bin/sh\nfor f in "$@"; do printf "%s\\n" "$f" >> "{log}"; done\n')
    viewer.chmod(0o755)
    applications = home / "data" / "applications"
    applications.mkdir(parents=True, exist_ok=True)
    (applications / "test-viewer.desktop").write_text(
        f"[Desktop Entry]\nType=Application\nName=Test viewer\nExec={viewer} %F\nMimeType={mime};\n"
    )
    (home / "config" / "mimeapps.list").write_text(f"[Default Applications]\n{mime}=test-viewer.desktop\n")


def test_a_folder_whose_drive_goes_keeps_its_photos_offline(app: Session, photos: Path):
    """The folder goes away (a drive unplugged with its mount point): the app notices by itself,
    says so in the Folders drawer, and its photos stay found, marked offline, with their
    thumbnails; back, they are online again."""
    s = app
    away = photos.with_name(photos.name + " (unplugged)")
    photos.rename(away)
    try:
        s.click("#folders-button")
        s.wait(
            "the folder offline",
            lambda: "offline" in s.text("#folder-list") and "photos are kept" in s.text("#folder-list"),
            timeout=60,
        )
        s.screenshot(SHOTS / "offline-folders.png")
        s.click("#close-folders")
        s.wait("the run that marks it to end", lambda: not app_status(s)["indexing"], timeout=60)
        search_for(s, "a red circle")
        answer_complete(s)
        marked = s.js(
            "return [...document.querySelectorAll('#grid .tile')].slice(0, 9)"
            ".map(t => !!t.querySelector('.offline-mark'))"
        )
        assert len(marked) == 9 and all(marked), marked
        assert s.wait(
            "offline thumbnails to load",
            lambda: s.js(
                "return [...document.querySelectorAll('#grid .tile img')].slice(0, 9)"
                ".every(i => i.complete && i.naturalWidth > 0)"
            ),
        )
        s.click("#grid .tile")
        s.wait("the preview", lambda: s.js("return document.getElementById('preview').open"))
        assert s.js("return !document.getElementById('preview-offline').hidden")
        assert s.js("return document.getElementById('open-button').disabled")
        s.wait(
            "the thumbnail standing in",
            lambda: s.js("const i = document.getElementById('preview-img'); return i.complete && i.naturalWidth > 0"),
        )
        s.screenshot(SHOTS / "offline-preview.png")
        s.press("Escape")
    finally:
        away.rename(photos)
    s.click("#folders-button")
    s.wait("the folder online again", lambda: "offline" not in s.text("#folder-list"), timeout=60)
    s.click("#close-folders")
    s.wait("the run that reconciles it to end", lambda: not app_status(s)["indexing"], timeout=60)
    search_for(s, "a red circle")
    answer_complete(s)
    assert not s.js("return !!document.querySelector('#grid .tile .offline-mark')")


def test_the_demo_offers_the_real_model(app: Session, photos: Path):
    """The demo's banner leads to the first start's offer: get the real CLIP, or import a folder.
    The offer stays while the library changes behind it (a run, the words read after it)."""
    s = app
    s.wait("the demo banner", lambda: s.js("return !!document.getElementById('how-real')"))
    s.click("#how-real")
    s.wait("the offer", lambda: empty_kind(s) == "model-help" and "MB, from" in s.text("#get-model"))
    assert s.text("#get-model") == "Get the CLIP model (606 MB, from huggingface.co/openai/clip-vit-base-patch32)"
    assert s.text("#import-model") == "Import a downloaded model folder…"
    s.screenshot(SHOTS / "demo-model-offer.png")
    before = library_images(s)
    added = photos / "added-while-reading-the-offer.png"
    shutil.copy(ROOT / "tests" / "fixtures" / "words" / "wifi-and-chinese.png", added)
    try:
        s.wait("the photo indexed behind the offer", lambda: library_images(s) == before + 1, timeout=60)
        s.wait("its words read", lambda: not app_status(s)["reading_words"], timeout=60)
        s.wait("the window told", lambda: indexing_state(s) == "done", timeout=60)
        assert empty_kind(s) == "model-help", "the offer was replaced while it was being read"
    finally:
        added.unlink()
        s.wait("the photo gone again", lambda: library_images(s) == before, timeout=60)
    s.click("#back-to-demo")
    s.wait("back to the demo", lambda: empty_kind(s) != "model-help")
