"""Which of the worker jail's kernel layers really hold where the server runs, found out at
start and reported (log, metrics), never assumed.

Under gVisor (runsc) the "kernel" is gVisor's: it implements seccomp filters, but not
Landlock (and older releases not PR_SET_CHILD_SUBREAPER). A layer is reported as enforced
only when a throwaway child process installed it and was then refused what the layer forbids:
seccomp refusing a new socket, Landlock refusing to read a file. The seccomp filter is a
required layer (a worker whose filter fails to install is refused, JailError), so a server
where it does not hold refuses to start rather than serve sessions that would all fail;
Landlock is best effort (the jail skips it where the kernel lacks it), so its absence is a
warning and a 0 in `sandcell_sandbox_layer_enforced{layer="landlock"}`.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import socket
import sys
from dataclasses import asdict, dataclass

from executor.errors import ExecutorError
from executor.jail import landlock, seccomp
from executor.jail._libc import prctl

__all__ = ["Layers", "probe_layers", "report_layers", "LayerMissingError"]

log = logging.getLogger("sandcell.layers")
_PR_SET_NO_NEW_PRIVS, _PR_SET_CHILD_SUBREAPER = 38, 36


class LayerMissingError(ExecutorError):
    """A required jail layer does not hold on this kernel: the server does not start."""


@dataclass(frozen=True)
class Layers:
    kernel: str            # uname release and version (gVisor reports its own)
    gvisor: bool           # the kernel is gVisor's Sentry
    seccomp: bool          # a filter installs and refuses what it lists
    landlock: bool         # a ruleset applies and refuses a read outside it
    landlock_abi: int      # 0: none offered
    subreaper: bool        # orphans of workers are reparented to the zygote (else to init)
    detail: str = ""       # why a layer is reported missing


def _child_checks() -> dict:
    """In a forked child that exits right after: apply each layer, then try what it forbids."""
    out = {"seccomp": False, "landlock": False, "subreaper": False, "detail": []}
    try:
        prctl(_PR_SET_CHILD_SUBREAPER, 1)
        out["subreaper"] = True
    except OSError as exc:
        out["detail"].append(f"subreaper: {exc}")
    try:
        prctl(_PR_SET_NO_NEW_PRIVS, 1)
    except OSError as exc:
        out["detail"].append(f"no_new_privs: {exc}")
        return out
    if landlock.ABI is not None:
        try:
            landlock.enforce([])  # handles every file access, allows none
            try:
                open(sys.executable, "rb").close()
                out["detail"].append("landlock: applied, but a read outside the ruleset succeeded")
            except PermissionError:
                out["landlock"] = True
        except OSError as exc:
            out["detail"].append(f"landlock: {exc}")
    else:
        out["detail"].append("landlock: not offered by this kernel")
    try:
        seccomp.install(os.getpid())
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
            out["detail"].append("seccomp: installed, but a new socket was allowed")
        except PermissionError:
            out["seccomp"] = True
    except OSError as exc:
        out["detail"].append(f"seccomp: {exc}")
    return out


def probe_layers() -> Layers:
    """Fork a child, apply the layers there, read back what held. Call before threads start."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            os.write(w, json.dumps(_child_checks()).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        raw = f.read()
    os.waitpid(pid, 0)
    got = json.loads(raw or b'{"detail": ["the probe child died"]}')
    uname = platform.uname()
    kernel = f"{uname.release} {uname.version}"
    return Layers(kernel=kernel, gvisor=_is_gvisor(), seccomp=bool(got.get("seccomp")),
                  landlock=bool(got.get("landlock")), landlock_abi=landlock.ABI or 0,
                  subreaper=bool(got.get("subreaper")), detail="; ".join(got.get("detail", [])))


def _is_gvisor() -> bool:
    # gVisor's Sentry shows a fixed boot line naming itself (BOOT_IMAGE=/vmlinuz-4.4.0-gvisor).
    try:
        with open("/proc/cmdline") as f:
            return "gvisor" in f.read()
    except OSError:
        return False


def report_layers(layers: Layers, metrics=None) -> None:
    """Log what holds; export it; refuse to go on without the required seccomp layer."""
    fields = asdict(layers)
    if metrics is not None:
        for name in ("seccomp", "landlock", "subreaper"):
            metrics.sandbox_layer.labels(layer=name).set(1 if fields[name] else 0)
        metrics.sandbox_layer.labels(layer="gvisor").set(1 if layers.gvisor else 0)
    log.info("sandbox layers", extra={"event": "sandbox_layers", **{k: v for k, v in fields.items()}})
    if not layers.landlock:
        log.warning("Landlock does not hold here: session file access is confined by the policy's "
                    "open() and the container only", extra={"event": "layer_missing", "layer": "landlock",
                                                            "detail": layers.detail})
    if not layers.seccomp and seccomp.SUPPORTED:
        raise LayerMissingError(f"the worker seccomp filter does not hold on this kernel ({layers.kernel}): "
                                f"{layers.detail}; refusing to serve sessions without it")
