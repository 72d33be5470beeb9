"""Run-time guards: the few operations whose target the compiler cannot see (dynamic
attribute names, format-string fields, exceptions caught by broad handlers). Everything
else is checked once at compile time, so ordinary code runs at native speed."""
from __future__ import annotations

import _string
import sys
from collections import UserString
from types import ModuleType

from executor.policy.errors import FinalAnswerSignal, PolicyViolation
from executor.policy.names import (FORBIDDEN_CALLS, FORBIDDEN_NAMES, attr_problem,
                                   attr_write_problem, format_field_problem, plain_str)

__all__ = ["guarded_getattr", "guarded_setattr", "guarded_delattr", "guarded_hasattr",
           "guarded_vars", "instance_dict", "format_attr", "check_template", "final_check",
           "unavailable"]

_FORMAT_METHODS = ("format", "format_map")
_checked_templates: dict[str, None] = {}


def check_template(template, depth: int = 0) -> str:
    """Rejects attribute walks in str.format fields ("{0.__class__.__mro__}"); returns the
    template as an exact str, which is what must be formatted (a str subclass with a forged
    __hash__/__eq__ could otherwise pass as a template already checked)."""
    template = plain_str(template, "format string")
    if template in _checked_templates:
        return template
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
            check_template(spec, depth + 1)  # nested fields: "{0:{1.__class__}}"
    if len(_checked_templates) > 4096:
        _checked_templates.clear()
    _checked_templates[template] = None
    return template


def _safe_format(template: str, /, *args, **kwargs):
    return str.format(check_template(template), *args, **kwargs)


def _safe_format_map(template: str, mapping, /):
    return str.format_map(check_template(template), mapping)


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


def _str_methods(obj) -> str | None:
    """The str whose own format methods `obj.format` would reach, if any: a str (or a
    subclass that does not override them), or a collections.UserString, which forwards
    to its .data inside stdlib code the compiler never sees."""
    if isinstance(obj, str):
        cls = type(obj)
        if cls is str or (cls.format is str.format and cls.format_map is str.format_map):
            return obj
        return None  # the subclass's own format(); a super().format inside it comes back here
    if isinstance(obj, UserString) and isinstance(obj.data, str):
        cls = type(obj)
        if cls.format is UserString.format and cls.format_map is UserString.format_map:
            return obj.data
    return None


def format_attr(obj, name: str, *default):
    """`obj.format` / `obj.format_map`: the compiler routes these here."""
    template = _str_methods(obj)
    if template is not None:
        return _BoundSafe(template, name)
    if isinstance(obj, type) and issubclass(obj, (str, UserString)) and \
            getattr(obj, name, None) in (str.format, str.format_map, UserString.format,
                                         UserString.format_map):
        return _SAFE[name] if issubclass(obj, str) else _unbound_user_string(name)
    value = getattr(obj, name, *default)
    # `super().format` in a subclass that overrides format(), or any other way to a bound
    # str.format (a builtin method: no __func__) or UserString.format.
    owner = getattr(value, "__self__", None)
    method = getattr(value, "__name__", None)
    if method in _FORMAT_METHODS:
        if isinstance(owner, str) and not hasattr(value, "__func__"):
            return _BoundSafe(owner, method)
        if isinstance(owner, UserString) and \
                getattr(value, "__func__", None) in (UserString.format, UserString.format_map):
            return _BoundSafe(owner.data, method)
    return value


def _unbound_user_string(name: str):
    def method(self, /, *args, **kwargs):
        return _SAFE[name](self.data, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    return method


def instance_dict(obj, what: str = "__dict__"):
    """`obj.__dict__` (the compiler routes reads here) and vars(obj). An instance's dict holds
    only its own attributes (`self.__dict__.update(kw)`, serialising with vars(self)); the
    dict of a class or module would hand out the blocked dunders (type.__dict__['__subclasses__'])."""
    if isinstance(obj, (type, ModuleType)):
        raise AttributeError(f"{what} of a class or module is not available in the sandbox; "
                             "use dir() and getattr() with public names")
    return obj.__dict__


def guarded_vars(*args):
    if not args:
        raise PolicyViolation("vars() without an argument is not available in the sandbox: "
                              "refer to variables by name, or keep dynamic data in a dict")
    (obj,) = args
    return instance_dict(obj, "vars()")


def guarded_getattr(obj, name, *default):
    name = plain_str(name)
    if name == "__dict__":
        return instance_dict(obj)
    problem = attr_problem(name)
    if problem:
        raise AttributeError(problem)
    if name in _FORMAT_METHODS:
        return format_attr(obj, name, *default)
    return getattr(obj, name, *default)


def guarded_hasattr(obj, name) -> bool:
    name = plain_str(name)
    return attr_problem(name) is None and hasattr(obj, name)


def guarded_setattr(obj, name, value) -> None:
    name = plain_str(name)
    problem = attr_write_problem(name)
    if problem:
        raise AttributeError(problem)
    setattr(obj, name, value)


def guarded_delattr(obj, name) -> None:
    name = plain_str(name)
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
