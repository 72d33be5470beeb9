"""What a session is created with: its spec, checked against the server's maxima, the limit
floors (executor/floors.py) and the import ceiling. Caller strings are echoed only as bounded
prefixes: a status's message and metadata must stay small whatever the request held."""
from __future__ import annotations

from dataclasses import dataclass

from executor.config import LimitError, ServerConfig, SessionLimits
from executor.errors import InvalidRequestError
from executor.floors import below_floor

__all__ = ["SessionSpec", "import_within", "validate_spec", "bounded"]


def bounded(text: str, limit: int = 64) -> str:
    """A prefix of a caller's string, for messages and metadata (a status must stay small)."""
    return text if len(text) <= limit else text[:limit] + f"…({len(text)} chars)"


def import_within(pattern: str, ceiling: tuple[str, ...]) -> bool:
    """Whether an import pattern ("pkg" or "pkg.*") is covered by one of the ceiling's."""
    base = pattern[:-2] if pattern.endswith(".*") else pattern
    for allowed in ceiling:
        if allowed == pattern:
            return True
        if allowed.endswith(".*") and (base == allowed[:-2] or base.startswith(allowed[:-2] + ".")):
            return True
    return False


@dataclass(frozen=True)
class SessionSpec:
    """What a session was created with (validated)."""

    limits: SessionLimits
    allowed_imports: tuple[str, ...]
    tools: tuple[dict, ...]  # {"name", "description", "parameters_json_schema", "output_type", "params"}
    file_access: bool


def validate_spec(config: ServerConfig, min_memory_bytes: int, mapped_bytes: int, limits: dict,
              extra_imports: list[str], tools: list[dict], file_access: bool) -> SessionSpec:
    """The spec of a session a CreateSession asks for, checked against the server's maxima,
    the floors and its import ceiling; InvalidRequestError names what is wrong."""
    try:
        eff = config.limits.lowered_by(limits)
    except LimitError as exc:
        raise InvalidRequestError(str(exc), field=f"limits.{exc.name}") from None
    if (low := below_floor(eff)) is not None:
        raise InvalidRequestError(f"limits.{low[1]}", field=f"limits.{low[0]}")
    if eff.memory_bytes < min_memory_bytes:
        raise InvalidRequestError(
            f"limits.memory_bytes={eff.memory_bytes} is too small: a session's worker already maps "
            f"{mapped_bytes} bytes of runtime; ask for at least {min_memory_bytes}",
            field="limits.memory_bytes")
    allowed = list(config.allowed_imports)
    for name in extra_imports:
        if not name or not all(p.isidentifier() for p in name.removesuffix(".*").split(".")):
            raise InvalidRequestError(f"extra_imports entry {bounded(name)!r} is not a module name or 'pkg.*' pattern")
        if not import_within(name, config.allowed_imports + config.import_ceiling):
            raise InvalidRequestError(
                f"import {bounded(name)!r} is outside the server's ceiling "
                f"({', '.join(config.import_ceiling) or 'none'}); an operator can widen it with --import-ceiling",
                field="extra_imports")
        allowed.append(name)
    seen = set()
    for tool in tools:
        name = tool["name"]
        if not name.isidentifier() or name.startswith("_") or name in ("final_answer", "ToolError"):
            raise InvalidRequestError(f"tool name {bounded(name)!r} must be a public Python identifier, not a reserved name")
        if name in seen:
            raise InvalidRequestError(f"tool {bounded(name)!r} is declared twice")
        seen.add(name)
    if file_access and not config.file_access:
        file_access = False  # the operator turned file access off for everyone
    return SessionSpec(eff, tuple(dict.fromkeys(allowed)), tuple(tools), file_access)
