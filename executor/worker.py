"""The session worker: runs inside a jailed process forked from the zygote, holds the session's
namespace, and executes code sent by the server over its channel.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import linecache
import os
import resource
import signal
import socket
import sys
import time

from executor import ipc
from executor.cancel import CANCEL_SIGNAL
from executor.capture import CaptureStream, OutputLimitExceeded, OutputSink
from executor.outcome import (CPULimitExceeded, SessionCPUExceeded, classify, limit_message,
                              user_traceback)
from executor.snapshot import Checkpointer
from executor.values import encode_value

__all__ = ["Worker", "ToolError", "ExecutionCancelled"]


class ExecutionCancelled(BaseException):
    """Raised inside the code when its caller cancelled the execute (nobody reads the result)."""


def _dir_bytes(path: str) -> int:
    total = 0
    stack = [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
        except OSError:
            continue
    return total


FLUSH_TICK_S = 0.05


def _detail(status: str, workdir_bytes: int) -> str:
    parts = []
    if status == "timeout":  # the soft limit: the worker lives on with the namespace as it is
        parts.append("It was interrupted by a TimeoutError; variables assigned before that are kept.")
    if workdir_bytes:
        parts.append(f"The work dir now holds {workdir_bytes} bytes.")
    return " ".join(parts)


def _checkpoint_error(error: str) -> str:
    return ("The state after this execute could not be checkpointed, so it is not protected: if the "
            "sandbox process dies before a later execute is checkpointed, the session comes back as it was "
            "before. Reason: " + (error if len(error) <= 1000 else error[:1000] + "..."))


class ToolError(Exception):
    """A tool called from the sandbox failed on the client side."""


class Worker:
    """Executes cells against one namespace; one instance per worker process."""

    def __init__(self, chan: socket.socket, spec: dict, policy, final_signal: type[BaseException],
                 checkpoint_fd: int):
        self.chan = chan
        self.reader = ipc.FrameReader(chan)
        self.spec = spec
        self.policy = policy
        self._final_signal = final_signal
        self.sink = OutputSink(self._send_output, self._arm_flush_tick)
        self._deadline = 0.0      # monotonic time of this execute's wall limit
        self._tick_armed = False  # ITIMER_REAL set early to flush queued output
        self._critical = 0
        self._deferred: BaseException | None = None
        self._in_user_code = False
        self._timed_out = False
        self._final: BaseException | None = None
        self._call_seq = 0
        self._active_limits = dict(spec["limits"])
        self._filenames: dict[str, str] = {}
        builtins = {"final_answer": self._final_answer, "ToolError": ToolError}
        for tool in spec.get("tools", ()):
            builtins[tool["name"]] = self._make_tool(tool["name"], tuple(tool.get("params", ())))
        self.ns = policy.new_namespace(builtins)
        self.checkpointer = Checkpointer(checkpoint_fd, frozenset(self.ns),
                                         max_bytes=spec["limits"]["file_size_bytes"])
        sys.stdout = CaptureStream(self.sink, "stdout")
        sys.stderr = CaptureStream(self.sink, "stderr")
        for sig in (signal.SIGALRM, signal.SIGPROF, signal.SIGXCPU, CANCEL_SIGNAL):
            signal.signal(sig, self._on_signal)

    # -- signals: limits raise inside user code, never in the middle of a channel frame --
    def _arm_flush_tick(self) -> None:
        """Queued output: fire ITIMER_REAL in 50 ms (or at the deadline, if sooner) to ship it."""
        if self._tick_armed or not self._in_user_code:
            return
        left = self._deadline - time.monotonic()
        if left > FLUSH_TICK_S:
            self._tick_armed = True
            signal.setitimer(signal.ITIMER_REAL, FLUSH_TICK_S)

    def _on_signal(self, signum, _frame):
        if signum == signal.SIGALRM and self._in_user_code and time.monotonic() < self._deadline:
            # A flush tick, not the wall limit: ship queued output, then wait for the deadline.
            self._tick_armed = False
            if self.sink.busy or self._critical:
                self._arm_flush_tick()  # mid-write: try again shortly
            else:
                self.sink.flush()
            if not self._tick_armed:
                signal.setitimer(signal.ITIMER_REAL, max(self._deadline - time.monotonic(), 0.001))
            return
        if signum == signal.SIGALRM:
            self._timed_out = True
            exc = TimeoutError(f"execution exceeded the wall-clock limit of "
                               f"{self._active_limits['wall_timeout_ms'] / 1000:g} s")
        elif signum == signal.SIGPROF:
            exc = CPULimitExceeded(f"execution exceeded its CPU limit of "
                                   f"{self._active_limits['cpu_per_execute_ms'] / 1000:g} s")
        elif signum == CANCEL_SIGNAL:  # the caller went away (executor/cancel.py)
            exc = ExecutionCancelled("the caller cancelled this execute")
        else:
            exc = SessionCPUExceeded("the session used up its CPU allowance")
        if not self._in_user_code:
            return
        if self._critical:
            self._deferred = self._deferred or exc
            return
        raise exc

    @contextlib.contextmanager
    def _frame_io(self):
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1
            if not self._critical and self._deferred is not None and self._in_user_code:
                exc, self._deferred = self._deferred, None
                raise exc

    def _send(self, message: dict) -> None:
        with self._frame_io():
            ipc.send(self.chan, message)

    def _send_output(self, stream: str, text: str) -> None:
        if self._in_user_code or self._critical:
            self._send({"op": "out", "stream": stream, "text": text})

    # -- builtins the code sees --
    def _final_answer(self, answer=None):
        # Remembered as well as raised: a `with` block whose __exit__ returns True, or a
        # `return` in a finally, can still swallow the signal; the cell ends final anyway.
        self._final = self._final_signal(answer)
        raise self._final

    def _make_tool(self, name: str, params: tuple[str, ...]):
        def tool(*args, **kwargs):
            if len(args) > len(params):
                raise TypeError(f"{name}() takes {len(params)} positional arguments but {len(args)} were given")
            for param, arg in zip(params, args):
                if param in kwargs:
                    raise TypeError(f"{name}() got multiple values for argument {param!r}")
                kwargs[param] = arg
            return self._call_tool(name, kwargs)
        tool.__name__ = tool.__qualname__ = name
        return tool

    def _call_tool(self, name: str, kwargs: dict):
        try:
            arguments = json.dumps(kwargs)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"arguments to tool {name!r} must be JSON-serializable: {exc}") from None
        self._call_seq += 1
        call_id = str(self._call_seq)
        self.sink.flush()
        self._send({"op": "tool_call", "call_id": call_id, "name": name, "arguments_json": arguments})
        while True:
            # Wait outside the critical section so a timeout can interrupt a slow tool.
            self.reader.wait()
            with self._frame_io():
                msg = self.reader.recv()
            if msg.get("op") == "tool_result" and msg.get("call_id") == call_id:
                break
        if "error" in msg:
            err = msg["error"]
            raise ToolError(f"tool {name!r} failed: {err.get('type', 'Error')}: {err.get('message', '')}")
        raw = msg.get("result_json")
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:  # a client in another language sent something else: say so in the code
            raise ToolError(f"tool {name!r} failed: the client's result_json is not JSON: {raw[:80]!r}") from None

    # -- the loop --
    def serve(self, ready: dict | None) -> None:
        """Answers executes until the channel closes; `ready` (unless already sent) first."""
        if ready is not None:
            self._send({"op": "ready", **ready})
        while True:
            try:
                msg = self.reader.recv()
            except (ipc.ChannelClosed, OSError, ValueError):
                return
            if msg.get("op") == "exec":
                result = self.execute(msg)
                # Saved before the result goes out, so the result can say when the state it
                # leaves is not protected (and a save that hangs falls under the deadline).
                stats = self.checkpointer.save(self.ns)
                if not stats.saved:
                    result["checkpoint_error"] = _checkpoint_error(stats.error)
                self._send(result)
            # Anything else (e.g. a tool result that arrived after its execute ended) is stale.

    def _limits_for(self, msg: dict) -> dict:
        limits = dict(self.spec["limits"])
        for key in ("wall_timeout_ms", "cpu_per_execute_ms", "output_bytes"):
            if msg.get(key):
                limits[key] = min(limits[key], int(msg[key]))
        return limits

    def execute(self, msg: dict) -> dict:
        limits = self._active_limits = self._limits_for(msg)
        code = msg.get("code", "")
        filename = self._filenames.get(code)
        if filename is None:
            # Named by content, so the policy's compile cache hits on repeated cells and a
            # traceback through a function defined earlier shows that cell's lines.
            filename = f"<cell-{hashlib.sha1(code.encode()).hexdigest()[:12]}>"
            linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
            if len(self._filenames) > 256:
                self._filenames.clear()
            self._filenames[code] = filename
        self.sink.reset(limits["output_bytes"])
        self._timed_out, self._deferred, self._final = False, None, None
        wall0, cpu0 = time.perf_counter_ns(), time.process_time_ns()
        value, is_final, error, status = None, False, None, "ok"
        try:
            self._deadline = time.monotonic() + limits["wall_timeout_ms"] / 1000
            self._tick_armed = False
            self._in_user_code = True
            signal.setitimer(signal.ITIMER_REAL, limits["wall_timeout_ms"] / 1000)
            signal.setitimer(signal.ITIMER_PROF, limits["cpu_per_execute_ms"] / 1000)
            cell = self.policy.compile(code, filename)
            exec(cell.body, self.ns)
            if cell.expr is not None:
                result = eval(cell.expr, self.ns)
                if result is not None:
                    value = encode_value(result)
            self.sink.flush()
            if self._final is not None:
                value, is_final, error, status = self._outcome(self._final)
        except BaseException as exc:  # everything the code raises is a result, never a crash
            value, is_final, error, status = self._outcome(exc)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.setitimer(signal.ITIMER_PROF, 0)
            self._in_user_code = False
            self._deferred = None
        self._in_user_code = False
        with contextlib.suppress(BaseException):
            self._critical += 1
            self.sink.flush()
        self._critical = 0
        # The walk costs tens of µs per execute: only when the code could have written files.
        used = _dir_bytes(self.spec["workdir"]) if self.policy.may_have_written_files() else 0
        if used > limits["workdir_bytes"] and status in ("ok", "error"):
            status = "disk_limit"
        return {
            "op": "result", "status": status, "value": value, "is_final_answer": is_final,
            "error": error, "output_truncated": self.sink.truncated,
            "message": limit_message(status, limits, _detail(status, used))
                       if status not in ("ok", "error") else "",
            "wall_time_us": (time.perf_counter_ns() - wall0) // 1000,
            "cpu_time_us": (time.process_time_ns() - cpu0) // 1000,
            "peak_memory_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        }

    def _outcome(self, exc: BaseException):
        if isinstance(exc, self._final_signal):
            with contextlib.suppress(OutputLimitExceeded):
                self.sink.flush()
            return encode_value(getattr(exc, "value", None)), True, None, "ok"
        status = classify(exc, self._timed_out)
        try:
            text, line = user_traceback(exc)
            message = str(exc)
        except BaseException:  # a hostile __str__ must not take the worker down
            text, line, message = "", 0, "<unprintable exception>"
        return None, False, {"type": type(exc).__name__, "message": message,
                             "line_number": line, "traceback": text}, status
