#!/usr/bin/env bash
# Provide the base image our Dockerfile names (python:3.13-slim-trixie).
# Use it if present, pull it if a registry answers, else build an equivalent
# locally: debootstrap a minimal Debian of the tag's release, add that release's
# Python, and `docker import` it under the same tag, so one Dockerfile serves users and CI.
set -euo pipefail

TAG=${BASE_TAG:-python:3.13-slim-trixie}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
here=$(cd "$(dirname "$0")" && pwd)
cache=$here/.base
start=$(date +%s)
log() { echo "build-base: $*" >&2; }
# debootstrap is chatty: keep its log, show the tail only when it fails.
quiet() { "$@" >"$cache/debootstrap.log" 2>&1 || { tail -n 30 "$cache/debootstrap.log" >&2; return 1; }; }

if docker image inspect "$TAG" >/dev/null 2>&1; then
  log "$TAG present"; exit 0
fi
# A registry may be reachable for users; here it is not, so keep the try short.
if [ -z "${SANDCELL_NO_PULL:-}" ] && timeout 30 docker pull -q "$TAG" >/dev/null 2>&1; then
  log "$TAG pulled"; exit 0
fi

# Building it: python:<X.Y>-slim-<debian release>, whose own python3 must be X.Y (trixie: 3.13).
if [[ ! $TAG =~ ^python:([0-9]+\.[0-9]+)-slim-([a-z]+)$ ]]; then
  log "can't build $TAG locally (expected python:X.Y-slim-<debian release>) and could not pull it"; exit 2
fi
PYVER=${BASH_REMATCH[1]}
SUITE=${BASH_REMATCH[2]}
PKGS=python$PYVER,python$PYVER-venv,ca-certificates
debs=$cache/$SUITE-minbase-debs.tgz   # downloaded .debs: rebuilds skip the network
rootfs=$cache/$SUITE-python-rootfs.tar # finished tree: re-imports take seconds

mkdir -p "$cache"
if [ ! -s "$rootfs" ]; then
  if ! command -v debootstrap >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  if [ ! -s "$debs" ]; then
    log "downloading $SUITE packages"
    # Download into a temp name so an interrupted run leaves no broken cache.
    quiet debootstrap --variant=minbase --include="$PKGS" --make-tarball="$debs.tmp" \
      "$SUITE" "$(mktemp -d)" "$MIRROR"
    mv "$debs.tmp" "$debs"
  fi
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  log "installing $SUITE minbase + $PKGS"
  quiet debootstrap --variant=minbase --include="$PKGS" --unpack-tarball="$debs" \
    "$SUITE" "$root" "$MIRROR"
  # Behave like the official image: python at /usr/local/bin, apt pointed at Debian.
  [ -x "$root/usr/bin/python$PYVER" ] || { log "$SUITE has no python$PYVER"; exit 1; }
  ln -sf "/usr/bin/python$PYVER" "$root/usr/local/bin/python3"
  ln -sf "/usr/bin/python$PYVER" "$root/usr/local/bin/python"
  echo "deb $MIRROR $SUITE main" >"$root/etc/apt/sources.list"
  # Keep docs out of anything apt installs later in derived images.
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
  # Slim: drop docs, caches and apt lists, as the official slim image does.
  rm -rf "$root"/usr/share/{doc,man,info,locale,lintian,linda}/* \
    "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/var/log/* "$root"/debootstrap "$root"/tmp/* "$root"/root/.cache
  # Docker injects these at run time; an empty resolv.conf avoids leaking the host's.
  : >"$root/etc/resolv.conf"; : >"$root/etc/hostname"
  tar -C "$root" --numeric-owner -cf "$rootfs.tmp" .
  mv "$rootfs.tmp" "$rootfs"
fi

log "importing as $TAG"
docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change "ENV PYTHON_VERSION=$PYVER" \
  --change 'CMD ["python3"]' \
  --message "sandcell: debootstrap $SUITE minbase + $PKGS" \
  "$rootfs" "$TAG" >/dev/null
log "done in $(( $(date +%s) - start ))s: $(docker image inspect -f '{{.Size}}' "$TAG") bytes"
