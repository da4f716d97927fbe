# The README's two commands are `make run` and `make test`; each installs what it needs first.
.PHONY: run test setup models-golden bench

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

# Benchmarks (not tests; minutes, and they need models/build/random-vit-b-32: see models/README.md).
bench:
	bash scripts/setup.sh
	bash -c 'source scripts/env.sh && cd models && "$$PY" -m clipstream_models random-vitb32 && "$$PY" -m clipstream_models export --source build/random-vit-b-32-source --out build/random-vit-b-32 --model-id "openai/clip-vit-base-patch32 (random weights)" --fixed77 && "$$PY" -m clipstream_models bench'
	cargo build --release --locked -p clipstream-bench
	target/release/clipstream-bench vindex --n 100000 --queries 200 --ef 64,128
	target/release/clipstream-bench indexing --model models/build/random-vit-b-32 --folder target/bench/jpegs-12mp --generate 32
