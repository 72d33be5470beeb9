"""stdout/stderr replacements that batch printed text into frames and enforce the output cap."""
from __future__ import annotations

import io
import time

__all__ = ["OutputLimitExceeded", "OutputSink", "CaptureStream"]

# Batch printed text so a print loop costs one frame per ~8 KiB or per 50 ms, not per call,
# while a slow loop's progress still shows live.
_FLUSH_BYTES = 8192
_FLUSH_SECONDS = 0.05


class OutputLimitExceeded(BaseException):
    """Raised inside the code when it printed more than the execute's output cap.

    A BaseException so that `except Exception` in agent code doesn't swallow it.
    """


class OutputSink:
    """Collects printed text for one execute; `send(stream, text)` ships a batch."""

    def __init__(self, send, on_pending=None):
        self._send = send
        # Called when text stays queued: the worker arms a timer that flushes it, so output
        # printed just before a long quiet stretch (a sleep, a slow call) still shows live.
        self._on_pending = on_pending
        self.busy = False  # inside write/flush: a timer tick must not touch the queue now
        self.limit = 0
        self.used = 0
        self.truncated = False
        self._pending: list[tuple[str, str]] = []
        self._pending_bytes = 0
        self._last_flush = 0.0

    def reset(self, limit: int) -> None:
        self.limit, self.used, self.truncated = limit, 0, False
        self._pending.clear()
        self._pending_bytes = 0
        self._last_flush = 0.0  # the first print of an execute goes out at once

    def write(self, stream: str, text: str) -> None:
        self.busy = True
        try:
            self._write(stream, text)
        finally:
            self.busy = False
        if self._pending and self._on_pending is not None:
            self._on_pending()

    def _write(self, stream: str, text: str) -> None:
        if self.truncated:
            raise OutputLimitExceeded(f"output limit of {self.limit} bytes reached")
        size = len(text.encode("utf-8", "replace"))
        if self.used + size > self.limit:
            keep = self.limit - self.used
            text = text.encode("utf-8", "replace")[:keep].decode("utf-8", "ignore")
            self._queue(stream, text, len(text))
            self.truncated = True
            self._flush()
            raise OutputLimitExceeded(f"output limit of {self.limit} bytes reached")
        self._queue(stream, text, size)
        if self._pending_bytes >= _FLUSH_BYTES or time.monotonic() - self._last_flush >= _FLUSH_SECONDS:
            self._flush()

    def _queue(self, stream: str, text: str, size: int) -> None:
        self.used += size
        self._pending_bytes += size
        if self._pending and self._pending[-1][0] == stream:
            self._pending[-1] = (stream, self._pending[-1][1] + text)
        elif text:
            self._pending.append((stream, text))

    def flush(self) -> None:
        was, self.busy = self.busy, True
        try:
            self._flush()
        finally:
            self.busy = was

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        self._pending_bytes = 0
        self._last_flush = time.monotonic()
        for stream, text in pending:
            self._send(stream, text)


class CaptureStream(io.TextIOBase):
    """Installed as sys.stdout / sys.stderr inside the worker."""

    def __init__(self, sink: OutputSink, name: str):
        self._sink = sink
        self._name = name

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._sink.write(self._name, text)
        return len(text)

    def flush(self) -> None:
        self._sink.flush()
