# Rust client targets, included by the Makefile: test-rust (part of `make test`).
CARGO ?= cargo
RUST_DIR := clients/rust

.PHONY: test-rust

# The tests start real executors from this repo's .venv; nice: the build shares 2 cores.
test-rust: setup
	cd $(RUST_DIR) && SANDCELL_PYTHON=$(abspath $(PY)) nice -n 10 $(CARGO) test --locked --all-targets -q \
	  && nice -n 10 $(CARGO) test --locked --doc -q
