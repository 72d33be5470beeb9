"""Turns a Python value into the wire form: type name, JSON when it fits, bounded repr."""
from __future__ import annotations

import json
import math
import reprlib

__all__ = ["encode_value", "REPR_LIMIT_CHARS", "JSON_LIMIT_BYTES"]

REPR_LIMIT_CHARS = 4096
JSON_LIMIT_BYTES = 1 << 20
# Values with more nodes than this get no JSON form (only the repr): checking and encoding
# them would cost more than a model can use.
JSON_LIMIT_NODES = 100_000
# Containers larger than this get reprlib's abbreviated repr instead of a full one, so a
# huge list doesn't cost seconds to repr only to be cut.
_FULL_REPR_MAX_ITEMS = 2000

_short = reprlib.Repr()
_short.maxlist = _short.maxtuple = _short.maxset = _short.maxfrozenset = _short.maxdict = 50
_short.maxstring = _short.maxother = 400
_short.maxlevel = 4

_JSON_SCALARS = (str, int, float, bool, type(None))
_to_json = json.JSONEncoder(ensure_ascii=False).encode  # built once, not per value


def _jsonable(value, budget: list[int], depth: int = 0) -> bool:
    """Whether value is plain JSON data (no lossy conversion), within the size budget."""
    budget[0] -= 1
    if budget[0] < 0 or depth > 50:
        return False
    if isinstance(value, _JSON_SCALARS):
        return not (isinstance(value, float) and not math.isfinite(value))
    if type(value) in (list, tuple):
        return all(_jsonable(v, budget, depth + 1) for v in value)
    if type(value) is dict:
        return all(isinstance(k, str) and _jsonable(v, budget, depth + 1) for k, v in value.items())
    return False


def _bounded_repr(value) -> tuple[str, bool]:
    try:
        size = len(value) if isinstance(value, (list, tuple, dict, set, frozenset)) else 0
        if size > _FULL_REPR_MAX_ITEMS:
            return _short.repr(value)[:REPR_LIMIT_CHARS], True
        text = repr(value)
    except Exception as exc:  # a user __repr__ may raise; the value still has a type
        text = f"<repr failed: {type(exc).__name__}: {exc}>"
    if len(text) > REPR_LIMIT_CHARS:
        return text[:REPR_LIMIT_CHARS] + "…", True
    return text, False


# The scalars code returns most: their JSON and repr are one C call each, without the JSON
# encoder's per-call setup (a few µs on every execute). Exact types only: a subclass may
# override __repr__. Strings up to _SHORT_STR chars: even fully escaped, their repr fits
# REPR_LIMIT_CHARS.
_SHORT_STR = 1000
_INT_BOUND = 1 << 64
_encode_str = json.encoder.encode_basestring  # what the ensure_ascii=False encoder uses


def _scalar(value) -> dict | None:
    kind = type(value)
    if kind is int and -_INT_BOUND < value < _INT_BOUND:
        text = int.__repr__(value)
        return {"type_name": "int", "json": text, "repr": text, "repr_truncated": False}
    if kind is str and len(value) <= _SHORT_STR:
        return {"type_name": "str", "json": _encode_str(value), "repr": repr(value), "repr_truncated": False}
    if kind is float and math.isfinite(value):
        text = float.__repr__(value)
        return {"type_name": "float", "json": text, "repr": text, "repr_truncated": False}
    if kind is bool:
        return {"type_name": "bool", "json": "true" if value else "false", "repr": repr(value),
                "repr_truncated": False}
    return None


def encode_value(value) -> dict:
    """The wire dict for a value: {"type_name", "json" (or ""), "repr", "repr_truncated"}."""
    scalar = _scalar(value)
    if scalar is not None:
        return scalar
    encoded = ""
    if _jsonable(value, [JSON_LIMIT_NODES]):
        text = _to_json(value)
        if len(text) <= JSON_LIMIT_BYTES:
            encoded = text
    text, truncated = _bounded_repr(value)
    return {"type_name": type(value).__name__, "json": encoded, "repr": text, "repr_truncated": truncated}
