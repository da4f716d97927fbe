"""The .deb that `make package` writes, checked without touching this machine's own system.

It is unpacked into a temporary root (`dpkg-deb -x`); the CLI and the app run from there with an
empty HOME and no ORT_DYLIB_PATH, so they can only find ONNX Runtime and the demo inside the
package. Run by `make test` (scripts/test.sh builds the package and sets CLIPSTREAM_DEB).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from .test_app import ROOT, SHAPES, SHOTS, indexing_state, required_path, search_for, top_tiles
from .webdriver import launched

ORT = "libonnxruntime.so.1.31.1"
# Every file the package may hold, by path pattern; anything else (tests, Python, sources) fails.
EXPECTED = [
    r"usr/bin/clipstream",
    r"usr/bin/clipstream-app",
    rf"usr/lib/clipstream/{re.escape(ORT)}",
    r"usr/lib/clipstream/demo/model/(manifest\.json|tokenizer\.json|text_hybrid_int8\.onnx|vision\.onnx)",
    r"usr/lib/clipstream/demo/photos/\d{5}\.png",
    r"usr/lib/clipstream/ocr/(ch_PP-OCRv4_det_infer|ch_PP-OCRv4_rec_infer|ch_ppocr_mobile_v2\.0_cls_infer)\.onnx",
    r"usr/share/applications/ClipStream\.desktop",
    r"usr/share/icons/hicolor/\d+x\d+/apps/clipstream-app\.png",
    r"usr/share/doc/clip-stream/(copyright|changelog\.gz)",
    r"usr/share/man/man1/clipstream(-app)?\.1\.gz",
]
ICON_SIZES = {16, 22, 24, 32, 48, 64, 128, 256, 512}
# What lintian still says about the package, each explained in README.md ("Install"): copies of
# libjpeg-turbo compiled into our binaries, and curl and mbedtls inside ONNX Runtime's library.
LINTIAN_EXPLAINED = {
    ("embedded-library", "libjpeg [usr/bin/clipstream]"),
    ("embedded-library", "libjpeg [usr/bin/clipstream-app]"),
    ("embedded-library", f"curl [usr/lib/clipstream/{ORT}]"),
    ("embedded-library", f"mbedtls [usr/lib/clipstream/{ORT}]"),
}


@pytest.fixture(scope="module")
def deb() -> Path:
    return required_path("CLIPSTREAM_DEB")


@pytest.fixture(scope="module")
def root(deb: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("root")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


@pytest.fixture(scope="module")
def control(deb: Path) -> dict[str, str]:
    text = subprocess.run(["dpkg-deb", "-f", str(deb)], check=True, capture_output=True, text=True).stdout
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line[0].isspace():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def depends_names(control: dict[str, str]) -> set[str]:
    return {re.split(r"[\s(]", d.strip())[0] for d in control["Depends"].split(",")}


def test_the_control_file_names_the_package_its_version_and_its_libraries(deb: Path, control: dict[str, str]):
    version = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]
    assert deb.name == f"ClipStream_{version}_amd64.deb"
    assert control["Package"] == "clip-stream"
    assert control["Version"] == version
    assert control["Architecture"] == "amd64"
    depends = depends_names(control)
    # WebKitGTK and GTK (the window), libheif (HEIC/AVIF), the C and C++ runtimes.
    for package in ("libwebkit2gtk-4.1-0", "libgtk-3-0", "libheif1", "libc6", "libstdc++6"):
        assert package in depends, control["Depends"]
    assert not any("python" in d or "onnxruntime" in d for d in depends), control["Depends"]


def test_the_package_holds_what_the_user_needs_and_nothing_else(root: Path):
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink())
    unexpected = [f for f in files if not any(re.fullmatch(pattern, f) for pattern in EXPECTED)]
    assert not unexpected, f"files the user does not need: {unexpected[:20]}"
    for pattern in EXPECTED:
        assert any(re.fullmatch(pattern, f) for f in files), f"nothing matches {pattern}"
    photos = [f for f in files if f.startswith("usr/lib/clipstream/demo/photos/")]
    assert len(photos) == len(list(SHAPES.glob("*.png")))
    sizes = {int(m.group(1)) for f in files if (m := re.fullmatch(r"usr/share/icons/hicolor/(\d+)x\1/apps/.*", f))}
    assert sizes == ICON_SIZES, sizes
    for binary in ("usr/bin/clipstream", "usr/bin/clipstream-app"):
        assert os.access(root / binary, os.X_OK), binary
    desktop = subprocess.run(
        ["desktop-file-validate", str(root / "usr/share/applications/ClipStream.desktop")],
        capture_output=True,
        text=True,
    )
    assert desktop.returncode == 0 and not desktop.stdout.strip(), desktop.stdout + desktop.stderr
    entry = (root / "usr/share/applications/ClipStream.desktop").read_text()
    assert "Exec=clipstream-app" in entry and "Icon=clipstream-app" in entry, entry


def test_the_shipped_binaries_carry_no_test_hook(root: Path):
    """The hooks that make a test process die at chosen moments are compiled into test builds only
    (the core's test-hooks feature): what users run cannot be made to abort by an environment."""
    for binary in ("usr/bin/clipstream", "usr/bin/clipstream-app"):
        data = (root / binary).read_bytes()
        assert b"CLIPSTREAM_DECODE_PROBE" in data, f"{binary}: not the product's build"
        for hook in (b"CLIPSTREAM_TEST_ABORT_DECODING", b"CLIPSTREAM_TEST_ABORT_AFTER_INDEX_CHECKPOINT"):
            assert hook not in data, f"{binary} carries the test hook {hook.decode()}"


def elf_files(root: Path) -> list[Path]:
    return [p for p in (root / "usr").rglob("*") if p.is_file() and p.read_bytes()[:4] == b"\x7fELF"]


def owner_package(library: str) -> str:
    """The Debian package that installed `library` (a path that ldd printed)."""
    candidates = [library, os.path.realpath(library)]
    candidates += [c.replace("/usr/lib/", "/lib/", 1) for c in candidates if c.startswith("/usr/lib/")]
    candidates += [c.replace("/lib/", "/usr/lib/", 1) for c in candidates if c.startswith("/lib/")]
    for path in candidates:
        found = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True)
        if found.returncode == 0:
            return found.stdout.split(":")[0].strip()
    raise AssertionError(f"no Debian package owns {library}")


