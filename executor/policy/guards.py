"""Run-time guards: the few operations whose target the compiler cannot see (dynamic
attribute names, format-string fields, exceptions caught by broad handlers). Everything
else is checked once at compile time, so ordinary code runs at native speed."""
from __future__ import annotations

import _string
import sys

from executor.policy.errors import FinalAnswerSignal, PolicyViolation
from executor.policy.names import (FORBIDDEN_CALLS, FORBIDDEN_NAMES, attr_problem,
                                   attr_write_problem, format_field_problem)

__all__ = ["guarded_getattr", "guarded_setattr", "guarded_delattr", "guarded_hasattr",
           "format_attr", "final_check", "unavailable", "hardened_module_attrs"]

_FORMAT_METHODS = ("format", "format_map")
_checked_templates: dict[str, None] = {}


def _check_template(template: str, depth: int = 0) -> None:
    """Rejects attribute walks in str.format fields ("{0.__class__.__mro__}")."""
    if template in _checked_templates:
        return
    for _literal, field, spec, _conv in _string.formatter_parser(template):
        if field is None:
            continue
        _first, rest = _string.formatter_field_name_split(field)
        for is_attr, key in rest:
            if is_attr:
                problem = format_field_problem(key)
                if problem:
                    raise AttributeError(problem)
        if spec and "{" in spec and depth < 2:
            _check_template(spec, depth + 1)  # nested fields: "{0:{1.__class__}}"
    if len(_checked_templates) > 4096:
        _checked_templates.clear()
    _checked_templates[template] = None


def _safe_format(template: str, /, *args, **kwargs):
    _check_template(template)
    return str.format(template, *args, **kwargs)


def _safe_format_map(template: str, mapping, /):
    _check_template(template)
    return str.format_map(template, mapping)


_SAFE = {"format": _safe_format, "format_map": _safe_format_map}


class _BoundSafe:
    """`"...".format` as a value (e.g. passed to map()), still checked when called."""
    __slots__ = ("_template", "_method")

    def __init__(self, template: str, method: str):
        self._template, self._method = template, method

    def __call__(self, *args, **kwargs):
        return _SAFE[self._method](self._template, *args, **kwargs)

    def __repr__(self):
        return f"<method {self._method!r} of str object>"


def format_attr(obj, name: str, *default):
    """`obj.format` / `obj.format_map`: the compiler routes these here."""
    if isinstance(obj, str):
        return _BoundSafe(obj, name)
    if isinstance(obj, type) and issubclass(obj, str):
        return _SAFE[name]
    value = getattr(obj, name, *default)
    # `super().format` in a str subclass, or any other way to a bound str.format.
    owner = getattr(value, "__self__", None)
    if isinstance(owner, str) and getattr(value, "__name__", None) in _FORMAT_METHODS:
        return _BoundSafe(owner, value.__name__)
    return value


def guarded_getattr(obj, name, *default):
    if not isinstance(name, str):
        raise TypeError("attribute name must be a string")
    problem = attr_problem(name)
    if problem:
        raise AttributeError(problem)
    if name in _FORMAT_METHODS:
        return format_attr(obj, name, *default)
    return getattr(obj, name, *default)


def guarded_hasattr(obj, name) -> bool:
    if not isinstance(name, str):
        raise TypeError("attribute name must be a string")
    return attr_problem(name) is None and hasattr(obj, name)


def guarded_setattr(obj, name, value) -> None:
    if not isinstance(name, str):
        raise TypeError("attribute name must be a string")
    problem = attr_write_problem(name)
    if problem:
        raise AttributeError(problem)
    setattr(obj, name, value)


def guarded_delattr(obj, name) -> None:
    if not isinstance(name, str):
        raise TypeError("attribute name must be a string")
    problem = attr_write_problem(name)
    if problem:
        raise AttributeError(problem)
    delattr(obj, name)


def final_check() -> None:
    """First statement of every except handler: a final_answer() is never swallowed."""
    exc = sys.exc_info()[1]
    if isinstance(exc, FinalAnswerSignal):
        raise exc
    if isinstance(exc, BaseExceptionGroup):
        found, _rest = exc.split(FinalAnswerSignal)
        while isinstance(found, BaseExceptionGroup):
            found = found.exceptions[0]
        if found is not None:
            raise found


def unavailable(name: str):
    """A builtin user code may shadow but not use (input, help, exit, quit)."""
    hint = FORBIDDEN_CALLS.get(name) or FORBIDDEN_NAMES.get(name, "")

    def stub(*_args, **_kwargs):
        raise PolicyViolation(f"{name}() is not available in the sandbox; {hint}")
    stub.__name__ = stub.__qualname__ = name
    return stub


# -- allowed modules whose functions would look attributes up by name for the caller --

def _guarded_attrgetter(*names):
    import operator
    for dotted in names:
        for part in str(dotted).split("."):
            problem = attr_problem(part)
            if problem:
                raise AttributeError(problem)
    return operator.attrgetter(*names)


def _guarded_methodcaller(name, /, *args, **kwargs):
    import operator
    problem = attr_problem(name) if isinstance(name, str) else None
    if problem or name in _FORMAT_METHODS:
        raise AttributeError(problem or f"methodcaller({name!r}) is not allowed; call the method directly")
    return operator.methodcaller(name, *args, **kwargs)


def _safe_formatter():
    import string

    class Formatter(string.Formatter):
        def get_field(self, field_name, args, kwargs):
            _first, rest = _string.formatter_field_name_split(field_name)
            for is_attr, key in rest:
                if is_attr and format_field_problem(key):
                    raise AttributeError(format_field_problem(key))
            return super().get_field(field_name, args, kwargs)
    return Formatter


def hardened_module_attrs(module: str) -> dict:
    """Replacements for the few public attributes of allowed modules that bypass the guards."""
    if module == "operator":
        return {"attrgetter": _guarded_attrgetter, "methodcaller": _guarded_methodcaller}
    if module == "string":
        return {"Formatter": _safe_formatter()}
    return {}
