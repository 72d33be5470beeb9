"""The container layer's settings, defined once (DESIGN.md "Isolation", 1).

docker/compose.yaml, the Docker SDK launcher (sandcell/launcher.py) and the Kubernetes pod
spec each express these settings in their own syntax. The launcher builds its container
spec from this module (`sdk_run_kwargs`); the others are checked against it by
tests/test_hardening.py, through the `*_drift` functions below, each of which returns a list
of human-readable differences (empty: no drift). `inspect_drift` checks what Docker actually
applied (`docker inspect`), whichever tool started the container.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Tmpfs", "Role", "Hardening", "HARDENING", "SECCOMP_PROFILE", "EXECUTOR_PORT",
           "seccomp_profile", "sdk_run_kwargs", "compose_drift", "inspect_drift", "pod_container_drift"]

SECCOMP_PROFILE = Path(__file__).resolve().parents[1] / "docker" / "seccomp.json"
EXECUTOR_PORT = 50051  # inside the containers; the host side is published on loopback only

_MiB = 1 << 20
_GiB = 1 << 30


@dataclass(frozen=True)
class Tmpfs:
    """A size-capped in-memory mount owned by the service user, with no devices, setuid or executables."""
    path: str
    size_bytes: int
    mode: str = "0700"
    flags: tuple[str, ...] = ("noexec", "nosuid", "nodev")

    def options(self, uid: int, gid: int) -> str:
        """Docker's tmpfs option string (compose `tmpfs:` entries and the SDK's `tmpfs=`)."""
        return ",".join([f"size={_docker_size(self.size_bytes)}", f"uid={uid}", f"gid={gid}",
                         f"mode={self.mode}", *self.flags])


@dataclass(frozen=True)
class Role:
    """Resource ceilings of one container: the executor, or the forwarder in front of it."""
    memory_bytes: int           # memory and memory+swap alike: no swap
    pids_limit: int             # processes + threads
    cpus: float
    tmpfs: tuple[Tmpfs, ...] = ()


@dataclass(frozen=True)
class Hardening:
    uid: int = 10001
    gid: int = 10001
    read_only: bool = True
    cap_drop: tuple[str, ...] = ("ALL",)
    cap_add: tuple[str, ...] = ()              # none: the worker jail needs no capability
    no_new_privileges: bool = True
    seccomp: Path = SECCOMP_PROFILE            # Docker's default, tightened
    init: bool = True                          # Docker's init as PID 1: reaps orphans
    log_driver: str = "json-file"              # bounded logs: a chatty session cannot fill the disk
    log_max_size: str = "10m"
    log_max_file: str = "3"
    # no egress: the executor sits only on an internal bridge without an IPv4 gateway to the host
    network_internal: bool = True
    network_driver_opts: tuple[tuple[str, str], ...] = (("com.docker.network.bridge.inhibit_ipv4", "true"),)
    publish_host: str = "127.0.0.1"            # the forwarder's port, never on all interfaces by default
    roles: tuple[tuple[str, Role], ...] = field(default_factory=lambda: (
        ("executor", Role(memory_bytes=2 * _GiB, pids_limit=512, cpus=1.5, tmpfs=(
            Tmpfs("/sessions", 1 * _GiB),     # session work dirs (--workdir-root /sessions)
            Tmpfs("/tmp", 256 * _MiB),        # the server's checkpoints
        ))),
        ("forwarder", Role(memory_bytes=128 * _MiB, pids_limit=32, cpus=0.5)),
    ))

    @property
    def user(self) -> str:
        return f"{self.uid}:{self.gid}"

    def role(self, name: str) -> Role:
        return dict(self.roles)[name]

    def security_opt_names(self) -> list[str]:
        return ["no-new-privileges:true"] if self.no_new_privileges else []


HARDENING = Hardening()


def _docker_size(n: int) -> str:
    for unit, scale in (("g", _GiB), ("m", _MiB), ("k", 1024)):
        if n % scale == 0:
            return f"{n // scale}{unit}"
    return str(n)


def _parse_size(text: str | int) -> int:
    if isinstance(text, int):
        return text
    text = str(text).strip().lower().rstrip("b")
    scale = {"k": 1024, "m": _MiB, "g": _GiB}.get(text[-1:], 1)
    return int(float(text.rstrip("kmg")) * scale)


def seccomp_profile(h: Hardening = HARDENING) -> dict:
    return json.loads(h.seccomp.read_text())


def sdk_run_kwargs(role: str, h: Hardening = HARDENING) -> dict[str, Any]:
    """Keyword arguments for docker-py's `containers.create()` carrying every setting of `role`."""
    r = h.role(role)
    return {
        "user": h.user,
        "read_only": h.read_only,
        "cap_drop": list(h.cap_drop),
        "cap_add": list(h.cap_add) or None,
        # the daemon wants the profile's JSON, not a path (the CLI and compose read the file)
        "security_opt": h.security_opt_names() + [f"seccomp={json.dumps(seccomp_profile(h))}"],
        "init": h.init,
        "tmpfs": {t.path: t.options(h.uid, h.gid) for t in r.tmpfs},
        "mem_limit": r.memory_bytes,
        "memswap_limit": r.memory_bytes,
        "pids_limit": r.pids_limit,
        "nano_cpus": int(r.cpus * 1e9),
        "log_config": {"Type": h.log_driver, "Config": {"max-size": h.log_max_size, "max-file": h.log_max_file}},
    }


