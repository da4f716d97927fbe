#!/usr/bin/env bash
# The Debian package: target/release/bundle/deb/ClipStream_<version>_amd64.deb (`make package`).
# Tauri's deb bundler writes it; src-tauri/package.conf.json says what goes where:
#   /usr/bin/clipstream-app, /usr/bin/clipstream     the app and the CLI
#   /usr/lib/clipstream/libonnxruntime.so.1.31.1     found beside bin/ by core/src/installed.rs
#   /usr/lib/clipstream/demo/{model,photos}          the demo model and its generated shapes
#   /usr/lib/clipstream/ocr/                         PP-OCRv4 (detection, line direction,
#                                                    recognition) from $OCR_DIR, found beside bin/
#   /usr/share/icons/hicolor/*/apps/, a desktop entry, manual pages, /usr/share/doc/clip-stream/
# Depends: what dpkg-shlibdeps finds the binaries link (tauri adds WebKitGTK and GTK itself).
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$CLIPSTREAM_ROOT"

# What `scripts/setup.sh --package` installs (make package runs it first).
for needed in "$TAURI_CLI" "$ORT_LIB" "$OCR_DIR" "$(command -v dpkg-shlibdeps)" "$(command -v help2man)"; do
  [[ -n "$needed" && -e "$needed" ]] || { echo "package: missing tools; run scripts/setup.sh --package" >&2; exit 1; }
done
version="$(cargo metadata --no-deps --format-version 1 --locked | python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "clipstream-app"))')"

# A packaged app finds its demo only in /usr/lib/clipstream, never in the tree it was built in.
export CLIPSTREAM_PACKAGED=1
if [[ "${1:-}" == "--tested" ]]; then
  # scripts/test.sh built, linted and tested these binaries (release, CLIPSTREAM_PACKAGED set):
  # the package is what the tests ran.
  for built in target/release/clipstream target/release/clipstream-app; do
    [[ -x "$built" ]] || { echo "package: $built is missing; run without --tested" >&2; exit 1; }
  done
  echo "package: the CLI and the app as scripts/test.sh built and tested them"
else
  echo "package: building the CLI and the app (release)"
  cargo build --release --locked -q -p clipstream
  (cd src-tauri && "$TAURI_CLI" build --no-bundle --ci --config package.conf.json) >/dev/null
fi

# Symbols out of the binaries (Debian ships stripped binaries; a panic still names its message).
strip --strip-unneeded target/release/clipstream target/release/clipstream-app

stage=target/package/stage
rm -rf "$stage"
mkdir -p "$stage/demo/model" "$stage/demo/photos" "$stage/ocr"
cp target/release/clipstream "$stage/"
install -m 0644 "$ORT_LIB" "$stage/"
gzip -9n <packaging/changelog >"$stage/changelog.gz"
# Manual pages: the CLI's from its own --help (each command's help under COMMANDS), the app's by hand.
{
  echo "[COMMANDS]"
  for command in index search text similar status remove "model import" "model get" doctor; do
    echo ".SS $command"
    echo ".nf"
    # shellcheck disable=SC2086 # "model import" is a command and its subcommand
    target/release/clipstream help $command | sed -e 's/\\/\\\\/g' -e "s/^[.']/\\\\\&&/"
    echo ".fi"
  done
} >"$stage/commands.h2m"
help2man --no-info --version-string "$version" --name "search your photos by what is in them, offline" \
  --include "$stage/commands.h2m" target/release/clipstream | gzip -9n >"$stage/clipstream.1.gz"
gzip -9n <packaging/clipstream-app.1 >"$stage/clipstream-app.1.gz"
# The model files its manifest names, and the manifest; the shapes without their test labels.
cp models/tiny-clip/manifest.json models/tiny-clip/*.onnx models/tiny-clip/tokenizer.json "$stage/demo/model/"
cp tests/fixtures/shapes/*.png "$stage/demo/photos/"
# The OCR models as setup unpacked and checked them (models/ocr/manifest.json): the three ONNX files.
cp "$OCR_DIR"/*.onnx "$stage/ocr/"
[[ "$(find "$stage/ocr" -name '*.onnx' | wc -l)" == 3 ]] || { echo "package: expected 3 OCR models in $OCR_DIR" >&2; exit 1; }

# Depends from the binaries themselves (dpkg-shlibdeps wants a debian/control to stand in).
shlibs="$(mktemp -d)"
trap 'rm -rf "$shlibs"' EXIT
mkdir "$shlibs/debian"
printf 'Source: clip-stream\n\nPackage: clip-stream\nArchitecture: any\n' >"$shlibs/debian/control"
binaries=("$CLIPSTREAM_ROOT/target/release/clipstream-app" "$CLIPSTREAM_ROOT/$stage/clipstream"
  "$CLIPSTREAM_ROOT/$stage/libonnxruntime.so.$ORT_VERSION")
if ! depends="$(cd "$shlibs" && dpkg-shlibdeps -O "${binaries[@]}" 2>"$shlibs/log" | sed -n 's/^shlibs:Depends=//p')" \
  || [[ -z "$depends" ]]; then
  cat "$shlibs/log" >&2
  echo "package: dpkg-shlibdeps found no dependencies" >&2
  exit 1
fi
echo "package: Depends: $depends"
# Tauri appends WebKitGTK and GTK unversioned after these; the versioned entries here still bind.
depends_json="$(python3 -c '
import json, sys
depends = sys.argv[1].split(", ")
print(json.dumps({"bundle": {"linux": {"deb": {"depends": depends}}}}))
' "$depends")"

rm -rf target/release/bundle/deb
(cd src-tauri && "$TAURI_CLI" bundle --bundles deb --ci --config package.conf.json --config "$depends_json")
deb="target/release/bundle/deb/ClipStream_${version}_amd64.deb"
[[ -f "$deb" ]] || { echo "package: $deb was not written" >&2; exit 1; }
echo "package: $deb ($(du -h "$deb" | cut -f1))"
