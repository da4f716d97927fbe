"""The desktop app measured as a person uses it: the release app in the real webview (Xvfb,
tauri-driver, WebKitWebDriver), over the benchmark's synthetic library. Run by scripts/bench.sh
(`make bench`); not a test: nothing fails on a time.

    python scripts/bench_app.py --app target/release/clipstream-app --model M --library L --json F

Browsing the whole library with an empty query is measured as scrolling: animation frames (the
webview's main thread: the grid's drawing, layout and the IPC of each page) while flinging from
the newest photo to the oldest, then while reading back up at a steady pace, then jumps to
random places until the thumbnails there are painted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from webdriver import Session, launched  # noqa: E402

THUMBNAIL_VARIANTS = 64

# Started in the page, polled from here (a WebDriver call may not last minutes): scroll by
# `speed` px each animation frame until the library's end (or `limit` frames); every frame's
# interval, the most tiles the DOM held, frames spent waiting at the end of what was fetched.
SCROLL = """
const [speed, limit] = arguments;
window.benchScroll = null;
const done = (result) => { window.benchScroll = result; };
const grid = document.getElementById('grid');
const frames = [];
let mostTiles = 0, waits = 0, last = null, n = 0;
const start = performance.now(), firstY = scrollY;
function step(t) {
  if (last !== null) frames.push(t - last);
  last = t;
  mostTiles = Math.max(mostTiles, grid.getElementsByClassName('tile').length);
  const bottom = scrollY + innerHeight >= document.documentElement.scrollHeight - 2;
  const atEnd = speed > 0 ? bottom && grid.dataset.complete === 'true' : speed < 0 && scrollY <= 0;
  if (atEnd || ++n > limit) {
    done({frames, mostTiles, waits, seconds: (t - start) / 1000, loaded: Number(grid.dataset.count),
          atEnd, pixels: Math.abs(scrollY - firstY)});
    return;
  }
  if (speed > 0 && bottom) waits++;
  scrollBy(0, speed);
  requestAnimationFrame(step);
}
requestAnimationFrame(step);
"""

# Jump to `y`, then wait until every tile on screen shows its thumbnail; ms taken.
JUMP = """
const [y, done] = arguments;
const start = performance.now();
scrollTo(0, y);
function painted() {
  const tiles = [...document.querySelectorAll('#grid .tile img')].filter((img) => {
    const r = img.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight;
  });
  return tiles.length > 0 && tiles.every((img) => img.complete && img.naturalWidth > 0);
}
function check() {
  if (painted()) done({ms: performance.now() - start});
  else if (performance.now() - start > 10000) done({ms: null});
  else requestAnimationFrame(check);
}
requestAnimationFrame(check);
"""


# Installed before typing: every input event's time, and when the grid first showed that exact
# query's answer with its first row of thumbnails loaded (checked each animation frame).
WATCH_TYPING = """
const q = document.getElementById('query');
const grid = document.getElementById('grid');
window.benchTyping = [];
// Each search the page sends, with when it was sent and answered (the breakdown of a keystroke).
// Tauri's invoke is frozen; on Linux it posts each command with fetch to ipc://localhost/<command>.
if (!window.benchSearches) {
  window.benchSearches = [];
  const fetched = window.fetch;
  window.fetch = (url, init) => {
    const answer = fetched(url, init);
    if (!String(url).endsWith('/search')) return answer;
    const call = {value: String(JSON.parse(init.body).query).trim(), sent: performance.now(), answered: null};
    window.benchSearches.push(call);
    return answer.finally(() => { call.answered = performance.now(); });
  };
}
const empty = document.getElementById('empty');
const painted = (v) => {
  const label = '\u201c' + v + '\u201d';
  // An answer with nothing above the relevance cutoff is painted too (its empty state).
  const nothing = !empty.hidden && empty.dataset.kind === 'nothing-found' && empty.textContent.includes(label);
  if (nothing) return 'nothing above the cutoff';
  if (grid.dataset.query !== label || !empty.hidden) return null;
  const row = grid.querySelector('.row');
  const loaded = row != null && [...row.querySelectorAll('img')].every((img) => img.complete && img.naturalWidth > 0);
  return loaded ? 'tiles' : null;
};
function check() {
  const now = performance.now();
  for (const e of window.benchTyping) {
    const shown = e.painted == null && painted(e.value);
    if (shown) {
      e.painted = now - e.at;
      e.shown = shown;
      // The first search for this text after the key (a later one may be the rest of its answer).
      const call = window.benchSearches.find((c) => c.value === e.value && c.sent >= e.at && c.answered != null);
      if (call) { e.sent = call.sent - e.at; e.answered = call.answered - e.at; }
    }
  }
  requestAnimationFrame(check);
}
q.addEventListener('input', (e) => window.benchTyping.push({value: q.value.trim(), at: e.timeStamp, painted: null}));
requestAnimationFrame(check);
"""

LAST_KEY_PAINTED = "const e = window.benchTyping; return e.length > 0 && e[e.length - 1].painted != null"
# Whether the app still opens its library and text model (the app's own status).
LOADING = "return window.__TAURI__.core.invoke('app_status').then((s) => s.loading)"

QUERIES = [
    "dog on a beach at sunset",
    "a red car in the snow",
    "birthday cake with candles",
    "mountains reflected in a lake",
    "two cats sleeping on a sofa",
    "city street at night in the rain",
    "a bowl of ramen",
    "kids playing football in a park",
]


def type_like_a_person(s: Session, text: str, rng: random.Random) -> None:
    """The text key by key, 80–150 ms apart, as one WebDriver action sequence."""
    actions = []
    for ch in text:
        actions += [{"type": "keyDown", "value": ch}, {"type": "keyUp", "value": ch}]
        actions.append({"type": "pause", "duration": rng.randint(80, 150)})
    s.cmd("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})


def typing(s: Session) -> dict:
    """Keystroke to painted results over QUERIES typed at human speed; each query's last
    keystroke separately (the one whose answer stays on screen)."""
    rng = random.Random(5)
    s.js(WATCH_TYPING)
    painted: list[float] = []
    last_keys: list[float] = []
    keystrokes = 0
    shown: list[str] = []
    split: list[dict] = []  # keystrokes painted by their own search, with its times
    for query in QUERIES:
        s.js("const q = document.getElementById('query'); q.value = ''; q.focus(); window.benchTyping.length = 0;")
        type_like_a_person(s, query, rng)
        s.wait(
            "the answer painted",
            lambda: s.js(LAST_KEY_PAINTED),
            timeout=30,
        )
        events = s.js("return window.benchTyping")
        keystrokes += len(events)
        last_keys.append(events[-1]["painted"])
        painted += [e["painted"] for e in events if e["painted"] is not None]
        split += [e for e in events if e.get("answered") is not None]
        shown.append(events[-1]["shown"])
    return {
        "queries": len(QUERIES),
        "keystrokes": keystrokes,
        "keystrokes_whose_answer_was_painted": len(painted),
        "painted_ms_p50": round(percentile(painted, 50), 1),
        "painted_ms_p95": round(percentile(painted, 95), 1),
        "last_keystroke_ms_p50": round(percentile(last_keys, 50), 1),
        "last_keystroke_ms_max": round(max(last_keys), 1),
        "final_answers_shown_as": {kind: shown.count(kind) for kind in set(shown)},
        "breakdown_ms_p50": {
            "keystrokes": len(split),
            "input_to_sent": round(percentile([e["sent"] for e in split], 50), 1),
            "sent_to_answered": round(percentile([e["answered"] - e["sent"] for e in split], 50), 1),
            "answered_to_painted": round(percentile([e["painted"] - e["answered"] for e in split], 50), 1),
            "method": "a search sent after its keystroke's input event (waiting for the one on its way),"
            " its round trip through IPC and the core (encode, search, rows), then the page's update,"
            " the first row's thumbnails and the frame that shows them",
        },
        "method": "input event to the first row's thumbnails loaded for that exact text (animation frames);"
        " a keystroke overtaken by the next one before its answer came is never painted, by design",
    }


class Launch:
    """Milliseconds since the request that starts the app, by phase."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.started_epoch_ms = time.time() * 1000
        self.phases: dict[str, int] = {}

    def mark(self, phase: str) -> int:
        self.phases[phase] = round((time.monotonic() - self.started) * 1000)
        return self.phases[phase]