def _tmpfs_drift(where: str, mounts: dict[str, str], r: Role, h: Hardening) -> list[str]:
    out = []
    if set(mounts) != {t.path for t in r.tmpfs}:
        out.append(f"{where}: tmpfs mounts {sorted(mounts)} != {[t.path for t in r.tmpfs]}")
    for t in r.tmpfs:
        if t.path not in mounts:
            continue
        got = dict(o.split("=", 1) if "=" in o else (o, "") for o in mounts[t.path].split(",") if o)
        want = dict(o.split("=", 1) if "=" in o else (o, "") for o in t.options(h.uid, h.gid).split(","))
        if _parse_size(got.pop("size", "0")) != t.size_bytes or got != {k: v for k, v in want.items() if k != "size"}:
            out.append(f"{where}: tmpfs {t.path} is {mounts[t.path]!r}, want {t.options(h.uid, h.gid)!r}")
    return out


def compose_drift(compose: dict, role_of: dict[str, str], h: Hardening = HARDENING,
                  compose_dir: Path | None = None) -> list[str]:
    """Differences between a parsed compose file (yaml.safe_load: anchors merged) and the
    hardening. `role_of` maps service name → role ("executor"/"forwarder")."""
    out: list[str] = []
    services = compose.get("services", {})
    for name, role in role_of.items():
        svc, r, where = services.get(name), h.role(role), f"compose service {name}"
        if svc is None:
            out.append(f"{where}: missing")
            continue

        def expect(key, got, want):
            if got != want:
                out.append(f"{where}: {key} is {got!r}, want {want!r}")

        expect("user", str(svc.get("user")), h.user)
        expect("read_only", svc.get("read_only", False), h.read_only)
        expect("cap_drop", sorted(svc.get("cap_drop", [])), sorted(h.cap_drop))
        expect("cap_add", sorted(svc.get("cap_add", [])), sorted(h.cap_add))
        expect("init", svc.get("init", False), h.init)
        opts = svc.get("security_opt", [])
        for opt in h.security_opt_names():
            if opt not in opts:
                out.append(f"{where}: security_opt lacks {opt!r}")
        profiles = [o.split(":", 1)[1] for o in opts if o.startswith("seccomp:") or o.startswith("seccomp=")]
        if len(profiles) != 1:
            out.append(f"{where}: security_opt names {len(profiles)} seccomp profiles, want 1")
        elif compose_dir is not None and (compose_dir / profiles[0]).resolve() != h.seccomp.resolve():
            out.append(f"{where}: seccomp profile {profiles[0]!r} is not {h.seccomp}")
        expect("mem_limit", _parse_size(svc.get("mem_limit", 0)), r.memory_bytes)
        expect("memswap_limit", _parse_size(svc.get("memswap_limit", 0)), r.memory_bytes)
        expect("pids_limit", svc.get("pids_limit"), r.pids_limit)
        expect("cpus", float(svc.get("cpus", 0)), r.cpus)
        mounts = dict(m.split(":", 1) for m in svc.get("tmpfs", []))
        out += _tmpfs_drift(where, mounts, r, h)
        logging = svc.get("logging", {})
        expect("logging", (logging.get("driver"), logging.get("options", {})),
               (h.log_driver, {"max-size": h.log_max_size, "max-file": h.log_max_file}))
        networks = svc.get("networks", [])
        internal = [n for n in networks if compose.get("networks", {}).get(n, {}).get("internal")]
        if role == "executor" and (not internal or internal != list(networks)):
            out.append(f"{where}: networks {networks}: the executor must be on internal networks only")
        for n in internal:
            opts = compose["networks"][n].get("driver_opts", {})
            for k, v in h.network_driver_opts:
                expect(f"network {n} driver_opts[{k}]", str(opts.get(k)).lower(), v)
        for port in svc.get("ports", []):
            host = str(port).rsplit(":", 2)[0] if str(port).count(":") >= 2 else "0.0.0.0"
            if h.publish_host not in host:
                out.append(f"{where}: port {port!r} is not published on {h.publish_host} by default")
    return out


