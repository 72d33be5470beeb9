"""How an execute ended, classified into a status with a message a model can act on."""
from __future__ import annotations

import errno
import traceback

from executor.capture import OutputLimitExceeded

__all__ = ["CPULimitExceeded", "SessionCPUExceeded", "classify", "user_traceback", "limit_message"]


class CPULimitExceeded(BaseException):
    """Raised inside the code when an execute used its CPU allowance."""


class SessionCPUExceeded(BaseException):
    """Raised inside the code when the session used its total CPU allowance."""


_DISK_ERRNOS = {errno.EFBIG, errno.ENOSPC, errno.EDQUOT}
_FILES_ERRNOS = {errno.EMFILE, errno.ENFILE}


def classify(exc: BaseException, timed_out: bool) -> str:
    """The result status for an exception that ended the code."""
    if isinstance(exc, OutputLimitExceeded):
        return "output_limit"
    if isinstance(exc, (CPULimitExceeded, SessionCPUExceeded)):
        return "cpu_limit"
    if timed_out and isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, MemoryError):
        return "memory_limit"
    if isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS:
        return "disk_limit"
    if isinstance(exc, OSError) and exc.errno in _FILES_ERRNOS:
        return "open_files_limit"
    if type(exc).__name__ == "WorkdirQuotaExceeded":
        return "disk_limit"
    return "error"


def limit_message(status: str, limits: dict, detail: str = "") -> str:
    """What happened and what to do next, written for a model reading the observation."""
    s = lambda ms: f"{ms / 1000:g} s"  # noqa: E731
    mib = lambda b: f"{b / (1 << 20):g} MiB"  # noqa: E731
    text = {
        "timeout": f"The code exceeded the wall-clock limit of {s(limits['wall_timeout_ms'])}.",
        "cpu_limit": f"The code used more CPU time than allowed ({s(limits['cpu_per_execute_ms'])} per execute, "
                     f"{s(limits['session_cpu_ms'])} per session) and was stopped. Use a faster algorithm or less data.",
        "memory_limit": f"The code ran out of memory (limit {mib(limits['memory_bytes'])}). Process data in chunks, "
                        "avoid materializing huge lists or strings, and delete large objects you no longer need.",
        "output_limit": f"The code printed more than {limits['output_bytes']} bytes; the output was truncated and the "
                        "code was stopped. Print summaries (len, head, aggregates) instead of whole data.",
        "disk_limit": f"The code hit a disk limit (largest file {mib(limits['file_size_bytes'])}, work dir "
                      f"{mib(limits['workdir_bytes'])}). Write smaller files, or empty files you no longer need "
                      "with `open(name, 'w').close()`.",
        "open_files_limit": f"The code opened too many files at once (limit {limits['open_files']}). "
                            "Close files after use, e.g. with `with open(...) as f:`.",
        "killed": "The sandbox process died while running the code and was restarted.",
    }.get(status, "")
    advice = {"timeout": "Do less work per step (smaller inputs, faster algorithm) or split it across steps."}
    return " ".join(part for part in (text, detail, advice.get(status, "")) if part)


def user_traceback(exc: BaseException) -> tuple[str, int]:
    """The traceback limited to the user's own frames (cells), and the line it was raised at."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell")]
    line = frames[-1].lineno if frames else 0
    if isinstance(exc, SyntaxError) and exc.filename and str(exc.filename).startswith("<cell"):
        line = exc.lineno or 0
    elif not frames and isinstance(getattr(exc, "lineno", None), int):
        line = exc.lineno  # rejected by the policy before it ran
    text = "Traceback (most recent call last):\n" if frames else ""
    text += "".join(traceback.format_list(frames))
    text += "".join(traceback.format_exception_only(type(exc), exc))
    return text, line or 0