def drop_page_cache() -> None:
    """Empty the kernel's page cache (root only): the next launch reads every file from disk."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def launch_to_first_result(
    args,
    library: Path,
    runs: int,
    with_index: bool = True,
    cold: bool = False,
    env: dict | None = None,
    restore_each: bool = True,
) -> dict:
    """Process start (the WebDriver session's request, which starts the app) to the first row of
    a typed query's answer painted; warm disk caches (the library was just read), or `cold` (the
    page cache dropped just before). Without the vector index, the app searches exactly while it
    builds the index: how long that takes too."""
    if cold and not os.access("/proc/sys/vm/drop_caches", os.W_OK):
        return {"skipped": "a cold launch needs root, to drop the page cache"}
    times = []
    failures = []
    built_s = []
    phases: list[dict] = []
    for run in range(runs):
        if restore_each:
            restore_catalog(args.library, library, with_index)
        if cold:
            drop_page_cache()
        launch = Launch()
        with app_session(args, library, env or {}) as (s, _home):
            launch.mark("session")
            s.wait("the search box", lambda: s.js("return document.getElementById('query') != null"), timeout=60)
            launch.mark("search_box")
            # When the page began to load, on the same wall clock as the launch.
            launch.phases["page_load_began"] = round(s.js("return performance.timeOrigin") - launch.started_epoch_ms)
            s.js(WATCH_TYPING)
            s.type("#query", QUERIES[0])
            launch.mark("typed")

            def painted(launch: Launch = launch, s: Session = s) -> bool:
                if "library_and_model_ready" not in launch.phases and not s.js(LOADING):
                    launch.mark("library_and_model_ready")
                return s.js(LAST_KEY_PAINTED)

            try:
                s.wait("the answer painted", painted, timeout=60, every=0.02)
                times.append(launch.mark("painted"))
                # The first answer's own search, from the page's clock (0 = page_load_began).
                last = s.js("return window.benchTyping[window.benchTyping.length - 1]")
                if last.get("answered") is not None:
                    for part in ("sent", "answered"):
                        at = launch.phases["page_load_began"] + last["at"] + last[part]
                        launch.phases[f"search_{part}"] = round(at)
                phases.append(launch.phases)
                if not with_index:
                    s.wait(
                        "the vector index built and saved",
                        lambda: (library / "vectors.usearch.json").is_file(),
                        timeout=600,
                        every=0.5,
                    )
                    built_s.append(round(launch.mark("index_saved") / 1000, 1))
            except AssertionError as e:
                shot = ROOT / "target" / "bench" / f"app-launch-failure-{run}.png"
                s.screenshot(shot)
                failures.append(f"{e} (screenshot {shot})")
    return {
        "runs": runs,
        "median_ms": round(statistics.median(times)) if times else None,
        "max_ms": round(max(times)) if times else None,
        "failures": failures,
        "phases_ms": phases,
        "method": "includes starting WebKitWebDriver and the WebDriver session (a launch without it is faster);"
        " phases_ms: ms after the request that starts the app, per run: the WebDriver session up, the page"
        " beginning to load, the search box in the DOM, the query typed, the app's library and text model"
        " ready (polled every 20 ms), the search for the typed text sent and answered, the answer painted",
    } | ({} if with_index else {"index_built_and_saved_s": built_s})


def launch_large(args) -> dict:
    """Launch to first result on the larger library (warm: its catalog was just copied in)."""
    if args.large_library is None:
        return {"skipped": "no --large-library"}
    with sqlite3.connect(args.large_library / "catalog.sqlite") as db:
        photos = db.execute("SELECT count(*) FROM images").fetchone()[0]
    work = app_library(args.large_library, args.large_library.with_name(args.large_library.name + "-app"))
    large = argparse.Namespace(**{**vars(args), "library": args.large_library})
    # Copied in once, and written back to disk before the first launch: a launch right after
    # copying 5.5 GB (1M) waits on that writeback (7.2-9.3 s measured, against ~4 s settled).
    # Its folders are unreachable, so a launch changes nothing in it.
    restore_catalog(args.large_library, work)
    os.sync()
    return {"photos": photos, "settled": True} | launch_to_first_result(large, work, 3, restore_each=False)


def scroll(s: Session, speed: int, limit: int) -> dict:
    s.js(SCROLL, speed, limit)
    return s.wait("the scroll to end", lambda: s.js("return window.benchScroll"), timeout=1800, every=1)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def frame_summary(run: dict) -> dict:
    frames = run["frames"]
    return {
        "frames": len(frames),
        "seconds": round(run["seconds"], 1),
        "frame_ms_p50": round(percentile(frames, 50), 1),
        "frame_ms_p95": round(percentile(frames, 95), 1),
        "frame_ms_p99": round(percentile(frames, 99), 1),
        "frame_ms_max": round(max(frames), 1),
        "frames_over_33ms": sum(f > 33.4 for f in frames),
        "frames_over_50ms": sum(f > 50 for f in frames),
        "px_per_s": round(run["pixels"] / run["seconds"]),
        "most_tiles_in_dom": run["mostTiles"],
        "photos_loaded": run["loaded"],
        "frames_waiting_for_a_page": run["waits"],
        "reached_the_end": run["atEnd"],
    }


def restore_catalog(source: Path, work: Path, with_index: bool = True) -> None:
    """The catalog and its vector index as the benchmark made them (or the catalog alone). Each
    launch starts from them: an app closed by WebDriver in the middle of its start-up run leaves
    the index stale, and the next launch would build it again."""
    for name in ("catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"):
        (work / name).unlink(missing_ok=True)
    with sqlite3.connect(source / "catalog.sqlite") as src, sqlite3.connect(work / "catalog.sqlite") as dst:
        src.backup(dst)
    for name in ("vectors.usearch", "vectors.usearch.json"):
        (work / name).unlink(missing_ok=True)
        if with_index:
            shutil.copy2(source / name, work / name)


def app_library(source: Path, work: Path) -> Path:
    """A library folder beside the benchmark's with a thumbnail for every photo (the synthetic
    photos have none): 64 distinct JPEGs hard-linked under every hash, so each tile is decoded as
    a real one. Made once, reused while the source's catalog is unchanged; the catalog and index
    are put in before each launch (`restore_catalog`)."""
    stamp = work / "made-from"
    source_id = f"{(source / 'catalog.sqlite').stat().st_mtime_ns}"
    if stamp.is_file() and stamp.read_text() == source_id:
        return work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    from PIL import Image, ImageDraw

    variants = []
    rng = random.Random(7)
    for k in range(THUMBNAIL_VARIANTS):
        image = Image.new("RGB", (320, 240), tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(image)
        for _ in range(12):
            x, y = rng.randrange(320), rng.randrange(240)
            draw.ellipse(
                (x, y, x + rng.randrange(20, 120), y + rng.randrange(20, 120)),
                fill=tuple(rng.randrange(256) for _ in range(3)),
            )
        path = work / f"variant-{k}.jpg"
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80)
        path.write_bytes(buffer.getvalue())
        variants.append(path)
    with sqlite3.connect(source / "catalog.sqlite") as db:
        hashes = [row[0] for row in db.execute("SELECT hash FROM images ORDER BY id")]
    for i, digest in enumerate(hashes):
        hexed = digest.hex()
        target = work / "thumbnails" / hexed[:2] / f"{hexed}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(variants[i % THUMBNAIL_VARIANTS], target)
    stamp.write_text(source_id)
    return work


def processes(pid_names: tuple[str, ...]):
    """Each running process whose name starts with one of `pid_names`: its /proc folder, its name."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            name = (proc / "comm").read_text().strip()
        except OSError:
            continue  # gone meanwhile
        if name.startswith(pid_names):
            yield proc, name


