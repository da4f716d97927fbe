#!/usr/bin/env bash
# Every test and lint of the project. Run through `make test`, which runs the set-up first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$CLIPSTREAM_ROOT"

echo "== lint: rustfmt, clippy, ruff"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
"$PY" -m ruff check models
"$PY" -m ruff format --check models

echo "== models/: pytest"
(cd models && "$PY" -m pytest -q -p no:cacheprovider tests)

echo "== Rust: cargo test"
cargo test --workspace --locked
