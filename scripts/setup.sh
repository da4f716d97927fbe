#!/usr/bin/env bash
# Installs what ClipStream needs on a fresh Debian 12 machine; safe to run again (idempotent).
#   scripts/setup.sh            everything: system packages, ONNX Runtime, the Python model pipeline,
#                               and the end-to-end test tools (Xvfb, WebKitWebDriver, tauri-driver)
#   scripts/setup.sh --runtime  only what building and running the app needs
#   scripts/setup.sh --package  that, and what `make package` needs (npm, the Tauri CLI, dpkg-dev, help2man)
#   scripts/setup.sh --bench    everything, and the converters `make bench` makes its HEIC, AVIF and
#                               JPEG XL photos with (heif-enc, cjxl)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

want_python=1 want_package=1 want_bench=0
[[ "${1:-}" == "--runtime" ]] && want_python=0 want_package=0
[[ "${1:-}" == "--package" ]] && want_python=0
[[ "${1:-}" == "--bench" ]] && want_bench=1

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# System packages (Debian). Only installs what is missing, so a warm machine does no network I/O.
# WebKitGTK is the desktop app's webview; Xvfb and WebKitWebDriver drive it in the tests.
# cmake and nasm build the libjpeg-turbo that the turbojpeg crate bundles (DCT-scaled JPEG decoding);
# libheif-dev (with libheif1: HEVC and AV1 decoders) reads HEIC and AVIF.
packages=(build-essential pkg-config python3 python3-venv unzip libwebkit2gtk-4.1-dev cmake nasm libheif-dev)
# sccache keeps compiled dependencies between clones (scripts/env.sh).
packages+=(sccache)
# The tests also need strace (no-network proof), util-linux (unshare, setpriv: faults), xclip
# (reads what the app put on the clipboard), xdotool (types into the desktop's folder picker, drags
# with the mouse) and pcmanfm (a real file manager to drop photos into).
((want_python)) && packages+=(xvfb xauth webkit2gtk-driver strace util-linux xclip xdotool pcmanfm)
# The UI's unit tests run under Node's own test runner (any Node from 18 on).
((want_python)) && ! command -v node >/dev/null && packages+=(nodejs)
# The .deb: npm fetches the Tauri CLI that writes it, dpkg-shlibdeps finds its Depends, help2man
# writes the CLI's manual page; the tests lint it (lintian, desktop-file-validate).
((want_package)) && ! command -v npm >/dev/null && packages+=(npm)
((want_package)) && packages+=(dpkg-dev help2man)
((want_python)) && packages+=(lintian desktop-file-utils)
# The OCR test corpus (models/clipstream_models/ocr_corpus.py) draws its words in these fonts
# (Latin: DejaVu, Liberation; Chinese: Droid Sans Fallback); OpenCV, which the OCR reference wheel
# brings into the Python environment, needs libGL.
((want_python)) && packages+=(fonts-dejavu-core fonts-liberation fonts-droid-fallback libgl1)
# The benchmark's per-format step converts its generated JPEGs: heif-enc (libheif-examples) writes
# HEIC and AVIF, cjxl (libjxl-tools) JPEG XL.
((want_bench)) && packages+=(libheif-examples libjxl-tools)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# Rust lint tools (the toolchain itself comes with the machine, via rustup).
if command -v rustup >/dev/null; then
  for c in rustfmt clippy; do
    rustup component list --installed | grep -q "^$c" || rustup component add "$c"
  done
fi
# cargo-nextest runs the Rust tests (machines of this kind have it; elsewhere it is built once).
if ((want_python)) && ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest (crates.io)"
  cargo install --locked --quiet cargo-nextest
fi

# ONNX Runtime: the shared library shipped inside the PyPI onnxruntime wheel (ort loads it at run time).
if [[ ! -f "$ORT_LIB" ]]; then
  echo "setup: extracting ONNX Runtime $ORT_VERSION to $ORT_DIR"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 "onnxruntime==$ORT_VERSION" -d "$tmp"
  unzip -q -j "$tmp"/onnxruntime-*.whl "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" -d "$tmp/lib"
  mkdir -p "$ORT_DIR"
  mv "$tmp/lib/libonnxruntime.so.$ORT_VERSION" "$ORT_LIB.partial"
  mv "$ORT_LIB.partial" "$ORT_LIB"
