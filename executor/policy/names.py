"""Which identifiers and attribute names user code may use. Shared by the compile-time
checks (transformer) and the run-time guards (getattr & co.), so both say the same thing."""
from __future__ import annotations

__all__ = ["GUARD_PREFIX", "READ_DUNDERS", "SLOT_SETTERS", "attr_problem", "attr_write_problem",
           "format_field_problem", "match_attr_problem", "is_dunder", "plain_str",
           "FORBIDDEN_NAMES", "FORBIDDEN_CALLS"]

# Hidden helpers the transformer emits live under this prefix; user code may not name them.
GUARD_PREFIX = "_sc_"

_PROTOCOL = """
    eq ne lt le gt ge hash bool len call str repr format bytes fspath sizeof
    add sub mul matmul truediv floordiv mod divmod pow lshift rshift and or xor
    neg pos abs invert complex int float index round trunc floor ceil
    contains getitem setitem delitem iter next reversed length_hint missing
    enter exit aenter aexit aiter anext await copy deepcopy class_getitem
""".split()
_REFLECTED = [f"{p}{op}" for p in ("r", "i") for op in
              "add sub mul matmul truediv floordiv mod divmod pow lshift rshift and or xor".split()]
_PLAIN = """
    init new name qualname doc class module setattr post_init slots annotations all version
    dataclass_fields match_args cause context suppress_context notes init_subclass set_name
    type_params value args origin parameters bound constraints
""".split()

# Dunders that are harmless to read: protocol methods and descriptive metadata. Every other
# dunder (__subclasses__, __globals__, __dict__, __self__, __code__, ...) leads to interpreter
# internals, so the list is an allowlist, not a blocklist.
READ_DUNDERS = frozenset(f"__{n}__" for n in _PROTOCOL + _REFLECTED + _PLAIN)
# Dunders user code may assign on an object (functools.wraps-style renaming).
WRITE_DUNDERS = frozenset({"__doc__", "__name__", "__qualname__"})

# `object.__setattr__(obj, name, value)` writes like setattr(): reads of these go through a
# guard that applies the write checks to `name` (they stay readable: `super().__setattr__`).
SLOT_SETTERS = ("__setattr__", "__delattr__")
# Methods whose value is itself a way around a check (a bound str.format walks attributes).
_CHECKED_METHODS = frozenset({"format", "format_map", *SLOT_SETTERS})

# Non-dunder attributes that expose frames, code or the caller's globals.
_INTERNALS = frozenset("""
    gi_frame gi_code gi_yieldfrom cr_frame cr_code cr_await cr_origin ag_frame ag_code ag_await
    f_back f_globals f_locals f_builtins f_code f_trace f_generator tb_frame tb_next
    cell_contents _evaluate _getframe _current_frames
""".split())

# Builtins removed from the sandbox; naming them at all is rejected at compile time so the
# model gets a clear message (and a checkpoint-restored function can't reach them either).
FORBIDDEN_NAMES = {
    "eval": "write the code directly instead of building it as a string",
    "exec": "write the code directly instead of building it as a string",
    "compile": "write the code directly instead of building it as a string",
    "breakpoint": "debugging is not available; print the values you need",
}
# Builtins that are only rejected when called, since their names are common variable names.
FORBIDDEN_CALLS = {
    "input": "there is no interactive user; define the values in the code",
    "help": "use dir(obj) or print(obj.__doc__) instead",
    "exit": "to finish, call final_answer(...) or just let the code end",
    "quit": "to finish, call final_answer(...) or just let the code end",
}


def plain_str(value, what: str = "attribute name") -> str:
    """`value` as an exact str. Every run-time check must see this, never the caller's object:
    a str subclass can override startswith/__eq__/__hash__ and so lie to the checks, while
    getattr(), str.format and the import system use its real characters."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)  # the slot itself, not the subclass's __str__: an exact copy
    raise TypeError(f"{what} must be a string, not {type(value).__name__}")


def is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def attr_problem(name: str) -> str | None:
    """Why reading attribute `name` is not allowed, or None if it is."""
    if (is_dunder(name) and name not in READ_DUNDERS) or name in _INTERNALS or name.startswith("co_"):
        return (f"access to attribute {name!r} is not allowed in the sandbox; "
                "use the object's public API instead")
    return None


def attr_write_problem(name: str) -> str | None:
    """Why assigning or deleting attribute `name` is not allowed, or None if it is."""
    if is_dunder(name) and name not in WRITE_DUNDERS:
        return (f"assigning or deleting attribute {name!r} is not allowed in the sandbox; "
                "store your data in ordinary attributes instead")
    return attr_problem(name)


def match_attr_problem(name: str) -> str | None:
    """Why a class pattern may not read attribute `name` (a keyword, or a name listed in the
    class's __match_args__): the rules of obj.name, and none of the methods the compiler
    routes through a guard, since a pattern hands out the raw value."""
    problem = attr_problem(name)
    if problem is None and name not in _CHECKED_METHODS:
        return None
    return (f"a class pattern cannot read attribute {name!r} in the sandbox; "
            f"match the object, then use obj.{name} in the case body" if problem is None else problem)


def format_field_problem(name: str) -> str | None:
    """Attribute lookups inside str.format fields: stricter, no underscores at all."""
    if name.startswith("_") or attr_problem(name):
        return (f"format string field attribute {name!r} is not allowed in the sandbox; "
                "format the value with an f-string or pass it as a separate argument")
    return None
