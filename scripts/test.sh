#!/usr/bin/env bash
# Every test and lint of the project. Run through `make test`, which runs the set-up first.
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$CLIPSTREAM_ROOT"

echo "== lint: rustfmt, clippy, ruff"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
(cd models && "$PY" -m ruff check . && "$PY" -m ruff format --check .)
"$PY" -m ruff check --config models/pyproject.toml tests/e2e scripts/bench_app.py scripts/bench_openvino.py
"$PY" -m ruff format --config models/pyproject.toml --check tests/e2e scripts/bench_app.py scripts/bench_openvino.py

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

echo "== ui/: the window's pure modules (node --test)"
ui_log="$(mktemp)"
node --test tests/ui | tee "$ui_log"
# Node's summary says "# pass N" / "# fail N"; the closing line below counts "N passed".
echo "$(awk '/^# pass /{print $3}' "$ui_log") passed, $(awk '/^# fail /{print $3}' "$ui_log") failed" | tee -a "$log"
rm -f "$ui_log"

echo "== models/: pytest"
(cd models && "$PY" -m pytest -q -p no:cacheprovider -m "not rust_import" tests) | tee -a "$log"

echo "== Rust: cargo test"
cargo test --workspace --all-targets --locked --no-fail-fast 2>&1 | tee -a "$log"

echo "== models/: the Rust model import against PyTorch and ONNX Runtime's quantizer (pytest)"
# After cargo test, which built the CLI this drives.
(cd models && CLIPSTREAM_CLI="$CLIPSTREAM_ROOT/target/debug/clipstream" ORT_DYLIB_PATH="$ORT_LIB" \
  "$PY" -m pytest -q -p no:cacheprovider -m rust_import tests) | tee -a "$log"

echo "== the Debian package (release build; unpacked, linted and run by tests/e2e/test_package.py)"
bash scripts/package.sh
debs=(target/release/bundle/deb/ClipStream_*_amd64.deb)
((${#debs[@]} == 1)) || { echo "expected one package, found: ${debs[*]}" >&2; exit 1; }

echo "== desktop app: end to end in the real webview (Xvfb + tauri-driver + WebKitWebDriver)"
# The app binary as `cargo test` just built it (its integration tests need it); a separate
# `cargo build` would compile Tauri again without the test feature, for minutes.
CLIPSTREAM_APP="$CLIPSTREAM_ROOT/target/debug/clipstream-app" ORT_DYLIB_PATH="$ORT_LIB" \
  CLIPSTREAM_DEB="$CLIPSTREAM_ROOT/${debs[0]}" \
  xvfb-run -a "$PY" -m pytest -q -p no:cacheprovider tests/e2e | tee -a "$log"
echo "screenshots: target/e2e/"

# One closing line over both suites (pytest: "N passed", cargo: "test result: ok. N passed; M failed").
passed=$(grep -oE '([0-9]+) passed' "$log" | awk '{s += $1} END {print s + 0}')
failed=$(grep -oE '([0-9]+) failed' "$log" | awk '{s += $1} END {print s + 0}')
echo "$passed passed, $failed failed"
