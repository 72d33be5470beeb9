#!/usr/bin/env bash
# Register gVisor's runsc (Debian's package) as the Docker runtime `runsc`; idempotent.
# `--network=host`: runsc's own network stack refuses to start in the root network namespace
# here ("cannot run with network enabled in root network namespace"); with host it uses the
# network namespace Docker made for the container (so compose's internal network and the
# forwarder work unchanged). Not `--oci-seccomp`: with docker/seccomp.json that breaks thread
# creation inside the sandbox (README "gVisor").
set -euo pipefail
CONF=${DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}
if ! command -v runsc >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runsc >/dev/null
fi
mkdir -p "$(dirname "$CONF")"
changed=$(python3 - "$CONF" "$(command -v runsc)" <<'PY'
import json, os, sys
path, runsc = sys.argv[1], sys.argv[2]
conf = json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) else {}
want = {"path": runsc, "runtimeArgs": ["--network=host"]}
if conf.get("runtimes", {}).get("runsc") == want:
    print("no")
else:
    conf.setdefault("runtimes", {})["runsc"] = want
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(conf, f, indent=2)
    os.replace(tmp, path)
    print("yes")
PY
)
if [ "$changed" = yes ] && pid=$(pgrep -xo dockerd); then
  kill -HUP "$pid"  # runtimes are reloadable: no restart, running containers untouched
fi
for _ in $(seq 30); do
  docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"' && exit 0
  sleep 0.5
done
echo "register-runsc: dockerd does not list the runsc runtime (config $CONF)" >&2
exit 1