fi

# OCR: PaddleOCR's models (PP-OCRv4 mobile detection and recognition, the 0/180° line classifier) and
# their config.yaml, as the PyPI rapidocr-onnxruntime wheel ships them (Apache-2.0); the product finds
# them in $OCR_DIR. The wheel's version and each file's SHA-256 are in models/ocr/manifest.json.
# Unpacked beside the final folder, checked, and renamed when complete, so an interrupted set-up is
# never used; a folder already there (this one, or another PP-OCR version a user put) is left alone.
if [[ ! -d "$OCR_DIR" ]]; then
  ocr_manifest="$CLIPSTREAM_ROOT/models/ocr/manifest.json"
  ocr_wheel="$(python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))["source"]; print(s["package"] + "==" + s["version"])' "$ocr_manifest")"
  echo "setup: extracting the OCR models ($ocr_wheel) to $OCR_DIR"
  ocr_tmp="$(mktemp -d)"
  trap 'rm -rf "${tmp:-}" "$ocr_tmp"' EXIT
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 "$ocr_wheel" -d "$ocr_tmp"
  python3 -c 'import json, sys; [print(f["sha256"] + "  " + f["name"]) for f in json.load(open(sys.argv[1]))["files"].values()]' \
    "$ocr_manifest" > "$ocr_tmp/SHA256SUMS"
  rm -rf "$OCR_DIR.partial"
  mkdir -p "$OCR_DIR.partial"
  unzip -q -j "$ocr_tmp"/rapidocr_onnxruntime-*.whl 'rapidocr_onnxruntime/models/*.onnx' \
    rapidocr_onnxruntime/config.yaml -d "$OCR_DIR.partial"
  (cd "$OCR_DIR.partial" && sha256sum --quiet --strict -c "$ocr_tmp/SHA256SUMS")
  mv "$OCR_DIR.partial" "$OCR_DIR"
fi

# The Python environment of models/ (torch, transformers, onnx, ...), pinned in models/pyproject.toml.
# Built beside its final place and renamed when complete, so an interrupted install is never used.
if ((want_python)) && [[ ! -x "$PY" ]]; then
  echo "setup: creating the model pipeline's Python environment in $VENV (a few GB, once)"
  mkdir -p "$CLIPSTREAM_CACHE"
  rm -rf "$VENV.partial"
  python3 -m venv "$VENV.partial"
  "$VENV.partial/bin/python" -m pip install -q --upgrade pip
  "$VENV.partial/bin/python" - "$CLIPSTREAM_ROOT/models/pyproject.toml" > "$VENV.partial/requirements.txt" <<'PYEOF'
import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))
PYEOF
  "$VENV.partial/bin/python" -m pip install -q -r "$VENV.partial/requirements.txt"
  # The venv's scripts hard-code its path; it is only ever run as "$VENV/bin/python -m ...".
  mv "$VENV.partial" "$VENV"
  sed -i "s#$VENV.partial#$VENV#g" "$VENV/bin/activate" "$VENV"/bin/pip* 2>/dev/null || true
fi
# tauri-driver (crates.io) bridges WebDriver clients to WebKitWebDriver for the end-to-end test.
if ((want_python)) && [[ ! -x "$TAURI_DRIVER" ]]; then
  echo "setup: installing tauri-driver $TAURI_DRIVER_VERSION into $CLIPSTREAM_CACHE/tools"
  cargo install --locked --quiet tauri-driver --version "$TAURI_DRIVER_VERSION" --root "$CLIPSTREAM_CACHE/tools"
fi

# The Tauri CLI (npm's prebuilt binary) for `make package`, which `make test` runs too.
if ((want_package)) && [[ ! -x "$TAURI_CLI" ]]; then
  echo "setup: installing the Tauri CLI $TAURI_CLI_VERSION into $TAURI_CLI_DIR"
  npm install --quiet --no-audit --no-fund --prefix "$TAURI_CLI_DIR" "@tauri-apps/cli@$TAURI_CLI_VERSION"
fi

echo "setup: ok (ONNX Runtime: $ORT_LIB)"
echo "setup: ok (OCR models: $OCR_DIR)"
((want_python)) && echo "setup: ok (Python for models/: $PY)"
exit 0
