"""Server configuration: one table of settings, read from CLI flags and SANDCELL_* environment.

Every setting is a field of ServerConfig or SessionLimits with its help text in metadata, so
the flags, the environment names and the README table come from one place
(`python -m executor --config-table` prints the table).
"""
from __future__ import annotations

import argparse
import os
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any, Mapping

__all__ = ["SessionLimits", "ServerConfig", "DEFAULT_ALLOWED_IMPORTS", "parse_config", "config_table",
           "LimitError"]

MiB = 1 << 20
DEFAULT_ALLOWED_IMPORTS = ("collections", "datetime", "itertools", "math", "queue", "random", "re",
                           "stat", "statistics", "time", "unicodedata")


def _opt(default, help: str, env: str | None = None):
    return field(default=default, metadata={"help": help, "env": env})


@dataclass(frozen=True)
class SessionLimits:
    """Per-session limits. On the server these are maxima (and defaults); a request may lower them."""

    wall_timeout_ms: int = _opt(30_000, "Wall time one execute may take; then TimeoutError inside the code, then a kill after the grace period")
    cpu_per_execute_ms: int = _opt(30_000, "CPU time one execute may use")
    session_cpu_ms: int = _opt(600_000, "CPU time a session may use over its life")
    memory_bytes: int = _opt(512 * MiB, "Address space a session's worker may map")
    output_bytes: int = _opt(1 * MiB, "stdout+stderr bytes one execute may print before it is stopped")
    file_size_bytes: int = _opt(64 * MiB, "Largest file a session may write")
    workdir_bytes: int = _opt(256 * MiB, "Total bytes a session's work directory may hold")
    open_files: int = _opt(64, "File descriptors a worker may hold open")
    idle_ttl_ms: int = _opt(1_800_000, "Idle time after which a session is closed")
    max_lifetime_ms: int = _opt(86_400_000, "Time after which a session is closed regardless")

    def lowered_by(self, requested: Mapping[str, int]) -> "SessionLimits":
        """These maxima lowered by a request's nonzero fields; raising one is an error."""
        if not any(requested.values()):
            return self  # the common case: the server's limits as they are
        changes = {}
        for f in fields(self):
            want = int(requested.get(f.name) or 0)
            if not want:
                continue
            ceiling = getattr(self, f.name)
            if want > ceiling:
                raise LimitError(f.name, want, ceiling)
            changes[f.name] = want
        return replace(self, **changes)


class LimitError(ValueError):
    """A request asked for more than the server allows."""

    def __init__(self, name: str, wanted: int, ceiling: int):
        super().__init__(f"limits.{name}={wanted} exceeds the server maximum {ceiling}; "
                         f"ask for at most {ceiling} or leave it 0 for the default")
        self.name, self.wanted, self.ceiling = name, wanted, ceiling


@dataclass(frozen=True)
class ServerConfig:
    """How the executor serves. Flags: --name-with-dashes; environment: SANDCELL_NAME."""

    host: str = _opt("127.0.0.1", "Address to listen on")
    port: int = _opt(50051, "Port to listen on; 0 picks a free one")
    ready_file: str = _opt("", "When serving, write the bound host:port to this file")
    parent_pid: int = _opt(0, "Shut down gracefully when this process exits (an embedding program); 0: never")
    token: str = _opt("", "Bearer token clients must send (authorization metadata); empty disables auth. Prefer the environment: a flag shows in the process list")
    tokens_file: str = _opt("", "Credentials file: one tenant per line, '<tenant> <token or sha256:hex or -> [sessions=N executes=N cpu_s_per_min=X nice=N]'; re-read on change and SIGHUP (README: Shared servers)")
    tls_cert: str = _opt("", "PEM certificate chain to serve TLS with (with --tls-key); reloaded when the file changes")
    tls_key: str = _opt("", "PEM private key of --tls-cert")
    tls_client_ca: str = _opt("", "PEM CA bundle: clients must present a certificate it signed (mTLS); the tenant is its subject CN, else its first SAN")
    tenant_max_sessions: int = _opt(0, "Sessions one tenant may hold; 0: --max-sessions")
    tenant_max_concurrent_executes: int = _opt(0, "Executes one tenant may run at once; 0: all slots when single-tenant, 3/4 of --max-concurrent-executes when tenants are configured")
    tenant_cpu_seconds_per_minute: float = _opt(0.0, "CPU seconds one tenant's executes may use per minute (sliding); 0: unlimited")
    execute_queue_length: int = _opt(0, "Executes that may wait for a slot, across tenants; 0: 4 x --max-concurrent-executes")
    execute_queue_timeout_ms: int = _opt(5_000, "Longest an execute waits for a slot before RESOURCE_EXHAUSTED with a retry hint")
    workdir_root: str = _opt("", "Directory for session work dirs (a tmpfs in the container); default: a private temp dir")
    max_sessions: int = _opt(100, "Sessions open at once")
    max_concurrent_executes: int = _opt(16, "Executes running at once across sessions")
    max_code_bytes: int = _opt(1 * MiB, "Largest code an execute may send")
    checkpoint_bytes: int = _opt(64 * MiB, "Checkpoint space of each session (a sealed in-memory file: a session can't write past it, and it holds two checkpoints, so state up to about half of it is protected); all sessions together hold at most max-sessions times this, in memory, allocated only as written")
    max_message_bytes: int = _opt(4 * MiB, "Largest gRPC message accepted")
    allowed_imports: tuple[str, ...] = _opt(DEFAULT_ALLOWED_IMPORTS, "Modules every session may import (comma-separated; pkg or pkg.*)")
    import_ceiling: tuple[str, ...] = _opt((), "Extra modules a session may ask for at creation (comma-separated; pkg or pkg.*)")
    file_access: bool = _opt(True, "Allow open() inside sessions (confined to the session's work dir)")
    kill_grace_ms: int = _opt(2_000, "Time after the soft timeout before the worker is killed")
    worker_uid_base: int = _opt(200_000, "When run as root: workers run as uid base+N, one uid per session")
    threads: int = _opt(32, "gRPC server threads")
    shutdown_grace_s: float = _opt(10.0, "On SIGTERM: time to let running executes finish")
    metrics_port: int = _opt(0, "Serve Prometheus metrics on this port; 0 disables")
    log_level: str = _opt("INFO", "Log level")
    log_json: bool = _opt(True, "Structured (JSON) logs on stderr")
    test_policy_off: bool = _opt(False, "TESTS ONLY: every session runs without the language policy (the jail unchanged), to test the layers behind it. Refused unless SANDCELL_UNSAFE_TEST_MODE=policy-off is set and /etc/sandcell/production (in the image) is absent")
    replica_id: str = _opt("", "This replica's name (a pod's name); ids of the sessions it creates start with it, so any replica can route a call to the owner (executor/routing.py). Empty: one replica, no routing")
    peers: tuple[str, ...] = _opt((), "The replicas, for routing and spreading creates (comma-separated host:port, or dns:NAME:PORT for every address NAME resolves to)")
    peer_address_template: str = _opt("{replica}:50051", "Where the replica named {replica} is reached")
    peer_token: str = _opt("", "Bearer token replicas authenticate to each other with; a forwarded call names the caller's tenant")
    limits: SessionLimits = field(default_factory=SessionLimits)