def test_every_library_the_binaries_link_is_depended_on_or_shipped(root: Path, control: dict[str, str]):
    depends = depends_names(control)
    binaries = elf_files(root)
    assert {b.name for b in binaries} == {"clipstream", "clipstream-app", ORT}
    shipped = {b.name for b in binaries}
    for binary in binaries:
        needed = re.findall(
            r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
            subprocess.run(["readelf", "-d", str(binary)], check=True, capture_output=True, text=True).stdout,
        )
        assert needed, binary
        ldd = subprocess.run(["ldd", str(binary)], check=True, capture_output=True, text=True).stdout
        assert "not found" not in ldd, f"{binary.name}: {ldd}"
        resolved = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
        # The dynamic loader has no "=>": ldd prints its path alone.
        resolved |= {Path(p).name: p for p in re.findall(r"^\s*(/\S+) \(0x", ldd, re.M)}
        for soname in needed:
            if soname in shipped:
                continue
            package = owner_package(resolved[soname])
            assert package in depends, f"{binary.name} links {soname} from {package}, not in Depends"


def test_lintian_says_nothing_unexplained(deb: Path):
    run = subprocess.run(["lintian", "--tag-display-limit", "0", str(deb)], capture_output=True, text=True)
    said = re.findall(r"^([EW]): clip-stream: (\S+) ?(.*)$", run.stdout, re.M)
    unexplained = sorted((level, tag, detail) for level, tag, detail in said if (tag, detail) not in LINTIAN_EXPLAINED)
    assert not unexplained, run.stdout + run.stderr
    # The explained ones are still there: when one goes away, so does its explanation.
    assert {(tag, detail) for _, tag, detail in said} == LINTIAN_EXPLAINED, run.stdout


