#!/usr/bin/env bash
# Regenerates the committed Python stubs from proto/. `--check` fails if that changes them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
out=sandcell
if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  "$PY" -m grpc_tools.protoc -I proto --python_out="$tmp" --pyi_out="$tmp" --grpc_python_out="$tmp" \
    proto/sandcell/executor/v1/executor.proto
  diff -r -x __init__.py -x __pycache__ "$tmp/sandcell/executor/v1" "$out/executor/v1" \
    || { echo "generated stubs are stale: run 'make proto' and commit" >&2; exit 1; }
  echo "generated stubs are up to date"
  exit 0
fi
"$PY" -m grpc_tools.protoc -I proto --python_out=. --pyi_out=. --grpc_python_out=. \
  proto/sandcell/executor/v1/executor.proto
