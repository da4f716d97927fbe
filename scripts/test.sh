#!/usr/bin/env bash
# Every test and lint of the project, each phase timed. Run through `make test`, which runs the
# set-up first.
#
# One build serves everything: the workspace is compiled once, in the release profile (overflow
# checks on), with clippy linting the workspace's own crates as they compile (clippy-driver as
# the compiler's wrapper: no second, check-only build); the Rust tests run on it, the model
# import's parity tests drive its CLI, the package is made of its CLI and app (the binaries the
# tests ran), and the app's end-to-end tests drive that app.
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$CLIPSTREAM_ROOT"

results="$CLIPSTREAM_ROOT/target/test-results"
rm -rf "$results"
mkdir -p "$results"
phases="$results/phases.txt"
: >"$phases"
phase_started=$SECONDS
phase_name=""
phase() {
  if [[ -n "$phase_name" ]]; then
    printf '%6ds  %s\n' $((SECONDS - phase_started)) "$phase_name" >>"$phases"
  fi
  phase_name="$1"
  phase_started=$SECONDS
  [[ -n "$phase_name" ]] && echo "== $phase_name"
  return 0
}

phase "lint: rustfmt, ruff, the UI's scripts"
cargo fmt --all --check
(cd models && "$PY" -m ruff check . && "$PY" -m ruff format --check .)
"$PY" -m ruff check --config models/pyproject.toml tests/e2e scripts/bench_app.py scripts/bench_openvino.py
"$PY" -m ruff format --config models/pyproject.toml --check tests/e2e scripts/bench_app.py scripts/bench_openvino.py
for js in ui/*.js; do node --check "$js"; done

phase "ui/: the window's pure modules (node --test)"
node --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=junit --test-reporter-destination="$results/ui.xml" tests/ui

phase "models/: pytest"
(cd models && "$PY" -m pytest -q -p no:cacheprovider -m "not rust_import and not rust_ocr" --junitxml="$results/models.xml" tests)

phase "Rust: this clone's build folder seeded with the compiled dependencies of an earlier run"
# Compiled dependencies are kept outside the clone (as the venv is), keyed by what decides them:
# the lock file, the manifests (features, profiles) and the compiler. A fresh clone starts from a
# copy of them and compiles only the workspace's own crates (their sources are newer than anything
# copied, so cargo rebuilds them; it still checks every dependency's fingerprint itself). Saved
# after a green build when the key is new; only the newest key is kept.
deps_key="$( (cat Cargo.lock; find . -name Cargo.toml -not -path './target/*' | sort | xargs cat; rustc -vV) \
  | sha256sum | cut -c1-16)"
deps_cache="$CLIPSTREAM_CACHE/target-release-$deps_key"
if [[ ! -d target/release && -d "$deps_cache" ]]; then
  mkdir -p target
  cp -a "$deps_cache" target/release
  echo "seeded target/release from $deps_cache ($(du -sh target/release | cut -f1))"
fi

phase "Rust: build (release, overflow checks, clippy on the workspace's crates) and tests (cargo nextest)"
# clippy-driver compiles the workspace's crates (and lints them, warnings denied) where rustc
# would; dependencies are compiled by rustc as usual.
clippy_driver="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)"
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
# As package.sh builds: the binaries tested here are the ones packaged below.
export CLIPSTREAM_PACKAGED=1
# One invocation builds and runs (a second would build the app again: tauri-build's script
# rewrites files it then watches). Every test runs in a process of its own; see .config/nextest.toml.
cargo nextest run --release --workspace --all-targets --locked --no-fail-fast
cp target/nextest/default/junit.xml "$results/rust.xml"
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS CLIPSTREAM_PACKAGED
if [[ ! -d "$deps_cache" ]]; then
  echo "saving the compiled dependencies to $deps_cache"
  rm -rf "$deps_cache.partial"
  cp -a target/release "$deps_cache.partial"
  rm -rf "$deps_cache.partial/bundle"
  find "$CLIPSTREAM_CACHE" -maxdepth 1 -name 'target-release-*' -not -name "target-release-$deps_key.partial" \
    -exec rm -rf {} +
  mv "$deps_cache.partial" "$deps_cache"
fi

phase "models/: the Rust model import against PyTorch and ONNX Runtime's quantizer, the Rust OCR against the wheel's (pytest)"
(cd models && CLIPSTREAM_CLI="$CLIPSTREAM_ROOT/target/release/clipstream" ORT_DYLIB_PATH="$ORT_LIB" \
  CLIPSTREAM_BENCH="$CLIPSTREAM_ROOT/target/release/clipstream-bench" \
  "$PY" -m pytest -q -p no:cacheprovider -m "rust_import or rust_ocr" --junitxml="$results/rust-import.xml" tests)

phase "the Debian package (unpacked, linted and run by tests/e2e/test_package.py)"
bash scripts/package.sh --tested
debs=(target/release/bundle/deb/ClipStream_*_amd64.deb)
((${#debs[@]} == 1)) || { echo "expected one package, found: ${debs[*]}" >&2; exit 1; }

phase "desktop app: end to end in the real webview (Xvfb + tauri-driver + WebKitWebDriver)"
# The app as the package ships it (the one the Rust tests ran; package.sh stripped it in place);
# test_package.py also runs it from the unpacked .deb.
CLIPSTREAM_APP="$CLIPSTREAM_ROOT/target/release/clipstream-app" ORT_DYLIB_PATH="$ORT_LIB" \
  CLIPSTREAM_DEB="$CLIPSTREAM_ROOT/${debs[0]}" \
  xvfb-run -a "$PY" -m pytest -q -p no:cacheprovider --junitxml="$results/e2e.xml" tests/e2e
echo "screenshots: target/e2e/"
phase ""

echo "== time by phase"
cat "$phases"
printf '%6ds  in all\n' "$SECONDS"
# One closing line over every suite, read from their JUnit files (not from any runner's text).
"$PY" - "$results"/*.xml <<'PYEOF'
import sys
import xml.etree.ElementTree as ET

counts = {"passed": 0, "failed": 0, "skipped": 0}
for path in sys.argv[1:]:
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            counts["failed"] += 1
        elif case.find("skipped") is not None:
            counts["skipped"] += 1
        else:
            counts["passed"] += 1
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped or ignored")
sys.exit(1 if counts["failed"] else 0)
PYEOF
