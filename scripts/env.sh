# Sourced by the other scripts: where ClipStream's set-up keeps what it installs.
# Kept outside the clone (a cache, keyed by the pinned requirements) so fresh clones reuse it.
# A CI runner may start us with a bare environment: take the home folder from the user database.
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
export HOME
CLIPSTREAM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLIPSTREAM_CACHE="${CLIPSTREAM_CACHE:-$HOME/.cache/clipstream}"
ORT_VERSION="1.31.1"
ORT_DIR="${XDG_DATA_HOME:-$HOME/.local/share}/clipstream/onnxruntime"
ORT_LIB="$ORT_DIR/libonnxruntime.so.$ORT_VERSION"
# The OCR models (PaddleOCR, from the rapidocr-onnxruntime wheel: models/ocr/manifest.json), where
# the product looks for them when nothing else is configured.
OCR_DIR="${XDG_DATA_HOME:-$HOME/.local/share}/clipstream/ocr"
# Keyed by the pinned dependency list only, so editing tool settings in pyproject.toml keeps the venv.
VENV_KEY="$(python3 -c 'import sys, tomllib; print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))' \
  "$CLIPSTREAM_ROOT/models/pyproject.toml" | sha256sum | cut -c1-16)"
VENV="$CLIPSTREAM_CACHE/venv-$VENV_KEY"
PY="$VENV/bin/python"
TAURI_DRIVER_VERSION="2.1.0"
TAURI_DRIVER="$CLIPSTREAM_CACHE/tools/bin/tauri-driver"
# The Tauri CLI that writes the .deb (npm's prebuilt binary; pinned to the tauri crate's version).
TAURI_CLI_VERSION="2.12.5"
TAURI_CLI_DIR="$CLIPSTREAM_CACHE/tools/tauri-cli-$TAURI_CLI_VERSION"
TAURI_CLI="$TAURI_CLI_DIR/node_modules/.bin/tauri"
export CLIPSTREAM_ROOT CLIPSTREAM_CACHE ORT_VERSION ORT_DIR ORT_LIB OCR_DIR VENV PY TAURI_DRIVER_VERSION TAURI_DRIVER
export TAURI_CLI_VERSION TAURI_CLI_DIR TAURI_CLI
# Compiled dependencies are kept outside the clone too (sccache, which set-up installs), so a fresh
# clone compiles its own crates and links, not the ~900 dependencies again (a cold cache costs
# only time; crates whose build scripts compile C still run them). The server stops itself when idle.
if command -v sccache >/dev/null; then
  export RUSTC_WRAPPER=sccache SCCACHE_DIR="$CLIPSTREAM_CACHE/sccache" SCCACHE_CACHE_SIZE=8G SCCACHE_IDLE_TIMEOUT=120
fi
