"""Exceptions the policy raises, and the signal final_answer() uses to end a cell."""
from __future__ import annotations

__all__ = ["PolicyError", "PolicyViolation", "ModuleNotAllowed", "FinalAnswerSignal"]


class PolicyError(Exception):
    """Base class of everything the sandbox policy raises."""


class PolicyViolation(PolicyError):
    """Code rejected at compile time. str() says what was wrong and what to do instead."""

    def __init__(self, msg: str, lineno: int | None = None,
                 others: tuple[tuple[int | None, str], ...] = ()):
        self.msg = msg
        self.lineno = lineno
        # Further problems found in the same cell, so the model can fix them in one go.
        self.others = others
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [_line(self.lineno, self.msg)]
        lines += [_line(n, m) for n, m in self.others[:4]]
        if len(self.others) > 4:
            lines.append(f"... and {len(self.others) - 4} more")
        return "\n".join(lines)


def _line(lineno: int | None, msg: str) -> str:
    return f"line {lineno}: {msg}" if lineno else msg


class ModuleNotAllowed(PolicyError, ImportError):
    """An import outside the allowlist (raised at run time, e.g. on session restore)."""


class FinalAnswerSignal(BaseException):
    """Raised by final_answer(); BaseException so `except Exception` does not catch it, and the
    transformer re-raises it from any handler that would (bare `except:`, `except BaseException`)."""

    def __init__(self, value=None):
        super().__init__(value)
        self.value = value