def rss_mb(pid_names: tuple[str, ...], field: str = "VmRSS") -> dict:
    """Resident memory of each process whose name starts with one of `pid_names`, in MB: all of
    it (VmRSS), or its anonymous part (RssAnon) or file pages (RssFile: a memory-mapped file's
    pages are the page cache's, shared, dropped under pressure)."""
    found: dict[str, float] = {}
    for proc, name in processes(pid_names):
        try:
            for line in (proc / "status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    found[name] = found.get(name, 0) + int(line.split()[1]) / 1024
        except OSError:
            continue
    return {k: round(v) for k, v in found.items()}


def cpu_flags() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16")
            return " ".join(f for f in line.split(":", 1)[1].split() if f in wanted)
    return ""


# The user's cache folder, kept across the launches of one benchmark run as a person's is across
# theirs: it holds the SHA-256 of the model files the app verified (once per install; a launch that
# verifies them again pays ~0.4-0.8 s of hashing here) and WebKit's caches.
USER_CACHE = ROOT / "target" / "bench" / "app-user-cache"


@contextlib.contextmanager
def app_session(args, library: Path, extra_env: dict):
    """The release app on `library` under a scratch HOME (the user's cache kept), as a WebDriver
    session."""
    home = Path(tempfile.mkdtemp(prefix="clipstream-bench-app-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLIPSTREAM_", "WEBKIT_"))}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(USER_CACHE),
        CLIPSTREAM_LIBRARY=str(library),
        CLIPSTREAM_MODEL=str(args.model.resolve()),
        **extra_env,
    )
    driver = Path(os.environ["TAURI_DRIVER"])
    try:
        with launched(args.app.resolve(), driver, env, ROOT / "target" / "bench" / "app-tauri-driver.log") as s:
            yield s, home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def measure(args, library: Path, extra_env: dict, fling_frames: int) -> dict:
    """One launch of the app on `library`: browse, fling, read back up, jump, type, memory."""
    result: dict = {"env": extra_env}
    restore_catalog(args.library, library)
    with app_session(args, library, extra_env) as (s, _home):
        s.wait(
            "the library browsed",
            lambda: s.js(
                "const g = document.getElementById('grid');"
                "return g.dataset.browse === 'true' && g.getElementsByClassName('tile').length > 0"
            ),
            timeout=120,
        )
        result["window"] = s.js("return [innerWidth, innerHeight]")
        # The startup run finds the synthetic folder unreachable and keeps its photos; let it end.
        time.sleep(3)
        result["idle"] = frame_summary(scroll(s, 0, 120))
        result["fling"] = frame_summary(scroll(s, args.fling, fling_frames))
        result["reading_back_up"] = frame_summary(scroll(s, -24, 600))
        result["rss_mb_after_browsing"] = rss_mb(("clipstream-app", "WebKitWebProces", "WebKitNetworkPr"))
        height = s.js("return document.documentElement.scrollHeight")
        rng = random.Random(11)
        jumps = [s.js_async(JUMP, rng.randrange(0, height))["ms"] for _ in range(args.jumps)]
        painted = [j for j in jumps if j is not None]
        result["jump_until_thumbnails_painted_ms"] = {
            "jumps": len(jumps),
            "p50": round(statistics.median(painted), 1) if painted else None,
            "max": round(max(painted), 1) if painted else None,
            "not_painted_in_10_s": len(jumps) - len(painted),
        }
        result["typing"] = typing(s)
        time.sleep(5)
        result["rss_mb_idle_after_search"] = rss_mb(("clipstream-app", "WebKitWebProces", "WebKitNetworkPr"))
        result["app_rss_mb_idle_after_search_split"] = {
            "anon": rss_mb(("clipstream-app",), "RssAnon").get("clipstream-app"),
            "file": rss_mb(("clipstream-app",), "RssFile").get("clipstream-app"),
            "by_mapping": resident_by_mapping("clipstream-app"),
        }
    return result


