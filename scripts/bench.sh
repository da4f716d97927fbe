#!/usr/bin/env bash
# Every benchmark, into target/bench/summary.json (each part's JSON beside it) and the table at the
# top of BENCHMARKS.md. Benchmarks are not tests: nothing here fails on a target missed, only on a
# figure that cannot be what it claims (an encode faster than any CPU runs the text model).
# Run through `make bench` / `make bench-quick`, which install what the steps need first
# (`scripts/setup.sh --bench`).
#   scripts/bench.sh          full sizes: 100k-image library, 1M vectors, 32 12-MP JPEGs (~25 min here,
#                             plus ~12 min the first time, making a 1M-photo library and its index)
#   scripts/bench.sh --quick  the same steps at small sizes: ~2 min once the model export exists, and
#                             ~11 min more for the app's part (measured on a busy machine)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$CLIPSTREAM_ROOT"

quick=0
[[ "${1:-}" == "--quick" ]] && quick=1
if ((quick)); then
  runs=15 n=10000 n_large=20000 images=4 rounds=1 startup_runs=3 format_images=2 mixed=4 text_every=2
else
  runs=60 n=100000 n_large=1000000 images=32 rounds=3 startup_runs=5 format_images=8 mixed=32 text_every=8
fi
out=target/bench
# Converters for the per-format step; `scripts/setup.sh --bench` installs them. Checked before the
# long run of measuring, so a run never ends without the per-format figures.
for tool in heif-enc cjxl; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench: $tool is missing (Debian: libheif-examples, libjxl-tools); run bash scripts/setup.sh --bench" >&2
    exit 1
  fi
done
model=models/build/random-vit-b-32
source_model=models/build/random-vit-b-32-source
mkdir -p "$out"
# The summary merges what it finds: parts of an earlier run must not pass for this one's.
rm -f "$out"/{text,query,import,search,search-rebuild,startup,search-large,vindex,indexing,indexing-3mp}.json \
  "$out"/{formats,reference-indexing,ocr,app,summary}.json

# The exact ViT-B/32 architecture with random weights (no pretrained weights are reachable here).
if [[ ! -f "$model/text_fp32_fixed77.onnx" ]]; then
  echo "bench: exporting the random-weight ViT-B/32 (once, a few minutes; not part of the timings)"
  (cd models && "$PY" -m clipstream_models random-vitb32 --out "build/random-vit-b-32-source" \
    && "$PY" -m clipstream_models export --source build/random-vit-b-32-source --out build/random-vit-b-32 \
         --model-id "openai/clip-vit-base-patch32 (random weights)" --fixed77)
fi
# Sources made before `model import` existed lack the tokenizer files a hub checkpoint has.
if [[ ! -f "$source_model/vocab.json" ]]; then
  (cd models && "$PY" -c 'import sys; from pathlib import Path; from clipstream_models.towers import save_tokenizer_files; save_tokenizer_files(Path(sys.argv[1]))' "build/random-vit-b-32-source")
fi
cargo build --release --locked -q -p clipstream -p clipstream-bench
bench=target/release/clipstream-bench
export ORT_DYLIB_PATH="$ORT_LIB"

step() { echo "bench: [${SECONDS}s] $*"; }
step "text encoding baselines (PyTorch, ONNX fixed-77) at 2 threads"
(cd models && "$PY" -m clipstream_models bench-text --model-dir "build/random-vit-b-32" \
  --source "build/random-vit-b-32-source" --threads 2 --runs "$runs" --json "../$out/text.json")
step "the product's query encoding"
"$bench" query --model "$model" --runs "$runs" --threads 2 \
  --reference "$out/pytorch_query_embedding.json" --json "$out/query.json" >/dev/null
step "clipstream model import of the ViT-B/32 checkpoint (Rust, no Python): wall time and peak memory"
rm -rf "$out/imported-model"
/usr/bin/time -f '{"seconds": %e, "max_rss_mb": %M}' -o "$out/import-time.txt" \
  target/release/clipstream model import "$source_model" --out "$out/imported-model" >/dev/null
"$PY" -c 'import json, sys; t = json.load(open(sys.argv[1])); t["max_rss_mb"] = round(t["max_rss_mb"] / 1024, 1); t["cpu_flags"] = sys.argv[3]; json.dump(t, open(sys.argv[2], "w"))' \
  "$out/import-time.txt" "$out/import.json" "$(grep -m1 -o -w 'avx2\|avx512f\|avx512_vnni\|avx512_bf16\|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
