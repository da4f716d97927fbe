# The README's two commands are `make run` and `make test`; each installs what it needs first.
.PHONY: run test setup models-golden

run:
	bash scripts/setup.sh --runtime
	cargo run --release --locked -- --model models/tiny-clip doctor

test:
	bash scripts/setup.sh
	bash scripts/test.sh

setup:
	bash scripts/setup.sh

# Regenerate the golden values the Rust tests compare with (after changing the test model).
models-golden:
	bash -c 'source scripts/env.sh && cd models && "$$PY" -m clipstream_models golden'