def inspect_drift(attrs: dict, role: str, h: Hardening = HARDENING,
                  networks: dict[str, dict] | None = None) -> list[str]:
    """Differences between a container as Docker applied it (`docker inspect` / the SDK's
    `container.attrs`) and the hardening. `networks`: `docker network inspect` of each
    network the container is on, keyed by name, to check the executor's has no egress."""
    hc, r, where = attrs["HostConfig"], h.role(role), f"container {attrs.get('Name', '?').lstrip('/')}"
    out: list[str] = []

    def expect(key, got, want):
        if got != want:
            out.append(f"{where}: {key} is {got!r}, want {want!r}")

    expect("User", attrs["Config"].get("User"), h.user)
    expect("ReadonlyRootfs", hc.get("ReadonlyRootfs"), h.read_only)
    expect("CapDrop", sorted(hc.get("CapDrop") or []), sorted(h.cap_drop))
    expect("CapAdd", sorted(hc.get("CapAdd") or []), sorted(h.cap_add))
    expect("Privileged", hc.get("Privileged"), False)
    expect("Init", bool(hc.get("Init")), h.init)
    opts = hc.get("SecurityOpt") or []
    for opt in h.security_opt_names():
        if opt not in opts:
            out.append(f"{where}: SecurityOpt lacks {opt!r}")
    profiles = [json.loads(o.split("=", 1)[1]) for o in opts if o.startswith("seccomp=")]
    if profiles != [seccomp_profile(h)]:
        out.append(f"{where}: the seccomp profile is not {h.seccomp}")
    expect("Memory", hc.get("Memory"), r.memory_bytes)
    expect("MemorySwap", hc.get("MemorySwap"), r.memory_bytes)
    expect("PidsLimit", hc.get("PidsLimit"), r.pids_limit)
    expect("NanoCpus", hc.get("NanoCpus"), int(r.cpus * 1e9))
    out += _tmpfs_drift(where, hc.get("Tmpfs") or {}, r, h)
    log = hc.get("LogConfig") or {}
    expect("LogConfig", (log.get("Type"), log.get("Config")),
           (h.log_driver, {"max-size": h.log_max_size, "max-file": h.log_max_file}))
    for binding in (hc.get("PortBindings") or {}).values():
        for b in binding or []:
            expect("published HostIp", b.get("HostIp"), h.publish_host)
    if role == "executor":
        attached = list((attrs.get("NetworkSettings") or {}).get("Networks") or {})
        if networks is None:
            out.append(f"{where}: network details not given, cannot check egress")
        for name in attached:
            net = (networks or {}).get(name)
            if net is None:
                continue
            expect(f"network {name} Internal", net.get("Internal"), h.network_internal)
            for k, v in h.network_driver_opts:
                expect(f"network {name} option {k}", str((net.get("Options") or {}).get(k)).lower(), v)
        if role == "executor" and (hc.get("PortBindings") or {}):
            out.append(f"{where}: the executor publishes ports itself; only the forwarder may")
    return out