rm -rf "$out/imported-model" "$out/import-time.txt"
step "end-to-end search over $n images"
"$bench" search --rebuild --model "$model" --n "$n" --library "$out/library-$n" --json "$out/search-rebuild.json" >/dev/null
"$bench" search --model "$model" --n "$n" --library "$out/library-$n" --rounds "$rounds" \
  --json "$out/search.json" >/dev/null
step "launch to first result"
"$bench" startup --cli target/release/clipstream --model "$model" --library "$out/library-$n" \
  --runs "$startup_runs" --json "$out/startup.json" >/dev/null
step "opening a library of $n_large photos (made and its index built once, ~12 min at 1M)"
if [[ ! -f "$out/library-$n_large/vectors.usearch.json" ]]; then
  "$bench" search --rebuild --model "$model" --n "$n_large" --library "$out/library-$n_large" \
    --json "$out/search-rebuild-large.json" >/dev/null
fi
"$bench" search --model "$model" --n "$n_large" --library "$out/library-$n_large" --rounds 1 \
  --no-duplicates --json "$out/search-large.json" >/dev/null
step "vector index at $n_large vectors"
"$bench" vindex --n "$n_large" --queries 100 --ef 64 --scalars bf16 --json "$out/vindex.json" >/dev/null
step "indexing $images 12-MP JPEGs into a copy of the $n-image library (product and bare model)"
"$bench" indexing --model "$model" --folder "$out/jpegs-12mp-$images" --generate "$images" --threads 2 \
  --with-library "$out/library-$n" --json "$out/indexing.json" >/dev/null
step "indexing $images 3-MP JPEGs (product and bare model)"
"$bench" indexing --model "$model" --folder "$out/jpegs-3mp-$images" --generate "$images" \
  --width 2000 --height 1500 --threads 2 --json "$out/indexing-3mp.json" >/dev/null
step "indexing per format: $format_images 12-MP photos as JPEG, HEIC, AVIF, JPEG XL, DNG"
"$bench" formats --model "$model" --folder "$out/formats-12mp-$format_images" --count "$format_images" \
  --threads 2 --json "$out/formats.json" >/dev/null
step "reading words: OCR per photo, indexing $mixed photos (1 in $text_every with text) with and without it, text search over $n"
if [[ ! -f "$out/ocr-corpus/labels.json" ]]; then
  (cd models && "$PY" -m clipstream_models ocr-corpus --out "../$out/ocr-corpus" >/dev/null)
fi
"$bench" ocr --corpus "$out/ocr-corpus" --model "$model" --photos "$out/jpegs-12mp-$images" \
  --mixed-folder "$out/ocr-mixed-$mixed" --mixed "$mixed" --text-every "$text_every" --rounds "$rounds" \
  --library-template "$out/library-$n" --threads 2 --json "$out/ocr.json" >/dev/null
step "the reference Python pipeline on the same JPEGs"
(cd models && "$PY" -m clipstream_models bench-reference-indexing --source "build/random-vit-b-32-source" \
  --folder "../$out/jpegs-12mp-$images" --threads 2 --json "../$out/reference-indexing.json" >/dev/null)
if command -v xvfb-run >/dev/null && [[ -x "$TAURI_DRIVER" ]]; then
  step "the app: browsing the $n-image library in the real webview (WebDriver), launching on $n_large"
  cargo build --release --locked -q -p clipstream-app
  TAURI_DRIVER="$TAURI_DRIVER" xvfb-run -a "$PY" scripts/bench_app.py --app target/release/clipstream-app \
    --model "$model" --library "$out/library-$n" --large-library "$out/library-$n_large" --json "$out/app.json" \
    $( ((quick)) && echo --fling-frames 300 --jumps 5 ) >/dev/null
else
  step "the app's measurement skipped: it needs xvfb-run and tauri-driver (make setup)"
fi

(cd models && "$PY" -m clipstream_models bench-summary --dir "../$out" $( ((quick)) && echo --quick ))
echo "bench: [${SECONDS}s] wrote $out/summary.json and the table at the top of BENCHMARKS.md"
