"""Sessions: one jailed worker each, forked by the zygote; executes, limits, restore, TTLs."""
from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import shutil
import signal
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Iterator

from executor import ipc
from executor.cancel import CANCEL_SIGNAL, Cancellation
from executor.logs import SessionLog
from executor.untrusted import MalformedMessage, OutputBudget, clean_message, clean_ready, short_text
from executor.config import ServerConfig
from executor.admission import Admission, CpuBudget
from executor.cpushare import set_weight
from executor.errors import (RequestTooLargeError, SessionsQuotaError, SessionBusyError,
                             SessionClosedError, SessionNotFoundError, TooManySessionsError,
                             ShuttingDownError, WorkerStartError)
from executor.fdbudget import check_budget
from executor.floors import below_floor
from executor.leftovers import SESSIONS_PREFIX, STATE_PREFIX, owned_dir, sweep
from executor.oom import oom_kills
from executor.policy.off import policy_off_permitted
from executor.snapshot import checkpoint_fd, wipe_checkpoint
from executor.tenants import DEFAULT_TENANT, Tenant, audit, server_quotas
from executor.outcome import limit_message
from executor.restore import CheckpointRejected, own_ready, restore_text
from executor.spec import SessionSpec, bounded, import_within, validate_spec
from executor.worker_handle import WorkerHandle
from executor.supervisor import ZygoteSupervisor
from executor.zygote_handle import ZygoteHandle

__all__ = ["SessionManager", "SessionRecord", "SessionSpec", "import_within"]

log = logging.getLogger("sandcell.sessions")
_READY_TIMEOUT_S = 15.0
# Address space a worker needs beyond what the zygote already maps, to run any code at all.
_MEMORY_HEADROOM_BYTES = 32 << 20