def pod_container_drift(pod_spec: dict, container_name: str, h: Hardening = HARDENING,
                        role: str = "executor") -> list[str]:
    """Differences between a Kubernetes pod spec (the `spec:` of a Pod or of a Deployment's
    template) and the hardening, for the named container. What a pod cannot say (a pids limit:
    the kubelet's podPidsLimit; no egress: a NetworkPolicy; init: tini in the image or
    shareProcessNamespace) is left to the caller to check beside it."""
    out: list[str] = []
    where = f"pod container {container_name}"
    containers = {c["name"]: c for c in pod_spec.get("containers", [])}
    c = containers.get(container_name)
    if c is None:
        return [f"{where}: missing"]
    r = h.role(role)
    pod_sc = pod_spec.get("securityContext", {})
    sc = {**pod_sc, **c.get("securityContext", {})}  # the container's own settings win

    def expect(key, got, want):
        if got != want:
            out.append(f"{where}: {key} is {got!r}, want {want!r}")

    expect("runAsUser", sc.get("runAsUser"), h.uid)
    expect("runAsGroup", sc.get("runAsGroup"), h.gid)
    expect("runAsNonRoot", sc.get("runAsNonRoot"), True)
    expect("readOnlyRootFilesystem", sc.get("readOnlyRootFilesystem"), h.read_only)
    expect("allowPrivilegeEscalation", sc.get("allowPrivilegeEscalation"), not h.no_new_privileges)
    expect("privileged", sc.get("privileged", False), False)
    caps = sc.get("capabilities", {})
    expect("capabilities.drop", sorted(caps.get("drop", [])), sorted(h.cap_drop))
    expect("capabilities.add", sorted(caps.get("add", [])), sorted(h.cap_add))
    seccomp = sc.get("seccompProfile", {})
    if seccomp.get("type") != "Localhost" or Path(seccomp.get("localhostProfile", "")).name != h.seccomp.name:
        out.append(f"{where}: seccompProfile is {seccomp!r}, want Localhost .../{h.seccomp.name}")
    limits = c.get("resources", {}).get("limits", {})
    expect("limits.memory", _parse_k8s_quantity(limits.get("memory", "0")), r.memory_bytes)
    expect("limits.cpu", _parse_k8s_quantity(limits.get("cpu", "0")), r.cpus)
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    mounts = {m["mountPath"]: volumes.get(m["name"], {}) for m in c.get("volumeMounts", [])}
    for t in r.tmpfs:
        empty = mounts.get(t.path, {}).get("emptyDir")
        if empty is None or empty.get("medium") != "Memory" or \
                _parse_k8s_quantity(empty.get("sizeLimit", "0")) != t.size_bytes:
            out.append(f"{where}: {t.path} is not an in-memory emptyDir of {t.size_bytes} bytes")
    return out


def _parse_k8s_quantity(q: str | int | float) -> float | int:
    q = str(q)
    for suffix, scale in (("Ki", 1024), ("Mi", _MiB), ("Gi", _GiB), ("m", 0.001)):
        if q.endswith(suffix):
            v = float(q[: -len(suffix)]) * scale
            return int(v) if scale >= 1 else v
    return float(q) if "." in q else int(q)
