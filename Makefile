# The README's two commands are `make run` and `make test`; each installs what it needs first.
.PHONY: run test setup models-golden bench bench-quick bench-models

# The desktop app. With no exported CLIP model it opens the demo: the bundled test model on the
# generated shapes in tests/fixtures/shapes (see README).
run:
	bash scripts/setup.sh --runtime
	cargo run --release --locked -p clipstream-app

test:
	bash scripts/setup.sh
	bash scripts/test.sh

setup:
	bash scripts/setup.sh

# Regenerate the golden values the Rust tests compare with (after changing the test model).
models-golden:
	bash -c 'source scripts/env.sh && cd models && "$$PY" -m clipstream_models golden'

# Benchmarks (not tests): every figure of BENCHMARKS.md into target/bench/summary.json.
bench:
	bash scripts/setup.sh
	bash scripts/bench.sh

bench-quick:
	bash scripts/setup.sh
	bash scripts/bench.sh --quick

# The model pipeline's own report (models/BENCHMARKS-models.md: every text graph at 1 and 2
# threads, vision batches, the quantization sweep) and the vector index per scalar type.
bench-models: bench-quick
	bash -c 'source scripts/env.sh && cd models && "$$PY" -m clipstream_models bench'
	target/release/clipstream-bench vindex --n 100000 --queries 200 --ef 64,128