@dataclass
class SessionRecord:
    session_id: str
    spec: SessionSpec
    workdir: str
    ckpt_fd: int
    uid: int | None
    tenant: Tenant  # its owner
    create_time: float = field(default_factory=time.time)
    last_active: float = field(default_factory=time.time)
    execute_count: int = 0
    cpu_used_ms: int = 0
    restore_count: int = 0
    unsaved: int = 0  # executes since the last one whose state was checkpointed (checkpoint_error)
    closed: bool = False
    released: bool = False  # its worker, checkpoint, work dir and uid are given back (under lock)
    busy: bool = False
    worker: WorkerHandle | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class SessionManager:
    def __init__(self, config: ServerConfig, metrics=None):
        if config.test_policy_off:  # never from a request: a start flag, refused in production
            refused = policy_off_permitted()
            if refused:
                raise ValueError(refused)
            log.warning("TEST MODE: sessions run without the language policy (--test-policy-off)",
                        extra={"event": "test_policy_off"})
        self.config = config
        self.metrics = metrics
        self._sessions: dict[str, SessionRecord] = {}
        self._lock = threading.Lock()
        self.admission = Admission(config.max_concurrent_executes,
                                   config.execute_queue_length or 4 * config.max_concurrent_executes,
                                   config.execute_queue_timeout_ms / 1000)
        self.cpu_budget = CpuBudget()
        self.default_tenant = Tenant(DEFAULT_TENANT, server_quotas(config))  # callers that name none
        self._held: dict[str, int] = {}  # tenant name -> sessions it holds, under _lock
        self._logs = SessionLog(log)  # lines about a session's own doings: clipped, rate-limited
        self._executes_by_status: dict = {}  # status -> its child of metrics.executes
        self._oom_claimed = oom_kills() or 0  # OOM kills before we started are not ours
        self.draining = False  # set on graceful shutdown: running executes finish, no new sessions
        if (low := below_floor(config.limits)) is not None:
            raise ValueError(f"--{low[0].replace('_', '-')}: {low[1]}")
        check_budget(config.max_sessions)
        if config.workdir_root:
            os.makedirs(config.workdir_root, mode=0o700, exist_ok=True)
        # Private (0700) and marked as ours; what a killed predecessor left is removed first.
        sweep(config.workdir_root, SESSIONS_PREFIX)
        sweep(None, STATE_PREFIX)
        self._root = owned_dir(config.workdir_root, SESSIONS_PREFIX)
        self._state_dir = owned_dir(None, STATE_PREFIX)  # never visible to workers
        self._is_root = os.geteuid() == 0
        self._id_prefix = f"{config.replica_id}." if config.replica_id else ""
        if self._is_root:  # per-session uids may enter only their own dir
            for path in filter(None, (config.workdir_root, self._root)):
                os.chmod(path, 0o711)
        self._free_uids = list(range(config.worker_uid_base, config.worker_uid_base + config.max_sessions))
        preload = tuple(dict.fromkeys(config.allowed_imports + config.import_ceiling))
        # Sessions with the default allowlist (no extra imports) adopt a policy the zygote built.
        default_session = {"allowed_imports": list(dict.fromkeys(config.allowed_imports)),
                           "file_access": config.file_access}
        self.zygote = ZygoteSupervisor(lambda on_lost: ZygoteHandle(
            preload, default_session=default_session, on_lost=on_lost))
        self.min_memory_bytes = self.zygote.mapped_bytes + _MEMORY_HEADROOM_BYTES
        if config.limits.memory_bytes < self.min_memory_bytes:
            self.zygote.close()
            raise ValueError(f"--memory-bytes={config.limits.memory_bytes} is below the "
                             f"{self.min_memory_bytes} bytes a session worker needs (the runtime maps "
                             f"{self.zygote.mapped_bytes}); raise it")
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap_loop, name="session-reaper", daemon=True)
        self._reaper.start()

    # -- lifecycle --
    def create(self, limits: dict, extra_imports: list[str], tools: list[dict], file_access: bool,
               tenant: Tenant | None = None) -> SessionRecord:
        if self.draining:
            raise ShuttingDownError("the executor is shutting down and takes no new sessions; "
                                    "create the session on another replica, or retry once it has restarted")
        spec = self._validate(limits, extra_imports, tools, file_access)
        tenant = tenant or self.default_tenant
        with self._lock:
            if len(self._sessions) >= self.config.max_sessions:
                raise TooManySessionsError(
                    f"the server holds its maximum of {self.config.max_sessions} sessions; close one first",
                    max_sessions=self.config.max_sessions)
            held = self._held.get(tenant.name, 0)
            if held >= tenant.quotas.max_sessions:
                raise SessionsQuotaError(
                    f"tenant {tenant.name!r} holds its maximum of {tenant.quotas.max_sessions} sessions "
                    "(quota max_sessions); close one first", 1.0, limit=tenant.quotas.max_sessions)
            sid = self._id_prefix + secrets.token_urlsafe(18)  # names its replica (executor/routing.py)
            uid = self._free_uids.pop() if self._is_root else None
            rec = SessionRecord(sid, spec, os.path.join(self._root, sid), -1, uid, tenant)
            self._sessions[sid] = rec
            self._held[tenant.name] = held + 1
        if self.metrics:  # up here, so that a failed start's _discard brings it back down
            self.metrics.tenant_sessions_open.labels(tenant=tenant.name).inc()
        try:
            os.mkdir(rec.workdir, 0o700)
            if uid is not None:
                os.chown(rec.workdir, uid, uid)
            rec.ckpt_fd = checkpoint_fd(self.config.checkpoint_bytes)  # its own budget, sealed
            self._start_worker(rec, restore=False)
        except BaseException as exc:
            self._discard(rec)
            if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOSPC):
                raise TooManySessionsError(f"the server is out of resources for another session ({exc.strerror}); "
                                           "close a session or retry later", max_sessions=self.config.max_sessions) from exc
            raise
        if self.metrics:
            self.metrics.sessions_created.labels(tenant=tenant.name).inc()
        return rec

    def _validate(self, limits, extra_imports, tools, file_access) -> SessionSpec:
        return validate_spec(self.config, self.min_memory_bytes, self.zygote.mapped_bytes,
                             limits, extra_imports, tools, file_access)

    def _start_worker(self, rec: SessionRecord, restore: bool) -> dict:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        remaining = max(0, rec.spec.limits.session_cpu_ms - rec.cpu_used_ms)
        spec = {
            "session_id": rec.session_id, "workdir": rec.workdir, "uid": rec.uid, "restore": restore,
            "limits": asdict(rec.spec.limits), "allowed_imports": list(rec.spec.allowed_imports),
            "file_access": rec.spec.file_access, "cpu_remaining_ms": remaining,
            "test_policy_off": self.config.test_policy_off,
            "tools": [{"name": t["name"], "params": t.get("params", [])} for t in rec.spec.tools],
        }
        try:
            forked = self.zygote.spawn(spec, theirs.fileno(), rec.ckpt_fd)
        finally:
            theirs.close()
        worker = WorkerHandle(ours)
        rec.worker = worker
        if forked.done() and forked.exception() is None:
            worker.child = forked.result()  # a spare took it: the zygote named it already
            set_weight(worker.pid, rec.tenant.quotas.nice)
            if not restore:
                # It jails itself while the reply travels to the client; no code reaches it
                # before that, because it reads its channel only once jailed, and the first
                # execute reads "ready" first (_run).
                worker.ready_pending = True
                return {}
        # A restoring worker runs the checkpoint's code before it is ready: only as long as
        # an execute could run (the checkpoint is the session's own, i.e. hostile, data).
        lim = rec.spec.limits
        ready = self._wait_ready(worker, min(_READY_TIMEOUT_S, (lim.wall_timeout_ms + self.config.kill_grace_ms) / 1000)
                                 if restore else _READY_TIMEOUT_S)
        if worker.child is None:
            try:
                worker.child = forked.result(timeout=_READY_TIMEOUT_S)
            except Exception as exc:  # the zygote is gone
                worker.sock.close()
                raise WorkerStartError(f"the session worker failed to start: {exc}") from exc
            set_weight(worker.pid, rec.tenant.quotas.nice)
        ready = own_ready(ready, worker)
        if ready.get("op") != "ready":
            worker.kill()
            raise (CheckpointRejected if restore else WorkerStartError)(
                f"the session worker failed to start: {ready.get('error', ready)}")
        return ready

    def _wait_ready(self, worker: WorkerHandle, timeout_s: float = _READY_TIMEOUT_S) -> dict:
        """The worker's "ready", checked; {"op": "fatal", ...} for anything else."""
        try:
            msg = worker.reader.recv(deadline=time.monotonic() + timeout_s)
        except (OSError, ipc.ChannelClosed, ValueError) as exc:  # TimeoutError is an OSError
            return {"op": "fatal", "error": f"{type(exc).__name__}: {exc}"}
        if msg.get("op") == "fatal":
            return {"op": "fatal", "error": short_text(msg.get("error"), 2000)}
        try:
            return clean_ready(msg)
        except MalformedMessage as exc:
            return {"op": "fatal", "error": f"malformed ready: {exc}"}

    def _kill(self, worker: WorkerHandle) -> None:
        worker.kill()

    def _halt(self, worker: WorkerHandle) -> None:
        """Stops a worker another thread is reading: SIGKILL and a shutdown of the channel (which
        wakes that reader), but no close, so the descriptor number can't be reused under it."""
        worker.killed_by_us = True
        _signal(worker, signal.SIGKILL)
        with contextlib.suppress(OSError):
            worker.sock.shutdown(socket.SHUT_RDWR)

    def get(self, session_id: str, tenant: Tenant | None = None) -> SessionRecord:
        """The open session `session_id`; another tenant's is NOT_FOUND, exactly like one that never was."""
        rec = self._sessions.get(session_id)
        if rec is None or rec.closed or (tenant is not None and rec.tenant.name != tenant.name):
            shown = bounded(session_id)  # a caller's string: echoed as a bounded prefix only
            raise SessionNotFoundError(f"no session {shown!r}: it was closed, expired, or never existed; "
                                       "create a new session", session_id=shown)
        return rec

    def list(self, tenant: Tenant | None = None) -> list[SessionRecord]:
        """Open sessions, oldest first; only `tenant`'s when given."""
        return sorted((r for r in self._sessions.values()
                       if not r.closed and (tenant is None or r.tenant.name == tenant.name)),
                      key=lambda r: r.create_time)

    def close(self, session_id: str, tenant: Tenant | None = None) -> SessionRecord:
        rec = self.get(session_id, tenant)
        self._discard(rec)
        return rec

    def _discard(self, rec: SessionRecord) -> None:
        """Closes a session. An execute running in it is stopped and answers SESSION_CLOSED;
        its thread then gives the resources back (it may still be using the checkpoint)."""
        with self._lock:
            if rec.closed:
                return
            rec.closed = True
            if self._sessions.pop(rec.session_id, None) is not None:
                held = self._held.pop(rec.tenant.name) - 1
                if held:
                    self._held[rec.tenant.name] = held
        self._logs.forget(rec.session_id)
        if not self._release(rec) and rec.worker is not None:
            self._halt(rec.worker)
        if self.metrics:
            self.metrics.sessions_closed.labels(tenant=rec.tenant.name).inc()
            self.metrics.tenant_sessions_open.labels(tenant=rec.tenant.name).dec()

    def _release(self, rec: SessionRecord) -> bool:
        """Gives back a closed session's worker, checkpoint, work dir and uid, unless an execute
        holds the session (False): then that execute's thread calls this when it ends."""
        if not rec.lock.acquire(blocking=False):
            return False
        try:
            if rec.released:
                return True
            rec.released = True
            self._free(rec)
        finally:
            rec.lock.release()
        return True

    def _free(self, rec: SessionRecord) -> None:
        if rec.worker is not None:
            self._kill(rec.worker)
        if rec.ckpt_fd >= 0:
            os.close(rec.ckpt_fd)
            rec.ckpt_fd = -1
        shutil.rmtree(rec.workdir, ignore_errors=True)
        if rec.uid is not None:
            with self._lock:
                self._free_uids.append(rec.uid)

    def _reap_loop(self) -> None:
        while not self._stop.wait(1.0):
            now = time.time()
            for rec in list(self._sessions.values()):
                lim = rec.spec.limits
                idle = not rec.busy and now - rec.last_active > lim.idle_ttl_ms / 1000
                if idle or now - rec.create_time > lim.max_lifetime_ms / 1000:
                    audit("session_closed", rec.tenant.name, session_id=rec.session_id,
                          why="idle TTL" if idle else "max lifetime")
                    self._discard(rec)

    def busy(self) -> bool:
        """Whether any execute is running."""
        return any(rec.busy for rec in list(self._sessions.values()))

    def shutdown(self) -> None:
        self._stop.set()
        for rec in list(self._sessions.values()):
            self._discard(rec)
        self.zygote.close()
        shutil.rmtree(self._state_dir, ignore_errors=True)
        shutil.rmtree(self._root, ignore_errors=True)

    # -- execute --
    def execute(self, session_id: str, start: dict, tool_results: Iterator[dict] | None,
                cancel: Cancellation | None = None, tenant: Tenant | None = None) -> Iterator[dict]:
        """Yields {"op": "out"|"tool_call"|"result", ...}; the last is the result. `cancel`
        stops the cell when the caller goes away (executor/cancel.py)."""
        if len(start.get("code", "").encode()) > self.config.max_code_bytes:
            raise RequestTooLargeError(f"code is larger than the server's limit of {self.config.max_code_bytes} bytes; "
                                       "send less code per execute", max_code_bytes=self.config.max_code_bytes)
        rec = self.get(session_id, tenant)
        owner = tenant or rec.tenant  # the caller's, as just resolved: quota changes apply at once
        cpu_quota = owner.quotas.cpu_seconds_per_minute
        if cpu_quota:
            self.cpu_budget.check(owner.name, cpu_quota)
        if not rec.lock.acquire(blocking=False):
            raise SessionBusyError("the session is running another execute; wait for its result, "
                                   "or use another session for parallel work", session_id=rec.session_id)
        result = None
        try:
            if rec.closed:  # closed between the lookup and the lock
                self.get(session_id)
            self.admission.enter(owner.name, owner.quotas.max_concurrent_executes)  # may wait briefly
            cpu_before = rec.cpu_used_ms
            try:
                rec.busy, rec.last_active = True, time.time()
                run = self._run(rec, start, tool_results, cancel)
                try:
                    for msg in run:
                        if msg["op"] == "result":
                            result = msg
                            break
                        yield msg
                finally:
                    run.close()
            finally:
                rec.busy, rec.last_active = False, time.time()
                rec.execute_count += 1
                self.admission.leave(owner.name)
                if cpu_quota:
                    self.cpu_budget.charge(owner.name, (rec.cpu_used_ms - cpu_before) / 1000)
        finally:
            rec.lock.release()
            if rec.closed:  # closed while it ran: its resources are ours to give back
                self._release(rec)
        # Only now, with the session free: a client that sends its next execute the moment
        # it reads this result must not find the session still marked busy.
        if result is not None:
            yield result

    def _run(self, rec: SessionRecord, start: dict, tool_results, cancel: Cancellation | None) -> Iterator[dict]:
        lim = rec.spec.limits
        if rec.cpu_used_ms >= lim.session_cpu_ms:
            yield _result("cpu_limit", "The session has used its whole CPU allowance "
                          f"({lim.session_cpu_ms / 1000:g} s); create a new session to continue.")
            return
        restore_note = None
        if rec.worker is None or not self._read_pending_ready(rec) or not _alive(rec.worker):
            restore_note = self._restore(rec)  # died between executes (e.g. killed externally)
        worker = rec.worker
        wall_ms = min(lim.wall_timeout_ms, start.get("wall_timeout_ms") or lim.wall_timeout_ms)
        deadline = time.monotonic() + (wall_ms + self.config.kill_grace_ms) / 1000
        started = time.monotonic()
        # Every send to the worker must finish by the deadline too: one that never reads its
        # channel (a full socket buffer) can't hold this thread, or the tool pump, any longer.
        with contextlib.suppress(OSError):  # died (or stalled) since the check: the read below says so
            ipc.send_by(worker.sock, {"op": "exec", **start}, deadline)
        budget = OutputBudget(min(lim.output_bytes, start.get("output_bytes") or lim.output_bytes))
        tool_names = {t["name"] for t in rec.spec.tools}
        pump = None
        finished = False
        if cancel is not None:
            cancel.bind(lambda: _signal(worker, CANCEL_SIGNAL), lambda: self._halt(worker))
        try:
            while True:
                event, msg = self._recv_until(worker, deadline)
                if rec.closed and event in ("died", "deadline"):
                    finished = True  # stopped by CloseSession or the reaper: nothing to restore
                    raise _closed_error(rec)
                if event == "msg":
                    try:
                        msg = clean_message(msg, budget, tool_names)
                    except MalformedMessage as exc:
                        event = "malformed"  # kill and restore: an honest worker never sends this
                        self._logs.warning(rec.session_id, "malformed worker message", "worker_malformed",
                                           error=str(exc))
                if event != "msg":
                    finished = True
                    result = self._after_death(rec, worker, event, started, wall_ms)
                    self._observe(result, started, rec.tenant.name)
                    yield result
                    return
                if msg is None:
                    continue  # output past the cap: counted, not forwarded
                op = msg["op"]
                if op == "out" or op == "tool_call":
                    if op == "tool_call" and tool_results is None:
                        with contextlib.suppress(OSError):  # a worker that doesn't read: the deadline ends it
                            ipc.send_by(worker.sock, {"op": "tool_result", "call_id": msg["call_id"], "error": {
                                "type": "ToolUnavailable",
                                "message": "tools can't be called over ExecuteUnary; use Execute"}}, deadline)
                        continue
                    if op == "tool_call" and pump is None:
                        pump = _start_pump(tool_results, worker.sock, deadline)
                    yield msg
                else:  # the result
                    finished = True
                    rec.cpu_used_ms += msg.get("cpu_time_us", 0) // 1000
                    if restore_note:
                        msg.update(restore_note)
                        if restore_note["state_lost"] or restore_note["unsaved"]:  # it ran in older state: say why
                            msg["message"] = (msg["message"] + " " + restore_text(restore_note)).strip()
                    rec.unsaved = rec.unsaved + 1 if msg["checkpoint_error"] else 0
                    if msg["checkpoint_error"]:
                        self._logs.warning(rec.session_id, "checkpoint failed", "checkpoint_failed",
                                           error=msg["checkpoint_error"])
                    self._observe(msg, started, rec.tenant.name)
                    yield msg
                    return
        finally:
            if cancel is not None:
                cancel.unbind()
            if not finished and not rec.closed:
                # The client went away mid-execute: don't let a still-running cell's late
                # messages leak into the next execute. Kill it; the checkpoint keeps state.
                self._kill(worker)
                self._restore(rec)

    def _read_pending_ready(self, rec: SessionRecord) -> bool:
        """Reads the "ready" of a worker created without waiting for it; False if it died
        before it was jailed."""
        worker = rec.worker
        if not worker.ready_pending:
            return True
        worker.ready_pending = False
        ready = own_ready(self._wait_ready(worker), worker)
        if ready.get("op") == "ready":
            return True
        self._logs.warning(rec.session_id, "session worker failed to start", "worker_start_failed",
                           error=ready.get("error"))
        return False

    @staticmethod
    def _recv_until(worker: WorkerHandle, deadline: float) -> tuple[str, dict | None]:
        """("msg", the next message) or why there is none: "deadline", "died", "malformed"."""
        try:
            return "msg", worker.reader.recv(deadline=deadline)
        except TimeoutError:
            return "deadline", None
        except (OSError, ipc.ChannelClosed):
            return "died", None
        except ValueError:  # too large, not UTF-8, not a JSON object
            return "malformed", None

    def _after_death(self, rec: SessionRecord, worker: WorkerHandle, why: str, started: float,
                     wall_ms: int) -> dict:
        lim = rec.spec.limits
        if why == "deadline":
            self._kill(worker)
            status = "timeout"
            detail = ("The code did not stop at the timeout (for example a long C-level call), so the sandbox "
                      "process was killed.")
        elif why == "malformed":
            self._kill(worker)
            status, detail = "killed", ("The sandbox process wrote something other than the executor's protocol "
                                        "to its channel, so it was killed.")
        else:
            worker.exited.wait(2)
            sig = os.WTERMSIG(worker.status) if worker.status is not None and os.WIFSIGNALED(worker.status) else 0
            rec.cpu_used_ms += int((time.monotonic() - started) * 1000)
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and rec.cpu_used_ms >= lim.session_cpu_ms):
                status, detail = "cpu_limit", "The sandbox process was stopped by the CPU limit."
            elif sig == signal.SIGKILL and self._claim_oom_kill():
                status, detail = "memory_limit", ("The kernel's out-of-memory killer stopped the sandbox process: "
                                                  "all sessions together ran out of the container's memory.")
            else:
                # RLIMIT_AS turns allocation failures into MemoryError, so a SIGKILL here came from
                # outside the worker (the container's OOM killer, or an operator).
                status, detail = "killed", (f"It ended with signal {sig} ({signal.Signals(sig).name})" if sig
                                            else f"It ended with status {worker.status}") + "."
        rec.cpu_used_ms += int((time.monotonic() - started) * 1000) if why == "deadline" else 0
        note = self._restore(rec)
        # the limit this execute ran under, which its request may have lowered below the session's
        limits = {**asdict(lim), "wall_timeout_ms": wall_ms}
        return _result(status, limit_message(status, limits, f"{detail} {restore_text(note)}"), **note)

    def _claim_oom_kill(self) -> bool:
        """Whether an OOM kill in our cgroup is still unaccounted for; if so, it is this one."""
        with self._lock:
            seen = oom_kills()
            if seen is None or seen <= self._oom_claimed:
                return False
            self._oom_claimed += 1
            return True

    def _restore(self, rec: SessionRecord) -> dict:
        """A new worker for the session that loads its checkpoint; returns what the result
        reports about it. A checkpoint that kills its loader, forges its ready or can't be
        read is dropped, and the session restarts empty, saying so (state_lost)."""
        if rec.closed:  # its worker was stopped by a close: never bring it back
            raise _closed_error(rec)
        if rec.worker is not None and not rec.worker.exited.is_set():
            self._kill(rec.worker)
        rec.restore_count += 1
        if self.metrics:
            self.metrics.restores.inc()
        restarts = getattr(self.zygote, "restarts", 0)
        try:
            ready = self._start_worker(rec, restore=True)
        except CheckpointRejected as exc:
            if not self.zygote.alive or getattr(self.zygote, "restarts", 0) != restarts:
                raise  # the zygote died meanwhile (its workers with it): not the checkpoint's doing
            wipe_checkpoint(rec.ckpt_fd)
            self._start_worker(rec, restore=False)
            ready = {"restored": False, "lost_names": [], "restore_error": str(exc)}
        if rec.closed:  # closed while it started; the execute's end gives the new worker back
            raise _closed_error(rec)
        error = ready.get("restore_error") or ""
        self._logs.info(rec.session_id, "session restored", "session_restored",
                        lost_names=", ".join(ready["lost_names"]), error=error)
        unsaved, rec.unsaved = rec.unsaved, 0  # the state is the checkpoint's now
        return {"restored": True, "lost_names": list(ready["lost_names"]), "state_lost": bool(error),
                "restore_error": error, "unsaved": unsaved}

    def _observe(self, result: dict, started: float, tenant: str) -> None:
        if self.metrics:
            key = (result["status"], tenant)
            counter = self._executes_by_status.get(key)
            if counter is None:  # labels() locks and validates: once per status and tenant, not per execute
                counter = self._executes_by_status[key] = self.metrics.executes.labels(
                    status=result["status"], tenant=tenant)
            counter.inc()
            self.metrics.execute_seconds.observe(time.monotonic() - started)


