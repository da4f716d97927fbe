"""Getting the real model from inside the app, in the real webview: "Get the CLIP model" against a
Hugging Face Hub on 127.0.0.1 (progress, Cancel, resume), "Import a downloaded model folder…"
through the desktop's folder picker, and the app started again on the model it got.

The checkpoint served and imported is the test model's own (models/tiny-clip, recovered by
`towers.save_clip_from_export`), so the app that starts on it really searches.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .test_app import (
    ROOT,
    SHAPES,
    SHOTS,
    answer_folder_picker,
    app_status,
    empty_kind,
    required_path,
    search_for,
    top_tiles_names,
    visible_windows,
)
from .webdriver import Session, launched

sys.path.insert(0, str(ROOT / "models"))
from clipstream_models import fakehub, tiny, towers

REPO = "openai/clip-vit-base-patch32"  # what the app's button gets


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("checkpoint") / "clip-vit-base-patch32"
    return towers.save_clip_from_export(ROOT / "models" / "tiny-clip", tiny.tiny_config(), tiny.processor(), out)


@pytest.fixture(scope="module")
def hub(checkpoint):
    with fakehub.serving(checkpoint, REPO) as hub:
        yield hub


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("home")
    for d in ("data", "config", "cache"):
        (home / d).mkdir()
    return home


def app_env(home: Path, hub) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPSTREAM_")}
    env.update(
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        ORT_DYLIB_PATH=str(required_path("ORT_DYLIB_PATH")),
        CLIPSTREAM_DEMO_MODEL=str(home / "no-demo-model"),  # neither model: the first-start screen
        HF_ENDPOINT=hub.url,
    )
    return env


def result_text(s: Session) -> str:
    return s.js("const r = document.getElementById('model-result'); return r && !r.hidden ? r.textContent : ''")


def test_the_app_gets_the_model_with_cancel_and_resume_imports_a_folder_and_starts_on_it(home, hub, checkpoint):
    model_dir = home / "data" / "clipstream" / "model"
    env = app_env(home, hub)
    with launched(required_path("CLIPSTREAM_APP"), required_path("TAURI_DRIVER"), env, SHOTS / "model-setup.log") as s:
        s.wait("the no-model screen", lambda: empty_kind(s) == "no-model")
        s.wait("the offer", lambda: "606 MB" in s.text("#get-model"))
        host = hub.url.removeprefix("http://")
        assert s.text("#get-model") == f"Get the CLIP model (606 MB, from {host}/{REPO})"
        assert hub.seen == [], "showing the offer makes no request"
        SHOTS.mkdir(parents=True, exist_ok=True)
        s.screenshot(SHOTS / "model-offer.png")

        # Cancel mid-download: the part is kept, and the next press resumes it with a Range request.
        hub.slow = 0.05
        s.click("#get-model")
        s.wait("download progress", lambda: "Downloading" in s.text("#model-step"))
        s.screenshot(SHOTS / "model-downloading.png")
        s.click("#cancel-model")
        s.wait("the stop", lambda: "Stopped" in result_text(s), timeout=30)
        assert not model_dir.exists()
        parts = list((home / "cache").rglob("model.safetensors.part"))
        assert len(parts) == 1 and parts[0].stat().st_size > 0
        hub.slow = 0.0
        s.click("#get-model")
        s.wait("the model ready", lambda: "is ready" in result_text(s), timeout=120)
        assert any(r and r.startswith("bytes=") and r != "bytes=0-" for r in hub.ranges), hub.ranges
        s.screenshot(SHOTS / "model-ready.png")
        manifest = json.loads((model_dir / "manifest.json").read_text())
        assert manifest["source"] == {
            "hub": hub.url,
            "repository": REPO,
            "revision": "main",
            "commit": fakehub.COMMIT,
        }
        assert not any((home / "cache").rglob("*.safetensors*")), "the download is removed once imported"

        # Import a folder through the desktop's picker: it replaces the model (no "source" now).
        before = visible_windows()
        s.click("#import-model")
        answer_folder_picker(before, checkpoint)
        s.wait("the imported model ready", lambda: "is ready" in result_text(s), timeout=120)
        manifest = json.loads((model_dir / "manifest.json").read_text())
        assert "source" not in manifest and manifest["model_id"] == "clip-vit-base-patch32"
        assert s.js("return !!document.getElementById('switch-model')")

    # The user's library was indexed earlier with another model (the CLI and the committed test
    # model, whose id differs): 8 red circles among 100 other shapes.
    labels = json.loads((SHAPES / "labels.json").read_text())
    circles = [n for n, x in sorted(labels.items()) if (x["shape"], x["colour"]) == ("circle", "red")][:8]
    others = [n for n, x in sorted(labels.items()) if x["shape"] != "circle"][::9][:100]
    photos = home / "photos"
    photos.mkdir()
    for name in circles + others:
        shutil.copy(SHAPES / name, photos / name)
    cli = required_path("CLIPSTREAM_APP").with_name("clipstream")
    indexed = subprocess.run(
        [str(cli), "--model", str(ROOT / "models" / "tiny-clip"), "index", str(photos)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert indexed.returncode == 0, indexed.stderr

    # "Switch to it" restarts the app, which then finds the model: started again, it runs on it,
    # offers to re-index the library made with the other model, and then searches with the new one.
    with launched(required_path("CLIPSTREAM_APP"), required_path("TAURI_DRIVER"), env, SHOTS / "model-real.log") as s:
        s.wait("the re-index offer", lambda: empty_kind(s) == "model-mismatch")
        status = app_status(s)
        assert status["mode"] == "real" and status["model_dir"] == str(model_dir), status
        s.screenshot(SHOTS / "model-reindex-offer.png")
        s.click("#reindex")
        s.wait("the library on the new model", lambda: (app_status(s) or {}).get("model_id") == "clip-vit-base-patch32")
        s.wait("re-indexed", lambda: not app_status(s)["indexing"] and app_status(s)["library"]["images"] == 108)
        search_for(s, "a red circle")
        top = top_tiles_names(s, len(circles))
        assert len(top) == len(circles) == 8 and set(top) == set(circles), top
        s.screenshot(SHOTS / "model-real.png")
