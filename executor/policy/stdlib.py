"""Stdlib code that would undo the policy for the caller: it looks attributes up by a name
the caller chose, or turns the caller's strings into code. The compiler never sees that
code, so its checks must be added at these few sinks:

- operator.attrgetter/methodcaller: replaced in the module copy (closures, so `type(...)` of
  the result is no way back to the unchecked C type); functools.update_wrapper/wraps, which
  read whatever attribute names they are given;
- string.Formatter.get_field, typing.ForwardRef._evaluate and dataclasses._process_class:
  patched in place, because they are reachable from more than one public entry point and
  through `SomeClass.mro()` or `type(x)`. The patches only act when sandboxed code is on the
  stack (its frames run with the policy's marked builtins), so host code in the same
  process (tests, the zygote) sees the stock behaviour.
"""
from __future__ import annotations

import _string
import ast
import keyword
import sys
import types

from executor.policy.errors import PolicyViolation
from executor.policy.names import (GUARD_PREFIX, attr_problem, format_field_problem,
                                   match_attr_problem, plain_str)

__all__ = ["SANDBOX_MARK", "SANDBOX_TOKEN", "hardened_module_attrs", "harden_stdlib"]

# Every sandbox builtins dict holds SANDBOX_MARK -> SANDBOX_TOKEN. User code can neither
# name the key (the guard prefix is reserved) nor reach the dict, so the mark can't be forged.
SANDBOX_MARK = GUARD_PREFIX + "sandbox"
SANDBOX_TOKEN = object()


def sandbox_globals():
    """The globals of the innermost sandboxed frame on the stack, or None (host code)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_builtins.get(SANDBOX_MARK) is SANDBOX_TOKEN:
            return frame.f_globals
        frame = frame.f_back
    return None


# -- module copies: operator --

def _checked_attr(name) -> str:
    name = plain_str(name)
    if match_attr_problem(name):  # the obj.name rule, minus methods the compiler must guard
        raise AttributeError(attr_problem(name) or f"{name!r} cannot be looked up this way in the "
                                                   "sandbox; call the method directly")
    return name


def attrgetter(attr, /, *attrs):
    paths = [tuple(_checked_attr(part) for part in plain_str(a).split(".")) for a in (attr, *attrs)]

    def resolve(obj, path):
        for part in path:
            obj = getattr(obj, part)
        return obj

    if len(paths) == 1:
        (path,) = paths
        return lambda obj: resolve(obj, path)
    return lambda obj: tuple(resolve(obj, path) for path in paths)


def methodcaller(name, /, *args, **kwargs):
    name = _checked_attr(name)
    return lambda obj: getattr(obj, name)(*args, **kwargs)


# -- module copies: functools --

def _checked_wrapper_names(wrapped, assigned, updated) -> tuple[tuple[str, ...], tuple[str, ...]]:
    assigned = tuple(plain_str(n) for n in assigned)
    updated = tuple(plain_str(n) for n in updated)
    for name in (*assigned, *(n for n in updated if n != "__dict__")):
        problem = match_attr_problem(name)
        if problem:
            raise AttributeError(f"functools.update_wrapper: {problem}")
    if "__dict__" in updated and isinstance(wrapped, (type, types.ModuleType)):
        raise AttributeError("functools.update_wrapper cannot copy the __dict__ of a class or "
                             "module in the sandbox; pass updated=() or wrap a function")
    return assigned, updated


def update_wrapper(wrapper, wrapped, assigned=None, updated=None):
    """functools.update_wrapper, with the attribute names it copies checked like obj.name:
    the stock one reads any name it is given (assigned=('__globals__',))."""
    import functools
    assigned, updated = _checked_wrapper_names(
        wrapped, functools.WRAPPER_ASSIGNMENTS if assigned is None else assigned,
        functools.WRAPPER_UPDATES if updated is None else updated)
    return functools.update_wrapper(wrapper, wrapped, assigned, updated)


def wraps(wrapped, assigned=None, updated=None):
    import functools
    return functools.partial(update_wrapper, wrapped=wrapped, assigned=assigned, updated=updated)


def hardened_module_attrs(module: str) -> dict:
    """Replacements for public attributes of allowed modules that bypass the guards."""
    if module == "operator":
        return {"attrgetter": attrgetter, "methodcaller": methodcaller}
    if module == "functools":
        return {"update_wrapper": update_wrapper, "wraps": wraps}
    return {}


# -- in-place patches --

def _checked_forward_code(arg: str):
    """A forward reference's code, after the same checks and rewrites as a cell."""
    from executor.policy.transformer import CellTransformer  # the transformer imports names only
    source = f"({arg},)[0]" if arg.startswith("*") else arg  # as typing does for `*Ts`
    try:
        tree = ast.parse(source, "<annotation>", "eval")
    except SyntaxError:
        raise SyntaxError(f"Forward reference must be an expression -- got {arg!r}") from None
    checker = CellTransformer()
    tree = checker.visit(tree)
    if checker.problems:
        raise PolicyViolation(f"string annotation {arg!r}: {checker.problems[0][1]}")
    return compile(ast.fix_missing_locations(tree), "<annotation>", "eval", dont_inherit=True)