def _signal(worker: WorkerHandle, sig: int) -> None:
    """Signals a worker through the zygote's pidfd for it, once the zygote has named it."""
    if worker.child is not None:
        worker.child.signal(sig)


def _closed_error(rec: SessionRecord) -> SessionClosedError:
    return SessionClosedError(
        "the session was closed while this execute ran (CloseSession from a client, or its idle TTL or "
        "max lifetime); the execute was stopped and the session is gone; create a new session",
        session_id=bounded(rec.session_id))


_PEEK_NOW = int(socket.MSG_PEEK | socket.MSG_DONTWAIT)  # an int: OR-ing the enum flags runs Python each time


def _alive(worker: WorkerHandle) -> bool:
    """Whether the worker still holds its channel open (EOF means it died). One system call:
    this runs before every execute."""
    if worker.exited.is_set():
        return False
    try:
        return worker.sock.recv(1, _PEEK_NOW) != b""
    except BlockingIOError:
        return True  # nothing to read: the usual case
    except OSError:
        return False


def _result(status: str, message: str, **extra) -> dict:
    return {"op": "result", "status": status, "message": message, "value": None, "is_final_answer": False,
            "error": None, "output_truncated": False, "wall_time_us": 0, "cpu_time_us": 0,
            "peak_memory_bytes": 0, **extra}


def _start_pump(tool_results: Iterator[dict], sock: socket.socket, deadline: float) -> threading.Thread:
    """Forwards the client's tool results to the worker while the server reads the worker."""
    def pump():
        try:
            for item in tool_results:
                ipc.send_by(sock, {"op": "tool_result", **item}, deadline)
        except Exception:  # the stream or the worker ended; nothing left to forward
            pass
    thread = threading.Thread(target=pump, name="tool-pump", daemon=True)
    thread.start()
    return thread
