"""Run-time guards: the few operations whose target the compiler cannot see (dynamic
attribute names, format-string fields, exceptions caught by broad handlers). Everything
else is checked once at compile time, so ordinary code runs at native speed."""
from __future__ import annotations

import _string
import sys
import weakref
import types
from collections import UserString
from types import ModuleType

from executor.policy.errors import FinalAnswerSignal, PolicyViolation
from executor.policy.names import (FORBIDDEN_CALLS, FORBIDDEN_NAMES, GUARD_PREFIX, SLOT_SETTERS,
                                   attr_problem, attr_write_problem, format_field_problem,
                                   match_attr_problem, plain_str)

__all__ = ["guarded_getattr", "guarded_setattr", "guarded_delattr", "guarded_hasattr",
           "guarded_vars", "instance_dict", "format_attr", "check_template", "final_check",
           "unavailable", "slot_setter", "match_classes", "user_globals",
           "user_locals"]

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
    if name in SLOT_SETTERS:
        return slot_setter(obj, name, *default)
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


# -- object.__setattr__ & co.: the write checks of setattr(), for calls the compiler can't see --
_SLOT_WRAPPERS = (types.WrapperDescriptorType, types.MethodWrapperType)


def slot_setter(obj, name: str, *default):
    """`obj.__setattr__` / `obj.__delattr__` (the compiler routes reads here): the built-in
    slot, wrapped so the attribute name it is called with passes the checks of setattr().
    A class's own Python __setattr__ is returned as is: its body is checked code."""
    method = getattr(obj, name, *default)
    if not isinstance(method, _SLOT_WRAPPERS):
        return method
    at = 0 if isinstance(method, types.MethodWrapperType) else 1  # bound: (name, ...)

    def checked(*args):
        if len(args) > at:
            attr = plain_str(args[at])
            problem = attr_write_problem(attr)
            if problem:
                raise AttributeError(problem)
            args = (*args[:at], attr, *args[at + 1:])
        return method(*args)
    checked.__name__ = checked.__qualname__ = name
    return checked


# -- class patterns: `case C(x, y)` reads the attributes named by C.__match_args__ --
_TYPE_DICT = type.__dict__["__dict__"].__get__
_TYPE_MRO = type.__dict__["__mro__"].__get__


_STR_KEYED: "weakref.WeakSet[type]" = weakref.WeakSet()


def _str_keyed(klass: type) -> bool:
    """Whether a class dict holds only exact-str keys. A key object of another type may
    compare equal to '__match_args__' once and not the next time (type() accepts such keys);
    the answer never changes later, since attributes can only be added by name."""
    if klass in _STR_KEYED:
        return True
    if all(type(k) is str for k in _TYPE_DICT(klass)):
        _STR_KEYED.add(klass)
        return True
    return False


def _check_match_class(cls) -> None:
    if not isinstance(cls, type):
        return  # the match statement itself raises "called match pattern must be a class"
    for klass in (*_TYPE_MRO(cls), *_TYPE_MRO(type(cls))):
        if not _str_keyed(klass):
            raise TypeError(f"a class pattern cannot use {cls.__name__} in the sandbox: "
                            f"{klass.__name__} has attribute names that are not strings")
    # Read without running any code of the class or its metaclass: only what is in the
    # dicts along the MRO, which user code can no longer change once the class exists
    # (dunder writes are refused, and dataclasses only add names checked like these).
    names = None
    for klass in _TYPE_MRO(cls):
        names = _TYPE_DICT(klass).get("__match_args__")
        if names is not None:
            break
    # __getattr__ on the metaclass answers only when the MRO holds no __match_args__.
    hooks = ("__match_args__", "__getattribute__") + (("__getattr__",) if names is None else ())
    for meta in _TYPE_MRO(type(cls)):
        if meta is not type and meta is not object and any(h in _TYPE_DICT(meta) for h in hooks):
            raise TypeError(f"a class pattern cannot use {cls.__name__} in the sandbox: its "
                            f"metaclass computes class attributes ({', '.join(hooks)})")
    if names is None:
        return
    if type(names) is not tuple or not all(type(n) is str for n in names):
        raise TypeError(f"{cls.__name__}.__match_args__ must be a tuple of attribute names")
    for name in names:
        problem = match_attr_problem(name)
        if problem:
            raise AttributeError(problem)


def match_classes(*classes) -> types.SimpleNamespace:
    """The classes of one case's positional class patterns, checked, as attributes c0, c1...
    The compiler binds the result to a hidden name, so the case matches against exactly
    the classes checked here (a dotted name could resolve to another one the second time)."""
    for cls in classes:
        _check_match_class(cls)
    return types.SimpleNamespace(**{f"c{i}": cls for i, cls in enumerate(classes)})


# -- globals() and locals(): a snapshot of the user's own names --
def _own_names(mapping) -> dict:
    return {k: v for k, v in mapping.items()
            if not (type(k) is str and (k == "__builtins__" or k.startswith(GUARD_PREFIX)))}


def user_globals() -> dict:
    """globals() for user code: a copy of the cell's variables (`'x' in globals()`), without
    the builtins and the compiler's hidden names; writing to it changes nothing."""
    return _own_names(sys._getframe(1).f_globals)


def user_locals() -> dict:
    """locals(): the same, for the calling function's (or class body's) variables."""
    return _own_names(sys._getframe(1).f_locals)
