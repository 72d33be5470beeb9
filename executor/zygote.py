"""The zygote: a warm process that has imported the runtime and every allowed module, frozen
its heap, and forks one worker per session on request.

It is started as a fresh interpreter (never forked from the multi-threaded gRPC server) and
talks to the server over one Unix socket: `spawn` requests carry the worker's channel and
checkpoint descriptors (SCM_RIGHTS); it answers `spawned` with the pid and reports `exited`
with the wait status of every worker it reaps.

To keep the fork off the session-creation path it holds a few *spares*: children forked in
advance that wait, unjailed but running nothing, for the spec and descriptors of the session
they are to become. A spawn hands the request to a spare and forks a replacement afterwards.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import traceback

from executor import ipc
from executor.heap import freeze_heap
from executor.jail._libc import prctl
from executor.jail.limits import die_with_parent
from executor.procs import open_pidfd

__all__ = ["main"]


SPARES = 2


_TEMPLATE = None  # the Policy of sessions with the server's default allowlist, built here
_ZYGOTE_PID = 0  # set in main(): the parent every worker checks it still has
_PR_SET_CHILD_SUBREAPER = 36


def _preload(allowed_imports: list[str], default_session: dict | None = None):
    # Everything a worker touches must be imported here, so forks share it and a jailed
    # worker never has to read a module file.
    import cloudpickle  # noqa: F401
    import executor.worker  # noqa: F401
    import executor.policy.off  # noqa: F401  (used only by a test server's sessions)
    from executor.jail import apply_jail, JailConfig  # noqa: F401
    from executor.policy import Policy, PolicyConfig
    from executor.snapshot import _dumps
    from executor.values import encode_value
    global _TEMPLATE
    policy = Policy(PolicyConfig(allowed_imports=tuple(allowed_imports)))
    policy.preload()
    if default_session is not None:  # {"allowed_imports": [...], "file_access": bool}
        _TEMPLATE = Policy(PolicyConfig(allowed_imports=tuple(default_session["allowed_imports"]),
                                        file_access=default_session["file_access"]))
        _TEMPLATE.preload()
    # Run the worker's code paths once so their lazy caches are built here and shared by
    # every fork, instead of being rebuilt (and their pages copied) in each worker.
    ns = policy.new_namespace({})
    cell = policy.compile("class _W:\n    pass\nwarm = [i * 2 for i in range(10)]\nwarm", "<warmup>")
    exec(cell.body, ns)
    encode_value(eval(cell.expr, ns))
    _dumps({k: v for k, v in ns.items() if k != "__builtins__"})


def _run_worker(spec: dict, chan_fd: int, ckpt_fd: int) -> None:
    from executor.jail import JailConfig, apply_jail
    from executor.policy import FinalAnswerSignal, Policy, PolicyConfig
    from executor.worker import Worker
    from dataclasses import asdict

    limits = spec["limits"]
    report = apply_jail(JailConfig(
        workdir=spec["workdir"],
        memory_bytes=limits["memory_bytes"],
        cpu_seconds=max(1, -(-spec["cpu_remaining_ms"] // 1000)),
        file_size_bytes=limits["file_size_bytes"],
        open_files=limits["open_files"],
        keep_fds=(chan_fd, ckpt_fd),
        uid=spec.get("uid"),
        parent_pid=_ZYGOTE_PID,  # dies with the zygote, which dies with the server
    ))
    chan = socket.socket(fileno=chan_fd)
    ready = {"pid": os.getpid(), "restored": False, "lost_names": [], "restore_error": "",
             "jail": asdict(report)}
    if not spec.get("restore"):
        # A new session is ready once jailed: the client's round trip overlaps the rest of
        # the setup, and its first execute waits in the channel until serve() reads it.
        ipc.send(chan, {"op": "ready", **ready})
    reserved = ("final_answer", *(t["name"] for t in spec.get("tools", ())))
    template = _TEMPLATE
    if spec.get("test_policy_off"):  # a test server's sessions: the jail alone (executor/policy/off.py)
        from executor.policy.off import Unrestricted
        policy = Unrestricted(PolicyConfig(allowed_imports=(), workdir=spec["workdir"], reserved_names=reserved))
    elif template is not None and template.config.allowed_imports == tuple(spec["allowed_imports"]) \
            and template.config.file_access == spec["file_access"]:
        policy = template.adopt(spec["workdir"], reserved)  # the common case: no extra imports
    else:
        policy = Policy(PolicyConfig(allowed_imports=tuple(spec["allowed_imports"]),
                                     file_access=spec["file_access"], workdir=spec["workdir"],
                                     reserved_names=reserved))
    if spec.get("restore"):
        policy.file_writes.seen = True  # what the lost worker wrote is still to be measured
    worker = Worker(chan, spec, policy, FinalAnswerSignal, ckpt_fd)
    if not spec.get("restore"):
        worker.serve(None)
        return
    # The checkpoint is the session's data, so its load may run the session's code: within the
    # execute's CPU limit here (SIGPROF's default action ends the worker; the server drops the
    # checkpoint), and within its wall limit at the server, which waits no longer for "ready".
    handler = signal.signal(signal.SIGPROF, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_PROF, spec["limits"]["cpu_per_execute_ms"] / 1000)
    try:
        ready["restored"], lost = worker.checkpointer.load(worker.ns, policy.import_module, policy.allowed)
        ready["lost_names"] = [n[:256] for n in lost[:1000]]  # the server's bounds (untrusted.MAX_NAMES)
    except Exception as exc:  # a bad checkpoint leaves an empty but working session
        ready["restore_error"] = f"{type(exc).__name__}: {exc}"[:4000]
        worker.checkpointer.forget(worker.ns)  # whatever the failed load bound so far
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, handler)
    worker.serve(ready)


def _spare(inbox: socket.socket) -> None:
    """In a freshly forked spare: wait for the session to become, then run it."""
    code = 0
    fds: list[int] = []
    try:
        from executor.jail import rehearse
        rehearse(keep_fds=(inbox.fileno(),))  # take the jail's page faults now, while no client waits
        json.loads(json.dumps({"spec": {"limits": {"n": 1}, "names": ["a"], "on": True, "none": None}}))
        msg, fds = ipc.recv(inbox, with_fds=2)
        inbox.close()
        _run_worker(msg["spec"], fds[0], fds[1])
    except BaseException:
        code = 70
        try:
            ipc.send(socket.socket(fileno=fds[0]), {"op": "fatal", "error": traceback.format_exc(limit=5)})
        except BaseException:
            pass
    finally:
        os._exit(code)


def _fork_spare(control: socket.socket, wake_r: int, wake_w: int, spares: dict[int, socket.socket]) -> int:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        die_with_parent(_ZYGOTE_PID)  # already while a spare; again once jailed (apply_jail)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in (control.fileno(), wake_r, wake_w, ours.fileno(), *(s.fileno() for s in spares.values())):
            os.close(fd)
        _spare(theirs)
    theirs.close()
    spares[pid] = ours
    return pid


def _reap(control: socket.socket, spares: dict[int, socket.socket]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        spare = spares.pop(pid, None)
        if spare is not None:
            # Died unused (e.g. killed), or taken by a session whose "taken" we haven't read
            # yet: the server drops its copy of the inbox, or learns its worker exited.
            spare.close()
            ipc.send(control, {"op": "spare_gone", "pid": pid})
        ipc.send(control, {"op": "exited", "pid": pid, "status": status})


def _offer_spare(control: socket.socket, wake_r: int, wake_w: int, spares: dict[int, socket.socket]) -> None:
    """Fork a spare and give the server a copy of its inbox: the server hands a session to
    it directly, without a hop through us, and then tells us it was taken."""
    pid = _fork_spare(control, wake_r, wake_w, spares)
    _send_with_pidfd(control, {"op": "spare", "pid": pid}, pid, [spares[pid].fileno()])


def _send_with_pidfd(control: socket.socket, msg: dict, pid: int, fds: list[int]) -> None:
    """Tells the server about a child with a pidfd for it, opened now, before the child can
    have been reaped (we reap it): the server signals through it, never by a bare pid."""
    pidfd = open_pidfd(pid)
    try:
        ipc.send(control, {**msg, "pidfd": pidfd is not None}, fds=fds + ([pidfd] if pidfd is not None else []))
    finally:
        if pidfd is not None:
            os.close(pidfd)  # before the next fork, so no child inherits it


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    control = socket.socket(fileno=int(argv[0]))
    global _ZYGOTE_PID
    _ZYGOTE_PID = os.getpid()
    # No process of ours outlives the server: the zygote dies with it (SIGKILL, which nothing
    # can ignore), every worker dies with the zygote, and anything a worker leaves behind is
    # reparented to the zygote, not to init.
    die_with_parent(int(os.environ.get("SANDCELL_SERVER_PID", "0")) or os.getppid())
    try:
        prctl(_PR_SET_CHILD_SUBREAPER, 1)
    except OSError:
        pass  # gVisor before 2023 lacks it: orphans go to the container's init (executor/layers.py reports it)
    _preload(json.loads(argv[1]), json.loads(argv[2]) if len(argv) > 2 else None)
    freeze_heap()  # forks then share the heap instead of copying it (executor/heap.py)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    spares: dict[int, socket.socket] = {}  # offered to the server, not yet taken
    from executor.jail.limits import mapped_bytes
    # What every fork starts out mapping: the floor under a session's memory limit.
    ipc.send(control, {"op": "zygote_ready", "pid": os.getpid(), "mapped_bytes": mapped_bytes() or 0})
    while True:
        try:
            readable, _, _ = select.select([control, wake_r], [], [], None if len(spares) >= SPARES else 0)
        except InterruptedError:
            continue
        if not readable:
            _offer_spare(control, wake_r, wake_w, spares)  # idle: refill the spares
            continue
        if wake_r in readable:
            os.read(wake_r, 4096)
            _reap(control, spares)
        if control in readable:
            try:
                msg, fds = ipc.recv(control, with_fds=2)
            except ipc.ChannelClosed:
                os._exit(0)  # the server went away; its workers die with their channels
            if msg.get("op") == "taken":
                taken = spares.pop(msg.get("pid"), None)
                if taken is not None:
                    taken.close()
            elif msg.get("op") == "spawn" and len(fds) == 2:
                # The server had no spare left: fork one for this session alone (never an
                # offered one, which the server may be handing a session at this moment).
                pid = _fork_spare(control, wake_r, wake_w, spares)
                inbox = spares.pop(pid)
                ipc.send(inbox, {"spec": msg["spec"]}, fds=fds)
                inbox.close()
                _send_with_pidfd(control, {"op": "spawned", "req": msg["req"], "pid": pid}, pid, [])
            for fd in fds:
                os.close(fd)


if __name__ == "__main__":
    main()
