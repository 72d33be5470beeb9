# sandcell — one entry point for setup, serving, tests and benchmarks.
SHELL := /bin/bash
# The newest CPython from 3.13 down to 3.11 that runs here (pyenv's shims answer for versions
# they don't serve, hence the trial run). 3.12+ lets sessions share the zygote's heap
# (executor/heap.py): an idle session costs about half the memory it does on 3.11.
PYTHON_BASE ?= $(shell for p in python3.13 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 2>/dev/null) \
  python3.12 python3.11 python3; do $$p -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null \
  && { command -v $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Cluster-less checks of deploy/ (tests/deploy/): pinned kubectl, schemas and checkov in their own venv.
TOOLS := .tools
TOOLS_STAMP := $(TOOLS)/.installed

.PHONY: tools setup run run-local demo test test-fast fuzz bench proto proto-check stop clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON_BASE) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

$(TOOLS_STAMP): deploy/check-tools.txt
	@test -x $(TOOLS)/bin/python || $(PYTHON_BASE) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q -r deploy/check-tools.txt
	@touch $@

tools: $(TOOLS_STAMP)

proto: setup
	PYTHON=$(PY) proto/generate.sh

# Stubs current, proto lint (comments, names, units), no breaking change vs the release snapshot.
proto-check: setup
	PYTHON=$(PY) proto/generate.sh --check
	$(PY) proto/lint.py

# Serve locally (no Docker) and run the demo client against it.
run-local: setup
	$(PY) -m sandcell.demo --spawn

test: setup proto-check tools
	$(PY) -m pytest -q -p no:cacheprovider tests
	$(MAKE) -s test-runsc
	$(MAKE) --no-print-directory test-rust

test-fast: setup tools
	SANDCELL_TEST_TARGETS=local $(PY) -m pytest -q -x -p no:cacheprovider tests --ignore=tests/docker --ignore=tests/cluster

# A long random fuzzing run of the policy (tests/policy_fuzz.py); failures land in tests/fuzz_cases/.
FUZZ_EXAMPLES ?= 5000
fuzz: setup
	SANDCELL_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SANDCELL_TEST_TARGETS=local $(PY) -m pytest -q -p no:cacheprovider \
	  tests/test_policy_fuzz.py -k fuzzed

bench: setup
	$(PY) -m bench --readme

clean:
	rm -rf $(VENV) $(TOOLS) build *.egg-info .pytest_cache

-include docker/docker.mk
include clients/rust/rust.mk
