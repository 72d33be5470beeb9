# sandcell — one entry point for setup, serving, tests and benchmarks.
SHELL := /bin/bash
PYTHON_BASE ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run run-local demo test test-fast bench proto proto-check stop clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON_BASE) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

proto: setup
	PYTHON=$(PY) proto/generate.sh

proto-check: setup
	PYTHON=$(PY) proto/generate.sh --check

# Serve locally (no Docker) and run the demo client against it.
run-local: setup
	$(PY) -m sandcell.demo --spawn

test: setup proto-check
	$(PY) -m pytest -q -p no:cacheprovider tests

test-fast: setup
	SANDCELL_TEST_TARGETS=local $(PY) -m pytest -q -x -p no:cacheprovider tests --ignore=tests/docker

bench: setup
	$(PY) -m bench --readme

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

-include docker/docker.mk
