"""Structured logs: one JSON object per line on stderr, with any `extra=` fields.

A session's code controls much of what could be logged about it (error texts, names), and
could log as often as it runs: SessionLog clips and escapes every field, and rate-limits
lines per session and event, so no session can fill the log or push out its history."""
from __future__ import annotations

import json
import logging
import sys
import threading
import time

from executor.untrusted import short_text

__all__ = ["setup_logging", "SessionLog"]

_FIELD_CHARS = 2000  # the formatter's cap on any one string field, whatever logged it

_STD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
               "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        out.update({k: v for k, v in vars(record).items() if k not in _STD})
        for key, value in out.items():
            if isinstance(value, str) and len(value) > _FIELD_CHARS:
                out[key] = value[:_FIELD_CHARS] + "..."
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(level: str = "INFO", as_json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if as_json else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("sandcell")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


class SessionLog:
    """Lines about what one session did. Each field is cut to `field_chars` and escaped; at
    most `burst` lines per session and event are written per `window_s`, and the next line
    written says how many were suppressed."""

    def __init__(self, logger: logging.Logger, burst: int = 5, window_s: float = 60.0, field_chars: int = 300):
        self._log = logger
        self._burst, self._window_s, self._chars = burst, window_s, field_chars
        self._seen: dict[tuple[str, str], list] = {}  # (session, event) -> [window start, lines, suppressed]
        self._lock = threading.Lock()

    def info(self, session_id: str, msg: str, event: str, **fields) -> None:
        self._emit(logging.INFO, session_id, msg, event, fields)

    def warning(self, session_id: str, msg: str, event: str, **fields) -> None:
        self._emit(logging.WARNING, session_id, msg, event, fields)

    def forget(self, session_id: str) -> None:
        """The session is gone: drop its counters."""
        with self._lock:
            for key in [k for k in self._seen if k[0] == session_id]:
                del self._seen[key]

    def _emit(self, level: int, session_id: str, msg: str, event: str, fields: dict) -> None:
        if not self._log.isEnabledFor(level):
            return
        now = time.monotonic()
        with self._lock:
            seen = self._seen.setdefault((session_id, event), [now, 0, 0])
            if now - seen[0] > self._window_s:
                seen[0], seen[1] = now, 0
            if seen[1] >= self._burst:
                seen[2] += 1
                return
            seen[1] += 1
            suppressed, seen[2] = seen[2], 0
        extra = {k: short_text(v, self._chars) for k, v in fields.items()}
        extra.update(event=event, session_id=short_text(session_id, 64))
        if suppressed:
            extra["suppressed"] = suppressed  # lines of this event dropped since the last one
        self._log.log(level, msg, extra=extra)