def _env_name(name: str) -> str:
    return "SANDCELL_" + name.upper()


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _boolean(raw: str) -> bool:
    word = raw.strip().lower()
    if word not in _TRUE + _FALSE:
        raise ValueError(f"{raw!r} is not a boolean: use one of {', '.join(_TRUE + _FALSE)}")
    return word in _TRUE


_boolean.__name__ = "boolean"  # argparse names the type in its error


def _convert(kind: Any, raw: str):
    if kind in (bool, "bool"):
        return _boolean(raw)
    if kind in (int, "int"):
        return int(raw)
    if kind in (float, "float"):
        return float(raw)
    if kind in (tuple, "tuple[str, ...]"):
        return tuple(p.strip() for p in raw.split(",") if p.strip())
    return raw


def _settings():
    """(owner, field) for every setting, limits included."""
    for f in fields(ServerConfig):
        if f.name != "limits":
            yield ServerConfig, f
    for f in fields(SessionLimits):
        yield SessionLimits, f


def _default(f):
    return f.default if f.default is not MISSING else f.default_factory()


def parse_config(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> ServerConfig:
    """Flags override environment, which overrides defaults."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="sandcell-executor", description="Serve the sandcell executor")
    parser.add_argument("--config-table", action="store_true", help="Print the settings table (Markdown) and exit")
    for _owner, f in _settings():
        flag = "--" + f.name.replace("_", "-")
        default = _default(f)
        shown = ",".join(default) if isinstance(default, tuple) else default
        # The default shown is the built-in one; the environment variable overrides it.
        text = (f"{f.metadata['help']} (default: {shown if shown != '' else 'empty'}; "
                f"environment: {_env_name(f.name)})").replace("%", "%%")
        if f.type in (bool, "bool"):
            parser.add_argument(flag, type=_boolean, default=None, help=text)
        else:
            parser.add_argument(flag, default=None, help=text)
    args = parser.parse_args(argv)
    if args.config_table:
        print(config_table())
        raise SystemExit(0)
    values: dict[type, dict] = {ServerConfig: {}, SessionLimits: {}}
    for owner, f in _settings():
        raw = getattr(args, f.name)
        if raw is None:
            raw = environ.get(_env_name(f.name)) or None  # empty: unset (compose passes "" through)
        if raw is not None:
            try:
                values[owner][f.name] = _convert(f.type, raw) if isinstance(raw, str) else raw
            except ValueError as exc:
                parser.error(f"--{f.name.replace('_', '-')} / {_env_name(f.name)}: {exc}")
    return ServerConfig(**values[ServerConfig], limits=SessionLimits(**values[SessionLimits]))


def config_table() -> str:
    rows = ["| flag | environment | default | meaning |", "|---|---|---|---|"]
    for _owner, f in _settings():
        default = _default(f)
        shown = ",".join(default) if isinstance(default, tuple) else default
        rows.append(f"| `--{f.name.replace('_', '-')}` | `{_env_name(f.name)}` | `{shown}` | {f.metadata['help']} |")
    return "\n".join(rows)