def resident_by_mapping(name: str, top: int = 12) -> dict:
    """Where a process's resident memory is, in MB: each mapped file (libraries, the vector
    index), the heap and the other anonymous mappings (ONNX Runtime's weights and buffers are
    there), largest first; from /proc/PID/smaps."""
    proc = next(proc for proc, comm in processes((name,)) if comm == name)
    sizes: dict[str, int] = {}
    mapping = ""
    for line in (proc / "smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and ":" not in fields[0]:  # a mapping's header: range perms offset dev inode [path]
            mapping = fields[5] if len(fields) > 5 else "anonymous"
            if mapping.startswith("/"):
                mapping = Path(mapping).name
        elif fields[0] == "Rss:":
            sizes[mapping] = sizes.get(mapping, 0) + int(fields[1])
    largest = sorted(sizes.items(), key=lambda kv: -kv[1])
    shown = {k: round(v / 1024, 1) for k, v in largest[:top]}
    shown["everything else"] = round(sum(v for _, v in largest[top:]) / 1024, 1)
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--library", type=Path, required=True, help="the benchmark's synthetic library")
    parser.add_argument(
        "--large-library", type=Path, help="a larger synthetic library (1M photos) for the launch_large part"
    )
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--fling", type=int, default=480, help="px per frame while flinging to the end")
    parser.add_argument("--fling-frames", type=int, default=1_000_000, help="stop the fling after this many frames")
    parser.add_argument("--jumps", type=int, default=20)
    parser.add_argument(
        "--parts",
        default="software_painting,composited_software_gl,launch_to_first_result,launch_cold,launch_large",
        help="which parts to run (comma-separated); the others keep their figures in --json",
    )
    args = parser.parse_args()

    library = app_library(args.library, args.library.with_name(args.library.name + "-app"))
    with sqlite3.connect(args.library / "catalog.sqlite") as db:
        photos = db.execute("SELECT count(*) FROM images").fetchone()[0]
    result: dict = {"machine": cpu_flags(), "photos": photos, "app": str(args.app)}
    # WebKitGTK composites with OpenGL by default; without a GPU (Xvfb here, many VMs) that is
    # Mesa's software GL, which makes every scrolled frame slow whatever the page holds. Both ways
    # are measured: the full fling in plain software painting, a shorter one composited.
    args.json.parent.mkdir(parents=True, exist_ok=True)
    parts = {
        "software_painting": lambda: measure(
            args, library, {"WEBKIT_DISABLE_COMPOSITING_MODE": "1"}, args.fling_frames
        ),
        "composited_software_gl": lambda: measure(args, library, {}, min(args.fling_frames, 600)),
        "launch_to_first_result": lambda: launch_to_first_result(args, library, 3),
        "launch_without_vector_index": lambda: launch_to_first_result(args, library, 1, with_index=False),
        "launch_cold": lambda: launch_to_first_result(args, library, 3, cold=True),
        "launch_large": lambda: launch_large(args),
        "launch_software_painting": lambda: launch_to_first_result(
            args, library, 3, env={"WEBKIT_DISABLE_COMPOSITING_MODE": "1"}
        ),
    }
    # The first launch after installing verifies the model files; it is not one of the measured.
    shutil.rmtree(USER_CACHE, ignore_errors=True)
    USER_CACHE.mkdir(parents=True)
    restore_catalog(args.library, library)
    with app_session(args, library, {}) as (s, _home):
        s.wait("the search box", lambda: s.js("return document.getElementById('query') != null"), timeout=60)
        s.wait("the model verified and loaded", lambda: not s.js(LOADING), timeout=120, every=0.1)
    result["model_verified_at_first_launch"] = True
    wanted = args.parts.split(",")
    if set(wanted) != set(parts) and args.json.is_file():
        result = json.loads(args.json.read_text()) | result
    for name in wanted:
        result[name] = parts[name]()
        args.json.write_text(json.dumps(result, indent=2) + "\n")  # what is measured is kept
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