def bare_env(home: Path) -> dict[str, str]:
    """What a fresh login has: an empty home, no ClipStream or ONNX Runtime variables."""
    keep = ("PATH", "DISPLAY", "XAUTHORITY", "LANG")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["HOME"] = str(home)
    return env


def test_the_unpacked_cli_finds_its_runtime_and_searches_the_demo(root: Path, tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    env = bare_env(home)
    cli = root / "usr/bin/clipstream"
    model = root / "usr/lib/clipstream/demo/model"

    def run(*args: str) -> str:
        done = subprocess.run([str(cli), "--model", str(model), *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"clipstream {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    doctor = run("doctor")
    assert f"ONNX Runtime: {root / 'usr/lib/clipstream' / ORT}" in doctor, doctor
    assert f"in {model}" in doctor, doctor
    # The OCR models beside the binaries, found with no configuration, read the sample.
    assert f"in {root / 'usr/lib/clipstream/ocr'}" in doctor and "password: hunter22" in doctor, doctor
    photos = root / "usr/lib/clipstream/demo/photos"
    run("index", str(photos))
    hits = json.loads(run("search", "a red circle", "-k", "5", "--json"))
    labels = json.loads((SHAPES / "labels.json").read_text())
    kinds = [(labels[Path(h["path"]).name]["colour"], labels[Path(h["path"]).name]["shape"]) for h in hits]
    assert len(hits) == 5 and all(k == ("red", "circle") for k in kinds), kinds
    # The words in the photos were read with the package's own OCR models (shapes hold none).
    status = json.loads(run("status", "--json"))
    assert status["words"]["models"] == str(root / "usr/lib/clipstream/ocr"), status["words"]
    assert status["words"]["read"] == status["words"]["total"] > 0, status["words"]
    # The library went to the (empty) home's data folder, as for any user.
    assert (home / ".local/share/clipstream/library/catalog.sqlite").is_file()


def test_the_unpacked_app_opens_the_demo_from_the_package(root: Path, tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    env = bare_env(home)
    app = root / "usr/bin/clipstream-app"
    driver = required_path("TAURI_DRIVER")
    with launched(app, driver, env, SHOTS.parent / "e2e-package-tauri-driver.log") as s:
        s.wait("the demo to be indexed", lambda: indexing_state(s) == "done", timeout=180)
        status = s.js_async(
            "const done = arguments[arguments.length - 1];"
            "window.__TAURI__.core.invoke('app_status').then(done, e => done({error: String(e)}));"
        )
        assert status.get("mode") == "demo", status
        assert status.get("model_dir") == str(root / "usr/lib/clipstream/demo/model"), status
        assert status.get("demo_folder") == str(root / "usr/lib/clipstream/demo/photos"), status
        assert "test model" in s.text("#banner")
        search_for(s, "a red circle")
        labels = json.loads((SHAPES / "labels.json").read_text())
        tiles = top_tiles(s, 5)
        kinds = [(labels[t["name"]]["colour"], labels[t["name"]]["shape"]) for t in tiles]
        assert len(tiles) == 5 and all(k == ("red", "circle") for k in kinds), kinds
        s.wait(
            "thumbnails to load",
            lambda: s.js(
                "return [...document.querySelectorAll('#grid .tile img')].slice(0, 5)"
                ".every(i => i.complete && i.naturalWidth > 0)"
            ),
        )
        SHOTS.mkdir(parents=True, exist_ok=True)
        s.screenshot(SHOTS / "8-installed-package.png")
    assert (home / ".local/share/clipstream/demo-library/catalog.sqlite").is_file()
