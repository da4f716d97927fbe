# The README's two commands are `make run` and `make test`; each installs what it needs first.
.PHONY: run test package setup models-golden bench bench-quick bench-models fuzz soak

# The desktop app. With no exported CLIP model it opens the demo: the bundled test model on the
# generated shapes in tests/fixtures/shapes (see README).
run:
	bash scripts/setup.sh --runtime
	cargo run --release --locked -p clipstream-app

test:
	bash scripts/setup.sh
	bash scripts/test.sh

# The Debian package: target/release/bundle/deb/ClipStream_<version>_amd64.deb (README: Install).
package:
	bash scripts/setup.sh --package
	bash scripts/package.sh

setup:
	bash scripts/setup.sh

# Regenerate the golden values the Rust tests compare with (after changing the test model).
models-golden:
	bash -c 'source scripts/env.sh && cd models && "$$PY" -m clipstream_models golden'

# Benchmarks (not tests): every figure into target/bench/summary.json and the table atop BENCHMARKS.md.
bench:
	bash scripts/setup.sh --bench
	bash scripts/bench.sh

bench-quick:
	bash scripts/setup.sh --bench
	bash scripts/bench.sh --quick

# The model pipeline's own report (models/BENCHMARKS-models.md: every text graph at 1 and 2
# threads, vision batches, the quantization sweep) and the vector index per scalar type.
bench-models: bench-quick
	bash -c 'source scripts/env.sh && cd models && "$$PY" -m clipstream_models bench'
	target/release/clipstream-bench vindex --n 100000 --queries 200 --ef 64,128

# Fuzz the image decode + CLIP preprocessing path with untrusted bytes (fuzz/README.md);
# findings land in fuzz/artifacts/decode_preprocess/. Needs the nightly toolchain.
FUZZ_SECONDS ?= 600
fuzz:
	cargo fuzz --version >/dev/null 2>&1 || cargo install --locked cargo-fuzz@0.13.2
	rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
	mkdir -p fuzz/corpus/decode_preprocess
	cd fuzz && nice -n 10 cargo +nightly fuzz run decode_preprocess corpus/decode_preprocess seeds -- \
		-max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -timeout=20

# The long variants of make test's crash harness and mutation fuzz (~30 min on 2 cores: 6 + 23 here).
soak:
	bash scripts/setup.sh
	bash -c 'source scripts/env.sh && CRASH_KILLS=200 CRASH_IMAGES=10000 cargo test --release --locked -p clipstream --test cli robustness::indexer_killed -- --nocapture'
	bash -c 'source scripts/env.sh && FUZZ_ITERATIONS=100000 cargo test --release --locked -p clipstream-core --test integration fuzz_decode -- --nocapture'
