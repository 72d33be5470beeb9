#!/usr/bin/env bash
# Fill docker/.wheels with every wheel the image's build stage needs, fetched by
# the HOST's pip. Why: on our machines PyPI is reachable only through the host's
# TLS setup (a CA the containers don't trust), so `docker build` installs offline
# from this directory. Where a build can reach PyPI itself, an empty dir is fine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/.wheels
PY=${PYTHON:-python3}
BASE=${BASE:-python:3.13-slim-trixie}  # the image's base: its Python and Debian release
[[ $BASE =~ ^python:([0-9]+)\.([0-9]+)-slim-([a-z]+)$ ]] || { echo "wheelhouse: unexpected base $BASE" >&2; exit 2; }
pyver=${BASH_REMATCH[1]}.${BASH_REMATCH[2]}; abi=cp${BASH_REMATCH[1]}${BASH_REMATCH[2]}
case ${BASH_REMATCH[3]} in bookworm) glibc=36 ;; trixie) glibc=41 ;; *) glibc=17 ;; esac
case "$(uname -m)" in x86_64|amd64) arch=x86_64 ;; aarch64|arm64) arch=aarch64 ;; *) arch=$(uname -m) ;; esac
rm -rf "$out" && mkdir -p "$out"  # only this base's wheels
req=$(mktemp); trap 'rm -f "$req"' EXIT
# Runtime deps (core + executor extra) and the build backend, from pyproject.
"$PY" - "$here/../pyproject.toml" >"$req" <<'PYEOF'
import sys, tomllib
d = tomllib.load(open(sys.argv[1], "rb"))
p = d["project"]
print("\n".join(p["dependencies"] + p["optional-dependencies"]["executor"] + d["build-system"]["requires"]))
PYEOF
# The image runs its Debian release's CPython (trixie: 3.13, glibc 2.41): ask for exactly that.
plats=(--platform "manylinux2014_$arch")
for v in $(seq 17 $glibc); do plats+=(--platform "manylinux_2_${v}_$arch"); done
"$PY" -m pip download -q --disable-pip-version-check --only-binary=:all: \
  "${plats[@]}" --python-version "$pyver" --implementation cp --abi "$abi" \
  -d "$out" -r "$req"
echo "wheelhouse: $(ls "$out" | wc -l) wheels in $out" >&2