def _is_module_dict(mapping) -> bool:
    return any(getattr(m, "__dict__", None) is mapping for m in list(sys.modules.values()))


def _patch_typing() -> None:
    import typing
    stock = typing.ForwardRef._evaluate

    def _evaluate(self, globalns, localns, *rest, **kwargs):
        user_ns = sandbox_globals()
        if user_ns is None:
            return stock(self, globalns, localns, *rest, **kwargs)
        # Sandboxed: the string is checked like a cell and resolved against the session's
        # own names, never against a real module's globals (a class's __module__ or the
        # ForwardRef's module= argument would pick those), and never from typing's cache.
        saved = self.__forward_code__, self.__forward_module__
        self.__forward_code__ = _checked_forward_code(self.__forward_arg__)
        self.__forward_module__ = None
        self.__forward_evaluated__ = False
        if localns is None or _is_module_dict(localns):
            localns = user_ns  # typing passes a module's globals as locals for classes & functions
        try:
            return stock(self, user_ns, localns, *rest, **kwargs)
        finally:
            self.__forward_code__, self.__forward_module__ = saved
            self.__forward_evaluated__ = False

    typing.ForwardRef._evaluate = _evaluate


def _patch_string() -> None:
    import string
    stock = string.Formatter.get_field

    def get_field(self, field_name, args, kwargs):
        _first, rest = _string.formatter_field_name_split(field_name)
        for is_attr, key in rest:
            problem = format_field_problem(key) if is_attr else None
            if problem and sandbox_globals() is not None:
                raise AttributeError(problem)
        return stock(self, field_name, args, kwargs)

    string.Formatter.get_field = get_field


def _patch_dataclasses() -> None:
    import dataclasses
    stock = dataclasses._process_class

    def _process_class(cls, *args, **kwargs):
        # Field names are pasted into the source of the generated __init__/__repr__/...;
        # one that is not an identifier (set through __annotations__ or a Field's .name)
        # would be code run with the real builtins.
        names = list(cls.__dict__.get("__annotations__", {}))
        for base in cls.__mro__:
            names += [getattr(f, "name", None) for f in getattr(base, "__dataclass_fields__", {}).values()]
        for name in names:
            if type(name) is not str or not name.isidentifier() or keyword.iskeyword(name):
                raise TypeError(f"dataclass field name {name!r} is not a valid identifier")
            # Field names become __match_args__, which class patterns read attributes by.
            if attr_problem(name) and sandbox_globals() is not None:
                raise TypeError(f"dataclass field name {name!r} is not allowed in the sandbox")
        return stock(cls, *args, **kwargs)

    dataclasses._process_class = _process_class


_installed: list[bool] = []


def harden_stdlib() -> None:
    """Install the in-place patches once per process (idempotent)."""
    if not _installed:
        _patch_typing()
        _patch_string()
        _patch_dataclasses()
        _installed.append(True)
